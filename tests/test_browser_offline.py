"""The explorer makes no request beyond localhost, shows no "Deploy" button, and its exports work
offline — checked in a real browser (fixtures ``app_url``, ``browser``, ``page``: tests/conftest.py)
and on the Streamlit configuration the server reads (``.streamlit/config.toml`` at the repository
root, where ``streamlit run explorer/app.py``, ``make explore`` and the tests start it).

The pages are opened through ``http://localhost:<port>``, not ``127.0.0.1``: Streamlit's frontend
shows its developer toolbar (with "Deploy") only when the host name is ``localhost``, so only then
can the check fail.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import VIEWS  # tests/ is on sys.path

from explorer.headless import CHARTS, EXCEPTION, REPO, is_local, record_requests, remote_calls, wait_ready

PAGES = ("", *VIEWS)  # "": the home page
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']?(https?:)?//", re.I)


def local(app_url: str) -> str:
    return app_url.replace("127.0.0.1", "localhost")


def remote(urls: list[str]) -> list[str]:
    return sorted({u for u in urls if not is_local(u)})


def open_some(page: object) -> int:
    """Click up to two unselected tabs and one closed expander on the page; how many were clicked."""
    clicked = 0
    tabs = page.get_by_role("tab", selected=False)  # type: ignore[attr-defined]
    for _ in range(min(tabs.count(), 2)):
        tabs.first.click()
        wait_ready(page)
        clicked += 1
    closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary")  # type: ignore[attr-defined]
    if closed.count():
        closed.first.click()
        wait_ready(page)
        clicked += 1
    return clicked


def test_the_request_filter_tells_local_from_remote() -> None:
    assert is_local("http://localhost:8501/_stcore/health") and is_local("ws://127.0.0.1:9/_stcore/stream")
    assert is_local("data:image/svg+xml;base64,PHN2Zz4=") and is_local("blob:http://localhost:8501/x")
    assert not is_local("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/home/default/24px.svg")
    assert not is_local("https://data.streamlit.io/metrics.json")
    assert not is_local("http://localhost.example.com/")
    assert remote(["http://localhost:1/a", "https://cdn.plot.ly/x.js", "https://cdn.plot.ly/x.js"]) == [
        "https://cdn.plot.ly/x.js"
    ]


def test_streamlit_reads_the_project_config_from_the_repository_root() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0, shown.stderr
    config = Path(REPO, ".streamlit", "config.toml")
    # each setting with the file it came from, as `streamlit config show` prints it
    for setting in (
        'toolbarMode = "viewer"',
        "gatherUsageStats = false",
        "maxUploadSize = 50",
        "showErrorLinks = false",
        'serverAddress = "localhost"',
        "showEmailPrompt = false",
        "magicEnabled = false",
    ):
        assert f"# The value below was set in {config}\n{setting}\n" in shown.stdout, setting


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_stays_on_localhost_and_shows_no_deploy_button(
    app_url: str, page: object, server_net_log: Path
) -> None:
    from playwright.sync_api import expect

    urls = record_requests(page)
    base = local(app_url)
    clicked = 0
    for path in PAGES:
        page.goto(f"{base}/{path}")  # type: ignore[attr-defined]
        wait_ready(page)
        assert page.locator(EXCEPTION).count() == 0, f"exception on /{path}"  # type: ignore[attr-defined]
        if path != "clustering_runs":  # (an empty run store has nothing to plot)
            expect(page.locator(CHARTS).first).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        clicked += open_some(page)
        assert page.get_by_role("button", name="Deploy").count() == 0, f"Deploy button on /{path}"  # type: ignore[attr-defined]
        assert page.get_by_test_id("stAppDeployButton").count() == 0  # type: ignore[attr-defined]
        icon = page.locator("link[rel='shortcut icon']").get_attribute("href")  # type: ignore[attr-defined]
        assert icon and is_local(icon if "://" in icon or icon.startswith("data:") else f"{base}/{icon}"), icon
        assert not remote(urls), f"/{path}: {remote(urls)}"
    assert clicked >= 3  # the pseudo-label tabs and the runs page's expanders were opened
    assert any(u.startswith(f"{base}/static/media/MaterialSymbols") for u in urls)  # the icon font: local
    assert any(u.startswith("ws://localhost") for u in urls)
    # no page draws st.code, and the prefetch leaves its 1.5 MB viewer out (explorer.elements.preformatted)
    assert not [u for u in urls if "StreamlitSyntaxHighlighter" in u]
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]
    # … and the server, running every page's script meanwhile, looked up and connected to nothing beyond loopback
    assert remote_calls(server_net_log) == []


@pytest.mark.browser
@pytest.mark.slow
def test_the_html_export_embeds_plotly(app_url: str, page: object, tmp_path: Path) -> None:
    urls = record_requests(page)
    page.goto(local(app_url))  # type: ignore[attr-defined]
    wait_ready(page)
    with page.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
        page.get_by_role("button", name="HTML").first.click()  # type: ignore[attr-defined]
    saved = tmp_path / "fig.html"
    info.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert len(html) > 1_000_000  # plotly.js itself is inside (about 4.6 MB)
    assert "Plotly.newPlot" in html and not REMOTE_SCRIPT.search(html)
    assert not remote(urls), remote(urls)


@pytest.mark.browser
def test_the_home_page_loads_the_other_pages_widget_code_from_its_own_server(app_url: str, page: object) -> None:
    from explorer.prefetch import element_modules

    urls = record_requests(page)
    base = local(app_url)
    page.goto(base)  # type: ignore[attr-defined]
    wait_ready(page)
    wanted = {f"{base}/static/js/{name}" for name in element_modules()}
    assert wanted  # (test_app_warmup checks that every element's module is found)
    for _ in range(240):  # imported one after another when the browser is idle: within seconds
        if wanted <= set(urls):
            break
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
    assert wanted <= set(urls), sorted(wanted - set(urls))
    assert not remote(urls), remote(urls)
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]
