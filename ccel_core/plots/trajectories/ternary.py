"""Pseudo-labels y and predictions σ of K = 3 clusters on the simplex, animated over iterations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import plotly.graph_objects as go

from .._style import finish
from .frames import animate, per_frame, slider_names, split_frames
from .legend import COMPACT_LEGEND, cluster_marker, legend_only

__all__ = ["ternary_labels_figure"]


def ternary_labels_figure(
    y: Any,
    sigma: Any = None,
    labels: Any = None,
    *,
    frame_names: Optional[Sequence[Any]] = None,
    title: Optional[str] = "Pseudo-labels y on the simplex",
    duration: int = 300,
    cluster_names: Optional[Sequence[str]] = None,
) -> go.Figure:
    """Pseudo-labels y (filled) and predictions σ (open circles) of K = 3 clusters on the simplex.

    Args:
        y: N×3 labels, or a list (or T×N×3 array) of them: one animation frame each
            (e.g. ``em_trajectory(...).iterates``).
        sigma: None, one N×3 array (same every frame) or one per frame.
        labels: None, N ints (e.g. ground-truth classes) or one array per frame; point colors.
            Default: ``argmax y`` of the frame.
        frame_names: slider labels (default 0, 1, …).
        cluster_names: a legend entry per color id (e.g. ``["cluster 0", …]``), after the data traces.

    Returns:
        Figure with traces ``[σ (if given), y]`` (then the legend entries); ``len(fig.frames)`` =
        number of frames when more than one (each frame redraws the same traces), with play/pause
        buttons and a slider. The corners are clusters 0, 1, 2 (the columns of y).
    """
    ys, _ = split_frames(y, "y", 2)
    for i, a in enumerate(ys):
        if a.shape[-1] != 3:
            raise ValueError(f"y[{i}] has K={a.shape[-1]} columns; the ternary plot needs K = 3")
    n_frames = len(ys)
    sigmas = per_frame(sigma, n_frames, "sigma", 2)
    labs = per_frame(labels, n_frames, "labels", 1)
    names = slider_names(frame_names, n_frames)

    n_colors = 1 + int(max(int(np.max(lab)) if len(lab) else 0 for lab in labs)) if labs is not None else 3

    def ternary(points: np.ndarray, name: str, marker: dict[str, Any]) -> go.Scatterternary:
        return go.Scatterternary(
            a=points[:, 0], b=points[:, 1], c=points[:, 2], mode="markers", name=name, marker=marker
        )

    def traces(t: int) -> list[go.Scatterternary]:
        col = cluster_marker(labs[t] if labs is not None else ys[t].argmax(1), n_colors)
        out = []
        if sigmas is not None:
            out.append(ternary(sigmas[t], "predictions σ", dict(symbol="circle-open", size=6, opacity=0.6, **col)))
        line = dict(color="white", width=0.5)
        out.append(ternary(ys[t], "pseudo-labels y", dict(symbol="circle", size=6, opacity=0.85, line=line, **col)))
        return out

    fig = go.Figure(data=traces(0))
    frames = [go.Frame(data=traces(t), name=names[t], traces=list(range(len(fig.data)))) for t in range(n_frames)]
    if cluster_names is not None:
        fig.add_traces(legend_only(go.Scatterternary, cluster_names))
    animate(fig, frames, names, "iteration ", duration)
    # the legend under the triangle and side margins wide enough for the corner titles: neither
    # covers nor cuts "cluster 0" (top) or "cluster 1" / "cluster 2" (bottom corners)
    finish(fig, title, legend={**COMPACT_LEGEND, "y": -0.12}, margin=dict(l=70, r=70, t=80, b=90))
    # ticks inside the edges only: a "0" or "1.0" at a corner would sit on the points that end there
    inner = dict(min=0, tickmode="array", tickvals=[0.2, 0.4, 0.6, 0.8])
    fig.update_layout(
        ternary=dict(
            sum=1,
            aaxis=dict(title="cluster 0", **inner),
            baxis=dict(title="cluster 1", **inner),
            caxis=dict(title="cluster 2", **inner),
        )
    )
    return fig
