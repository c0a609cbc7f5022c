"""Decision regions ``argmax σ`` over a plane with the data points on top, animated over epochs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import plotly.graph_objects as go

from .._style import as_array, discrete_colorscale, finish
from .frames import animate, per_frame, slider_names, split_frames
from .legend import COMPACT_LEGEND, cluster_marker, legend_only

__all__ = ["decision_regions_figure"]

_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "pentagon", "star", "hexagram")


def decision_regions_figure(
    grid_x: Any,
    grid_y: Any,
    grid_probs: Any,
    points: Any = None,
    labels: Any = None,
    *,
    y_true: Any = None,
    frame_names: Optional[Sequence[Any]] = None,
    title: Optional[str] = "Decision regions",
    axis_titles: tuple[str, str] = ("x₁", "x₂"),
    duration: int = 400,
    misclustered: Any = None,
    true_colors: Any = None,
    cluster_names: Optional[Sequence[str]] = None,
) -> go.Figure:
    """Clusters ``argmax_k σ_k`` over a plane grid, with the data points on top.

    Args:
        grid_x, grid_y: grid axes (lengths Gx, Gy).
        grid_probs: σ on the grid, ``(Gy, Gx, K)``, or a list of them (animation frames, e.g. one
            per :class:`~ccel_core.experiments.trajectories.SelfLabelingSnapshot`).
        points: N×2 coordinates (optional).
        labels: N cluster ids coloring the points (one array, or one per frame); default: none.
        y_true: N ground-truth classes, drawn as marker symbols.
        axis_titles: e.g. ``("PC 1", "PC 2")`` for a PCA plane.
        misclustered: N booleans (one array, or one per frame): these points are drawn as ✕ in
            their ``true_colors`` (N color ids, e.g. the cluster matched to their true class), the
            others as dots in their ``labels`` color. Needs ``points`` and ``labels``.
        cluster_names: a legend entry per color id (``"cluster k"``), plus one for the ✕ when
            ``misclustered`` is given (short names keep the horizontal legend to a few rows).

    Returns:
        Figure with traces ``[Heatmap of argmax σ, points (if given), ✕ points (with
        misclustered)]`` (then the legend entries) and one frame per grid when there are several.
    """
    gx, gy = as_array(grid_x, "grid_x", 1), as_array(grid_y, "grid_y", 1)
    grids, _ = split_frames(grid_probs, "grid_probs", 3)
    for i, g in enumerate(grids):
        if g.shape[:2] != (len(gy), len(gx)):
            raise ValueError(f"grid_probs[{i}] has shape={g.shape}; expected ({len(gy)}, {len(gx)}, K)")
    k = grids[0].shape[-1]
    n_frames = len(grids)
    pts = None if points is None else as_array(points, "points", 2)
    labs = per_frame(labels, n_frames, "labels", 1)
    symbols = None if y_true is None else [_SYMBOLS[int(c) % len(_SYMBOLS)] for c in as_array(y_true, "y_true", 1)]
    names = slider_names(frame_names, n_frames)
    wrong = per_frame(misclustered, n_frames, "misclustered", 1)
    truth = per_frame(true_colors, n_frames, "true_colors", 1)
    if wrong is not None and (pts is None or labs is None or truth is None):
        raise ValueError("misclustered needs points, labels and true_colors")

    n_colors = 1 + int(max(int(np.max(lab)) if len(lab) else 0 for lab in labs)) if labs is not None else k
    if truth is not None:
        n_colors = max(n_colors, 1 + int(max(int(np.max(c)) if len(c) else 0 for c in truth)))

    def traces(t: int) -> list[Any]:
        g = grids[t]
        out: list[Any] = [
            go.Heatmap(
                x=gx,
                y=gy,
                z=g.argmax(-1),
                colorscale=discrete_colorscale(k),
                zmin=-0.5,
                zmax=k - 0.5,
                opacity=0.35,
                showscale=False,
                showlegend=False,
                name="regions",
                customdata=g.max(-1),
                hovertemplate="x=%{x:.2f}, y=%{y:.2f}<br>cluster %{z}, max σ=%{customdata:.2f}<extra></extra>",
            )
        ]
        if pts is not None and wrong is not None:
            assert labs is not None and truth is not None  # checked above
            bad = np.asarray(wrong[t], dtype=bool)
            for mask, name, ids, symbol in ((~bad, "points", labs[t], "circle"), (bad, "misclustered", truth[t], "x")):
                out.append(
                    go.Scatter(
                        x=pts[mask, 0],
                        y=pts[mask, 1],
                        mode="markers",
                        name=name,
                        marker=dict(
                            size=6 if symbol == "circle" else 7,
                            symbol=symbol,
                            line=dict(color="white", width=0.5),
                            **cluster_marker(np.asarray(ids)[mask], max(k, n_colors)),
                        ),
                        showlegend=False,
                    )
                )
        elif pts is not None:
            color = cluster_marker(labs[t], max(k, n_colors)) if labs is not None else {"color": "#333333"}
            out.append(
                go.Scatter(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    mode="markers",
                    name="points",
                    marker=dict(size=6, symbol=symbols, line=dict(color="white", width=0.5), **color),
                    showlegend=False,
                )
            )
        return out

    fig = go.Figure(data=traces(0))
    frames = [go.Frame(data=traces(t), name=names[t], traces=list(range(len(fig.data)))) for t in range(n_frames)]
    if cluster_names is not None:
        fig.add_traces(legend_only(go.Scatter, cluster_names))
        if wrong is not None:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name="misclustered",
                    marker=dict(symbol="x", color="#555555", size=9),
                    hoverinfo="skip",
                )
            )
    animate(fig, frames, names, "epoch ", duration)
    finish(fig, title, axis_titles[0], axis_titles[1])
    if cluster_names is not None:
        fig.update_layout(legend=COMPACT_LEGEND, showlegend=True)
    fig.update_xaxes(range=[float(gx.min()), float(gx.max())], constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(
        range=[float(gy.min()), float(gy.max())],
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
        showgrid=False,
        zeroline=False,
    )
    return fig
