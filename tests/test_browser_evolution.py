"""The pseudo-label evolution page in a real browser (fixtures ``app_url``, ``browser``, ``page`` in
tests/conftest.py; skipped without Chromium or Playwright).

What only a browser shows: the one epoch scrubber redraws every chart of both methods, in either tab
(and no chart has play buttons or a slider of its own); at K = 10 the legends are drawn without a scrollbar; long
work shows a progress bar and its Cancel button stops it.
"""

from __future__ import annotations

import re

import pytest

from explorer.headless import CHARTS, EXCEPTION, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SMALL = "epochs=4&seeds=2"


def chart_titles(page: object) -> list[str]:
    return page.locator(f"{CHARTS} .gtitle").all_text_contents()  # type: ignore[attr-defined]


def test_the_epoch_scrubber_redraws_every_chart_of_both_methods(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/pseudo_labels?{SMALL}")  # type: ignore[attr-defined]
    wait_ready(page, timeout=180_000)
    charts = page.locator(CHARTS)  # type: ignore[attr-defined]
    expect(charts).to_have_count(2, timeout=60_000)  # the regions of both methods (the curves have their own tab)
    assert page.locator(f"{CHARTS} .updatemenu-container").count() == 0  # type: ignore[attr-defined]
    assert page.locator(f"{CHARTS} .slider-container").count() == 0  # type: ignore[attr-defined]
    assert chart_titles(page).count("Decision regions argmax σ at epoch 4") == 2
    expect(page.get_by_text("epoch 4 of 4")).to_have_count(2)  # type: ignore[attr-defined]

    scrubber = page.get_by_role("slider", name=re.compile("epoch shown"))  # type: ignore[attr-defined]
    expect(scrubber).to_have_value("4")
    scrubber.focus()
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    expect(scrubber).to_have_value("2")
    page.wait_for_url("**epoch=2*", timeout=60_000)  # type: ignore[attr-defined]
    wait_ready(page, timeout=180_000)
    expect(page.get_by_text("epoch 2 of 4")).to_have_count(2, timeout=60_000)  # type: ignore[attr-defined]
    assert chart_titles(page).count("Decision regions argmax σ at epoch 2") == 2
    open_tab(page, "Over the epochs")
    expect(charts).to_have_count(3, timeout=60_000)  # sizes, loss, ACC
    # the time-series charts mark the same epoch: a dashed line at x = 2 in each of their panels
    marks = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot")]
              .map(el => (el.layout.shapes || []).filter(s => s.x0 === s.x1).map(s => s.x0))"""
    )
    assert [m for m in marks if m] == [[2, 2], [2, 2], [2]]  # sizes (2 panels), loss (2 panels), ACC
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_k10_legends_have_one_entry_per_cluster_and_no_scrollbar(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/pseudo_labels?k=10&epochs=2&seeds=2")  # type: ignore[attr-defined]
    wait_ready(page, timeout=180_000)
    expect(page.locator(CHARTS)).to_have_count(2, timeout=60_000)  # type: ignore[attr-defined]
    regions, regions2 = legends(page)
    open_tab(page, "Over the epochs")
    expect(page.locator(CHARTS)).to_have_count(3, timeout=60_000)  # type: ignore[attr-defined]
    sizes, _loss, acc = legends(page)
    for legend in (regions, regions2):
        assert legend["entries"] == 11  # clusters 0 … 9 and the ✕
    assert sizes["entries"] == 12  # clusters 0 … 9 and the two line styles (not 2 × K)
    for legend in (regions, regions2, sizes, acc):
        assert legend["scrollbar"] == 0, legend
        assert legend["height"] < legend["plot"] / 3, legend


def open_tab(page: object, name: str) -> None:
    """Click the page's tab ``name`` and wait for its charts (tabs here are drawn on demand: a rerun)."""
    page.get_by_role("tab", name=name).click()  # type: ignore[attr-defined]
    wait_ready(page, timeout=180_000)


def legends(page: object) -> list[dict]:
    """Per chart on the page: its legend's entries and heights (None without a legend)."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot")].map(el => {
              const l = el.querySelector('.legend'); if (!l) return null;
              const sb = l.querySelector('.scrollbar');
              return {entries: l.querySelectorAll('.traces').length,
                      scrollbar: sb ? sb.getBBox().height : 0,
                      height: l.getBBox().height, plot: el.getBoundingClientRect().height}; })"""
    )


def test_long_work_shows_progress_and_cancel_stops_it(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/pseudo_labels?data=digits&k=10&epochs=50&seeds=20")  # type: ignore[attr-defined]
    cancel = page.get_by_role("button", name=re.compile("Cancel"))  # type: ignore[attr-defined]
    expect(cancel).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stProgress")).to_be_visible()  # type: ignore[attr-defined]
    cancel.click()
    wait_ready(page, timeout=120_000)
    expect(page.get_by_text("cancelled; nothing was kept")).to_be_visible(timeout=60_000)  # type: ignore[attr-defined]
    expect(page.get_by_role("button", name="Compute")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_test_id("stProgress")).to_have_count(0)  # type: ignore[attr-defined]
    assert page.locator(CHARTS).count() == 0  # type: ignore[attr-defined]
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
