"""The paper's EM algorithm for the pseudo-labels of eq. 11 (docs/math.md §4, paper section 4).

Minimizes ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)`` over rows ``y_i ∈ Δ_K``.

* E-step: ``S_ik = y_ik / Σ_j y_jk`` (Jensen's bound on ``−ln ȳ_k``).
* M-step, per point: minimize ``−ln(σ·y) − Σ_k w_k ln y_k`` with ``w_ik = λ N u_k S_ik``.
  With ``β = 1 + Σ_k w_k`` the solution is ``y_k = (w_k/β) · z/(z − σ_k)`` where ``z > max σ``
  is the root of ``g(z) = Σ_k w_k σ_k/(z − σ_k) = 1``.

Numerics of the M-step (the same in the numba and the torch kernel):

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
  (cap ``_NEWTON_MAX`` = 64 passes; cold starts on adversarial inputs with weights from 1e-300
  to 1e3 take ≤ 20, typical ones 3–5; warm starts 2–3).
* Zero weights (paper supplementary §9): let ``j`` be the largest-σ class with ``w_j = 0``. If
  ``σ_j > σ_a`` and ``g(σ_j − σ_a) <= 1`` the optimum pins ``z = σ_j`` and class ``j`` receives the
  remaining mass ``1 − Σ_{k≠j} y_k``; otherwise zero-weight classes get 0. With no positive
  weight at all, ``y = e_j``. Nothing divides by zero and no NaN is produced.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, cast

import numba
import numpy as np
import torch

from ..timing import best_of
from ._common import (
    Array,
    SolverResult,
    change_rule_outcome,
    check_nonnegative,
    has_converged,
    label_objective,
    prepare,
)
from .certificate import certify as certify_labels
from .certificate import slope_order

__all__ = ["em", "m_step", "positive_start", "START_FLOOR"]

_NEWTON_MAX = 64
# The default start Y0 = σ is floored here (rows renormalized): EM's multiplicative updates keep
# a zero at zero (paper Property 1), so a class with σ = 0 at every point (float32 softmax
# underflow) would otherwise stay empty and eq. 11 infinite. Warm starts in the trainer too.
START_FLOOR = 1e-8
_NEWTON_RTOL = 4.0 * np.finfo(np.float64).eps


# ------------------------------------------------------------------------------------------
# numba kernel (numpy input): one point per prange iteration
# ------------------------------------------------------------------------------------------
# Reassociation lets LLVM vectorize the Newton sums; no flag assumes away NaN/Inf or signed zeros.
_FASTMATH = {"reassoc", "contract", "arcp"}


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _m_step_row(
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
        for it in range(_NEWTON_MAX):
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
            done = abs(t_new - t) <= _NEWTON_RTOL * t_new or t_new == right or (left_seen and t_new == left)
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
            steps, roots[i] = _m_step_row(sig[i], y[i], scale, out[i], c, d, roots[i])
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
_PARALLEL_MIN_ENTRIES = 200_000


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _em_step_serial(
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
        _, roots[i] = _m_step_row(sig[i], y[i], scale, y[i], c, d, roots[i])
        acc = 0.0
        for k in range(k_count):
            acc += sig[i, k] * y[i, k]
            col_out[k] += y[i, k]
        log_sum -= np.log(acc) if acc > 0.0 else -np.inf
    return log_sum


def _m_step_numba(
    sig: np.ndarray, y: np.ndarray, scale: np.ndarray, out: np.ndarray, dots: np.ndarray, roots: np.ndarray
) -> int:
    """Dispatch to the parallel kernel for large inputs, the serial one for small."""
    kernel = _m_step_parallel if sig.size >= _PARALLEL_MIN_ENTRIES else _m_step_serial
    return kernel(sig, y, scale, out, dots, roots)


# ------------------------------------------------------------------------------------------
# torch kernel: the same arithmetic, vectorized over points
# ------------------------------------------------------------------------------------------
def _m_step_torch(sig: torch.Tensor, w: torch.Tensor, roots: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The numba kernel's arithmetic, vectorized over points; Newton runs on the active rows only.

    ``roots`` (length N, optional) is read as a warm start where > 0 and overwritten in place.
    """
    c = w * sig
    pos = c > 0
    zmask = ~pos & ((sig > 0) | (w == 0))
    neg_inf = torch.tensor(-torch.inf, dtype=sig.dtype, device=sig.device)
    sa, a = torch.where(pos, sig, neg_inf).max(dim=1)
    sj, j = torch.where(zmask, sig, neg_inf).max(dim=1)
    has_a = pos.any(dim=1)
    beta = 1.0 + w.sum(dim=1)
    sa = torch.where(has_a, sa, torch.zeros_like(sa))
    d = torch.where(pos, sa.unsqueeze(1) - sig, 1.0)  # as in the numba kernel: d = 1 where c = 0

    def g_and_slope(t: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv = 1.0 / (t.unsqueeze(1) + d[rows])
        term = c[rows] * inv
        return term.sum(dim=1), (term * inv).sum(dim=1)

    every = torch.arange(sig.shape[0], device=sig.device)
    t = (c - d).max(dim=1).values.clamp_min(0.0)
    tz = sj - sa
    may_pin = has_a & torch.isfinite(sj) & (sj > sa)
    pin_rows = every[may_pin]
    g_pin, _ = g_and_slope(tz[pin_rows], pin_rows)
    pinned = torch.zeros_like(may_pin)
    pinned[pin_rows] = g_pin <= 1.0
    t = torch.where(may_pin, torch.maximum(t, tz), t)
    newton = has_a & ~pinned
    rows = every[newton]
    left = t.clone()
    left_seen = torch.zeros_like(newton)
    right = torch.full_like(t, torch.inf)
    if roots is not None:
        t = torch.where(newton & (roots > t), roots, t)
    for _ in range(_NEWTON_MAX):  # the numba kernel's safeguarded Newton, on the active rows
        if rows.numel() == 0:
            break
        tr = t[rows]
        g, g1 = g_and_slope(tr, rows)
        new_left = (g >= 1.0) & (tr >= left[rows])
        lo = torch.where(new_left, tr, left[rows])
        seen = left_seen[rows] | new_left
        hi = torch.where(g >= 1.0, right[rows], torch.minimum(right[rows], tr))
        left[rows], right[rows], left_seen[rows] = lo, hi, seen
        t_new = tr + g * (g - 1.0) / g1
        t_new = torch.where(t_new < lo, lo, torch.where(t_new > hi, 0.5 * (lo + hi), t_new))
        t[rows] = t_new
        done = ((t_new - tr).abs() <= _NEWTON_RTOL * t_new) | (t_new == hi) | (seen & (t_new == lo))
        rows = rows[~done]
    ratio = (t + sa).unsqueeze(1) / (t.unsqueeze(1) + d)
    y = torch.where(pos, (w / beta.unsqueeze(1)) * ratio, 0.0)
    y = torch.where((w > 0) & (sig == 0), w / beta.unsqueeze(1), y)
    total = y.sum(dim=1)
    remainder = pinned | ~has_a
    y = torch.where(remainder.unsqueeze(1), y, y / total.unsqueeze(1))
    rem_rows = every[remainder]
    y[rem_rows, j[rem_rows]] = (1.0 - total[rem_rows]).clamp_min(0.0)
    if roots is not None:
        roots.copy_(torch.where(newton, t, 0.0))
    return y


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
def m_step(probs: Array, weights: Array) -> Array:
    """Solve ``min_{y ∈ Δ_K} −ln(σ_i·y) − Σ_k w_ik ln y_k`` for every row (float64).

    ``probs`` (σ) rows on the simplex, ``weights`` (w) non-negative, both N×K, numpy (numba
    kernel, parallel over points) or torch (vectorized kernel, any device).
    """
    if isinstance(probs, torch.Tensor):
        # weights share probs' backend (the documented contract)
        return _m_step_torch(probs.to(torch.float64), cast(torch.Tensor, weights).to(torch.float64))
    sig = np.ascontiguousarray(probs, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty_like(sig)
    _m_step_numba(sig, w, np.ones(sig.shape[1]), out, np.empty(sig.shape[0]), np.zeros(sig.shape[0]))
    return out


def m_step_timings(
    probs: np.ndarray, labels: np.ndarray, scale: np.ndarray, *, repeats: int = 5, python_points: int = 200
) -> dict[str, float]:
    """Seconds of one M-step over every row (weights ``w_ik = scale_k · y_ik``), best of ``repeats``,
    per kernel: ``numba_m_step`` (the compiled kernel ``em`` uses on numpy), ``torch_m_step`` (the
    vectorized kernel, on ``probs``' CPU copy) and ``python_m_step`` (the same arithmetic one point at
    a time in plain Python, extrapolated from ``python_points`` points to N) — the solver race's
    kernel comparison (paper Table 1's implementation note)."""
    n = probs.shape[0]
    out, dots = np.empty_like(probs), np.empty(n)
    _m_step_numba(probs[:2], labels[:2], scale, out[:2], dots[:2], np.zeros(2))  # compile
    tp, ty, ts = torch.from_numpy(probs), torch.from_numpy(labels), torch.from_numpy(scale)
    c, d = np.empty(probs.shape[1]), np.empty(probs.shape[1])
    m = min(python_points, n)

    def python_loop() -> None:
        for i in range(m):
            _m_step_row.py_func(probs[i], labels[i], scale, out[i], c, d, 0.0)

    return {
        "numba_m_step": best_of(lambda: _m_step_numba(probs, labels, scale, out, dots, np.zeros(n)), repeats),
        "torch_m_step": best_of(lambda: _m_step_torch(tp, ty * ts), repeats),
        "python_m_step": best_of(python_loop, 1) * n / m,
    }


def positive_start(y: Array) -> Array:
    """Rows of ``y`` floored at :data:`START_FLOOR` and renormalized (a strictly positive EM start)."""
    y = y.clamp_min(START_FLOOR) if isinstance(y, torch.Tensor) else np.maximum(y, START_FLOOR)
    return y / y.sum(1, keepdims=True)  # type: ignore[call-overload]  # torch takes numpy's keepdims= too


def _em_update(sig: Array, y: Array, scale: Array, roots: Array) -> tuple[Array, Array]:
    """One M-step with ``w = y ⊙ scale``; returns the new labels and the dots ``σ_i·y_i``.

    ``roots`` carries each point's Newton root from one EM iteration to the next (warm start).
    The numpy path updates ``y`` in place (one fused pass, no N×K temporary).
    """
    if isinstance(y, torch.Tensor):
        assert isinstance(sig, torch.Tensor) and isinstance(scale, torch.Tensor) and isinstance(roots, torch.Tensor)
        y = _m_step_torch(sig, y * scale, roots)
        return y, (sig * y).sum(1)
    assert isinstance(sig, np.ndarray) and isinstance(scale, np.ndarray) and isinstance(roots, np.ndarray)
    dots = np.empty(y.shape[0])
    _m_step_numba(sig, y, scale, y, dots, roots)
    return y, dots


def _softmax_rows(lib: Any, theta: Array) -> Array:
    """Rows of ``exp θ`` normalized to the simplex (max-shifted)."""
    if isinstance(theta, torch.Tensor):  # lib is torch
        return torch.softmax(theta, dim=1)
    e = np.exp(theta - theta.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _global_sum(lib: Any, parts: list, all_reduce: Optional[Callable], vector: bool = False) -> Any:
    """Sums over processes of scalars (a list of floats back) or of one vector (``vector=True``)."""
    if all_reduce is None:
        return parts[0] if vector else [float(p) for p in parts]
    packed = parts[0].clone() if vector else torch.stack([torch.as_tensor(p, dtype=torch.float64) for p in parts])
    all_reduce(packed)
    return packed if vector else [float(p) for p in packed]


def em(
    probs: Array,
    lam: float = 100.0,
    *,
    prior: Optional[Array] = None,
    init: Optional[Array] = None,
    max_iter: int = 1000,
    tol: float = 1e-5,
    all_reduce: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    accelerate: bool = False,
    certify: bool = False,
    gap_tol: Optional[float] = None,
    validate: bool = True,
) -> SolverResult:
    """Pseudo-labels minimizing eq. 11, ``mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``, by EM.

    Args:
        probs: predictions σ, N×K rows on the simplex (numpy → numba kernel; torch → torch
            kernel on the tensor's device).
        lam: fairness weight λ >= 0 (paper default 100).
        prior: target class proportions u on the simplex (default uniform 1/K).
        init: warm start Y0, used as given (a class that is 0 at every point stays 0: Property 1);
            default σ floored at ``START_FLOOR`` = 1e-8 and renormalized, so every class is reachable.
        max_iter: maximum EM iterations.
        tol: stop when the relative loss change falls below ``tol`` (the paper's stop is 1e-5);
            ``tol=0`` runs exactly ``max_iter`` iterations without a warning. The stop counts as
            convergence only where the certificate of the returned labels agrees (≤ ``gap_tol``,
            else ≤ ``STALL_GAP`` = 0.05): a stuck iterate whose loss does not move is ``"stalled"``,
            with a ``ConvergenceWarning`` (:func:`~._common.change_rule_outcome`).
        all_reduce: for data-parallel runs, a function summing a float64 tensor over processes
            in place (e.g. ``torch.distributed.all_reduce``); each process passes its own rows.
            One call per iteration carries the K column sums ``Σ_j y_jk`` and the loss terms.
        accelerate: SQUAREM extrapolation of the EM map (Varadhan & Roland 2008, scheme S3) in
            ``θ = ln Y``: from ``Y0`` two EM steps give ``r = θ1 − θ0``, ``v = θ2 − 2θ1 + θ0``;
            ``θ' = θ0 + 2αr + α²v`` with ``α = ‖r‖/‖v‖`` clipped to ``[1, α_max]`` (rows
            renormalized), then one EM step from ``θ'``, kept only if its loss is below the
            second step's (otherwise a plain third EM step: the loss never increases). Each cycle counts as its three
            EM steps in ``n_iter`` and ``history``. EM converges linearly and slowly when
            λ is large; this typically needs several times fewer steps.
        certify: record the certified relative gap of every iterate in ``gaps``
            (:func:`~ccel_core.solvers.certified_gap`, O(N K log K) each, on the CPU — about one EM
            step at 250 × 10, hence opt-in; not with ``all_reduce``); ``times`` leave its cost out.
        gap_tol: also stop (converged) once the certified relative gap is ≤ ``gap_tol``; implies
            ``certify=True``. ``tol=0, gap_tol=1e-6`` stops on the certificate alone (with ``tol > 0``
            a change-rule stop above ``gap_tol`` is "stalled").

        validate: check the values of ``probs``/``prior``/``init`` (default); ``False`` trusts them
            (the trainer's y-steps, whose σ are softmax outputs already checked finite) and skips the
            certificate of a change-rule stop (the hot path: there the change rule alone decides).

    Returns:
        :class:`SolverResult` whose ``history`` holds eq. 11 at the start and after each
        iteration (the loss never increases: the E-step is a Jensen upper bound, docs/math.md §4),
        and ``status``/``message``: converged, stalled, max_iter or budget (tol=0), and why.
    """
    pb = prepare(
        probs, lam, prior, init, max_iter=max_iter, tol=tol, allow_empty=all_reduce is not None, validate=validate
    )
    if all_reduce is not None and not pb.is_torch:
        raise ValueError("all_reduce needs torch tensors; got a numpy array for probs")
    sig, u, y = pb.probs, pb.prior, pb.init
    if init is None:
        y = positive_start(y)
    start = time.perf_counter()

    def global_stats(y: Array, dots: Array) -> tuple[Array, float, float]:
        """(column sums Σ_i y_ik, Σ_i −ln σ_i·y_i, N), summed over processes when distributed."""
        col = y.sum(0)
        lib = torch if pb.is_torch else np
        with np.errstate(divide="ignore"):
            log_sum = -lib.log(dots).sum()
        if all_reduce is None:
            return col, float(log_sum), float(y.shape[0])
        packed = torch.cat(
            [col, log_sum.reshape(1), torch.tensor([float(y.shape[0])], dtype=torch.float64, device=y.device)]
        )
        all_reduce(packed)
        return packed[:-2], float(packed[-2]), float(packed[-1])

    col, log_sum, n_total = global_stats(y, (sig * y).sum(1))
    if n_total == 0:  # every process passed an empty shard: nothing to solve
        return SolverResult(pb.output(y), 0, True, [math.nan], [0.0], status="converged", message="no rows to solve")
    roots = torch.zeros(y.shape[0], dtype=torch.float64, device=y.device) if pb.is_torch else np.zeros(y.shape[0])
    history = [label_objective(log_sum, n_total, col, lam, u)]
    times = [time.perf_counter() - start]
    lib = torch if pb.is_torch else np
    if gap_tol is not None:
        check_nonnegative(gap_tol, "gap_tol")
        certify = True
    if certify and all_reduce is not None:
        raise ValueError("certify=True needs every row in one process; it is not supported with all_reduce")
    gaps: list[float] = []
    cert_seconds = [0.0]  # the certificate's own time, kept out of ``times``
    if certify:
        sig_np = sig.detach().cpu().numpy() if isinstance(sig, torch.Tensor) else sig
        order = slope_order(sig_np)  # σ is fixed: the envelope scan's sort is done once

    def certificate(y: Array) -> None:
        if certify:
            t0 = time.perf_counter()
            gaps.append(certify_labels(sig_np, y, lam, u, "eq11", order)[2])
            cert_seconds[0] += time.perf_counter() - t0

    certificate(y)

    # Small numpy problems (per-batch y-steps): the whole iteration is one numba call.
    fused = isinstance(sig, np.ndarray) and all_reduce is None and sig.size < _PARALLEL_MIN_ENTRIES

    def step(y: Array, col: Array) -> tuple[Array, Array, float]:
        """One EM iteration from ``y`` (its column sums ``col``): new labels, sums, loss."""
        if fused:  # numpy: every array of the problem is an ndarray
            assert isinstance(sig, np.ndarray) and isinstance(u, np.ndarray) and isinstance(roots, np.ndarray)
            assert isinstance(y, np.ndarray) and isinstance(col, np.ndarray)
            col_new = np.empty_like(col)
            log_sum = _em_step_serial(sig, y, u, float(lam), col, roots, col_new)
            return y, col_new, label_objective(float(log_sum), n_total, col_new, lam, u)
        # E-step folded into the weights: w_ik = λ N u_k y_ik / Σ_j y_jk (0 for an empty column).
        scale = lib.where(col > 0, lam * n_total * u / lib.where(col > 0, col, 1.0), 0.0)
        y, dots = _em_update(sig, y, scale, roots)
        col, log_sum, _ = global_stats(y, dots)
        return y, col, label_objective(log_sum, n_total, col, lam, u)

    def record(loss: float, y: Array) -> None:
        history.append(loss)
        certificate(y)
        times.append(time.perf_counter() - start - cert_seconds[0])

    copy = (lambda a: a.clone()) if pb.is_torch else (lambda a: a.copy())
    step_max = 1.0
    fired = stop = False
    n_iter = 0
    while n_iter < max_iter and not stop:
        before = history[-1]
        if not accelerate or max_iter - n_iter < 3:
            y, col, loss = step(y, col)
            n_iter += 1
            record(loss, y)
        else:
            y1, col1, loss1 = step(copy(y), col)
            y2, col2, loss2 = step(copy(y1), col1)
            record(loss1, y1)
            record(loss2, y2)
            n_iter += 3
            t0, t1, t2 = (lib.log(lib.clip(a, 1e-300, None)) for a in (y, y1, y2))
            r, v = t1 - t0, t2 - 2.0 * t1 + t0
            norms = _global_sum(lib, [(r * r).sum(), (v * v).sum()], all_reduce)
            alpha = math.sqrt(norms[0] / norms[1]) if norms[1] > 0 else 1.0
            alpha = min(max(alpha, 1.0), step_max)
            if alpha == step_max:
                step_max *= 4.0
            theta = t0 + 2.0 * alpha * r + alpha * alpha * v
            yp = _softmax_rows(lib, theta)
            colp = _global_sum(lib, [yp.sum(0)], all_reduce, vector=True)
            y3, col3, loss3 = step(yp, colp)
            if math.isfinite(loss3) and loss3 <= loss2:
                y, col = y3, col3
                record(loss3, y3)
            else:  # the extrapolation overshot: a plain EM step instead, and a smaller step bound
                y, col, loss = step(y2, col2)
                step_max = max(1.0, alpha / 4.0)
                record(loss, y)
        fired = tol > 0 and has_converged(before, history[-1], tol)
        stop = fired or (gap_tol is not None and gaps[-1] <= gap_tol)
    gap: Optional[float] = gaps[-1] if gaps else None
    if gap is None and fired and all_reduce is None and validate:  # the change rule, checked by the certificate
        sig_np = sig.detach().cpu().numpy() if isinstance(sig, torch.Tensor) else sig
        gap = certify_labels(sig_np, y, lam, u, "eq11", slope_order(sig_np))[2]
    converged, status, message = change_rule_outcome(
        "em",
        tol=tol,
        gap_tol=gap_tol,
        fired=fired,
        gap=gap,
        max_iter=max_iter,
        stall_hint="a start with entries near 0 keeps them there (EM's Property 1): start from σ, or use exact()",
        uncertified="data-parallel (all_reduce)" if all_reduce is not None else "validate=False",
    )
    return SolverResult(pb.output(y), n_iter, converged, history, times, gaps, status=status, message=message)
