"""The noisy-labels and loss-curves pages in a real browser (fixtures ``app_url``, ``browser``,
``page``: tests/conftest.py): the headline's ± std and the ρ/ε axis as drawn, strict seeds, a
cancellable experiment; the flat curve's readout, and choosing the label y by clicking the simplex.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from explorer.cached import LOSS_CURVE_TABS
from explorer.headless import CHARTS, EXCEPTION, wait_ready, wait_running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAST = "levels=0,0.5&seeds=0,1&epochs=2&model=linear"


def metric_value(page: object, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)  # type: ignore[attr-defined]
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def test_noisy_headline_has_its_std_and_the_axis_names_the_level(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/noisy_labels?{FAST}")  # type: ignore[attr-defined]
    wait_ready(page)
    page.get_by_role("button", name="Run the experiment").click()  # type: ignore[attr-defined]
    charts = page.locator(CHARTS)  # type: ignore[attr-defined]
    expect(charts).to_have_count(2, timeout=120_000)
    wait_ready(page)
    assert re.fullmatch(r"[+-]?\d\.\d{3} ± \d\.\d{3}", metric_value(page, "CCE − CE")), metric_value(page, "CCE − CE")
    assert "±" in metric_value(page, "collision CE at ρ = 0.5")
    for i in range(2):
        expect(charts.nth(i).locator(".xtitle")).to_have_text(re.compile(r"^ρ — fraction of corrupted targets$"))
    page.get_by_text("mix", exact=True).click()  # type: ignore[attr-defined]  # the noise-model radio
    wait_ready(page)
    expect(charts.first.locator(".xtitle")).to_have_text(re.compile(r"^ε — mixing weight$"))
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]


def test_noisy_seed_one_half_is_refused_by_name(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/noisy_labels")  # type: ignore[attr-defined]
    wait_ready(page)
    seeds = page.get_by_role("textbox", name="seeds (integers)")  # type: ignore[attr-defined]
    seeds.fill("0.5")
    seeds.press("Enter")
    wait_ready(page)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("seeds: '0.5' is not a whole number")  # type: ignore[attr-defined]
    expect(page.get_by_role("button", name="Run the experiment")).to_have_count(0)  # type: ignore[attr-defined]
    seeds.fill("0, 1")
    seeds.press("Enter")
    wait_ready(page)
    expect(page.get_by_role("button", name="Run the experiment (20 trainings)")).to_be_visible()  # type: ignore[attr-defined]


def test_noisy_experiment_can_be_cancelled(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    # 100 trainings of 100 epochs each: minutes of work, unless cancelled
    page.goto(f"{app_url}/noisy_labels?seeds=0,1,2,3,4,5,6,7,8,9&epochs=100&model=linear&data=digits")  # type: ignore[attr-defined]
    wait_ready(page)
    page.get_by_role("button", name="Run the experiment (100 trainings)").click()  # type: ignore[attr-defined]
    wait_running(page)
    expect(page.get_by_text(re.compile(r"training [1-9]\d* / 100"))).to_be_visible(timeout=120_000)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Cancel").click()  # type: ignore[attr-defined]
    wait_ready(page)
    warning = page.get_by_test_id("stAlertContentWarning")  # type: ignore[attr-defined]
    expect(warning).to_contain_text(re.compile(r"Cancelled after \d+ of 100 trainings"))
    done = int(re.search(r"after (\d+) of", warning.inner_text()).group(1))  # type: ignore[union-attr]
    assert 1 <= done < 100
    expect(page.locator(CHARTS)).to_have_count(1)  # type: ignore[attr-defined]  # the preview only: no results
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)  # type: ignore[attr-defined]
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]


def test_loss_curves_flat_target_says_flat(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/loss_curves?y1=0.5")  # type: ignore[attr-defined]
    wait_ready(page)
    assert metric_value(page, "argmin_p H₂(y,σ)") == "flat: every p"
    expect(page.get_by_text("H₂(y,σ) = 0.6931 nats for every p")).to_be_visible()  # type: ignore[attr-defined]


def test_clicking_the_simplex_sets_y_and_updates_losses_and_gradients(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/loss_curves")  # type: ignore[attr-defined]
    wait_ready(page)
    expect(page.locator(CHARTS)).to_have_count(1)  # type: ignore[attr-defined]  # Fig. 1: its tab only
    page.get_by_role("tab", name=LOSS_CURVE_TABS[1]).click()  # type: ignore[attr-defined]  # drawn on demand
    expect(page.locator(CHARTS)).to_have_count(2, timeout=30_000)  # type: ignore[attr-defined]
    page.wait_for_url("**/loss_curves?*view=*", timeout=30_000)  # type: ignore[attr-defined]
    wait_ready(page)
    chart = page.locator(CHARTS).nth(1)  # type: ignore[attr-defined]  # H₂ over the simplex
    chart.scroll_into_view_if_needed()
    # a clickable point far from the star y = (0.7, 0.2, 0.1) and from the minimum (the vertex e₁);
    # plotly's decoded copy of the figure (_fullData: the spec sends the arrays base64-encoded)
    layer, index, a, b = chart.evaluate(
        """el => { const scatters = el._fullData.filter(t => t.type === 'scatter');
             const layer = scatters.findIndex(t => t.name === 'pick σ'); const s = scatters[layer].customdata;
             const far = i => Math.abs(s[i][0] - 0.2) + Math.abs(s[i][1] - 0.5); let best = 0;
             for (let i = 0; i < s.length; i++) if (far(i) < far(best)) best = i;
             return [layer, best, s[best][0], s[best][1]]; }"""
    )
    point = chart.locator(".scatterlayer .trace").nth(layer).locator("path.point").nth(index)
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # type: ignore[attr-defined]
    t1, t2 = round(a, 2), round(b, 2)
    expect(page.locator("input[aria-label='y₁']")).to_have_value(f"{t1:g}", timeout=30_000)  # type: ignore[attr-defined]
    expect(page.locator("input[aria-label='y₂']")).to_have_value(f"{t2:g}")  # type: ignore[attr-defined]
    wait_ready(page)
    y = np.array([t1, t2, round(1 - t1 - t2, 6)])
    # the star moved there, in every simplex chart
    n_charts = page.locator(CHARTS).count()  # type: ignore[attr-defined]
    assert n_charts == 2  # Shannon and collision over the simplex
    for i in range(n_charts):
        star = (
            page.locator(CHARTS)
            .nth(i)
            .evaluate(  # type: ignore[attr-defined]
                "el => { const t = el._fullData.find(t => t.name === 'target y'); return t.customdata[0].slice(0, 2); }"
            )
        )
        assert star == pytest.approx([t1, t2])
    # and the losses and their gradients at σ = softmax(1, 0, −1) are those of the new y
    sigma = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    table = page.get_by_test_id("stTable")  # type: ignore[attr-defined]
    shannon = table.locator("tr", has_text="H(y,σ)").first
    collision = table.locator("tr", has_text="H₂(y,σ)")
    for g in sigma - y:
        expect(shannon).to_contain_text(f"{g:+.4f}")
    for g in sigma - y * sigma / (y @ sigma):
        expect(collision).to_contain_text(f"{g:+.4f}")
    expect(collision).to_contain_text(f"{-np.log(y @ sigma):.4f}")
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]
