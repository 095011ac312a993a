"""Fail when a module or a function outgrows the house bound, so later work keeps it.

A module over MAX_MODULE_LINES lines, or a function (or method) over MAX_FUNCTION_LINES lines
from its `def` (decorators aside) to its last line, is reported with its path and line.
Tests, migrations and benchmarks are left out: their length is not a structure to find one's
way in. Usage: `python tools/check_sizes.py [ROOT]`; exits 1 when anything is over.
"""

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
SKIPPED_PARTS = {"tests", "migrations", "bench", ".venv", "node_modules", "var", "staticfiles"}


def python_files(root: Path):
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not SKIPPED_PARTS.intersection(relative.parts[:-1]):
            yield relative


def oversized(root: Path, relative: Path) -> list[str]:
    source = (root / relative).read_text(encoding="utf-8")
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{relative}: {lines} lines (at most {MAX_MODULE_LINES} a module)")
    for node in ast.walk(ast.parse(source, filename=str(relative))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{relative}:{node.lineno}: {node.name} is {length} lines "
                    f"(at most {MAX_FUNCTION_LINES} a function)"
                )
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    found = [problem for path in python_files(root) for problem in oversized(root, path)]
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
