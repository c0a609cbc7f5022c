"""A certified optimality gap for any pseudo-labels of eq. 10 / eq. 11, from the dual of the y-step.

Both objectives are ``P(Y) = mean_i −ln(σ_i·y_i) + G(m)``, ``m = ȳ``, with
``G(m) = λ Σ_k u_k ln(u_k/m_k)`` (eq. 11) or ``G(m) = λ Σ_k m_k ln(m_k/u_k)`` (eq. 10). With one
multiplier per class ``c = −∇G(m)`` (eq. 11: ``c = λu/m``; eq. 10: ``c = −λ ln(m/u)``, up to a shift
that changes nothing) and the per-point dual function

    h_i(c) = min_{y ∈ Δ_K} −ln(σ_i·y) − c·y = max_{p>0} [1 + ln p − max_k (σ_ik p + c_k)],

weak duality gives ``P(Y) ≥ P* ≥ D(c) = mean_i h_i(c) + G*(c)`` for every feasible Y, and with
``c = c(m(Y))`` Fenchel's equality turns the bound into a sum of non-negative per-point terms:

    P(Y) − D(c(Y)) = mean_i [−ln(σ_i·y_i) − c·y_i − h_i(c)] ≥ 0,

which tends to 0 as Y approaches an optimum. The envelope of the K lines ``ℓ_k(p) = σ_ik p + c_k``
(lines sorted by slope, convex-hull scan, O(K log K) per point; for labels on a face, first an O(K) check of
each point's support, :func:`_h_support`) gives ``h_i`` exactly: the best
``p`` is where ``p · (slope of the envelope) = 1`` — ``1/σ_ik`` inside a segment of line k, or a
breakpoint. The relative gap reported by every solver is ``(P − D)/P`` (0 when ``P = 0``).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import torch

from ._common import check_prior_for, prepare
from ._polish import fit_multipliers

__all__ = ["certified_gap", "class_multipliers", "dual_value", "polished_multipliers", "OBJECTIVES"]

OBJECTIVES = ("eq11", "eq10")


@numba.njit(cache=True, nogil=True)
def _h_row(sig: np.ndarray, c: np.ndarray, order: np.ndarray, stack: np.ndarray) -> tuple[float, int, int, float]:
    """``h(c) = max_{p>0} 1 + ln p − max_k (σ_k p + c_k)`` for one point; ``order``: its classes by
    increasing σ (:func:`slope_order`), ``stack``: scratch. Returns ``(h, j, i, p)``: the envelope
    line j active at the optimal p, and i the line it meets there when p is a breakpoint (else -1)."""
    k_count = sig.shape[0]
    top = 0  # upper envelope for p > 0, slopes increasing
    for r in range(k_count):
        k = order[r]
        s, ck = sig[k], c[k]
        if top > 0 and sig[stack[top - 1]] == s:  # equal slopes: only the higher line can be active
            if c[stack[top - 1]] >= ck:
                continue
            top -= 1
        while top > 0:
            j = stack[top - 1]
            # line j is never above line k for p > 0 once k starts (p₀ ≤ 0) …
            if c[j] <= ck:
                top -= 1
                continue
            if top == 1:
                break
            i = stack[top - 2]
            # … or when k overtakes i no later than j does
            if (c[i] - ck) * (sig[j] - sig[i]) <= (c[i] - c[j]) * (s - sig[i]):
                top -= 1
                continue
            break
        stack[top] = k
        top += 1
    lo = 0.0
    for r in range(top):
        j = stack[r]
        sj, cj = sig[j], c[j]
        hi = np.inf if r == top - 1 else (cj - c[stack[r + 1]]) / (sig[stack[r + 1]] - sj)
        if sj * hi >= 1.0 or r == top - 1:
            if sj * lo >= 1.0:
                return 1.0 + math.log(lo) - (sj * lo + cj), j, stack[r - 1], lo
            return -math.log(sj) - cj, j, -1, 1.0 / sj
        lo = hi
    return -np.inf, -1, -1, 0.0  # unreachable: the last line has the largest slope > 0


@numba.njit(cache=True, nogil=True)
def _h_support(sig: np.ndarray, c: np.ndarray, y: np.ndarray, r: int) -> tuple[float, bool]:
    """``(h_r(c), True)`` when point r's optimum is the support of its labels ``y_r``, else ``(nan, False)``:
    a vertex ``e_j`` is the minimizer iff line j is highest at ``p = 1/σ_j`` (then ``h = −ln σ_j − c_j``), an
    edge (j, i) iff their breakpoint ``p`` has ``σ_i ≤ 1/p ≤ σ_j`` and no line above them there (then
    ``h = 1 + ln p − σ_j p − c_j``) — for any set of lines, ``1 + ln p − φ(p)`` is at most its value for
    these lines alone, which peaks there. Same arithmetic as :func:`_h_row`'s (the same bits, except at exact
    ties, where the scan may take the vertex formula for the same value); one O(K)
    pass instead of the scan for most points of a face iterate (a real 250 × 10 face: 249 of 250 points;
    ``h`` of all of them 20–31 → 10–15 µs; real MNIST solves ≈ 6 % faster with prepare's one normalization)."""
    k_count = sig.shape[1]
    j = -1
    i = -1
    for t in range(k_count):
        if y[r, t] > 0.0:
            if j < 0:
                j = t
            elif i < 0:
                i = t
            else:
                return np.nan, False  # three or more nonzeros: the scan
    if j < 0:
        return np.nan, False
    if i >= 0 and sig[r, i] > sig[r, j]:
        j, i = i, j
    sj, cj = sig[r, j], c[j]
    if i < 0 and sj > 0.0:
        p = 1.0 / sj
    elif i >= 0 and sj > sig[r, i] and c[i] > cj:
        p = (c[i] - cj) / (sj - sig[r, i])
        if not sig[r, i] * p <= 1.0 <= sj * p:
            return np.nan, False
    else:
        return np.nan, False
    top = sj * p + cj
    for t in range(k_count):  # lines j and i meet there by construction (rounding may part them by an ulp)
        if t != j and t != i and not sig[r, t] * p + c[t] <= top:  # a NaN line is not below: the scan decides
            return np.nan, False
    return (-math.log(sj) - cj, True) if i < 0 else (1.0 + math.log(p) - top, True)


def slope_order(sig: np.ndarray) -> np.ndarray:
    """Each point's classes sorted by increasing σ (stable), the envelope scan's input order."""
    return np.ascontiguousarray(np.argsort(sig, axis=1, kind="stable"))


@numba.njit(cache=True, nogil=True)
def fairness_and_multipliers(m: np.ndarray, lam: float, u: np.ndarray, eq10: bool) -> tuple[np.ndarray, float]:
    """``(c(m), G(m))`` for column means m — the numba form of the fairness term (numba kernels call
    this one; Python code :func:`~ccel_core.solvers._common.fairness`): ``c = −∇G(m)`` = ``λu/m`` (eq. 11; 0 where ``u_k = 0``) or
    ``−λ ln(m/u)`` (eq. 10); ``G = λ Σ u ln(u/m)`` or ``λ Σ m ln(m/u)``. ``(inf…, inf)`` where a
    needed ``m_k`` is 0, except at λ = 0 (``G ≡ 0``, ``c = 0``, as in the Python form)."""
    k_count = m.shape[0]
    c = np.zeros(k_count)
    reg = 0.0
    if lam == 0.0:
        return c, reg
    for k in range(k_count):
        mk = m[k]
        if eq10 or u[k] > 0.0:
            if mk <= 0.0:
                c[:] = np.inf
                return c, np.inf
            if eq10:
                c[k] = -lam * math.log(mk / u[k])
                reg += lam * mk * math.log(mk / u[k])
            else:
                c[k] = lam * u[k] / mk
                reg += lam * u[k] * math.log(u[k] / mk)
    return c, reg


@numba.njit(cache=True, nogil=True)
def _point_terms(
    sig: np.ndarray, y: np.ndarray, c: np.ndarray, order: np.ndarray, logs: np.ndarray, terms: np.ndarray
) -> None:
    """``logs_i = −ln(σ_i·y_i)``, ``terms_i = logs_i − c·y_i − h_i(c)`` (``+inf`` where ``σ_i·y_i = 0``)."""
    n, k_count = sig.shape
    stack = np.empty(k_count, dtype=np.int64)
    for i in range(n):
        a = 0.0
        cy = 0.0
        for k in range(k_count):
            a += sig[i, k] * y[i, k]
            cy += c[k] * y[i, k]
        if a > 0.0:
            logs[i] = -math.log(a)
            h, ok = _h_support(sig, c, y, i)
            terms[i] = logs[i] - cy - (h if ok else _h_row(sig[i], c, order[i], stack)[0])
        else:
            logs[i] = terms[i] = np.inf


@numba.njit(cache=True, nogil=True)
def gap_terms(sig: np.ndarray, y: np.ndarray, c: np.ndarray, order: np.ndarray, out: np.ndarray) -> None:
    """``out_i = −ln(σ_i·y_i) − c·y_i − h_i(c)``, each point's share of ``P(Y) − D(c)`` (≥ 0)."""
    _point_terms(sig, y, c, order, np.empty(sig.shape[0]), out)


@numba.njit(cache=True, nogil=True)
def loss_and_gap(
    sig: np.ndarray, y: np.ndarray, lam: float, u: np.ndarray, eq10: bool, order: np.ndarray
) -> tuple[float, float]:
    """``(P(Y), P(Y) − D(c(Y)))`` in one pass (numpy inputs; see :func:`certified_gap`)."""
    n = sig.shape[0]
    c, reg = fairness_and_multipliers(y.sum(axis=0) / n, lam, u, eq10)
    if not np.isfinite(reg):
        return np.inf, np.inf
    c -= c.max()
    logs = np.empty(n)
    terms = np.empty(n)
    _point_terms(sig, y, c, order, logs, terms)
    return logs.mean() + reg, terms.mean()


@numba.njit(cache=True, nogil=True)
def _loss(sig: np.ndarray, y: np.ndarray, lam: float, u: np.ndarray, eq10: bool) -> float:
    """``P(Y)`` exactly as :func:`loss_and_gap` computes it, without the envelope scan."""
    n, k_count = sig.shape
    _, reg = fairness_and_multipliers(y.sum(axis=0) / n, lam, u, eq10)
    if not np.isfinite(reg):
        return np.inf
    logs = np.empty(n)
    for i in range(n):
        a = 0.0
        for k in range(k_count):
            a += sig[i, k] * y[i, k]
        logs[i] = -math.log(a) if a > 0.0 else np.inf
    return logs.mean() + reg


@numba.njit(cache=True, nogil=True)
def _h_all(sig: np.ndarray, c: np.ndarray, order: np.ndarray, out: np.ndarray, y: np.ndarray) -> None:
    """``out_i = h_i(c)``; ``y``: labels whose supports are checked first (:func:`_h_support`), or no rows."""
    n, k_count = sig.shape
    stack = np.empty(k_count, dtype=np.int64)
    hinted = y.shape[0] > 0
    if hinted and y.shape != sig.shape:
        raise ValueError("labels must have the shape of probs (or no rows)")
    for i in range(n):
        h, ok = _h_support(sig, c, y, i) if hinted else (np.nan, False)
        out[i] = h if ok else _h_row(sig[i], c, order[i], stack)[0]


@numba.njit(cache=True, nogil=True)
def active_classes(sig: np.ndarray, c: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per point the classes (j, i) of the envelope lines active at the maximizing p of ``h_i(c)``:
    j the segment's line, i the line it meets there when p is a breakpoint (else -1)."""
    n, k_count = sig.shape
    stack = np.empty(k_count, dtype=np.int64)
    out = np.empty((n, 2), dtype=np.int64)
    for r in range(n):
        _, j, i, _ = _h_row(sig[r], c, order[r], stack)
        out[r, 0] = j
        out[r, 1] = i
    return out


@numba.njit(cache=True, nogil=True)
def labels_from_duals(sig: np.ndarray, c: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per point a minimizer of ``−ln(σ_i·y) − c·y`` over the simplex: the vertex ``e_j`` of the
    envelope line active at the optimal p, or at a breakpoint of lines j and i the edge point with
    ``σ_i·y = 1/p``: ``y_j = (1/p − σ_ii)/(σ_ij − σ_ii)``, ``y_i = 1 − y_j``."""
    n, k_count = sig.shape
    stack = np.empty(k_count, dtype=np.int64)
    out = np.zeros((n, k_count))
    for r in range(n):
        _, j, i, p = _h_row(sig[r], c, order[r], stack)
        if i < 0:
            out[r, j] = 1.0
        else:
            t = min(1.0, max(0.0, (1.0 / p - sig[r, i]) / (sig[r, j] - sig[r, i])))
            out[r, j] = t
            out[r, i] = 1.0 - t
    return out


def class_multipliers(m: Any, lam: float, prior: Any, objective: str = "eq11", shift: bool = True) -> Any:
    """``c(m) = −∇G(m)``: ``λu/m`` (eq. 11; 0 where ``u_k = 0``) or ``−λ ln(m/u)`` (eq. 10); with
    ``shift`` moved so ``max_k c_k = 0`` (``h_i`` and ``c·y_i`` shift alike, so the Fenchel-form gap
    is unchanged and stays free of cancellation against large multipliers). Same backend as ``m``."""
    c, _ = fairness_and_multipliers(_numpy(m), float(lam), _numpy(prior), objective == "eq10")
    if shift and np.isfinite(c).all():
        c = c - c.max()
    return torch.as_tensor(c, device=m.device) if isinstance(m, torch.Tensor) else c


def _numpy(x: Any) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float64)


def certified_gap(
    probs: Any, labels: Any, lam: float = 100.0, prior: Any = None, objective: str = "eq11", polish: bool = False
) -> tuple[float, float]:
    """``(P(Y) − D(c(Y)), relative gap (P − D)/P)``: how far pseudo-labels ``labels`` are, at most,
    from the optimum of eq. 11 (or eq. 10) for predictions ``probs`` — for labels from any solver.

    ``probs`` and ``labels``: N×K rows on the simplex (numpy or torch; torch is evaluated on the CPU,
    one N×K copy); ``prior`` u (default uniform). ``polish``: also try
    :func:`polished_multipliers` and keep the smaller gap (sharper for labels on a face).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not valid; expected one of {OBJECTIVES}")
    pb = prepare(probs, lam, prior, labels, max_iter=1, tol=0.0, init_name="labels")
    check_prior_for(objective, pb.prior)
    sig = _numpy(pb.probs)
    return certify(sig, pb.init, lam, pb.prior, objective, slope_order(sig), polish)[1:]


def certify(
    sig: np.ndarray,
    labels: Any,
    lam: float,
    prior: Any,
    objective: str,
    order: np.ndarray,
    polish: bool = False,
    tol: float = math.inf,
) -> tuple[float, float, float]:
    """``(P(Y), P(Y) − D, (P − D)/P)`` with a precomputed :func:`slope_order` of ``sig`` (float64 numpy).

    ``polish``: the bound of :func:`polished_multipliers`, and the plain one ``D(c(m(Y)))`` too where
    it can matter — when the polished relative gap is at most ``tol`` (the answer is then the tighter
    of the two, as :func:`certified_gap` reports), could not be computed, ``P ≤ 0``, or a class has
    prior 0 (why, and what skipping it elsewhere saves: docs/math.md §7.5). A solver passes its ``tol``.
    """
    y, u = _numpy(labels), _numpy(prior)
    eq10 = objective == "eq10"
    lam = float(lam)
    if not polish:
        loss, gap = loss_and_gap(sig, y, lam, u, eq10, order)
    else:
        loss, gap = _loss(sig, y, lam, u, eq10), math.inf
        if math.isfinite(loss):
            pol = math.nan
            try:
                pol = loss - _dual(sig, _polished(sig, y, lam, u, eq10, _ANCHOR), lam, u, eq10, order, y)
            except np.linalg.LinAlgError:  # λ near float64's limit (non-finite multipliers): no sharper bound
                pass
            if math.isfinite(pol) and pol > tol * loss and loss > 0 and u.min() > 0:
                gap = pol  # not certified to tol: the plain bound is not needed (see above)
            else:
                plain = loss_and_gap(sig, y, lam, u, eq10, order)[1]
                gap = min(pol, plain) if math.isfinite(pol) else plain
    if not math.isfinite(loss):
        return math.inf, math.inf, math.inf
    gap = max(gap, 0.0)  # P ≥ D always: a negative difference is rounding, reported as 0
    return loss, gap, (gap / loss if loss > 0 else (0.0 if gap <= 0 else math.inf))


def dual_value(
    probs: Any, c: Any, lam: float, prior: Any, objective: str = "eq11", order: np.ndarray | None = None
) -> float:
    """``D(c) = mean_i h_i(c) + G*(c)``, a lower bound on the optimum of eq. 11 / eq. 10 for any c
    (eq. 11: ``c > 0`` where ``u > 0``, ``G*(c) = λ Σ u_k ln c_k + λ − λ ln λ``; eq. 10:
    ``G*(c) = −λ ln Σ_k u_k exp(−c_k/λ)``; at λ = 0, where G ≡ 0, ``G*(c) = min_k c_k``: ȳ lies on the
    simplex). ``order``: :func:`slope_order` of ``probs`` if known."""
    sig, c, u = _numpy(probs), _numpy(c), _numpy(prior)
    order = slope_order(sig) if order is None else order
    return float(_dual(sig, c, float(lam), u, objective == "eq10", order, np.empty((0, sig.shape[1]))))


@numba.njit(cache=True, nogil=True, error_model="numpy")  # IEEE inf/nan, as numpy: no raise
def _dual(
    sig: np.ndarray, c: np.ndarray, lam: float, u: np.ndarray, eq10: bool, order: np.ndarray, y: np.ndarray
) -> float:
    """:func:`dual_value` on numpy inputs (``-inf`` outside eq. 11's domain: no bound); ``y``: labels whose
    supports the envelope checks first (:func:`_h_all`), or no rows."""
    h = np.empty(sig.shape[0])
    _h_all(sig, c, order, h, y)
    if lam == 0:  # inf over ȳ on the simplex of c·ȳ (the multipliers of a face fit need not have min 0)
        return h.mean() + c.min()
    if not eq10:
        conj = lam - lam * math.log(lam)
        for k in range(c.size):
            if u[k] > 0:
                if c[k] <= 0:
                    return -np.inf  # outside the dual domain (c > 0 where u > 0, c >= 0 elsewhere)
                conj += lam * u[k] * math.log(c[k])
            elif c[k] < 0:
                return -np.inf
    else:
        z = -c / lam
        top = z.max()
        conj = -lam * (top + math.log(np.sum(u * np.exp(z - top))))
    return h.mean() + conj


_ANCHOR = 1e-3  # the default weight of polished_multipliers' anchor to c(m)


def polished_multipliers(
    probs: Any, labels: Any, lam: float, prior: Any, objective: str = "eq11", anchor: float = _ANCHOR
) -> Any:
    """Class multipliers ``c`` fitted to the supports of ``labels`` (a sharper certificate point).

    At an optimum every point's support lines meet at ``p_i = 1/a_i``:
    ``c_k − c_j = −(σ_ik − σ_ij)/a_i`` for k, j in its support. ``c(m) = −∇G(m)`` satisfies this only
    to first order in the error of m, and points whose support has three or more classes (the
    degenerate ones) then make ``D(c(m))`` loose by that first order. The least-squares solution of
    these equations (each relative to the point's largest entry), anchored by ``anchor · (c_k −
    c(m)_k) = 0`` for classes no support links, is exact at an optimum, so ``P(Y) − D(c)`` tends to
    0 as fast as ``P(Y) − P*`` does. For eq. 11 the common level κ of ``c + κ1`` is then chosen to
    maximize D (``λ Σ_k u_k/(c_k + κ) = 1``, Newton); classes with ``u_k = 0`` keep ``c_k ≥ 0``.
    Any such c gives a valid bound. Only labels with exact zeros (a face) have supports to fit.
    """
    sig, y, u = _numpy(probs), _numpy(labels), _numpy(prior)
    return _polished(sig, y, float(lam), u, objective == "eq10", float(anchor))


@numba.njit(cache=True, nogil=True, error_model="numpy")  # IEEE inf/nan, as numpy: no raise
def _polished(sig: np.ndarray, y: np.ndarray, lam: float, u: np.ndarray, eq10: bool, anchor: float) -> np.ndarray:
    """:func:`polished_multipliers` on numpy inputs."""
    base, _ = fairness_and_multipliers(y.sum(axis=0) / sig.shape[0], lam, u, eq10)
    return base if not np.isfinite(base).all() else fit_multipliers(sig, y, base, lam, u, eq10, anchor)
