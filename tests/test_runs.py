"""Tests of the run store (ccel_core.runs): round trips, atomicity, concurrency, liveness, cancel.

torch and pandas are imported inside the tests so that the spawned writer processes, which import this
module, start quickly."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import random
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from ccel_core.runs import DIED, RUN_STATUSES, Run, RunInfo, RunNotFoundError, RunStore, to_jsonable

REPO = Path(__file__).resolve().parents[1]


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def _index_rows(root: Path) -> list[tuple]:
    con = sqlite3.connect(root / "index.sqlite")
    try:
        return con.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
    finally:
        con.close()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_round_trip_create_open_list_get_metrics_export(store: RunStore, tmp_path: Path) -> None:
    import pandas as pd
    import torch

    cfg = {
        "data": "digits",
        "method": "ours",
        "model": "mlp",
        "seed": np.int64(3),
        "epochs": 2,
        "lr": 0.1,
        "nested": {"lam": 100.0, "path": Path("/x/y")},
    }
    run = store.create(cfg, group="g1", name="first")
    other = store.create({"data": "moons", "method": "sela", "epochs": 5}, run_id="b-run", group="g2")
    assert run.config == {**cfg, "seed": 3, "nested": {"lam": 100.0, "path": "/x/y"}}
    assert json.loads((run.path / "config.json").read_text()) == run.config
    assert (run.path / "checkpoints").is_dir() and (run.path / "metrics.jsonl").exists()
    info = store.get(run.run_id)
    assert isinstance(info, RunInfo)
    assert (
        info.status,
        info.group,
        info.name,
        info.data,
        info.method,
        info.model,
        info.seed,
        info.epochs,
        info.epoch,
        info.final,
        info.path,
    ) == ("created", "g1", "first", "digits", "ours", "mlp", 3, 2, 0, {}, run.path)
    run.start()
    assert (store.get(run.run_id).status, store.get(run.run_id).pid) == ("running", os.getpid())
    run.log_epoch(1, {"loss": np.float32(0.5), "acc": torch.tensor(0.25), "sizes": np.array([3, 7])})
    run.log_epoch(2, {"loss": 0.25, "acc": 0.75, "sizes": [4, 6], "extra": {"h": 1.5}})
    info = store.get(run.run_id)
    assert (info.epoch, info.final) == (2, {"loss": 0.25, "acc": 0.75, "sizes": [4, 6], "extra": {"h": 1.5}})
    m = store.metrics(run.run_id)
    assert list(m["epoch"]) == [1, 2] and m["loss"].tolist() == [0.5, 0.25]
    assert m["sizes"].tolist() == [[3, 7], [4, 6]] and math.isnan(m["extra.h"][0]) and m["extra.h"][1] == 1.5
    run.finish(final={"acc": 0.8, "nmi": 0.7})
    assert (store.get(run.run_id).status, store.get(run.run_id).final) == ("finished", {"acc": 0.8, "nmi": 0.7})
    reopened = store.open(run.run_id)
    assert isinstance(reopened, Run) and reopened.config == run.config
    assert RunStore(store.root).get(run.run_id).final == {"acc": 0.8, "nmi": 0.7}

    assert [i.run_id for i in store.list()] == [other.run_id, run.run_id]  # newest first
    assert [i.run_id for i in store.list(group="g1")] == [run.run_id]
    assert [i.run_id for i in store.list(status="created")] == [other.run_id]
    assert [i.run_id for i in store.list(data="moons", method="sela")] == [other.run_id]
    assert store.list(data="moons", method="ours") == []
    with pytest.raises(ValueError, match="status='done'"):
        store.list(status="done")

    frame = store.to_frame()
    assert list(frame["run_id"]) == [other.run_id, run.run_id]
    assert frame.loc[1, "acc"] == 0.8 and frame.loc[1, "nmi"] == 0.7 and math.isnan(frame.loc[0, "acc"])
    csv = pd.read_csv(store.export_csv(tmp_path / "runs.csv"))
    assert list(csv["run_id"]) == [other.run_id, run.run_id] and csv.loc[1, "acc"] == 0.8
    assert list(csv["status"]) == ["created", "finished"] and csv.loc[1, "group"] == "g1"
    per = pd.read_csv(store.export_csv(tmp_path / "ep.csv", [run.run_id, other.run_id], per_epoch=True))
    assert list(per.columns[:2]) == ["run_id", "name"]
    assert per[["run_id", "epoch", "loss", "acc"]].values.tolist() == [
        [run.run_id, 1, 0.5, 0.25],
        [run.run_id, 2, 0.25, 0.75],
    ]


def test_default_run_ids_are_sortable_and_root_from_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "envruns"))
    store = RunStore()
    assert store.root == tmp_path / "envruns" and store.index_path.exists()
    con = sqlite3.connect(store.index_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    ids = [store.create({"i": i}).run_id for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0][:8].isdigit()
    monkeypatch.delenv("CCEL_RUNS_DIR")
    monkeypatch.chdir(tmp_path)
    assert RunStore().root == tmp_path / "runs"


def test_duplicate_run_id_rejected_nothing_half_written(store: RunStore) -> None:
    store.create({"a": 1}, run_id="dup")
    folders, rows = _folders(store.root), _index_rows(store.root)
    with pytest.raises(ValueError, match="run_id='dup' already exists"):
        store.create({"a": 2}, run_id="dup")
    assert _folders(store.root) == folders == ["dup"] and _index_rows(store.root) == rows
    assert store.open("dup").config == {"a": 1}
    (store.root / "orphan").mkdir()  # a folder without an index row also blocks the id
    with pytest.raises(ValueError, match="run_id='orphan' already exists"):
        store.create({}, run_id="orphan")
    assert _index_rows(store.root) == rows
    for bad in ("../escape", ".hidden", "a/b", "", 7):
        with pytest.raises(ValueError, match="run_id="):
            store.create({}, run_id=bad)
    assert _folders(store.root) == ["dup", "orphan"] and _index_rows(store.root) == rows


def test_non_json_config_rejected_nothing_written(store: RunStore) -> None:
    with pytest.raises(TypeError, match=r"config\['opt'\]\['fn'\].*not JSON-serializable"):
        store.create({"opt": {"fn": object()}}, run_id="x")
    with pytest.raises(TypeError, match=r"key \(1, 2\)"):
        store.create({(1, 2): 3})
    with pytest.raises(TypeError, match="expected a mapping"):
        store.create([1, 2])
    assert _folders(store.root) == [] and _index_rows(store.root) == []


def test_json_safety_of_metrics(store: RunStore) -> None:
    import torch

    run = store.create({})
    run.log_epoch(
        1,
        {
            "nan": float("nan"),
            "inf": np.float64("inf"),
            "arr": np.array([[1.5, np.nan]]),
            "t": torch.tensor([1, 2]),
            "flag": np.bool_(True),
            3: "int key",
        },
    )
    rec = json.loads((run.path / "metrics.jsonl").read_text())
    assert rec == {
        "epoch": 1,
        "nan": None,
        "inf": None,
        "arr": [[1.5, None]],
        "t": [1, 2],
        "flag": True,
        "3": "int key",
    }
    assert store.get(run.run_id).final["nan"] is None
    with pytest.raises(TypeError, match=r"metrics\['bad'\]"):
        run.log_epoch(2, {"bad": {1, 2}})
    with pytest.raises(ValueError, match="epoch=-1"):
        run.log_epoch(-1, {})
    with pytest.raises(ValueError, match=r"metrics\['epoch'\]=5 differs from epoch=2"):
        run.log_epoch(2, {"epoch": 5})
    assert to_jsonable({"x": (np.int8(2), None)}) == {"x": [2, None]}
    assert len(run.metrics()) == 1


def _checkpoint_state(seed: int) -> dict:
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(8, 3)).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "pseudo_labels": np.random.default_rng(seed).dirichlet(np.ones(4), size=5),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.default_rng(seed).bit_generator.state,
        "python_rng": random.Random(seed).getstate(),
        "lam": np.float64(100.0),
    }


def test_checkpoint_round_trip_weights_only(store: RunStore) -> None:
    import torch

    run = store.create({})
    assert run.load_checkpoint() is None
    state = _checkpoint_state(0)
    path = run.save_checkpoint(state, epoch=1)
    assert path == run.path / "checkpoints" / "last.pt"
    ck = run.load_checkpoint()
    assert ck["epoch"] == 1 and ck["lam"] == 100.0 and isinstance(ck["lam"], float)
    assert torch.equal(ck["pseudo_labels"], torch.from_numpy(state["pseudo_labels"]))  # numpy -> tensor
    assert all(torch.equal(ck["model"][k], v) for k, v in state["model"].items())
    assert isinstance(ck["model"], OrderedDict) and ck["optimizer"]["param_groups"][0]["lr"] == 1e-3
    assert torch.equal(ck["torch_rng"], state["torch_rng"]) and ck["numpy_rng"] == state["numpy_rng"]
    rng = random.Random()
    rng.setstate(ck["python_rng"])
    assert rng.random() == random.Random(0).random()
    assert isinstance(state["pseudo_labels"], np.ndarray)  # the caller's state is not modified
    with pytest.raises(TypeError, match=r"state\['bad'\]\[0\] has type set"):
        run.save_checkpoint({"bad": [{1}]}, epoch=2)
    for e in (2, 3, 4):
        run.save_checkpoint({"w": torch.full((2,), float(e))}, epoch=e, keep_last=2)
    ckdir = run.path / "checkpoints"
    assert sorted(p.name for p in ckdir.iterdir()) == ["epoch_0003.pt", "epoch_0004.pt", "last.pt"]
    assert run.load_checkpoint(epoch=3)["w"].tolist() == [3.0, 3.0] and run.load_checkpoint()["epoch"] == 4


def test_checkpoint_crash_mid_write_keeps_previous(store: RunStore, monkeypatch) -> None:
    import torch

    run = store.create({})
    run.save_checkpoint({"w": torch.ones(3)}, epoch=1)
    before = (run.path / "checkpoints" / "last.pt").read_bytes()

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="No space left"):
        run.save_checkpoint({"w": torch.zeros(3)}, epoch=2)
    monkeypatch.undo()
    assert (run.path / "checkpoints" / "last.pt").read_bytes() == before
    assert os.listdir(run.path / "checkpoints") == ["last.pt"]  # the temp file was removed
    ck = run.load_checkpoint()
    assert ck["epoch"] == 1 and ck["w"].tolist() == [1.0, 1.0, 1.0]
    stale = run.path / "checkpoints" / ".last.pt.99999.abcdef.tmp"  # as left by a killed process
    stale.write_bytes(b"garbage")
    assert run.load_checkpoint()["epoch"] == 1
    run.start()
    assert not stale.exists()


def _worker(root: str, worker: int, n_epochs: int, errors) -> None:
    try:
        store = RunStore(root)
        for r in range(2):
            run = store.create(
                {"data": "synthetic", "method": "ours", "seed": worker, "epochs": n_epochs},
                run_id=f"w{worker}-r{r}",
                group=f"worker{worker}",
            )
            run.start()
            for epoch in range(1, n_epochs + 1):
                run.log_epoch(epoch, {"loss": 1.0 / epoch, "acc": epoch / n_epochs, "sizes": [epoch, worker]})
            run.save_assignments(np.arange(10) % 3)
            run.finish(final={"acc": 1.0, "worker": worker})
    except BaseException:
        errors.put(traceback.format_exc())
        raise


def test_concurrent_writers_and_reader(tmp_path: Path) -> None:
    root, n_workers, n_epochs = tmp_path / "shared", 4, 20
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(root), w, n_epochs, errors)) for w in range(n_workers)]
    for p in procs:
        p.start()
    reader, polls, seen = RunStore(root), 0, set()  # created while the workers also create the index
    while any(p.is_alive() for p in procs):
        for info in reader.list():
            seen.add(info.run_id)
            m = reader.metrics(info.run_id)
            assert list(m["epoch"]) == list(range(1, len(m) + 1))
        reader.to_frame()
        polls += 1
        time.sleep(0.02)
    for p in procs:
        p.join(timeout=60)
    errs = []
    while not errors.empty():
        errs.append(errors.get())
    assert errs == [] and [p.exitcode for p in procs] == [0] * n_workers
    infos = reader.list()
    assert len(infos) == 2 * n_workers and polls > 0 and len(_index_rows(root)) == 2 * n_workers
    for info in infos:
        assert (info.status, info.epoch, info.final["acc"]) == ("finished", n_epochs, 1.0)
        m = reader.metrics(info.run_id)
        assert list(m["epoch"]) == list(range(1, n_epochs + 1)) and m["loss"].iloc[-1] == 1.0 / n_epochs
        assert reader.open(info.run_id).load_assignments()[0].dtype == np.int64
    assert sorted(i.group for i in reader.list(status="finished")) == sorted(
        f"worker{w}" for w in range(n_workers) for _ in range(2)
    )


def test_mark_stale_dead_and_zombie_pids(store: RunStore) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive_run, dead_run, done_run = store.create({}), store.create({}), store.create({})
    alive_run.start()
    dead_run.start(pid=dead.pid)
    done_run.start(pid=dead.pid)
    done_run.finish()
    ids, zombie = [dead_run.run_id], None
    if sys.platform.startswith("linux"):  # an exited but unreaped child (a zombie) is dead too
        zombie = subprocess.Popen([sys.executable, "-c", "pass"])
        stat = Path(f"/proc/{zombie.pid}/stat")
        for _ in range(500):
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        zombie_run = store.create({})
        zombie_run.start(pid=zombie.pid)
        ids.append(zombie_run.run_id)
    assert sorted(store.mark_stale()) == sorted(ids)
    if zombie is not None:
        zombie.wait()
    for rid in ids:
        info = store.get(rid)
        assert info.status == "failed" and info.error.startswith(f"{DIED}: pid ") and f"--resume {rid}" in info.error
    assert store.get(alive_run.run_id).status == "running" and store.get(done_run.run_id).status == "finished"
    assert store.mark_stale() == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid is gone
    return proc.pid


def test_list_and_get_report_a_stale_run_failed_for_every_reader(store: RunStore) -> None:
    """No mark_stale call: the store itself turns a running run whose process is gone failed, in
    the index, so a second store (another process, the CLI, the app) reads the same."""
    stale, alive = store.create({}, run_id="stale"), store.create({}, run_id="alive")
    alive.start()
    stale.start(pid=_dead_pid())
    assert _index_rows(store.root)[1][1] == "running"  # as written; nobody has looked yet
    [info] = [i for i in store.list() if i.run_id == "stale"]
    assert info.status == "failed" and info.error.startswith(f"{DIED}: pid {info.pid} ")
    assert _index_rows(store.root)[1][1] == "failed"  # written back, not only reported
    other = RunStore(store.root)
    assert (other.get("stale").status, other.get("stale").error) == ("failed", info.error)
    assert [i.run_id for i in other.list(status="failed")] == ["stale"]
    assert [i.run_id for i in other.list(status="running")] == ["alive"]
    assert other.to_frame().set_index("run_id")["status"].to_dict() == {"stale": "failed", "alive": "running"}
    stale.start()  # a resume takes it over: running again, error cleared
    assert (store.get("stale").status, store.get("stale").error) == ("running", None)


def test_a_stale_run_reads_failed_even_when_the_index_cannot_be_written(store: RunStore, monkeypatch) -> None:
    run = store.create({})
    run.start(pid=_dead_pid())

    def read_only(self, dead):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(RunStore, "_mark_dead", read_only)
    assert store.get(run.run_id).status == "failed" and store.list()[0].error.startswith(DIED)
    assert _index_rows(store.root)[0][1] == "running"


def test_a_sigkilled_run_reads_failed_without_mark_stale(store: RunStore) -> None:
    """A process that starts a run and is killed with SIGKILL (no chance to record its end)."""
    code = (
        "import sys, time; from ccel_core.runs import RunStore; "
        "run = RunStore(sys.argv[1]).open(sys.argv[2]); run.start(); print('started', flush=True); time.sleep(600)"
    )
    run = store.create({"epochs": 5})
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(store.root), run.run_id], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        assert store.get(run.run_id).status == "running" and store.get(run.run_id).pid == proc.pid
        proc.kill()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    [info] = store.list()
    assert (info.status, info.pid) == ("failed", proc.pid) and info.error.startswith(f"{DIED}: pid {proc.pid} ")


def test_delete(store: RunStore) -> None:
    keep, done, running = store.create({}, run_id="keep"), store.create({}, run_id="done"), store.create({})
    done.finish()
    store.delete("done")
    assert not done.path.exists() and _folders(store.root) == sorted(["keep", running.run_id])
    with pytest.raises(RunNotFoundError, match="run_id='done'"):
        store.get("done")
    running.start()  # our own, live pid
    with pytest.raises(RuntimeError, match=f"run '{running.run_id}' is running \\(pid={os.getpid()}"):
        store.delete(running.run_id)
    assert running.path.exists() and store.get(running.run_id).status == "running"
    store.delete(running.run_id, force=True)
    assert [i.run_id for i in store.list()] == ["keep"] and _folders(store.root) == ["keep"]
    assert len(_index_rows(store.root)) == 1 and keep.config == {}


def test_unknown_run_lists_close_matches(store: RunStore) -> None:
    store.create({}, run_id="20250101-alpha")
    store.create({}, run_id="zzz")
    with pytest.raises(RunNotFoundError, match="run_id='20250101-alhpa'.*close matches: 20250101-alpha"):
        store.open("20250101-alhpa")
    with pytest.raises(KeyError, match="close matches: 20250101-alpha"):
        store.get("2025")
    with pytest.raises(KeyError, match="the store has 2 run"):
        store.metrics("nothing-like-it")


def test_cancel_flag(store: RunStore) -> None:
    run = store.create({})
    run.start()
    assert not run.cancel_requested
    store.open(run.run_id).request_cancel()  # e.g. from the app's process
    assert run.cancel_requested and (run.path / "CANCEL").exists()
    assert store.get(run.run_id).status == "running"  # the trainer decides when to stop
    run.finish("cancelled")
    assert store.get(run.run_id).status == "cancelled"
    run.start()  # a resume clears the flag
    assert not run.cancel_requested
    pending = store.create({})
    pending.request_cancel()  # nobody runs it yet: cancelled at once
    assert store.get(pending.run_id).status == "cancelled"
    with pytest.raises(ValueError, match="status='running'"):
        run.finish("running")


def test_start_refuses_second_live_owner(store: RunStore) -> None:
    run = store.create({})
    parent = os.getppid()  # alive, and not us
    run.start(pid=parent)
    with pytest.raises(RuntimeError, match=f"already running \\(pid={parent}"):
        run.start()
    run.start(force=True)
    assert store.get(run.run_id).pid == os.getpid()


def test_partial_last_line_of_metrics_tolerated(store: RunStore) -> None:
    run = store.create({})
    run.log_epoch(1, {"loss": 1.0})
    run.log_epoch(2, {"loss": 0.5})
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b'{"epoch": 3, "loss": 0.2')  # a writer in the middle of a line, or killed there
    assert list(store.metrics(run.run_id)["epoch"]) == [1, 2]
    run.log_epoch(3, {"loss": 0.25})  # after a resume: the unreadable partial line is dropped, not merged
    assert (run.path / "metrics.jsonl").read_text().splitlines()[2] == '{"epoch": 3, "loss": 0.25}'
    m = store.metrics(run.run_id)
    assert m[["epoch", "loss"]].values.tolist() == [[1, 1.0], [2, 0.5], [3, 0.25]]
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b'{"epoch": 4, "loss": 0.125}')  # a whole record without its newline is kept
    run.log_epoch(5, {"loss": 0.0625})
    assert store.metrics(run.run_id)["epoch"].tolist() == [1, 2, 3, 4, 5]
    run.log_epoch(2, {"loss": 0.4})  # a re-logged epoch: the last record wins
    assert store.metrics(run.run_id)["loss"].tolist() == [1.0, 0.4, 0.25, 0.125, 0.0625]
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b'{"epoch": 6, "lo')
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b'\n{"epoch": 7}\n')  # an unreadable line in the middle is skipped with a warning
    with pytest.warns(RuntimeWarning, match="malformed line 7"):
        assert store.metrics(run.run_id)["epoch"].tolist() == [1, 2, 3, 4, 5, 7]


def test_assignments(store: RunStore) -> None:
    import torch

    run = store.create({})
    with pytest.raises(FileNotFoundError, match="assignments.npy"):
        run.load_assignments()
    probs = np.full((4, 2), 0.5)
    run.save_assignments(torch.tensor([0, 1, 1, 0]), probs)
    labels, p = run.load_assignments()
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 1, 0] and np.array_equal(p, probs)
    with pytest.raises(ValueError, match=r"probs: shape \(3, 2\)"):
        run.save_assignments([0, 1, 1, 0], np.ones((3, 2)))
    with pytest.raises(ValueError, match="expected a 1-D integer array"):
        run.save_assignments([0.5, 1.0])
    assert run.load_assignments()[0].tolist() == [0, 1, 1, 0]


def test_statuses_constant() -> None:
    assert RUN_STATUSES == ("created", "running", "finished", "failed", "cancelled")


def test_corrupt_index_is_named_and_left_in_place(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    garbage = b"this is not an SQLite database\n" * 64 + bytes(range(256))
    (root / "index.sqlite").write_bytes(garbage)
    (root / "20250101-000000-000000-abcd").mkdir()  # a run folder, which must survive
    expected = (
        rf"run index {root / 'index.sqlite'} is not a valid SQLite database \(file is not a "
        r"database\); `ccel runs reindex` \(RunStore.rebuild_index\) moves it \(and any index.sqlite-wal / "
        r"index.sqlite-shm next to it\) aside to index.sqlite.corrupt-<time> and rebuilds the index from the run "
        r"folders; nothing was deleted"
    )
    with pytest.raises(ValueError, match=expected) as info:
        RunStore(root)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert (root / "index.sqlite").read_bytes() == garbage and _folders(root) == ["20250101-000000-000000-abcd"]
    # doing what the message says works (the folder holds no config.json: not a run)
    store, done = RunStore.rebuild_index(root)
    assert store.list() == [] and done.moved is not None and done.moved.read_bytes() == garbage


def test_index_corrupted_under_an_open_store(store: RunStore) -> None:
    run = store.create({"data": "blobs"}, run_id="r1")
    store.index_path.write_bytes(os.urandom(4096))
    for call in (store.list, lambda: store.get("r1"), lambda: store.create({}, run_id="r2"), run.finish):
        with pytest.raises(ValueError, match=rf"run index {store.index_path} is not a valid SQLite database"):
            call()
    assert _folders(store.root) == ["r1"]  # the failed create left no folder behind


def test_busy_index_is_not_reported_as_corrupt(store: RunStore, monkeypatch) -> None:
    from ccel_core.runs import store as store_module

    store.create({}, run_id="r1")
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_S", 0.05)
    con = sqlite3.connect(store.index_path, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.create({}, run_id="r2")
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert [i.run_id for i in store.list()] == ["r1"]


def test_root_that_is_a_file_or_under_a_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.txt"
    path.write_text("keep me\n")
    with pytest.raises(ValueError, match=rf"run store {path} is an existing file; expected a folder"):
        RunStore(path)
    with pytest.raises(ValueError, match=rf"cannot create the run store folder {path / 'sub'}: .*expected a folder"):
        RunStore(path / "sub")
    assert path.read_text() == "keep me\n"
    (tmp_path / "odd" / "index.sqlite").mkdir(parents=True)
    with pytest.raises(ValueError, match=rf"run index {tmp_path / 'odd' / 'index.sqlite'} is not a file"):
        RunStore(tmp_path / "odd")


def test_csv_exports_neutralize_formulas(store: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """OWASP CSV injection: a text cell starting with = + - @ tab or CR is written with a leading '
    (a spreadsheet shows it as text); numbers, negative ones included, are left as they are."""
    import csv

    from ccel_core.cli import main

    evil = '=HYPERLINK("http://x","y")'
    run = store.create({"data": "@SUM(A1)", "method": "ccel", "seed": -3}, run_id="r", name=evil, group="+1+2")
    run.log_epoch(1, {"loss": -1.5, "acc": 0.5, "note": "-2+3", "tab": "\tx", "cr": "\r=1", "ok": "a=b"})
    run.finish()

    def cells(path: Path) -> dict[str, str]:
        with open(path, newline="") as f:
            [row] = list(csv.DictReader(f))
        return row

    quoted = {"note": "'-2+3", "tab": "'\tx", "cr": "'\r=1", "ok": "a=b", "data": "'@SUM(A1)", "seed": "-3"}
    runs_csv = store.export_csv(tmp_path / "runs.csv")
    row = cells(runs_csv)
    assert (row["name"], row["group"], row["loss"], row["acc"]) == ("'" + evil, "'+1+2", "-1.5", "0.5")
    assert {k: row[k] for k in quoted} == quoted
    row = cells(store.export_csv(tmp_path / "epochs.csv", per_epoch=True))
    assert (row["name"], row["group"], row["loss"], row["epoch"]) == ("'" + evil, "'+1+2", "-1.5", "1")
    assert {k: row[k] for k in quoted} == quoted
    assert main(["runs", "list", "--format", "csv", "--runs-dir", str(store.root)]) == 0
    out = tmp_path / "list.csv"
    out.write_text(capsys.readouterr().out)
    row = cells(out)
    assert (row["name"], row["loss"]) == ("'" + evil, "-1.5")
    assert main(["runs", "export", str(tmp_path / "cli.csv"), "--runs-dir", str(store.root)]) == 0
    assert cells(tmp_path / "cli.csv")["name"] == "'" + evil
    assert store.to_frame()["name"].tolist() == [evil]  # only the CSV text is changed, not the data


def test_restore_metrics_makes_the_lines_match_a_checkpoint_history(store: RunStore) -> None:
    run = store.create({"epochs": 4})
    history = [{"epoch": e, "loss": 1.0 / e, "sizes": [e, 4 - e]} for e in (1, 2, 3)]
    path = run.path / "metrics.jsonl"

    def epochs() -> list[int]:
        return [json.loads(line)["epoch"] for line in path.read_text().splitlines()]

    assert run.restore_metrics([]) == [] and path.read_bytes() == b""  # a fresh run: nothing to do
    run.log_epoch(1, history[0])
    run.log_epoch(2, history[1])  # killed after checkpoint 3, before its line
    assert run.restore_metrics(history) == [3] and epochs() == [1, 2, 3]
    assert (run.info.epoch, run.info.final) == (3, {"loss": 1 / 3, "sizes": [3, 1]})
    inode = path.stat().st_ino
    assert run.restore_metrics(history) == [] and path.stat().st_ino == inode  # in agreement: not rewritten
    run.log_epoch(4, {"loss": 0.25})  # a line beyond the checkpoint (e.g. an older version's order): dropped,
    assert run.restore_metrics(history) == [] and epochs() == [1, 2, 3]  # the resume logs epoch 4 again
    assert run.info.epoch == 3
    assert store.metrics(run.run_id)["loss"].tolist() == [1.0, 0.5, 1 / 3]
    with pytest.raises(ValueError, match="epoch=None; expected an int >= 0"):
        run.restore_metrics([{"loss": 1.0}])
