"""Figures of the solver race, the noisy-label experiment and training runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..summary import summarize_frame
from ._style import as_array, finish, method_styles

__all__ = ["solver_race_figure", "noisy_labels_figure", "run_curves_figure", "confusion_figure"]

_METRIC_LABELS = {
    "acc": "ACC",
    "nmi": "NMI",
    "ari": "ARI",
    "loss": "loss",
    "label_loss": "y-step objective",
    "test_acc": "test ACC",
    "pseudo_entropy": "mean H(y_i) (nats)",
}


def _need(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing} (got {list(df.columns)})")


def solver_race_figure(
    df: pd.DataFrame,
    x: str = "iteration",
    *,
    y: str = "gap",
    title: Optional[str] = "y-step solvers: gap to the optimum",
    y_title: Optional[str] = None,
) -> go.Figure:
    """The y-step solver race (paper Table 1): one trace per ``method``, ``y`` against ``x`` =
    ``"iteration"`` or ``"seconds"``.

    ``y``: ``"gap"`` (``(L(Yᵗ) − L*)/|L*|`` against the race's reference optimum), ``"certified"``
    (the certified gap ``(L(Yᵗ) − D(c(Yᵗ)))/L(Yᵗ)``, an upper bound that needs no reference) — both on
    a log axis, non-positive values (the optimum to rounding) not drawn — or any other column such
    as ``"loss"``. :func:`ccel_core.experiments.race.solver_race` makes ``df``.
    """
    if x not in ("iteration", "seconds"):
        raise ValueError(f"x={x!r} should be 'iteration' or 'seconds'")
    _need(df, ("method", x, y), "solver_race_figure")
    methods = list(dict.fromkeys(df["method"]))
    styles = method_styles(methods)
    log_axis = y in ("gap", "certified")
    fig = go.Figure()
    for m in methods:
        part = df[df["method"] == m].sort_values(x)
        vals = part[y].to_numpy(dtype=float)
        if log_axis:
            vals = np.where(vals > 0, vals, np.nan)
        color, dash = styles[m]
        fig.add_trace(
            go.Scatter(
                x=part[x].to_numpy(),
                y=vals,
                mode="lines",
                name=str(m),
                line=dict(color=color, dash=dash, width=2),
                hovertemplate=f"{m}<br>{x}=%{{x}}<br>{y}=%{{y:.3e}}<extra></extra>",
            )
        )
    xlab = "iteration t" if x == "iteration" else "seconds"
    default_label = {
        "gap": "gap  (L(Yᵗ) − L*)/|L*|  (log scale)",
        "certified": "certified gap  (L(Yᵗ) − D)/L(Yᵗ)  (log scale)",
    }.get(y, y)
    finish(fig, title, xlab, y_title or default_label)
    if log_axis:
        fig.update_yaxes(type="log", exponentformat="power")
    return fig


def noisy_labels_figure(
    df: pd.DataFrame,
    *,
    x_label: str = "noise level",
    title: Optional[str] = "Training on corrupted soft targets (paper Fig. 2)",
) -> go.Figure:
    """Test accuracy vs noise level, mean ± std over seeds, one trace per ``loss``.

    ``df`` columns: ``loss`` (e.g. ``"collision"``, ``"shannon"``), ``level``, ``seed``,
    ``test_acc`` (optional ``noise``: with several noise models, one trace per (loss, noise),
    told apart by marker symbol). Each trace has ``x`` = sorted levels, ``y`` = mean and
    ``error_y`` = std (:func:`~ccel_core.summary.summarize`, ddof = 1; no bar for a single seed); collision solid, Shannon dashed.
    """
    _need(df, ("loss", "level", "seed", "test_acc"), "noisy_labels_figure")
    losses = list(dict.fromkeys(df["loss"]))
    styles = method_styles(losses)
    noises = list(dict.fromkeys(df["noise"])) if "noise" in df.columns else [None]
    symbols = ("circle", "square", "diamond", "triangle-up", "x")
    fig = go.Figure()
    for name in losses:
        for j, noise in enumerate(noises):
            part = df[df["loss"] == name] if noise is None else df[(df["loss"] == name) & (df["noise"] == noise)]
            if part.empty:
                continue
            stats = summarize_frame(part.sort_values("level"), ["level"], ["test_acc"]).set_index("level")
            stats.columns = ["mean", "std", "count"]
            stats["std"] = stats["std"].fillna(0.0)  # one seed: no error bar
            color, dash = styles[name]
            label = {"collision": "collision CE  H₂(y,σ)", "shannon": "Shannon CE  H(y,σ)"}.get(str(name), str(name))
            if len(noises) > 1:
                label = f"{label} · {noise}"
            fig.add_trace(
                go.Scatter(
                    x=stats.index.to_numpy(dtype=float),
                    y=stats["mean"].to_numpy(),
                    mode="lines+markers",
                    name=label,
                    error_y=dict(type="data", array=stats["std"].to_numpy(), visible=True, thickness=1.2),
                    line=dict(color=color, dash=dash, width=2),
                    marker=dict(symbol=symbols[j % len(symbols)], size=7),
                    customdata=stats["count"].to_numpy(),
                    hovertemplate=f"{label}<br>level=%{{x}}<br>test ACC=%{{y:.4f}} ± %{{error_y.array:.4f}}"
                    "<br>seeds=%{customdata}<extra></extra>",
                )
            )
    return finish(fig, title, x_label, "test accuracy (mean ± std over seeds)")


def run_curves_figure(
    metrics_frames: Mapping[str, pd.DataFrame],
    metric: str = "acc",
    *,
    x: str = "epoch",
    labels: Optional[Mapping[str, str]] = None,
    title: Optional[str] = None,
) -> go.Figure:
    """One trace per run: ``metric`` against ``x`` from each run's per-epoch metrics frame
    (``RunStore.metrics(run_id)``: columns ``epoch`` and the logged metrics).

    ``labels`` maps run ids to legend names (e.g. "ccel · digits · seed 0"); runs whose frame
    lacks ``metric`` are skipped (rows with a missing value are dropped); ``ValueError`` when no
    run has it.
    """
    fig = go.Figure()
    names = {rid: (labels or {}).get(rid, str(rid)) for rid in metrics_frames}
    styles = method_styles(list(names.values()))
    for rid, frame in metrics_frames.items():
        if frame is None or metric not in frame.columns or x not in frame.columns:
            continue
        part = frame[[x, metric]].dropna().sort_values(x)
        color, dash = styles[names[rid]]
        fig.add_trace(
            go.Scatter(
                x=part[x].to_numpy(),
                y=part[metric].to_numpy(dtype=float),
                mode="lines+markers",
                name=names[rid],
                line=dict(color=color, dash=dash),
                marker=dict(size=5),
                hovertemplate=f"{names[rid]}<br>{x}=%{{x}}<br>{metric}=%{{y:.4f}}<extra></extra>",
            )
        )
    if metrics_frames and not fig.data:
        raise ValueError(f"no run has both columns {x!r} and {metric!r}")
    label = _METRIC_LABELS.get(metric, metric)
    return finish(fig, title if title is not None else f"{label} per {x}", x, label)


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
