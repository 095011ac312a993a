"""The README's map of rules to modules and tests stays true: every path it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def map_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Where each rule lives", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`"):
            rows.append((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    return rows


def test_the_map_names_every_services_module():
    named = {module for _, module, _ in map_rows()}
    modules = {
        str(path.relative_to(ROOT))
        for app in ("customers", "usage", "invoices")
        for path in (ROOT / app / "services").glob("*.py")
        if path.name != "__init__.py"
    }
    # Modules that hold no rule of their own: get-or-create helpers, result types, a pool.
    plumbing = {
        "customers/services/customers_and_projects.py",
        "usage/services/outcomes.py",
        "usage/services/key_sync_pool.py",
    }
    assert modules - plumbing <= named


def test_every_path_in_the_map_exists():
    rows = map_rows()

    assert len(rows) >= 20
    missing = [
        path for _, module, test in rows for path in (module, test) if not (ROOT / path).is_file()
    ]
    assert missing == []
    assert all(re.fullmatch(r"tests/.+/test_\w+\.py", test) for _, _, test in rows)
