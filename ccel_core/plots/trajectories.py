"""Figures of the pseudo-label page: labels on the simplex, decision regions, cluster sizes, losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import animation_controls, as_array, cluster_color, discrete_colorscale, finish, method_styles

__all__ = [
    "ternary_labels_figure",
    "decision_regions_figure",
    "cluster_sizes_figure",
    "loss_history_figure",
    "cluster_sizes_panels",
    "method_panels",
    "mark_step",
    "COMPACT_LEGEND",
]

# A horizontal legend under the plot, small entries: K = 10 clusters fit in two rows, never a scrollbar.
COMPACT_LEGEND: dict[str, Any] = dict(
    orientation="h", yanchor="top", y=-0.25, x=0, font=dict(size=11), itemwidth=30, tracegroupgap=0
)

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


def _legend_only(trace: Any, names: Sequence[str], *, symbol: str = "square") -> list[Any]:
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
    if cluster_names is not None:
        fig.add_traces(_legend_only(go.Scatterternary, cluster_names))
    _animate(fig, frames, names, "iteration ", duration)
    # the legend under the triangle and side margins wide enough for the corner titles: neither
    # covers nor cuts "cluster 0" (top) or "cluster 1" / "cluster 2" (bottom corners)
    finish(fig, title, legend={**COMPACT_LEGEND, "y": -0.12}, margin=dict(l=70, r=70, t=80, b=90))
    fig.update_layout(
        ternary=dict(
            sum=1,
            aaxis=dict(title="cluster 0", min=0),
            baxis=dict(title="cluster 1", min=0),
            caxis=dict(title="cluster 2", min=0),
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
    wrong = _per_frame(misclustered, n_frames, "misclustered", 1)
    truth = _per_frame(true_colors, n_frames, "true_colors", 1)
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
                            **_cluster_marker(np.asarray(ids)[mask], max(k, n_colors)),
                        ),
                        showlegend=False,
                    )
                )
        elif pts is not None:
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
    if cluster_names is not None:
        fig.add_traces(_legend_only(go.Scatter, cluster_names))
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
    _animate(fig, frames, names, "epoch ", duration)
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


def _method_grid(methods: Sequence[Any], titles: Optional[Mapping[Any, str]]) -> go.Figure:
    """One column of subplots per method, each with its own y axis."""
    names = [str((titles or {}).get(m, m)) for m in methods]
    return make_subplots(rows=1, cols=max(len(methods), 1), subplot_titles=names, horizontal_spacing=0.12)


def cluster_sizes_panels(
    df: pd.DataFrame,
    *,
    x: str = "epoch",
    label_mass: bool = True,
    cluster_names: Optional[Sequence[str]] = None,
    titles: Optional[Mapping[Any, str]] = None,
    title: Optional[str] = "Cluster sizes",
) -> go.Figure:
    """Cluster sizes over epochs, one panel per ``method`` (shared y axis: the same quantity).

    ``df`` as for :func:`cluster_sizes_figure` (``x``, ``cluster``, ``size``, ``label_mass``,
    optional ``method``). Solid: points per ``argmax σ``; dotted (``label_mass``): the soft label
    count ``Σ_i y_ik`` — the quantity the fairness term acts on. Cluster ``k`` has the same color
    in every panel; the legend has one entry per cluster (``cluster_names``, default "cluster k")
    plus the two line styles, under the plot (:data:`COMPACT_LEGEND`); a dotted grey line marks N/K.
    """
    for c in (x, "cluster", "size"):
        if c not in df.columns:
            raise ValueError(f"cluster_sizes_panels needs column {c!r}; got {list(df.columns)}")
    if label_mass and "label_mass" not in df.columns:
        raise ValueError("label_mass=True needs a 'label_mass' column")
    methods = list(dict.fromkeys(df["method"])) if "method" in df else [None]
    clusters = sorted(int(c) for c in df["cluster"].unique())
    names = list(cluster_names) if cluster_names is not None else [f"cluster {c}" for c in clusters]
    fig = _method_grid(methods, titles)
    for col, m in enumerate(methods, start=1):
        part = df if m is None else df[df["method"] == m]
        for cluster, sub in part.groupby("cluster", sort=True):
            sub = sub.sort_values(x)
            cid = int(cluster)
            name = names[cid] if cid < len(names) else f"cluster {cid}"
            common = dict(legendgroup=f"cluster {cid}", x=sub[x].to_numpy())
            fig.add_trace(
                go.Scatter(
                    y=sub["size"].to_numpy(),
                    mode="lines",
                    name=name,
                    line=dict(color=cluster_color(cid), width=2),
                    showlegend=col == 1,
                    hovertemplate=f"{name}<br>{x} %{{x}}: %{{y}} points<extra></extra>",
                    **common,
                ),
                row=1,
                col=col,
            )
            if label_mass:
                fig.add_trace(
                    go.Scatter(
                        y=sub["label_mass"].to_numpy(),
                        mode="lines",
                        name=f"{name}: label mass",
                        line=dict(color=cluster_color(cid), width=1.5, dash="dot"),
                        showlegend=False,
                        hovertemplate=f"{name}<br>{x} %{{x}}: label mass %{{y:.1f}}<extra></extra>",
                        **common,
                    ),
                    row=1,
                    col=col,
                )
        first = part[part[x] == part[x].min()]
        if len(first):
            fig.add_hline(
                y=float(first["size"].sum()) / max(first["cluster"].nunique(), 1),
                line=dict(color="#888888", dash="dot", width=1),
                annotation_text="N/K",
                annotation_position="top left",
                row=1,
                col=col,
            )
    styles = [("points per argmax σ", "solid")] + ([("label mass Σ_i y_ik", "dot")] if label_mass else [])
    for name, dash in styles:
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="lines", name=name, line=dict(color="#555555", dash=dash)),
            row=1,
            col=1,
        )
    finish(fig, title, legend=COMPACT_LEGEND)
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text="points", col=1)
    fig.update_yaxes(matches="y")
    return fig


def method_panels(
    df: pd.DataFrame,
    y: str,
    *,
    x: str = "epoch",
    titles: Optional[Mapping[Any, str]] = None,
    yaxes: Optional[Mapping[Any, str]] = None,
    title: Optional[str] = None,
) -> go.Figure:
    """``y`` over ``x``, one panel per ``method`` with its **own** y axis: for quantities that differ
    between the methods (ours' collision CE vs MIADM's Shannon CE), which one axis would suggest
    are comparable. ``titles``: panel title per method; ``yaxes``: y-axis title per method.
    Method colors and dashes follow :func:`method_styles`; no legend (the panel titles name them).
    """
    for c in (x, y, "method"):
        if c not in df.columns:
            raise ValueError(f"method_panels needs column {c!r}; got {list(df.columns)}")
    methods = list(dict.fromkeys(df["method"]))
    styles = method_styles(methods)
    fig = _method_grid(methods, titles)
    for col, m in enumerate(methods, start=1):
        part = df[df["method"] == m].dropna(subset=[y]).sort_values(x)
        color, dash = styles[m]
        fig.add_trace(
            go.Scatter(
                x=part[x].to_numpy(),
                y=part[y].to_numpy(dtype=float),
                mode="lines+markers" if len(part) <= 60 else "lines",
                name=str(m),
                line=dict(color=color, dash=dash),
                marker=dict(size=5),
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(title_text=str((yaxes or {}).get(m, y)), row=1, col=col)
    finish(fig, title, showlegend=False)
    fig.update_xaxes(title_text=x)
    return fig


def mark_step(fig: go.Figure, x: float, label: Optional[str] = None) -> go.Figure:
    """A vertical line at ``x`` (the shown epoch or iteration) through every subplot of ``fig``."""
    grid = getattr(fig, "_grid_ref", None)
    kwargs: dict[str, Any] = {"row": "all", "col": "all"} if grid else {}
    if label is not None:
        kwargs.update(annotation_text=label, annotation_position="top")
    fig.add_vline(x=float(x), line=dict(color="#222222", width=1.5, dash="dash"), **kwargs)
    return fig
