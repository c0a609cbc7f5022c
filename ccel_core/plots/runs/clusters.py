"""One finished run's clusters: the classes × clusters table, example images per cluster, and 2-D
points coloured by cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import plotly.graph_objects as go

from .._style import as_array, cluster_color, finish

__all__ = ["confusion_figure", "cluster_examples_figure", "cluster_points_figure"]


def confusion_figure(
    matrix: Any,
    classes: Sequence[Any],
    clusters: Sequence[Any],
    *,
    normalize: bool = False,
    title: Optional[str] = "Classes × clusters",
) -> go.Figure:
    """Contingency heatmap (rows = classes, columns = clusters, e.g. from
    :func:`ccel_core.metrics.confusion_matrix`, whose mapped order puts matches on the diagonal).

    ``normalize=True`` shows each row as fractions of its class. The counts are printed in the cells.
    """
    m = as_array(matrix, "matrix", 2).astype(float)
    if m.shape != (len(classes), len(clusters)):
        raise ValueError(
            f"matrix shape={m.shape} should be (len(classes), len(clusters))=({len(classes)}, {len(clusters)})"
        )
    z = m / np.where(m.sum(1, keepdims=True) > 0, m.sum(1, keepdims=True), 1.0) if normalize else m
    xs = [f"cluster {c}" for c in clusters]
    ys = [f"class {c}" for c in classes]
    text = np.vectorize(lambda v: f"{v:.2f}" if normalize else f"{v:.0f}")(z) if z.size else z
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            colorbar=dict(title=dict(text="fraction" if normalize else "count")),
            hovertemplate="%{y} → %{x}: %{z}<extra></extra>",
        )
    )
    finish(fig, title, "predicted cluster", "true class")
    fig.update_yaxes(autorange="reversed")
    return fig


def _examples(assignments: np.ndarray, cluster: int, probs: Optional[np.ndarray], per_cluster: int) -> np.ndarray:
    """Up to ``per_cluster`` members of ``cluster``: the most confident (highest σ) first."""
    members = np.flatnonzero(assignments == cluster)
    if probs is not None and len(members):
        members = members[np.argsort(-probs[members, cluster], kind="stable")]
    return members[:per_cluster]


def cluster_examples_figure(
    images: Any,
    assignments: Any,
    *,
    probs: Any = None,
    clusters: Optional[Sequence[int]] = None,
    per_cluster: int = 8,
    title: Optional[str] = "Examples per cluster (most confident first)",
) -> go.Figure:
    """A few images of each cluster: one row per cluster (``clusters``, default the sorted cluster
    ids present), up to ``per_cluster`` images each, in one grayscale heatmap; the row labels give
    the cluster sizes.

    ``images``: ``(N, H, W)`` or ``(N, C, H, W)`` (channels averaged; only the shown images are
    read, so a large data set costs nothing); each image is scaled to its own [min, max].
    ``assignments``: the N cluster ids; ``probs`` (N × K σ) orders a cluster's members by
    confidence, else they come in data order.
    """
    lab = as_array(assignments, "assignments", 1).astype(np.int64)
    source = as_array(images, "images")
    if source.ndim not in (3, 4) or len(source) != len(lab):
        raise ValueError(f"images shape={source.shape} should be (N, H, W) or (N, C, H, W) with N={len(lab)}")
    p = None if probs is None else as_array(probs, "probs", 2)
    if p is not None and p.shape[0] != len(lab):
        raise ValueError(f"probs shape={p.shape} should have {len(lab)} rows")
    if per_cluster < 1:
        raise ValueError(f"per_cluster={per_cluster} should be >= 1")
    rows = [int(c) for c in (np.unique(lab) if clusters is None else clusters)]
    h, w = source.shape[-2:]
    mosaic = np.full((len(rows) * (h + 1), per_cluster * (w + 1)), np.nan)
    for r, c in enumerate(rows):
        for j, i in enumerate(_examples(lab, c, p, per_cluster)):
            tile = source[i].astype(float)
            tile = tile.mean(axis=0) if tile.ndim == 3 else tile
            span = tile.max() - tile.min()
            mosaic[r * (h + 1) : r * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = (tile - tile.min()) / (span or 1.0)
    sizes = {int(c): int(n) for c, n in zip(*np.unique(lab, return_counts=True))}
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale="Greys", zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    finish(fig, title)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        tickmode="array",
        tickvals=[r * (h + 1) + (h - 1) / 2 for r in range(len(rows))],
        ticktext=[f"cluster {c} ({sizes[c]})" if c in sizes else f"cluster {c} (empty)" for c in rows],
    )
    return fig


def cluster_points_figure(
    points: Any, assignments: Any, *, title: Optional[str] = "Points coloured by cluster"
) -> go.Figure:
    """2-D points (``N × 2``) coloured by their cluster id, one legend entry per cluster."""
    xy = as_array(points, "points", 2)
    if xy.shape[1] != 2:
        raise ValueError(f"points shape={xy.shape} should be (N, 2)")
    lab = as_array(assignments, "assignments", 1).astype(np.int64)
    if len(lab) != len(xy):
        raise ValueError(f"{len(lab)} assignments for {len(xy)} points")
    fig = go.Figure()
    for c in np.unique(lab):
        part = xy[lab == c]
        fig.add_trace(
            go.Scattergl(
                x=part[:, 0],
                y=part[:, 1],
                mode="markers",
                name=f"cluster {c} ({len(part)})",
                marker=dict(color=cluster_color(int(c)), size=5),
            )
        )
    return finish(fig, title, "x₁", "x₂")
