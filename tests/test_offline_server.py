"""The explorer's *server* makes no request beyond localhost: every DNS lookup and connection of the
``streamlit run explorer/app.py`` process is recorded by Python audit hooks (``explorer.headless.NET_AUDIT``).

The browser side (what the page loads) is checked in tests/test_browser_offline.py; here it is the
process itself: Streamlit, left to its defaults, looks up the machine's external IP
(checkip.amazonaws.com) and network IP (a UDP connect to 8.8.8.8) at start-up just to print them.
The repository's ``.streamlit/config.toml`` stops that; the control test starts the same app from a
folder without that file and sees the lookups, so the check can fail.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from explorer.headless import remote_calls, serve

pytest.importorskip("streamlit")


def _visit(url: str) -> None:
    for path in ("/", "/_stcore/health", "/_stcore/host-config"):
        with urllib.request.urlopen(url + path, timeout=30) as r:
            assert r.status == 200


def _settled(net_log: Path, want_any: bool, seconds: float = 20.0) -> list[str]:
    """The recorded calls, once the start-up work (URL printing, warm-up threads) had time to run."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        calls = remote_calls(net_log)
        if want_any and calls:
            return calls
        time.sleep(0.5)
    return remote_calls(net_log)


@pytest.mark.slow
def test_server_makes_no_request_beyond_localhost(tmp_path: Path) -> None:
    net_log = tmp_path / "net.log"
    with serve(str(tmp_path / "runs"), net_log=str(net_log)) as url:
        _visit(url)
        assert _settled(net_log, want_any=False, seconds=8.0) == []


@pytest.mark.slow
def test_control_without_the_config_the_lookups_are_seen(tmp_path: Path) -> None:
    """Started from a folder without .streamlit/config.toml, the same server reaches out — the audit sees it."""
    net_log = tmp_path / "net.log"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serve(str(tmp_path / "runs"), net_log=str(net_log), cwd=elsewhere) as url:
        _visit(url)
        calls = _settled(net_log, want_any=True)
    assert any("8.8.8.8" in c or "checkip.amazonaws.com" in c for c in calls), calls
