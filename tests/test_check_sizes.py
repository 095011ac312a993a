"""tools/check_sizes.py, run as `make lint` runs it, on small trees written for each test: the
bounds (450 lines a module, 60 a function), what it reports, and what it leaves out."""

import subprocess
import sys
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parent.parent / "tools" / "check_sizes.py"


def check(root: Path) -> tuple[int, list[str]]:
    """Run the checker on `root`: its exit status and the lines it printed."""
    done = subprocess.run(
        [sys.executable, str(CHECKER), str(root)], capture_output=True, text=True, check=False
    )
    assert done.stderr == ""
    return done.returncode, done.stdout.splitlines()


def write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def module(lines: int) -> str:
    return "x = 1\n" * lines


def function(name: str, lines: int, indent: str = "") -> str:
    """A function `lines` long from its `def` to its last line."""
    body = f"{indent}    x = 1\n" * (lines - 1)
    return f"{indent}def {name}():\n{body}"


def test_it_passes_a_clean_tree(tmp_path):
    write(tmp_path, "app/models.py", module(450))
    write(tmp_path, "app/services.py", function("invoice_approve", 60) + module(20))

    assert check(tmp_path) == (0, [])


def test_it_reports_a_module_over_450_lines(tmp_path):
    write(tmp_path, "app/services.py", module(451))
    write(tmp_path, "app/selectors.py", module(450))

    assert check(tmp_path) == (1, ["app/services.py: 451 lines (at most 450 a module)"])


def test_it_reports_a_function_over_60_lines_with_its_line(tmp_path):
    write(tmp_path, "app/services.py", module(3) + function("invoice_approve", 61))

    assert check(tmp_path) == (
        1,
        ["app/services.py:4: invoice_approve is 61 lines (at most 60 a function)"],
    )


def test_it_counts_a_function_from_its_def_not_its_decorators(tmp_path):
    write(tmp_path, "app/tasks.py", "@decorated\n@twice\n" + function("sync_usage", 60))

    assert check(tmp_path) == (0, [])


def test_it_reports_long_methods_and_coroutines(tmp_path):
    method = "class InvoiceAdmin:\n" + function("approve", 61, indent="    ")
    write(tmp_path, "app/admin.py", method)
    write(tmp_path, "app/client.py", "async " + function("fetch", 62))

    assert check(tmp_path) == (
        1,
        [
            "app/admin.py:2: approve is 61 lines (at most 60 a function)",
            "app/client.py:1: fetch is 62 lines (at most 60 a function)",
        ],
    )


def test_it_reports_every_problem_of_a_module(tmp_path):
    write(tmp_path, "app/services.py", function("one", 61) + function("two", 400))

    status, found = check(tmp_path)

    assert status == 1
    assert found == [
        "app/services.py: 461 lines (at most 450 a module)",
        "app/services.py:1: one is 61 lines (at most 60 a function)",
        "app/services.py:62: two is 400 lines (at most 60 a function)",
    ]


@pytest.mark.parametrize(
    "relative",
    [
        "tests/test_long.py",
        "tests/invoices/conftest.py",
        "app/tests/test_long.py",
        "app/migrations/0001_initial.py",
        "bench/run.py",
    ],
)
def test_it_leaves_out_tests_migrations_and_benchmarks(tmp_path, relative):
    write(tmp_path, relative, function("test_it_does_everything", 100) + module(400))

    assert check(tmp_path) == (0, [])


def test_it_checks_a_module_named_like_a_skipped_folder(tmp_path):
    # Only folders are left out: a module called tests.py is code like any other.
    write(tmp_path, "app/tests.py", function("helper", 61))

    assert check(tmp_path) == (1, ["app/tests.py:1: helper is 61 lines (at most 60 a function)"])
