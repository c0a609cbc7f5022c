"""The explorer in a real browser: ``streamlit run explorer/app.py`` driven by Playwright + Chromium.

Needs Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``; CI installs it) and the
``playwright`` Python package; skipped otherwise. The server runs as a subprocess on a free port
with a temporary run store (``CCEL_RUNS_DIR``).

Readiness is Streamlit's own (its ``e2e_playwright`` conftest, ``wait_for_app_run``): the app root
``[data-testid='stApp']`` carries ``data-test-connection-state`` (``CONNECTED`` once the websocket
is up) and ``data-test-script-state`` (``initial`` → ``running`` → ``notRunning``, the
``ScriptRunState`` values of the installed frontend bundle); the script has finished when it reads
``notRunning`` and no ``stSkeleton`` placeholder is left.
"""

from __future__ import annotations

import pytest
from conftest import VIEWS  # tests/ is on sys.path

from explorer.headless import CHARTS, EXCEPTION, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # fixtures app_url, browser, page: tests/conftest.py

PAGES = ("", *VIEWS)  # "": the home page


def test_every_page_renders_charts_without_exceptions(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    for path in PAGES:
        page.goto(f"{app_url}/{path}")  # type: ignore[attr-defined]
        wait_ready(page)
        assert page.locator(EXCEPTION).count() == 0, f"exception on /{path}"  # type: ignore[attr-defined]
        if path == "clustering_runs":  # the run store is still empty
            expect(page.get_by_text("No runs yet")).to_be_visible()  # type: ignore[attr-defined]
        else:
            expect(page.locator(CHARTS).first).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_view_settings_round_trip_through_the_url(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/loss_curves?alpha=2.5")  # type: ignore[attr-defined]
    wait_ready(page)
    alpha = page.get_by_role("slider", name="Rényi order α")  # type: ignore[attr-defined]
    expect(alpha).to_have_value("2.5")
    expect(page.locator(CHARTS).first.get_by_text("H_2.5(y,σ), y=(0.9, 0.1)")).to_be_visible()  # type: ignore[attr-defined]
    y1 = page.get_by_role("slider", name="Your target y = (y₁, 1 − y₁): y₁")  # type: ignore[attr-defined]
    y1.focus()
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    expect(y1).to_have_value("0.91")
    page.wait_for_url("**/loss_curves?*y1=0.91*", timeout=30_000)  # type: ignore[attr-defined]
    assert "alpha=2.5" in page.url  # type: ignore[attr-defined]


def test_noisy_labels_experiment_runs_on_the_button(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/noisy_labels?levels=0,0.5&seeds=1&epochs=3")  # type: ignore[attr-defined]
    wait_ready(page)
    page.get_by_role("button", name="Run the experiment").click()  # type: ignore[attr-defined]
    expect(page.locator(CHARTS)).to_have_count(2, timeout=60_000)  # type: ignore[attr-defined]
    expect(page.get_by_text("CCE − CE")).to_be_visible()  # type: ignore[attr-defined]
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]


def test_launch_a_run_and_watch_it_finish(app_url: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/clustering_runs")  # type: ignore[attr-defined]
    wait_ready(page)
    epochs = page.get_by_label("epochs", exact=True)  # type: ignore[attr-defined]
    epochs.fill("2")
    epochs.press("Tab")
    page.get_by_role("button", name="Launch").click()  # type: ignore[attr-defined]
    expect(page.get_by_text("Launched").first).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
    table = page.locator(".st-key-cr-table")  # type: ignore[attr-defined]
    # the page polls the run store: the run appears, trains and ends as "finished" in the table
    expect(table.locator("td", has_text="finished")).to_have_count(1, timeout=120_000)
    expect(table.locator("td", has_text="digits")).to_have_count(1)
    expect(page.get_by_text("— done.").first).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]  # the process exited 0
    expect(page.locator(CHARTS).first).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
    assert page.locator(EXCEPTION).count() == 0  # type: ignore[attr-defined]
    # with a run in the store a new session opens with the launch form closed and not drawn; opening draws it
    page.reload()  # type: ignore[attr-defined]
    wait_ready(page)
    expect(page.get_by_label("epochs", exact=True)).to_have_count(0)  # type: ignore[attr-defined]
    page.get_by_text("Launch a run", exact=True).click()  # type: ignore[attr-defined]
    expect(page.get_by_label("epochs", exact=True)).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
