"""numba kernel of the exact y-step's interior-point step (numpy inputs): the arithmetic of
:func:`ccel_core.solvers.exact._vectorized_step`, fused into one call per Mehrotra step.

Per point ``e = y/z``, ``r = σ/a``, ``w = e∘r``, ``ρ = 1/(1 + r·w)``, ``b = e − ρ(Σw) w``,
``β⁻¹ = 1/Σb``; ``M x = e∘x − ρ w (w·x) − β⁻¹ b (b·x)``; the K×K system
``(I + S·diag(G''/N)) s = Σ_i M_i q_i`` with ``S = diag(Σ_i e_i) − Σ_i ρ_i w_i w_iᵀ − Σ_i β_i⁻¹ b_i b_iᵀ``,
then ``Δ_i = M_i(q_i − (G''/N)∘s)``, rows projected to sum 0.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _apply(e, w, rho, b, binv, x, out):
    n, k = e.shape
    for i in range(n):
        wx = 0.0
        bx = 0.0
        for j in range(k):
            wx += w[i, j] * x[i, j]
            bx += b[i, j] * x[i, j]
        wx *= rho[i]
        bx *= binv[i]
        for j in range(k):
            out[i, j] = e[i, j] * x[i, j] - wx * w[i, j] - bx * b[i, j]


@numba.njit(cache=True, nogil=True)
def _direction(e, w, rho, b, binv, ainv, curv, q, out, tmp):
    """``out = Δ`` for the right-hand side ``q`` (= −(∇f − comp)), rows summing to 0."""
    n, k = e.shape
    _apply(e, w, rho, b, binv, q, tmp)
    s = ainv @ tmp.sum(axis=0)
    for i in range(n):
        for j in range(k):
            tmp[i, j] = q[i, j] - curv[j] * s[j]
    _apply(e, w, rho, b, binv, tmp, out)
    for i in range(n):
        tot = 0.0
        et = 0.0
        for j in range(k):
            tot += out[i, j]
            et += e[i, j]
        for j in range(k):
            out[i, j] -= tot * e[i, j] / et


@numba.njit(cache=True, nogil=True)
def _max_step(x, dx):
    best = 1.0
    for v, d in zip(x.ravel(), dx.ravel()):
        if d < 0.0:
            best = min(best, -v / d)
    return best


@numba.njit(cache=True, nogil=True)
def pd_step(sig, y, z, u, lam, eq10, frac, sigma_min):
    """One Mehrotra predictor-corrector step of the exact y-step; updates ``y`` and ``z`` in place."""
    n, k = sig.shape
    a = np.empty(n)
    m = np.zeros(k)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += sig[i, j] * y[i, j]
            m[j] += y[i, j]
        a[i] = acc
    gp = np.empty(k)
    curv = np.empty(k)
    for j in range(k):
        mj = m[j] / n
        if eq10:
            gp[j] = lam * (math.log(mj / u[j]) + 1.0)
            curv[j] = lam / mj / n
        elif u[j] > 0.0:
            gp[j] = -lam * u[j] / mj
            curv[j] = lam * u[j] / (mj * mj) / n
        else:
            gp[j] = 0.0
            curv[j] = 0.0
    e = np.empty((n, k))
    w = np.empty((n, k))
    b = np.empty((n, k))
    grad = np.empty((n, k))
    rho = np.empty(n)
    binv = np.empty(n)
    for i in range(n):
        rw = 0.0
        ws = 0.0
        for j in range(k):
            r = sig[i, j] / a[i]
            grad[i, j] = gp[j] - r
            e[i, j] = y[i, j] / z[i, j]
            w[i, j] = e[i, j] * r
            rw += r * w[i, j]
            ws += w[i, j]
        rho[i] = 1.0 / (1.0 + rw)
        bs = 0.0
        for j in range(k):
            b[i, j] = e[i, j] - rho[i] * ws * w[i, j]
            bs += b[i, j]
        binv[i] = 1.0 / bs
    wq = w * np.sqrt(rho).reshape(n, 1)
    bq = b * np.sqrt(binv).reshape(n, 1)
    amat = -(wq.T @ wq) - (bq.T @ bq)
    esum = e.sum(axis=0)
    for j in range(k):
        amat[j, j] += esum[j]
    amat = amat * curv.reshape(1, k)
    for j in range(k):
        amat[j, j] += 1.0
    ainv = np.linalg.inv(amat)
    q = -grad
    dy = np.empty((n, k))
    tmp = np.empty((n, k))
    _direction(e, w, rho, b, binv, ainv, curv, q, dy, tmp)  # predictor (affine scaling)
    dz = np.empty((n, k))
    mu = 0.0
    for i in range(n):
        for j in range(k):
            dz[i, j] = -z[i, j] - z[i, j] / y[i, j] * dy[i, j]
            mu += y[i, j] * z[i, j]
    mu /= n * k
    ap = _max_step(y, dy)
    ad = _max_step(z, dz)
    mu_aff = 0.0
    for i in range(n):
        for j in range(k):
            mu_aff += (y[i, j] + ap * dy[i, j]) * (z[i, j] + ad * dz[i, j])
    mu_aff /= n * k
    target = max((mu_aff / mu) ** 3, sigma_min) * mu
    comp = np.empty((n, k))
    for i in range(n):
        for j in range(k):
            comp[i, j] = (target - dy[i, j] * dz[i, j]) / y[i, j]
            q[i, j] = comp[i, j] - grad[i, j]
    _direction(e, w, rho, b, binv, ainv, curv, q, dy, tmp)  # corrector
    da = np.empty(n)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            dz[i, j] = comp[i, j] - z[i, j] - z[i, j] / y[i, j] * dy[i, j]
            acc += sig[i, j] * dy[i, j]
        da[i] = acc
    alpha = frac * min(_max_step(y, dy), _max_step(a, da))
    beta = frac * _max_step(z, dz)
    for i in range(n):
        tot = 0.0
        for j in range(k):
            y[i, j] += alpha * dy[i, j]
            tot += y[i, j]
        for j in range(k):
            y[i, j] /= tot
            z[i, j] += beta * dz[i, j]
    return mu
