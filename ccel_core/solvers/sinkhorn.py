"""Sinkhorn-Knopp pseudo-labels of SeLa (paper eq. 4; Asano et al. 2020).

SeLa relaxes ``min_Y mean_i H(y_i, σ_i)`` subject to equipartition ``ȳ = u`` to entropic optimal
transport: with ``P = σ^λ`` (N×K), alternate

    ``a = (1/N) / (P b)``   (rows)        ``b = u / (Pᵀ a)``   (columns)

so that the plan ``T = diag(a) P diag(b)`` has row sums 1/N and column sums u. The soft labels are
``q_i = N T_i`` and SeLa's hard labels are ``argmax_k a_i P_ik b_k``. This is POT's
``ot.sinkhorn(1/N, u, M=−ln σ, reg=1/λ)``. The scalings are kept in log space
(``ln a``, ``ln b`` and ``λ ln σ``) so that ``σ^λ`` never underflows, whatever λ and K.

Objective in ``history``: ``mean_i [H(q_i, σ_i) − H(q_i)/λ]`` (the entropic OT cost, per point).
Convergence: ``‖rowsum(T) − 1/N‖₁ <= tol`` after a column update (column sums are then exact).
"""

from __future__ import annotations

import math
import time
from typing import Any, Optional

import numpy as np
import torch
from scipy.special import logsumexp as np_logsumexp

from ._common import BUDGET, CONVERGED, MAX_ITER, Array, SolverResult, prepare, warn_not_converged

__all__ = ["sinkhorn"]


def _lse(x: Array, axis: int) -> Array:
    if isinstance(x, torch.Tensor):
        return torch.logsumexp(x, dim=axis)
    return np_logsumexp(x, axis=axis)


def _objective(q: Array, log_sig: Array, lam: float) -> float:
    """``mean_i [−Σ_k q_ik ln σ_ik + Σ_k q_ik ln q_ik / λ]`` with ``0 ln 0 = 0``."""
    if isinstance(q, torch.Tensor):
        assert isinstance(log_sig, torch.Tensor)  # both on the problem's backend
        ce = -torch.where(q > 0, q * log_sig, 0.0).sum(1)
        neg_h = torch.xlogy(q, q).sum(1)
        return float((ce + neg_h / lam).mean())
    from scipy.special import xlogy

    with np.errstate(invalid="ignore"):
        ce = -np.where(q > 0, q * log_sig, 0.0).sum(1)
    return float((ce + xlogy(q, q).sum(1) / lam).mean())


def sinkhorn(
    probs: Array,
    *,
    lam: float = 25.0,
    prior: Optional[Array] = None,
    hard: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-9,
    validate: bool = True,
) -> SolverResult:
    """SeLa's balanced pseudo-labels by log-domain Sinkhorn-Knopp on ``P = σ^λ``.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy or torch).
        lam: the power λ > 0 of ``P = σ^λ`` (SeLa uses 25); ``1/λ`` is the entropic
            regularization of the equivalent transport problem.
        prior: column marginal u (class proportions, default uniform).
        hard: return SeLa's one-hot labels ``argmax_k a_i P_ik b_k`` (default) or the soft
            rows ``q_i = N T_i`` of the plan.
        max_iter, tol: stop when the row-marginal error ``‖rowsum(T) − 1/N‖₁ <= tol``.

        validate: check the values of ``probs``/``prior``/``init`` (default); ``False`` trusts them
            (the trainer's y-steps, whose σ are softmax outputs already checked finite).

    Returns:
        :class:`SolverResult`; ``labels`` one-hot or soft (rows sum to 1; ``labels/N`` is the
        transport plan); ``history`` is the entropic objective of the soft labels.
    """
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam <= 0:
        raise ValueError(f"lam={lam!r} is not valid; expected a finite number > 0")
    pb = prepare(probs, lam, prior, None, max_iter=max_iter, tol=tol, validate=validate)
    sig, u = pb.probs, pb.prior
    n, k = sig.shape
    is_torch = pb.is_torch
    lib: Any = torch if is_torch else np
    col_mass = sig.max(0).values if isinstance(sig, torch.Tensor) else sig.max(0)
    dead = (col_mass <= 0) & (u > 0)
    if bool(dead.any()):
        cls = int(dead.nonzero()[0][0]) if not isinstance(dead, torch.Tensor) else int(dead.nonzero()[0, 0])
        raise ValueError(
            f"class {cls} has probability 0 at every point, so prior[{cls}]={float(u[cls]):.3g} > 0 cannot be met; "
            "expected every class with positive prior to have some positive probability"
        )
    with np.errstate(divide="ignore"):
        log_sig = lib.log(sig)
        log_u = lib.log(u)
    log_p = lam * log_sig
    log_n = -math.log(n)
    log_b = lib.zeros(k, dtype=torch.float64, device=sig.device) if is_torch else np.zeros(k)
    start = time.perf_counter()

    def soft_labels(log_a: Array, log_b: Array) -> Array:
        return lib.exp(log_p + log_a[:, None] + log_b[None, :] - log_n)

    log_a = log_n - _lse(log_p + log_b[None, :], axis=1)
    history = [_objective(soft_labels(log_a, log_b), log_sig, lam)]
    times = [time.perf_counter() - start]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported after the loop)
        col_lse = _lse(log_p + log_a[:, None], axis=0)
        # u_k = 0: class k gets no mass (and −inf − (−inf) is never formed)
        log_b = lib.where(u > 0, log_u - lib.where(u > 0, col_lse, 0.0), -math.inf)
        log_rows = _lse(log_p + log_b[None, :], axis=1)  # ln (P b)_i
        err = float(lib.abs(lib.exp(log_a + log_rows - log_n) - 1.0).sum()) / n
        log_a = log_n - log_rows
        q = soft_labels(log_a, log_b)
        history.append(_objective(q, log_sig, lam))
        times.append(time.perf_counter() - start)
        if err <= tol:
            converged = True
            break
    if converged:
        status, message = CONVERGED, f"marginal error {err:.1e} <= tol={tol:g}"
    elif tol > 0:
        status, message = MAX_ITER, f"marginal error still above tol={tol:g}"
        warn_not_converged("sinkhorn", message, max_iter)
    else:
        status, message = BUDGET, f"ran its fixed budget of {max_iter} iterations (tol=0)"
    q = soft_labels(log_a, log_b)
    if hard:
        best = (log_p + log_b[None, :]).argmax(1)
        q = lib.zeros_like(q)
        if is_torch:
            q[torch.arange(n, device=q.device), best] = 1.0
        else:
            q[np.arange(n), best] = 1.0
    return SolverResult(pb.output(q), n_iter, converged, history, times, status=status, message=message)
