"""The paper's EM algorithm for the pseudo-labels of eq. 11 (docs/math.md §4, paper section 4).

Minimizes ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)`` over rows ``y_i ∈ Δ_K``.

* E-step: ``S_ik = y_ik / Σ_j y_jk`` (Jensen's bound on ``−ln ȳ_k``).
* M-step, per point: minimize ``−ln(σ·y) − Σ_k w_k ln y_k`` with ``w_ik = λ N u_k S_ik``.
  With ``β = 1 + Σ_k w_k`` the solution is ``y_k = (w_k/β) · z/(z − σ_k)`` where ``z > max σ``
  is the root of ``g(z) = Σ_k w_k σ_k/(z − σ_k) = 1`` (the kernels and their numerics:
  :mod:`._em_kernels` for numpy, :mod:`._m_step` for torch and :func:`m_step`).
* Optional SQUAREM extrapolation of the EM map in ``θ = ln Y`` (``accelerate=True``).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np
import torch

from ._backend import Array, Backend
from ._common import (
    SolverResult,
    change_rule_outcome,
    check_nonnegative,
    has_converged,
    label_objective,
    prepare,
)
from ._em_kernels import em_step_serial, m_step_numba, threaded
from ._m_step import m_step, m_step_timings, m_step_torch
from ._trace import Trace
from .certificate import certify as certify_labels
from .certificate import slope_order

__all__ = ["em", "m_step", "m_step_timings", "positive_start", "START_FLOOR"]

# The default start Y0 = σ is floored here (rows renormalized): EM's multiplicative updates keep
# a zero at zero (paper Property 1), so a class with σ = 0 at every point (float32 softmax
# underflow) would otherwise stay empty and eq. 11 infinite. Warm starts in the trainer too.
START_FLOOR = 1e-8


def positive_start(y: Array) -> Array:
    """Rows of ``y`` floored at :data:`START_FLOOR` and renormalized (a strictly positive EM start)."""
    y = Backend.clamp_min(y, START_FLOOR)
    return y / y.sum(1, keepdims=True)  # type: ignore[call-overload]  # torch takes numpy's keepdims= too


def _em_update(sig: Array, y: Array, scale: Array, roots: Array) -> tuple[Array, Array]:
    """One M-step with ``w = y ⊙ scale``; returns the new labels and the dots ``σ_i·y_i``.

    ``roots`` carries each point's Newton root from one EM iteration to the next (warm start).
    The numpy path updates ``y`` in place (one fused pass, no N×K temporary).
    """
    if isinstance(y, torch.Tensor):
        assert isinstance(sig, torch.Tensor) and isinstance(scale, torch.Tensor) and isinstance(roots, torch.Tensor)
        y = m_step_torch(sig, y * scale, roots)
        return y, (sig * y).sum(1)
    assert isinstance(sig, np.ndarray) and isinstance(scale, np.ndarray) and isinstance(roots, np.ndarray)
    dots = np.empty(y.shape[0])
    m_step_numba(sig, y, scale, y, dots, roots)
    return y, dots


def _global_sum(parts: list, all_reduce: Optional[Callable], vector: bool = False) -> Any:
    """Sums over processes of scalars (a list of floats back) or of one vector (``vector=True``)."""
    if all_reduce is None:
        return parts[0] if vector else [float(p) for p in parts]
    packed = parts[0].clone() if vector else torch.stack([torch.as_tensor(p, dtype=torch.float64) for p in parts])
    all_reduce(packed)
    return packed if vector else [float(p) for p in packed]


def em(
    probs: Array,
    lam: float = 100.0,
    *,
    prior: Optional[Array] = None,
    init: Optional[Array] = None,
    max_iter: int = 1000,
    tol: float = 1e-5,
    all_reduce: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    accelerate: bool = False,
    certify: bool = False,
    gap_tol: Optional[float] = None,
    validate: bool = True,
) -> SolverResult:
    """Pseudo-labels minimizing eq. 11, ``mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``, by EM.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy → numba kernel; torch → torch
            kernel on the tensor's device).
        lam: fairness weight λ >= 0 (paper default 100).
        prior: target class proportions u on the simplex (default uniform 1/K).
        init: warm start Y0, used as given (a class that is 0 at every point stays 0: Property 1);
            default σ floored at ``START_FLOOR`` = 1e-8 and renormalized, so every class is reachable.
        max_iter: maximum EM iterations.
        tol: stop when the relative loss change falls below ``tol`` (the paper's stop is 1e-5);
            ``tol=0`` runs exactly ``max_iter`` iterations without a warning. The stop counts as
            convergence only where the certificate of the returned labels agrees (≤ ``gap_tol``,
            else ≤ ``STALL_GAP`` = 0.05): a stuck iterate whose loss does not move is ``"stalled"``,
            with a ``ConvergenceWarning`` (:func:`~._common.change_rule_outcome`).
        all_reduce: for data-parallel runs, a function summing a float64 tensor over processes
            in place (e.g. ``torch.distributed.all_reduce``); each process passes its own rows.
            One call per iteration carries the K column sums ``Σ_j y_jk`` and the loss terms.
        accelerate: SQUAREM extrapolation of the EM map (Varadhan & Roland 2008, scheme S3) in
            ``θ = ln Y``: from ``Y0`` two EM steps give ``r = θ1 − θ0``, ``v = θ2 − 2θ1 + θ0``;
            ``θ' = θ0 + 2αr + α²v`` with ``α = ‖r‖/‖v‖`` clipped to ``[1, α_max]`` (rows
            renormalized), then one EM step from ``θ'``, kept only if its loss is below the
            second step's (otherwise a plain third EM step: the loss never increases). Each cycle counts as its three
            EM steps in ``n_iter`` and ``history``. EM converges linearly and slowly when
            λ is large; this typically needs several times fewer steps.
        certify: record the certified relative gap of every iterate in ``gaps``
            (:func:`~ccel_core.solvers.certified_gap`, O(N K log K) each, on the CPU — about one EM
            step at 250 × 10, hence opt-in; not with ``all_reduce``); ``times`` leave its cost out.
        gap_tol: also stop (converged) once the certified relative gap is ≤ ``gap_tol``; implies
            ``certify=True``. ``tol=0, gap_tol=1e-6`` stops on the certificate alone (with ``tol > 0``
            a change-rule stop above ``gap_tol`` is "stalled").

        validate: check the values of ``probs``/``prior``/``init`` (default); ``False`` trusts them
            (the trainer's y-steps, whose σ are softmax outputs already checked finite) and skips the
            certificate of a change-rule stop (the hot path: there the change rule alone decides).

    Returns:
        :class:`SolverResult` whose ``history`` holds eq. 11 at the start and after each
        iteration (the loss never increases: the E-step is a Jensen upper bound, docs/math.md §4),
        and ``status``/``message``: converged, stalled, max_iter or budget (tol=0), and why.
    """
    pb = prepare(
        probs, lam, prior, init, max_iter=max_iter, tol=tol, allow_empty=all_reduce is not None, validate=validate
    )
    be = pb.backend
    if all_reduce is not None and not be.torch:
        raise ValueError("all_reduce needs torch tensors; got a numpy array for probs")
    sig, u, y = pb.probs, pb.prior, pb.init
    if init is None:
        y = positive_start(y)
    trace = Trace()

    def global_stats(y: Array, dots: Array) -> tuple[Array, float, float]:
        """(column sums Σ_i y_ik, Σ_i −ln σ_i·y_i, N), summed over processes when distributed."""
        col = y.sum(0)
        log_sum = -be.log(dots).sum()
        if all_reduce is None:
            return col, float(log_sum), float(y.shape[0])
        packed = torch.cat(
            [col, log_sum.reshape(1), torch.tensor([float(y.shape[0])], dtype=torch.float64, device=y.device)]
        )
        all_reduce(packed)
        return packed[:-2], float(packed[-2]), float(packed[-1])

    col, log_sum, n_total = global_stats(y, (sig * y).sum(1))
    if n_total == 0:  # every process passed an empty shard: nothing to solve
        return SolverResult(pb.output(y), 0, True, [math.nan], [0.0], status="converged", message="no rows to solve")
    roots = be.zeros(y.shape[0])
    loss = label_objective(log_sum, n_total, col, lam, u)
    lib = be.lib
    if gap_tol is not None:
        check_nonnegative(gap_tol, "gap_tol")
        certify = True
    if certify and all_reduce is not None:
        raise ValueError("certify=True needs every row in one process; it is not supported with all_reduce")
    if certify:  # every iterate's gap in the trace, the certificate's own time kept out of ``times``
        sig_np = be.to_numpy(sig)
        order = slope_order(sig_np)  # σ is fixed: the envelope scan's sort is done once
        trace.certify = lambda y: certify_labels(sig_np, y, lam, u, "eq11", order)[2]
    trace(loss, y)

    # Small numpy problems (per-batch y-steps): the whole iteration is one numba call.
    fused = not be.torch and all_reduce is None and not threaded(sig.shape[0] * sig.shape[1])

    def step(y: Array, col: Array) -> tuple[Array, Array, float]:
        """One EM iteration from ``y`` (its column sums ``col``): new labels, sums, loss."""
        if fused:  # numpy: every array of the problem is an ndarray
            assert isinstance(sig, np.ndarray) and isinstance(u, np.ndarray) and isinstance(roots, np.ndarray)
            assert isinstance(y, np.ndarray) and isinstance(col, np.ndarray)
            col_new = np.empty_like(col)
            log_sum = em_step_serial(sig, y, u, float(lam), col, roots, col_new)
            return y, col_new, label_objective(float(log_sum), n_total, col_new, lam, u)
        # E-step folded into the weights: w_ik = λ N u_k y_ik / Σ_j y_jk (0 for an empty column).
        scale = lib.where(col > 0, lam * n_total * u / lib.where(col > 0, col, 1.0), 0.0)
        y, dots = _em_update(sig, y, scale, roots)
        col, log_sum, _ = global_stats(y, dots)
        return y, col, label_objective(log_sum, n_total, col, lam, u)

    step_max = 1.0
    fired = stop = False
    n_iter = 0
    while n_iter < max_iter and not stop:
        before = trace.history[-1]
        if not accelerate or max_iter - n_iter < 3:
            y, col, loss = step(y, col)
            n_iter += 1
            trace(loss, y)
        else:
            y1, col1, loss1 = step(be.copy(y), col)
            y2, col2, loss2 = step(be.copy(y1), col1)
            trace(loss1, y1)
            trace(loss2, y2)
            n_iter += 3
            t0, t1, t2 = (lib.log(lib.clip(a, 1e-300, None)) for a in (y, y1, y2))
            r, v = t1 - t0, t2 - 2.0 * t1 + t0
            norms = _global_sum([(r * r).sum(), (v * v).sum()], all_reduce)
            alpha = math.sqrt(norms[0] / norms[1]) if norms[1] > 0 else 1.0
            alpha = min(max(alpha, 1.0), step_max)
            if alpha == step_max:
                step_max *= 4.0
            theta = t0 + 2.0 * alpha * r + alpha * alpha * v
            yp = be.softmax_rows(theta)
            colp = _global_sum([yp.sum(0)], all_reduce, vector=True)
            y3, col3, loss3 = step(yp, colp)
            if math.isfinite(loss3) and loss3 <= loss2:
                y, col = y3, col3
                trace(loss3, y3)
            else:  # the extrapolation overshot: a plain EM step instead, and a smaller step bound
                y, col, loss = step(y2, col2)
                step_max = max(1.0, alpha / 4.0)
                trace(loss, y)
        fired = tol > 0 and has_converged(before, trace.history[-1], tol)
        stop = fired or (gap_tol is not None and trace.gaps[-1] <= gap_tol)
    gap: Optional[float] = trace.gaps[-1] if trace.gaps else None
    if gap is None and fired and all_reduce is None and validate:  # the change rule, checked by the certificate
        sig_np = be.to_numpy(sig)
        gap = certify_labels(sig_np, y, lam, u, "eq11", slope_order(sig_np))[2]
    converged, status, message = change_rule_outcome(
        "em",
        tol=tol,
        gap_tol=gap_tol,
        fired=fired,
        gap=gap,
        max_iter=max_iter,
        stall_hint="a start with entries near 0 keeps them there (EM's Property 1): start from σ, or use exact()",
        uncertified="data-parallel (all_reduce)" if all_reduce is not None else "validate=False",
    )
    return SolverResult(
        pb.output(y), n_iter, converged, trace.history, trace.times, trace.gaps, status=status, message=message
    )
