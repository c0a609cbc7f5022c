"""The recorder: what a training run writes to its :class:`~ccel_core.runs.Run` (the run store).

One method per event of the run's life, so the trainer's loop never talks to the store::

    start(history)                   status → running; metrics lines made to match the checkpoint's history
    epoch(epoch, state, metrics)     checkpoint, then the epoch's metrics line
    cancel_requested                 a cancel flag set in the store (polled between batches)
    finished(probs, final)           assignments argmax σ and σ saved, status → finished
    cancelled(reason)                status → cancelled
    failed(exc)                      status → failed, with "Type: message"

Without a run (``run=None``) every event is a no-op, so the same loop serves library calls,
the CLI and data-parallel processes other than rank 0.

The order makes every crash recoverable by a resume (a SIGKILL can strike between any two writes):
the checkpoint carries the metrics of every completed epoch, so a line lost between a checkpoint and
its line is written back by the resume's ``start``; a run killed after its last checkpoint but before
its end was recorded is finished by the resume without training (assignments, then status).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from torch import Tensor

__all__ = ["Recorder"]


class Recorder:
    """Writes a trainer's events to ``run`` (a :class:`~ccel_core.runs.Run`, or None: nothing)."""

    def __init__(self, run: Any = None) -> None:
        self.run = run

    def load(self, map_location: Any) -> Optional[dict]:
        """The run's last checkpoint (None without a run or checkpoint)."""
        return self.run.load_checkpoint(map_location=map_location) if self.run is not None else None

    def start(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Status running; metrics.jsonl made to hold one line per epoch of ``history``, the metrics of
        the epochs done (the resumed checkpoint's; empty for a fresh run): see
        :meth:`~ccel_core.runs.Run.restore_metrics`."""
        if self.run is not None:
            self.run.start()
            self.run.restore_metrics(history)

    def epoch(self, epoch: int, state: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
        """Checkpoint first: a logged epoch always has its checkpoint (a resume starts after it)."""
        if self.run is not None:
            self.run.save_checkpoint(state, epoch)
            self.run.log_epoch(epoch, metrics)

    @property
    def cancel_requested(self) -> bool:
        return self.run is not None and bool(self.run.cancel_requested)

    def finished(self, probs: Tensor, final: Optional[Mapping[str, Any]]) -> None:
        if self.run is not None:
            self.run.save_assignments(probs.argmax(1), probs)
            self.run.finish("finished", final=final)

    def cancelled(self, reason: Optional[str] = None) -> None:
        if self.run is not None:
            self.run.finish("cancelled", error=reason)

    def failed(self, exc: BaseException) -> None:
        if self.run is not None:
            self.run.finish("failed", error=f"{type(exc).__name__}: {exc}")
