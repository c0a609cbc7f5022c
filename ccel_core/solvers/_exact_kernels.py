"""numba kernels of the exact y-step (numpy inputs): the interior-point steps (the arithmetic of
:func:`ccel_core.solvers._interior._vectorized_step`, fused — each Mehrotra step one pass of compiled
code, and several steps in one call; its Gram product and step lengths round differently in the last
bits), the face end-game's Newton step (:func:`ccel_core.solvers._face._face_step`) and the projection
on a face.

Both take σ class-major (``sig_t``: K × N, the :class:`~._ipm.Problem`'s ``sig_t``) and the labels
point-major (N × K, as everywhere else), and work class-major inside (:mod:`._schur`: the per-point
sums over classes vectorize across points); the transposes cost ≈ 1 µs each at 250 × 10.

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

from ._schur import direction, factor_into, lane_sum

_CORRECTORS = 2  # Gondzio correctors per step at most …
_CORRECT_BELOW = 0.7  # … tried while the primal or dual step is shorter than this
_SCRATCH = 13  # K × N scratch arrays of one interior step


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
def _step_from_inverse(ix, dx):
    """:func:`_max_step` for ``x`` with finite ``ix = 1/x`` > 0, from ``ix``: ``α = 1/max(−dx∘ix)`` (1 if
    that is ≤ 1) — a product and a maximum per entry (no select, no division: the entries with ``dx ≥ 0`` add nothing above the
    lanes' start 0), in four fixed lanes. Equal to :func:`_max_step` to a few ulps; alone no faster at 250 × 10
    (2.2 µs each: the lanes' maximum, not the divisions, bounds both), but the interior step's divisions
    fall from 6–10 to 2 per entry (``1/z = e/y``): real MNIST solves 1.02–1.06× faster in one process."""
    ix, dx = ix.ravel(), dx.ravel()
    n = ix.size
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    b3 = 0.0
    m = n - n % 4
    for t in range(0, m, 4):
        b0 = max(b0, -dx[t] * ix[t])
        b1 = max(b1, -dx[t + 1] * ix[t + 1])
        b2 = max(b2, -dx[t + 2] * ix[t + 2])
        b3 = max(b3, -dx[t + 3] * ix[t + 3])
    for t in range(m, n):
        b0 = max(b0, -dx[t] * ix[t])
    top = max(max(b0, b1), max(b2, b3))
    return 1.0 if top <= 1.0 else 1.0 / top


@numba.njit(cache=True, nogil=True)
def _lengths(sig, ia, iy, iz, dy, dz):
    """Largest steps ≤ 1 keeping ``y ≥ 0`` and ``a = σ·y ≥ 0`` (primal), ``z ≥ 0`` (dual), from the
    inverses ``1/a``, ``1/y``, ``1/z`` of the current iterate; K × N."""
    k, n = sig.shape
    da = np.zeros(n)
    for j in range(k):
        for i in range(n):
            da[i] += sig[j, i] * dy[j, i]
    return min(_step_from_inverse(iy, dy), _step_from_inverse(ia, da)), _step_from_inverse(iz, dz)


@numba.njit(cache=True, nogil=True)
def _objective(sig, y, u, lam, eq10):
    """``P(y)`` (K × N) of the new iterate (for the caller's decision whether to certify it)."""
    k, n = sig.shape
    a = np.zeros(n)
    for j in range(k):
        for i in range(n):
            a[i] += sig[j, i] * y[j, i]
    for i in range(n):
        a[i] = math.log(a[i])
    loss = -lane_sum(a) / n
    for j in range(k):
        mj = lane_sum(y[j]) / n
        if eq10:
            loss += lam * mj * math.log(mj / u[j])
        elif u[j] > 0.0:
            loss += lam * u[j] * math.log(u[j] / mj)
    return loss


@numba.njit(cache=True, nogil=True)
def _state(sig, y, u, lam, eq10):
    """``a = σ·y`` per point, ``G'(m)`` and ``G''(m)/N`` per class (``sig``, ``y``: K × N)."""
    k, n = sig.shape
    a = np.zeros(n)
    for j in range(k):
        for i in range(n):
            a[i] += sig[j, i] * y[j, i]
    gp = np.empty(k)
    curv = np.empty(k)
    for j in range(k):
        mj = lane_sum(y[j]) / n
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
def workspace(k, n, count):
    """``count`` K × N arrays and the K × 2N scratch of :func:`~._schur.factor_into`, allocated once per kernel
    call and reused by its steps: at 10,000 × 200 a new K × N array is 16 MB of fresh pages (≈ 4,000 page
    faults, ≈ 5 ms), and an interior step had used 17 of them (70,000 faults, half of its 0.37 s)."""
    return [np.empty((k, n)) for _ in range(count)], np.empty((k, 2 * n))


@numba.njit(cache=True, nogil=True)
def _face_direction(sig, y, support, u, lam, eq10, eps, ws, gram):
    """Newton direction on the face ``support`` (K × N): the interior step's system with ``e = 1/ε`` on
    the support and 0 off it, right-hand side ``−∇f`` (``ws``, ``gram``: a :func:`workspace` with 6 K × N
    arrays; the direction is the last one)."""
    k, n = sig.shape
    e, r, q, w, b, out = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
    a, gp, curv = _state(sig, y, u, lam, eq10)
    ia = 1.0 / a
    for j in range(k):
        for i in range(n):
            rv = sig[j, i] * ia[i]
            r[j, i] = rv
            q[j, i] = rv - gp[j]
            e[j, i] = 1.0 / eps if support[j, i] else 0.0
    w, rho, b, binv, einv, ainv = factor_into(e, r, curv, w, b, gram)
    direction(e, einv, w, rho, b, binv, ainv, curv, q, out)
    return out


@numba.njit(cache=True, nogil=True)
def _point_max(y):
    """Each point's largest entry (``y``: K × N)."""
    top = y[0].copy()
    for j in range(1, y.shape[0]):
        for i in range(y.shape[1]):
            v = y[j, i]
            if v > top[i] or v != v:  # NaN wins, as in numpy's max
                top[i] = v
    return top


@numba.njit(cache=True, nogil=True)
def _renormalize(y, support):
    """``y`` (K × N) zeroed off ``support``, each point rescaled to sum 1 (in place)."""
    k, n = y.shape
    tot = np.zeros(n)
    for j in range(k):
        for i in range(n):
            if not support[j, i]:
                y[j, i] = 0.0
            tot[i] += y[j, i]
    for j in range(k):
        for i in range(n):
            y[j, i] /= tot[i]


@numba.njit(cache=True, nogil=True, error_model="numpy")  # a row summing to 0 gives NaN, as numpy: no raise
def project_on_face(y, support):
    """``y`` (N × K) zeroed off ``support``, each row rescaled to sum 1; a row without support keeps its
    largest entries (new arrays; :func:`ccel_core.solvers._face.on_face` for numpy, ≈ 25 → 3 µs at 250 × 10).
    Unlike numpy's ``where``/``sum`` it adds a row in order (last-bit differences from K = 8 on) and sets
    entries off the support to 0 even when they are inf or NaN; a row whose support sums to 0 gives NaN."""
    n, k = y.shape
    out = np.empty((n, k))
    sup = support.copy()
    for i in range(n):
        empty = True
        for j in range(k):
            if sup[i, j]:
                empty = False
        if empty:
            top = y[i].max()
            for j in range(k):
                sup[i, j] = y[i, j] == top
        tot = 0.0
        for j in range(k):
            v = y[i, j] if sup[i, j] else 0.0
            out[i, j] = v
            tot += v
        for j in range(k):
            out[i, j] /= tot
    return out, sup


@numba.njit(cache=True, nogil=True)
def face_step(sig_t, y_in, support_in, u, lam, eq10, eps, vanish, rounds, radius, drop):
    """One Newton step on the face ``support`` from ``y`` (see :func:`ccel_core.solvers._face.face_newton`),
    returning new ``(y, support)`` (N × K; ``sig_t`` K × N): entries the full step would take below 0 that
    are already below ``vanish`` × their point's largest leave the support (up to ``rounds`` times, the
    direction recomputed each time); the step goes up to the first entry reaching 0 and moves no entry
    more than ``radius``; entries below ``drop`` × their point's largest then leave the support."""
    y, support = y_in.T.copy(), support_in.T.copy()
    k, n = y.shape
    ws, gram = workspace(k, n, 6)
    dy = _face_direction(sig_t, y, support, u, lam, eq10, eps, ws, gram)
    for _ in range(rounds):
        top = _point_max(y)
        gone = False
        for j in range(k):
            for i in range(n):
                if support[j, i] and y[j, i] + dy[j, i] < 0.0 and y[j, i] < vanish * top[i]:
                    support[j, i] = False
                    gone = True
        if not gone:
            break
        _renormalize(y, support)
        dy = _face_direction(sig_t, y, support, u, lam, eq10, eps, ws, gram)
    alpha = min(_max_step(y, dy), radius / max(np.abs(dy).max(), 1e-300))
    for j in range(k):
        for i in range(n):
            y[j, i] = y[j, i] + alpha * dy[j, i] if support[j, i] else 0.0
    top = _point_max(y)
    for j in range(k):
        for i in range(n):
            support[j, i] = support[j, i] and y[j, i] > drop * top[i]
    _renormalize(y, support)
    return y.T.copy(), support.T.copy()


@numba.njit(cache=True, nogil=True)
def _mean_product(y, z, ty, dy, tz, dz, prod):
    """``mean (y + ty·dy)∘(z + tz·dz)`` over K × N entries (``prod``: N scratch)."""
    k, n = y.shape
    tot = 0.0
    for j in range(k):
        for i in range(n):
            prod[i] = (y[j, i] + ty * dy[j, i]) * (z[j, i] + tz * dz[j, i])
        tot += lane_sum(prod)
    return tot / (n * k)


@numba.njit(cache=True, nogil=True)
def pd_steps(sig_t, y_in, z_in, u, lam, eq10, frac, sigma_min, gate, limit, p_tiny):
    """Mehrotra predictor-corrector steps of the exact y-step from ``(y, z)`` (N × K; ``sig_t`` K × N)
    until the interior method's own relative-gap estimate ``K·μ/P`` (μ = mean y∘z) is at most
    ``gate`` (0 when ``P ≤ p_tiny``), ``limit`` steps are taken, or a step cannot be computed in float64.

    Returns the last computed ``(y, z)`` (N × K), the iterate before it (class-major K × N, the start when
    fewer than two steps were taken: a caller transposes it only when it needs it), the number of steps,
    the last estimate, and whether a step failed (a division by zero or a singular system: that step is
    not taken)."""
    k, n = sig_t.shape
    ws, gram = workspace(k, n, _SCRATCH + 6)  # the step's scratch, then three (y, z) buffers taken in turn
    ys = (ws[_SCRATCH], ws[_SCRATCH + 1], ws[_SCRATCH + 2])
    zs = (ws[_SCRATCH + 3], ws[_SCRATCH + 4], ws[_SCRATCH + 5])
    ys[0][:] = y_in.T
    zs[0][:] = z_in.T
    cur = 0  # the iterate …
    prev = 0  # … and the one before it (the start until a step is taken)
    steps = 0
    estimate = np.inf
    failed = False
    while steps < limit:
        nxt = 3 - cur - prev if cur != prev else (cur + 1) % 3  # the buffer holding neither
        y, z = ys[nxt], zs[nxt]
        y[:] = ys[cur]
        z[:] = zs[cur]
        try:
            mu, loss = _pd_step(sig_t, y, z, u, lam, eq10, frac, sigma_min, ws, gram)
        except Exception:  # ZeroDivisionError or LinAlgError: not computable in float64 (λ ≈ 1e307)
            failed = True
            break
        prev, cur = cur, nxt
        steps += 1
        estimate = k * mu / loss if loss > p_tiny else 0.0
        if estimate <= gate:
            break
    return ys[cur].T.copy(), zs[cur].T.copy(), ys[prev], zs[prev], steps, estimate, failed


@numba.njit(cache=True, nogil=True)
def _pd_step(sig, y, z, u, lam, eq10, frac, sigma_min, ws, gram):
    """One Mehrotra predictor-corrector step, class-major, updating ``y`` and ``z`` (K × N) in place;
    returns their ``(μ, P)``. ``ws``, ``gram``: a :func:`workspace` with at least ``_SCRATCH`` arrays."""
    k, n = sig.shape
    e, r, zy, iy, q, dy, dz, comp, dyc, dzc = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7], ws[8], ws[9]
    w_out, b_out, iz = ws[10], ws[11], ws[12]  # factor_into's w and b, and 1/z
    a, gp, curv = _state(sig, y, u, lam, eq10)
    ia = 1.0 / a  # an array expression: a point with σ·y = 0 gives inf here and a LinAlgError in the K×K solve
    # zy = z/y = 1/e, iy = 1/y, iz = 1/z; q = −∇f, the predictor's right-hand side (∇f = G'(m) − r)
    for j in range(k):
        g = gp[j]
        for i in range(n):
            rv = sig[j, i] * ia[i]
            r[j, i] = rv
            q[j, i] = rv - g
            iyv = 1.0 / y[j, i]
            iy[j, i] = iyv
            zyv = z[j, i] * iyv
            zy[j, i] = zyv
            ev = 1.0 / zyv
            e[j, i] = ev
            iz[j, i] = ev * iyv  # 1/z (while z/y is finite: an overflow had ended the step's accuracy anyway)
    w, rho, b, binv, einv, ainv = factor_into(e, r, curv, w_out, b_out, gram)
    direction(e, einv, w, rho, b, binv, ainv, curv, q, dy)  # predictor (affine scaling)
    for j in range(k):
        for i in range(n):
            dz[j, i] = -z[j, i] - zy[j, i] * dy[j, i]
    prod = np.empty(n)
    mu = _mean_product(y, z, 0.0, y, 0.0, z, prod)
    ap = _step_from_inverse(iy, dy)
    ad = _step_from_inverse(iz, dz)
    mu_aff = _mean_product(y, z, ap, dy, ad, dz, prod)
    target = max((mu_aff / mu) ** 3, sigma_min) * mu
    for j in range(k):
        g = gp[j]
        for i in range(n):
            c = (target - dy[j, i] * dz[j, i]) * iy[j, i]
            comp[j, i] = c
            q[j, i] = c - (g - r[j, i])  # comp − ∇f
    direction(e, einv, w, rho, b, binv, ainv, curv, q, dy)  # corrector
    for j in range(k):
        for i in range(n):
            dz[j, i] = comp[j, i] - z[j, i] - zy[j, i] * dy[j, i]
    ap, ad = _lengths(sig, ia, iy, iz, dy, dz)
    # Gondzio's centrality correctors while a step is short: aim at longer steps (1.5α + 0.1) and
    # pull the complementarity products of that trial point into [0.1, 10]·σμ, reusing the factors
    for _ in range(_CORRECTORS):
        if min(ap, ad) >= _CORRECT_BELOW:
            break
        tp = min(1.0, 1.5 * ap + 0.1)
        td = min(1.0, 1.5 * ad + 0.1)
        for j in range(k):
            for i in range(n):
                v = (y[j, i] + tp * dy[j, i]) * (z[j, i] + td * dz[j, i])
                t = max(min(v, 10.0 * target), 0.1 * target) - v
                q[j, i] = max(t, -10.0 * target) * iy[j, i]
        direction(e, einv, w, rho, b, binv, ainv, curv, q, dyc)
        for j in range(k):
            for i in range(n):
                dyc[j, i] += dy[j, i]
                dzc[j, i] = dz[j, i] + q[j, i] - zy[j, i] * (dyc[j, i] - dy[j, i])
        cp, cd = _lengths(sig, ia, iy, iz, dyc, dzc)
        if cp + cd < 1.01 * (ap + ad):
            break
        dy, dyc = dyc, dy
        dz, dzc = dzc, dz
        ap, ad = cp, cd
    alpha = frac * ap
    beta = frac * ad
    tot = np.zeros(n)
    for j in range(k):
        for i in range(n):
            v = y[j, i] + alpha * dy[j, i]
            y[j, i] = v
            tot[i] += v
    for i in range(n):
        tot[i] = 1.0 / tot[i]
    for j in range(k):
        for i in range(n):
            y[j, i] *= tot[i]
            z[j, i] += beta * dz[j, i]
    return _mean_product(y, z, 0.0, y, 0.0, z, prod), _objective(sig, y, u, lam, eq10)
