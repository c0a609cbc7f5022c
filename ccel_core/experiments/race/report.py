"""The Table 1 benchmark as text (used by benchmarks/solver_race.py and `ccel bench solvers`): the race
for every K (:func:`table1_report`) and the per-iteration cost of the M-step kernels
(:func:`kernel_timing`)."""

from __future__ import annotations

import time
import warnings
from typing import Optional, Sequence

import numpy as np
import torch

from ...solvers import ConvergenceWarning, em, m_step_timings
from ...timing import best_of
from .problem import ACCELERATED, EXACT, race_problem
from .runner import solver_race

__all__ = ["kernel_timing", "table1_report"]


def kernel_timing(
    n: int = 10_000, k: int = 200, *, repeats: int = 5, python_points: int = 200, lam: float = 100.0, seed: int = 0
) -> dict[str, float]:
    """Seconds per EM iteration of each kernel and of one numpy elementwise pass, best of ``repeats``.

    Keys: ``numba_em_iter`` (a whole EM iteration: E-step scale, fused M-step, column sums and
    loss), ``numba_m_step``, ``torch_em_iter``, ``python_m_step`` (per-point loop, extrapolated
    from ``python_points`` points to N), ``numpy_pass`` (``σ * Y`` into a new array: two
    N×K reads, one write).
    """
    probs = race_problem(n, k, seed=seed)
    y0 = em(probs, lam, max_iter=3, tol=0).labels  # a realistic mid-run state
    assert isinstance(y0, np.ndarray)  # numpy in, numpy out
    scale = lam * n * (1.0 / k) / y0.sum(0)
    kernels = m_step_timings(probs, y0, scale, repeats=repeats, python_points=python_points)
    timings = {"numba_m_step": kernels["numba_m_step"], "numpy_pass": best_of(lambda: probs * y0, repeats)}
    # em() also validates its input and evaluates the starting loss: difference two budgets.
    t1 = best_of(lambda: em(probs, lam, init=y0, max_iter=1, tol=0), repeats)
    t3 = best_of(lambda: em(probs, lam, init=y0, max_iter=3, tol=0), repeats)
    timings["numba_em_iter"] = max(t3 - t1, 0.0) / 2
    tp, ty = torch.from_numpy(probs), torch.from_numpy(y0)
    timings["torch_m_step"] = kernels["torch_m_step"]
    t1 = best_of(lambda: em(tp, lam, init=ty, max_iter=1, tol=0), repeats)
    t3 = best_of(lambda: em(tp, lam, init=ty, max_iter=3, tol=0), repeats)
    timings["torch_em_iter"] = max(t3 - t1, 0.0) / 2
    timings["python_m_step"] = kernels["python_m_step"]
    return timings


def table1_report(
    n: int = 10_000,
    ks: Sequence[int] = (2, 20, 200),
    lam: float = 100.0,
    *,
    em_iters: int = 2000,
    pgd_iters: int = 20_000,
    pgd_seconds_factor: float = 40.0,
    seed: int = 0,
    timing: bool = True,
    pgd_lr_factors: Optional[Sequence[float]] = None,
    echo=None,
) -> str:
    """Run the race for every K and the kernel timing; return the report as text.

    Each PGD step size runs until it reaches a 1e-3 gap, diverges, or has used
    ``pgd_seconds_factor`` × EM's time to a 1e-2 gap (so a "not reached" is a lower bound on
    the speed-up of at least that factor).
    """
    lines: list[str] = []

    def out(text: str = "") -> None:
        lines.append(text)
        if echo is not None:
            echo(text)

    out(f"# Solver race, eq. 11, N={n}, λ={lam:g}, σ = softmax(3·z), z ~ N(0,1), seed {seed}; certified gaps")
    for k in ks:
        probs = race_problem(n, k, seed=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            em(probs[:2], lam, max_iter=1, tol=0)
            probe = em(probs, lam, max_iter=em_iters, tol=0)
        hist = np.asarray(probe.history)
        best = float(np.min(hist))
        hit = np.flatnonzero((hist - best) / abs(best) <= 1e-2)
        em_t2 = probe.times[hit[0]] if hit.size else probe.times[-1]
        race = solver_race(
            probs,
            lam,
            max_iter=em_iters,
            pgd_max_iter=pgd_iters,
            pgd_seconds=max(pgd_seconds_factor * em_t2, 1.0),
            pgd_lrs=None if pgd_lr_factors is None else [f / (lam * k) for f in pgd_lr_factors],
            pgd_stop_gap=1e-3,
        )
        summary = race.summary
        out()
        out(
            f"## K = {k}  (reference L* = {race.reference:.10g}: {race.reference_source}; {time.perf_counter() - start:.0f} s)"
        )
        out(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        ex = summary[summary.method == EXACT].iloc[0]
        sq = summary[summary.method == ACCELERATED].iloc[0]
        for mine, theirs in ((1e-9, 1e-2), (1e-6, 1e-3)):
            t_ex, t_sq = ex[f"sec@{mine:g}"], sq[f"sec@{theirs:g}"]
            verdict = (
                f"{t_sq / t_ex:.3g}x sooner"
                if np.isfinite(t_ex) and np.isfinite(t_sq)
                else "EM + SQUAREM did not reach it"
                if np.isfinite(t_ex)
                else "exact did not reach it"
            )
            out(
                f"certified: exact to {mine:g} in {t_ex:.3g} s vs {ACCELERATED} to {theirs:g} in {t_sq:.3g} s -> {verdict}"
            )
        is_pgd = summary.method.str.startswith("PGD")
        pgd_rows = summary[is_pgd]
        budgets = race.trace[race.trace.method.str.startswith("PGD")].groupby("method")["seconds"].max()
        for name in ("EM", ACCELERATED):
            em_row = summary[summary.method == name].iloc[0]
            for level in (1e-2, 1e-3):
                col = f"sec@{level:g}"
                em_sec = em_row[col]
                reached = pgd_rows[col].dropna()
                if not np.isfinite(em_sec):
                    out(f"gap {level:g}: {name} did not reach it within {em_iters} iterations")
                elif len(reached):
                    out(
                        f"gap {level:g}: {name} {em_sec:.3g} s vs best PGD {reached.min():.3g} s -> "
                        f"PGD/{name} = {reached.min() / em_sec:.3g}x"
                    )
                else:
                    out(
                        f"gap {level:g}: {name} {em_sec:.3g} s; no PGD step size reached it within {budgets.max():.3g} s "
                        f"-> PGD/{name} > {budgets.max() / em_sec:.3g}x"
                    )
    if timing:
        out()
        out(f"## Per-iteration cost at N={n}, K={max(ks)} (best of 5)")
        t = kernel_timing(n, max(ks))
        for key, value in t.items():
            out(f"{key:>14}: {value * 1e3:9.2f} ms")
        out(f"EM iteration / numpy pass      = {t['numba_em_iter'] / t['numpy_pass']:.2f}x (target <= 4)")
        out(f"torch EM iteration / numpy pass = {t['torch_em_iter'] / t['numpy_pass']:.2f}x")
        out(f"python loop / numba M-step     = {t['python_m_step'] / t['numba_m_step']:.1f}x (target >= 20)")
        out(f"python loop / torch M-step     = {t['python_m_step'] / t['torch_m_step']:.1f}x (target >= 20)")
    return "\n".join(lines)
