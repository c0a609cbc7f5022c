"""Bar charts of a paper table's methods: our runs (mean ± std over seeds) beside the paper's numbers."""

from __future__ import annotations

from typing import Mapping, Optional

import pandas as pd
import plotly.graph_objects as go

from ..summary import summarize_frame
from ._style import cluster_color, finish

__all__ = ["method_scores_figure"]


def method_scores_figure(
    df: pd.DataFrame,
    *,
    value: str = "acc",
    group: str = "data",
    paper: Optional[Mapping[tuple[str, str], float]] = None,
    paper_names: Optional[Mapping[str, str]] = None,
    scale: float = 100.0,
    title: Optional[str] = None,
    y_title: str = "ACC (%)",
) -> go.Figure:
    """One bar per (``group``, ``method``): the mean of ``value`` over seeds (× ``scale``) with a ±
    std error bar (ddof = 1); ``paper[(group, method)]`` (already scaled) drawn as a black diamond
    on its bar, named ``paper_names[group]`` in the legend (say what the paper measured: its data and
    input often differ from the group's; default "paper (<group>)"). ``df``: one row per run with
    columns ``method``, ``group`` and ``value``."""
    missing = [c for c in ("method", group, value) if c not in df.columns]
    if missing:
        raise ValueError(f"method_scores_figure needs columns {missing}; got {list(df.columns)}")
    stats = summarize_frame(df, [group, "method"], [value])
    fig = go.Figure()
    groups = list(dict.fromkeys(stats[group]))
    for i, g in enumerate(groups):
        part = stats[stats[group] == g]
        fig.add_trace(
            go.Bar(
                x=part["method"],
                y=scale * part[f"{value} mean"],
                error_y=dict(type="data", array=(scale * part[f"{value} std"]).fillna(0.0), visible=True),
                name=str(g),
                marker_color=cluster_color(i),
                offsetgroup=str(i),
                customdata=part[f"{value} n"],
                hovertemplate=f"{g}<br>%{{x}}: %{{y:.2f}} ± %{{error_y.array:.2f}}<br>seeds %{{customdata}}<extra></extra>",
            )
        )
        if paper:
            got = [(m, paper[(g, m)]) for m in part["method"] if (g, m) in paper]
            if got:
                fig.add_trace(
                    go.Scatter(
                        x=[m for m, _ in got],
                        y=[v for _, v in got],
                        mode="markers",
                        name=(paper_names or {}).get(str(g), f"paper ({g})"),
                        marker=dict(symbol="diamond", color="black", size=9),
                        offsetgroup=str(i),
                        hovertemplate=f"{(paper_names or {}).get(str(g), f'paper ({g})')}<br>%{{x}}: %{{y:.2f}}<extra></extra>",
                    )
                )
    finish(fig, title, "method", y_title, barmode="group", scattermode="group")
    return fig
