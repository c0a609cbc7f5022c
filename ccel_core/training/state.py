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

__all__ = [
    "FORMAT",
    "soft_targets",
    "labeled_mask",
    "config_differences",
    "checkpoint",
    "check_resumable",
    "initial_labels",
]

FORMAT = 1  # checkpoint layout version


def soft_targets(
    targets: Any, n: int, k: int, y_true: Optional[Tensor], *, supervised: bool, method: str, device: torch.device
) -> Optional[Tensor]:
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


def checkpoint(
    config: Any,
    epoch: int,
    history: list,
    model: Any,
    optimizer: Any,
    labels: Optional[Tensor],
    centers: Optional[Tensor],
) -> dict[str, Any]:
    """A checkpoint payload (only tensors, dicts, lists, numbers, strings): format, config, epoch,
    history, and where present the model and optimizer states, all N labels (CPU), k-means centers."""
    state: dict[str, Any] = {"format": FORMAT, "config": config.to_dict(), "epoch": epoch, "history": history}
    if model is not None:
        state["model"] = model.state_dict()
        state["optimizer"] = optimizer.state_dict()
    if labels is not None:
        state["labels"] = labels.detach().cpu()
    if centers is not None:
        state["centers"] = centers
    return state


def check_resumable(state: dict[str, Any], config: Any, run_id: str) -> None:
    """``ValueError`` naming every setting that differs from the checkpoint's (resumable keys aside)."""
    diff = config_differences(state.get("config", {}), config.to_dict())
    if diff:
        raise ValueError(
            f"cannot resume run {run_id!r}: its checkpoint was written with a different config: {'; '.join(diff)}"
        )


def initial_labels(
    targets: Optional[Tensor], own: Tensor, probs: Any, labeled: Optional[Tensor], y_true: Optional[Tensor], k: int
) -> Tensor:
    """Y⁰ of the owned points ``own``: the caller's ``targets``, else the first eval-mode
    predictions ``probs()`` with one-hot true labels on the ``labeled`` rows (weak supervision)."""
    if targets is not None:
        return targets[own].clone()
    labels = probs().to(torch.float64, copy=True)  # a copy: probs() may be the evaluator's cache, read by later y-steps
    if labeled is not None and y_true is not None:
        lab = labeled[own]
        labels[lab] = F.one_hot(y_true[own][lab], k).double()
    return labels
