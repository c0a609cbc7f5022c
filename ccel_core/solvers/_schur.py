"""The exact y-step's K×K system (numba, numpy inputs): ``(I + S·diag(G''/N))⁻¹`` of the interior and face
Newton steps (:mod:`._exact_kernels`), and the small dense inverse it uses.

Strict IEEE arithmetic, as the rest of the kernels (see :mod:`._exact_kernels`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["system_inverse", "small_inverse"]

_BLAS_K = 32  # K from which the K×K system's products go to BLAS


@numba.njit(cache=True, nogil=True)
def system_inverse(e, w, rho, b, binv, curv):
    """``(I + S·diag(curv))⁻¹`` with ``S = diag(Σ_i e_i) − Σ_i ρ_i w_i w_iᵀ − Σ_i β_i⁻¹ b_i b_iᵀ``
    (``ρ_i, β_i⁻¹ > 0``: the rows are scaled by their square roots, so S is symmetric bit for bit)."""
    n, k = e.shape
    if k >= _BLAS_K:  # two N×K² products: BLAS (at K = 200 the loop below took 4× longer)
        wq = w * np.sqrt(rho).reshape(n, 1)
        bq = b * np.sqrt(binv).reshape(n, 1)
        amat = -(wq.T @ wq) - (bq.T @ bq)
        for j in range(k):
            amat[j, j] += e[:, j].sum()
        amat = amat * curv.reshape(1, k)
        for j in range(k):
            amat[j, j] += 1.0
        return np.linalg.inv(amat)
    # small K: a loop over full rows of fixed length (vectorized) beats the BLAS calls and the
    # upper-triangle loop (250 × 10: 45 → 14 µs), then a Gauss-Jordan inverse (LAPACK's: 6 µs → 2)
    amat = np.zeros((k, k))
    wq = np.empty(k)
    bq = np.empty(k)
    esum = np.zeros(k)
    for i in range(n):
        sr = math.sqrt(rho[i])
        sb = math.sqrt(binv[i])
        for j in range(k):
            wq[j] = sr * w[i, j]
            bq[j] = sb * b[i, j]
            esum[j] += e[i, j]
        for j in range(k):
            wj = wq[j]
            bj = bq[j]
            for t in range(k):
                amat[j, t] -= wj * wq[t] + bj * bq[t]
    for j in range(k):
        amat[j, j] += esum[j]
    for j in range(k):
        for t in range(k):
            amat[j, t] *= curv[t]
        amat[j, j] += 1.0
    return small_inverse(amat)


@numba.njit(cache=True, nogil=True)
def small_inverse(a):
    """Inverse of a small square matrix by Gauss-Jordan elimination with partial pivoting (in place
    on ``a``); raises ``np.linalg.LinAlgError`` on an exactly singular pivot, as LAPACK's does."""
    k = a.shape[0]
    inv = np.eye(k)
    for c in range(k):
        p = c
        best = abs(a[c, c])
        for r in range(c + 1, k):
            if abs(a[r, c]) > best:
                best = abs(a[r, c])
                p = r
        if not best > 0.0:  # 0 or NaN
            raise np.linalg.LinAlgError("Matrix is singular to machine precision.")
        if p != c:
            for t in range(k):
                a[c, t], a[p, t] = a[p, t], a[c, t]
                inv[c, t], inv[p, t] = inv[p, t], inv[c, t]
        piv = 1.0 / a[c, c]
        for t in range(k):
            a[c, t] *= piv
            inv[c, t] *= piv
        for r in range(k):
            f = a[r, c]
            if r != c and f != 0.0:
                for t in range(k):
                    a[r, t] -= f * a[c, t]
                    inv[r, t] -= f * inv[c, t]
    return inv
