"""The teaching notebooks: ``notebooks/NN_name.py`` (jupytext py:percent, the source of truth) and
the paired ``notebooks/NN_name.ipynb`` (``make notebooks``: ``jupytext --sync notebooks/*.py``).

Static checks (fast): the set of notebooks and sources, that every ``.ipynb`` holds exactly the cells
jupytext reads from its ``.py`` and is stored without outputs, exactly one papermill ``parameters``
cell each of plain assignments, only public ``ccel_core`` names, and the ``ccel_core`` calls of the
app page each notebook teaches.

Execution (``slow``): papermill runs every notebook top to bottom with the small parameters of
``TEST_PARAMETERS``, in a fresh kernel started with *this* interpreter (``sys.executable``, i.e. the
venv's python), with a temporary working directory, and fails on the first cell that raises. Set
``CCEL_DEVICE=cuda`` in the environment to pass ``DEVICE = "cuda"`` to the notebooks that have it.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO = Path(__file__).resolve().parent.parent
NB_DIR = REPO / "notebooks"
EXPECTED = (
    "00_overview.ipynb",
    "01_loss_curves.ipynb",
    "02_noisy_labels.ipynb",
    "03_pseudo_label_evolution.ipynb",
    "04_clustering_runs.ipynb",
    "05_solver_race.ipynb",
    "06_reproduction.ipynb",
)
# The ccel_core names each notebook must call: the calls its app page (explorer/views/…) makes.
PAGE_CALLS = {
    "00_overview.ipynb": {"loss_curves", "loss_curves_figure", "collision_cross_entropy"},
    "01_loss_curves.ipynb": {
        "loss_curves",
        "simplex_loss_grid",
        "gradient_vs_certainty",
        "loss_name",
        "loss_curves_figure",
        "simplex_heatmap_figure",
        "gradient_figure",
    },
    "02_noisy_labels.ipynb": {
        "true_class_weights",
        "corrupted_targets_figure",
        "noisy_label_experiment",
        "noisy_labels_figure",
    },
    "03_pseudo_label_evolution.ipynb": {
        "toy_self_labeling",
        "em_trajectory",
        "ternary_labels_figure",
        "decision_regions_figure",
        "cluster_sizes_figure",
        "loss_history_figure",
        "em",
        "m_step",
    },
    "04_clustering_runs.ipynb": {
        "RunStore",
        "TrainConfig",
        "Trainer",
        "run_curves_figure",
        "confusion_figure",
        "confusion_matrix",
        "evaluate",
        "CollisionClustering",
    },
    "05_solver_race.ipynb": {
        "race_problem",
        "solver_race",
        "default_pgd_lrs",
        "solver_race_figure",
        "pgd",
        "project_simplex",
    },
    "06_reproduction.ipynb": {"reproduce", "load_report", "welch_test", "claims_table"},
}
NOTEBOOKS = [NB_DIR / name for name in EXPECTED]
# The notebooks that summarize a quantity over seeds: through ccel_core.summary, as the app and the CLI do.
SEED_SUMMARIES = {"02_noisy_labels.ipynb", "04_clustering_runs.ipynb"}
PAIRING = "ipynb,py:percent"  # jupytext's formats metadata in every notebook and source
# The executed notebooks' scaling parameters (today's defaults, pinned here so that raising a default in
# a notebook does not raise the cost of the test). DEVICE comes from CCEL_DEVICE (see _parameters).
TEST_PARAMETERS = {
    "00_overview.ipynb": {},
    "01_loss_curves.ipynb": {"RESOLUTION": 45},
    "02_noisy_labels.ipynb": {"SEEDS": 2, "EPOCHS": 10},
    "03_pseudo_label_evolution.ipynb": {"EPOCHS": 15, "ITERS": 30, "MAX_POINTS": 300},
    "04_clustering_runs.ipynb": {"SEEDS": [0, 1], "EPOCHS": 10},
    "05_solver_race.ipynb": {"N": 2000, "K": 20, "MAX_ITER": 400},
    "06_reproduction.ipynb": {"BUDGET": "tiny", "SECTIONS": ["fig1", "table1"], "SEEDS": 2},
}
# what would make a notebook's HTML output load something from the network: a remote src= or a remote ES module import
REMOTE_SRC = re.compile(r"""\bsrc=["']?(?:https?:)?//[^"' >]+|\bimport\s+["'](?:https?:)?//[^"']+""", re.I)
KERNEL = "ccel-tests-python"  # a kernelspec of this interpreter, written by the kernel_path fixture


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _code_cells(path: Path) -> list:
    return [c for c in _read(path).cells if c.cell_type == "code"]


def _parse(source: str) -> ast.Module:
    # IPython magics (none today) would not parse; keep the check honest by failing on them too.
    return ast.parse(source)


def _parameters_cell(nb) -> tuple[int, object]:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"parameters cells at {tagged}"
    return tagged[0], nb.cells[tagged[0]]


def _parameter_names(path: Path) -> list[str]:
    _, cell = _parameters_cell(_read(path))
    return [node.targets[0].id for node in _parse(cell.source).body if isinstance(node, ast.Assign)]


def _cells(nb) -> list[tuple[str, str, list]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def out_of_sync_cells(ipynb: Path, source: Path) -> list[int]:
    """The cells (0-based) where ``ipynb`` differs from what jupytext reads from ``source``: cell
    type, source or tags; a missing or extra cell counts at its index. Empty: in sync."""
    import jupytext

    ours, theirs = _cells(jupytext.read(ipynb)), _cells(jupytext.read(source))
    return [i for i, (a, b) in enumerate(itertools.zip_longest(ours, theirs)) if a != b]


ids = [p.stem for p in NOTEBOOKS]


# ------------------------------------------------------------------------------------------
# static checks
# ------------------------------------------------------------------------------------------
def test_every_notebook_exists_and_nothing_else():
    found = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
    assert found == sorted(EXPECTED)
    sources = sorted(p.name for p in NB_DIR.glob("*.py"))
    assert sources == sorted(f"{Path(name).stem}.py" for name in EXPECTED), "one jupytext source per notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_matches_its_jupytext_source(path):
    jupytext = pytest.importorskip("jupytext")
    source = path.with_suffix(".py")
    for nb in (jupytext.read(path), jupytext.read(source)):
        assert nb.metadata.get("jupytext", {}).get("formats") == PAIRING, f"{path.name}: not paired {PAIRING}"
    stale = out_of_sync_cells(path, source)
    assert not stale, f"{path.name} differs from {source.name} at cells {stale} (edit the .py, then run make notebooks)"


# (the change to the .py copy of notebook 02: old text, new text)
EDITS = {
    "code line": ("EPOCHS = 10  #", "EPOCHS = 11  #"),
    "markdown line": ("# The paper's claim (Fig. 2)", "# The claim (Fig. 2)"),
    "tag": ('# %% tags=["parameters"]', "# %%"),
    "cell type": ("# %% [markdown]\n# ## The experiment", "# %%\n# ## The experiment"),
    "extra cell": ("# %% [markdown]\n# ## The experiment", "# %%\nprint(1)\n\n# %% [markdown]\n# ## The experiment"),
}


@pytest.mark.parametrize("change", [*EDITS, "cell missing from the notebook"])
def test_sync_check_detects_a_changed_cell(tmp_path, change):
    pytest.importorskip("jupytext")
    ipynb, source = tmp_path / "02_noisy_labels.ipynb", tmp_path / "02_noisy_labels.py"
    shutil.copy(NB_DIR / ipynb.name, ipynb)
    shutil.copy(NB_DIR / source.name, source)
    assert out_of_sync_cells(ipynb, source) == []
    nb = nbformat.read(ipynb, as_version=4)
    experiment = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## The experiment"))
    if change in EDITS:
        old, new = EDITS[change]
        text = source.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        source.write_text(text.replace(old, new), encoding="utf-8")
    else:
        del nb.cells[-1]
        nbformat.write(nb, ipynb)
    expected = {
        "code line": [1],
        "markdown line": [0],
        "tag": [1],
        "cell type": [experiment],
        "cell missing from the notebook": [len(nb.cells)],
    }
    stale = out_of_sync_cells(ipynb, source)
    if change == "extra cell":  # every cell from the new one on has moved
        assert stale == list(range(experiment, len(nb.cells) + 1))
    else:
        assert stale == expected[change], f"{change}: cells {stale}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_notebook_with_outputs_stripped(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["jupytext"]["formats"] == PAIRING
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} stores outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} stores an execution count"
        assert cell.cell_type in ("code", "markdown"), f"{path.name} cell {i} is a {cell.cell_type} cell"
        # tags (the parameters cell) and jupytext's blank-line bookkeeping of the formatted source
        allowed = {"tags", "lines_to_next_cell"}
        assert set(cell.metadata) <= allowed, f"{path.name} cell {i} has metadata {dict(cell.metadata)}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_exactly_one_parameters_cell_of_plain_assignments(path):
    nb = _read(path)
    index, cell = _parameters_cell(nb)
    assert cell.cell_type == "code"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert index == first_code, "the parameters cell should be the first code cell"
    names = []
    for node in _parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.unparse(node)
        target = node.targets[0]
        assert isinstance(target, ast.Name) and target.id.isupper(), ast.unparse(node)
        try:
            ast.literal_eval(node.value)  # a plain value papermill can override, nothing read at run time
        except ValueError:
            pytest.fail(f"{path.name}: {target.id} is not a plain value: {ast.unparse(node.value)}")
        names.append(target.id)
    assert names and "RENDERER" in names
    assert len(names) == len(set(names)), f"{path.name}: a parameter is assigned twice"
    assert set(TEST_PARAMETERS[path.name]) <= set(names), "TEST_PARAMETERS names a parameter the notebook lacks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_parameters_from_the_environment(path):
    text = path.with_suffix(".py").read_text(encoding="utf-8")
    assert "CCEL_NB_" not in text and "CCEL_PLOTLY_RENDERER" not in text
    for cell in _code_cells(path):
        assert "os.environ" not in cell.source and "getenv" not in cell.source, cell.source


def private_names(source: str) -> list[str]:
    """The private names ``source`` uses: imports of ``ccel_core`` modules with a ``_``-prefixed
    component or of ``_``-prefixed (or ``*``) names from ``ccel_core``, and any ``obj._attr``
    (dunders such as ``__name__`` are fine)."""
    bad = []
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "ccel_core" and any(p.startswith("_") for p in parts):
                    bad.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level or parts[0] != "ccel_core":
                continue
            if any(p.startswith("_") for p in parts):
                bad.append(f"from {node.module} import ...")
            bad += [
                f"from {node.module} import {a.name}" for a in node.names if a.name == "*" or a.name.startswith("_")
            ]
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") and not (node.attr.startswith("__") and node.attr.endswith("__")):
                bad.append(ast.unparse(node))
    return bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_only_public_ccel_core_names(path):
    bad = [(i, name) for i, cell in enumerate(_code_cells(path)) for name in private_names(cell.source)]
    assert not bad, f"{path.name} uses private names (code cell, name): {bad}"


@pytest.mark.parametrize(
    "source",
    [
        "from ccel_core.solvers._common import eq11_loss",
        "import ccel_core.plots._style",
        "from ccel_core.solvers.em import _m_step_numba",
        "from ccel_core.solvers import *",
        "import ccel_core\nx = ccel_core.solvers.em._m_step_torch",
        "store._db()",
    ],
)
def test_private_name_check_rejects(source):
    assert private_names(source)


def test_private_name_check_accepts_public_code():
    assert private_names("from ccel_core.solvers import em, m_step\nimport ccel_core.plots\nprint(em.__name__)") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_makes_its_pages_calls(path):
    called, imported = set(), set()
    for cell in _code_cells(path):
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Call):
                f = node.func
                called.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ccel_core"):
                imported |= {a.name for a in node.names}
    wanted = PAGE_CALLS[path.name]
    assert wanted <= imported, f"{path.name} does not import {sorted(wanted - imported)} from ccel_core"
    assert wanted <= called, f"{path.name} does not call {sorted(wanted - called)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_seed_summaries_use_the_one_rule(path):
    """mean ± std over seeds comes from ``ccel_core.summary`` (std with ddof = 1), never a hand-made
    ``std`` (numpy's default is ddof = 0, pandas' ddof = 1)."""
    called, imported = set(), set()
    for cell in _code_cells(path):
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                called.add(name)
                assert name not in ("std", "var"), f"{path.name}: {ast.unparse(node)} (use ccel_core.summary)"
                if name == "agg":
                    assert not any(isinstance(c, ast.Constant) and c.value in ("std", "var") for c in ast.walk(node)), (
                        f"{path.name}: {ast.unparse(node)} (use summarize_frame)"
                    )
            elif isinstance(node, ast.ImportFrom) and node.module == "ccel_core.summary":
                imported |= {a.name for a in node.names}
    if path.name in SEED_SUMMARIES:
        assert "summarize_frame" in imported and "summarize_frame" in called, f"{path.name}: no summarize_frame"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_plotly_renderer_set_before_any_figure(path):
    sources = [c.source for c in _code_cells(path)]
    joined = "\n".join(sources)
    assert "pio.renderers.default = RENDERER" in joined
    first_set = next(i for i, s in enumerate(sources) if "pio.renderers.default" in s)
    first_show = next(
        i
        for i, s in enumerate(sources)
        if any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "show"
            for n in ast.walk(_parse(s))
        )
    )
    assert first_set < first_show


# ------------------------------------------------------------------------------------------
# execution
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def kernel_path(tmp_path_factory):
    """A Jupyter data dir whose kernel ``KERNEL`` is this interpreter (the venv's python), whatever
    kernelspecs the machine has installed: put it first on ``JUPYTER_PATH``."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"ccel tests ({sys.executable})",
                "language": "python",
            }
        )
    )
    return str(root)


def _parameters(path: Path) -> dict:
    params = dict(TEST_PARAMETERS[path.name])
    if "DEVICE" in _parameter_names(path):
        params["DEVICE"] = os.environ.get("CCEL_DEVICE", "cpu")
    return params


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_executes(path, tmp_path, kernel_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    pytest.importorskip("ipykernel")

    # the kernel inherits this environment
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([kernel_path, *filter(None, [os.environ.get("JUPYTER_PATH")])]))
    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    parameters = _parameters(path)
    start = time.perf_counter()
    nb = papermill.execute_notebook(
        str(path),
        None,
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(tmp_path),
        progress_bar=False,
        start_timeout=180,
        execution_timeout=300,
    )  # generous: the tests may share a loaded box
    seconds = time.perf_counter() - start
    print(f"{path.name} {parameters}: {seconds:.1f} s")
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == (1 if parameters else 0), "papermill did not inject the parameters"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figures, f"{path.name} showed no plotly figure"
    # offline outside JupyterLab too: the HTML outputs load nothing from a CDN (plotly.js, MathJax)
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "text/html" in str(figures[0].get("data", {})) and not REMOTE_SRC.findall(html), REMOTE_SRC.findall(html)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "runs") == [], "the notebook left files behind"


def test_offline_renderer_loads_nothing_remote():
    """The notebooks' renderer embeds plotly.js and drops plotly's MathJax CDN script; the check used on
    executed notebooks catches what plotly's own renderers would load (so it can fail)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from ccel_core.plots import OFFLINE_RENDERER, register_offline_renderer

    assert register_offline_renderer() == OFFLINE_RENDERER

    fig = go.Figure(go.Scatter(y=[1, 2])).to_dict()
    assert REMOTE_SRC.findall(pio.renderers["notebook_connected"].to_mimebundle(fig)["text/html"])
    assert REMOTE_SRC.findall(pio.renderers["notebook"].to_mimebundle(fig)["text/html"])  # MathJax from a CDN
    name = OFFLINE_RENDERER.split("+")[-1]
    html = pio.renderers[name].to_mimebundle(fig)["text/html"]
    assert "Plotly.newPlot" in html and not REMOTE_SRC.findall(html)
    for path in NOTEBOOKS:
        assert f'RENDERER = "{OFFLINE_RENDERER}"' in path.with_suffix(".py").read_text(encoding="utf-8"), path.name
