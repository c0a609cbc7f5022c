"""The order-α cross-entropy family from :mod:`ccel_core.losses`: its names, its per-row value and
logit gradient (torch autograd), and the checks of an order α and of targets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ccel_core.losses import collision_cross_entropy, renyi_cross_entropy, shannon_cross_entropy

__all__ = ["loss_kind", "loss_name", "family_loss", "check_alpha", "loss_and_logit_grad", "as_targets"]


def loss_kind(alpha: float) -> str:
    """``"shannon"`` for α = 1, ``"collision"`` for α = 2, else ``"renyi"``."""
    if float(alpha) == 1.0:
        return "shannon"
    if float(alpha) == 2.0:
        return "collision"
    return "renyi"


def loss_name(alpha: float) -> str:
    """Display name of the order-α cross-entropy: ``H(y,σ)``, ``H₂(y,σ)`` or ``H_α(y,σ)`` with α."""
    kind = loss_kind(alpha)
    if kind == "shannon":
        return "H(y,σ)"
    if kind == "collision":
        return "H₂(y,σ)"
    return f"H_{float(alpha):g}(y,σ)"


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float; ``ValueError`` unless it is a finite number > 0."""
    a = float(alpha)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"alpha={alpha!r} is not valid; expected a finite number > 0")
    return a


def family_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Per-row order-α CE from the library: Shannon (α = 1), collision (α = 2), Rényi otherwise."""
    kind = loss_kind(alpha)
    if kind == "shannon":
        return shannon_cross_entropy(logits, target, reduction="none")
    if kind == "collision":
        return collision_cross_entropy(logits, target, reduction="none")
    return renyi_cross_entropy(logits, target, float(alpha), reduction="none")


def loss_and_logit_grad(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row order-α CE of ``softmax(logits)`` and its gradient w.r.t. the logits (autograd)."""
    lg = logits.detach().clone().requires_grad_(True)
    loss = family_loss(lg, target, alpha)
    (grad,) = torch.autograd.grad(loss.sum(), lg)
    return loss.detach().numpy(), grad.numpy()


def as_targets(y_values: Sequence[Sequence[float]], k: int | None = None) -> np.ndarray:
    """The targets as an (M, K) array of probability vectors (one vector → one row), renormalized;
    ``ValueError`` for another shape, another K than ``k``, or entries that are not a distribution."""
    y = np.asarray(y_values, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or (k is not None and y.shape[1] != k):
        want = f"(M, {k})" if k is not None else "(M, K)"
        raise ValueError(f"targets must have shape {want}, got shape={y.shape}")
    if not np.all(np.isfinite(y)) or y.min() < 0 or np.abs(y.sum(1) - 1).max() > 1e-6:
        raise ValueError(f"every target must be a probability vector (entries >= 0 summing to 1), got {y.tolist()}")
    return y / y.sum(1, keepdims=True)
