"""The exact y-step's end-game: Newton on the face of the simplex that an iterate identifies.

On the face (support ``y_ik > z_ik`` of an interior iterate, the primal-dual indicator, or the face a
warm start's multipliers pick) ``P(Y) = mean_i −ln(σ_i·y_i) + G(ȳ)`` is smooth. Each step is the
interior method's block + Schur solve (:func:`~._ipm.newton`) with ``diag(z/y)`` replaced by a proximal
``ε = 3e-4`` on the support and no movement off it; small entries a full step would make negative
leave the support, a trust radius bounds each step, and when Newton settles on a face the certificate
does not accept, points with a large gap term get their envelope's active lines added. Iterates are
certified with polished multipliers; after 6 steps without halving the certificate the end-game gives
up. Why these choices, and what they measured: :mod:`.exact`'s docstring (item 2).
"""

from __future__ import annotations

import math
from typing import Optional, cast

import numpy as np

from ._backend import Array
from ._exact_kernels import face_step, project_on_face
from ._ipm import Problem, blocks, newton
from ._trace import BestTrace
from .certificate import active_classes, gap_terms, polished_multipliers

__all__ = ["face_newton", "on_face"]

_FACE_EPS = 3e-4  # the proximal term of the face Newton step (see the module docstring)
_FACE_STEPS = 20
_FACE_PATIENCE = 6  # face steps without halving the best certificate before the end-game gives up
_DROP = 1e-12  # support entries below this fraction of their row's largest are dropped …
_VANISH = 0.01  # … and entries below this fraction that a full step would make negative
_VANISH_ROUNDS = 4
_RADIUS = 0.5  # largest change of a label entry in one face step
_ENTRY_MASS = 1e-9  # mass a class gets when the active-set step adds it to a point's support


def face_newton(
    pb: Problem,
    y: Array,
    support: Array,
    max_iter: int,
    tol: float,
    record: BestTrace,
    steps: int = _FACE_STEPS,
    certified: Optional[float] = None,
) -> None:
    """Newton on the face ``support`` (with active-set additions), from ``y``: ``steps`` certified
    iterates, more while the certificate falls 10× per step (up to ``_FACE_STEPS``). ``certified``:
    the relative gap of ``y`` on this face when the caller has just certified and recorded it."""
    ops = pb.ops
    y, support = on_face(pb, y, support)
    prev, best, since = math.inf, math.inf, 0
    for t in range(_FACE_STEPS):
        if t == 0 and certified is not None:
            rel = certified
        else:
            loss, rel = pb.certify(y, polish=True, tol=tol)
            record(loss, y, rel)
        if rel <= tol or record.count > max_iter:
            break
        best, since = (rel, 0) if rel < 0.5 * best else (best, since + 1)
        if since >= _FACE_PATIENCE:  # no longer halving the certificate: give up on this face
            break
        if t + 1 >= steps and not rel < 0.1 * prev:  # no step whose result would not be certified;
            break  # a short try goes on while Newton converges fast (the certificate falls 10× a step)
        if rel > 0.1 * prev:  # Newton has settled on this face and it is not the optimal one
            support, y = _expand(pb, y, support, tol)
        prev = rel
        if ops.torch:
            y, support = _face_step(pb, y, support)
            continue
        try:
            y, support = face_step(
                pb.sig_t, y, support, pb.u, pb.lam, pb.eq10, _FACE_EPS, _VANISH, _VANISH_ROUNDS, _RADIUS, _DROP
            )
        except (ZeroDivisionError, np.linalg.LinAlgError):  # no Newton step on this face (a point with
            break  # σ·y = 0, or a system float64 cannot hold): keep the best certified iterate so far


def on_face(pb: Problem, y: Array, support: Array) -> tuple[Array, Array]:
    """``y`` zeroed off ``support`` (each point keeps its largest entry at least), rows rescaled to sum 1."""
    ops = pb.ops
    if not ops.torch:
        return project_on_face(y, support)
    rows_empty = cast(Array, ~support.any(1))  # support is N×K: numpy's any(axis) is typed scalar-or-array
    if bool(rows_empty.any()):
        support = support | ((y == ops.row_max(y)[:, None]) & rows_empty[:, None])
    y = ops.lib.where(support, y, 0.0 * y)
    return y / y.sum(1)[:, None], support


def _face_step(pb: Problem, y: Array, support: Array) -> tuple[Array, Array]:
    """One Newton step on the face (any backend; numpy uses the fused kernel ``face_step``, which
    documents the rules)."""
    ops = pb.ops
    dy = _face_direction(pb, y, support)
    for _ in range(_VANISH_ROUNDS):
        vanish = support & (y + dy < 0) & (y < _VANISH * ops.row_max(y)[:, None])
        if not bool(vanish.any()):
            break
        support = support & ~vanish
        y = ops.lib.where(support, y, 0.0 * y)
        y = y / y.sum(1)[:, None]
        dy = _face_direction(pb, y, support)
    alpha = min(ops.max_step(y, dy), _RADIUS / max(float(ops.lib.abs(dy).max()), 1e-300))
    y = ops.lib.where(support, y + alpha * dy, 0.0 * y)
    support = support & (y > _DROP * ops.row_max(y)[:, None])
    y = ops.lib.where(support, y, 0.0 * y)
    return y / y.sum(1)[:, None], support


def _face_direction(pb: Problem, y: Array, support: Array) -> Array:
    """Newton direction on the face: :func:`~._ipm.newton` with ``e = 1/ε`` (a diagonal ε) on the support, 0 off it."""
    ops = pb.ops
    a, grad, curv, r = pb.state(y)
    e = ops.lib.where(support, (1.0 / _FACE_EPS) + 0.0 * y, 0.0 * y)
    return newton(blocks(e, r), curv, grad, ops)


def _expand(pb: Problem, y: Array, support: Array, tol: float) -> tuple[Array, Array]:
    """Active-set step: points whose own gap term exceeds the target get the classes of their
    envelope's active lines at the optimal p (for the polished multipliers: one line, or the two
    meeting at a breakpoint) added to the support, with a small mass."""
    ops = pb.ops
    sig = pb.sig_np
    yn = ops.to_numpy(y)
    c = polished_multipliers(sig, yn, pb.lam, pb.u, pb.objective)
    if not np.isfinite(c).all():
        return support, y
    c = c - c.max()
    terms = np.empty(len(sig))
    gap_terms(sig, yn, c, pb.order, terms)
    loss = float(np.mean(-np.log((sig * yn).sum(1))))
    rows = np.flatnonzero(terms > tol * max(loss, 1e-12))
    if rows.size == 0:
        return support, y
    lines = active_classes(np.ascontiguousarray(sig[rows]), c, np.ascontiguousarray(pb.order[rows]))
    add_np = np.zeros(yn.shape, dtype=bool)
    add_np[rows, lines[:, 0]] = True
    meet = lines[:, 1] >= 0
    add_np[rows[meet], lines[meet, 1]] = True
    add = ops.asarray(add_np)
    fresh = add & ~support
    y = ops.lib.where(fresh, _ENTRY_MASS + 0.0 * y, y)
    return support | add, y / y.sum(1)[:, None]
