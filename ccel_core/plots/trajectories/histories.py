"""Quantities over epochs or iterations on one axis: cluster sizes and loss curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional, Union

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._style import as_array, cluster_color, finish, method_styles

__all__ = ["cluster_sizes_figure", "loss_history_figure"]


def cluster_sizes_figure(
    df: pd.DataFrame, *, value: str = "size", x: str = "epoch", title: Optional[str] = "Cluster sizes"
) -> go.Figure:
    """Cluster sizes over epochs (or iterations) from ``ToySelfLabelingResult.sizes_frame()``.

    ``df`` columns: ``x`` (default ``epoch``), ``cluster``, ``value`` (``"size"``: points per
    ``argmax σ``, or ``"label_mass"``: ``Σ_i y_ik``), optional ``method``. One trace per
    (method, cluster), colored by cluster, dashed for Shannon-CE methods; a dotted line marks
    the uniform size N/K.
    """
    for c in (x, "cluster", value):
        if c not in df.columns:
            raise ValueError(f"cluster_sizes_figure needs column {c!r}; got {list(df.columns)}")
    methods = list(dict.fromkeys(df["method"])) if "method" in df else [None]
    styles = method_styles([m for m in methods if m is not None])
    fig = go.Figure()
    for m in methods:
        part = df if m is None else df[df["method"] == m]
        for cluster, sub in part.groupby("cluster", sort=True):
            sub = sub.sort_values(x)
            label = f"cluster {cluster}" if m is None else f"{m}: cluster {cluster}"
            fig.add_trace(
                go.Scatter(
                    x=sub[x].to_numpy(),
                    y=sub[value].to_numpy(),
                    mode="lines+markers",
                    name=label,
                    legendgroup=str(m),
                    line=dict(
                        color=cluster_color(int(cluster)), dash=styles.get(m, ("", "solid"))[1] if m else "solid"
                    ),
                )
            )
    first = df if methods[0] is None else df[df["method"] == methods[0]]
    first = first[first[x] == first[x].min()]
    n_clusters = first["cluster"].nunique()
    if n_clusters:
        fig.add_hline(
            y=float(first[value].sum()) / n_clusters,
            line=dict(color="#888888", dash="dot"),
            annotation_text="N/K",
            annotation_position="top left",
        )
    ylab = {"size": "points per cluster  #{i : argmax σ_i = k}", "label_mass": "label mass  Σ_i y_ik"}.get(value, value)
    return finish(fig, title, x, ylab)


def loss_history_figure(
    history: Union[Sequence[float], Mapping[str, Sequence[float]], pd.DataFrame],
    *,
    x: Optional[str] = None,
    y: Union[str, Sequence[str]] = "loss",
    title: Optional[str] = "Loss",
    yaxis: Optional[str] = None,
    log_y: bool = False,
) -> go.Figure:
    """Loss curves: one list (e.g. ``Trajectory.history``), a dict ``name → list``, or a DataFrame.

    DataFrame: x column ``x`` (default ``"epoch"``, else ``"iteration"``, else the index), one trace
    per column in ``y`` and per ``method`` (when present). Lists are drawn against 0, 1, 2, …
    (``x`` label default "iteration"). Method styles follow :func:`method_styles`.
    """
    series: list[tuple[str, np.ndarray, np.ndarray]] = []
    if isinstance(history, pd.DataFrame):
        cols = [y] if isinstance(y, str) else list(y)
        xcol = x or next((c for c in ("epoch", "iteration") if c in history.columns), None)
        groups = history.groupby("method", sort=False) if "method" in history.columns else [(None, history)]
        for m, part in groups:
            for c in cols:
                if c not in part.columns:
                    raise ValueError(f"loss_history_figure: column {c!r} not in {list(part.columns)}")
                xs = part[xcol].to_numpy() if xcol else part.index.to_numpy()
                name = c if m is None else (str(m) if len(cols) == 1 else f"{m}: {c}")
                series.append((name, xs, part[c].to_numpy(dtype=float)))
        xlab = xcol or "index"
    else:
        items = history.items() if isinstance(history, Mapping) else [(y if isinstance(y, str) else "loss", history)]
        for name, h in items:
            arr = as_array(h, f"history[{name!r}]", 1).astype(float)
            series.append((str(name), np.arange(len(arr)), arr))
        xlab = x or "iteration"
    styles = method_styles([s[0] for s in series])
    fig = go.Figure()
    for name, xs, ys in series:
        color, dash = styles[name]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers" if len(xs) <= 60 else "lines",
                name=name,
                line=dict(color=color, dash=dash),
                marker=dict(size=5),
            )
        )
    finish(fig, title, xlab, yaxis or (y if isinstance(y, str) else "value"), showlegend=len(series) > 1)
    if log_y:
        fig.update_yaxes(type="log")
    return fig
