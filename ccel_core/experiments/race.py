"""The y-step solver race of paper Table 1 — EM vs projected gradient descent on eq. 11 — with the
certified exact y-step beside them.

For predictions ``σ`` (N×K) the pseudo-labels minimize ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``.
Each solver runs from its default start (EM and PGD from ``Y0 = σ``); the race records after every
iteration the loss, the wall time (without the certificate's own cost) and two gaps:

* ``certified`` — the certified relative gap ``(L(Y) − D(c(Y)))/L(Y)`` from the dual of the y-step
  (:func:`ccel_core.solvers.certified_gap`): an upper bound on the true gap that needs no reference;
* ``gap = (L − L*)/|L*|`` against ``L*`` = the exact y-step's certified optimum (within its own
  certified gap, ≤ 1e-10 by default), optionally checked against CVXPY + Clarabel.

The summary gives iterations and seconds until the certified gap is ≤ 1e-2, 1e-3, 1e-6, 1e-9, and
the paper-style stop (the first iteration whose relative loss change is below ``1e-5``) with the
certified gap there. Pure functions: no printing, no plotting.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..solvers import ConvergenceWarning, em, exact, m_step_timings, pgd
from ..timing import best_of

__all__ = [
    "GAP_LEVELS",
    "RaceResult",
    "default_pgd_lrs",
    "kernel_timing",
    "race_problem",
    "reference_optimum",
    "solver_race",
    "summarize_race",
]

GAP_LEVELS = (1e-2, 1e-3, 1e-6, 1e-9)
ACCELERATED = "EM + SQUAREM"
EXACT = "exact"
PAPER_STOP = 1e-5


def race_problem(n: int = 10_000, k: int = 20, *, scale: float = 3.0, seed: int = 0) -> np.ndarray:
    """``σ = softmax(scale · z)`` with ``z ~ N(0, 1)^{N×K}`` from a fixed seed (float64)."""
    if n < 1 or k < 1:
        raise ValueError(f"race problem needs n >= 1 and k >= 1, got n={n}, k={k}")
    z = np.random.default_rng(seed).normal(size=(n, k)) * scale
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def default_pgd_lrs(k: int, lam: float) -> tuple[float, ...]:
    """Three step sizes around the stability limit of the fairness term.

    At ``ȳ ≈ u = 1/K`` the Hessian of ``N·λ KL(u‖ȳ)`` along the all-points direction has norm
    ``λ u_k/ȳ_k² ≈ λK``, so fixed steps beyond ``≈ 2/(λK)`` oscillate; we try ``{0.5, 1, 2}/(λK)``.
    """
    base = 1.0 / (max(lam, 1e-12) * k)
    return (0.5 * base, 1.0 * base, 2.0 * base)


def reference_optimum(
    probs: np.ndarray, lam: float, prior: Optional[np.ndarray] = None, *, max_entries: int = 60_000
) -> tuple[Optional[float], str]:
    """``(L*, status)`` by CVXPY + Clarabel, or ``(None, reason)`` when too big or not solved.

    Formulated with the column means as variables, ``m = mean_i y_i``, which Clarabel handles
    far better than ``log(sum(Y, axis=0))`` directly.
    """
    n, k = probs.shape
    if n * k > max_entries:
        return None, f"skipped: N·K = {n * k} > {max_entries}"
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover - cvxpy is a dev/bench extra
        return None, "skipped: cvxpy not installed"
    u = np.full(k, 1.0 / k) if prior is None else np.asarray(prior, dtype=np.float64)
    y = cp.Variable((n, k), nonneg=True)
    m = cp.Variable(k)
    objective = -cp.sum(cp.log(cp.sum(cp.multiply(probs, y), axis=1))) / n - lam * cp.sum(cp.multiply(u, cp.log(m)))
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(y, axis=1) == 1, m == cp.sum(y, axis=0) / n])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(solver=cp.CLARABEL, tol_gap_rel=1e-9, tol_feas=1e-9, max_step_fraction=0.9)
    except Exception as exc:  # solver failures are data, not errors, in a benchmark
        return None, f"clarabel failed: {type(exc).__name__}"
    if problem.status != "optimal":
        return None, f"clarabel status {problem.status}"
    const = float(np.sum(u[u > 0] * np.log(u[u > 0])))
    return float(problem.value) + lam * const, "clarabel optimal"


@dataclass
class RaceResult:
    """Traces of every solver plus the reference they are measured against."""

    trace: pd.DataFrame  # method, iteration, seconds, loss, gap, certified
    reference: float
    reference_source: str
    n: int
    k: int
    lam: float

    @property
    def summary(self) -> pd.DataFrame:
        return summarize_race(self.trace)


def _run_chunked(
    solve, y0, *, max_iter: int, seconds: Optional[float], stop_below: Optional[float], chunk: int = 100
) -> tuple[list[float], list[float], list[float]]:
    """Run a memoryless solver in chunks (warm-started from the last labels) until the iteration
    budget, the time budget, the loss ``stop_below`` or divergence (a non-finite loss); returns
    ``(history, times, certified gaps)``.

    EM and fixed-step PGD depend on the current labels only, so chunked runs equal one long run.
    """
    history: list[float] = []
    times: list[float] = []
    gaps: list[float] = []
    y, done, clock = y0, 0, 0.0
    while done < max_iter:
        res = solve(y, min(chunk, max_iter - done))
        offset = clock
        h, t, g = res.history, res.times, res.gaps
        if history:  # the chunk's first entry is the previous chunk's last
            h, t, g = h[1:], t[1:], g[1:]
        history += h
        gaps += g
        times += [offset + v for v in t]
        clock = times[-1]
        y, done = res.labels, done + res.n_iter
        if not math.isfinite(history[-1]) or (stop_below is not None and history[-1] <= stop_below):
            break
        if seconds is not None and clock >= seconds:
            break
    return history, times, gaps


def solver_race(
    probs: np.ndarray | torch.Tensor,
    lam: float = 100.0,
    *,
    pgd_lrs: Optional[Sequence[float]] = None,
    max_iter: int = 500,
    pgd_max_iter: Optional[int] = None,
    pgd_seconds: Optional[float] = None,
    pgd_stop_gap: Optional[float] = None,
    reference: Optional[float] = None,
    use_interior_point: bool = False,
    accelerated: bool = True,
    exact_tol: float = 1e-10,
) -> RaceResult:
    """Run the exact y-step, EM (the paper's, and SQUAREM-accelerated unless ``accelerated=False``)
    and PGD at several step sizes on eq. 11; return their traces with certified gaps.

    EM runs ``max_iter`` iterations (an accelerated cycle counts its three EM steps); the exact
    y-step runs to the certified gap ``exact_tol``. Each PGD run stops at ``pgd_max_iter`` (default
    ``max_iter``) iterations, after ``pgd_seconds``, once its gap to the exact optimum falls below
    ``pgd_stop_gap``, or when it diverges. ``reference``: a known optimum instead of the exact
    y-step's; ``use_interior_point``: also solve by CVXPY + Clarabel (small N·K) and report it in
    ``reference_source``. ``probs`` numpy → numba kernels; torch → torch kernels on its device.
    """
    n, k = probs.shape
    lrs = tuple(pgd_lrs) if pgd_lrs is not None else default_pgd_lrs(k, lam)
    runs: list[tuple[str, list[float], list[float], list[float]]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em(probs[:2], lam, max_iter=1, tol=0, certify=True)  # compile / warm up outside the clock
        exact(probs[:300], lam, tol=1e-14, max_iter=40)  # loads the interior and face kernels
        best = exact(probs, lam, tol=exact_tol)
        runs.append((EXACT, best.history, best.times, best.gaps))
        res = em(probs, lam, max_iter=max_iter, tol=0, certify=True)
        runs.append(("EM", res.history, res.times, res.gaps))
        if accelerated:
            fast = em(probs, lam, max_iter=max_iter, tol=0, accelerate=True, certify=True)
            runs.append((ACCELERATED, fast.history, fast.times, fast.gaps))
        source = f"exact y-step, certified relative gap {best.gaps[-1]:.1e}"
        if reference is None:
            reference = best.loss
        else:
            source = "given"
        if use_interior_point:
            p = probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else probs
            ip_value, ip_status = reference_optimum(np.asarray(p, dtype=np.float64), lam)
            source += f"; interior point: {ip_status}" + (f", L = {ip_value:.10g}" if ip_value is not None else "")
        stop_below = None if pgd_stop_gap is None else reference + pgd_stop_gap * abs(reference)
        for lr in lrs:
            hist, times, gaps = _run_chunked(
                lambda y, m, lr=lr: pgd(probs, lam, objective="eq11", lr=lr, init=y, max_iter=m, tol=0, certify=True),
                None,
                max_iter=pgd_max_iter or max_iter,
                seconds=pgd_seconds,
                stop_below=stop_below,
            )
            runs.append((f"PGD η={lr:.3g}", hist, times, gaps))
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
    return RaceResult(pd.concat(frames, ignore_index=True), float(reference), source, n, k, float(lam))


def summarize_race(
    trace: pd.DataFrame, levels: Sequence[float] = GAP_LEVELS, paper_stop: float = PAPER_STOP, column: str = "certified"
) -> pd.DataFrame:
    """Per method: iterations/seconds until ``column`` (the certified gap, or ``"gap"``) is ≤ each
    level, and at the paper-style stop. Missing values (NaN) mean not reached within the budget.
    """
    rows = []
    for method, g in trace.groupby("method", sort=False):
        g = g.sort_values("iteration")
        row: dict[str, object] = {"method": method}
        gap = g[column].to_numpy()
        for level in levels:
            hit = np.flatnonzero(gap <= level)
            row[f"iters@{level:g}"] = int(g["iteration"].iloc[hit[0]]) if hit.size else np.nan
            row[f"sec@{level:g}"] = float(g["seconds"].iloc[hit[0]]) if hit.size else np.nan
        loss = g["loss"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            change = np.abs(np.diff(loss)) / np.abs(loss[:-1])
        stop = np.flatnonzero(np.isfinite(change) & (change < paper_stop))
        if stop.size:
            i = stop[0] + 1
            row.update({"stop_iters": int(i), "stop_sec": float(g["seconds"].iloc[i]), "stop_gap": float(gap[i])})
        else:
            row.update({"stop_iters": np.nan, "stop_sec": np.nan, "stop_gap": np.nan})
        row["final_gap"] = float(gap[-1])
        row["sec_per_iter"] = float(g["seconds"].iloc[-1] / max(len(g) - 1, 1))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# per-iteration cost of the M-step kernels
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# the Table 1 benchmark as text (used by benchmarks/solver_race.py and `ccel bench solvers`)
# ------------------------------------------------------------------------------------------
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
