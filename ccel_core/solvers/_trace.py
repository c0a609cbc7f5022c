"""The solvers' bookkeeping: the per-iterate trace that becomes a result's ``history``, ``gaps`` and ``times``.

Every solver records its start and each iterate in one :class:`Trace`: the objective value, the
certified relative gap ``(P(Y) − D(c(Y)))/P(Y)`` where it certifies (:mod:`.certificate`) and the
seconds since the solver started, less the time its optional certificates took (``cert_seconds``:
EM and PGD certify only on request, and their timings compare the methods, not the certificate).
The exact solver's :class:`BestTrace` records the best certified iterate so far instead.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

from ._backend import Array

__all__ = ["Trace", "BestTrace"]


class Trace:
    """``history``, ``gaps`` and ``times``, one entry per recorded iterate (index 0 = the start).

    ``certify``: the certified relative gap of labels; when given, every iterate recorded without its
    gap is certified by it, and the certificate's own time is kept out of ``times``. ``gaps`` stays
    empty while no iterate has a gap.
    """

    def __init__(self, certify: Optional[Callable[[Array], float]] = None) -> None:
        self.certify = certify
        self.history: list[float] = []
        self.gaps: list[float] = []
        self.times: list[float] = []
        self.cert_seconds = 0.0
        self.start = time.perf_counter()

    @property
    def count(self) -> int:
        return len(self.history)

    def __call__(self, loss: float, y: Array, gap: Optional[float] = None) -> None:
        """Record the iterate ``y`` with objective value ``loss`` and certified gap ``gap`` (computed
        here by ``certify`` when not given and the trace certifies)."""
        if gap is None and self.certify is not None:
            t0 = time.perf_counter()
            gap = self.certify(y)
            self.cert_seconds += time.perf_counter() - t0
        self.add(loss, gap)

    def add(self, loss: float, gap: Optional[float] = None, at: Optional[float] = None) -> None:
        """One entry: ``loss``, ``gap`` if any, and the seconds so far less the certificates' (``at``: the
        ``time.perf_counter()`` reading of the iterate when it was computed earlier, e.g. in a fused call)."""
        self.history.append(loss)
        if gap is not None:
            self.gaps.append(gap)
        self.times.append((time.perf_counter() if at is None else at) - self.start - self.cert_seconds)


class BestTrace(Trace):
    """The exact solver's trace, one entry per iterate tried (``count``), recording the **best certified
    iterate so far**: ``history[t]``/``gaps[t]`` are the loss and certified relative gap (≥ 0) of the
    labels the solver would return if stopped after iterate ``t`` (``best_y``, ``best_rel``). An
    end-game may try points worse than its start on its way to a better face; the trace never
    climbs because of them. Its certificates are the method's own: ``times`` include them.
    ``callback`` sees the best labels after every entry."""

    def __init__(self, callback: Optional[Callable[[Any], None]] = None) -> None:
        super().__init__()
        self.callback = callback
        self.best_y: Any = None
        self.best_rel = math.inf
        self.best_loss = math.inf

    def skip(self, at: Optional[float] = None) -> None:
        """An iterate tried but not certified: the trace repeats the best certified so far (``at``: see :meth:`add`)."""
        self.add(self.best_loss, self.best_rel, at)

    def skip_span(self, count: int, t0: float, t1: float) -> None:
        """:meth:`skip` for ``count`` iterates of one call that ran from ``t0`` to ``t1`` (``time.perf_counter()``
        readings) and made ``count + 1`` iterates, their times spread evenly over it (the last is recorded
        by the caller)."""
        span, shift = t1 - t0, t0 - self.start - self.cert_seconds
        self.history.extend([self.best_loss] * count)
        self.gaps.extend([self.best_rel] * count)
        self.times.extend([shift + span * t / (count + 1) for t in range(1, count + 1)])

    def __call__(self, loss: float, y: Array, gap: Optional[float] = None) -> None:
        """Record the iterate ``y`` with its loss and certified relative gap ``gap`` (required)."""
        assert gap is not None  # every entry of the exact solver's trace is certified
        rel = max(float(gap), 0.0)
        if self.best_y is None or rel < self.best_rel:
            self.best_y, self.best_rel, self.best_loss = y, rel, float(loss)
        self.add(self.best_loss, self.best_rel)
        if self.callback is not None:
            self.callback(self.best_y)
