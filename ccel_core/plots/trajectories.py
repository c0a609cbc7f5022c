"""Figures of the pseudo-label page: labels on the simplex, decision regions, cluster sizes, losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import animation_controls, as_array, cluster_color, discrete_colorscale, finish, method_styles

__all__ = ["ternary_labels_figure", "decision_regions_figure", "cluster_sizes_figure", "loss_history_figure"]

_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "pentagon", "star", "hexagram")


def _frames(x: Any, name: str, ndim: int) -> tuple[list[np.ndarray], bool]:
    """A single array (``ndim`` dims) → ([it], False); a list / stacked array → (list, True)."""
    if isinstance(x, (list, tuple)):
        arrs = [as_array(a, f"{name}[{i}]", ndim) for i, a in enumerate(x)]
        if not arrs:
            raise ValueError(f"{name} is an empty sequence; expected at least one array")
        return arrs, True
    arr = as_array(x, name)
    if arr.ndim == ndim:
        return [arr], False
    if arr.ndim == ndim + 1:
        return list(arr), True
    raise ValueError(f"{name} must have {ndim} dims (or {ndim + 1} for frames), got shape={arr.shape}")


def _per_frame(x: Any, n_frames: int, name: str, ndim: int) -> Optional[list[np.ndarray]]:
    if x is None:
        return None
    arrs, many = _frames(x, name, ndim)
    if not many:
        return arrs * n_frames
    if len(arrs) != n_frames:
        raise ValueError(
            f"{name} has {len(arrs)} frames but there are {n_frames}; expected one per frame or a single array"
        )
    return arrs


def _frame_names(frame_names: Optional[Sequence[Any]], n: int) -> list[str]:
    names = [str(i) for i in range(n)] if frame_names is None else [str(f) for f in frame_names]
    if len(names) != n:
        raise ValueError(f"frame_names has {len(names)} entries; expected {n}")
    return names


def _animate(fig: go.Figure, frames: list[go.Frame], names: list[str], prefix: str, duration: int) -> None:
    if len(frames) > 1:
        fig.frames = frames
        fig.update_layout(**animation_controls(names, prefix=prefix, duration=duration))


def _cluster_marker(ids: Any, k: int) -> dict[str, Any]:
    """Marker colors for integer cluster ids as numbers on a step colorscale (one array, not one
    color string per point, which plotly validates one by one: 80% of a frame's build time)."""
    return {
        "color": np.asarray(ids, dtype=np.int64),
        "colorscale": discrete_colorscale(k),
        "cmin": -0.5,
        "cmax": k - 0.5,
    }


def ternary_labels_figure(
    y: Any,
    sigma: Any = None,
    labels: Any = None,
    *,
    frame_names: Optional[Sequence[Any]] = None,
    title: Optional[str] = "Pseudo-labels y on the simplex",
    duration: int = 300,
) -> go.Figure:
    """Pseudo-labels y (filled) and predictions σ (open circles) of K = 3 classes on the simplex.

    Args:
        y: N×3 labels, or a list (or T×N×3 array) of them: one animation frame each
            (e.g. ``em_trajectory(...).iterates``).
        sigma: None, one N×3 array (same every frame) or one per frame.
        labels: None, N ints (e.g. ground-truth classes) or one array per frame; point colors.
            Default: ``argmax y`` of the frame.
        frame_names: slider labels (default 0, 1, …).

    Returns:
        Figure with traces ``[σ (if given), y]``; ``len(fig.frames)`` = number of frames when
        more than one (each frame redraws the same traces), with play/pause buttons and a slider.
    """
    ys, _ = _frames(y, "y", 2)
    for i, a in enumerate(ys):
        if a.shape[-1] != 3:
            raise ValueError(f"y[{i}] has K={a.shape[-1]} columns; the ternary plot needs K = 3")
    n_frames = len(ys)
    sigmas = _per_frame(sigma, n_frames, "sigma", 2)
    labs = _per_frame(labels, n_frames, "labels", 1)
    names = _frame_names(frame_names, n_frames)

    n_colors = 1 + int(max(int(np.max(lab)) if len(lab) else 0 for lab in labs)) if labs is not None else 3

    def ternary(points: np.ndarray, name: str, marker: dict[str, Any]) -> go.Scatterternary:
        return go.Scatterternary(
            a=points[:, 0], b=points[:, 1], c=points[:, 2], mode="markers", name=name, marker=marker
        )

    def traces(t: int) -> list[go.Scatterternary]:
        col = _cluster_marker(labs[t] if labs is not None else ys[t].argmax(1), n_colors)
        out = []
        if sigmas is not None:
            out.append(ternary(sigmas[t], "predictions σ", dict(symbol="circle-open", size=6, opacity=0.6, **col)))
        line = dict(color="white", width=0.5)
        out.append(ternary(ys[t], "pseudo-labels y", dict(symbol="circle", size=6, opacity=0.85, line=line, **col)))
        return out

    fig = go.Figure(data=traces(0))
    frames = [go.Frame(data=traces(t), name=names[t], traces=list(range(len(fig.data)))) for t in range(n_frames)]
    _animate(fig, frames, names, "iteration ", duration)
    finish(fig, title, legend=dict(orientation="h", y=1.02, x=0))
    fig.update_layout(
        ternary=dict(
            sum=1,
            aaxis=dict(title="class 1", min=0),
            baxis=dict(title="class 2", min=0),
            caxis=dict(title="class 3", min=0),
        )
    )
    return fig


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

    Returns:
        Figure with traces ``[Heatmap of argmax σ, points (if given)]`` and one frame per
        grid when there are several.
    """
    gx, gy = as_array(grid_x, "grid_x", 1), as_array(grid_y, "grid_y", 1)
    grids, _ = _frames(grid_probs, "grid_probs", 3)
    for i, g in enumerate(grids):
        if g.shape[:2] != (len(gy), len(gx)):
            raise ValueError(f"grid_probs[{i}] has shape={g.shape}; expected ({len(gy)}, {len(gx)}, K)")
    k = grids[0].shape[-1]
    n_frames = len(grids)
    pts = None if points is None else as_array(points, "points", 2)
    labs = _per_frame(labels, n_frames, "labels", 1)
    symbols = None if y_true is None else [_SYMBOLS[int(c) % len(_SYMBOLS)] for c in as_array(y_true, "y_true", 1)]
    names = _frame_names(frame_names, n_frames)

    n_colors = 1 + int(max(int(np.max(lab)) if len(lab) else 0 for lab in labs)) if labs is not None else k

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
                name="regions",
                customdata=g.max(-1),
                hovertemplate="x=%{x:.2f}, y=%{y:.2f}<br>cluster %{z}, max σ=%{customdata:.2f}<extra></extra>",
            )
        ]
        if pts is not None:
            color = _cluster_marker(labs[t], max(k, n_colors)) if labs is not None else {"color": "#333333"}
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
    _animate(fig, frames, names, "epoch ", duration)
    finish(fig, title, axis_titles[0], axis_titles[1])
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
