"""The numba fit behind :func:`~.certificate.polished_multipliers` (which states the equations and why
they sharpen the certificate): the normal equations of every point's support lines meeting, their
least-squares solve anchored to ``c(m)``, and, for eq. 11, the level of ``c + κ1`` that maximizes the dual.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fit_multipliers"]


@numba.njit(cache=True, nogil=True)
def _support_system(sig: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal equations ``L c = v`` of ``c_k − c_j = −(σ_ik − σ_ij)/a_i`` over every point's support
    entries k relative to its largest entry j (``L`` a weighted graph Laplacian of the classes)."""
    n, k_count = sig.shape
    lap = np.zeros((k_count, k_count))
    vec = np.zeros(k_count)
    for i in range(n):
        j = 0
        a = 0.0
        for k in range(k_count):
            a += sig[i, k] * y[i, k]
            if y[i, k] > y[i, j]:
                j = k
        for k in range(k_count):
            if k == j or y[i, k] <= 0.0:
                continue
            rhs = -(sig[i, k] - sig[i, j]) / a
            lap[k, k] += 1.0
            lap[j, j] += 1.0
            lap[k, j] -= 1.0
            lap[j, k] -= 1.0
            vec[k] += rhs
            vec[j] -= rhs
    return lap, vec


@numba.njit(cache=True, nogil=True, error_model="numpy")  # IEEE inf/nan, as numpy: no raise
def _best_level(c: np.ndarray, u: np.ndarray, lam: float) -> np.ndarray:
    """``c + κ1`` with κ maximizing eq. 11's dual: Newton on ``g(κ) = λ Σ_{u_k>0} u_k/(c_k + κ) − 1``
    (decreasing and convex where every ``c_k + κ > 0``); classes with ``u_k = 0`` keep ``c_k ≥ 0``."""
    pos = u > 0
    cp, up = c[pos], u[pos]
    kappa = 0.0
    for _ in range(50):
        d = cp + kappa
        if (d <= 0).any():
            kappa = 0.0 if (cp > 0).all() else -cp.min() + 1e-12
            continue
        g = lam * np.sum(up / d) - 1.0
        step = g / (lam * np.sum(up / (d * d)))
        kappa += step
        if abs(step) <= 1e-15 * max(1.0, abs(kappa)):
            break
    out = c + kappa
    for k in range(c.size):
        if not pos[k] and out[k] < 0.0:
            out[k] = 0.0
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")  # IEEE inf/nan, as numpy: no raise
def fit_multipliers(
    sig: np.ndarray, y: np.ndarray, base: np.ndarray, lam: float, u: np.ndarray, eq10: bool, anchor: float
) -> np.ndarray:
    """``c`` solving ``(L + anchor² I) c = v + anchor² base`` (:func:`_support_system`'s normal equations
    of the support lines meeting, anchored to ``base = c(m)``); for eq. 11 (λ > 0) at its best level."""
    k = sig.shape[1]
    lap, vec = _support_system(sig, y)
    w2 = anchor * anchor
    c = np.linalg.solve(lap + w2 * np.eye(k), vec + w2 * base)
    if not eq10 and lam > 0:
        c = _best_level(c, u, lam)
    return c
