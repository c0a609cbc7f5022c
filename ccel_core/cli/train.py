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

from ..runs import CANCELLED, FINISHED

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


@contextlib.contextmanager
def _stop_on_signals(recorder: Any) -> Iterator[dict]:
    """SIGINT/SIGTERM: the first asks the trainer to stop after the current batch
    (``recorder.request_stop``; without a ``recorder``, interrupts at once); the next one raises
    ``KeyboardInterrupt`` at once. The handler sets fields and writes one line to stderr (which
    ``ccel fit`` also tees into the run's log.txt); it does no database I/O."""
    state: dict[str, Any] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        first = state["signal"] is None
        state["signal"] = signal.Signals(signum).name
        if recorder is None or not first:
            raise KeyboardInterrupt(state["signal"])
        recorder.request_stop(f"stopped by {state['signal']}")
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
            alone marks it running / finished / failed / cancelled (a signal asks it to stop; an
            interrupt, a second Ctrl-C, is thrown into it and recorded as cancelled).
        dataset: the data (default: loaded from the config by the trainer).
        trainer: a trainer already built for ``config`` (with ``run`` when it resumes one; a fresh
            run is attached to its recorder here).
        progress: show a tqdm bar over epochs; otherwise one line per epoch.
        stream: where the bar / epoch lines go (default stderr).
    """
    from tqdm.auto import tqdm

    from ..training import Trainer
    from ..training.recorder import ending

    stream = sys.stderr if stream is None else stream
    if trainer is None:
        trainer = Trainer(config, dataset=dataset, run=run)
    elif run is not None:
        trainer.recorder.attach(run)  # a run created after the trainer validated the config
    label = run.run_id if run is not None else f"{config.method} seed {config.seed}"
    graceful = trainer.recorder if run is not None and trainer.objective.trains_network else None
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
    status, error, exception = FINISHED, None, None
    try:
        with _stop_on_signals(graceful):
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
            except (Exception, KeyboardInterrupt) as exc:
                # raised inside the trainer, it recorded how the run ended; raised here (the trainer waits
                # at an epoch's end), it is thrown into the trainer, which records it: the trainer is the
                # run's one writer (a generator that already ended re-raises it at once)
                try:
                    epochs.throw(exc)
                except (Exception, KeyboardInterrupt) as again:
                    if again is not exc:
                        raise
                (status, error), exception = ending(exc), exc
            else:
                if trainer.cancelled:
                    status, error = CANCELLED, trainer.recorder.stop_reason
    finally:
        bar.close()
    return FitResult(status, dict(trainer.history[-1]) if trainer.history else {}, trainer, error, exception)
