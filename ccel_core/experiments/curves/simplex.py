"""The order-α CE over the K = 3 simplex Δ₃ for a fixed target: its values (a ternary heatmap) and
where one gradient step on the logits moves σ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .family import as_targets, check_alpha, loss_and_logit_grad, loss_kind
from .threads import one_thread

__all__ = ["simplex_grid", "simplex_loss_grid", "simplex_gradient_field", "simplex_xy"]


def simplex_xy(sig: Any) -> tuple[np.ndarray, np.ndarray]:
    """Where points σ (rows of 3) sit in the drawn triangle: σ₁ at the top ``(½, √3/2)``, σ₂ bottom left
    ``(0, 0)``, σ₃ bottom right ``(1, 0)`` (plotly's ternary layout), i.e. ``x = σ₃ + σ₁/2``,
    ``y = (√3/2) σ₁``. The one convention of the grid's ``x, y_cart`` columns and of the figures."""
    s = np.asarray(sig, dtype=float).reshape(-1, 3)
    return s[:, 2] + 0.5 * s[:, 0], np.sqrt(3.0) / 2.0 * s[:, 0]


def simplex_grid(resolution: int) -> np.ndarray:
    """Strictly interior barycentric grid of Δ₃: ``σ = (n + 1/3)/(R + 1)`` for integer ``n ≥ 0``,
    ``Σn = R``; ``(R + 1)(R + 2)/2`` points, symmetric under permutations, containing the centre
    when ``R ≡ 0 (mod 3)``."""
    r = int(resolution)
    if r < 1:
        raise ValueError(f"resolution={resolution} should be >= 1")
    i, j = np.meshgrid(np.arange(r + 1), np.arange(r + 1), indexing="ij")
    keep = i + j <= r
    n = np.stack([i[keep], j[keep], r - i[keep] - j[keep]], axis=1).astype(np.float64)
    return (n + 1.0 / 3.0) / (r + 1)


def _over_simplex(
    y: Sequence[float], alpha: float, resolution: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, float]:
    """Order-α CE of the target y over :func:`simplex_grid` ``(resolution)`` and its logit gradient:
    a frame with columns ``s1, s2, s3`` (``attrs["target"]`` = y), then σ, the loss, ∇_l and α."""
    target = as_targets([y], 3)
    a = check_alpha(alpha)
    sig = simplex_grid(resolution)
    t = torch.from_numpy(np.broadcast_to(target, sig.shape).copy())
    loss, grad = loss_and_logit_grad(torch.from_numpy(np.log(sig)), t, a)
    df = pd.DataFrame({"s1": sig[:, 0], "s2": sig[:, 1], "s3": sig[:, 2]})
    df.attrs["target"] = target[0].tolist()
    return df, sig, loss, grad, a


@one_thread
def simplex_loss_grid(y: Sequence[float] = (0.7, 0.2, 0.1), alpha: float = 2.0, resolution: int = 45) -> pd.DataFrame:
    """Order-α CE ``H_α(y, σ)`` for a fixed target y over a barycentric grid of the simplex Δ₃.

    Args:
        y: target on Δ₃.
        alpha: Rényi order (1 Shannon, 2 collision).
        resolution: grid subdivisions R; ``(R + 1)(R + 2)/2`` interior points (R = 45: 1081).

    Returns:
        DataFrame with columns ``s1, s2, s3`` (σ, barycentric), ``x, y_cart`` (position in the drawn
        triangle, :func:`simplex_xy`: e₁ = (½, √3/2) at the top, e₂ = (0, 0), e₃ = (1, 0)),
        ``loss``, ``alpha``, ``kind``. ``df.attrs`` holds ``target`` (the list y).
    """
    df, sig, loss, _, a = _over_simplex(y, alpha, resolution)
    df["x"], df["y_cart"] = simplex_xy(sig)
    df["loss"], df["alpha"], df["kind"] = loss, a, loss_kind(a)
    return df


@one_thread
def simplex_gradient_field(
    y: Sequence[float] = (0.7, 0.2, 0.1), alpha: float = 2.0, resolution: int = 8
) -> pd.DataFrame:
    """Where one gradient step on the logits moves the prediction σ, over a coarse grid of Δ₃.

    For ``σ = softmax(l)`` a step ``l ← l − η ∇_l H_α(y, σ)`` moves σ, to first order in η, by
    ``η · dσ`` with ``dσ = −J(σ) ∇_l H_α``, ``J = diag(σ) − σσᵀ`` (the softmax Jacobian). Shannon
    CE flows to σ = y; collision CE flows to the vertex of y's largest entry, and not at all for a
    uniform y (its gradient is 0 there).

    Returns:
        DataFrame with columns ``s1, s2, s3`` (σ on :func:`simplex_grid` ``(resolution)``),
        ``d1, d2, d3`` (dσ; rows sum to 0), ``speed`` (``‖dσ‖₂``), ``grad_norm``
        (``‖∇_l H_α‖₂``), ``loss``, ``alpha`` and ``kind``. ``df.attrs["target"]`` is y.
    """
    df, sig, loss, grad, a = _over_simplex(y, alpha, resolution)
    jac = sig[:, :, None] * np.eye(3)[None] - sig[:, :, None] * sig[:, None, :]
    d = -np.einsum("nij,nj->ni", jac, grad)
    for j in range(3):
        df[f"d{j + 1}"] = d[:, j]
    df["speed"], df["grad_norm"] = np.linalg.norm(d, axis=1), np.linalg.norm(grad, axis=1)
    df["loss"], df["alpha"], df["kind"] = loss, a, loss_kind(a)
    return df
