"""The long tables behind the animated charts (their CSV downloads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd


def labels_frame(
    label_sets: Sequence[Any], prob_sets: Optional[Sequence[Any]] = None, *, step: str = "epoch", y_true: Any = None
) -> pd.DataFrame:
    """One row per (step, point): ``y_0..y_{K−1}`` (pseudo-labels of clusters 0 … K−1) and
    ``sigma_0..sigma_{K−1}`` (predictions), and ``true_class`` when given (0-based like the clusters)."""
    frames = []
    for t, y in enumerate(label_sets):
        y = np.asarray(y)
        part = pd.DataFrame(y, columns=[f"y_{j}" for j in range(y.shape[1])])
        if prob_sets is not None:
            s = np.asarray(prob_sets[t])
            part[[f"sigma_{j}" for j in range(s.shape[1])]] = s
        part.insert(0, "point", np.arange(len(y)))
        part.insert(0, step, t)
        if y_true is not None:
            part["true_class"] = np.asarray(y_true)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def regions_frame(result: Any) -> pd.DataFrame:
    """One row per (epoch, grid point) of a toy self-labeling result: position and argmax σ."""
    gx, gy = np.meshgrid(result.grid_x, result.grid_y)
    frames = [
        pd.DataFrame(
            {
                "epoch": s.epoch,
                "x1": gx.ravel(),
                "x2": gy.ravel(),
                "cluster": s.grid_probs.argmax(-1).ravel(),
                "max_sigma": s.grid_probs.max(-1).ravel(),
            }
        )
        for s in result.snapshots
    ]
    return pd.concat(frames, ignore_index=True)
