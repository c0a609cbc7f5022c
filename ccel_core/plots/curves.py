"""Figures of the loss-curve page: paper Fig. 1 and gradient vs certainty (the loss over the simplex: :mod:`.simplex`)."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import plotly.graph_objects as go

from ._style import KIND_COLORS, KIND_DASH, cluster_color, curve_name, finish, require_columns

__all__ = ["loss_curves_figure", "gradient_figure"]  # the simplex heatmap: .simplex


def loss_curves_figure(
    df: pd.DataFrame, *, title: Optional[str] = "CE vs collision CE, K = 2 (paper Fig. 1)", y_max: Optional[float] = 3.0
) -> go.Figure:
    """Paper Fig. 1 from :func:`ccel_core.experiments.curves.loss_curves`.

    One trace per (target y, order α), in the frame's order: x = p, y = loss, colored by the target,
    dashed for Shannon ``H(y,σ)``, solid for collision ``H₂(y,σ)``, dotted for other Rényi orders.
    ``y_max`` caps the y axis (Shannon CE of one-hot y grows to ``−ln p_min``); None autoscales.
    """
    require_columns(df, ("p", "y", "alpha", "kind", "loss"), "loss_curves_figure")
    fig = go.Figure()
    targets = list(dict.fromkeys(df["y"]))
    for (target, alpha), part in df.groupby(["y", "alpha"], sort=False):
        kind = str(part["kind"].iloc[0])
        name = curve_name(kind, float(alpha), part["name"].iloc[0] if "name" in part else None)
        fig.add_trace(
            go.Scatter(
                x=part["p"].to_numpy(),
                y=part["loss"].to_numpy(),
                mode="lines",
                name=f"{name}, y={target}",
                legendgroup=str(target),
                line=dict(color=cluster_color(targets.index(target)), dash=KIND_DASH.get(kind, "dot"), width=2),
                hovertemplate=f"y={target}<br>{name}<br>p=%{{x:.3f}}<br>loss=%{{y:.4f}}<extra></extra>",
            )
        )
    finish(fig, title, "p   (σ = (p, 1 − p))", "cross-entropy (nats)")
    if y_max is not None:
        fig.update_yaxes(range=[0, float(y_max)])
    fig.update_xaxes(range=[0, 1])
    return fig


def gradient_figure(df: pd.DataFrame, *, x: str = "certainty", title: Optional[str] = None) -> go.Figure:
    """Gradient norm w.r.t. the logits against label certainty, from
    :func:`ccel_core.experiments.curves.gradient_vs_certainty`.

    One trace per order α (Shannon dashed, collision solid); ``x`` is ``"certainty"`` (1 − ε),
    ``"eps"`` (ε) or ``"target_entropy"`` (H(y)).
    """
    require_columns(df, (x, "alpha", "kind", "grad_norm"), "gradient_figure")
    labels = {
        "certainty": "label certainty 1 − ε   (y = (1 − ε) e_c + ε/K · 1)",
        "eps": "ε   (y = (1 − ε) e_c + ε/K · 1)",
        "target_entropy": "target entropy H(y) (nats)",
    }
    fig = go.Figure()
    for alpha, part in df.groupby("alpha", sort=False):
        kind = str(part["kind"].iloc[0])
        name = curve_name(kind, float(alpha), part["name"].iloc[0] if "name" in part else None)
        part = part.sort_values(x)
        fig.add_trace(
            go.Scatter(
                x=part[x].to_numpy(),
                y=part["grad_norm"].to_numpy(),
                mode="lines",
                name=name,
                line=dict(color=KIND_COLORS.get(kind, "#009E73"), dash=KIND_DASH.get(kind, "dot"), width=2.5),
                hovertemplate=f"{name}<br>{x}=%{{x:.3f}}<br>‖∇‖=%{{y:.4f}}<extra></extra>",
            )
        )
    if title is None:
        sigma = df.attrs.get("sigma")
        title = "Gradient norm vs label certainty" + (
            "" if sigma is None else " (σ = (" + ", ".join(f"{v:.2f}" for v in sigma) + "))"
        )
    return finish(fig, title, labels.get(x, x), "‖∂ CE(y, softmax(l)) / ∂l‖₂")
