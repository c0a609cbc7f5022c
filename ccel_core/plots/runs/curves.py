"""Training runs' curves: a logged metric per epoch, one line per run or mean ± std per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ...summary import summarize_frame
from .._style import finish, method_styles

__all__ = ["run_curves_figure"]

_METRIC_LABELS = {
    "acc": "ACC",
    "nmi": "NMI",
    "ari": "ARI",
    "loss": "loss",
    "label_loss": "y-step objective",
    "test_acc": "test ACC",
    "pseudo_entropy": "mean H(y_i) (nats)",
}


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
