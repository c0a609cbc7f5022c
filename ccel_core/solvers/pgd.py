"""Projected gradient descent for the pseudo-labels of eq. 10 and eq. 11 (paper Table 1 baseline).

Iterates ``Y ← Proj_Δ(Y − η · N∇L(Y))`` with a row-wise Euclidean projection onto the simplex.
The step is applied to the gradient of the *summed* loss ``N·L`` so that step sizes do not depend
on N. Per point (docs/math.md §5, multiplied by N):

* eq. 10: ``N ∂L/∂y_i = −σ_i/(σ_i·y_i) + λ (ln(ȳ/u) + 1)``
* eq. 11: ``N ∂L/∂y_i = −σ_i/(σ_i·y_i) − λ u/ȳ``

With ``ce="shannon"`` the first term is Shannon's ``mean_i H(y_i, σ_i)`` instead, whose gradient is
``−ln σ_i``: eq. 10 then is MIADM's y-step (paper eq. 5), solved exactly up to ``tol`` by PGD.

The projection is the sort-based algorithm of Held et al. (1974), Duchi et al. (2008) and
Chen & Ye (2011): with ``μ`` the row sorted decreasingly, ``ρ = max{j : μ_j > (Σ_{r≤j} μ_r − 1)/j}``
and ``θ = (Σ_{r≤ρ} μ_r − 1)/ρ``, the projection is ``max(v − θ, 0)``.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np
import torch

from ._backend import Array, Backend
from ._common import (
    SolverResult,
    change_rule_outcome,
    check_nonnegative,
    check_prior_for,
    eq10_loss,
    eq11_loss,
    fairness,
    has_converged,
    prepare,
)
from ._trace import Trace
from .certificate import certify as certify_labels
from .certificate import slope_order

__all__ = ["pgd", "project_simplex"]

_OBJECTIVES = ("eq11", "eq10")
_CES = ("collision", "shannon")
_TINY = 1e-300
_LOG_TINY = math.log(_TINY)


def project_simplex(v: Array) -> Array:
    """Euclidean projection of each row of ``v`` (…×K) onto the probability simplex.

    ``argmin_{x ∈ Δ_K} ‖x − v‖₂`` row by row; numpy in → numpy out, torch in → torch out.
    Rows are first shifted by their maximum (the projection is invariant to ``v + c·1``), so
    huge entries (a divergent step) still project onto the simplex instead of cancelling.
    """
    k = v.shape[-1]
    if isinstance(v, torch.Tensor):
        v = v - v.max(dim=-1, keepdim=True).values
        mu = torch.sort(v, dim=-1, descending=True).values
        css = mu.cumsum(dim=-1) - 1.0
        idx = torch.arange(1, k + 1, dtype=v.dtype, device=v.device)
        cond = mu - css / idx > 0
        rho = cond.to(torch.int64).cumsum(dim=-1).argmax(dim=-1, keepdim=True)  # last True
        theta = css.gather(-1, rho) / (rho + 1).to(v.dtype)
        return (v - theta).clamp_min(0.0)
    v = v - v.max(axis=-1, keepdims=True)
    mu_np = -np.sort(-v, axis=-1)
    css_np = np.cumsum(mu_np, axis=-1) - 1.0
    idx_np = np.arange(1, k + 1, dtype=mu_np.dtype)  # = v.dtype
    cond_np = mu_np - css_np / idx_np > 0
    rho_np = k - 1 - np.argmax(cond_np[..., ::-1], axis=-1)  # last True (the first entry is always True)
    theta_np = np.take_along_axis(css_np, rho_np[..., None], axis=-1) / (rho_np[..., None] + 1)
    return np.maximum(v - theta_np, 0.0)


def _gradient(sig: Array, log_sig: Array, y: Array, lam: float, prior: Array, objective: str, ce: str) -> Array:
    """N·∇L with denominators floored at 1e-300 so a boundary iterate never yields Inf/NaN."""
    lib = Backend(y).lib
    ybar = lib.maximum(y.mean(0), lib.full_like(prior, _TINY))
    fair = lam * (lib.log(ybar / prior) + 1.0) if objective == "eq10" else -lam * prior / ybar
    if ce == "shannon":
        return -log_sig + fair
    s = (sig * y).sum(-1)[:, None]
    return -sig / lib.maximum(s, lib.full_like(s, _TINY)) + fair


def _loss(sig: Array, log_sig: Array, y: Array, lam: float, prior: Array, objective: str, ce: str) -> float:
    """``mean_i CE(y_i, σ_i) + λ KL`` (collision or Shannon CE; the KL of eq. 10 or eq. 11)."""
    if ce == "collision":
        return (eq10_loss if objective == "eq10" else eq11_loss)(sig, y, lam, prior)
    shannon = float(-Backend.x_log(y, log_sig).sum(-1).mean())
    return shannon + fairness(y.mean(0), lam, prior, objective)


# fmt: off
def pgd(probs: Array, lam: float = 100.0, *, objective: str = "eq11", ce: str = "collision", lr: Optional[float] = None,
        prior: Optional[Array] = None, init: Optional[Array] = None, max_iter: int = 1000, tol: float = 1e-5,
        certify: bool = False, gap_tol: Optional[float] = None, validate: bool = True) -> SolverResult:
    # fmt: on
    """Pseudo-labels for eq. 10 or eq. 11 by projected gradient descent with a fixed step.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy or torch).
        lam: fairness weight λ >= 0.
        objective: ``"eq11"`` (``λ KL(u‖ȳ)``) or ``"eq10"`` (``λ KL(ȳ‖u)``; needs ``prior > 0``).
        ce: ``"collision"`` (``H₂(y_i, σ_i)``, ours) or ``"shannon"`` (``H(y_i, σ_i)``; with eq. 10
            this is MIADM's y-step).
        lr: step size η on the gradient of ``N·L`` (a per-point scale, independent of N); default
            ``1/max(λK, 1)``, stable for both objectives (0.1 diverged to ``inf`` at λ = 100).
        prior: class proportions u on the simplex (default uniform).
        init: starting point Y0 (default σ).
        max_iter, tol: stop after ``max_iter`` steps or when the relative loss change is
            below ``tol``; ``ConvergenceWarning`` when ``max_iter`` is hit with ``tol > 0``. With
            collision CE the change-rule stop counts as convergence only where the certificate of the
            returned labels agrees (≤ ``gap_tol``, else ≤ ``STALL_GAP`` = 0.05); otherwise ``"stalled"``
            with a ``ConvergenceWarning`` (:func:`~._common.change_rule_outcome`).
        certify: record the certified relative gap of every iterate in ``gaps`` (collision CE only:
            the certificate bounds eq. 10/11, :func:`~ccel_core.solvers.certified_gap`); ``times``
            leave its cost out.
        gap_tol: also stop (converged) once the certified relative gap is ≤ ``gap_tol``; implies
            ``certify=True``.

        validate: check the values of ``probs``/``prior``/``init`` (default); ``False`` trusts them
            (the trainer's y-steps, whose σ are softmax outputs already checked finite) and skips the
            certificate of a change-rule stop (the hot path: there the change rule alone decides).

    Returns:
        :class:`SolverResult` with the objective's history (index 0 = at ``init``) and
        ``status``/``message``: converged, stalled, max_iter or budget (tol=0), and why.
    """
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not valid; expected one of {_OBJECTIVES}")
    if ce not in _CES:
        raise ValueError(f"ce={ce!r} is not valid; expected one of {_CES}")
    pb = prepare(probs, lam, prior, init, max_iter=max_iter, tol=tol, validate=validate)
    if lr is None:
        lr = 1.0 / max(float(lam) * pb.probs.shape[1], 1.0)
    check_nonnegative(lr, "lr")
    if lr == 0:
        raise ValueError("lr=0 is not valid; expected a step size > 0")
    sig, u, y = pb.probs, pb.prior, pb.init
    check_prior_for(objective, u)
    be = pb.backend
    log_sig = be.lib.maximum(be.log(sig), be.lib.full_like(sig, _LOG_TINY))  # finite: 0·ln 0 terms vanish
    if gap_tol is not None:
        check_nonnegative(gap_tol, "gap_tol")
        certify = True
    if certify and ce != "collision":
        raise ValueError(f"certify=True bounds eq. 10/11 with collision CE; got ce={ce!r}")
    trace = Trace()
    if certify:  # every iterate's gap in the trace, the certificate's own time kept out of ``times``
        sig_np = be.to_numpy(sig)
        order = slope_order(sig_np)  # σ is fixed: the envelope scan's sort is done once
        trace.certify = lambda y: certify_labels(sig_np, y, lam, u, objective, order)[2]
    trace(_loss(sig, log_sig, y, lam, u, objective, ce), y)
    trace.times[0] = 0.0  # the start; with certify, the setup (σ to the CPU, the sort, the first
    if certify:  # certificate) is kept out of ``times`` with the certificates
        trace.cert_seconds = time.perf_counter() - trace.start
    history = trace.history
    fired = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported after the loop)
        y = project_simplex(y - lr * _gradient(sig, log_sig, y, lam, u, objective, ce))
        trace(_loss(sig, log_sig, y, lam, u, objective, ce), y)
        fired = tol > 0 and has_converged(history[-2], history[-1], tol)
        if fired or (gap_tol is not None and trace.gaps[-1] <= gap_tol):
            break
    gap: Optional[float] = trace.gaps[-1] if trace.gaps else None
    if gap is None and fired and ce == "collision" and validate:  # the change rule, checked by the certificate
        sig_np = be.to_numpy(sig)
        gap = certify_labels(sig_np, y, lam, u, objective, slope_order(sig_np))[2]
    converged, status, message = change_rule_outcome(
        "pgd",
        tol=tol,
        gap_tol=gap_tol,
        fired=fired,
        gap=gap,
        max_iter=max_iter,
        stall_hint="the step lr is too small to move the labels (or the start is stuck): raise lr",
        uncertified="Shannon CE has no certificate here" if ce != "collision" else "validate=False",
    )
    return SolverResult(
        pb.output(y), n_iter, converged, trace.history, trace.times, trace.gaps, status=status, message=message
    )
