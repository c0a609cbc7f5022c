"""One panel per method: cluster sizes or any quantity over epochs side by side, and a marker of the
shown step through every panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .._style import cluster_color, finish, method_styles
from .legend import COMPACT_LEGEND

__all__ = ["cluster_sizes_panels", "method_panels", "mark_step"]


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
