"""numba kernels of EM's M-step (numpy input): per point, the root of ``g(z) = 1`` and the new labels.

M-step of one point: minimize ``−ln(σ·y) − Σ_k w_k ln y_k`` over ``y ∈ Δ_K``. With ``β = 1 + Σ_k w_k``
the solution is ``y_k = (w_k/β) · z/(z − σ_k)`` where ``z > max σ`` is the root of
``g(z) = Σ_k w_k σ_k/(z − σ_k) = 1``. The torch kernel (:mod:`._m_step`) does the same arithmetic.

* We solve for ``t = z − σ_a`` where ``a`` is the largest-σ class with ``c_a = w_a σ_a > 0``,
  and use the exact gaps ``d_k = σ_a − σ_k``, so ``g(t) = Σ_k c_k/(t + d_k)`` never suffers the
  cancellation ``z − σ_a`` when ``w_a`` is tiny (e.g. 1e-300).
* Newton runs on ``φ(t) = 1/g(t)``, which is concave and increasing (a parallel sum of linear
  functions), so Newton started left of the root climbs monotonically without overshooting, and
  is exact in one step when one term dominates:  ``t ← t + g(g − 1)/(−g'(t))``.
* The left start is the largest single-term root ``t₀ = max_k (c_k − d_k) ≥ w_a σ_a > 0``
  (there ``g(t₀) ≥ 1``). Inside EM each point's root from the previous iteration is a warm
  start: left of the new root it is a valid start, right of it one Newton step lands left
  (concavity). Steps are kept inside the bracket known so far, so the loop always ends
  (cap ``NEWTON_MAX`` = 64 passes; cold starts on adversarial inputs with weights from 1e-300
  to 1e3 take ≤ 20, typical ones 3–5; warm starts 2–3).
* Zero weights (paper supplementary §9): let ``j`` be the largest-σ class with ``w_j = 0``. If
  ``σ_j > σ_a`` and ``g(σ_j − σ_a) <= 1`` the optimum pins ``z = σ_j`` and class ``j`` receives the
  remaining mass ``1 − Σ_{k≠j} y_k``; otherwise zero-weight classes get 0. With no positive
  weight at all, ``y = e_j``. Nothing divides by zero and no NaN is produced.

Small inputs (below ``PARALLEL_MIN_ENTRIES``) also have a whole EM iteration fused into one call
(:func:`em_step_serial`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "NEWTON_MAX",
    "NEWTON_RTOL",
    "PARALLEL_MIN_ENTRIES",
    "em_step_serial",
    "m_step_numba",
    "m_step_row",
    "threaded",
]

NEWTON_MAX = 64
NEWTON_RTOL = 4.0 * np.finfo(np.float64).eps

# Reassociation lets LLVM vectorize the Newton sums; no flag assumes away NaN/Inf or signed zeros.
_FASTMATH = {"reassoc", "contract", "arcp"}


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def m_step_row(
    sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray, c: np.ndarray, d: np.ndarray, guess: float
) -> tuple[int, float]:
    """M-step of one point with weights ``w_k = y_k · scale_k``; ``out`` may be ``y`` itself.

    ``c`` and ``d`` are scratch rows (length K) for ``c_k = w_k σ_k`` and ``d_k = σ_a − σ_k``;
    entries with ``c_k = 0`` get ``d_k = 1`` so the Newton sums run without branches.
    ``guess`` (> 0 to use it) is a root from an earlier call. Returns (Newton passes, root t);
    t = 0 when there is no Newton root (pinned or no weight).
    """
    k_count = sig.shape[0]
    a = -1
    j = -1
    wsum = 0.0
    for k in range(k_count):
        wk = y[k] * scale[k]
        wsum += wk
        ck = wk * sig[k]
        c[k] = ck
        if ck > 0.0:
            if a < 0 or sig[k] > sig[a]:
                a = k
        elif sig[k] > 0.0 or wk == 0.0:
            if j < 0 or sig[k] > sig[j]:
                j = k
    beta = 1.0 + wsum
    if a < 0:  # no class with positive weight and positive prediction: the rest goes to j
        total = 0.0
        for k in range(k_count):
            wk = y[k] * scale[k]
            out[k] = wk / beta if (wk > 0.0 and sig[k] == 0.0) else 0.0
            total += out[k]
        out[j] = max(0.0, 1.0 - total)
        return 0, 0.0
    sa = sig[a]
    # Left start: the largest single-term root, or the zero-weight pin if that lies further right.
    t = 0.0
    for k in range(k_count):
        dk = sa - sig[k] if c[k] > 0.0 else 1.0
        d[k] = dk
        t = max(t, c[k] - dk)
    pinned = False
    if j >= 0 and sig[j] > sa:
        tz = sig[j] - sa
        g = 0.0
        for k in range(k_count):
            g += c[k] / (tz + d[k])
        if g <= 1.0:
            t = tz
            pinned = True
        elif tz > t:
            t = tz
    iters = 0
    if not pinned:
        # Newton on the concave, increasing φ = 1/g: from the left of the root it climbs without
        # overshooting; from the right (a warm-start guess) one step lands left of the root.
        # Rounding can still put a step on the wrong side, so the iterate is kept inside the
        # bracket [left, right] known so far (back to ``left`` below it, bisection above it):
        # the loop always ends, with the root to ~4 ulp.
        left = t
        left_seen = False  # whether g was evaluated at ``left`` (t₀ itself is a bound only)
        right = np.inf
        if guess > t:
            t = guess
        for it in range(NEWTON_MAX):
            iters = it + 1
            g = 0.0
            g1 = 0.0
            for k in range(k_count):
                inv = 1.0 / (t + d[k])
                term = c[k] * inv
                g += term
                g1 += term * inv
            if g >= 1.0:
                if t >= left:
                    left = t
                    left_seen = True
            else:
                right = min(right, t)
            t_new = t + g * (g - 1.0) / g1
            if t_new < left:  # from the right, past the best left point: restart there
                t_new = left
            elif t_new > right:  # from the left, past a right point (rounding): bisect
                t_new = 0.5 * (left + right)
            # Done when the step is ~1 ulp, or when it returns to a point already evaluated
            # (the root is then as resolved as g's rounding allows).
            done = abs(t_new - t) <= NEWTON_RTOL * t_new or t_new == right or (left_seen and t_new == left)
            t = t_new
            if done:
                break
    total = 0.0
    top = t + sa
    for k in range(k_count):
        wk = y[k] * scale[k]
        if c[k] > 0.0:
            v = (wk / beta) * top / (t + d[k])
        elif wk > 0.0 and sig[k] == 0.0:
            v = wk / beta
        else:
            v = 0.0
        out[k] = v
        total += v
    if pinned:
        out[j] = max(0.0, 1.0 - total)
    else:
        inv_total = 1.0 / total
        for k in range(k_count):
            out[k] *= inv_total
    return iters, (0.0 if pinned else t)


def _m_step_all(
    sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray, dots: np.ndarray, roots: np.ndarray
) -> int:
    """All points in parallel: ``out_i = M-step(σ_i, w_i = y_i ⊙ scale)`` and ``dots_i = σ_i·out_i``.

    ``out`` may be ``y`` (in-place EM update, no N×K temporary). ``roots`` (length N) holds
    each point's Newton root: read as a warm start where > 0, then overwritten. Points are
    processed in chunks so each chunk allocates its scratch rows once. Returns the most Newton
    passes any point took.
    """
    n, k_count = sig.shape
    chunk = 256
    n_chunks = (n + chunk - 1) // chunk
    iters = np.zeros(n_chunks, dtype=np.int64)
    for b in numba.prange(n_chunks):
        c = np.empty(k_count)
        d = np.empty(k_count)
        worst = 0
        for i in range(b * chunk, min(n, (b + 1) * chunk)):
            steps, roots[i] = m_step_row(sig[i], y[i], scale, out[i], c, d, roots[i])
            worst = max(worst, steps)
            acc = 0.0
            for k in range(k_count):
                acc += sig[i, k] * out[i, k]
            dots[i] = acc
        iters[b] = worst
    return iters.max()


_m_step_parallel = numba.njit(parallel=True, cache=True, nogil=True, fastmath=_FASTMATH)(_m_step_all)
_m_step_serial = numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)(_m_step_all)
# Below this many entries thread start-up costs more than it saves (measured: N·K = 1e4 took
# 0.65 ms on one thread and 3 ms on two busy cores).
PARALLEL_MIN_ENTRIES = 200_000


def threaded(entries: int) -> bool:
    """Whether an input of ``entries`` label entries takes the parallel kernel (else the serial ones)."""
    return entries >= PARALLEL_MIN_ENTRIES


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def em_step_serial(
    sig: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    lam: float,
    col: np.ndarray,
    roots: np.ndarray,
    col_out: np.ndarray,
) -> float:
    """One whole EM iteration in one call, for inputs below the parallel threshold.

    E-step folded into the weights ``w_ik = λ N u_k y_ik / col_k`` (0 where ``col_k = 0``), the
    M-step in place on ``y`` (warm-started ``roots``), the new column sums into ``col_out`` and
    ``Σ_i −ln(σ_i·y_i)`` returned (``+inf`` where a dot is 0; the caller adds the fairness term with
    :func:`~ccel_core.solvers._common.label_objective`, the one formula of eq. 11's loss). The same
    arithmetic as :func:`_m_step_all` plus the numpy bookkeeping around it, without a Python round
    trip per M-step (small y-step batches).
    """
    n, k_count = sig.shape
    scale = np.empty(k_count)
    for k in range(k_count):
        scale[k] = lam * n * prior[k] / col[k] if col[k] > 0.0 else 0.0
        col_out[k] = 0.0
    c = np.empty(k_count)
    d = np.empty(k_count)
    log_sum = 0.0
    for i in range(n):
        _, roots[i] = m_step_row(sig[i], y[i], scale, y[i], c, d, roots[i])
        acc = 0.0
        for k in range(k_count):
            acc += sig[i, k] * y[i, k]
            col_out[k] += y[i, k]
        log_sum -= np.log(acc) if acc > 0.0 else -np.inf
    return log_sum


def m_step_numba(
    sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray, dots: np.ndarray, roots: np.ndarray
) -> int:
    """Dispatch to the parallel kernel for large inputs, the serial one for small."""
    kernel = _m_step_parallel if threaded(sig.size) else _m_step_serial
    return kernel(sig, y, scale, out, dots, roots)
