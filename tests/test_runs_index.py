"""The run index is a cache of the run folders: a deleted, emptied (0 bytes) or corrupt
``index.sqlite`` is rebuilt from them (automatically for the first two, by ``ccel runs reindex``
for all three), with honest statuses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ccel_core.cli import main
from ccel_core.runs import DIED, CorruptIndexError, RunStore

TINY = ["--data", "blobs", "--n-samples", "60", "--epochs", "2", "--no-progress"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def _remove_index(root: Path) -> None:
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (root / name).unlink(missing_ok=True)


def _populate(root: Path) -> dict[str, tuple]:
    """Runs in every status, written through the API; returns what the index says of each."""
    store = RunStore(root)
    done = store.create({"data": "blobs", "method": "ccel", "model": "mlp", "seed": 1, "epochs": 2}, run_id="done")
    done.start()
    done.log_epoch(1, {"acc": 0.5})
    done.log_epoch(2, {"acc": 0.75, "loss": -1.5})
    done.finish(final={"acc": 0.8, "note": "final"})
    died = store.create({"epochs": 5}, run_id="died", group="g1", name="crashed one")
    died.start(pid=_dead_pid())
    died.log_epoch(1, {"acc": 0.25})
    stopped = store.create({"epochs": 5}, run_id="stopped", group="g1")
    stopped.start()
    stopped.finish("cancelled", error="stopped by SIGTERM")
    store.create({"epochs": 3}, run_id="fresh", name="not started")
    return {i.run_id: _comparable(i) for i in store.list()}


def _comparable(info) -> tuple:
    return (info.run_id, info.status, info.name, info.group, info.data, info.method, info.model, info.seed,
            info.epochs, info.epoch, info.final, info.pid, info.host, round(info.created, 3))  # fmt: skip


def _check_rebuilt(root: Path, before: dict[str, tuple]) -> None:
    store = RunStore(root)
    after = {i.run_id: i for i in store.list()}
    assert sorted(after) == sorted(before)
    for run_id in ("done", "stopped", "fresh"):
        assert _comparable(after[run_id]) == before[run_id]
    assert after["stopped"].error == "stopped by SIGTERM"
    # the dead run was "running" in its folder: rebuilt, its process is seen gone; resumable
    died = after["died"]
    assert died.status == "failed" and died.error.startswith(DIED) and "ccel fit --resume died" in died.error
    assert _comparable(died)[2:] == before["died"][2:]  # failed in both (its process had died before)
    assert after["done"].final == {"acc": 0.8, "note": "final"} and after["died"].final == {"acc": 0.25}


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_index_is_rebuilt_from_the_run_folders(tmp_path: Path, how: str) -> None:
    root = tmp_path / "runs"
    before = _populate(root)
    if how == "deleted":
        _remove_index(root)
    else:
        os.truncate(root / "index.sqlite", 0)
    _check_rebuilt(root, before)
    assert RunStore(root).open("died").log_path.parent == root / "died"


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_runs_list_after_losing_the_index_shows_the_runs(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture
) -> None:
    root = tmp_path / "runs"
    assert main(["fit", *TINY, "--run-id", "a", "--runs-dir", str(root)]) == 0
    final = RunStore(root).get("a").final
    if how == "deleted":
        _remove_index(root)
    else:
        os.truncate(root / "index.sqlite", 0)
    capsys.readouterr()
    assert main(["runs", "list", "--format", "json", "--runs-dir", str(root)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["run_id"], row["status"], row["epoch"], row["epochs"], row["final"]) == ("a", "finished", 2, 2, final)
    assert main(["runs", "show", "a", "--runs-dir", str(root)]) == 0
    assert "status   finished" in capsys.readouterr().out


def test_resume_works_after_the_index_was_deleted(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    assert main(["fit", *TINY, "--run-id", "a", "--runs-dir", str(root)]) == 0
    _remove_index(root)
    assert main(["fit", "--resume", "a", "--epochs", "3", "--runs-dir", str(root), "--no-progress"]) == 0
    info = RunStore(root).get("a")
    assert (info.status, info.epoch, info.epochs) == ("finished", 3, 3)
    assert RunStore(root).metrics("a")["epoch"].tolist() == [1, 2, 3]


def test_reindex_command_adds_folders_and_drops_rows_without_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root, other = tmp_path / "runs", tmp_path / "other"
    before = _populate(root)
    moved = RunStore(other).create({"epochs": 4, "data": "moons"}, run_id="moved", group="g2")
    moved.start()
    moved.log_epoch(1, {"acc": 0.5})
    moved.finish(final={"acc": 0.5})
    os.rename(other / "moved", root / "moved")  # a run folder copied in from another store
    import shutil

    shutil.rmtree(root / "fresh")  # a row whose folder is gone
    assert main(["runs", "reindex", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "added 1 run(s): moved" in out and "removed 1 row(s) without a folder: fresh" in out
    store = RunStore(root)
    infos = {i.run_id: i for i in store.list()}
    assert sorted(infos) == ["died", "done", "moved", "stopped"]
    m = infos["moved"]
    assert (m.status, m.group, m.data, m.epoch, m.epochs, m.final) == ("finished", "g2", "moons", 1, 4, {"acc": 0.5})
    assert _comparable(infos["done"]) == before["done"]
    assert main(["runs", "reindex", "--runs-dir", str(root)]) == 0  # nothing left to do
    assert "index of 4 run folder(s) is up to date" in capsys.readouterr().out


def test_reindex_command_sets_a_corrupt_index_aside_and_rebuilds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    before = _populate(root)
    garbage = b"this is not an SQLite database\n" * 64
    (root / "index.sqlite").write_bytes(garbage)
    with pytest.raises(CorruptIndexError, match="ccel runs reindex"):
        RunStore(root)
    assert main(["runs", "list", "--runs-dir", str(root)]) == 2  # other commands keep refusing
    assert "is not a valid SQLite database" in capsys.readouterr().err
    assert main(["runs", "reindex", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    [aside] = root.glob("index.sqlite.corrupt-*")
    assert aside.read_bytes() == garbage and f"moved the corrupt index to {aside}" in out
    assert "added 4 run(s)" in out
    _check_rebuilt(root, before)


def test_a_folder_without_run_record_is_rebuilt_honestly(tmp_path: Path) -> None:
    """Folders written before ``run.json`` existed: complete ones (every epoch logged and the
    assignments saved) read finished, the others failed and resumable."""
    root = tmp_path / "runs"
    store = RunStore(root)
    complete, partial = store.create({"epochs": 2}, run_id="complete"), store.create({"epochs": 2}, run_id="partial")
    for run, epochs in ((complete, 2), (partial, 1)):
        run.start()
        for e in range(1, epochs + 1):
            run.log_epoch(e, {"acc": e / 4})
        run.save_assignments(np.array([0, 1, 1]))
        run.finish()
        (run.path / "run.json").unlink()
    _remove_index(root)
    infos = {i.run_id: i for i in RunStore(root).list()}
    assert (infos["complete"].status, infos["complete"].epoch, infos["complete"].final) == ("finished", 2, {"acc": 0.5})
    p = infos["partial"]
    assert (p.status, p.epoch) == ("failed", 1) and "ccel fit --resume partial" in p.error


def test_an_empty_store_is_not_rebuilt_and_tmp_or_trash_folders_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (root / ".tmp-x-1234").mkdir(parents=True)
    (root / ".tmp-x-1234" / "config.json").write_text("{}")
    (root / "not-a-run").mkdir()  # no config.json
    assert RunStore(root).list() == []
    con = sqlite3.connect(root / "index.sqlite")
    try:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
    finally:
        con.close()
