"""Paper Fig. 1: the order-α CEs of K = 2 targets y against ``p`` for ``σ = (p, 1 − p)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .family import as_targets, check_alpha, family_loss, loss_kind, loss_name
from .threads import one_thread

__all__ = ["FIG1_TARGETS", "loss_curves"]

FIG1_TARGETS: tuple[tuple[float, float], ...] = ((1.0, 0.0), (0.9, 0.1), (0.7, 0.3), (0.5, 0.5))


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:g}" for x in v) + ")"


@one_thread
def loss_curves(
    y_values: Sequence[Sequence[float]] = FIG1_TARGETS,
    alphas: Sequence[float] = (1.0, 2.0),
    n_points: int = 199,
    *,
    p_min: float = 0.005,
) -> pd.DataFrame:
    """Paper Fig. 1: CE of order α against ``p`` for ``σ = (p, 1 − p)``, K = 2.

    Args:
        y_values: targets ``y = (y₁, y₂)`` (default the paper's (1,0), (.9,.1), (.7,.3), (.5,.5)).
        alphas: Rényi orders; 1 = Shannon ``H(y,σ) = −y₁ ln p − y₂ ln(1−p)``, 2 = collision
            ``H₂(y,σ) = −ln(y₁ p + y₂ (1−p))``, other α ``ln(y₁ p^{α−1} + y₂ (1−p)^{α−1})/(1−α)``.
        n_points: grid size for ``p ∈ [p_min, 1 − p_min]`` (Shannon CE is infinite at the ends
            for one-hot y).

    Returns:
        Long DataFrame, one row per (target, α, p), columns
        ``p`` (float), ``y`` (label such as ``"(0.9, 0.1)"``), ``y1`` (float, y₁),
        ``alpha`` (float), ``kind`` (``"shannon" | "collision" | "renyi"``), ``name``
        (``"H(y,σ)"``, ``"H₂(y,σ)"``, ``"H_1.5(y,σ)"``) and ``loss`` (nats).
    """
    if int(n_points) < 2:
        raise ValueError(f"n_points={n_points} should be >= 2")
    if not 0 <= p_min < 0.5:
        raise ValueError(f"p_min={p_min} should lie in [0, 0.5)")
    ys = as_targets(y_values, 2)
    alphas = [check_alpha(a) for a in alphas]
    p = np.linspace(p_min, 1 - p_min, int(n_points))
    sigma = np.stack([p, 1 - p], axis=1)
    with np.errstate(divide="ignore"):
        logits = torch.from_numpy(np.log(sigma))
    logits = torch.where(torch.isfinite(logits), logits, torch.full_like(logits, -745.0))
    frames = []
    for y in ys:
        target = torch.from_numpy(np.broadcast_to(y, sigma.shape).copy())
        for a in alphas:
            loss = family_loss(logits, target, a).numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "p": p,
                        "y": _fmt(y),
                        "y1": y[0],
                        "alpha": a,
                        "kind": loss_kind(a),
                        "name": loss_name(a),
                        "loss": loss,
                    }
                )
            )
    return pd.DataFrame(pd.concat(frames, ignore_index=True))
