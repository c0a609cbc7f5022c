"""A headless ``streamlit run explorer/app.py``: for the browser tests, benchmarks and the screenshot.

Readiness as in Streamlit's own e2e tests: the app root ``[data-testid='stApp']`` reads
``data-test-connection-state="CONNECTED"`` and ``data-test-script-state="notRunning"``, and no
``stSkeleton`` placeholder is left.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
SCRIPT_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHARTS = "[data-testid='stPlotlyChart'] .js-plotly-plot"
EXCEPTION = "[data-testid='stException']"


# Run in the server process before Streamlit starts: Python's audit hooks see every DNS lookup and
# every connect/sendto of the process (and its threads), whoever makes it; each one to a host that is
# not loopback is appended to the file $CCEL_NET_LOG, one line each.
NET_AUDIT = r"""
import os, sys
_log, _local = os.environ["CCEL_NET_LOG"], {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""}
def _note(what):
    with open(_log, "a", encoding="utf-8") as f:
        f.write(what + "\n")
def _hook(event, args):
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if host is not None and str(host) not in _local:
            _note(f"{event} {host}")
    elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        addr = args[-1]
        if isinstance(addr, tuple) and addr and str(addr[0]) not in _local:
            _note(f"{event} {addr[0]}:{addr[1] if len(addr) > 1 else ''}")
sys.addaudithook(_hook)
sys.argv[0] = "streamlit"
from streamlit.web.cli import main
main()
"""


def remote_calls(net_log: str | os.PathLike) -> list[str]:
    """The non-loopback DNS lookups and connections a server started with ``serve(net_log=…)`` made."""
    path = Path(net_log)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@contextmanager
def serve(
    runs_dir: str | None = None, *, net_log: str | None = None, cwd: Path | None = None, root: Path = REPO
) -> Iterator[str]:
    """Start the app on a free port (run store: ``runs_dir`` or a temporary folder); yield its URL.

    ``net_log``: record every DNS lookup and connection of the server process to a host beyond
    loopback in that file (:data:`NET_AUDIT`, read with :func:`remote_calls`). ``cwd``: where
    Streamlit starts, and so which ``.streamlit/config.toml`` it reads (``root`` by default).
    ``root``: the checkout whose ``explorer/app.py`` and packages are served (this one by default;
    another worktree to time an earlier commit with the same benchmark).
    """
    cwd = root if cwd is None else cwd
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CCEL_RUNS_DIR": runs_dir or os.path.join(tmp, "runs"), "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
        launcher = ["-m", "streamlit"]
        if net_log is not None:
            env["CCEL_NET_LOG"] = str(net_log)
            launcher = ["-c", NET_AUDIT]
        log = open(os.path.join(tmp, "streamlit.log"), "wb")
        server = subprocess.Popen(
            [
                sys.executable,
                *launcher,
                "run",
                str(root / "explorer" / "app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = Path(tmp, "streamlit.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"streamlit did not start:\n{tail}")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def wait_ready(page: Any, timeout: float = 60_000) -> None:
    """Block until the script run has finished and every element rendered."""
    from playwright.sync_api import expect

    page.wait_for_timeout(200)  # let a just-triggered rerun start
    page.locator(CONNECTED).wait_for(state="attached", timeout=timeout)
    page.locator(SCRIPT_DONE).wait_for(state="attached", timeout=timeout)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


# --- what the browser asks for: the app makes no request beyond localhost ------------------------

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SCRIPT_RUNNING = "[data-testid='stApp'][data-test-script-state='running']"


def is_local(url: str) -> bool:
    """Whether fetching ``url`` stays on this machine: an http(s)/ws(s) URL to a loopback host, or
    a URL that needs no network at all (``data:``, ``blob:``, ``about:``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


def record_requests(page: Any) -> list[str]:
    """Start recording the URL of every request ``page`` makes (documents, scripts, fonts, images,
    websockets); returns the live list."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls


def wait_running(page: Any, timeout: float = 60_000) -> None:
    """Block until a script run is in progress (e.g. just after pressing a button that starts work)."""
    page.locator(SCRIPT_RUNNING).wait_for(state="attached", timeout=timeout)
