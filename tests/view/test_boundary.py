"""The layering: procdash/view/ has no Textual, and the dashboard reads the formation only through the view."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import procdash.ui
import procdash.view

UI = Path(procdash.ui.__file__).parent
# Only attach builds a view inside ui/ (procdash.start builds the local one); every other module gets one handed in.
ROOTS = {"attach.py"}
FORBIDDEN = ("procdash.core.supervisor", "procdash.control", "procdash.view.local", "procdash.view.remote")


def test_view_never_imports_textual_or_rich() -> None:
    modules = [f"procdash.view.{m.name}" for m in pkgutil.iter_modules(procdash.view.__path__)]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert {"procdash.view.formation", "procdash.view.local", "procdash.view.remote"} <= set(modules)


def imports_of(path: Path) -> set[str]:
    """Every module a source file imports, at any depth (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_dashboard_uses_the_formation_view_only() -> None:
    files = sorted(UI.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        source = path.read_text()
        assert "supervisor." not in source.replace("procdash.core.supervisor", ""), path
        if path.name in ROOTS and path.parent == UI:
            continue
        bad = [m for m in imports_of(path) if m.startswith(FORBIDDEN)]
        assert not bad, f"{path.relative_to(UI)} imports {bad}"
