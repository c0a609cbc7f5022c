"""ccel explorer: ``streamlit run explorer/app.py`` (built-in data, no download, no GPU needed).

The entry point only sets up the page and the navigation; every page is a thin script under
``explorer/views/`` (widgets → ``ccel_core.experiments`` / trainer → ``ccel_core.plots``) and the
shared helpers are in :mod:`explorer.common`.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE.parent) not in sys.path:  # so that the pages can `from explorer import common`
    sys.path.insert(0, str(_HERE.parent))

import streamlit as st  # noqa: E402

from explorer.prefetch import prefetch_elements  # noqa: E402

# A local SVG (sent inline as a data: URL): a ":material/…:" page icon would make the browser fetch
# the favicon from fonts.gstatic.com, and the app makes no request beyond localhost.
ICON = _HERE / "static" / "ccel-icon.svg"
st.set_page_config(page_title="ccel explorer", page_icon=str(ICON), layout="wide")


class _QuietWarmUp(logging.Filter):
    """Drop Streamlit's "missing ScriptRunContext" warnings raised by the warm-up thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != "ccel-warm-up"


@st.cache_resource(show_spinner=False)
def _warm_up(precompute: bool) -> threading.Event:
    """Once per server process, in the background, after the first visitor's first page: Streamlit's
    emoji pattern; with ``precompute``, the caches of the default views of the slower pages; then what
    the first visit of a page would wait for (the experiment modules, torch's optimizers, whose first use
    imports torch._dynamo, ~1.5 s; the numba EM kernel; plotly's figure validators — all loaded by the
    precomputation already, when there is one). Returns the event that says the first page has run (set
    it then)."""
    first_page = threading.Event()

    def work() -> None:
        # Not beside the first page: while a second thread computes, each call of the page's thread that
        # releases the GIL (a file stat, a socket write) waits to get it back — Streamlit's look at the call
        # stack at the first element (~14,000 file stats) took 1.4 s then instead of 0.07 s (measured).
        first_page.wait(timeout=60)
        try:  # the first st.info / st.warning with a non-ASCII text compiles Streamlit's emoji pattern (~0.5 s)
            from streamlit.string_util import extract_leading_icon

            extract_leading_icon("σ")
        except Exception:  # noqa: BLE001 - an internal of Streamlit: only time is at stake
            pass
        if precompute:  # (each failure here, and below, only costs time)
            try:  # the quickest page first (it needs only what the home page has loaded: ~1 s), then the others
                from explorer import cached

                cached.precompute_default_views()
            except Exception:  # noqa: BLE001
                pass
        try:  # without the precomputation (tests): what a first visit would wait for
            import numpy as np
            import plotly.graph_objects as go
            import torch.optim

            import ccel_core.experiments.noisy  # noqa: F401
            import ccel_core.experiments.race  # noqa: F401
            import ccel_core.experiments.trajectories  # noqa: F401
            import ccel_core.plots  # noqa: F401
            from ccel_core.solvers import em

            torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
            em(np.full((2, 3), 1 / 3), 100.0, max_iter=1, tol=0)
            go.Figure([go.Scatterternary(a=[1], b=[0], c=[0]), go.Heatmap(z=[[0]])], frames=[go.Frame(data=[])])
        except Exception:  # noqa: BLE001
            pass

    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context", "streamlit.runtime.caching.cache_data_api"):
        logging.getLogger(name).addFilter(_QuietWarmUp())
    thread = threading.Thread(target=work, name="ccel-warm-up", daemon=True)
    thread.start()
    # A process that exits while the warm-up is inside torch/numba native code aborts ("terminate called
    # without an active exception", exit 134; seen in short test sessions): let it finish first.
    atexit.register(thread.join, 120)
    return first_page


# Not under AppTest (tests and benchmarks measure cold caches; its runtime is swapped per run).
first_page_done = _warm_up(precompute=not st.get_option("global.appTest"))

VIEWS = _HERE / "views"  # not "pages/": a folder of that name turns on Streamlit's old file-based navigation
home = st.Page(VIEWS / "home.py", title="Collision cross-entropy", icon=":material/home:", default=True)
navigation = st.navigation(
    {
        "": [home],
        "Soft labels": [
            st.Page(VIEWS / "loss_curves.py", title="Loss curves", icon=":material/show_chart:"),
            st.Page(VIEWS / "noisy_labels.py", title="Noisy labels", icon=":material/grain:"),
        ],
        "Self-labeling": [
            st.Page(VIEWS / "pseudo_labels.py", title="Pseudo-label evolution", icon=":material/animation:"),
            st.Page(VIEWS / "solver_race.py", title="Solver race", icon=":material/speed:"),
            st.Page(VIEWS / "clustering_runs.py", title="Clustering runs", icon=":material/model_training:"),
        ],
        "The paper": [st.Page(VIEWS / "reproduction.py", title="Reproduction", icon=":material/fact_check:")],
    }
)
with st.sidebar:
    st.caption(
        "After Zhang & Boykov, *Collision Cross-entropy for Soft Class Labels and Deep Clustering*. "
        "Built-in data only; runs on a CPU."
    )
try:
    navigation.run()
finally:  # also when the page stops early (st.stop, a rerun, an error)
    first_page_done.set()
with st.sidebar:
    prefetch_elements()  # after the page: the widgets' browser code for the visitor's next pages
