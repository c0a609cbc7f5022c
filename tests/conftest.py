"""Suite-wide hygiene."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest leaves ``sys.modules["__main__"]`` pointing at the app script; a later
    ``multiprocessing`` spawn would then re-run the app in every child. Put the real one back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


# --- the explorer in a real browser (Playwright + Debian's chromium); used by tests/test_browser*.py ---
# app_url is module-scoped: each browser test module runs its own server with a fresh run store.


NET_LOGS: dict[str, Path] = {}  # app_url → the file its server's network audit writes (explorer.headless.NET_AUDIT)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless ``streamlit run explorer/app.py`` with a fresh run store; its base URL."""
    from explorer.headless import CHROMIUM, serve

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    base = tmp_path_factory.mktemp("browser")
    with serve(str(base / "runs"), net_log=str(base / "net.log")) as url:
        NET_LOGS[url] = base / "net.log"  # the server's own DNS lookups / connections beyond loopback
        yield url


@pytest.fixture(scope="module")
def server_net_log(app_url: str) -> Path:
    """The file in which ``app_url``'s server records its DNS lookups and connections beyond loopback."""
    return NET_LOGS[app_url]


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
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
