"""Structure rules of the code base (the team's conventions, checked so they stay true)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ccel_core", "explorer")


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def private_imports(path: Path) -> list[str]:
    """``line: name`` for each ``from .x import _y`` of a file (a private name taken from another module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.lineno}: {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_private_name_is_imported_across_modules() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}" for path in _sources() for line in private_imports(path)]
    assert not bad, "\n".join(bad)


def test_the_private_import_check_finds_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from .em import _m_step_row, em\nfrom . import __version__\nfrom ._common import prepare\n")
    assert private_imports(module) == ["1: _m_step_row"]


def test_the_training_loop_stays_short() -> None:
    lines = (ROOT / "ccel_core" / "training" / "trainer.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"trainer.py has {lines} lines; split a responsibility out (build, steps, state, recorder)"


def test_the_library_never_imports_streamlit() -> None:
    for path in sorted((ROOT / "ccel_core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(m.split(".")[0] == "streamlit" for m in names), path
