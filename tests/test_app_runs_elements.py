"""The runs page's lighter elements with Streamlit's AppTest (explorer/elements.py): the runs table as
plain escaped text, and the launch form, upload form and run config drawn only while their expander is
open — which must not close or reset them on their own."""

from __future__ import annotations

import pytest
from conftest import ok, open_page, text_tables  # tests/ is on sys.path

pytest.importorskip("streamlit")

from ccel_core.runs import RunStore  # noqa: E402
from ccel_core.training import TrainConfig  # noqa: E402


def _run(store: RunStore, seed: int, status: str = "finished", error: str | None = None) -> str:
    cfg = TrainConfig(data="digits", method="ccel", model="linear", epochs=3, seed=seed, device="cpu")
    run = store.create(cfg.to_dict(), group="g")
    run.start()
    if status == "finished":
        run.log_epoch(1, {"loss": 1.0, "acc": 0.5, "nmi": 0.4, "ari": 0.3, "seconds": 0.1})
    run.finish(status, error=error)
    return run.run_id


def test_runs_page_draws_its_forms_and_the_config_only_when_opened(store: RunStore) -> None:
    """With runs in the store the three expanders start closed and draw nothing; opened, they draw."""
    _run(store, 0)
    at = open_page("clustering_runs")
    ok(at)
    assert "cr.method" not in [w.key for w in at.selectbox] and not at.get("file_uploader") and not at.json
    at.session_state["cr.launch_open"] = True
    at.session_state["cr.config_open"] = True
    at.run()
    ok(at)
    assert at.selectbox(key="cr.method").value == "ccel" and not at.get("file_uploader")
    assert '"method": "ccel"' in at.json[0].value
    at.session_state["cr.upload_open"] = True
    at.session_state["cr.launch_open"] = False
    at.run()
    assert at.get("file_uploader") and "cr.method" not in [w.key for w in at.selectbox]


def test_the_launch_form_stays_open_when_the_first_run_appears(store: RunStore) -> None:
    """On an empty store the launch form opens by itself; the first run appearing must not close it (a
    widget id that depended on "the store is empty" made a new expander, closed, and dropped the form)."""
    at = open_page("clustering_runs")
    ok(at)
    assert at.selectbox(key="cr.method").value == "ccel"
    _run(store, 0)  # e.g. the run this form launched
    at.run()
    ok(at)
    assert len(text_tables(at)[0]) == 1
    assert "cr.method" in [w.key for w in at.selectbox]


def test_runs_table_shows_markup_in_a_run_as_text(store: RunStore) -> None:
    """The runs table is plain escaped HTML: an error message with markup or Markdown reads as written,
    nothing is interpreted, and a missing value (a finished run's error, a failed run's acc) is empty."""
    error = "<img src=x onerror=alert(1)> & **bold** | `code` > 1"
    failed = _run(store, 5, "failed", error)
    finished = _run(store, 6)
    at = open_page("clustering_runs")
    ok(at)
    table = text_tables(at)[0]
    assert table.loc[failed, "error"] == error and table.loc[failed, "acc"] == ""
    assert table.loc[finished, "error"] == "" and table.loc[finished, "acc"] == "0.5000"
    body = next(el.proto.body for el in at.get("html") if "ccel-table" in el.proto.body)
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt; &amp; **bold**" in body
    cells = {str(v) for v in table.to_numpy().ravel()}
    assert not cells & {"None", "nan", "NaN", "<NA>", "NaT"}, cells
