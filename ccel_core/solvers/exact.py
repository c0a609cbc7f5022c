"""The certified exact y-step for eq. 11 and eq. 10: a structured primal-dual interior-point method.

Minimizes ``P(Y) = mean_i −ln(σ_i·y_i) + G(m)``, ``m = ȳ``, over rows ``y_i ∈ Δ_K``, with
``G(m) = λ Σ_k u_k ln(u_k/m_k)`` (eq. 11) or ``λ Σ_k m_k ln(m_k/u_k)`` (eq. 10), and returns when the
certificate of :mod:`.certificate` proves ``(P(Y) − P*)/P ≤ tol``.

Why not EM: the optimum lies on the boundary of the simplex (most optimal ``y_i`` are one-hot), which
EM's strictly interior multiplicative iterates approach only linearly. Why not plain dual Newton: at
the dual optimum a few points need three or more nonzeros and the dual is not differentiable there
(measured: stalls at 1e-4 on some 250 × 10 batches).

Method (with ``f = N·P``, slacks ``z ≥ 0`` for ``y ≥ 0``, complementarity ``μ = mean y∘z``):

1. Mehrotra predictor-corrector steps on ``∇f − z + ν1 = 0``, ``y∘z = σμ``, ``Σ_k y_ik = 1``.
   The Newton matrix is ``H + diag(z/y)`` with ``H = ⊕_i r_i r_iᵀ + (1_N1_Nᵀ ⊗ diag(G''(m)/N))``,
   ``r_i = σ_i/a_i``, ``a_i = σ_i·y_i``: per point diagonal + rank one (+ its simplex constraint),
   coupled only through the K column sums. With the projected block inverses
   ``M_i = B_i⁻¹ − (B_i⁻¹1)(B_i⁻¹1)ᵀ/(1ᵀB_i⁻¹1)``, ``B_i = diag(z_i/y_i) + r_i r_iᵀ``
   (Sherman-Morrison), the column sums ``s = Σ_i Δ_i`` solve the K×K system
   ``(I + S·diag(G''/N)) s = Σ_i M_i(−g_i)``, ``S = Σ_i M_i`` (one Gram product of the points' scaled factors), and
   ``Δ_i = M_i(−g_i − diag(G''/N) s)``: O(N K²) per step, one K×K solve. While a step is short
   (< 0.7), up to two Gondzio centrality correctors reuse the factors (real MNIST batches: 17.6 →
   13.5 interior steps on average, the longest 44 → 34). Without a callback an interior iterate
   is certified only once the method's own gap estimate ``K·μ/P`` is below ``max(100·tol, 1e-6)``
   (earlier certificates cannot pass; they had cost a quarter of the solve), and from 1e-6 on the
   face it identifies (numpy; item 3).
2. End-game: Newton on the face of the simplex that the interior iterate identifies (support
   ``y_ik > z_ik``, the primal-dual indicator), where P is smooth — tried for 3 steps as soon as
   ``K·μ/P < 1e-7`` (numpy; again each time it has fallen 100×), and for good when the certificate stops
   improving (float64 limits the interior method: on real batches its Newton systems lose
   accuracy from ``K·μ/P ≈ 1e-8``, as ``y/z`` spreads past 1e-9…1e9). The same block + Schur solve
   with ``diag(z/y)`` replaced by ``ε = 3e-4`` on the support (a proximal term that fixes the
   flat directions of degenerate points, whose split the column-sum coupling decides, and damps
   them: with ε = 1e-6 the first face step from a 1e-7 iterate often jumped to 1e-3 and 20–25 % of
   the batches of later epochs (seeds 2, 4, 5) stopped uncertified at 1e-8…1e-6; with 3e-4, 0–2 %)
   and no movement off it. Active set: small entries a full step would make negative leave the support
   (all at once); a trust radius bounds steps along degenerate points' flat directions; when
   Newton settles on a face that the certificate does not accept, points whose own gap term is
   large get their envelope's active lines added. After 6 steps without halving its certificate
   the end-game gives up and the best certified iterate is returned (measured: a few real MNIST
   batches of late epochs stop at ~1e-8…2e-7 this way).
3. The certificate of a face iterate uses the polished multipliers of
   :func:`~.certificate.polished_multipliers` (the support lines of every point meeting at
   ``p_i = 1/a_i``): at degenerate points ``c(m(Y))`` is only first-order accurate, which had held
   250 × 100 problems at ~2e-8; polished, they certify 1e-10. An interior iterate under the gate
   is certified the same way as labels on the face it identifies (``y > z``; entries off it set to 0,
   rows rescaled): the plain bound ``D(c(m(Y)))`` of the interior iterate itself stalls at ~1e-6 on
   real MNIST batches, while its face's polished bound follows ``K·μ/P`` down to ~1e-8, so most
   batches certify without the end-game (late MNIST-test batches: face steps per batch 3.5 → 1.0,
   200 of 200 certified ≤ 1e-8 instead of 196).

Every iterate is feasible; ``gaps`` records, per iteration, the certified relative gap of the best
certified iterate so far.
Returned ``duals`` are the class multipliers ``c = −∇G(m)`` (eq. 11: ``λu/m``) shifted so that
``max_k c_k = 0`` (the envelope, hence the labels they define, is shift-invariant); ``duals=``
warm-starts a re-solve of nearly the same problem.
Measured (λ = 100, σ = softmax(3z)): 10–25 iterations to 1e-9 for K ≤ 200; real training batches
(digits, MNIST-test) 9–15 interior and face steps on average (benchmarks/RESULTS.md). At λ = 1e6
(250 × 10) float64 is at its edge (certified 9e-9 … 3e-3 by the last digits); from λ ≈ 1e8 rounding
in ``c ≈ λu/m`` limits the certificate (to ~1 at 1e8…1e10, ~1e2 at 1e307): the solver warns and
returns its best certified iterate (a step float64 cannot compute ends the phase).

The interior phase lives in :mod:`._interior`, the end-game in :mod:`._face`, their shared Newton
system in :mod:`._ipm`, the trace of best certified iterates (:class:`~._trace.BestTrace`) in
:mod:`._trace` and the fused numba kernels in :mod:`._exact_kernels`.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Optional

import numpy as np
import torch

from ._common import (
    BUDGET,
    CONVERGED,
    MAX_ITER,
    STALLED,
    Array,
    ConvergenceWarning,
    SolverResult,
    check_prior_for,
    format_gap,
    prepare,
    warn_not_converged,
)
from ._face import face_newton
from ._interior import interior_point
from ._ipm import Problem
from ._trace import BestTrace
from .certificate import OBJECTIVES, class_multipliers, labels_from_duals

__all__ = ["exact"]

_WARM_STEPS = 3  # face steps from a duals warm start before falling back to the interior method
_WARM_MAX = 1e-3  # a warm start is tried only when its face's first certificate is below this

_SMALL = 200_000  # label entries below which BLAS runs single-threaded during a solve …
_SERIAL = 131_072  # … when S's Gram product (K × 2N × K) has more multiply-adds than this, or K² ≥ 10,000 (an LU)
_blas: Any = None


def _blas_limit(n: int, k: int) -> Any:
    """Single-threaded BLAS for small problems (per-batch y-steps). Their K×K products and solves
    are tiny, and OpenBLAS's worker threads, left spinning after every call, took the CPU from
    torch's threads between y-steps: measured on 2 cores, a 10-epoch MNIST-test fit took 5.35 s
    with them and 1.55 s without (the EM y-step, which calls no BLAS, 2.9 s). The limit itself costs
    ≈ 25–45 µs (threadpoolctl reads and restores every library's setting), so it is skipped where
    no BLAS call would start a thread: OpenBLAS runs a GEMM of at most 4 · 65,536 multiply-adds (half of
    that is the bound here), and an LU of fewer than 10,000 entries, on the calling thread; the K × K
    inverse from K = 32 is within these for the N the Gram bound lets through (N ≤ 64 there). At
    250 × 10 (50,000) a MNIST-test fit took the same time with and without the limit (2.92–3.10 s,
    three fits each)."""
    global _blas
    if n * k >= _SMALL or (2 * n * k * k <= _SERIAL and k * k < 10_000):
        return contextlib.nullcontext()
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


# fmt: off
def exact(probs: Array, lam: float = 100.0, *, objective: str = "eq11", prior: Optional[Array] = None,
          init: Optional[Array] = None, duals: Optional[Array] = None, max_iter: int = 100, tol: float = 1e-9,
          callback: Optional[Callable[[Array], None]] = None, validate: bool = True) -> SolverResult:
    # fmt: on
    """Pseudo-labels minimizing eq. 11 (or eq. 10) with a certified relative optimality gap ≤ ``tol``.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy or torch; torch stays on its device,
            the certificate's envelope scan runs on the CPU).
        lam: fairness weight λ >= 0.
        objective: ``"eq11"`` (``λ KL(u‖ȳ)``, ours) or ``"eq10"`` (``λ KL(ȳ‖u)``; needs ``prior > 0``).
        prior: class proportions u on the simplex (default uniform).
        init: a start Y0 (e.g. the previous labels); it is moved into the interior
            (``½ Y0 + ½ (½σ + ½/K)``). Default ``½σ + ½/K``. The optimum does not depend on it.
        duals: K class multipliers from an earlier result's ``.duals`` (warm start): the face
            those multipliers pick (each point's vertex or edge minimizer) is solved by Newton
            with active-set additions when its first certificate is below 1e-3; if that does not
            certify ``tol`` within a few steps, the interior-point method runs from the default
            start. It pays for re-solves of nearly the same problem (e.g. after a small change of
            σ); the multipliers of different batches differ too much (measured).
        max_iter: cap on iterations (interior-point and end-game steps together).
        tol: target for the certified relative gap ``(P(Y) − D)/P``; 0 runs to ``max_iter``.
        callback: called after every iterate with the labels ``history`` records there — the best
            certified so far (float64, N×K, on the input's backend; e.g. to animate the iterations).

        validate: check the values of ``probs``/``prior``/``init`` (default); ``False`` trusts them
            (the trainer's y-steps, whose σ are softmax outputs already checked finite).

    Returns:
        :class:`SolverResult` with ``history`` and ``gaps`` per iterate tried (index 0 = the start):
        P and the certified relative gap (≥ 0) of the best certified iterate so far — an end-game
        may try worse points, the trace does not climb with them; ``duals`` (``c = −∇G(ȳ)`` shifted
        to ``max c = 0``), ``converged`` (``gaps[-1] <= tol``; otherwise a ``ConvergenceWarning``) and
        ``status``/``message`` (why it stopped). The labels are the best certified iterate, whose
        loss is ``history[-1]``.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not valid; expected one of {OBJECTIVES}")
    pb = prepare(probs, lam, prior, init, max_iter=max_iter, tol=tol, validate=validate)
    sig, u, y0 = pb.probs, pb.prior, pb.init
    if isinstance(sig, np.ndarray):
        # C order for every array the kernels see (derived ones follow σ's order): numba reuses a
        # compiled specialization whose layout the arguments convert to; one layout, one code path
        sig, u = np.ascontiguousarray(sig), np.ascontiguousarray(u)
        y0 = None if y0 is None else np.ascontiguousarray(y0)
    ops = pb.backend
    lam = float(lam)
    check_prior_for(objective, u)
    n, k = sig.shape
    base = 0.5 * sig + 0.5 / k
    y = base if init is None else 0.5 * y0 + 0.5 * base
    problem = Problem(sig, lam, u, objective, ops)
    record = BestTrace(callback)
    with _blas_limit(n, k):
        if k == 1:
            y = sig * 0.0 + 1.0
            loss, rel = problem.certify(y)
            record(loss, y, rel)
        elif duals is not None:  # warm start: the face the given multipliers pick, then Newton there
            c = _duals_vector(duals, k)
            y = labels_from_duals(problem.sig_np, c - c.max(), problem.order)
            y = ops.asarray(y)
            if problem.certify(y, polish=True)[1] <= _WARM_MAX:  # else not worth it: a cold start
                face_newton(problem, y, y > 0, max_iter, tol, record, steps=_WARM_STEPS)
            y = base
        if record.best_rel > tol:
            y_int, z, on_face_rel = interior_point(problem, y, max_iter, tol, record)
            if record.best_rel > tol and record.count <= max_iter:
                face_newton(problem, y_int, y_int > z, max_iter, tol, record, certified=on_face_rel)
    # The labels are the best certified iterate, and the record (best so far) ends with them.
    y, converged = record.best_y, record.best_rel <= tol
    gap = format_gap(record.best_rel)
    if converged:
        status = CONVERGED
        message = f"certified relative gap {gap} <= tol={tol:g}" if tol > 0 else "certified gap 0 to rounding (tol=0)"
    elif tol == 0:
        status, message = BUDGET, f"ran its budget of max_iter={max_iter} iterations (tol=0): certified gap {gap}"
    elif record.count > max_iter:
        status, message = MAX_ITER, f"max_iter={max_iter} reached: certified gap {gap} still above tol={tol:g}"
        warn_not_converged("exact", f"certified gap {gap} still above tol={tol:g}", max_iter)
    else:
        status = STALLED
        message = (
            f"stalled: the end-game stopped improving the certified gap at {gap}, above tol={tol:g} "
            "(float64 limits the certificate, e.g. at very large λ)"
        )
        warnings.warn(f"exact {message}", ConvergenceWarning, stacklevel=2)
    c = class_multipliers(y.sum(0) / n, lam, u, objective)  # the mean (numpy's mean: 5 µs of Python more)
    return SolverResult(
        pb.output(y), record.count - 1, bool(converged), record.history, record.times, record.gaps, c, status, message
    )


def _duals_vector(duals: Any, k: int) -> np.ndarray:
    if isinstance(duals, torch.Tensor):
        duals = duals.detach().cpu().double().numpy()
    try:
        c = np.asarray(duals, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"duals must be {k} numbers, got {type(duals).__name__}: {exc}") from None
    if c.shape != (k,) or not np.isfinite(c).all():
        raise ValueError(f"duals must be {k} finite numbers (an earlier result's .duals), got shape={c.shape}")
    return c
