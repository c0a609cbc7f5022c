"""Structure rules of the code base (the team's conventions, checked so they stay true)."""

from __future__ import annotations

import ast
import re
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


def status_literals(path: Path) -> list[str]:
    """``line: text`` for each run status written as text in a file: compared with (``== "failed"``,
    ``in ("created", "running")``), passed to ``finish`` (by position or as ``status=``), given as a
    ``status=`` keyword or a ``"status":`` dict value, or inside SQL (``status='running'``)."""
    from ccel_core.runs import RUN_STATUSES

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def texts(node: ast.AST) -> list[str]:
        items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
        return [i.value for i in items if isinstance(i, ast.Constant) and i.value in RUN_STATUSES]

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            hits = [t for side in (node.left, *node.comparators) for t in texts(side)]
        elif isinstance(node, ast.Call):
            args = node.args if getattr(node.func, "attr", None) == "finish" else []
            args += [kw.value for kw in node.keywords if kw.arg == "status"]
            hits = [t for arg in args for t in texts(arg)]
        elif isinstance(node, ast.Dict):
            pairs = zip(node.keys, node.values)
            hits = [t for key, v in pairs if isinstance(key, ast.Constant) and key.value == "status" for t in texts(v)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = re.findall(r"status\s*(?:=|IN\s*\()[^;]*?'(\w+)'", node.value)
            hits = [t for t in sql if t in RUN_STATUSES]
        else:
            continue
        found += [f"{node.lineno}: {t}" for t in hits]
    return found


def test_run_statuses_are_written_once() -> None:
    """The statuses live in ``ccel_core/runs/layout.py``; everyone else uses its constants."""
    own = ROOT / "ccel_core" / "runs" / "layout.py"
    bad = [f"{p.relative_to(ROOT)}:{hit}" for p in _sources() if p != own for hit in status_literals(p)]
    assert not bad, "\n".join(bad)


def test_the_status_check_finds_each_form(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        'if info.status == "failed": pass\n'
        'if s in ("created", "running"): pass\n'
        'run.finish("cancelled")\n'
        "sql = \"UPDATE runs SET status='failed' WHERE status='running'\"\n"
        'label = "finished runs"  # prose is fine\n'
        'run._update(status="running", pid=1)\n'
        'record = {"status": "created", "name": "finished"}\n'
    )
    assert status_literals(module) == [
        "1: failed",
        "2: created",
        "2: running",
        "3: cancelled",
        "4: failed",
        "4: running",
        "6: running",
        "7: created",
    ]


# files above the limit today, each at most its current length: split them, then drop them from here
LONG_FILES: dict[str, int] = {}


def test_files_hold_one_idea() -> None:
    """Every file of ``ccel_core`` and ``explorer`` is at most 400 lines (the listed ones: no longer than now)."""
    lines = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8").count("\n") for p in _sources()}
    bad = {f: n for f, n in lines.items() if n > LONG_FILES.get(f, 400)}
    assert not bad, f"split these files along their seams (lines): {bad}"
    stale = {f for f, n in LONG_FILES.items() if lines.get(f, 0) <= 400}
    assert not stale, f"these files are short now; remove them from LONG_FILES: {sorted(stale)}"


def test_the_run_stores_files_are_named_once() -> None:
    """Only ``ccel_core/runs/layout.py`` names the store's files; the rest goes through the runs API."""
    from ccel_core.runs import layout

    names = {v for k, v in vars(layout).items() if k.endswith(("_FILE", "_DIR", "_CHECKPOINT")) and k[0] != "_"}
    assert {"index.sqlite", "config.json", "metrics.jsonl", "log.txt"} <= names
    bad = [
        f"{p.relative_to(ROOT)}:{node.lineno}: {node.value}"
        for p in _sources()
        if p.name != "layout.py"
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert not bad, "\n".join(bad)
