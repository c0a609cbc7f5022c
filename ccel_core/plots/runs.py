"""Figures of the solver race, the noisy-label experiment and training runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..solvers._common import GAP_FLOOR
from ..summary import summarize_frame
from ._style import SHANNON_COLOR, as_array, cluster_color, finish, method_styles

__all__ = [
    "solver_race_figure",
    "noisy_labels_figure",
    "corrupted_targets_figure",
    "run_curves_figure",
    "confusion_figure",
    "cluster_examples_figure",
    "cluster_points_figure",
]

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
    max_points: Optional[int] = None,
    log_x: bool = False,
) -> go.Figure:
    """The y-step solver race (paper Table 1): one trace per ``method``, ``y`` against ``x`` =
    ``"iteration"`` or ``"seconds"`` — or, with ``x="k"``, the K sweep.

    ``y``: ``"gap"`` (``(L(Yᵗ) − L*)/|L*|`` against the race's reference optimum), ``"certified"``
    (the certified gap ``(L(Yᵗ) − D(c(Yᵗ)))/L(Yᵗ)``, an upper bound that needs no reference) — both on
    a log axis, non-positive values (the optimum to rounding) not drawn — or any other column such
    as ``"loss"``. :func:`ccel_core.experiments.race.solver_race` makes ``df``. A *diverged* method
    (its ``loss`` not finite somewhere, or ending above its start) is named so in the legend, its
    non-finite values are left out, and on a linear axis the range is clipped to the other methods'
    so that its blow-up leaves the chart. ``max_points``: draw at most that many evenly spaced
    iterates per method (always the first and the last). ``log_x``: a log x axis (x = 0 not drawn),
    for races whose solvers take very different times.

    ``x="k"`` (``y`` default ``"seconds"``): ``df`` from
    :func:`ccel_core.experiments.race_sweep.sweep_frame` at one level — columns ``method``, ``k``, ``y``
    and ``bound`` (the value is a lower bound: drawn as an open triangle ▲), optional ``text`` (the
    hover); log–log axes.
    """
    if x not in ("iteration", "seconds", "k"):
        raise ValueError(f"x={x!r} should be 'iteration', 'seconds' or 'k'")
    if x == "k":
        y = "seconds" if y == "gap" else y
        _need(df, ("method", "k", y, "bound"), "solver_race_figure")
        methods = list(dict.fromkeys(df["method"]))
        styles = method_styles(methods)
        fig = go.Figure()
        for m in methods:
            part = df[df["method"] == m].sort_values("k")
            vals = part[y].to_numpy(dtype=float)
            bound = part["bound"].to_numpy(dtype=bool)
            keep = np.isfinite(vals) & (vals > 0)
            color, dash = styles[m]
            text = part["text"].astype(str).to_numpy() if "text" in part.columns else vals.astype(str)
            fig.add_trace(
                go.Scatter(
                    x=part["k"].to_numpy()[keep],
                    y=vals[keep],
                    mode="lines+markers",
                    name=str(m),
                    line=dict(color=color, dash=dash, width=2),
                    marker=dict(
                        symbol=np.where(bound[keep], "triangle-up-open", "circle").tolist(),
                        size=np.where(bound[keep], 13, 9).tolist(),
                        color=color,
                    ),
                    text=text[keep],
                    hovertemplate=f"{m}<br>K=%{{x}}<br>%{{text}}<extra></extra>",
                )
            )
        finish(fig, title, "classes K (log scale)", y_title or f"{y} (log scale; ▲ = not reached: a lower bound)")
        fig.update_xaxes(type="log", tickvals=sorted(set(df["k"].tolist())))
        fig.update_yaxes(type="log", exponentformat="power")
        return fig
    _need(df, ("method", x, y), "solver_race_figure")
    methods = list(dict.fromkeys(df["method"]))
    styles = method_styles(methods)
    log_axis = y in ("gap", "certified")
    diverged = set()
    if "loss" in df.columns:
        for m in methods:
            loss = df.loc[df["method"] == m, "loss"].to_numpy(dtype=float)
            if loss.size and (not np.isfinite(loss).all() or loss[-1] > loss[0]):
                diverged.add(m)
    fig = go.Figure()
    shown: list[np.ndarray] = []
    for m in methods:
        part = df[df["method"] == m].sort_values(x)
        part = part[part[y].notna()]  # iterates without a value (e.g. sparse certificates) are not drawn
        if max_points is not None and len(part) > max_points:
            part = part.iloc[np.unique(np.linspace(0, len(part) - 1, max_points).round().astype(int))]
        vals = part[y].to_numpy(dtype=float)
        if y == "certified":  # a certified gap below the rounding floor is drawn at it ("< 1e-12")
            vals = np.maximum(vals, GAP_FLOOR)
        if log_axis:
            vals = np.where(vals > 0, vals, np.nan)
        vals = np.where(np.isfinite(vals), vals, np.nan)
        if m not in diverged:
            shown.append(vals[np.isfinite(vals)])
        color, dash = styles[m]
        fig.add_trace(
            go.Scatter(
                x=part[x].to_numpy(),
                y=vals,
                mode="lines",
                name=f"{m} (diverged)" if m in diverged else str(m),
                line=dict(color=color, dash="dot" if m in diverged else dash, width=2),
                hovertemplate=f"{m}<br>{x}=%{{x}}<br>{y}=%{{y:.3e}}<extra></extra>",
            )
        )
    xlab = ("iteration t" if x == "iteration" else "seconds") + (" (log scale)" if log_x else "")
    default_label = {
        "gap": "gap  (L(Yᵗ) − L*)/|L*|  (log scale)",
        "certified": "certified gap  (L(Yᵗ) − D)/L(Yᵗ)  (log scale)",
    }.get(y, y)
    finish(fig, title, xlab, y_title or default_label)
    if log_axis:
        fig.update_yaxes(type="log", exponentformat="power")
    if log_x:
        fig.update_xaxes(type="log", exponentformat="power")
    if diverged and any(v.size for v in shown):
        ok = np.concatenate(shown)
        lo, hi = float(ok.min()), float(ok.max())
        if log_axis:  # plotly's log-axis range is in decades
            fig.update_yaxes(range=[np.log10(lo) - 0.2, np.log10(hi) + 0.2])
        else:
            pad = 0.05 * (hi - lo or abs(hi) or 1.0)
            fig.update_yaxes(range=[lo - pad, hi + pad])
    return fig


def noisy_labels_figure(
    df: pd.DataFrame,
    *,
    x_label: Optional[str] = None,
    title: Optional[str] = "Training on corrupted soft targets (paper Fig. 2)",
) -> go.Figure:
    """Test accuracy vs noise level, mean ± std over seeds, one trace per ``loss``.

    ``df`` columns: ``loss`` (e.g. ``"collision"``, ``"shannon"``), ``level``, ``seed``,
    ``test_acc`` (optional ``noise``: with several noise models, one trace per (loss, noise),
    told apart by marker symbol). Each trace has ``x`` = sorted levels, ``y`` = mean and
    ``error_y`` = std (:func:`~ccel_core.summary.summarize`, ddof = 1; no bar for a single seed); collision solid, Shannon dashed.
    ``x_label`` defaults to what the level is: ρ (random-soft: fraction of corrupted targets), ε
    (mix: mixing weight), or both when the frame holds both noise models.
    """
    from ..experiments.noisy import LEVEL_SYMBOLS, level_axis_title

    _need(df, ("loss", "level", "seed", "test_acc"), "noisy_labels_figure")
    losses = list(dict.fromkeys(df["loss"]))
    styles = method_styles(losses)
    noises = list(dict.fromkeys(df["noise"])) if "noise" in df.columns else [None]
    if x_label is None:
        known = [str(m) for m in noises if m in LEVEL_SYMBOLS]
        if len(known) == 1 and len(noises) == 1:
            x_label = level_axis_title(known[0])
        elif known:
            x_label = "noise level: " + ", ".join(f"{LEVEL_SYMBOLS[m]} ({m})" for m in known)
        else:
            x_label = "noise level"
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
    bands: bool = False,
) -> go.Figure:
    """``metric`` against ``x`` from each run's per-epoch metrics frame (``RunStore.metrics(run_id)``:
    columns ``epoch`` and the logged metrics).

    ``labels`` maps run ids to legend names (e.g. "ccel · digits · seed 0"). Without ``bands``: one
    trace per run. With ``bands``: the runs that share a label are one group (e.g. the runs that
    differ only in the seed), drawn as two traces, a band mean ± std and the mean line, over the
    runs that have a value at each ``x`` (:func:`~ccel_core.summary.summarize_frame`, ddof = 1; the
    band narrows to the line where fewer than two runs have a value; a one-run group has no band).

    Runs whose frame lacks ``metric`` are skipped (rows with a missing value are dropped);
    ``ValueError`` when no run has it. A chart of a single ``x`` (one epoch) or a single value gets
    a padded axis around it instead of plotly's unit range.
    """
    fig = go.Figure()
    names = {rid: (labels or {}).get(rid, str(rid)) for rid in metrics_frames}
    parts = {
        rid: frame[[x, metric]].dropna().sort_values(x)
        for rid, frame in metrics_frames.items()
        if frame is not None and metric in frame.columns and x in frame.columns
    }
    if metrics_frames and not parts:
        raise ValueError(f"no run has both columns {x!r} and {metric!r}")
    styles = method_styles(list(dict.fromkeys(names.values())))
    if bands:
        for group in dict.fromkeys(names[rid] for rid in parts):
            members = [part.assign(_run=rid) for rid, part in parts.items() if names[rid] == group]
            _add_band(fig, pd.concat(members, ignore_index=True), x, metric, group, styles[group])
    else:
        for rid, part in parts.items():
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
    label = _METRIC_LABELS.get(metric, metric)
    default_title = f"{label} per {x}" + (": mean ± std over seeds" if bands else "")
    finish(fig, title if title is not None else default_title, x, label)
    values = [p for p in parts.values() if len(p)]
    if values:
        _pad_axes(fig, np.concatenate([p[x].to_numpy(float) for p in values]), x == "epoch", "x")
        _pad_axes(fig, np.concatenate([p[metric].to_numpy(float) for p in values]), False, "y")
    return fig


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


# ------------------------------------------------------------------------------------------
# helpers of run_curves_figure, and the figures of one finished run
# ------------------------------------------------------------------------------------------
def _rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` → ``rgba(r, g, b, alpha)``."""
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _add_band(fig: go.Figure, long: pd.DataFrame, x: str, metric: str, group: str, style: tuple[str, str]) -> None:
    """One group of runs (``long``: columns ``x``, ``metric``, ``_run``): the band mean ± std (when
    some ``x`` has two runs or more), then the mean line."""
    stats = summarize_frame(long, [x], [metric]).sort_values(x)
    xs = stats[x].to_numpy(dtype=float)
    mean, n = stats[f"{metric} mean"].to_numpy(float), stats[f"{metric} n"].to_numpy(int)
    std = np.nan_to_num(stats[f"{metric} std"].to_numpy(float))  # one run at this x: no spread
    runs = long["_run"].nunique()
    color, dash = style
    name = f"{group} ({runs} run{'s' * (runs != 1)})"
    if (n >= 2).any():
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([xs, xs[::-1]]),
                y=np.concatenate([mean + std, (mean - std)[::-1]]),
                fill="toself",
                fillcolor=_rgba(color, 0.18),
                line=dict(width=0),
                mode="lines",
                name=f"{name} ± std",
                legendgroup=group,
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=mean,
            mode="lines+markers",
            name=name,
            legendgroup=group,
            line=dict(color=color, dash=dash),
            marker=dict(size=5),
            customdata=np.stack([std, n], axis=1),
            hovertemplate=f"{group}<br>{x}=%{{x}}<br>{metric}=%{{y:.4f}} ± %{{customdata[0]:.4f}}"
            "<br>runs=%{customdata[1]}<extra></extra>",
        )
    )


def _pad_axes(fig: go.Figure, values: np.ndarray, integer: bool, axis: str) -> None:
    """A sensible range when every value is the same (one epoch: ``x0 ± 1``; one value: ± 10 %,
    at least ± 0.05); integer ticks for a short integer axis (a few epochs)."""
    values = values[np.isfinite(values)]
    if not values.size:
        return
    lo, hi = float(values.min()), float(values.max())
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    if lo == hi:
        pad = 1.0 if integer else max(abs(lo) * 0.1, 0.05)
        update(range=[lo - pad, hi + pad])
    if integer and hi - lo <= 10:
        update(dtick=1, tickformat="d")


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
        ticktext=[f"cluster {c} ({sizes.get(c, 0)})" for c in rows],
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


def corrupted_targets_figure(weights: pd.DataFrame, *, x_title: str = "noise level") -> go.Figure:
    """Box plot per noise level of the weight ``y_c`` a corrupted target keeps on the true class
    (``weights``: columns ``level``, ``true_class_weight``, e.g. from
    :func:`ccel_core.experiments.noisy.true_class_weights`)."""
    _need(weights, ("level", "true_class_weight"), "corrupted_targets_figure")
    fig = go.Figure()
    for level, part in weights.groupby("level"):
        box = go.Box(y=part["true_class_weight"], name=f"{level:g}", marker_color=SHANNON_COLOR, boxpoints=False)
        fig.add_trace(box.update(showlegend=False))
    fig.update_layout(yaxis_range=[0, 1.02], margin=dict(t=50, b=40))
    return finish(fig, "The corrupted targets: weight y_c on the true class", x_title, "y_c")
