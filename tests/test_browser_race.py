"""The Solver race page in a real browser (Playwright + Debian's chromium; fixtures in conftest.py):
at its defaults it shows numeric PGD / EM ratios per K and no ``None`` / ``nan`` / ``Infinity`` in
any rendered table cell or metric; a long race shows progress and its Stop button cancels it, and a
cancelled race is not kept (a new visit starts it again).

The server's background warm-up computes the default sweep; the page waits for it (with progress),
so the first test allows minutes on a loaded machine.
"""

from __future__ import annotations

import re

import pytest
from conftest import BAD, RATIO  # tests/ is on sys.path

from explorer.headless import CHARTS, EXCEPTION, wait_ready, wait_running

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # fixtures app_url, browser, page: tests/conftest.py

LONG = 600_000  # ms: the default sweep on a busy 2-core machine


def test_race_defaults_show_numeric_ratios_and_no_none_nan_or_infinity(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/solver_race")  # type: ignore[attr-defined]
    expect(page.get_by_text("best PGD / EM iterations, K = 200")).to_be_visible(timeout=LONG)  # type: ignore[attr-defined]
    wait_ready(page, timeout=LONG)
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()  # type: ignore[attr-defined]
    values = page.get_by_test_id("stMetricValue").all_inner_texts()  # type: ignore[attr-defined]
    shown = dict(zip((s.strip() for s in labels), (v.strip() for v in values)))
    ratios = {k: v for k, v in shown.items() if k.startswith("best PGD / EM iterations, K = ")}
    assert sorted(ratios) == [
        "best PGD / EM iterations, K = 2",
        "best PGD / EM iterations, K = 20",
        "best PGD / EM iterations, K = 200",
    ], shown
    assert all(RATIO.match(v) for v in ratios.values()), ratios
    assert not ratios["best PGD / EM iterations, K = 2"].startswith((">", "<"))  # measured: both reached 1e-2
    assert ratios["best PGD / EM iterations, K = 200"].startswith("> ")  # PGD ran out of budget: a lower bound
    assert re.match(r"^\d+(\.\d+)? m?s$", shown["exact y-step to 1e-09, K = 200"]), shown
    tables = page.locator("table.ccel-table")  # type: ignore[attr-defined]
    expect(tables).to_have_count(2)
    cells = [c.strip() for c in tables.locator("th, td").all_inner_texts()]
    assert len(cells) > 100
    bad = [c for c in cells + values if BAD.search(c)]
    assert not bad, bad
    assert any(c.startswith("> ") for c in cells)  # budgets shown as lower bounds
    # the step that is best at K = 2 and 20 diverges at K = 200: a visible warning, not an invisible curve
    expect(page.get_by_text(re.compile(r"PGD η=0\.0001 diverged at K = 200"))).to_be_visible()  # type: ignore[attr-defined]
    # the sweep and the open K's curves; another K's are drawn when its tab is opened
    expect(page.locator(CHARTS)).to_have_count(2)  # type: ignore[attr-defined]
    page.get_by_role("tab", name="K = 200").click()  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('.js-plotly-plot')].some("
        "p => p.layout && p.layout.title && String(p.layout.title.text).includes('K = 200'))",
        timeout=60_000,
    )
    expect(page.locator(CHARTS)).to_have_count(2)  # type: ignore[attr-defined]
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_stop_cancels_a_long_race_and_keeps_nothing(app_url: str, page: object, browser: object) -> None:
    from playwright.sync_api import expect

    url = f"{app_url}/solver_race?view=single&n=20000&k=200&iters=5000&seed=5"
    page.goto(url)  # type: ignore[attr-defined]
    stop = page.get_by_role("button", name="Stop the race")  # type: ignore[attr-defined]
    expect(stop).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stProgress")).to_be_visible()  # type: ignore[attr-defined]
    wait_running(page)
    stop.click()
    expect(page.get_by_text("Cancelled: the race at N = 20,000, K = 200")).to_be_visible(timeout=LONG)  # type: ignore[attr-defined]
    wait_ready(page, timeout=LONG)
    assert page.locator(CHARTS).count() == 0 and page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
    # a new visit finds nothing stored: the race starts again (and is stopped again)
    other = browser.new_page()  # type: ignore[attr-defined]
    try:
        other.goto(url)
        again = other.get_by_role("button", name="Stop the race")
        expect(again).to_be_visible(timeout=LONG)
        wait_running(other)
        again.click()
        expect(other.get_by_text("Cancelled")).to_be_visible(timeout=LONG)
    finally:
        other.close()
