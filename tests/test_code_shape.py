"""The house stays readable (issue 19 part 4): no module of the package over 500 lines and no function over 80,
migrations aside. A module or function that grows past the line is split along its jobs, not waved through."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "news_harvester"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


def test_the_package_is_where_the_check_looks():
    modules = _modules()
    assert len(modules) > 100, modules  # a moved package would make every other check here vacuous
    assert (PACKAGE / "harvest" / "pipeline.py") in modules


def test_no_module_over_500_lines():
    lines = {str(p.relative_to(PACKAGE)): len(p.read_text("utf-8").splitlines()) for p in _modules()}
    long = {name: n for name, n in lines.items() if n > MAX_MODULE_LINES}
    assert not long, f"split these along their jobs: {long}"


def test_no_function_over_80_lines():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, long
