"""A run survives SIGKILL at every write of its life: a real ``ccel fit`` subprocess is killed right
after one write (the ``CCEL_KILL_AT`` testing hook of :mod:`ccel_core.runs`, so no timing is
involved), then ``ccel fit --resume`` must end it ``finished`` with one metrics line per epoch and
the same per-epoch metrics, final metrics and assignments as an uninterrupted run.

The killed runs are started together (a few at a time: most of each one's time is the interpreter
and torch starting), once per module; each test then resumes its own in this process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccel_core.cli import main
from ccel_core.runs import DIED, KILL_POINTS, RunStore

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 3
TINY = ["--data", "blobs", "--n-samples", "60", "--epochs", str(EPOCHS), "--seed", "3", "--no-progress"]
TIMING = ("seconds", "y_step_seconds")  # wall-clock metrics: the only values two equal runs may differ in
# every write of a 3-epoch run, in the order the trainer makes them
WRITES = [
    ("start", 1),
    *((point, epoch) for epoch in range(1, EPOCHS + 1) for point in ("checkpoint", "metrics", "epoch")),
    ("assignments", 1),
    ("finish", 1),
]


def _without_timing(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMING}


def _lines(store: RunStore, run_id: str) -> list[dict]:
    return [json.loads(line) for line in (store.root / run_id / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[Path, subprocess.CompletedProcess]]:
    """For every write: a run store whose run ``r`` was SIGKILLed right after it, and the process."""
    root = tmp_path_factory.mktemp("killed")

    def kill_at(write: tuple[str, int]) -> tuple[Path, subprocess.CompletedProcess]:
        runs = root / f"{write[0]}-{write[1]}"
        env = {**os.environ, "CCEL_KILL_AT": f"{write[0]}:{write[1]}", "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "ccel_core.cli", "fit", *TINY, "--run-id", "r", "--runs-dir", str(runs)]
        # no deadline but a generous timeout: the process kills itself at the write, however slow the machine
        return runs, subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(WRITES, pool.map(kill_at, WRITES)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    """One uninterrupted run, ``ref``."""
    runs = tmp_path_factory.mktemp("reference") / "runs"
    assert main(["fit", *TINY, "--run-id", "ref", "--runs-dir", str(runs)]) == 0
    return RunStore(runs)


def test_the_writes_cover_every_kill_point() -> None:
    assert {point for point, _ in WRITES} == set(KILL_POINTS)


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
@pytest.mark.parametrize(("point", "nth"), WRITES, ids=[f"{p}-{n}" for p, n in WRITES])
def test_sigkill_after_any_write_then_resume_ends_like_an_uninterrupted_run(
    point: str, nth: int, killed: dict, reference: RunStore, capsys: pytest.CaptureFixture
) -> None:
    runs, proc = killed[point, nth]
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
    store = RunStore(runs)
    killed = store.get("r")
    assert killed.status == "failed" and killed.error.startswith(DIED), killed  # the dead process is seen

    assert main(["fit", "--resume", "r", "--runs-dir", str(runs), "--no-progress"]) == 0, capsys.readouterr()
    info, ref = store.get("r"), reference.get("ref")
    assert (info.status, info.epoch, info.epochs, info.error) == ("finished", EPOCHS, EPOCHS, None)
    lines = _lines(store, "r")
    assert [m["epoch"] for m in lines] == list(range(1, EPOCHS + 1))  # every epoch once: none lost, none doubled
    assert [_without_timing(m) for m in lines] == [_without_timing(m) for m in _lines(reference, "ref")]
    pd.testing.assert_frame_equal(
        store.metrics("r").drop(columns=list(TIMING)), reference.metrics("ref").drop(columns=list(TIMING))
    )
    assert _without_timing(info.final) == _without_timing(ref.final) and info.final["acc"] is not None
    (labels, probs), (ref_labels, ref_probs) = (
        store.open("r").load_assignments(),
        reference.open("ref").load_assignments(),
    )
    assert np.array_equal(labels, ref_labels) and probs is not None and np.array_equal(probs, ref_probs)
    assert store.open("r").load_checkpoint()["epoch"] == EPOCHS


def test_kill_point_spec_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ccel_core.runs import files

    monkeypatch.setattr(files, "_kill_counts", {})  # this process's counts: none left behind for later tests
    run = RunStore(tmp_path / "runs").create({})
    monkeypatch.setenv("CCEL_KILL_AT", "checkpiont:1")
    with pytest.raises(ValueError, match=r"CCEL_KILL_AT='checkpiont:1'; expected <point>\[:<n>\] with a point of"):
        run.start()
    monkeypatch.setenv("CCEL_KILL_AT", "finish:2")  # the 2nd finish of this process: not this one
    run.start()
    run.finish()
    assert run.info.status == "finished"


def test_resume_completes_a_run_whose_end_was_lost_without_training(
    reference: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The state a crash right after the last checkpoint leaves (fast, in-process): last.pt of the
    last epoch, its metrics line and the assignments missing, the run failed."""
    runs = tmp_path / "runs"
    shutil.copytree(reference.root / "ref", runs / "r")
    store = RunStore(runs)  # the index is rebuilt from the copied folder
    run = store.open("r")
    (run.path / "assignments.npy").unlink()
    (run.path / "probs.npy").unlink()
    lines = (run.path / "metrics.jsonl").read_text().splitlines(keepends=True)
    (run.path / "metrics.jsonl").write_text("".join(lines[:-1]))
    run.start(pid=_dead_pid())
    assert store.get("r").status == "failed"
    checkpoint = (run.path / "checkpoints" / "last.pt").read_bytes()

    assert main(["fit", "--resume", "r", "--runs-dir", str(runs), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert f"resumed at epoch {EPOCHS}/{EPOCHS}" in out.out and "] epoch" not in out.err  # no epoch trained
    info = store.get("r")
    assert (info.status, info.epoch, info.error) == ("finished", EPOCHS, None)
    assert _without_timing(info.final) == _without_timing(reference.get("ref").final)
    assert _lines(store, "r") == _lines(reference, "ref")  # the lost line, as it was (timings too)
    assert np.array_equal(run.load_assignments()[0], reference.open("ref").load_assignments()[0])
    assert (run.path / "checkpoints" / "last.pt").read_bytes() == checkpoint
    # finished now: a further resume needs a larger total, as before
    assert main(["fit", "--resume", "r", "--runs-dir", str(runs), "--no-progress"]) == 2
    assert f"has all its {EPOCHS} epoch(s) done" in capsys.readouterr().err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=120)
    return proc.pid
