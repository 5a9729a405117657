"""The house's one-way flow: workbook → lp → analysis → export → cli and web.

Each package's ``__init__`` docstring says what it may import; this test holds it, for
every import in every module, lazy imports inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "model"

SHARED = {"schema", "errors", "xlsx", "vocabulary", "__init__"}
"""Top-level modules every layer may use: the data dictionary, the output vocabulary, the
problem type and atomic file writing."""

ALLOWED: dict[str, set[str]] = {
    "schema": set(),
    "errors": set(),
    "vocabulary": set(),
    "xlsx": {"errors"},
    "__init__": set(),
    "workbook": {"workbook", "schema", "errors", "xlsx"},
    "lp": {"lp", "workbook", "schema", "errors"},
    "analysis": {"analysis", "lp", "workbook", "schema", "vocabulary", "errors"},
    "export": {"export", "analysis", "lp", "workbook", *SHARED},
    "web": {"web", "export", "analysis", "lp", "workbook", *SHARED},
    "cli": {"cli", "web", "export", "analysis", "lp", "workbook", *SHARED},
}


def _layer(path: Path) -> str:
    parts = path.relative_to(MODEL).with_suffix("").parts
    return parts[0]


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "model":
                names = [
                    f"model.{'__init__' if alias.name.startswith('__') else alias.name}"
                    for alias in node.names
                ]
            else:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "model" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


MODULES = sorted(MODEL.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(MODEL)) for p in MODULES])
def test_imports_run_one_way(path: Path) -> None:
    layer = _layer(path)
    allowed = ALLOWED[layer]
    wrong = sorted(
        (line, target) for target, line in _imported_layers(path) if target not in allowed
    )
    assert not wrong, f"{path.relative_to(MODEL)} ({layer}) imports {wrong}"


def test_every_package_says_what_it_may_import() -> None:
    for package in ("workbook", "lp", "analysis", "export", "web"):
        doc = ast.get_docstring(ast.parse((MODEL / package / "__init__.py").read_text()))
        assert doc and "may import" in doc.lower(), package
