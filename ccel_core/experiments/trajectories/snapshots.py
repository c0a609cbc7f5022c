"""What a self-labeling run leaves: one :class:`SelfLabelingSnapshot` per epoch and the run as a whole
(:class:`ToySelfLabelingResult`), with its clusters renumbered by the classes they match and its
histories as frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

__all__ = ["SelfLabelingSnapshot", "ToySelfLabelingResult"]


@dataclass
class SelfLabelingSnapshot:
    """State after one epoch (epoch 0 = the initial network, before any training; its labels are σ).

    Attributes:
        epoch: epoch number.
        labels: pseudo-labels y used in this epoch's θ-step (N×K).
        probs: predictions σ after the θ-step (N×K).
        grid_probs: σ over the plane grid, shape ``(len(grid_y), len(grid_x), K)`` (row = y coordinate).
        sizes: points per cluster, ``bincount(argmax σ)`` (K ints).
        label_mass: soft label counts ``Σ_i y_ik`` (K floats).
        loss: network loss ``mean_i CE(y_i, σ_i)`` after the θ-step (nan at epoch 0).
        objective: y-step objective at the solver's labels (nan at epoch 0).
        acc, nmi: clustering scores of ``argmax σ`` (nan without ground truth).
    """

    epoch: int
    labels: np.ndarray
    probs: np.ndarray
    grid_probs: np.ndarray
    sizes: np.ndarray
    label_mass: np.ndarray
    loss: float
    objective: float
    acc: float
    nmi: float


@dataclass
class ToySelfLabelingResult:
    """Everything the pseudo-label page draws.

    Attributes:
        points: N×2 plane coordinates (the data itself, or its PCA projection for D > 2).
        y_true: ground-truth classes (N) or None.
        grid_x, grid_y: the decision-region grid axes over the plane.
        snapshots: one :class:`SelfLabelingSnapshot` per epoch, ``0 … epochs``.
        n_clusters: K.
        config: the arguments of the run (data, ce, method, λ, …).
    """

    points: np.ndarray
    y_true: Optional[np.ndarray]
    grid_x: np.ndarray
    grid_y: np.ndarray
    snapshots: list[SelfLabelingSnapshot]
    n_clusters: int
    config: dict[str, Any] = field(default_factory=dict)

    def relabeled(self, epoch: int = -1) -> "ToySelfLabelingResult":
        """The same run with its clusters renumbered by the classes they match, in every snapshot.

        The match is the Hungarian map cluster → class (most points agreeing) of ``argmax σ`` at
        ``epoch`` (default the last), applied to all snapshots, so a cluster keeps its number (and
        color) from frame to frame. With K ≥ C, cluster ``c`` is the one matched to class ``c`` and
        the clusters matched to no class are numbered ``C … K−1`` (largest first); with K < C the
        matched clusters are numbered in the order of their classes. Without ground truth the run
        is returned unchanged. ``config`` gains ``cluster_order`` (new number → network output),
        ``matched_class`` (new number → class or None) and ``class_cluster`` (class → new number of
        its cluster, or None).
        """
        if self.y_true is None:
            return self
        from scipy.optimize import linear_sum_assignment

        k = self.n_clusters
        pred = self.snapshots[epoch].probs.argmax(1)
        y = np.asarray(self.y_true, dtype=np.int64)
        c = int(y.max()) + 1
        counts = np.zeros((k, c))
        np.add.at(counts, (pred, y), 1.0)
        rows, cols = linear_sum_assignment(counts, maximize=True)
        matched = sorted(zip(cols.tolist(), rows.tolist()))  # (class, cluster), by class
        sizes = counts.sum(1)
        rest = sorted(set(range(k)) - set(rows.tolist()), key=lambda j: (-sizes[j], j))
        if k >= c:
            order = [0] * k
            for cls, clu in matched:
                order[cls] = clu
            for i, clu in enumerate(rest):
                order[c + i] = clu
        else:
            order = [clu for _, clu in matched] + rest
        new_of = {clu: i for i, clu in enumerate(order)}
        class_cluster = {int(cls): new_of[clu] for cls, clu in matched}
        idx = np.asarray(order)
        snaps = [
            SelfLabelingSnapshot(
                s.epoch,
                s.labels[:, idx],
                s.probs[:, idx],
                s.grid_probs[..., idx],
                s.sizes[idx],
                s.label_mass[idx],
                s.loss,
                s.objective,
                s.acc,
                s.nmi,
            )
            for s in self.snapshots
        ]
        config = {
            **self.config,
            "cluster_order": [int(j) for j in order],
            "matched_class": [next((cls for cls, j in class_cluster.items() if j == i), None) for i in range(k)],
            "class_cluster": [class_cluster.get(cls) for cls in range(c)],
        }
        return ToySelfLabelingResult(self.points, self.y_true, self.grid_x, self.grid_y, snaps, k, config)

    def class_colors(self) -> np.ndarray:
        """Color id of every class after :meth:`relabeled`: the number of the cluster matched to it,
        else ``K + i`` for the ``i``-th class matched to no cluster (K < C). Without ground truth or
        before relabeling: the class id itself."""
        if self.y_true is None:
            return np.zeros(0, dtype=np.int64)
        c = int(np.max(self.y_true)) + 1
        mapped = self.config.get("class_cluster")
        if mapped is None:
            return np.arange(c)
        out, spare = np.zeros(c, dtype=np.int64), self.n_clusters
        for cls, j in enumerate(mapped):
            if j is None:
                out[cls], spare = spare, spare + 1
            else:
                out[cls] = j
        return out

    def history_frame(self) -> pd.DataFrame:
        """Columns ``epoch, loss, objective, acc, nmi, method`` (one row per snapshot)."""
        return pd.DataFrame(
            {
                "epoch": [s.epoch for s in self.snapshots],
                "loss": [s.loss for s in self.snapshots],
                "objective": [s.objective for s in self.snapshots],
                "acc": [s.acc for s in self.snapshots],
                "nmi": [s.nmi for s in self.snapshots],
                "method": self.config.get("method", ""),
            }
        )

    def sizes_frame(self) -> pd.DataFrame:
        """Long frame ``epoch, cluster, size, label_mass, method`` (one row per epoch and cluster)."""
        rows = [
            (s.epoch, k, int(s.sizes[k]), float(s.label_mass[k]))
            for s in self.snapshots
            for k in range(self.n_clusters)
        ]
        df = pd.DataFrame(rows, columns=["epoch", "cluster", "size", "label_mass"])
        df["method"] = self.config.get("method", "")
        return df
