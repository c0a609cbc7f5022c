"""A run's life has one writer, the trainer's recorder: however ``ccel fit``'s seed ends (an
exception or a Ctrl-C inside the trainer, one between epochs in the caller, a signal asking it to
stop), the run store records its end exactly once, with the status and error the caller reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccel_core.cli.train import train_one
from ccel_core.runs import CANCELLED, FAILED, FINISHED, RUNNING, RunStore
from ccel_core.runs.run import Run
from ccel_core.training import TrainConfig, Trainer

TINY = {"data": "blobs", "n_samples": 60, "epochs": 3, "seed": 3, "device": "cpu"}


@pytest.fixture()
def finishes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every ``Run.finish`` call of the test, as ``(status, error)``."""
    calls: list[tuple[str, Any]] = []
    real = Run.finish

    def spy(self: Run, status: str = FINISHED, **kw: Any) -> None:
        calls.append((status, kw.get("error")))
        real(self, status, **kw)

    monkeypatch.setattr(Run, "finish", spy)
    return calls


def _run(tmp_path: Path) -> tuple[TrainConfig, Run]:
    cfg = TrainConfig(**TINY)
    return cfg, RunStore(tmp_path / "runs").create(cfg.to_dict())


class _Interrupting:
    """A stream whose write raises ``exc`` once the caller prints its ``after``-th epoch line."""

    def __init__(self, exc: BaseException, after: int) -> None:
        self.exc, self.after, self.lines = exc, after, 0

    def write(self, text: str) -> int:
        if text.startswith("["):
            self.lines += 1
            if self.lines == self.after:
                raise self.exc
        return len(text)

    def flush(self) -> None:
        pass


def test_a_finished_run_is_finished_once(tmp_path: Path, finishes: list) -> None:
    cfg, run = _run(tmp_path)
    result = train_one(cfg, run=run, stream=_Interrupting(RuntimeError("never"), after=99))
    assert result.status == FINISHED and finishes == [(FINISHED, None)]


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (KeyboardInterrupt("SIGINT"), CANCELLED, "interrupted (SIGINT)"),
        (KeyboardInterrupt(), CANCELLED, "interrupted (KeyboardInterrupt)"),
        (OSError(5, "stream gone"), FAILED, "OSError: [Errno 5] stream gone"),
    ],
)
def test_an_exception_in_the_caller_is_recorded_by_the_trainer_once(
    tmp_path: Path, finishes: list, exc: BaseException, status: str, error: str
) -> None:
    cfg, run = _run(tmp_path)
    result = train_one(cfg, run=run, stream=_Interrupting(exc, after=2))
    info = run.info
    assert (result.status, result.error) == (status, error) == (info.status, info.error)
    assert finishes == [(status, error)]  # before: the trainer wrote "cancelled" or "failed", the caller again
    assert info.epoch == 2 and result.exception is exc


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (KeyboardInterrupt("SIGINT"), CANCELLED, "interrupted (SIGINT)"),
        (ValueError("bad batch"), FAILED, "ValueError: bad batch"),
    ],
)
def test_an_exception_inside_the_trainer_is_recorded_once(
    tmp_path: Path, finishes: list, monkeypatch: pytest.MonkeyPatch, exc: BaseException, status: str, error: str
) -> None:
    cfg, run = _run(tmp_path)
    trainer = Trainer(cfg)
    real = trainer._train_epoch

    def epoch(n: int) -> Any:
        if n == 2:
            raise exc
        return real(n)

    monkeypatch.setattr(trainer, "_train_epoch", epoch)
    result = train_one(cfg, run=run, trainer=trainer, stream=_Interrupting(RuntimeError("never"), after=99))
    assert (result.status, result.error) == (status, error) == (run.info.status, run.info.error)
    assert finishes == [(status, error)]  # before: a Ctrl-C inside the trainer went failed, then cancelled
    assert trainer.cancelled == (status == CANCELLED)


def test_a_stop_request_ends_the_run_cancelled_with_its_reason(tmp_path: Path, finishes: list) -> None:
    cfg, run = _run(tmp_path)
    trainer = Trainer(cfg)

    class Stopping(_Interrupting):
        def write(self, text: str) -> int:
            if text.startswith("[") and "epoch 1/" in text:
                trainer.recorder.request_stop("stopped by SIGTERM")  # what the signal handler does
            return len(text)

    result = train_one(cfg, run=run, trainer=trainer, stream=Stopping(RuntimeError("never"), after=99))
    assert (result.status, result.error) == (CANCELLED, "stopped by SIGTERM") == (run.info.status, run.info.error)
    assert finishes == [(CANCELLED, "stopped by SIGTERM")] and run.info.epoch == 1


def test_a_trainer_records_into_one_run_only(tmp_path: Path) -> None:
    cfg, run = _run(tmp_path)
    other = RunStore(tmp_path / "runs").create(cfg.to_dict())
    trainer = Trainer(cfg, run=run)
    trainer.recorder.attach(run)  # the same run again: fine
    with pytest.raises(RuntimeError, match="already records into"):
        trainer.recorder.attach(other)


def test_a_failure_while_finishing_is_recorded_once(
    tmp_path: Path, finishes: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last steps of a run (predict on all points, save the assignments) can fail too (memory, disk):
    the run ends failed, not running (before: nobody recorded it)."""
    cfg, run = _run(tmp_path)
    trainer = Trainer(cfg)

    def out_of_memory(x: Any) -> Any:
        raise MemoryError("final predict")

    monkeypatch.setattr(trainer, "predict_proba", out_of_memory)
    result = train_one(cfg, run=run, trainer=trainer, stream=_Interrupting(RuntimeError("never"), after=99))
    assert (result.status, result.error) == (FAILED, "MemoryError: final predict") == (run.info.status, run.info.error)
    assert finishes == [(FAILED, "MemoryError: final predict")] and run.info.epoch == 3


def test_a_failure_while_starting_is_recorded_once(
    tmp_path: Path, finishes: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the status turned running, the start rewrites the metrics lines (a resume's repair): a
    full disk there ends the run failed (before: it read running until the process was gone)."""
    cfg, run = _run(tmp_path)

    def disk_full(self: Run, history: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Run, "restore_metrics", disk_full)
    result = train_one(cfg, run=run, stream=_Interrupting(RuntimeError("never"), after=99))
    error = "OSError: [Errno 28] No space left on device"
    assert (result.status, result.error) == (FAILED, error) == (run.info.status, run.info.error)
    assert finishes == [(FAILED, error)] and run.info.epoch == 0


def test_a_run_another_process_runs_is_left_alone(tmp_path: Path, finishes: list) -> None:
    """``Run.start`` refusing (a live process runs it) writes nothing over that process's record."""
    import subprocess
    import sys

    cfg, run = _run(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run.start(pid=other.pid)
        with pytest.raises(RuntimeError, match="already running"):
            Trainer(cfg, run=run).fit().__next__()
        assert run.info.status == RUNNING and run.info.pid == other.pid and finishes == []
    finally:
        other.kill()
        other.wait()
