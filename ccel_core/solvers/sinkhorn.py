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
from typing import Optional

import numpy as np

from ._backend import Array, Backend
from ._common import BUDGET, CONVERGED, MAX_ITER, SolverResult, prepare, warn_not_converged
from ._trace import Trace

__all__ = ["sinkhorn"]


def _objective(q: Array, log_sig: Array, lam: float) -> float:
    """``mean_i [−Σ_k q_ik ln σ_ik + Σ_k q_ik ln q_ik / λ]`` with ``0 ln 0 = 0``."""
    ce = -Backend.x_log(q, log_sig).sum(1)
    return float((ce + Backend.xlogy(q, q).sum(1) / lam).mean())


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
    be = pb.backend
    lib = be.lib
    dead = (be.amax(sig, 0) <= 0) & (u > 0)
    if bool(dead.any()):
        cls = int(np.flatnonzero(be.to_numpy(dead))[0])
        raise ValueError(
            f"class {cls} has probability 0 at every point, so prior[{cls}]={float(u[cls]):.3g} > 0 cannot be met; "
            "expected every class with positive prior to have some positive probability"
        )
    log_sig, log_u = be.log(sig), be.log(u)
    log_p = lam * log_sig
    log_n = -math.log(n)
    log_b = be.zeros(k)
    trace = Trace()

    def soft_labels(log_a: Array, log_b: Array) -> Array:
        return lib.exp(log_p + log_a[:, None] + log_b[None, :] - log_n)

    log_a = log_n - be.logsumexp(log_p + log_b[None, :], axis=1)
    q = soft_labels(log_a, log_b)
    trace(_objective(q, log_sig, lam), q)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported after the loop)
        col_lse = be.logsumexp(log_p + log_a[:, None], axis=0)
        # u_k = 0: class k gets no mass (and −inf − (−inf) is never formed)
        log_b = lib.where(u > 0, log_u - lib.where(u > 0, col_lse, 0.0), -math.inf)
        log_rows = be.logsumexp(log_p + log_b[None, :], axis=1)  # ln (P b)_i
        err = float(lib.abs(lib.exp(log_a + log_rows - log_n) - 1.0).sum()) / n
        log_a = log_n - log_rows
        q = soft_labels(log_a, log_b)
        trace(_objective(q, log_sig, lam), q)
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
        q = be.one_hot((log_p + log_b[None, :]).argmax(1), k)
    return SolverResult(pb.output(q), n_iter, converged, trace.history, trace.times, status=status, message=message)
