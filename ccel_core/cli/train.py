"""One seed of ``ccel fit``: :func:`train_one` runs a :class:`~ccel_core.training.Trainer` to its
end given a :class:`TrainConfig` and an optional :class:`~ccel_core.runs.Run`, with a progress bar
and SIGINT/SIGTERM handling, and reports how it ended (:class:`FitResult`).

The trainer itself marks the run running, logs and checkpoints every epoch, saves the assignments
and finishes the run; this module adds the bar, the signals and the per-epoch lines. A
data-parallel launcher calls :func:`train_one` on every process (``run`` only on rank 0).
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Optional

__all__ = ["FitResult", "train_one", "brief"]


# ------------------------------------------------------------------------------------------
# one seed
# ------------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """How one seed ended: ``status`` finished / cancelled / failed, the last epoch's metrics."""

    status: str
    metrics: dict
    trainer: Any
    error: Optional[str] = None
    exception: Optional[BaseException] = None


class _StoppableRun:
    """The run as the trainer sees it, plus a stop flag set by a signal handler.

    The handler only sets the flag (no file or database I/O inside a signal handler); the trainer
    polls ``cancel_requested`` between batches and ends the run as cancelled.
    """

    def __init__(self, run: Any) -> None:
        self._run, self.stop_signal = run, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    @property
    def cancel_requested(self) -> bool:
        return self.stop_signal is not None or self._run.cancel_requested


@contextlib.contextmanager
def _stop_on_signals(target: Optional[_StoppableRun]) -> Iterator[dict]:
    """SIGINT/SIGTERM: the first asks ``target`` to stop after the current batch (or, without a
    target, interrupts at once); the next one raises ``KeyboardInterrupt`` at once."""
    state: dict[str, Any] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        first = state["signal"] is None
        state["signal"] = signal.Signals(signum).name
        if target is None or not first:
            raise KeyboardInterrupt(state["signal"])
        target.stop_signal = state["signal"]
        sys.stderr.write(f"\nccel: {state['signal']}: stopping after the current batch (again to stop now)\n")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def brief(metrics: dict, keys: tuple[str, ...] = ("loss", "acc", "nmi", "ari", "test_acc")) -> str:
    """``loss=0.123 acc=0.81 …`` for the keys present (None values left out)."""
    return " ".join(f"{k}={_fmt(metrics[k])}" for k in keys if metrics.get(k) is not None)


def train_one(
    config: Any,
    *,
    run: Any = None,
    dataset: Any = None,
    trainer: Any = None,
    progress: bool = False,
    stream: Any = None,
) -> FitResult:
    """Train one seed to its end and report how it ended (never raises for a training failure).

    Args:
        config: the :class:`TrainConfig`.
        run: the :class:`~ccel_core.runs.Run` to write to (None: nothing is stored). The trainer
            marks it running / finished / failed / cancelled; an interrupt (second Ctrl-C) is
            recorded as cancelled.
        dataset: the data (default: loaded from the config by the trainer).
        trainer: a trainer already built for ``config`` (with ``run`` when it resumes one; a fresh
            run is attached here).
        progress: show a tqdm bar over epochs; otherwise one line per epoch.
        stream: where the bar / epoch lines go (default stderr).
    """
    from tqdm.auto import tqdm

    from ..training import Trainer

    stream = sys.stderr if stream is None else stream
    target = None if run is None else _StoppableRun(run)
    if trainer is None:
        trainer = Trainer(config, dataset=dataset, run=target)
    else:
        trainer.recorder.run = target
    label = run.run_id if run is not None else f"{config.method} seed {config.seed}"
    graceful = target if trainer.objective.trains_network else None
    bar = tqdm(
        total=config.epochs,
        initial=min(trainer.epoch, config.epochs),
        desc=label,
        unit="epoch",
        file=stream,
        disable=not progress,
        dynamic_ncols=True,
    )
    exception: Optional[BaseException]
    status, error, exception = "finished", None, None
    try:
        with _stop_on_signals(graceful) as state:
            epochs = trainer.fit()
            try:
                for m in epochs:
                    bar.update(1)
                    bar.set_postfix_str(brief(m, ("loss", "acc")), refresh=True)
                    if not progress:
                        print(
                            f"[{label}] epoch {m['epoch']}/{config.epochs} {brief(m)} ({m.get('seconds') or 0.0:.2f} s)",
                            file=stream,
                            flush=True,
                        )
            except KeyboardInterrupt as exc:
                # raised inside the trainer, it marked the run failed on the way out; raised here, the
                # generator is closed (the trainer marks it cancelled). Either way: a cancellation.
                epochs.close()
                status, error, exception = "cancelled", f"interrupted ({state['signal'] or 'KeyboardInterrupt'})", exc
                if run is not None:
                    run.finish("cancelled", error=error)
            except Exception as exc:  # raised inside the trainer, it already marked the run failed
                epochs.close()
                status, error, exception = "failed", f"{type(exc).__name__}: {exc}", exc
                if run is not None:
                    run.finish("failed", error=error)
            else:
                if trainer.cancelled:
                    status = "cancelled"
                    if state["signal"] and run is not None:
                        error = f"stopped by {state['signal']}"
                        run.finish("cancelled", error=error)
    finally:
        bar.close()
    return FitResult(status, dict(trainer.history[-1]) if trainer.history else {}, trainer, error, exception)
