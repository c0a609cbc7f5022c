"""Cluster colours on points and in the legend: ids as numbers on a step colorscale, one legend
entry per cluster, and the compact legend under the plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .._style import cluster_color, discrete_colorscale

__all__ = ["COMPACT_LEGEND", "cluster_marker", "legend_only"]

# A horizontal legend under the plot, small entries: K = 10 clusters fit in two rows, never a scrollbar.
COMPACT_LEGEND: dict[str, Any] = dict(
    orientation="h", yanchor="top", y=-0.25, x=0, font=dict(size=11), itemwidth=30, tracegroupgap=0
)


def cluster_marker(ids: Any, k: int) -> dict[str, Any]:
    """Marker colors for integer cluster ids as numbers on a step colorscale (one array, not one
    color string per point, which plotly validates one by one: 80% of a frame's build time)."""
    return {
        "color": np.asarray(ids, dtype=np.int64),
        "colorscale": discrete_colorscale(k),
        "cmin": -0.5,
        "cmax": k - 0.5,
    }


def legend_only(trace: Any, names: Sequence[str], *, symbol: str = "square") -> list[Any]:
    """One legend entry per cluster (``names[k]`` in cluster ``k``'s color) as empty traces of the
    figure's trace type ``trace`` (``go.Scatter`` or ``go.Scatterternary``)."""
    empty = {"a": [None], "b": [None], "c": [None]} if trace is go.Scatterternary else {"x": [None], "y": [None]}
    return [
        trace(
            mode="markers",
            name=str(name),
            marker=dict(color=cluster_color(i), symbol=symbol, size=10),
            hoverinfo="skip",
            **empty,
        )
        for i, name in enumerate(names)
    ]
