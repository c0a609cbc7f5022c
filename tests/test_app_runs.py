"""The Clustering runs page with Streamlit's AppTest: one status per run in every widget, stale
runs, resume semantics, seed validation, the newly launched run selected, comparing runs (bands
over seeds, the settings that differ, a one-point chart), a finished run's confusion matrix and
examples, per-run logs and the runs folder confined to its root (the feature upload: test_app_upload.py).

The run store is a temporary ``$CCEL_RUNS_DIR`` (fixture ``store``: tests/conftest.py) filled through
:class:`~ccel_core.runs.RunStore`.
No training process is started: ``explorer.launcher.processes._popen`` is replaced by one that
records the command and starts a harmless sleeping Python (so a launch counts as running), killed
after the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FORMS_OPEN, arr, errors, figures, npz, ok, open_page, text_tables  # tests/ is on sys.path

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from ccel_core.runs import DIED, RunStore  # noqa: E402
from ccel_core.training import TrainConfig  # noqa: E402


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def statuses(at: AppTest, run_id: str) -> dict[str, str]:
    """What every widget of the page says about ``run_id`` (table, live list, selector, details)."""
    table = text_tables(at)[0]
    out = {"table": f"{table.loc[run_id, 'status']} {table.loc[run_id, 'epoch']}/{table.loc[run_id, 'epochs']}"}
    live = [p.proto.text for p in at.get("progress") if run_id in p.proto.text]
    out["live"] = live[0].split("**")[1] + " " + live[0].split("epoch ")[1].split(" ")[0] if live else "—"
    pick = at.selectbox(key="cr.detail")
    out["selector"] = pick.options[pick.index].rsplit(" · ", 1)[1] if pick.value == run_id else "—"
    head = [m.value for m in at.markdown if m.value.startswith("**") and " · epoch " in m.value]
    out["details"] = head[0].split("**")[1] + " " + head[0].split("epoch ")[1].split(" ")[0] if head else "—"
    return out


def run_with(
    store: RunStore,
    seed: int,
    *,
    epochs: int = 3,
    done: int = 3,
    status: str = "finished",
    group: str = "g1",
    lr: float = 0.1,
    acc: float = 0.7,
    pid: int | None = None,
    method: str = "ccel",
    lam: float | None = None,
) -> str:
    """A digits run with ``done`` logged epochs, ended with ``status`` (or running as ``pid``)."""
    cfg = TrainConfig(
        data="digits", method=method, model="linear", epochs=epochs, seed=seed, device="cpu", lr=lr, lam=lam
    )
    run = store.create(cfg.to_dict(), group=group)
    run.start(pid=pid)
    for epoch in range(1, done + 1):
        metrics = {
            "loss": 2.0 / epoch,
            "label_loss": 3.0 / epoch,
            "acc": acc - 0.1 * (done - epoch) + 0.01 * seed**2,
            "nmi": 0.5,
            "seconds": 0.1,
        }
        run.log_epoch(epoch, metrics)
    if status != "running":
        run.finish(status)
    return run.run_id


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The commands the page started (``launcher.processes._popen`` replaced; see the module docstring)."""
    from explorer.launcher import processes

    calls: list[list[str]] = []
    procs: list[subprocess.Popen] = []

    def fake_popen(command: list[str], root: Path, log_path: Path) -> subprocess.Popen:
        calls.append(command)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("$ " + " ".join(command) + "\n")
        procs.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]))
        return procs[-1]

    monkeypatch.setattr(processes, "_popen", fake_popen)
    yield calls
    for proc in procs:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------------------------------
# one status per run; stale runs
# --------------------------------------------------------------------------------------------------
def test_a_run_whose_process_died_shows_failed_in_every_widget(store: RunStore) -> None:
    done = run_with(store, 0)
    stale = run_with(store, 1, epochs=10, done=4, status="running", pid=dead_pid())
    at = open_page("clustering_runs")
    ok(at)
    assert at.selectbox(key="cr.detail").value == stale  # the newest run
    assert set(statuses(at, stale).values()) == {"failed 4/10"}, statuses(at, stale)
    assert any(e.startswith(f"{DIED}: pid ") and f"--resume {stale}" in e for e in errors(at))
    assert at.button(key="cr.resume") and not any(b.key == "cr.cancel" for b in at.button)
    assert store.get(stale).status == "failed" and store.get(done).status == "finished"


def test_every_widget_tells_the_same_moment(store: RunStore) -> None:
    live = run_with(store, 0, epochs=5, done=2, status="running", pid=os.getpid())
    # an epoch line the index has not caught up with yet (a writer between its two writes)
    with open(store.root / live / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 3, "loss": 0.5, "acc": 0.9}) + "\n")
    at = open_page("clustering_runs")
    ok(at)
    assert set(statuses(at, live).values()) == {"running 2/5"}, statuses(at, live)
    (curve,) = [t for t in figures(at)[0]["data"] if t.get("mode") == "lines+markers"]
    assert arr(curve["x"]).tolist() == [1, 2]  # the chart stops where the statuses do
    assert at.button(key="cr.cancel")


# --------------------------------------------------------------------------------------------------
# resume from the page
# --------------------------------------------------------------------------------------------------
def test_resume_refuses_a_total_not_above_the_epochs_done(store: RunStore, launched: list) -> None:
    rid = run_with(store, 0, epochs=10, done=3, status="cancelled")
    at = open_page("clustering_runs")
    assert at.selectbox(key="cr.detail").value == rid
    for total in (3, 2):
        at.number_input(key=f"cr.resume_epochs_{rid}_3").set_value(total)
        at.button(key="cr.resume").click().run()
        ok(at)
        assert any("has 3 epoch(s) done" in e and "must be more than 3" in e for e in errors(at)), errors(at)
        assert launched == [] and store.get(rid).status == "cancelled"
    at.number_input(key=f"cr.resume_epochs_{rid}_3").set_value(20)
    at.button(key="cr.resume").click().run()
    ok(at)
    assert not errors(at)
    [command] = launched
    assert command[3:] == ["fit", "--resume", rid, "--runs-dir", str(store.root), "--no-progress", "--epochs", "20"]
    assert "ccel fit --resume" in " ".join(i.value for i in at.info)
    assert at.selectbox(key="cr.detail").value == rid


def test_resume_box_offers_a_new_total_after_a_resume(store: RunStore, launched: list) -> None:
    """The box's default is above the epochs done at every moment: after a resume reaches the total
    the box offered, it offers a new one (it used to keep the total just reached, which is refused)."""
    rid = run_with(store, 0, epochs=10, done=10)
    at = open_page("clustering_runs")
    (box,) = [n for n in at.number_input if n.label == "total epochs for resume"]
    assert box.value == 20
    at.button(key="cr.resume").click().run()
    assert launched and launched[-1][-2:] == ["--epochs", "20"]
    run = store.open(rid)  # what the resumed `ccel fit` does: epochs 11 … 20, then finishes
    run.start()
    for epoch in range(11, 21):
        run.log_epoch(epoch, {"loss": 0.1, "acc": 0.9})
    run.finish()
    at.run()
    ok(at)
    (box,) = [n for n in at.number_input if n.label == "total epochs for resume"]
    assert box.value > 20, box.value


def test_resume_to_the_stored_total_and_the_resumed_run_reads_one_status(store: RunStore, launched: list) -> None:
    rid = run_with(store, 0, epochs=10, done=3, status="cancelled")
    at = open_page("clustering_runs")
    assert set(statuses(at, rid).values()) == {"cancelled 3/10"}
    at.button(key="cr.resume").click().run()  # the default total: the stored 10
    [command] = launched
    assert command[4:6] == ["--resume", rid] and "--epochs" not in command
    store.open(rid).start()  # what `ccel fit --resume` does first; then it logs epoch 4
    store.open(rid).log_epoch(4, {"loss": 0.4, "acc": 0.8})
    at.run()
    ok(at)
    assert set(statuses(at, rid).values()) == {"running 4/10"}, statuses(at, rid)
    assert at.button(key="cr.cancel")


# --------------------------------------------------------------------------------------------------
# launching: seeds, the new run selected, no "No runs yet" while pending
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ("0.5", "seeds: '0.5' "),  # the wording of the rest is explorer.common.parse_ints'
        ("a", "seeds: 'a' "),
        ("1 -2", "seeds: '-2' "),
        ("", "seeds: enter at least one"),
        ("3, 3", "seeds 3 3 repeat a seed"),
    ],
)
def test_the_launch_form_refuses_bad_seeds(seeds: str, message: str, store: RunStore, launched: list) -> None:
    at = open_page("clustering_runs")
    at.text_input(key="cr.seeds").input(seeds)
    at.button[0].click().run()  # the form's "Launch"
    ok(at)
    assert any(message in e for e in errors(at)), errors(at)
    assert launched == [] and not (store.root / "_launches").exists()


def test_a_new_launch_is_selected_and_no_runs_yet_never_shows_while_it_is_pending(
    store: RunStore, launched: list
) -> None:
    at = open_page("clustering_runs")
    assert any("No runs yet" in i.value for i in at.info)
    at.text_input(key="cr.seeds").input("0 1")
    at.number_input(key="cr.epochs").set_value(5)
    at.button[0].click().run()
    ok(at)
    [command] = launched
    assert command[command.index("--seeds") + 1 :][:2] == ["0", "1"]
    infos = [i.value for i in at.info]
    assert any("Launched" in i and "running" in i for i in infos) and not any("No runs yet" in i for i in infos)
    assert any("Waiting for the first run" in i for i in infos)
    at.run()  # a poll while the launch is still pending
    assert not any("No runs yet" in i.value for i in at.info)

    group = command[command.index("--group") + 1]
    first = run_with(store, 0, epochs=5, group=group, done=5)
    second = run_with(store, 1, epochs=5, group=group, done=1, status="running", pid=os.getpid())
    other = run_with(store, 7, group="from-a-terminal")  # newer, but not this session's launch
    at.run()
    ok(at)
    assert at.selectbox(key="cr.detail").value == second  # the launch's active run, not the newest
    assert at.button(key="cr.cancel")
    assert sorted(at.multiselect(key="cr.runs").value) == sorted([first, second])
    assert set(statuses(at, second).values()) == {"running 1/5"}
    at.selectbox(key="cr.detail").set_value(other).run()  # the user's choice wins from here on
    assert at.selectbox(key="cr.detail").value == other


# --------------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------------
def test_compare_draws_bands_over_seeds_and_the_settings_that_differ(store: RunStore) -> None:
    seeds = [run_with(store, s) for s in (0, 1, 2)]
    other = run_with(store, 0, lr=0.05, group="g2")
    at = open_page("clustering_runs")
    at.multiselect(key="cr.runs").set_value([*seeds, other]).run()
    ok(at)
    traces = figures(at)[0]["data"]
    bands = [t for t in traces if t.get("fill") == "toself"]
    means = [t for t in traces if t.get("mode") == "lines+markers"]
    assert len(bands) == 1 and len(means) == 2  # one band: the other configuration has one run
    assert "(3 runs)" in means[0]["name"] and "lr=0.1" in means[0]["name"] and "(1 run)" in means[1]["name"]
    finals = np.array([[store.metrics(r)["acc"].iloc[e] for r in seeds] for e in range(3)])
    np.testing.assert_allclose(arr(means[0]["y"]), finals.mean(1))
    upper = arr(bands[0]["y"])[:3]
    np.testing.assert_allclose(upper - finals.mean(1), finals.std(1, ddof=1))  # sample std, ddof 1
    assert (finals.std(1, ddof=1) > 0).all()
    summary = at.dataframe[0].value
    assert summary["runs"].tolist() == [3, 1] and summary["seeds"].tolist() == ["0 1 2", "0"]
    assert " ± " in summary["acc"][0] and summary["acc"][1].endswith("(1 seed)")
    diff = at.dataframe[1].value.set_index("run_id")
    assert {"seed", "lr"} <= set(diff.columns) and "method" not in diff.columns
    assert diff.loc[other, "lr"] == "0.05" and diff.loc[seeds[0], "lr"] == "0.1"
    at.toggle(key="cr.bands").set_value(False).run()
    assert len(figures(at)[0]["data"]) == 4  # every run, one line each


def test_losses_of_different_objectives_are_never_compared(store: RunStore) -> None:
    """ccel logs the collision CE to its pseudo-labels, miadm the Shannon CE to its own, and each its
    own y-step objective (eq. 11, eq. 5): one chart or column of both would read as a comparison of
    numbers on different scales. The caption names what each measures (the method table's words)."""
    ours = [run_with(store, s, method="ccel") for s in (0, 1)]
    theirs = [run_with(store, s, method="miadm") for s in (0, 1)]
    at = open_page("clustering_runs")
    at.multiselect(key="cr.runs").set_value(ours).run()
    ok(at)
    assert {"loss", "label_loss"} <= set(at.selectbox(key="cr.metric").options)  # one objective: comparable
    at.selectbox(key="cr.metric").set_value("label_loss").run()
    at.multiselect(key="cr.runs").set_value(ours + theirs).run()
    ok(at)
    assert not {"loss", "label_loss"} & set(at.selectbox(key="cr.metric").options)
    assert at.selectbox(key="cr.metric").value == "acc" and figures(at)[0]["layout"]["yaxis"]["title"]["text"] == "ACC"
    named = "ccel (collision CE to the pseudo-labels; λ 100), miadm (Shannon CE to the pseudo-labels; λ 100)"
    assert any("`loss` and `label_loss` are not compared" in c.value and named in c.value for c in at.caption)
    summary = [d.value for d in at.dataframe if "runs" in d.value.columns][0]
    assert "loss" not in summary.columns and "acc" in summary.columns
    # one method, another λ: its y-step objective λ KL(u‖ȳ) is on another scale
    other = [run_with(store, s, method="ccel", lam=10.0, group="g2") for s in (0, 1)]
    at.multiselect(key="cr.runs").set_value(ours + other).run()
    ok(at)
    assert not {"loss", "label_loss"} & set(at.selectbox(key="cr.metric").options)
    assert any("λ 10), ccel (collision CE to the pseudo-labels; λ 100)" in c.value for c in at.caption)


def test_a_one_epoch_chart_gets_a_sensible_axis(store: RunStore) -> None:
    run_with(store, 0, epochs=1, done=1)
    at = open_page("clustering_runs")
    ok(at)
    layout = figures(at)[0]["layout"]
    assert layout["xaxis"]["range"] == [0, 2] and layout["xaxis"]["dtick"] == 1
    low, high = layout["yaxis"]["range"]
    assert low < 0.7 < high and high - low <= 0.2


# --------------------------------------------------------------------------------------------------
# one run: its log, confusion matrix and examples
# --------------------------------------------------------------------------------------------------
def test_the_details_show_the_runs_own_log(store: RunStore) -> None:
    a, b = run_with(store, 0), run_with(store, 1)
    for rid in (a, b):
        (store.root / rid / "log.txt").write_text(f"run {rid}  seed=…\n[{rid}] epoch 1/3\n")
    at = open_page("clustering_runs")
    assert at.selectbox(key="cr.detail").value == b
    assert f"[{b}] epoch 1/3" in shown_log(at) and a not in shown_log(at)
    at.selectbox(key="cr.detail").set_value(a).run()
    assert f"[{a}] epoch 1/3" in shown_log(at) and b not in shown_log(at)


def shown_log(at: AppTest) -> str:
    """The text of the run log the details show (a ``<pre>``, explorer.elements.preformatted), unescaped."""
    import html

    (pre,) = [el.proto.body for el in at.get("html") if 'class="ccel-pre"' in el.proto.body]
    assert pre.startswith("<pre") and pre.endswith("</pre>") and pre.count("<") == 2, pre  # no markup from the log
    return html.unescape(pre[pre.index(">") + 1 : -len("</pre>")])


def test_a_log_with_markup_is_shown_as_written(store: RunStore) -> None:
    rid = run_with(store, 0)
    text = "epoch 1 <script>alert(1)</script> & <b>bold</b>\n\ttab  two spaces\n"
    (store.root / rid / "log.txt").write_text(text)
    at = open_page("clustering_runs")
    assert not at.code  # no code viewer on this page (its 1.5 MB of JavaScript: see explorer.elements.preformatted)
    assert shown_log(at) == text.rstrip("\n")  # the log's tail, its last newline aside


def finished_digits_run(store: RunStore, assign: Any) -> tuple[AppTest, np.ndarray, dict, dict]:
    """A finished digits run whose saved clusters are ``assign(y)``, the page open on it; returns the
    page, the labels y, its confusion figure and its examples figure."""
    from ccel_core.data import load_dataset

    y = load_dataset("digits").y.numpy()
    rid = run_with(store, 0)
    clusters = assign(y)
    probs = np.full((len(y), 10), 0.01)
    probs[np.arange(len(y)), clusters] = 0.91
    store.open(rid).save_assignments(clusters, probs)
    at = open_page("clustering_runs")
    ok(at)
    by_title = {f["layout"]["title"]["text"]: f for f in figures(at)}
    return at, y, by_title[f"Classes × clusters of {rid}"], by_title["Examples per cluster (most confident first)"]


def test_a_finished_run_shows_its_confusion_matrix_and_examples(store: RunStore) -> None:
    at, y, confusion, examples = finished_digits_run(store, lambda y: (y + 3) % 10)  # own clusters, other names
    z = arr(confusion["data"][0]["z"])
    assert z.shape == (10, 10) and np.array_equal(np.diag(z), np.bincount(y)) and z.sum() == len(y)
    assert confusion["data"][0]["x"][:2] == ["cluster 3", "cluster 4"]  # matched clusters on the diagonal
    ticks = examples["layout"]["yaxis"]["ticktext"]
    assert ticks[0] == f"cluster 3 ({int((y == 0).sum())})" and len(ticks) == 10
    assert arr(examples["data"][0]["z"]).shape == (10 * 9, 8 * 9)  # 10 rows of 8 digits, 8 × 8 + gaps


def test_an_empty_cluster_is_shown_not_left_out(store: RunStore) -> None:
    at, _, confusion, examples = finished_digits_run(store, lambda y: np.where(y == 2, 0, y))  # cluster 2 empty
    z = arr(confusion["data"][0]["z"])
    # class 2 has no cluster of its own: the empty cluster 2 is its column on the diagonal, all zeros
    assert z.shape == (10, 10) and confusion["data"][0]["x"][2] == "cluster 2" and not z[:, 2].any()
    ticks = examples["layout"]["yaxis"]["ticktext"]
    assert len(ticks) == 10 and "cluster 2 (empty)" in ticks
    assert any("Cluster 2 of K = 10: empty" in c.value for c in at.caption)


# --------------------------------------------------------------------------------------------------
# the runs folder stays inside its root
# --------------------------------------------------------------------------------------------------
def test_the_runs_folder_is_confined_to_its_root(store: RunStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "link").symlink_to(outside)
    run = run_with(store, 0)
    at = open_page("clustering_runs", state=FORMS_OPEN)
    refused = {
        "../outside": "'..' is not allowed",
        str(outside): "is an absolute path",
        "~/x": "is an absolute path",
        "sub/../../outside": "'..' is not allowed",
        "link": "leads outside",
        "link/deeper": "leads outside",
        "_features": "not a plain folder name",
        "a b": "not a plain folder name",
        run: "the folder of the run",
    }
    for value, why in refused.items():
        at.text_input(key="cr.folder").input(value).run()
        ok(at)
        assert any(value in e and why in e for e in errors(at)), (value, errors(at))
        assert not at.get("plotly_chart") and not at.dataframe and not text_tables(at)  # nothing else is drawn
    assert list(outside.iterdir()) == [] and not (tmp_path / "x").exists()
    assert not (store.root / run / "index.sqlite").exists()

    at.text_input(key="cr.folder").input("team/week1").run()
    ok(at)
    assert not errors(at) and (store.root / "team" / "week1" / "index.sqlite").exists()
    assert any("No runs yet" in i.value for i in at.info)
    good = np.random.default_rng(0).normal(size=(30, 3))
    at.file_uploader(key="cr.upload").set_value(("mine.npz", npz(x=good, y=np.arange(30) % 3), "x"))
    at.run()
    assert [p.parent for p in (store.root / "team" / "week1").rglob("*.npz")] == [
        store.root / "team" / "week1" / "_features"
    ]
