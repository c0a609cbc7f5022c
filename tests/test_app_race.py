"""The Solver race page with Streamlit's AppTest: the K sweep's ratios and bounds, no ``None`` /
``nan`` / ``inf`` in any table or metric, failures as visible warnings (a diverged PGD step, PGD out
of budget, the interior-point check failing), a cancelled race kept out of the store, bad inputs.

Small problems (N ≤ 200) keep every test to seconds; the browser test (tests/test_browser_race.py)
opens the page at its defaults.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import pytest
from conftest import BAD, RATIO, figures, ok, open_page, text_tables  # tests/ is on sys.path

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from ccel_core.experiments.race import STEP_LIMIT  # noqa: E402


def open_race(query: dict[str, str], state: Optional[dict[str, Any]] = None) -> AppTest:
    """The app on the race page with URL parameters ``query`` (and session ``state`` set first)."""
    return open_page("solver_race", query, state=state, timeout=300)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def warnings(at: AppTest) -> str:
    return " | ".join(w.value for w in at.warning)


def tables(at: AppTest) -> list[Any]:
    """The page's tables, their cells as shown (plain text: explorer.elements.text_table)."""
    return text_tables(at)


def clean_cells(at: AppTest) -> int:
    """Assert no table cell, header or metric reads None / nan / inf; return the number of cells."""
    cells: list[str] = []
    for df in tables(at):
        cells += [str(v) for v in df.to_numpy().ravel()] + [str(c) for c in df.columns] + [str(i) for i in df.index]
    cells += list(metrics(at).values())
    bad = [c for c in cells if BAD.search(c)]
    assert not bad, bad
    return len(cells)


def test_sweep_shows_numeric_ratios_per_k_and_clean_tables() -> None:
    at = open_race({"n": "150", "ks": "2, 20"})
    ok(at)
    assert not at.error, [e.value for e in at.error]
    m = metrics(at)
    r2, r20 = m["best PGD / EM iterations, K = 2"], m["best PGD / EM iterations, K = 20"]
    assert RATIO.match(r2) and RATIO.match(r20), m
    assert not r2.startswith((">", "<")) and not r20.startswith((">", "<"))  # both reached 1e-2: measured
    assert re.match(r"^\d+(\.\d+)? m?s$", m["exact y-step to 1e-09, K = 20"])
    assert not at.warning, warnings(at)  # nothing failed: no false alarm
    headline, detail = tables(at)
    assert list(headline.index) == ["2", "20"] and "PGD / EM (time)" in headline.columns
    assert headline.loc["20", "PGD / EM (iterations)"] == r20
    assert set(detail["method"]) >= {"exact", "EM", "EM + SQUAREM"}
    assert clean_cells(at) > 50
    sweep, *per_k = figures(at)
    assert sweep["layout"]["xaxis"]["type"] == "log" and len(per_k) == 1  # the open K's tab only: on demand
    assert per_k[0]["layout"]["title"]["text"] == "Certified gap per second, K = 2"
    at.session_state["sr.ktab"] = "K = 20"
    at.run()
    ok(at)
    assert [f["layout"]["title"]["text"] for f in figures(at)[1:]] == ["Certified gap per second, K = 20"]
    assert {t["name"] for t in sweep["data"]} == {"EM", "EM + SQUAREM", "best PGD", "exact (to 1e-09)"}
    buttons = [b.label for b in at.get("download_button")]
    assert buttons.count("HTML") == 2 and "Sweep CSV" in buttons
    assert at.query_params["n"] == "150" and at.query_params["ks"] == "2, 20"


def test_sweep_out_of_budget_and_diverged_pgd_are_warnings_and_bounds() -> None:
    # PGD gets 1 × EM's steps (K = 20 needs ≈ 2.7 ×) at 2 and 4 × 1/(λK) (4 × diverges)
    at = open_race({"n": "150", "ks": "20", "budget": "1", "steps": "2, 4"})
    ok(at)
    text = warnings(at)
    assert "PGD η=0.002 diverged at K = 20" in text and "curves are clipped" in text and STEP_LIMIT in text
    assert "No PGD step size reached the certified gap 0.01 at K = 20 within its budget" in text
    ratio = metrics(at)["best PGD / EM iterations, K = 20"]
    assert ratio.startswith("> ") and RATIO.match(ratio)  # a lower bound, shown as one
    headline, detail = tables(at)
    assert headline.loc["20", "best PGD → 0.01"].startswith("> ")
    body = next(el.proto.body for el in at.get("html") if "ccel-table" in el.proto.body)
    assert "&gt; " in body and "\\&gt;" not in body  # the ">" as text, not escaped for Markdown
    row = detail[detail["method"] == "PGD η=0.002"].iloc[0]
    assert row["to 0.01"] == "diverged" and row["ended"].startswith("diverged")
    clean_cells(at)


def test_single_k_diverged_step_warns_and_is_clipped() -> None:
    at = open_race({"view": "single", "n": "200", "k": "5", "lrs": "0.1, 0.001", "seed": "1"})
    ok(at)
    assert "PGD η=0.1 diverged" in warnings(at)
    table = tables(at)[0]
    assert table.loc["PGD η=0.1", "final certified gap"] == "diverged"
    assert list(table.index) == ["exact", "EM", "EM + SQUAREM", "PGD η=0.1", "PGD η=0.001"]
    clean_cells(at)
    gap_iter, gap_sec, loss = figures(at)
    names = [t["name"] for t in loss["data"]]
    assert "PGD η=0.1 (diverged)" in names
    assert "range" in loss["layout"]["yaxis"]  # clipped to the stable runs
    assert gap_iter["layout"]["yaxis"]["type"] == "log"
    # solvers that stop after tens, hundreds and thousands of iterations: log x, the legend under the chart
    for fig in (gap_iter, gap_sec, loss):
        assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["legend"]["orientation"] == "h"
    assert metrics(at)["PGD time / EM time (gap 0.01)"]  # a number or a bound, never empty


def test_reference_failure_is_a_visible_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    import ccel_core.experiments.race.runner as runner  # where solver_race looks the check up

    monkeypatch.setattr(runner, "reference_optimum", lambda probs, lam: (None, "clarabel failed: SolverError"))
    at = open_race({"view": "single", "n": "100", "k": "4", "ip": "true", "seed": "11"})
    ok(at)
    assert "interior-point check (CVXPY + Clarabel) did not solve the problem: clarabel failed: SolverError" in (
        warnings(at)
    )
    assert figures(at)  # the race itself stands: its gaps are certified by the dual


def test_the_page_defaults_are_the_librarys_sweep() -> None:
    from ccel_core.experiments.race_sweep import SWEEP_DEFAULTS
    from explorer import cached

    d = cached.RACE_DEFAULTS
    assert (d["n"], d["ks"], d["lam"], d["iters"], d["budget"], d["steps"], d["seed"]) == tuple(
        SWEEP_DEFAULTS[name] for name in ("n", "ks", "lam", "em_iters", "pgd_budget", "pgd_step_factors", "seed")
    )
    assert d["k"] in d["ks"]  # the one-K view opens on a race the sweep has computed


def test_a_cancelled_race_is_not_stored_and_the_page_says_so() -> None:
    from explorer import cached

    key = cached.race_key(120, 4, 100.0, 1200, 4.0, (1.5, 2.0), None, 3, False)
    assert cached.finished_race(key) is None
    # what the Stop button's callback leaves behind when it interrupts this race
    at = open_race({"view": "single", "n": "120", "k": "4", "seed": "3"}, state={"sr.cancelled": (key,)})
    ok(at)
    assert "Cancelled" in warnings(at) and "nothing of it was kept" in warnings(at)
    assert not figures(at) and not tables(at)
    assert cached.finished_race(key) is None
    at.button[0].click().run()  # the form's "Run race" starts it again
    ok(at)
    assert "Cancelled" not in warnings(at) and len(figures(at)) == 3
    assert cached.finished_race(key) is not None


def test_one_k_reruns_on_submit_and_writes_the_url() -> None:
    at = open_race({"n": "120", "k": "5", "iters": "300"})  # a link with k= (no view=) opens one K
    ok(at)
    assert at.radio(key="sr.view").value == "single"
    before = tables(at)[0].loc["EM", "final certified gap"]
    assert "EM did not reach the certified gap 0.01" in warnings(at)  # 300 EM steps are too few at λ = 100
    assert metrics(at)["EM to certified gap 0.01"].startswith("> ")
    at.number_input(key="sr.k").set_value(8)
    at.button[0].click().run()
    ok(at)
    assert tables(at)[0].loc["EM", "final certified gap"] != before  # a new problem
    assert at.query_params["k"] == "8" and at.query_params["view"] == "single"


@pytest.mark.parametrize(
    "query, message",
    [
        ({"view": "single", "lrs": "0.001, fast"}, "is not a number"),
        ({"view": "single", "lrs": "-0.1"}, "must be > 0"),
        ({"ks": "2, 2.5"}, "not a whole number"),
        ({"steps": "0"}, "must be > 0"),
    ],
)
def test_bad_inputs_show_an_error_and_no_race(query: dict[str, str], message: str) -> None:
    at = open_race({"n": "100", **query})
    ok(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not figures(at)
