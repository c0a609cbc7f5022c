"""Logit gradients of the order-α CEs: their norm as the target goes from one-hot to uniform, and
the losses and gradients of one (y, σ) pair."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .family import as_targets, check_alpha, loss_and_logit_grad, loss_kind, loss_name
from .threads import one_thread

__all__ = ["gradient_vs_certainty", "loss_and_gradients"]


@one_thread
def gradient_vs_certainty(
    logits: Sequence[float] = (1.0, 0.0, -1.0),
    alphas: Sequence[float] = (1.0, 2.0),
    n_points: int = 101,
    *,
    label: int = 0,
) -> pd.DataFrame:
    """Gradient norm ``‖∂ H_α(y, softmax(l)) / ∂l‖₂`` as the target loses certainty.

    Targets ``y(ε) = (1 − ε) e_c + (ε/K) 1`` for ``ε ∈ [0, 1]`` (c = ``label``): ε = 0 is one-hot,
    where every order gives ``−ln σ_c`` and the same gradient ``σ − e_c``; ε = 1 is uniform, where
    collision CE is the constant ln K (gradient 0) while Shannon's gradient ``σ − u`` is not 0
    (it pulls σ to uniform). Gradients by torch autograd through :mod:`ccel_core.losses`.

    Args:
        logits: fixed logits l of the prediction σ = softmax(l) (K = len(logits)).
        alphas: Rényi orders (1 Shannon, 2 collision).
        n_points: number of ε values.
        label: class c of the one-hot end.

    Returns:
        DataFrame with columns ``eps`` (ε), ``certainty`` (``1 − ε``), ``target_entropy``
        (``H(y)``, nats), ``alpha``, ``kind``, ``name``, ``loss`` and ``grad_norm``.
        ``df.attrs["sigma"]`` is σ.
    """
    l0 = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    if l0.ndim != 1 or l0.numel() < 2:
        raise ValueError(f"logits must be a 1-D sequence of K >= 2 values, got shape={tuple(l0.shape)}")
    k = l0.numel()
    if not 0 <= int(label) < k:
        raise ValueError(f"label={label} is out of range; expected 0 <= label < K={k}")
    if int(n_points) < 2:
        raise ValueError(f"n_points={n_points} should be >= 2")
    eps = np.linspace(0.0, 1.0, int(n_points))
    onehot = np.zeros(k)
    onehot[int(label)] = 1.0
    y = (1 - eps)[:, None] * onehot + eps[:, None] / k
    y = y / y.sum(1, keepdims=True)
    target = torch.from_numpy(y)
    h_y = -(torch.xlogy(target, target)).sum(1).numpy()
    frames = []
    for a in (check_alpha(a) for a in alphas):
        loss, grad = loss_and_logit_grad(l0.expand(len(eps), k), target, a)
        frames.append(
            pd.DataFrame(
                {
                    "eps": eps,
                    "certainty": 1 - eps,
                    "target_entropy": h_y + 0.0,
                    "alpha": a,
                    "kind": loss_kind(a),
                    "name": loss_name(a),
                    "loss": loss,
                    "grad_norm": np.linalg.norm(grad, axis=1),
                }
            )
        )
    df = pd.DataFrame(pd.concat(frames, ignore_index=True))
    df.attrs["sigma"] = torch.softmax(l0, 0).tolist()
    return df


@one_thread
def loss_and_gradients(
    y: Sequence[float], logits: Sequence[float], alphas: Sequence[float] = (1.0, 2.0)
) -> pd.DataFrame:
    """The order-α CEs of one target y and prediction ``σ = softmax(logits)``, with their logit
    gradients ``∂H_α/∂l`` (Shannon: ``σ − y``; collision: ``σ − (y ⊙ σ)/(y·σ)``).

    Returns:
        One row per α: ``alpha, kind, name, loss, grad_1 … grad_K, grad_norm``;
        ``df.attrs["sigma"]`` is σ.
    """
    l0 = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    if l0.ndim != 1 or l0.numel() < 2:
        raise ValueError(f"logits must be a 1-D sequence of K >= 2 values, got shape={tuple(l0.shape)}")
    k = l0.numel()
    target = torch.from_numpy(as_targets([y], k))
    rows = []
    for a in (check_alpha(a) for a in alphas):
        loss, grad = loss_and_logit_grad(l0[None, :], target, a)
        row: dict[str, Any] = {"alpha": a, "kind": loss_kind(a), "name": loss_name(a), "loss": float(loss[0])}
        row.update({f"grad_{j + 1}": float(grad[0, j]) for j in range(k)})
        row["grad_norm"] = float(np.linalg.norm(grad[0]))
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["sigma"] = torch.softmax(l0, 0).tolist()
    return df
