"""The paper's EM algorithm for the pseudo-labels of eq. 11 (DESIGN §2, paper section 4).

Minimizes ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)`` over rows ``y_i ∈ Δ_K``.

* E-step: ``S_ik = y_ik / Σ_j y_jk`` (Jensen's bound on ``−ln ȳ_k``).
* M-step, per point: minimize ``−ln(σ·y) − Σ_k w_k ln y_k`` with ``w_ik = λ N u_k S_ik``.
  With ``β = 1 + Σ_k w_k`` the solution is ``y_k = (w_k/β) · z/(z − σ_k)`` where ``z > max σ``
  is the root of ``g(z) = Σ_k w_k σ_k/(z − σ_k) = 1``.

Numerics of the M-step (the same in the numba and the torch kernel):

* We solve for ``t = z − σ_a`` where ``a`` is the largest-σ class with ``c_a = w_a σ_a > 0``,
  and use the exact gaps ``d_k = σ_a − σ_k``, so ``g(t) = Σ_k c_k/(t + d_k)`` never suffers the
  cancellation ``z − σ_a`` when ``w_a`` is tiny (e.g. 1e-300).
* Newton runs on ``φ(t) = 1/g(t)``, which is concave and increasing (a parallel sum of linear
  functions), so Newton started left of the root climbs monotonically without overshooting, and
  is exact in one step when one term dominates:  ``t ← t + g(g − 1)/(−g'(t))``.
* The left start is the largest single-term root ``t₀ = max_k (c_k − d_k) ≥ w_a σ_a > 0``
  (there ``g(t₀) ≥ 1``); it is never farther than a factor K from the root, which bounds the
  number of Newton steps (at most ``_NEWTON_MAX``; < 10 in practice).
* Zero weights (paper supplementary §9): let ``j`` be the largest-σ class with ``w_j = 0``. If
  ``σ_j > σ_a`` and ``g(σ_j − σ_a) <= 1`` the optimum pins ``z = σ_j`` and class ``j`` receives the
  remaining mass ``1 − Σ_{k≠j} y_k``; otherwise zero-weight classes get 0. With no positive
  weight at all, ``y = e_j``. Nothing divides by zero and no NaN is produced.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable, Optional

import numba
import numpy as np
import torch

from ._common import (
    Array,
    ConvergenceWarning,
    SolverResult,
    kl_prior,
    has_converged,
    prepare,
)

__all__ = ["em", "m_step"]

_NEWTON_MAX = 64
_NEWTON_RTOL = 4.0 * np.finfo(np.float64).eps


# ------------------------------------------------------------------------------------------
# numba kernel (numpy input): one point per prange iteration
# ------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True, fastmath=False)
def _m_step_row(sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray) -> int:
    """M-step of one point with weights ``w_k = y_k · scale_k``; ``out`` may be ``y`` itself.

    Returns the number of Newton steps taken.
    """
    k_count = sig.shape[0]
    a = -1
    j = -1
    wsum = 0.0
    for k in range(k_count):
        wk = y[k] * scale[k]
        wsum += wk
        if wk * sig[k] > 0.0:
            if a < 0 or sig[k] > sig[a]:
                a = k
        elif sig[k] > 0.0 or wk == 0.0:
            if j < 0 or sig[k] > sig[j]:
                j = k
    beta = 1.0 + wsum
    if a < 0:  # no class with positive weight and positive prediction: the rest goes to j
        total = 0.0
        for k in range(k_count):
            wk = y[k] * scale[k]
            out[k] = wk / beta if (wk > 0.0 and sig[k] == 0.0) else 0.0
            total += out[k]
        out[j] = max(0.0, 1.0 - total)
        return 0
    sa = sig[a]
    # Left start: the largest single-term root, or the zero-weight pin if that lies further right.
    t = 0.0
    for k in range(k_count):
        c = y[k] * scale[k] * sig[k]
        if c > 0.0:
            r = c - (sa - sig[k])
            if r > t:
                t = r
    pinned = False
    if j >= 0 and sig[j] > sa:
        tz = sig[j] - sa
        g = 0.0
        for k in range(k_count):
            c = y[k] * scale[k] * sig[k]
            if c > 0.0:
                g += c / (tz + (sa - sig[k]))
        if g <= 1.0:
            t = tz
            pinned = True
        elif tz > t:
            t = tz
    iters = 0
    if not pinned:
        for it in range(_NEWTON_MAX):
            iters = it + 1
            g = 0.0
            g1 = 0.0
            for k in range(k_count):
                c = y[k] * scale[k] * sig[k]
                if c > 0.0:
                    inv = 1.0 / (t + (sa - sig[k]))
                    term = c * inv
                    g += term
                    g1 += term * inv
            if g <= 1.0:
                break
            step = g * (g - 1.0) / g1
            t += step
            if step <= _NEWTON_RTOL * t:
                break
    total = 0.0
    for k in range(k_count):
        wk = y[k] * scale[k]
        if wk * sig[k] > 0.0:
            out[k] = (wk / beta) * (t + sa) / (t + (sa - sig[k]))
        elif wk > 0.0 and sig[k] == 0.0:
            out[k] = wk / beta
        else:
            out[k] = 0.0
        total += out[k]
    if pinned:
        out[j] = max(0.0, 1.0 - total)
    else:
        for k in range(k_count):
            out[k] /= total
    return iters


@numba.njit(parallel=True, cache=True, nogil=True)
def _m_step_numba(sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray, dots: np.ndarray) -> int:
    """All points in parallel: ``out_i = M-step(σ_i, w_i = y_i ⊙ scale)`` and ``dots_i = σ_i·out_i``.

    ``out`` may be ``y`` (in-place EM update, no N×K temporary). Returns the most Newton steps
    any point took.
    """
    n = sig.shape[0]
    iters = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):
        iters[i] = _m_step_row(sig[i], y[i], scale, out[i])
        d = 0.0
        for k in range(sig.shape[1]):
            d += sig[i, k] * out[i, k]
        dots[i] = d
    return iters.max()


# ------------------------------------------------------------------------------------------
# torch kernel: the same arithmetic, vectorized over points
# ------------------------------------------------------------------------------------------
def _m_step_torch(sig: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    c = w * sig
    pos = c > 0
    zmask = ~pos & ((sig > 0) | (w == 0))
    neg_inf = torch.tensor(-torch.inf, dtype=sig.dtype, device=sig.device)
    sa, a = torch.where(pos, sig, neg_inf).max(dim=1)
    sj, j = torch.where(zmask, sig, neg_inf).max(dim=1)
    has_a = pos.any(dim=1)
    beta = 1.0 + w.sum(dim=1)
    sa = torch.where(has_a, sa, torch.zeros_like(sa))
    d = sa.unsqueeze(1) - sig
    zero = torch.zeros_like(c)

    def g_and_slope(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv = torch.where(pos, 1.0 / (t.unsqueeze(1) + torch.where(pos, d, 1.0)), zero)
        term = c * inv
        return term.sum(dim=1), (term * inv).sum(dim=1)

    t = torch.where(pos, c - d, neg_inf).max(dim=1).values.clamp_min(0.0)
    tz = sj - sa
    may_pin = has_a & torch.isfinite(sj) & (sj > sa)
    g_pin, _ = g_and_slope(torch.where(may_pin, tz, torch.ones_like(tz)))
    pinned = may_pin & (g_pin <= 1.0)
    t = torch.where(may_pin, torch.maximum(t, tz), t)
    active = has_a & ~pinned
    for _ in range(_NEWTON_MAX):
        g, g1 = g_and_slope(t)
        active = active & (g > 1.0)
        step = torch.where(active, g * (g - 1.0) / torch.where(active, g1, 1.0), torch.zeros_like(g))
        t = t + step
        active = active & (step > _NEWTON_RTOL * t)
        if not bool(active.any()):
            break
    ratio = (t + sa).unsqueeze(1) / (t.unsqueeze(1) + torch.where(pos, d, 1.0))
    y = torch.where(pos, (w / beta.unsqueeze(1)) * ratio, zero)
    y = torch.where((w > 0) & (sig == 0), w / beta.unsqueeze(1), y)
    total = y.sum(dim=1)
    remainder = pinned | ~has_a
    y = torch.where(remainder.unsqueeze(1), y, y / total.unsqueeze(1))
    rem = (1.0 - total).clamp_min(0.0)
    rows = torch.nonzero(remainder).squeeze(1)
    y[rows, j[rows]] = rem[rows]
    return y


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
def m_step(probs: Array, weights: Array) -> Array:
    """Solve ``min_{y ∈ Δ_K} −ln(σ_i·y) − Σ_k w_ik ln y_k`` for every row (float64).

    ``probs`` (σ) rows on the simplex, ``weights`` (w) non-negative, both N×K, numpy (numba
    kernel, parallel over points) or torch (vectorized kernel, any device).
    """
    if isinstance(probs, torch.Tensor):
        return _m_step_torch(probs.to(torch.float64), weights.to(torch.float64))
    sig = np.ascontiguousarray(probs, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty_like(sig)
    _m_step_numba(sig, w, np.ones(sig.shape[1]), out, np.empty(sig.shape[0]))
    return out


def _em_update(sig: Array, y: Array, scale: Array) -> tuple[Array, Array]:
    """One M-step with ``w = y ⊙ scale``; returns the new labels and the dots ``σ_i·y_i``.

    The numpy path updates ``y`` in place (one fused pass, no N×K temporary).
    """
    if isinstance(y, torch.Tensor):
        y = _m_step_torch(sig, y * scale)
        return y, (sig * y).sum(1)
    dots = np.empty(y.shape[0])
    _m_step_numba(sig, y, scale, y, dots)
    return y, dots


def em(
    probs: Array,
    lam: float = 100.0,
    *,
    prior: Optional[Array] = None,
    init: Optional[Array] = None,
    max_iter: int = 1000,
    tol: float = 1e-5,
    all_reduce: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> SolverResult:
    """Pseudo-labels minimizing eq. 11, ``mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``, by EM.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy → numba kernel; torch → torch
            kernel on the tensor's device).
        lam: fairness weight λ >= 0 (paper default 100).
        prior: target class proportions u on the simplex (default uniform 1/K).
        init: warm start Y0 (default σ, strictly positive as Property 1 wants).
        max_iter: maximum EM iterations.
        tol: stop when the relative loss change falls below ``tol`` (the paper's stop is 1e-5);
            ``tol=0`` runs exactly ``max_iter`` iterations without a warning.
        all_reduce: for data-parallel runs, a function summing a float64 tensor over processes
            in place (e.g. ``torch.distributed.all_reduce``); each process passes its own rows.
            One call per iteration carries the K column sums ``Σ_j y_jk`` and the loss terms.

    Returns:
        :class:`SolverResult` whose ``history`` holds eq. 11 at the start and after each
        iteration; the loss never increases (paper Property 1).
    """
    pb = prepare(probs, lam, prior, init, max_iter=max_iter, tol=tol)
    if all_reduce is not None and not pb.is_torch:
        raise ValueError("all_reduce needs torch tensors; got a numpy array for probs")
    sig, u, y = pb.probs, pb.prior, pb.init
    start = time.perf_counter()

    def global_stats(y: Array, dots: Array) -> tuple[Array, float, float]:
        """(column sums Σ_i y_ik, Σ_i −ln σ_i·y_i, N), summed over processes when distributed."""
        col = y.sum(0)
        lib = torch if pb.is_torch else np
        with np.errstate(divide="ignore"):
            log_sum = -lib.log(dots).sum()
        if all_reduce is None:
            return col, float(log_sum), float(y.shape[0])
        packed = torch.cat([col, log_sum.reshape(1), torch.tensor([float(y.shape[0])], dtype=torch.float64, device=y.device)])
        all_reduce(packed)
        return packed[:-2], float(packed[-2]), float(packed[-1])

    def loss_from(col: Array, log_sum: float, n: float) -> float:
        return log_sum / n + (lam * kl_prior(u, col / n) if lam else 0.0)

    col, log_sum, n_total = global_stats(y, (sig * y).sum(1))
    history = [loss_from(col, log_sum, n_total)]
    times = [time.perf_counter() - start]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        # E-step folded into the weights: w_ik = λ N u_k y_ik / Σ_j y_jk (0 for an empty column).
        if pb.is_torch:
            scale = torch.where(col > 0, lam * n_total * u / torch.where(col > 0, col, 1.0), 0.0)
        else:
            scale = np.where(col > 0, lam * n_total * u / np.where(col > 0, col, 1.0), 0.0)
        y, dots = _em_update(sig, y, scale)
        col, log_sum, _ = global_stats(y, dots)
        history.append(loss_from(col, log_sum, n_total))
        times.append(time.perf_counter() - start)
        if tol > 0 and has_converged(history[-2], history[-1], tol):
            converged = True
            break
    if tol > 0 and not converged:
        warnings.warn(
            f"em did not converge: relative loss change still above tol={tol:g} after max_iter={max_iter} iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return SolverResult(pb.output(y), n_iter, converged, history, times)
