"""The race's problem: its names and gap levels, the predictions ``σ`` it solves, PGD's default step
sizes and an independent check of the optimum by CVXPY + Clarabel."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Optional

import numpy as np

from ...solvers._common import format_gap
from ...solvers.certificate import certify as certify_labels
from ...solvers.certificate import slope_order

__all__ = [
    "ACCELERATED",
    "EXACT",
    "EXACT_LEVEL",
    "GAP_LEVELS",
    "HEADLINE_LEVEL",
    "OUTCOMES",
    "PAPER_STOP",
    "Progress",
    "STEP_LIMIT",
    "default_pgd_lrs",
    "race_problem",
    "reference_optimum",
]

GAP_LEVELS = (1e-2, 1e-3, 1e-6, 1e-9)
HEADLINE_LEVEL = 1e-2  # the level of the PGD / EM ratio (and of PGD's budget)
EXACT_LEVEL = 1e-9  # the exact y-step's headline level
ACCELERATED = "EM + SQUAREM"
EXACT = "exact"
PAPER_STOP = 1e-5
OUTCOMES = ("reached", "budget", "diverged")  # how a run ended: its gap target, its budget, divergence
# PGD's fixed steps against the fairness term's curvature ≈ λK (default_pgd_lrs): measured, 2/(λK) itself diverges at K = 200
STEP_LIMIT = "fixed steps above ≈ 2/(λK) diverge, and 2/(λK) itself may"


Progress = Callable[[float, str], None]  # (fraction done in [0, 1], what runs now)


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


# Clarabel settings tried in turn: the race's own, then tighter when the first says "inaccurate".
_CLARABEL_TRIES = (
    {"tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_step_fraction": 0.9},
    {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 500, "max_step_fraction": 0.99},
)


def reference_optimum(
    probs: np.ndarray, lam: float, prior: Optional[np.ndarray] = None, *, max_entries: int = 60_000
) -> tuple[Optional[float], str]:
    """``(L, status)`` by CVXPY + Clarabel, or ``(None, reason)`` when too big or not solved.

    Formulated with the column means as variables, ``m = mean_i y_i``, which Clarabel handles
    far better than ``log(sum(Y, axis=0))`` directly. The interior point is never taken on trust:
    its labels are clipped to the simplex, ``L = P(Y_ip)`` is eq. 11 *at that feasible point* (so
    ``L ≥ L*`` whatever the solver's accuracy), and ``status`` carries the relative gap that the dual
    of the y-step certifies for it. A solve that Clarabel calls "inaccurate" is repeated with tighter
    tolerances; the last status is reported either way.
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
    for settings in _CLARABEL_TRIES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problem.solve(solver=cp.CLARABEL, **settings)
        except Exception as exc:  # solver failures are data, not errors, in a benchmark
            return None, f"clarabel failed: {type(exc).__name__}"
        if problem.status == "optimal":
            break
    if problem.status not in ("optimal", "optimal_inaccurate") or y.value is None:
        return None, f"clarabel status {problem.status}"
    labels = np.clip(np.asarray(y.value, dtype=np.float64), 0.0, None)
    labels /= labels.sum(1, keepdims=True)
    loss, _, rel = certify_labels(probs, labels, lam, u, "eq11", slope_order(probs))
    if not math.isfinite(loss):
        return None, f"clarabel status {problem.status}, but its point has no finite loss"
    return loss, f"clarabel {problem.status}, its point certified to {format_gap(rel)}"
