"""The Clustering runs page in a real browser (Playwright + Debian's chromium; skipped without them):
a resumed run shows one status in every widget, a comparison of three seeds shows a spread, and the
runs folder cannot leave its root.

The server is tests/conftest.py's ``app_url`` on this module's run store (``runs_root`` below, which
the tests read). Every wait is on the page's state, with long limits (a shared, loaded
machine); a run left running by a failing test is cancelled, then terminated, at the end.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import arr  # tests/ is on sys.path

from ccel_core.runs import RunStore
from explorer.headless import EXCEPTION, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TINY = ["--data", "digits", "--method", "ccel", "--model", "linear", "--n-samples", "300", "--no-progress"]
LONG = 120_000  # ms: a state the page must reach (a run to start, to finish)

# Everything the page says about one run, read in one go (one JavaScript task, so no rerun can land
# between two reads), with the script state and the placeholders: only a snapshot taken while no script
# runs and no element is still a placeholder counts (Streamlit loads an element's code the first time
# the page shows one, a ``stSkeleton`` until then: on a loaded machine the live list's first
# ``st.progress`` was missing from two reads 300 ms apart, CI of 3077658).
SNAPSHOT = """(rid) => {
  const app = document.querySelector("[data-testid='stApp']");
  const out = {state: app && app.getAttribute("data-test-script-state")};
  out.stale = document.querySelectorAll("[data-stale='true'], [data-testid='stSkeleton']").length;
  const rows = [...document.querySelectorAll(".st-key-cr-table tr")].map(r => [...r.children].map(c => c.innerText.trim()));
  const head = rows[0] || [], row = rows.find(r => r[0] === rid);
  out.table = row ? `${row[head.indexOf("status")]} ${row[head.indexOf("epoch")]}/${row[head.indexOf("epochs")]}` : null;
  const live = [...document.querySelectorAll(".st-key-cr-live [data-testid='stProgress']")].map(e => e.innerText).find(t => t.includes(rid));
  const m = live && live.match(/— (\\w+) · epoch (\\d+\\/\\d+)/);
  out.live = m ? `${m[1]} ${m[2]}` : null;
  const pick = document.querySelector(".st-key-cr-detail input");
  out.selector = pick && pick.value.startsWith(rid) ? pick.value.split(" · ").pop() : null;
  const head2 = document.querySelector(".st-key-cr-detail-status");
  const d = head2 && head2.innerText.match(/^(\\w+) · epoch (\\d+\\/\\d+)/);
  out.details = d ? `${d[1]} ${d[2]}` : null;
  const chip = [...document.querySelectorAll(".st-key-cr-runs [data-baseweb='tag'], .st-key-cr-runs span")].map(e => e.innerText).find(t => t.startsWith(rid));
  out.compare = chip ? chip.split(" · ").pop() : null;
  return out;
}"""
WIDGETS = ("table", "live", "selector", "details", "compare")


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """tests/conftest.py's ``runs_root``, and what still runs in it stopped once the server (``app_url``,
    which depends on this fixture) has stopped."""
    root = tmp_path_factory.mktemp("browser-runs") / "runs"
    yield root
    _stop_all(root)


def _stop_all(root: Path) -> None:
    """Cancel whatever still runs under ``root`` (a failed test), then terminate it."""
    stores = [RunStore(p.parent) for p in root.rglob("index.sqlite")]
    running = [(s, i) for s in stores for i in s.list() if i.status in ("created", "running")]
    for store, info in running:
        store.open(info.run_id).request_cancel()
    deadline = time.monotonic() + 30
    while running and time.monotonic() < deadline and any(s.get(i.run_id).status == "running" for s, i in running):
        time.sleep(0.5)
    for store, info in running:
        now = store.get(info.run_id)
        if now.status == "running" and now.pid:
            try:
                os.kill(now.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def consistent_snapshot(page: Any, rid: str, timeout_s: float = 120) -> dict:
    """A snapshot of the page, taken while no script runs, that two reads 300 ms apart agree on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        first = page.evaluate(SNAPSHOT, rid)
        if first["state"] == "notRunning" and not first["stale"] and first["table"]:
            page.wait_for_timeout(300)
            if page.evaluate(SNAPSHOT, rid) == first:
                return {w: first[w] for w in WIDGETS}
        page.wait_for_timeout(200)
    raise AssertionError(f"the page never settled: last read {first}")


def set_folder(page: Any, name: str) -> None:
    box = page.get_by_role("textbox", name="Runs folder")
    box.fill(name)
    box.press("Enter")
    wait_ready(page)


def test_a_resumed_run_shows_one_status_in_every_widget(app_url: str, runs_root: Path, page: Any) -> None:
    """The issue's case: a cancelled run is resumed; while it runs, and once it is cancelled again,
    the table, the live list, the selector, the details and the comparison all say the same."""
    from playwright.sync_api import expect

    from ccel_core.cli import main

    root = runs_root / "resume"
    assert main(["fit", *TINY, "--epochs", "2", "--run-id", "again", "--runs-dir", str(root)]) == 0
    store = RunStore(root)
    store.open("again").set_epochs(100_000)  # long enough to watch it run
    store.open("again").finish("cancelled")

    page.goto(f"{app_url}/clustering_runs")
    wait_ready(page)
    set_folder(page, "resume")
    assert consistent_snapshot(page, "again") == dict.fromkeys(WIDGETS, "cancelled 2/100000")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.locator(".st-key-cr-detail-status", has_text="running")).to_be_visible(timeout=LONG)
    # every instant, not only settled ones: sampled every 100 ms across three polls of the page; a
    # browser draws one poll's elements one after another, so two widgets may differ for a moment
    # (a sample or two), never for longer (measured: 0–1 of 60 samples split, 3 beside a CPU burner;
    # 5ec458f: 6 of 60 on a quiet machine, up to 1 s)
    samples = []
    for _ in range(60):
        samples.append(page.evaluate(SNAPSHOT, "again"))
        page.wait_for_timeout(100)
    told = [tuple(x[w] for w in WIDGETS) for x in samples if all(x[w] for w in WIDGETS)]
    split = [len(set(t)) > 1 for t in told]
    print(f"one truth: {sum(split)} of {len(told)} samples split")
    assert len(told) >= 30 and sum(split) <= 6, (len(told), [t for t in told if len(set(t)) > 1])
    assert not any(a and b and c for a, b, c in zip(split, split[1:], split[2:])), [t for t in told if len(set(t)) > 1]
    seen = []
    for _ in range(3):  # several moments of the live run: each one tells one truth
        snap = consistent_snapshot(page, "again")
        assert len(set(snap.values())) == 1 and snap["table"].startswith("running "), snap
        seen.append(int(snap["table"].split()[1].split("/")[0]))
        page.wait_for_timeout(2500)
    assert seen[-1] > 2, seen  # it trains from its checkpoint on
    page.get_by_role("button", name="Cancel this run", exact=True).click()
    expect(page.locator(".st-key-cr-detail-status", has_text="cancelled")).to_be_visible(timeout=LONG)
    snap = consistent_snapshot(page, "again")
    assert len(set(snap.values())) == 1 and snap["table"].startswith("cancelled "), snap
    info = store.get("again")
    assert snap["table"] == f"cancelled {info.epoch}/100000" and info.status == "cancelled"
    assert page.locator(EXCEPTION).count() == 0 and not page.js_errors


def test_compare_of_three_seeds_shows_a_spread(app_url: str, runs_root: Path, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/clustering_runs")
    wait_ready(page)
    set_folder(page, "seeds")
    page.get_by_role("textbox", name="seeds", exact=True).fill("0 1 2")
    epochs = page.get_by_label("epochs", exact=True)
    epochs.fill("3")
    epochs.press("Enter")  # Enter in a field of the launch form starts nothing: only its button does
    page.wait_for_timeout(1500)
    wait_ready(page)
    expect(page.get_by_text("Launched")).to_have_count(0)
    expect(page.get_by_text("No runs yet")).to_be_visible()
    page.get_by_role("button", name="Launch", exact=True).click()
    expect(page.get_by_text("Launched").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("No runs yet")).to_have_count(0)
    table = page.locator(".st-key-cr-table")
    expect(table.locator("td", has_text="finished")).to_have_count(3, timeout=3 * LONG)
    expect(page.get_by_text("— done.").first).to_be_visible(timeout=LONG)
    wait_ready(page)
    # the launch's runs are the comparison: one configuration, three seeds, mean ± std (ddof 1)
    expect(page.locator(".st-key-cr-runs")).to_contain_text("seed 2", timeout=LONG)
    summary = page.get_by_test_id("stDataFrame").first  # the runs table is a static HTML table
    expect(summary.locator("td", has_text="0 1 2")).to_have_count(1, timeout=LONG)
    acc = summary.locator("td", has_text=" ± ").first.inner_text()
    mean, std = (float(v) for v in acc.split(" ± "))
    assert 0 < mean < 1 and std > 0, acc
    traces = page.evaluate(
        "() => document.querySelector('.st-key-cr-compare .js-plotly-plot').data"
        ".map(t => ({fill: t.fill || null, name: t.name, y: t.y}))"
    )
    [band] = [t for t in traces if t["fill"] == "toself"]
    [line] = [t for t in traces if t["fill"] is None]
    assert "(3 runs)" in line["name"]
    mean, outline = arr(line["y"]), arr(band["y"])
    upper, lower = outline[: len(mean)], outline[len(mean) :][::-1]
    assert len(mean) == 3 and (upper >= mean).all() and (mean >= lower).all() and (upper - lower).max() > 0
    assert page.locator(EXCEPTION).count() == 0 and not page.js_errors


def test_the_runs_folder_cannot_be_set_outside_its_root(
    app_url: str, runs_root: Path, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    runs_root.mkdir(parents=True, exist_ok=True)
    (runs_root / "sneaky").symlink_to(outside)
    page.goto(f"{app_url}/clustering_runs")
    wait_ready(page)
    for value, why in (
        ("../escape", "'..' is not allowed"),
        (str(outside), "is an absolute path"),
        ("sneaky", "leads outside"),
        ("sneaky/deeper", "leads outside"),
    ):
        set_folder(page, value)
        alert = page.get_by_test_id("stAlert").filter(has_text="Cannot use the runs folder")
        expect(alert).to_contain_text(value)
        expect(alert).to_contain_text(why)
        expect(page.get_by_role("button", name="Launch", exact=True)).to_have_count(0)  # nothing to launch from
    assert not (runs_root.parent / "escape").exists() and list(outside.iterdir()) == []
    set_folder(page, "inside/ok")
    expect(page.get_by_text(f"Run store: {runs_root / 'inside' / 'ok'}")).to_be_visible()
    assert (runs_root / "inside" / "ok" / "index.sqlite").exists()
    assert page.locator(EXCEPTION).count() == 0 and not page.js_errors
