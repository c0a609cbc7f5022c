"""EM's M-step on either backend: the vectorized torch kernel, the public :func:`m_step` and the
kernels' timings.

Per point ``min_{y ∈ Δ_K} −ln(σ·y) − Σ_k w_k ln y_k``, solved by ``y_k = (w_k/β) · z/(z − σ_k)``,
``β = 1 + Σ_k w_k``, at the root ``z > max σ`` of ``g(z) = Σ_k w_k σ_k/(z − σ_k) = 1``. The torch kernel
does the arithmetic of the numba kernel (:mod:`._em_kernels`, whose docstring gives the numerics:
the shifted root ``t = z − σ_a``, safeguarded Newton on ``1/g``, zero weights) vectorized over points.
"""

from __future__ import annotations

from typing import Optional, cast

import numpy as np
import torch

from ..timing import best_of
from ._backend import Array
from ._em_kernels import NEWTON_MAX, NEWTON_RTOL, m_step_numba, m_step_row

__all__ = ["m_step", "m_step_timings", "m_step_torch"]


def m_step_torch(sig: torch.Tensor, w: torch.Tensor, roots: Optional[torch.Tensor] = None) -> torch.Tensor:
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
    for _ in range(NEWTON_MAX):  # the numba kernel's safeguarded Newton, on the active rows
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
        done = ((t_new - tr).abs() <= NEWTON_RTOL * t_new) | (t_new == hi) | (seen & (t_new == lo))
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


def m_step(probs: Array, weights: Array) -> Array:
    """Solve ``min_{y ∈ Δ_K} −ln(σ_i·y) − Σ_k w_ik ln y_k`` for every row (float64).

    ``probs`` (σ) rows on the simplex, ``weights`` (w) non-negative, both N×K, numpy (numba
    kernel, parallel over points) or torch (vectorized kernel, any device).
    """
    if isinstance(probs, torch.Tensor):
        # weights share probs' backend (the documented contract)
        return m_step_torch(probs.to(torch.float64), cast(torch.Tensor, weights).to(torch.float64))
    sig = np.ascontiguousarray(probs, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty_like(sig)
    m_step_numba(sig, w, np.ones(sig.shape[1]), out, np.empty(sig.shape[0]), np.zeros(sig.shape[0]))
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
    m_step_numba(probs[:2], labels[:2], scale, out[:2], dots[:2], np.zeros(2))  # compile
    tp, ty, ts = torch.from_numpy(probs), torch.from_numpy(labels), torch.from_numpy(scale)
    c, d = np.empty(probs.shape[1]), np.empty(probs.shape[1])
    m = min(python_points, n)

    def python_loop() -> None:
        for i in range(m):
            m_step_row.py_func(probs[i], labels[i], scale, out[i], c, d, 0.0)

    return {
        "numba_m_step": best_of(lambda: m_step_numba(probs, labels, scale, out, dots, np.zeros(n)), repeats),
        "torch_m_step": best_of(lambda: m_step_torch(tp, ty * ts), repeats),
        "python_m_step": best_of(python_loop, 1) * n / m,
    }
