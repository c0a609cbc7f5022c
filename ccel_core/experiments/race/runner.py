"""Running the race (:func:`solver_race`): the exact y-step, EM (plain and SQUAREM-accelerated) and PGD
at several step sizes on eq. 11, one after another, each timed and certified, into a :class:`RaceResult`."""

from __future__ import annotations

import math
import time
import warnings
from functools import partial
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ...solvers import ConvergenceWarning, SolverResult, em, exact, pgd
from ...solvers.certificate import certify as certify_labels
from ...solvers.certificate import slope_order
from .chunks import Sparse, cpu_share, run_chunked
from .problem import ACCELERATED, EXACT, GAP_LEVELS, HEADLINE_LEVEL, Progress, default_pgd_lrs, reference_optimum
from .result import RaceResult

__all__ = ["solver_race"]

Run = tuple[list[float], list[float], list[float], str]  # (losses, seconds, certified gaps, outcome)


class _Meter:
    """The race's progress bar: each solver's share of it (the PGD share split among the step sizes),
    ``progress(fraction, text)`` within the running solver's share."""

    def __init__(self, progress: Optional[Progress], n_lrs: int, accelerated: bool) -> None:
        self.progress = progress
        self.n_lrs = n_lrs
        self.weights = {EXACT: 0.05, "EM": 0.25, ACCELERATED: 0.2 if accelerated else 0.0}
        self.weights["PGD"] = 1.0 - sum(self.weights.values())
        self.spent = 0.0

    def share(self, part: str) -> float:
        return self.weights["PGD"] / max(self.n_lrs, 1) if part == "PGD" else self.weights[part]

    def report(self, part: str, fraction: float, text: str) -> None:
        if self.progress is not None:
            self.progress(min(self.spent + self.share(part) * min(max(fraction, 0.0), 1.0), 1.0), text)

    def finished(self, part: str) -> None:
        self.spent += self.share(part)


def _as_numpy(probs: np.ndarray | torch.Tensor) -> np.ndarray:
    return probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else probs


def _exact_run(
    probs: np.ndarray | torch.Tensor, lam: float, exact_tol: float, meter: _Meter, cpu_clock: bool
) -> tuple[SolverResult, list[float]]:
    """The exact y-step to the certified gap ``exact_tol`` after warming up the kernels outside the
    clock; returns its result and its times (scaled to the thread's CPU share with ``cpu_clock``)."""
    em(probs[:2], lam, max_iter=1, tol=0, certify=True)  # compile / warm up outside the clock
    exact(probs[:300], lam, tol=1e-14, max_iter=40)  # loads the interior and face kernels
    steps = [0]

    def exact_step(_labels: object) -> None:
        steps[0] += 1
        meter.report(EXACT, steps[0] / 25, f"the exact y-step: iteration {steps[0]}")

    wall, cpu = time.perf_counter(), time.thread_time()
    best = exact(probs, lam, tol=exact_tol, callback=exact_step if meter.progress is not None else None)
    share = cpu_share(wall, cpu) if cpu_clock else 1.0
    return best, [v * share for v in best.times]


def _sparse_certificates(
    probs: np.ndarray | torch.Tensor, lam: float, optimum: float, gap_stop: Optional[float]
) -> Sparse:
    """Certificates of the iterates that can be the first at a gap level (:data:`GAP_LEVELS`,
    the headline level and ``gap_stop``), measured against the exact y-step's ``optimum``."""
    k = probs.shape[1]
    sig = np.ascontiguousarray(_as_numpy(probs))
    order, u = slope_order(sig), np.full(k, 1.0 / k)
    return Sparse(
        lambda y: certify_labels(sig, y, lam, u, "eq11", order)[2],
        float(optimum),
        tuple(sorted({*GAP_LEVELS, HEADLINE_LEVEL, *((gap_stop,) if gap_stop is not None else ())})),
    )


def _em_run(
    probs: np.ndarray | torch.Tensor,
    lam: float,
    name: str,
    accelerate: bool,
    *,
    max_iter: int,
    gap_stop: Optional[float],
    sparse: Optional[Sparse],
    meter: _Meter,
    cpu_clock: bool,
) -> Run:
    """EM (``accelerate``: EM + SQUAREM) for ``max_iter`` iterations or to ``gap_stop``: in one call,
    or in chunks when there is progress to report or sparse certificates."""
    n, k = probs.shape
    if meter.progress is None and sparse is None:
        res = em(probs, lam, max_iter=max_iter, tol=0, accelerate=accelerate, certify=True, gap_tol=gap_stop)
        reached = gap_stop is not None and res.converged
        return res.history, res.times, res.gaps, "reached" if reached else "budget"
    return run_chunked(
        lambda y, m, c: em(probs, lam, init=y, max_iter=m, tol=0, accelerate=accelerate, certify=c),
        None,
        max_iter=max_iter,
        seconds=None,
        stop_below=None,
        stop_gap=gap_stop,
        chunk=(300 if n * k <= 100_000 else 60) if accelerate else 50,  # a SQUAREM chunk restarts its step bound
        progress=lambda f: meter.report("EM" if not accelerate else ACCELERATED, f, f"{name}: {f:.0%} of its budget"),
        sparse=sparse,
        cpu_clock=cpu_clock,
    )


def _pgd_budget(
    em_losses: list[float],
    em_gaps: list[float],
    max_iter: int,
    pgd_max_iter: Optional[int],
    pgd_iters_factor: Optional[float],
) -> int:
    """Each PGD run's iterations: ``pgd_max_iter`` (default ``max_iter``), or ``pgd_iters_factor`` ×
    the iterations plain EM needed for the headline gap (all of them when it did not get there),
    capped by ``pgd_max_iter``."""
    em_hit = np.flatnonzero(np.asarray(em_gaps, dtype=float) <= HEADLINE_LEVEL)
    em_iters = int(em_hit[0]) if em_hit.size else len(em_losses) - 1
    pgd_iters = pgd_max_iter or max_iter
    if pgd_iters_factor is not None:
        scaled = max(int(math.ceil(pgd_iters_factor * max(em_iters, 1))), 1)
        pgd_iters = scaled if pgd_max_iter is None else min(pgd_max_iter, scaled)
    return pgd_iters


def _pgd_run(
    probs: np.ndarray | torch.Tensor,
    lam: float,
    lr: float,
    name: str,
    *,
    max_iter: int,
    seconds: Optional[float],
    stop_below: Optional[float],
    gap_stop: Optional[float],
    sparse: Optional[Sparse],
    meter: _Meter,
    cpu_clock: bool,
) -> Run:
    """PGD at step size ``lr``, in chunks, until its budget, its target or divergence."""

    def pgd_progress(f: float) -> None:
        meter.report("PGD", f, f"{name}: {f:.0%} of its budget")

    return run_chunked(
        lambda y, m, c: pgd(probs, lam, objective="eq11", lr=lr, init=y, max_iter=m, tol=0, certify=c),
        None,
        max_iter=max_iter,
        seconds=seconds,
        stop_below=stop_below,
        stop_gap=gap_stop,
        chunk=50 if sparse is not None else 100,
        progress=pgd_progress,
        sparse=sparse,
        cpu_clock=cpu_clock,
    )


def _trace(runs: list[tuple[str, list[float], list[float], list[float]]], reference: float) -> pd.DataFrame:
    """The race's trace: one row per method and iteration, its gap to ``reference`` beside the certified one."""
    frames = []
    for name, hist, times, gaps in runs:
        h = np.asarray(hist, dtype=np.float64)
        frames.append(
            pd.DataFrame(
                {
                    "method": name,
                    "iteration": np.arange(len(h)),
                    "seconds": np.asarray(times),
                    "loss": h,
                    "gap": (h - reference) / abs(reference),
                    "certified": np.asarray(gaps, dtype=np.float64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def solver_race(
    probs: np.ndarray | torch.Tensor,
    lam: float = 100.0,
    *,
    pgd_lrs: Optional[Sequence[float]] = None,
    max_iter: int = 500,
    pgd_max_iter: Optional[int] = None,
    pgd_seconds: Optional[float] = None,
    pgd_iters_factor: Optional[float] = None,
    pgd_stop_gap: Optional[float] = None,
    gap_stop: Optional[float] = None,
    reference: Optional[float] = None,
    use_interior_point: bool = False,
    accelerated: bool = True,
    exact_tol: float = 1e-10,
    progress: Optional[Progress] = None,
    sparse_certificates: bool = False,
    cpu_clock: bool = False,
) -> RaceResult:
    """Run the exact y-step, EM (the paper's, and SQUAREM-accelerated unless ``accelerated=False``)
    and PGD at several step sizes on eq. 11; return their traces with certified gaps.

    EM runs ``max_iter`` iterations (an accelerated cycle counts its three EM steps); the exact
    y-step runs to the certified gap ``exact_tol``. Each PGD run stops at ``pgd_max_iter`` (default
    ``max_iter``; with ``pgd_iters_factor``: that many times the iterations plain EM needed for a
    certified 1e-2 gap — its whole budget when it did not get there — capped by ``pgd_max_iter``
    when given) iterations, after ``pgd_seconds``, once its gap to the exact optimum falls below
    ``pgd_stop_gap``, or when it diverges (a non-finite loss, or a chunk of 50–100 steps that ends
    above the loss it started from). ``gap_stop``: EM,
    EM + SQUAREM and PGD also stop once their certified gap is ≤ it. ``reference``: a known optimum
    instead of the exact y-step's; ``use_interior_point``: also solve by CVXPY + Clarabel (small
    N·K) and report it in ``reference_source`` and ``interior_point``. ``probs`` numpy → numba
    kernels; torch → torch kernels on its device.

    ``progress(fraction, text)`` is called before each solver and during it (every 50–100 EM / PGD
    steps, 300 EM + SQUAREM steps — 60 above 10⁵ entries —, every interior-point iteration); the EM
    runs are then chunked (warm-started, the same iterates up to rounding). An exception it raises
    (e.g. a cancelled page) ends the race.

    ``sparse_certificates`` (half the time of a race at K = 200, where the certificate costs more
    than a step): EM, EM + SQUAREM and PGD certify only the iterates that can be the first at a gap
    level of :data:`GAP_LEVELS` (and ``gap_stop``), the first chunk and every 50th (EM + SQUAREM:
    300th or 60th) iterate; the others' ``certified`` is NaN. Every first iterate at a level — all the
    summaries use — is the same as with every iterate certified (see :func:`~.chunks.run_chunked`).

    ``cpu_clock`` (numpy ``probs`` below 2·10⁵ entries, where every kernel runs on the calling
    thread; otherwise ignored): ``seconds`` is the solvers' own time, each chunk's wall time scaled by
    the share of a CPU the thread got, so a busy machine (other sessions, other programs) does not
    inflate one solver's time and not another's.
    """
    n, k = probs.shape
    cpu_clock = cpu_clock and isinstance(probs, np.ndarray) and probs.size < 200_000
    lrs = tuple(pgd_lrs) if pgd_lrs is not None else default_pgd_lrs(k, lam)
    runs: list[tuple[str, list[float], list[float], list[float]]] = []
    outcomes: dict[str, str] = {}
    meter = _Meter(progress, len(lrs), accelerated)
    sparse: Optional[Sparse] = None  # set once the exact y-step has given L*
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        meter.report(EXACT, 0.0, "the exact y-step")
        best, exact_times = _exact_run(probs, lam, exact_tol, meter, cpu_clock)
        runs.append((EXACT, best.history, exact_times, best.gaps))
        if sparse_certificates and reference is None:
            sparse = _sparse_certificates(probs, lam, best.loss, gap_stop)
        outcomes[EXACT] = "reached" if best.gaps and best.gaps[-1] <= exact_tol else "budget"
        meter.finished(EXACT)
        run_em = partial(
            _em_run, probs, lam, max_iter=max_iter, gap_stop=gap_stop, sparse=sparse, meter=meter, cpu_clock=cpu_clock
        )
        meter.report("EM", 0.0, "EM")
        hist, times, gaps, outcome = run_em("EM", False)
        runs.append(("EM", hist, times, gaps))
        outcomes["EM"] = outcome
        meter.finished("EM")
        pgd_iters = _pgd_budget(hist, gaps, max_iter, pgd_max_iter, pgd_iters_factor)  # counted in plain EM steps
        if accelerated:
            meter.report(ACCELERATED, 0.0, ACCELERATED)
            hist, times, gaps, outcome = run_em(ACCELERATED, True)
            runs.append((ACCELERATED, hist, times, gaps))
            outcomes[ACCELERATED] = outcome
            meter.finished(ACCELERATED)
        source = f"exact y-step, certified relative gap {best.gaps[-1]:.1e}"
        if reference is None:
            reference = best.loss
        else:
            source = "given"
        ip_status: Optional[str] = None
        ip_value: Optional[float] = None
        if use_interior_point:
            meter.report("PGD", 0.0, "the interior-point check (CVXPY + Clarabel)")
            ip_value, ip_status = reference_optimum(np.asarray(_as_numpy(probs), dtype=np.float64), lam)
            source += f"; interior point: {ip_status}" + (f", L = {ip_value:.10g}" if ip_value is not None else "")
        stop_below = None if pgd_stop_gap is None else reference + pgd_stop_gap * abs(reference)
        for lr in lrs:
            name = f"PGD η={lr:.3g}"
            meter.report("PGD", 0.0, name)
            hist, times, gaps, outcome = _pgd_run(
                probs,
                lam,
                lr,
                name,
                max_iter=pgd_iters,
                seconds=pgd_seconds,
                stop_below=stop_below,
                gap_stop=gap_stop,
                sparse=sparse,
                meter=meter,
                cpu_clock=cpu_clock,
            )
            runs.append((name, hist, times, gaps))
            outcomes[name] = outcome
            meter.finished("PGD")
    return RaceResult(
        _trace(runs, reference),
        float(reference),
        source,
        n,
        k,
        float(lam),
        outcomes=outcomes,
        pgd_lrs=lrs,
        max_iter=max_iter,
        pgd_max_iter=pgd_iters,
        pgd_seconds=pgd_seconds,
        gap_stop=gap_stop,
        exact_tol=exact_tol,
        interior_point=ip_status,
        interior_value=ip_value,
    )
