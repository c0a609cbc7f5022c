"""The exact y-step's interior phase: Mehrotra predictor-corrector steps of a primal-dual
interior-point method.

With ``f = N·P``, slacks ``z ≥ 0`` for ``y ≥ 0`` and ``μ = mean y∘z``, each step is Newton on
``∇f − z + ν1 = 0``, ``y∘z = σμ``, ``Σ_k y_ik = 1`` (the structured system of :mod:`._ipm`; numpy runs the
fused kernel :func:`~._exact_kernels.pd_steps`), with centering ``σ = max((μ_aff/μ)³, 0.01)`` and a
fraction ``0.995`` to the boundary of ``y`` and of ``a = σ·y``. An iterate is certified once the gap
estimate ``K·μ/P`` allows it (then as labels its projection on the face it identifies, ``y > z``,
certified with multipliers fitted to that face); the phase ends at ``tol`` or when the certificate stalls, and hands the
face an iterate identifies to the end-game (:mod:`._face`) for a few steps as ``K·μ/P`` falls.
The steps no certificate would look at (numpy, no callback, while the best certificate is above
``_STALL_BELOW``: from the start until ``K·μ/P`` reaches the gate) run in one kernel call, the same
iterates as one call per step. The method in full, with measurements: :mod:`.exact`'s docstring (item 1).
"""

from __future__ import annotations

import math
import time
from typing import Any, Optional

import numpy as np

from ._backend import Array
from ._exact_kernels import pd_steps
from ._face import face_newton, on_face
from ._ipm import Problem, blocks, newton
from ._trace import BestTrace

__all__ = ["interior_point"]

_STEP_TO_BOUNDARY = 0.995
_SIGMA_MIN = 0.01  # the centering weight is kept >= this: a faster fall of μ loses float64 accuracy
_STALL = 3  # interior steps without a better certificate before the end-game …
_STALL_BELOW = 1e-5  # … counted once the best certificate is below this

_CERTIFY_AT = 100.0  # interior iterates are certified once K·μ/P <= this × tol (or _CERTIFY_FLOOR) …
_CERTIFY_FLOOR = 1e-6  # … and from this K·μ/P on as labels on the face they identify (numpy)

_P_TINY = 1e-12  # objective values below this are certified whatever K·μ/P says
_TRY_FACE = 1e-7  # K·μ/P at which the interior first hands the face it identifies to the end-game …
_TRY_STEPS = 3  # … for this many face steps; if they do not certify tol the interior goes on, …
_TRY_AGAIN = 1e-2  # … and tries again once K·μ/P has fallen by this factor


def _vectorized_step(pb: Problem, y: Array, z: Array) -> tuple[Array, Array]:
    """One Mehrotra predictor-corrector step (any backend; numpy uses the fused numba kernel)."""
    ops = pb.ops
    a, grad, curv, r = pb.state(y)
    factors = blocks(y / z, r)

    def direction(target: float, corr: Any) -> tuple[Array, Array]:
        comp = (target - corr) / y
        dy = newton(factors, curv, grad - comp, ops)
        return dy, comp - z - (z / y) * dy

    mu = float((y * z).mean())
    dy, dz = direction(0.0, 0.0)  # predictor (affine scaling)
    ap, ad = ops.max_step(y, dy), ops.max_step(z, dz)
    mu_aff = float(((y + ap * dy) * (z + ad * dz)).mean())
    sigma = max((mu_aff / mu) ** 3, _SIGMA_MIN)
    dy, dz = direction(sigma * mu, dy * dz)  # corrector
    # fraction to the boundary for y and for a = σ·y (−ln a is the objective's own barrier)
    alpha = min(ops.max_step(y, dy), ops.max_step(a, (pb.sig * dy).sum(1)))
    y = y + (_STEP_TO_BOUNDARY * alpha) * dy
    y = y / y.sum(1)[:, None]
    z = z + (_STEP_TO_BOUNDARY * ops.max_step(z, dz)) * dz
    return y, z


def _numba_steps(pb: Problem, y: Array, z: Array, gate: float, limit: int) -> tuple[Any, ...]:
    """Fused interior steps (numpy) until the interior method's own relative-gap estimate ``K·μ/P`` is
    at most ``gate`` or ``limit`` steps are taken (:func:`~._exact_kernels.pd_steps`): the new iterate,
    the one before it (None when fewer than two steps were taken), the steps taken, the estimate (0 when
    P is within rounding of 0: certify) and whether the step after the last one failed."""
    assert isinstance(y, np.ndarray) and isinstance(z, np.ndarray)  # the numpy backend's steps
    y, z, y_prev, z_prev, steps, estimate, failed = pd_steps(
        pb.sig_t, y, z, pb.u, pb.lam, pb.eq10, _STEP_TO_BOUNDARY, _SIGMA_MIN, gate, limit, _P_TINY
    )
    if steps < 2:  # no iterate between the start and the last one
        return y, z, None, None, steps, estimate, failed
    return y, z, np.ascontiguousarray(y_prev.T), np.ascontiguousarray(z_prev.T), steps, estimate, failed


def interior_point(
    pb: Problem, y: Array, max_iter: int, tol: float, record: BestTrace
) -> tuple[Array, Array, Optional[float]]:
    """Mehrotra predictor-corrector steps from ``y`` until ``tol`` or the certificate stalls.

    Without a callback (numpy), an iterate is certified only once the interior method's own gap
    estimate ``K·μ/P`` is below ``max(_CERTIFY_AT·tol, _CERTIFY_FLOOR)`` (or at the last iteration):
    earlier certificates could not pass and cost a third of a step each. Returns this phase's best
    iterate (by certificate, else the last one), its slacks, and the certificate of its face when
    that was what certified it (for the end-game, which starts there).
    """
    ops = pb.ops
    loss, rel = pb.certify(y)
    record(loss, y, rel)
    if rel <= tol:
        return y, 1.0 / y, None
    z = max(rel * loss / y.shape[1], 1e-10) / y
    best, best_z, best_rel, since = y, z, rel, 0
    best_face: Optional[float] = None
    every = ops.torch or record.callback is not None  # a callback sees every iterate's certified best
    gate = max(_CERTIFY_AT * tol, _CERTIFY_FLOOR)
    next_try = 0.0 if ops.torch else _TRY_FACE
    for _ in range(max_iter):
        if ops.torch:
            y, z = _vectorized_step(pb, y, z)
            estimate, failed = 0.0, False
        else:
            # the steps no certificate would look at in one call (the trace: their times spread over it)
            fuse = not every and best_rel > _STALL_BELOW
            limit = max(max_iter - record.count + 1, 1) if fuse else 1
            t0 = time.perf_counter()
            y, z, y_prev, z_prev, steps, estimate, failed = _numba_steps(pb, y, z, gate, limit)
            if steps == 0:  # not computable in float64 (λ ≈ 1e307)
                break
            t1 = time.perf_counter()
            record.skip_span(steps - 1, t0, t1)  # each not certified, and the most advanced iterate when taken
            if steps > 1:
                best, best_z, best_face = y_prev, z_prev, None
        on_face_rel = None  # the certificate of this iterate's face, if it was just certified
        if every or estimate <= gate or record.count >= max_iter:
            if not ops.torch and estimate <= _CERTIFY_FLOOR:
                # the labels are this iterate on the face it identifies, certified with multipliers fitted
                # to that face: the plain bound of an interior iterate stalls at ~1e-6 on real batches
                labels = on_face(pb, y, y > z)[0]
                loss, rel = pb.certify(labels, polish=True, tol=tol)
                on_face_rel = rel
                if not math.isfinite(rel):  # e.g. the face empties a class that G needs: the iterate itself
                    labels, on_face_rel = y, None
                    loss, rel = pb.certify(y)
            else:
                labels = y
                loss, rel = pb.certify(y)
            record(loss, labels, rel)
            if rel < best_rel:
                best, best_z, best_rel, since, best_face = y, z, rel, 0, on_face_rel
            elif best_rel <= _STALL_BELOW:  # far from the optimum the certificate may rise while P falls
                since += 1
        else:
            record.skip()
            if best_rel > _STALL_BELOW:  # the most advanced iterate, for the end-game if nothing certifies
                best, best_z, best_face = y, z, None
            else:
                since += 1  # the estimate rose again after a certified near-optimum: float64's limit
        if best_rel <= tol or since >= _STALL or record.count > max_iter:
            break
        if estimate < next_try:  # the face this iterate identifies may already be the optimal one
            face_newton(pb, y, y > z, max_iter, tol, record, steps=_TRY_STEPS, certified=on_face_rel)
            if record.best_rel <= tol or record.count > max_iter:
                break
            next_try = estimate * _TRY_AGAIN
        if failed:  # the step after this one was not computable in float64
            break
    return best, best_z, best_face
