"""Suite-wide hygiene, and the helpers the app and browser tests share (one copy of each).

The helpers are plain functions and constants; test modules import them with ``from conftest import
…`` (tests/ is on ``sys.path``, as for ``from test_reproduce import …``). Streamlit, the run store and
Playwright are imported inside the helpers, so that a module that skips without them still imports.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pytest

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

    from ccel_core.runs import RunStore

# The explorer's store of finished results on disk (explorer/cached/disk.py) off for every test and
# every server a test starts (they inherit this environment): a result of an earlier test or of the
# user's own app must not decide what a test sees. test_cached_disk.py turns it on in a temporary folder.
os.environ["CCEL_CACHE"] = "off"


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest leaves ``sys.modules["__main__"]`` pointing at the app script; a later
    ``multiprocessing`` spawn would then re-run the app in every child. Put the real one back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def _finish_the_apps_warm_up():
    """An AppTest run starts the explorer's warm-up thread (explorer/app.py: imports, a numba compile,
    torch's optimizer import; once per process, ~25 s on a fresh clone). While it ran, two identical
    training runs in the main thread came out different: test_same_seed_same_run_bit_for_bit failed
    2 of 3 times when it followed an app test within seconds, 0 of 5 with this wait. (The mechanism
    was not pinned down: no torch global — thread counts, dtype, determinism flags — changes.)"""
    yield
    for thread in threading.enumerate():
        if thread.name == "ccel-warm-up":
            thread.join(timeout=300)


# --- the explorer, for both kinds of test ---

APP = Path(__file__).resolve().parents[1] / "explorer" / "app.py"
VIEWS = ("loss_curves", "noisy_labels", "pseudo_labels", "solver_race", "clustering_runs", "reproduction")
"""The explorer's pages (``explorer/views/<name>.py``); the home page is ``""`` in a URL, ``None`` for
:func:`open_page`."""

# the Solver race page: a PGD / EM ratio as shown ("3.4×", "> 8×", "< 0.46×"), and a cell that must not be shown
RATIO = re.compile(r"^(> |< )?\d+(\.\d+)?×$")
BAD = re.compile(r"\b(none|nan|inf|infinity)\b", re.IGNORECASE)


def arr(value: Any) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed-array form ``{"dtype", "bdata"[, "shape"]}``
    (plotly writes the shape of a 2-D array as text, ``"50, 50"``)."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return out.reshape(shape) if shape is not None else out
    return np.asarray(value)


# --- the explorer with Streamlit's AppTest (no browser, no server); used by tests/test_app*.py ---


# the runs page's launch and upload forms open (each is drawn only while open: explorer.elements.lazy_expander)
FORMS_OPEN = {"cr.launch_open": True, "cr.upload_open": True}


def open_page(
    name: Optional[str] = None,
    query: Optional[dict[str, str]] = None,
    *,
    state: Optional[dict[str, Any]] = None,
    timeout: float = 120,
) -> AppTest:
    """The app after loading page ``name`` (None: the home page) with URL parameters ``query``; the
    session ``state`` is set before the page runs. ``timeout``: seconds each script run may take."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if name is None:
        at.query_params.update(query or {})
        return at.run()
    at.run()
    ok(at)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.query_params.clear()
    at.query_params.update(query or {})
    return at.switch_page(f"views/{name}.py").run()


def ok(at: AppTest) -> AppTest:
    """Assert the script raised no exception (an ``st.error`` is fine: see :func:`errors`); ``at``."""
    assert not at.exception, [e.message for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    """The text of every ``st.error`` on the page."""
    return [e.value for e in at.error]


def figures(at: AppTest) -> list[dict[str, Any]]:
    """The JSON spec of every plotly chart on the page, in order."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def text_tables(at: AppTest) -> list[Any]:
    """Every table drawn by ``explorer.elements.text_table`` (an ``st.html`` element), in order, as a
    DataFrame of its cells' text indexed by its first column."""
    from html.parser import HTMLParser

    import pandas as pd

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.cell: Optional[list[str]] = None

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    out = []
    for el in at.get("html"):
        if "ccel-table" in el.proto.body:
            parser = Cells()
            parser.feed(el.proto.body)
            head, *rows = parser.rows
            out.append(pd.DataFrame(rows, columns=head).set_index(head[0]))
    return out


def metric(at: AppTest, label_start: str) -> str:
    """The value of the first ``st.metric`` whose label starts with ``label_start`` (asserted to exist)."""
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric starting with {label_start!r} in {[m.label for m in at.metric]}"
    return found[0]


def npz(**arrays: np.ndarray) -> bytes:
    """The bytes of an ``.npz`` file holding ``arrays`` (an upload for the Clustering runs page)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """An empty run store in ``tmp_path``, the one the app reads (``$CCEL_RUNS_DIR``)."""
    from ccel_core.runs import RunStore

    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


# --- the explorer in a real browser (Playwright + Debian's chromium); used by tests/test_browser*.py ---
# runs_root and app_url are module-scoped: each browser test module runs its own server with a fresh
# run store (a module that needs more at the end overrides runs_root: tests/test_browser_runs.py).


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run store of this module's server (``app_url``); its parent holds the server's network log."""
    return tmp_path_factory.mktemp("browser") / "runs"


@pytest.fixture(scope="module")
def app_url(runs_root: Path) -> Iterator[str]:
    """A headless ``streamlit run explorer/app.py`` on the run store ``runs_root``; its base URL."""
    from explorer.headless import CHROMIUM, serve

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with serve(str(runs_root), net_log=str(runs_root.parent / "net.log")) as url:
        yield url


@pytest.fixture(scope="module")
def server_net_log(app_url: str, runs_root: Path) -> Path:
    """The file in which ``app_url``'s server records its DNS lookups and connections beyond loopback
    (:data:`explorer.headless.NET_AUDIT`)."""
    return runs_root.parent / "net.log"


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    from explorer.headless import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    pg = context.new_page()
    js_errors: list[str] = []
    pg.on("pageerror", lambda exc: js_errors.append(str(exc)))
    pg.js_errors = js_errors  # type: ignore[attr-defined]
    yield pg
    context.close()
