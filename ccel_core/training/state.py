"""Per-run state outside the training loop: supervision targets, the labeled mask of weak
supervision, and checkpoint payloads (what a resume needs and the config check it makes)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data import Dataset, subsample_indices
from .config import RESUMABLE_KEYS

__all__ = ["FORMAT", "soft_targets", "labeled_mask", "config_differences"]

FORMAT = 1  # checkpoint layout version


def soft_targets(targets: Any, n: int, k: int, y_true: Optional[Tensor], *, supervised: bool, method: str,
                 device: torch.device) -> Optional[Tensor]:
    """Validated N×K float64 targets of supervised training (default: one-hot true labels)."""
    if targets is None:
        if not supervised:
            return None
        if y_true is None:
            raise ValueError("method='supervised' needs targets= or a labeled data set")
        return F.one_hot(y_true, k).double().to(device)
    if not supervised:
        raise ValueError(f"targets= is only for method='supervised'; method={method!r} makes its own labels")
    t = torch.as_tensor(np.asarray(targets) if not isinstance(targets, Tensor) else targets).double().cpu()
    if t.shape != (n, k):
        raise ValueError(f"targets shape={tuple(t.shape)} should be (n_samples, n_clusters)={(n, k)}")
    if not bool(torch.isfinite(t).all()) or float(t.min()) < 0 or float((t.sum(1) - 1).abs().max()) > 1e-4:
        raise ValueError("targets rows should be finite, >= 0 and sum to 1")
    return (t / t.sum(1, keepdim=True)).to(device)


def labeled_mask(fraction: float, dataset: Dataset, k: int, seed: int, device: torch.device) -> Optional[Tensor]:
    """Weak supervision: a stratified ``round(fraction·N)`` rows (seeded) whose true labels are used."""
    if not fraction:
        return None
    if dataset.y is None:
        raise ValueError(f"labeled_fraction={fraction} needs a labeled data set; {dataset.name!r} has no labels")
    if k != dataset.n_classes:
        raise ValueError(f"labeled_fraction={fraction} needs n_clusters == n_classes={dataset.n_classes}, got {k}")
    n = len(dataset)
    idx = subsample_indices(n, max(1, round(fraction * n)), y=dataset.y.numpy(), seed=seed)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.from_numpy(idx)] = True
    return mask.to(device)


def config_differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``"key: old (checkpoint) vs new (now)"`` for every key that may not change on resume."""
    keys = sorted((set(saved) | set(now)) - set(RESUMABLE_KEYS))
    return [f"{k}: {saved.get(k)!r} (checkpoint) vs {now.get(k)!r} (now)" for k in keys if saved.get(k) != now.get(k)]
