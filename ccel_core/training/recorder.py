"""The recorder: what a training run writes to its :class:`~ccel_core.runs.Run` (the run store).

One method per event of the run's life, so the trainer's loop never talks to the store::

    start(history)                   status → running; metrics lines made to match the checkpoint's history
                                     (a failure after running was written ends the run: ended_by)
    epoch(epoch, state, metrics)     checkpoint, then the epoch's metrics line
    cancel_requested                 a cancel flag set in the store, or request_stop (polled between batches)
    finished(probs, final)           assignments argmax σ and σ saved, status → finished
    cancelled(reason)                status → cancelled (reason: the caller's, else request_stop's)
    ended_by(exc)                    a KeyboardInterrupt: status → cancelled, "interrupted (SIGINT)";
                                     any other exception: status → failed, with "Type: message"

The recorder is the only writer of a run's status while it trains: callers (the CLI) stop a run
through :meth:`Recorder.request_stop` (safe in a signal handler: it only sets a field) or by
throwing into the trainer's ``fit`` generator, never by finishing the run themselves.

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

from ..runs import CANCELLED, FAILED, FINISHED

__all__ = ["Recorder", "ending"]


def ending(exc: BaseException) -> tuple[str, str]:
    """How ``exc`` ends a run: ``(cancelled, "interrupted (SIGINT)")`` for a ``KeyboardInterrupt``
    (named by the signal a handler raised it with, else ``KeyboardInterrupt``), else
    ``(failed, "Type: message")``."""
    if isinstance(exc, KeyboardInterrupt):
        return CANCELLED, f"interrupted ({str(exc) or type(exc).__name__})"
    return FAILED, f"{type(exc).__name__}: {exc}"


class Recorder:
    """Writes a trainer's events to ``run`` (a :class:`~ccel_core.runs.Run`, or None: nothing)."""

    def __init__(self, run: Any = None) -> None:
        self.run = run
        self.stop_reason: Optional[str] = None

    def attach(self, run: Any) -> None:
        """Record into ``run`` from now on: a run created after the trainer was built (the CLI builds
        the trainer first, so that a config the data refuses writes nothing). Refuses to replace
        another run."""
        if self.run is not None and self.run is not run:
            raise RuntimeError(f"this trainer already records into {self.run!r}; cannot attach {run!r}")
        self.run = run

    def request_stop(self, reason: str) -> None:
        """Ask the trainer to stop after its current batch; the run ends cancelled with ``reason``.
        Only sets a field, so a signal handler may call it."""
        self.stop_reason = reason

    def load(self, map_location: Any) -> Optional[dict]:
        """The run's last checkpoint (None without a run or checkpoint)."""
        return self.run.load_checkpoint(map_location=map_location) if self.run is not None else None

    def start(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Status running; metrics.jsonl made to hold one line per epoch of ``history``, the metrics of
        the epochs done (the resumed checkpoint's; empty for a fresh run): see
        :meth:`~ccel_core.runs.Run.restore_metrics`. A failure after the status turned running (e.g. a
        full disk while rewriting the metrics) ends the run failed and is raised; a failure of
        ``Run.start`` itself (e.g. another live process runs it) writes nothing."""
        if self.run is not None:
            self.run.start()
            try:
                self.run.restore_metrics(history)
            except BaseException as exc:
                self.ended_by(exc)
                raise

    def epoch(self, epoch: int, state: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
        """Checkpoint first: a logged epoch always has its checkpoint (a resume starts after it)."""
        if self.run is not None:
            self.run.save_checkpoint(state, epoch)
            self.run.log_epoch(epoch, metrics)

    @property
    def cancel_requested(self) -> bool:
        return self.stop_reason is not None or (self.run is not None and bool(self.run.cancel_requested))

    def finished(self, probs: Tensor, final: Optional[Mapping[str, Any]]) -> None:
        if self.run is not None:
            self.run.save_assignments(probs.argmax(1), probs)
            self.run.finish(FINISHED, final=final)

    def cancelled(self, reason: Optional[str] = None) -> None:
        if self.run is not None:
            self.run.finish(CANCELLED, error=reason if reason is not None else self.stop_reason)

    def ended_by(self, exc: BaseException) -> bool:
        """The run ended by ``exc``: cancelled for a ``KeyboardInterrupt``, else failed; returns
        whether it was a cancellation."""
        status, reason = ending(exc)
        if self.run is not None:
            self.run.finish(status, error=reason)
        return status == CANCELLED
