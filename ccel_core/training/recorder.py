"""The recorder: what a training run writes to its :class:`~ccel_core.runs.Run` (the run store).

One method per event of the run's life, so the trainer's loop never talks to the store::

    start()                          status → running
    epoch(epoch, state, metrics)     checkpoint, then the epoch's metrics line
    cancel_requested                 a cancel flag set in the store (polled between batches)
    finished(probs, final)           assignments argmax σ and σ saved, status → finished
    cancelled(reason)                status → cancelled
    failed(exc)                      status → failed, with "Type: message"

Without a run (``run=None``) every event is a no-op, so the same loop serves library calls,
the CLI and data-parallel processes other than rank 0.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from torch import Tensor

__all__ = ["Recorder"]


class Recorder:
    """Writes a trainer's events to ``run`` (a :class:`~ccel_core.runs.Run`, or None: nothing)."""

    def __init__(self, run: Any = None) -> None:
        self.run = run

    def load(self, map_location: Any) -> Optional[dict]:
        """The run's last checkpoint (None without a run or checkpoint)."""
        return self.run.load_checkpoint(map_location=map_location) if self.run is not None else None

    def start(self) -> None:
        if self.run is not None:
            self.run.start()

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
