"""Render times of the explorer: the first render of every page and its main interactions.

Usage: python benchmarks/app_render.py [--browser] [--repeat 3]

AppTest (in-process, no browser): every page is rendered with empty Streamlit caches ("first
render"), again with warm caches, and after each main interaction; the median of ``--repeat``
fresh sessions is printed. The process start (imports: torch, scikit-learn, plotly …) is reported
once, separately. ``--browser`` also times each page in headless Chromium against a fresh
``streamlit run`` server: from navigation until Streamlit reports the script finished and every
element rendered (``data-test-script-state="notRunning"``, no skeletons), a first visit and the median
of later visits and of reloads.
``--before CHECKOUT`` times another checkout (a worktree of an earlier commit) in the same run.
Every server starts with an empty store of finished results (``$CCEL_CACHE``, explorer/cached/disk.py);
``--restart`` then starts this checkout's server once more on the store the first one filled (a user's
second ``make explore``).
Targets: AppTest ≤ 2 s per page; in the browser ≤ 1 s per page reached by the sidebar on a warm
server and ≤ 2 s per reload (the noisy-label experiment runs on a button and is reported, not
targeted).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "explorer" / "app.py"
TARGET = 2.0  # AppTest renders and a browser reload
VISIT_TARGET = 1.0  # a page reached by the sidebar on a warm server


def _target(action: str) -> float | None:
    """The target of a row, or None for a reported-only row (cold start, interactions)."""
    if "via the sidebar" in action:
        return VISIT_TARGET
    if "reload" in action or "first render" in action or "second render" in action:
        return TARGET
    return None


def _fill_store(root: Path, n: int = 24) -> None:
    from ccel_core.runs import RunStore
    from ccel_core.training import TrainConfig

    store = RunStore(root)
    for i in range(n):
        cfg = TrainConfig(data="digits", method=("ccel", "miadm", "sela")[i % 3], epochs=10, seed=i // 3, device="cpu")
        run = store.create(cfg.to_dict(), group=f"g{i % 3}")
        run.start()
        for e in range(1, 11):
            run.log_epoch(
                e, {"loss": 2.0 / e, "acc": 0.5 + 0.03 * e, "nmi": 0.4 + 0.03 * e, "ari": 0.3, "seconds": 0.1}
            )
        run.finish()


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def apptest_rows(repeat: int) -> list[tuple[str, str, float]]:
    """(page, action, median seconds) measured with AppTest."""
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(REPO))  # this checkout: explorer.cached
    from explorer import cached

    def fresh() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=300)
        at.run()
        return at

    def check(at: AppTest) -> None:
        if at.exception:
            raise RuntimeError(f"app raised: {[e.message for e in at.exception]}")

    samples: dict[tuple[str, str], list[float]] = {}

    def record(page: str, action: str, seconds: float) -> None:
        samples.setdefault((page, action), []).append(seconds)

    scenarios: dict[str, list[tuple[str, Callable[[AppTest], object]]]] = {
        "home": [],
        "loss_curves": [
            ("Rényi order α → 2.5", lambda at: at.slider(key="lc.alpha").set_value(2.5).run()),
            ("target y₁ → 0.8", lambda at: at.slider(key="lc.y1").set_value(0.8).run()),
            (
                "open the simplex tab",
                lambda at: (at.session_state.__setitem__("lc.view", cached.LOSS_CURVE_TABS[1]), at.run()),
            ),
            ("simplex y₁ → 0.5", lambda at: at.slider(key="lc.t1").set_value(0.5).run()),
        ],
        "noisy_labels": [
            ("Run (defaults: 5 levels × 3 seeds × 2 losses, 15 epochs)", lambda at: at.button[0].click().run()),
            ("noise model → mix (preview only)", lambda at: at.radio(key="nl.noise").set_value("mix").run()),
        ],
        "pseudo_labels": [
            (
                "seed → 1 (retrain both methods)",
                lambda at: at.number_input(key="pl.seed").set_value(1).run(),
            ),
            ("data → digits (PCA plane)", lambda at: at.selectbox(key="pl.data").set_value("digits").run()),
            ("open the y-step tab", lambda at: (at.session_state.__setitem__("pl.view", "One y-step"), at.run())),
            ("y-step iterations → 60", lambda at: at.slider(key="pl.iters").set_value(60).run()),
        ],
        "solver_race": [
            (
                "Ks → 2, 50, Run race",
                lambda at: (at.text_input(key="sr.ks").set_value("2, 50"), at.button[0].click().run()),
            ),
        ],
        "clustering_runs": [
            ("metric → nmi (24 runs in the store)", lambda at: at.selectbox(key="cr.metric").set_value("nmi").run()),
            (
                "compare all 24 runs",
                lambda at: (
                    at.multiselect(key="cr.runs")
                    .set_value([label.split(" · ")[0] for label in at.multiselect(key="cr.runs").options])
                    .run()
                ),
            ),
        ],
    }
    for _ in range(repeat):
        for page, actions in scenarios.items():
            _clear_caches()
            at = fresh()
            check(at)
            if page == "home":
                _clear_caches()
                at = AppTest.from_file(str(APP), default_timeout=300)
                record(page, "first render", _timed(at.run))
                check(at)
                record(page, "second render (cached)", _timed(at.run))
                continue
            at.switch_page(f"views/{page}.py")
            record(page, "first render", _timed(at.run))
            check(at)
            record(page, "second render (cached)", _timed(at.run))
            for action, fn in actions:
                record(page, action, _timed(lambda fn=fn, at=at: fn(at)))
                check(at)
    return [(page, action, statistics.median(v)) for (page, action), v in samples.items()]


def browser_rows(
    root: Path = REPO, label: str = "", warm_wait: float = 20.0, cache: Path | None = None, repeat: int = 3
) -> list[tuple[str, str, float]]:
    """(page, action, seconds) in headless Chromium against a fresh server of the checkout ``root``:
    a full load of the home page, then each page reached through the sidebar (first visit: empty
    caches unless precomputed by the server's warm-up; later visits: cached, the median of ``repeat``
    rounds through every page), then full reloads of each page (a new session: Streamlit's per-session
    state is gone, cross-session caches stay; the median of ``repeat``), each until its title, a finished
    script and its charts. One sample of a reload varies by ±0.4 s on this box: medians, not samples.
    ``warm_wait``: seconds between the first load and the first sidebar visit (0: the first visits race
    the server's warm-up, as a user who opens a page at once). ``cache``: the server's store of finished
    results (default: a new, empty one)."""
    sys.path.insert(0, str(REPO))  # this checkout: explorer.headless
    from playwright.sync_api import expect, sync_playwright

    from explorer.headless import CHARTS, CHROMIUM, CHROMIUM_ARGS, serve, wait_ready

    pages = {
        "Loss curves": "Loss curves",
        "Noisy labels": "Noisy labels: Shannon CE vs collision CE",
        "Pseudo-label evolution": "Pseudo-label evolution",
        "Solver race": "Solver race",
        "Clustering runs": "Clustering runs",
        "Reproduction": "Reproduction",
        "Collision cross-entropy": "Collision cross-entropy",
    }
    tag = f" [{label}]" if label else ""

    def settled(title: str) -> None:
        # the start of the title: earlier commits worded some titles differently
        expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=60_000)
        wait_ready(page)
        expect(page.locator(CHARTS).first).to_be_visible(timeout=60_000)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CCEL_CACHE"] = str(cache or Path(tmp) / "cache")  # the server inherits it
        _fill_store(Path(tmp) / "runs")
        with serve(str(Path(tmp) / "runs"), root=root) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url)
            settled("Collision cross-entropy")
            rows.append(("home", f"browser: full page load (new server){tag}", time.perf_counter() - t0))
            page.wait_for_timeout(warm_wait * 1000)  # the server's background warm-up
            for link, title in pages.items():
                t0 = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
                settled(title)
                rows.append((link, f"browser: first visit via the sidebar{tag}", time.perf_counter() - t0))
            later: dict[str, list[float]] = {link: [] for link in pages}
            for _ in range(repeat):
                for link, title in pages.items():
                    t0 = time.perf_counter()
                    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
                    settled(title)
                    later[link].append(time.perf_counter() - t0)
            of = f" (median of {repeat})"
            rows += [
                (link, f"browser: later visit via the sidebar{of}{tag}", statistics.median(v))
                for link, v in later.items()
            ]
            for link, title in pages.items():
                page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
                settled(title)
                reloads = []
                for _ in range(repeat):
                    page.wait_for_timeout(1000)  # the previous load's prefetch and late deltas settle
                    t0 = time.perf_counter()
                    page.reload()
                    settled(title)
                    reloads.append(time.perf_counter() - t0)
                rows.append((link, f"browser: reload{of}{tag}", statistics.median(reloads)))
            browser.close()
    return rows


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--repeat {n}: expected a whole number ≥ 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time the pages in headless Chromium")
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=3,
        help="fresh sessions (AppTest), later visits and reloads (browser) per median",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="CHECKOUT",
        help="with --browser: also time another checkout (e.g. a worktree of an earlier commit), same run",
    )
    parser.add_argument("--browser-only", action="store_true", help="skip the AppTest rows")
    parser.add_argument(
        "--warm-wait",
        type=float,
        default=20.0,
        help="seconds after the first load before the sidebar visits (0: visit while the warm-up runs)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="with --browser: time this checkout's server again, restarted on the results the first one stored",
    )
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    os.environ["CCEL_CACHE"] = str(Path(tmp.name) / "cache")  # cold: not the user's store of results
    os.environ["CCEL_RUNS_DIR"] = str(Path(tmp.name) / "runs")
    _fill_store(Path(os.environ["CCEL_RUNS_DIR"]))
    rows: list[tuple[str, str, float]] = []
    start = warm = float("nan")
    if not args.browser_only:
        t0 = time.perf_counter()
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(APP), default_timeout=300)
        at.run()
        start = time.perf_counter() - t0
        for t in threading.enumerate():  # the app's background warm-up (imports, numba, validators)
            if t.name == "ccel-warm-up":
                t.join()
        warm = time.perf_counter() - t0
        rows = apptest_rows(args.repeat)
    if args.browser or args.browser_only:
        if args.before is not None:
            rows += browser_rows(args.before.resolve(), "before", args.warm_wait, repeat=args.repeat)
        label = "after" if args.before is not None else ""
        cache = Path(tmp.name) / "cache"
        rows += browser_rows(REPO, label, args.warm_wait, cache, args.repeat)
        if args.restart:
            rows += browser_rows(REPO, f"{label}, restarted".lstrip(", "), args.warm_wait, cache, args.repeat)
    for t in threading.enumerate():  # clearing st.cache_resource restarts the warm-up: let it end
        if t.name == "ccel-warm-up":
            t.join()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# explorer render times · {time.strftime('%Y-%m-%d %H:%M')} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} CPUs · load {load:.2f} · median of {args.repeat} sessions (AppTest) or of {args.repeat} "
        "visits and reloads (browser)"
    )
    print(f"process start: first home render incl. imports {start:.2f} s; background warm-up done after {warm:.2f} s")
    pw, aw = max(len(p) for p, _, _ in rows), max(len(a) for _, a, _ in rows)
    print(f"{'page':<{pw}}  {'action':<{aw}}  {'seconds':>7}  target")
    for page, action, seconds in rows:
        target = _target(action)
        mark = (
            (f"≤ {target:g} s " + ("ok" if seconds <= target else "SLOW"))
            if target is not None
            else ("(cold start)" if "new server" in action else "(interaction)")
        )
        print(f"{page:<{pw}}  {action:<{aw}}  {seconds:7.3f}  {mark}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
