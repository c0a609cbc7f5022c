"""Running one solver of the race in chunks, warm-started from the last labels, until its budget, its
target or divergence — certifying every iterate, or only those that can matter (:class:`Sparse`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["Sparse", "cpu_share", "run_chunked"]


@dataclass
class Sparse:
    """Certify only the iterates that can matter (see :func:`run_chunked`): ``certify(labels)`` →
    certified gap, ``reference`` = a feasible loss L* within rounding of the optimum (the exact
    y-step's), ``levels`` the gap levels whose first certified iterate must be found."""

    certify: Callable[[object], float]
    reference: float
    levels: tuple[float, ...]


def cpu_share(wall: float, cpu: float) -> float:
    """The share of one CPU this thread got since ``(perf_counter, thread_time) = (wall, cpu)``."""
    elapsed = time.perf_counter() - wall
    return min(max((time.thread_time() - cpu) / elapsed, 0.05), 1.0) if elapsed > 0 else 1.0


def run_chunked(
    solve,
    y0,
    *,
    max_iter: int,
    seconds: Optional[float],
    stop_below: Optional[float],
    stop_gap: Optional[float] = None,
    chunk: int = 100,
    progress: Optional[Callable[[float], None]] = None,
    sparse: Optional[Sparse] = None,
    cpu_clock: bool = False,
) -> tuple[list[float], list[float], list[float], str]:
    """Run ``solve(labels, steps, certify)`` in chunks (warm-started from the last labels) until the
    iteration budget, the time budget, the loss ``stop_below``, the first certified gap ≤
    ``stop_gap`` (the trace ends there), or divergence — a non-finite loss, or a chunk that ends
    above the loss it started from; returns ``(history, times, certified gaps, outcome)`` with
    ``outcome`` in :data:`OUTCOMES`. ``progress(fraction)`` after every chunk.

    ``sparse``: certify the first chunk, the last iterate of every chunk, and every iterate of a
    chunk that may hold the first certified iterate of the next level not yet reached (the chunk is
    run again with certificates: the solvers depend on the labels only, so it repeats the same
    iterates); other gaps are NaN. The first iterate at each level is still exact: the certified
    gap bounds ``(L − L*)/L`` from above, so a chunk whose smallest loss is its last and has
    ``(L − L*)/L`` above the level holds no iterate certified to it.

    ``cpu_clock``: scale each chunk's times by the share of a CPU its thread got (thread CPU time /
    wall time of the chunk), so that other work on the machine does not inflate them.

    EM and fixed-step PGD depend on the current labels only, so chunked runs equal one long run.
    """
    history: list[float] = []
    times: list[float] = []
    gaps: list[float] = []
    y, done, clock = y0, 0, 0.0
    outcome = "budget"
    todo = sorted(sparse.levels, reverse=True) if sparse is not None else []
    while done < max_iter:
        steps = min(chunk, max_iter - done)
        wall, cpu = time.perf_counter(), time.thread_time()
        res = solve(y, steps, sparse is None or not history)
        share = cpu_share(wall, cpu) if cpu_clock else 1.0
        g = list(res.gaps)
        if sparse is not None and not g:
            h = np.asarray(res.history, dtype=float)
            end = h[-1]
            slack = (end - sparse.reference) / abs(end) if math.isfinite(end) and end != 0 else -math.inf
            target = todo[0] if todo else None
            if target is not None and (h[1:].min() < end or not slack > target * (1 + 1e-6) + 1e-15):
                g = list(solve(y, steps, True).gaps)  # may hold the first iterate at `target`: certify all
            else:
                g = [math.nan] * (len(h) - 1) + [sparse.certify(res.labels)]
        offset = clock
        h, t = res.history, [v * share for v in res.times]
        if history:  # the chunk's first entry is the previous chunk's last
            h, t, g = h[1:], t[1:], g[1:]
        start = res.history[0]
        history += h
        gaps += g
        times += [offset + v for v in t]
        clock = times[-1]
        y, done = res.labels, done + res.n_iter
        new_gaps = np.asarray(g, dtype=float)
        while todo and (new_gaps <= todo[0]).any():
            todo.pop(0)
        hit = np.flatnonzero(new_gaps <= stop_gap) if stop_gap is not None else np.zeros(0, dtype=int)
        if hit.size:  # cut the trace at the first iterate certified to stop_gap
            cut = len(history) - len(h) + int(hit[0]) + 1
            del history[cut:], times[cut:], gaps[cut:]
            outcome = "reached"
            break
        end = history[-1]
        if not math.isfinite(end) or end > start + 1e-9 * abs(start):
            outcome = "diverged"
            break
        if res.converged or (stop_below is not None and end <= stop_below):
            outcome = "reached"
            break
        if seconds is not None and clock >= seconds:
            break
        if progress is not None:
            progress(max(done / max_iter, clock / seconds if seconds else 0.0))
    return history, times, gaps, outcome
