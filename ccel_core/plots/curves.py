"""Figures of the loss-curve page: paper Fig. 1, the loss over the simplex, gradient vs certainty."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import KIND_COLORS, KIND_DASH, cluster_color, finish

__all__ = ["loss_curves_figure", "simplex_heatmap_figure", "gradient_figure"]

_KIND_NAMES = {"shannon": "H(y,σ)", "collision": "H₂(y,σ)"}


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing} (got {list(df.columns)})")


def _curve_name(kind: str, alpha: float, name: Optional[str] = None) -> str:
    if name:
        return str(name)
    return _KIND_NAMES.get(kind, f"H_{alpha:g}(y,σ)")


def loss_curves_figure(
    df: pd.DataFrame, *, title: Optional[str] = "CE vs collision CE, K = 2 (paper Fig. 1)", y_max: Optional[float] = 3.0
) -> go.Figure:
    """Paper Fig. 1 from :func:`ccel_core.experiments.curves.loss_curves`.

    One trace per (target y, order α), in the frame's order: x = p, y = loss, colored by the target,
    dashed for Shannon ``H(y,σ)``, solid for collision ``H₂(y,σ)``, dotted for other Rényi orders.
    ``y_max`` caps the y axis (Shannon CE of one-hot y grows to ``−ln p_min``); None autoscales.
    """
    _require(df, ("p", "y", "alpha", "kind", "loss"), "loss_curves_figure")
    fig = go.Figure()
    targets = list(dict.fromkeys(df["y"]))
    for (target, alpha), part in df.groupby(["y", "alpha"], sort=False):
        kind = str(part["kind"].iloc[0])
        name = _curve_name(kind, float(alpha), part["name"].iloc[0] if "name" in part else None)
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


def simplex_heatmap_figure(
    df: pd.DataFrame,
    *,
    title: Optional[str] = None,
    cmax: Optional[float] = None,
    marker_size: Optional[float] = None,
    min_range: float = 0.5,
    field: Optional[pd.DataFrame] = None,
    arrow_scale: float = 0.5,
) -> go.Figure:
    """Loss over the K = 3 simplex from :func:`ccel_core.experiments.curves.simplex_loss_grid`.

    Traces, in order: a ternary scatter (a = σ₁, b = σ₂, c = σ₃) whose marker colors are the loss
    (trace 0); with ``field`` (:func:`~ccel_core.experiments.curves.simplex_gradient_field`), arrows
    ``σ → σ + arrow_scale · dσ`` showing where a gradient step on the logits moves σ (one fixed
    scale, so figures of several orders compare); the target y as a white star (when
    ``df.attrs["target"]`` is set); the minimizers as red crosses (last trace: every grid point
    within rounding of the minimum, so ties show; empty when the loss is flat).

    The color scale runs from the minimum to ``cmax`` (default: the 95th percentile of the loss, so
    that the near-infinite Shannon values at the edges do not flatten the interior) but spans at
    least ``min_range`` nats, so that a nearly flat loss looks nearly flat; the subtitle gives the
    loss's actual range. The markers are not clipped at the corners (``cliponaxis=False``).
    """
    from ..experiments.curves import near_minimum

    _require(df, ("s1", "s2", "s3", "loss"), "simplex_heatmap_figure")
    kind = str(df["kind"].iloc[0]) if "kind" in df else "collision"
    alpha = float(df["alpha"].iloc[0]) if "alpha" in df else 2.0
    name = _curve_name(kind, alpha)
    n = len(df)
    r = max((np.sqrt(8 * n + 1) - 3) / 2, 1.0)  # n = (R+1)(R+2)/2
    size = marker_size if marker_size is not None else float(np.clip(520 / (r + 1), 3, 30))
    loss = df["loss"].to_numpy()
    lo, hi = float(np.nanmin(loss)), float(np.nanmax(loss))
    top = float(cmax) if cmax is not None else float(np.nanpercentile(loss, 95))
    mask = near_minimum(loss)
    flat = bool(mask.all())
    fig = go.Figure()
    fig.add_trace(
        _points(
            df,
            name,
            marker=dict(
                color=loss,
                colorscale="Viridis",
                size=size,
                symbol="hexagon",
                line=dict(width=0),
                cmin=lo,
                cmax=max(top, lo + float(min_range)),
                colorbar=dict(title=dict(text=f"{name}<br>(nats)"), thickness=12),
            ),
            # clicking a point may select it (the explorer sets y there): keep every point opaque
            selected=dict(marker=dict(opacity=1.0)),
            unselected=dict(marker=dict(opacity=1.0)),
            hovertemplate="σ=(%{a:.3f}, %{b:.3f}, %{c:.3f})<br>" + name + "=%{marker.color:.4f}<extra></extra>",
            showlegend=False,
        )
    )
    if field is not None:
        fig.add_trace(_arrows(field, arrow_scale))
    target = df.attrs.get("target")
    if target is not None:
        fig.add_trace(
            go.Scatterternary(
                a=[target[0]],
                b=[target[1]],
                c=[target[2]],
                mode="markers",
                name="target y",
                cliponaxis=False,
                marker=dict(symbol="star", size=16, color="white", line=dict(color="black", width=1.5)),
            )
        )
    best = df[mask]
    first = int(np.flatnonzero(mask)[0]) if mask.any() else 0
    if not flat:  # the first grid point of smallest loss first
        best = pd.concat([df.iloc[[first]], best.drop(index=df.index[first])])
    else:
        best = best.iloc[:0]
    fig.add_trace(
        _points(
            best,
            "grid minimum" if len(best) <= 1 else f"grid minima (tied, {len(best)})",
            cliponaxis=False,
            marker=dict(symbol="x", size=12, color="red", line=dict(color="white", width=1)),
        )
    )
    if title is None:
        ys = "" if target is None else "y = (" + ", ".join(f"{v:.2g}" for v in target) + ") · "
        what = f"flat: {lo:.4f} nats at every σ" if flat else f"{lo:.3g} to {hi:.3g} nats"
        title = f"{name} over the simplex<br><sup>{ys}{what}</sup>"
    finish(fig, title)
    fig.update_layout(
        ternary=dict(
            sum=1, aaxis=dict(title="σ₁", min=0), baxis=dict(title="σ₂", min=0), caxis=dict(title="σ₃", min=0)
        ),
        legend=dict(orientation="h", y=-0.12, x=0.5, xanchor="center"),
        margin=dict(l=45, r=35, t=80, b=55),  # room for the corner titles σ₂, σ₃ below the triangle
    )
    return fig


def _points(df: pd.DataFrame, name: str, **kw: Any) -> go.Scatterternary:
    """A ternary marker trace of the rows ``s1, s2, s3`` of ``df`` (a = σ₁, b = σ₂, c = σ₃)."""
    return go.Scatterternary(
        a=df["s1"].to_numpy(), b=df["s2"].to_numpy(), c=df["s3"].to_numpy(), mode="markers", name=name, **kw
    )


def _arrows(field: pd.DataFrame, scale: float) -> go.Scatterternary:
    """White arrows σ → σ + scale·dσ (shortened to stay inside the simplex), as one line trace with
    an arrow-head marker at each tip."""
    _require(field, ("s1", "s2", "s3", "d1", "d2", "d3"), "simplex_heatmap_figure(field=...)")
    sig = field[["s1", "s2", "s3"]].to_numpy(dtype=float)
    step = float(scale) * field[["d1", "d2", "d3"]].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(step < 0, 0.95 * sig / -step, np.inf).min(axis=1)
    tip = sig + np.minimum(room, 1.0)[:, None] * step
    moving = np.linalg.norm(tip - sig, axis=1) > 1e-4
    pts = np.full((3 * len(sig), 3), np.nan)
    pts[0::3], pts[1::3] = sig, tip
    sizes = np.tile([0.0, 7.0, 0.0], len(sig)) * np.repeat(moving, 3)
    return go.Scatterternary(
        a=pts[:, 0],
        b=pts[:, 1],
        c=pts[:, 2],
        mode="lines+markers",
        name="a gradient step on the logits moves σ",
        line=dict(color="white", width=1.5),
        marker=dict(
            symbol="arrow", angleref="previous", size=sizes, color="white", line=dict(color="black", width=0.5)
        ),
        connectgaps=False,
        hoverinfo="skip",
        cliponaxis=False,
    )


def gradient_figure(df: pd.DataFrame, *, x: str = "certainty", title: Optional[str] = None) -> go.Figure:
    """Gradient norm w.r.t. the logits against label certainty, from
    :func:`ccel_core.experiments.curves.gradient_vs_certainty`.

    One trace per order α (Shannon dashed, collision solid); ``x`` is ``"certainty"`` (1 − ε),
    ``"eps"`` (ε) or ``"target_entropy"`` (H(y)).
    """
    _require(df, (x, "alpha", "kind", "grad_norm"), "gradient_figure")
    labels = {
        "certainty": "label certainty 1 − ε   (y = (1 − ε) e_c + ε/K · 1)",
        "eps": "ε   (y = (1 − ε) e_c + ε/K · 1)",
        "target_entropy": "target entropy H(y) (nats)",
    }
    fig = go.Figure()
    for alpha, part in df.groupby("alpha", sort=False):
        kind = str(part["kind"].iloc[0])
        name = _curve_name(kind, float(alpha), part["name"].iloc[0] if "name" in part else None)
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
