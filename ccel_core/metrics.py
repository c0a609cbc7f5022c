"""Clustering metrics: ACC under the best one-to-one cluster→class map, NMI and ARI.

* ACC = ``max_π (1/N) Σ_i [y_i = π(c_i)]`` over one-to-one maps π from clusters to classes,
  found by the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``, maximizing the
  contingency counts). Cluster and class counts may differ: clusters left without a class count
  as errors.
* NMI (arithmetic normalization) and ARI are scikit-learn's.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = ["cluster_accuracy", "cluster_mapping", "confusion_matrix", "evaluate"]


def _as_labels(x: Any, name: str) -> np.ndarray:
    """1-D integer labels from a list, numpy array or torch tensor; ``ValueError`` otherwise."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels, got shape={arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN/Inf; expected integer labels")
        if not np.all(arr == np.round(arr)):
            raise ValueError(
                f"{name} contains non-integer values (e.g. {arr[arr != np.round(arr)][0]!r}); expected integer labels"
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer labels, got dtype={arr.dtype}")
    return arr.astype(np.int64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}; expected equal lengths")
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty; expected at least one label")
    return t, p


def _matching(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Contingency counts (clusters × classes) and the Hungarian matching of its rows to columns."""
    classes, t_idx = np.unique(t, return_inverse=True)
    clusters, p_idx = np.unique(p, return_inverse=True)
    counts = contingency_matrix(p_idx, t_idx)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return counts, rows, cols, clusters, classes


def cluster_mapping(y_true: Any, y_pred: Any) -> dict[int, int]:
    """The one-to-one map cluster → class maximizing matches (Hungarian on the contingency table).

    With more clusters than classes, the unmatched clusters are absent from the map.
    """
    _, rows, cols, clusters, classes = _matching(*_pair(y_true, y_pred))
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols)}


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """ACC: the fraction of points whose cluster maps to their class under the best one-to-one map."""
    t, p = _pair(y_true, y_pred)
    counts, rows, cols, _, _ = _matching(t, p)
    return float(counts[rows, cols].sum() / t.size)


def confusion_matrix(
    y_true: Any, y_pred: Any, *, mapped: bool = True, n_clusters: Optional[int] = None
) -> tuple[np.ndarray, list[int], list[int]]:
    """Contingency counts, classes × clusters, as ``(matrix, class_ids, cluster_ids)``.

    With ``mapped=True`` the clusters are ordered so that matched clusters sit on the diagonal
    (the cluster mapped to class ``classes[i]`` is column ``i``; the Hungarian match of the table
    itself); unmatched clusters come last. ``n_clusters``: the model's K — clusters ``0 … K − 1``
    that no point was assigned to are columns of zeros, matched like the others (with K classes and
    an empty cluster, the class left without a cluster of its own gets the empty one on the diagonal).
    """
    t, p = _pair(y_true, y_pred)
    classes = [int(c) for c in np.unique(t)]
    clusters = [int(c) for c in np.unique(p)]
    if n_clusters is not None:
        present = set(clusters)
        clusters += [c for c in range(int(n_clusters)) if c not in present]
    t_pos = {c: i for i, c in enumerate(classes)}
    p_pos = {c: j for j, c in enumerate(clusters)}
    matrix = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(matrix, (np.array([t_pos[c] for c in t]), np.array([p_pos[c] for c in p])), 1)
    if mapped:
        rows, cols = linear_sum_assignment(matrix, maximize=True)  # rows sorted: class i ↔ column cols[i]
        order = [int(j) for j in cols] + [j for j in range(len(clusters)) if j not in set(cols.tolist())]
        matrix, clusters = matrix[:, order], [clusters[j] for j in order]
    return matrix, classes, clusters


def evaluate(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``{"acc": ACC, "nmi": NMI (arithmetic), "ari": ARI}`` for predicted cluster ids."""
    t, p = _pair(y_true, y_pred)
    return {
        "acc": cluster_accuracy(t, p),
        "nmi": float(normalized_mutual_info_score(t, p, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(t, p)),
    }
