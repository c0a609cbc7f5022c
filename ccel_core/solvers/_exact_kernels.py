"""numba kernel of the exact y-step's interior-point step (numpy inputs): the arithmetic of
:func:`ccel_core.solvers._interior._vectorized_step`, fused into one call per Mehrotra step.

Per point ``e = y/z``, ``r = σ/a``, ``w = e∘r``, ``ρ = 1/(1 + r·w)``, ``b = e − ρ(Σw) w``,
``β⁻¹ = 1/Σb``; ``M x = e∘x − ρ w (w·x) − β⁻¹ b (b·x)``; the K×K system
``(I + S·diag(G''/N)) s = Σ_i M_i q_i`` with ``S = diag(Σ_i e_i) − Σ_i ρ_i w_i w_iᵀ − Σ_i β_i⁻¹ b_i b_iᵀ``,
then ``Δ_i = M_i(q_i − (G''/N)∘s)``, rows projected to sum 0.

Strict IEEE arithmetic (no ``fastmath``). Reassociation and contraction made the step 2× faster
at 250 × 10 (≈ 25 % of a real solve), but numba reuses a compiled specialization whose array layout
the arguments convert to, and fastmath code rounds differently per layout: a process's answers came
to depend on what it had solved before (a resumed run differed from an uninterrupted one in the
14th digit; a λ = 1e6 solve went from certified to max_iter). Strict code gives the same bits for
every layout. ``exact`` also hands the kernels C-ordered arrays only.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._schur import system_inverse

_CORRECTORS = 2  # Gondzio correctors per step at most …
_CORRECT_BELOW = 0.7  # … tried while the primal or dual step is shorter than this


@numba.njit(cache=True, nogil=True)
def _direction(e, einv, w, rho, b, binv, ainv, curv, q, out, tmp):
    """``out = Δ`` for the right-hand side ``q`` (= −(∇f − comp)), rows summing to 0
    (``einv``: per point ``1/Σ_k e_k``). Two passes over the points: the column sums of ``M q``
    (``M`` applied row by row, nothing stored), then per point ``M(q − curv∘s)`` projected."""
    n, k = e.shape
    col = np.zeros(k)
    for i in range(n):
        wx = 0.0
        bx = 0.0
        for j in range(k):
            wx += w[i, j] * q[i, j]
            bx += b[i, j] * q[i, j]
        wx *= rho[i]
        bx *= binv[i]
        for j in range(k):
            col[j] += e[i, j] * q[i, j] - wx * w[i, j] - bx * b[i, j]
    s = np.zeros(k)
    for j in range(k):
        acc = 0.0
        for t in range(k):
            acc += ainv[j, t] * col[t]
        s[j] = curv[j] * acc
    for i in range(n):
        wx = 0.0
        bx = 0.0
        for j in range(k):
            x = q[i, j] - s[j]
            tmp[i, j] = x
            wx += w[i, j] * x
            bx += b[i, j] * x
        wx *= rho[i]
        bx *= binv[i]
        tot = 0.0
        for j in range(k):
            v = e[i, j] * tmp[i, j] - wx * w[i, j] - bx * b[i, j]
            out[i, j] = v
            tot += v
        tot *= einv[i]
        for j in range(k):
            out[i, j] -= tot * e[i, j]


@numba.njit(cache=True, nogil=True)
def _max_step(x, dx):
    """Largest α ≤ 1 with ``x + α dx ≥ 0``: the ratios ``x/(−dx)`` where ``dx < 0`` (a select, no branch:
    the sign of dx is a coin flip per entry, and mispredicted branches had cost a third more), then
    their minimum in four fixed lanes (a minimum does not depend on the order)."""
    x, dx = x.ravel(), dx.ravel()
    n = x.size
    ratio = np.empty(n)
    for t in range(n):
        d = dx[t]
        ratio[t] = x[t] / -d if d < 0.0 else 1.0
    b0 = 1.0
    b1 = 1.0
    b2 = 1.0
    b3 = 1.0
    m = n - n % 4
    for t in range(0, m, 4):
        b0 = min(b0, ratio[t])
        b1 = min(b1, ratio[t + 1])
        b2 = min(b2, ratio[t + 2])
        b3 = min(b3, ratio[t + 3])
    for t in range(m, n):
        b0 = min(b0, ratio[t])
    return min(min(b0, b1), min(b2, b3))


@numba.njit(cache=True, nogil=True)
def _lengths(sig, a, y, z, dy, dz):
    """Largest steps ≤ 1 keeping ``y ≥ 0`` and ``a = σ·y ≥ 0`` (primal), ``z ≥ 0`` (dual)."""
    n, k = sig.shape
    da = np.empty(n)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += sig[i, j] * dy[i, j]
        da[i] = acc
    return min(_max_step(y, dy), _max_step(a, da)), _max_step(z, dz)


@numba.njit(cache=True, nogil=True)
def _objective(sig, y, u, lam, eq10):
    """``P(y)`` of the new iterate (for the caller's decision whether to certify it)."""
    n, k = sig.shape
    m = np.zeros(k)
    loss = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += sig[i, j] * y[i, j]
            m[j] += y[i, j]
        loss -= math.log(acc)
    loss /= n
    for j in range(k):
        mj = m[j] / n
        if eq10:
            loss += lam * mj * math.log(mj / u[j])
        elif u[j] > 0.0:
            loss += lam * u[j] * math.log(u[j] / mj)
    return loss


@numba.njit(cache=True, nogil=True)
def _state(sig, y, u, lam, eq10):
    """``a = σ·y`` per point, ``G'(m)`` and ``G''(m)/N`` per class."""
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
        if lam == 0.0 or mj <= 0.0:  # G ≡ 0, or a class without mass (only on a face: G = ∞ there)
            gp[j] = 0.0
            curv[j] = 0.0
        elif eq10:
            gp[j] = lam * (math.log(mj / u[j]) + 1.0)
            curv[j] = lam / mj / n
        elif u[j] > 0.0:
            gp[j] = -lam * u[j] / mj
            curv[j] = lam * u[j] / (mj * mj) / n
        else:
            gp[j] = 0.0
            curv[j] = 0.0
    return a, gp, curv


@numba.njit(cache=True, nogil=True)
def _factor(e, r, curv):
    """Per point ``w = e∘r``, ``ρ``, ``b = B⁻¹1``, ``β⁻¹ = 1/Σb``, ``1/Σe``, and the K×K system's
    inverse (:func:`~._schur.system_inverse`): everything a direction (:func:`_direction`) needs."""
    n, k = e.shape
    w = np.empty((n, k))
    b = np.empty((n, k))
    rho = np.empty(n)
    binv = np.empty(n)
    einv = np.empty(n)
    for i in range(n):
        rw = 0.0
        ws = 0.0
        es = 0.0
        for j in range(k):
            w[i, j] = e[i, j] * r[i, j]
            rw += r[i, j] * w[i, j]
            ws += w[i, j]
            es += e[i, j]
        rho[i] = 1.0 / (1.0 + rw)
        einv[i] = 1.0 / es
        bs = 0.0
        for j in range(k):
            b[i, j] = e[i, j] - rho[i] * ws * w[i, j]
            bs += b[i, j]
        binv[i] = 1.0 / bs
    return w, rho, b, binv, einv, system_inverse(e, w, rho, b, binv, curv)


@numba.njit(cache=True, nogil=True)
def _face_direction(sig, y, support, u, lam, eq10, eps):
    """Newton direction on the face ``support``: the interior step's system with ``e = 1/ε`` on the
    support and 0 off it, right-hand side ``−∇f``."""
    n, k = sig.shape
    a, gp, curv = _state(sig, y, u, lam, eq10)
    e = np.zeros((n, k))
    r = np.empty((n, k))
    q = np.empty((n, k))
    for i in range(n):
        ia = 1.0 / a[i]
        for j in range(k):
            r[i, j] = sig[i, j] * ia
            q[i, j] = r[i, j] - gp[j]
            if support[i, j]:
                e[i, j] = 1.0 / eps
    w, rho, b, binv, einv, ainv = _factor(e, r, curv)
    out = np.empty((n, k))
    _direction(e, einv, w, rho, b, binv, ainv, curv, q, out, np.empty((n, k)))
    return out


@numba.njit(cache=True, nogil=True)
def _renormalize(y, support):
    """``y`` zeroed off ``support``, rows rescaled to sum 1 (in place)."""
    n, k = y.shape
    for i in range(n):
        tot = 0.0
        for j in range(k):
            if not support[i, j]:
                y[i, j] = 0.0
            tot += y[i, j]
        for j in range(k):
            y[i, j] /= tot


@numba.njit(cache=True, nogil=True)
def face_step(sig, y, support, u, lam, eq10, eps, vanish, rounds, radius, drop):
    """One Newton step on the face ``support`` from ``y`` (see :func:`ccel_core.solvers._face.face_newton`),
    returning new ``(y, support)``: entries the full step would take below 0 that are already below
    ``vanish`` × their row's largest leave the support (up to ``rounds`` times, the direction
    recomputed each time); the step goes up to the first entry reaching 0 and moves no entry more
    than ``radius``; entries below ``drop`` × their row's largest then leave the support."""
    n, k = y.shape
    y, support = y.copy(), support.copy()
    dy = _face_direction(sig, y, support, u, lam, eq10, eps)
    for _ in range(rounds):
        gone = False
        for i in range(n):
            top = y[i].max()
            for j in range(k):
                if support[i, j] and y[i, j] + dy[i, j] < 0.0 and y[i, j] < vanish * top:
                    support[i, j] = False
                    gone = True
        if not gone:
            break
        _renormalize(y, support)
        dy = _face_direction(sig, y, support, u, lam, eq10, eps)
    alpha = min(_max_step(y, dy), radius / max(np.abs(dy).max(), 1e-300))
    for i in range(n):
        for j in range(k):
            y[i, j] = y[i, j] + alpha * dy[i, j] if support[i, j] else 0.0
    for i in range(n):
        top = y[i].max()
        for j in range(k):
            support[i, j] = support[i, j] and y[i, j] > drop * top
    _renormalize(y, support)
    return y, support


@numba.njit(cache=True, nogil=True)
def pd_step(sig, y, z, u, lam, eq10, frac, sigma_min):
    """One Mehrotra predictor-corrector step of the exact y-step; updates ``y`` and ``z`` in place.

    Returns ``(μ, P)`` of the new iterate: the complementarity ``mean y∘z`` and the objective, whose
    ratio ``K·μ/P`` is the interior method's own estimate of its relative gap."""
    n, k = sig.shape
    a, gp, curv = _state(sig, y, u, lam, eq10)
    e = np.empty((n, k))
    r = np.empty((n, k))
    zy = np.empty((n, k))  # z/y = 1/e
    iy = np.empty((n, k))  # 1/y
    grad = np.empty((n, k))
    for i in range(n):
        ia = 1.0 / a[i]
        for j in range(k):
            r[i, j] = sig[i, j] * ia
            grad[i, j] = gp[j] - r[i, j]
            iy[i, j] = 1.0 / y[i, j]
            zy[i, j] = z[i, j] * iy[i, j]
            e[i, j] = 1.0 / zy[i, j]
    w, rho, b, binv, einv, ainv = _factor(e, r, curv)
    q = -grad
    dy = np.empty((n, k))
    tmp = np.empty((n, k))
    _direction(e, einv, w, rho, b, binv, ainv, curv, q, dy, tmp)  # predictor (affine scaling)
    dz = np.empty((n, k))
    mu = 0.0
    for i in range(n):
        for j in range(k):
            dz[i, j] = -z[i, j] - zy[i, j] * dy[i, j]
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
            comp[i, j] = (target - dy[i, j] * dz[i, j]) * iy[i, j]
            q[i, j] = comp[i, j] - grad[i, j]
    _direction(e, einv, w, rho, b, binv, ainv, curv, q, dy, tmp)  # corrector
    for i in range(n):
        for j in range(k):
            dz[i, j] = comp[i, j] - z[i, j] - zy[i, j] * dy[i, j]
    ap, ad = _lengths(sig, a, y, z, dy, dz)
    # Gondzio's centrality correctors while a step is short: aim at longer steps (1.5α + 0.1) and
    # pull the complementarity products of that trial point into [0.1, 10]·σμ, reusing the factors
    dyc = np.empty((n, k))
    dzc = np.empty((n, k))
    for _ in range(_CORRECTORS):
        if min(ap, ad) >= _CORRECT_BELOW:
            break
        tp = min(1.0, 1.5 * ap + 0.1)
        td = min(1.0, 1.5 * ad + 0.1)
        for i in range(n):
            for j in range(k):
                v = (y[i, j] + tp * dy[i, j]) * (z[i, j] + td * dz[i, j])
                t = max(min(v, 10.0 * target), 0.1 * target) - v
                q[i, j] = max(t, -10.0 * target) * iy[i, j]
        _direction(e, einv, w, rho, b, binv, ainv, curv, q, dyc, tmp)
        for i in range(n):
            for j in range(k):
                dyc[i, j] += dy[i, j]
                dzc[i, j] = dz[i, j] + q[i, j] - zy[i, j] * (dyc[i, j] - dy[i, j])
        cp, cd = _lengths(sig, a, y, z, dyc, dzc)
        if cp + cd < 1.01 * (ap + ad):
            break
        dy, dyc = dyc, dy
        dz, dzc = dzc, dz
        ap, ad = cp, cd
    alpha = frac * ap
    beta = frac * ad
    mu = 0.0
    for i in range(n):
        tot = 0.0
        for j in range(k):
            y[i, j] += alpha * dy[i, j]
            tot += y[i, j]
        tot = 1.0 / tot
        for j in range(k):
            y[i, j] *= tot
            z[i, j] += beta * dz[i, j]
            mu += y[i, j] * z[i, j]
    return mu / (n * k), _objective(sig, y, u, lam, eq10)
