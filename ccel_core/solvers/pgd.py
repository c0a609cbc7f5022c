"""Projected gradient descent for the pseudo-labels of eq. 10 and eq. 11 (paper Table 1 baseline).

Iterates ``Y ← Proj_Δ(Y − η · N∇L(Y))`` with a row-wise Euclidean projection onto the simplex.
The step is applied to the gradient of the *summed* loss ``N·L`` so that step sizes do not depend
on N. Per point (DESIGN §2, multiplied by N):

* eq. 10: ``N ∂L/∂y_i = −σ_i/(σ_i·y_i) + λ (ln(ȳ/u) + 1)``
* eq. 11: ``N ∂L/∂y_i = −σ_i/(σ_i·y_i) − λ u/ȳ``

The projection is the sort-based algorithm of Held et al. (1974), Duchi et al. (2008) and
Chen & Ye (2011): with ``μ`` the row sorted decreasingly, ``ρ = max{j : μ_j > (Σ_{r≤j} μ_r − 1)/j}``
and ``θ = (Σ_{r≤ρ} μ_r − 1)/ρ``, the projection is ``max(v − θ, 0)``.
"""

from __future__ import annotations

import time
import warnings
from typing import Optional

import numpy as np
import torch

from ._common import (
    Array,
    ConvergenceWarning,
    SolverResult,
    check_nonnegative,
    eq10_loss,
    eq11_loss,
    has_converged,
    prepare,
)

__all__ = ["pgd", "project_simplex"]

_OBJECTIVES = ("eq11", "eq10")
_TINY = 1e-300


def project_simplex(v: Array) -> Array:
    """Euclidean projection of each row of ``v`` (…×K) onto the probability simplex.

    ``argmin_{x ∈ Δ_K} ‖x − v‖₂`` row by row; numpy in → numpy out, torch in → torch out.
    """
    k = v.shape[-1]
    if isinstance(v, torch.Tensor):
        mu = torch.sort(v, dim=-1, descending=True).values
        css = mu.cumsum(dim=-1) - 1.0
        idx = torch.arange(1, k + 1, dtype=v.dtype, device=v.device)
        cond = mu - css / idx > 0
        rho = cond.to(torch.int64).cumsum(dim=-1).argmax(dim=-1, keepdim=True)  # last True
        theta = css.gather(-1, rho) / (rho + 1).to(v.dtype)
        return (v - theta).clamp_min(0.0)
    mu = -np.sort(-v, axis=-1)
    css = np.cumsum(mu, axis=-1) - 1.0
    idx = np.arange(1, k + 1, dtype=v.dtype)
    cond = mu - css / idx > 0
    rho = k - 1 - np.argmax(cond[..., ::-1], axis=-1)  # last True (the first entry is always True)
    theta = np.take_along_axis(css, rho[..., None], axis=-1) / (rho[..., None] + 1)
    return np.maximum(v - theta, 0.0)


def _gradient(sig: Array, y: Array, lam: float, prior: Array, objective: str) -> Array:
    """N·∇L with denominators floored at 1e-300 so a boundary iterate never yields Inf/NaN."""
    is_torch = isinstance(y, torch.Tensor)
    s = (sig * y).sum(-1, keepdims=True) if not is_torch else (sig * y).sum(-1, keepdim=True)
    ybar = y.mean(0)
    if is_torch:
        s = s.clamp_min(_TINY)
        ybar = ybar.clamp_min(_TINY)
        fair = lam * (torch.log(ybar / prior) + 1.0) if objective == "eq10" else -lam * prior / ybar
    else:
        s = np.maximum(s, _TINY)
        ybar = np.maximum(ybar, _TINY)
        fair = lam * (np.log(ybar / prior) + 1.0) if objective == "eq10" else -lam * prior / ybar
    return -sig / s + fair


def pgd(
    probs: Array,
    lam: float = 100.0,
    *,
    objective: str = "eq11",
    lr: float = 0.1,
    prior: Optional[Array] = None,
    init: Optional[Array] = None,
    max_iter: int = 1000,
    tol: float = 1e-5,
) -> SolverResult:
    """Pseudo-labels for eq. 10 or eq. 11 by projected gradient descent with a fixed step.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy or torch).
        lam: fairness weight λ >= 0.
        objective: ``"eq11"`` (``λ KL(u‖ȳ)``) or ``"eq10"`` (``λ KL(ȳ‖u)``; needs ``prior > 0``).
        lr: step size η on the gradient of ``N·L`` (a per-point scale, independent of N).
        prior: class proportions u on the simplex (default uniform).
        init: starting point Y0 (default σ).
        max_iter, tol: stop after ``max_iter`` steps or when the relative loss change is
            below ``tol``; ``ConvergenceWarning`` when ``max_iter`` is hit with ``tol > 0``.

    Returns:
        :class:`SolverResult` with the objective's history (index 0 = at ``init``).
    """
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not valid; expected one of {_OBJECTIVES}")
    check_nonnegative(lr, "lr")
    if lr == 0:
        raise ValueError("lr=0 is not valid; expected a step size > 0")
    pb = prepare(probs, lam, prior, init, max_iter=max_iter, tol=tol)
    sig, u, y = pb.probs, pb.prior, pb.init
    if objective == "eq10" and float(u.min()) <= 0:
        raise ValueError(f"objective='eq10' needs a strictly positive prior (KL(ȳ‖u) is infinite otherwise); got min(prior)={float(u.min()):.3g}")
    loss_fn = eq11_loss if objective == "eq11" else eq10_loss
    start = time.perf_counter()
    history = [loss_fn(sig, y, lam, u)]
    times = [time.perf_counter() - start]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        y = project_simplex(y - lr * _gradient(sig, y, lam, u, objective))
        history.append(loss_fn(sig, y, lam, u))
        times.append(time.perf_counter() - start)
        if tol > 0 and has_converged(history[-2], history[-1], tol):
            converged = True
            break
    if tol > 0 and not converged:
        warnings.warn(
            f"pgd did not converge: relative loss change still above tol={tol:g} after max_iter={max_iter} iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return SolverResult(pb.output(y), n_iter, converged, history, times)
