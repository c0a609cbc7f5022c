"""The loss over the K = 3 simplex as one raster: the Loss curves page's triangles and notebook 01's.

The triangle has σ₁ at the top, σ₂ bottom left and σ₃ bottom right (plotly's ternary layout), drawn on
plain x/y axes at :func:`~ccel_core.experiments.curves.simplex_xy`. The grid of
:func:`ccel_core.experiments.curves.simplex_grid` (``σ = (n + 1/3)/(R + 1)``, ``Σn = R``) is a triangular
lattice whose rows (constant σ₁) are offset by half a cell; each point's loss fills one cell of width
``1/(R + 1)`` and height ``(√3/2)/(R + 1)`` — two columns of a ``go.Heatmap`` of ``(R + 1) × (2R + 2)``
cells, NaN outside the triangle. The values drawn are the grid's own (no interpolation).

Why a raster: the earlier ternary scatter drew every grid point as an SVG hexagon (1,081 per chart at
R = 45); the Loss curves page's two charts then cost ≈ 0.9 s of a visit and ≈ 1.2 s of a reload in
headless Chromium (benchmarks/RESULTS.md), a heatmap one image.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..experiments.curves.simplex import simplex_xy
from ._style import curve_name, finish, require_columns

__all__ = ["simplex_heatmap_figure"]

_PICKS = 15  # about this many clickable points per side of the triangle


def _lattice(df: pd.DataFrame) -> tuple[int, np.ndarray, np.ndarray]:
    """``(R, σ, n)``: the grid's resolution, its points and their lattice indices ``n = σ(R + 1) − 1/3``
    (integers summing to R)."""
    r = int(round((np.sqrt(8 * len(df) + 1) - 3) / 2))  # len = (R + 1)(R + 2)/2
    if (r + 1) * (r + 2) // 2 != len(df):
        raise ValueError(f"simplex_heatmap_figure needs the full grid of simplex_loss_grid; got {len(df)} rows")
    sig = df[["s1", "s2", "s3"]].to_numpy(dtype=float)
    exact = sig * (r + 1) - 1.0 / 3.0
    with np.errstate(invalid="ignore"):
        n = np.rint(np.nan_to_num(exact, nan=-1.0)).astype(int)
    if not (np.abs(exact - n).max() < 1e-6 and (n >= 0).all() and (n.sum(1) == r).all()):
        raise ValueError(
            "simplex_heatmap_figure needs the points of simplex_loss_grid (σ = (n + 1/3)/(R + 1), Σn = R); "
            f"s1, s2, s3 of these {len(df)} rows are not"
        )
    return r, sig, n


def _raster(
    df: pd.DataFrame, name: str, r: int, sig: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column centers, row centers, the loss per cell (NaN outside) and each cell's hover text, for the
    grid's points ``sig`` and lattice indices ``n`` (:func:`_lattice`)."""
    row, col = n[:, 0], 2 * n[:, 2] + n[:, 0]
    z = np.full((r + 1, 2 * r + 2), np.nan)
    text = np.full(z.shape, "", dtype=object)
    loss = df["loss"].to_numpy(dtype=float)
    label = [f"σ=({a:.3f}, {b:.3f}, {c:.3f})<br>{name}={v:.4f}" for (a, b, c), v in zip(sig, loss)]
    for shift in (0, 1):
        z[row, col + shift] = loss
        text[row, col + shift] = label
    xs = (np.arange(2 * r + 2) + 0.5) / (2 * (r + 1))
    s1 = (np.arange(r + 1) + 1.0 / 3.0) / (r + 1)  # σ₁ of each row
    ys = simplex_xy(np.c_[s1, 1.0 - s1, np.zeros(r + 1)])[1]
    return xs, ys, z, text


def _scatter(sig: np.ndarray, name: str, **kw: Any) -> go.Scatter:
    """Points σ in the triangle, their σ as ``customdata`` (what a click on them reports)."""
    x, y = simplex_xy(sig)
    return go.Scatter(x=x, y=y, customdata=np.asarray(sig, dtype=float).reshape(-1, 3), name=name, **kw)


def simplex_heatmap_figure(
    df: pd.DataFrame,
    *,
    title: Optional[str] = None,
    cmax: Optional[float] = None,
    min_range: float = 0.5,
    field: Optional[pd.DataFrame] = None,
    arrow_scale: float = 0.5,
) -> go.Figure:
    """Loss over the K = 3 simplex from :func:`ccel_core.experiments.curves.simplex_loss_grid`.

    Traces, in order: the loss as a heatmap over the triangle (trace 0; hover: σ and the loss); with
    ``field`` (:func:`~ccel_core.experiments.curves.simplex_gradient_field`), arrows
    ``σ → σ + arrow_scale · dσ`` showing where a gradient step on the logits moves σ (one fixed
    scale, so figures of several orders compare); invisible points every few grid steps that a click
    selects (``"pick σ"``: the explorer sets y there); the target y as a white star (when
    ``df.attrs["target"]`` is set); the minimizers as red crosses (last trace: every grid point
    within rounding of the minimum, so ties show; empty when the loss is flat). Every scatter trace
    carries its σ as ``customdata``; positions follow :func:`simplex_xy`.

    The color scale runs from the minimum to ``cmax`` (default: the 95th percentile of the loss, so
    that the near-infinite Shannon values at the edges do not flatten the interior) but spans at
    least ``min_range`` nats, so that a nearly flat loss looks nearly flat; the subtitle gives the
    loss's actual range.
    """
    from ..experiments.curves import near_minimum

    require_columns(df, ("s1", "s2", "s3", "loss"), "simplex_heatmap_figure")
    kind = str(df["kind"].iloc[0]) if "kind" in df else "collision"
    alpha = float(df["alpha"].iloc[0]) if "alpha" in df else 2.0
    name = curve_name(kind, alpha)
    loss = df["loss"].to_numpy(dtype=float)
    lo, hi = float(np.nanmin(loss)), float(np.nanmax(loss))
    top = float(cmax) if cmax is not None else float(np.nanpercentile(loss, 95))
    mask = near_minimum(loss)
    flat = bool(mask.all())
    zmax = max(top, lo + float(min_range))
    r, sig, n = _lattice(df)
    xs, ys, z, text = _raster(df, name, r, sig, n)
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=z,
            text=text,
            name=name,
            colorscale="Viridis",
            zmin=lo,
            zmax=zmax,
            colorbar=dict(title=dict(text=f"{name}<br>(nats)"), thickness=12),
            hovertemplate="%{text}<extra></extra>",
            hoverongaps=False,
        )
    )
    if field is not None:
        fig.add_trace(_arrows(field, arrow_scale))
    step = max(1, round(r / _PICKS))
    picks = (n[:, 0] % step == 0) & (n[:, 2] % step == 0)
    fig.add_trace(
        _scatter(
            sig[picks],
            "pick σ",
            mode="markers",
            marker=dict(size=14, opacity=0.0),
            selected=dict(marker=dict(opacity=0.0)),
            unselected=dict(marker=dict(opacity=0.0)),
            hovertemplate="σ=(%{customdata[0]:.3f}, %{customdata[1]:.3f}, %{customdata[2]:.3f})<extra>click: y here</extra>",
            showlegend=False,
        )
    )
    target = df.attrs.get("target")
    if target is not None:
        star = dict(symbol="star", size=16, color="white", line=dict(color="black", width=1.5))
        fig.add_trace(_scatter(np.asarray([target]), "target y", mode="markers", cliponaxis=False, marker=star))
    best = df[mask]
    first = int(np.flatnonzero(mask)[0]) if mask.any() else 0
    if not flat:  # the first grid point of smallest loss first
        best = pd.concat([df.iloc[[first]], best.drop(index=df.index[first])])
    else:
        best = best.iloc[:0]
    fig.add_trace(
        _scatter(
            best[["s1", "s2", "s3"]].to_numpy(dtype=float),
            "grid minimum" if len(best) <= 1 else f"grid minima (tied, {len(best)})",
            mode="markers",
            cliponaxis=False,
            marker=dict(symbol="x", size=12, color="red", line=dict(color="white", width=1)),
            hoverinfo="skip",
        )
    )
    if title is None:
        at = "" if target is None else "y = (" + ", ".join(f"{v:.2g}" for v in target) + ") · "
        what = f"flat: {lo:.4f} nats at every σ" if flat else f"{lo:.3g} to {hi:.3g} nats"
        if not flat and zmax < hi:  # the colours saturate: say where and why, or the colour bar reads as the range
            why = "cmax" if cmax is not None else ("95th percentile" if zmax == top else f"{lo:.3g} + {min_range:g}")
            what += f"; colours stop at {zmax:.3g} ({why})"
        title = f"{name} over the simplex<br><sup>{at}{what}</sup>"
    finish(fig, title)
    _frame(fig)
    return fig


def _frame(fig: go.Figure) -> None:
    """The triangle's outline, light lines at σ_k = 0.2 … 0.8, the corner titles and equal axes."""
    cx, cy = simplex_xy(np.eye(3))  # the corners e₁, e₂, e₃
    grid = dict(type="line", line=dict(color="rgba(255,255,255,0.45)", width=1), layer="above")
    shapes = []
    for t in (0.2, 0.4, 0.6, 0.8):
        for a, b in (((t, 1 - t, 0), (t, 0, 1 - t)), ((0, t, 1 - t), (1 - t, t, 0)), ((1 - t, 0, t), (0, 1 - t, t))):
            (x0,), (y0,) = simplex_xy(a)
            (x1,), (y1,) = simplex_xy(b)
            shapes.append(dict(grid, x0=x0, y0=y0, x1=x1, y1=y1))
    path = "M " + " L ".join(f"{x:.6f} {y:.6f}" for x, y in zip(cx, cy)) + " Z"
    shapes.append(dict(type="path", path=path, line=dict(color="#444", width=1), layer="above"))
    notes = [
        dict(x=x, y=y, text=label, showarrow=False, font=dict(size=14), yshift=14 if y > 0 else -14)
        for label, x, y in zip(("σ₁", "σ₂", "σ₃"), cx, cy)
    ]
    fig.update_layout(
        shapes=shapes,
        annotations=notes,
        xaxis=dict(visible=False, range=[-0.06, 1.06], constrain="domain"),
        yaxis=dict(visible=False, range=[-0.08, float(cy.max()) + 0.08], scaleanchor="x", scaleratio=1),
        plot_bgcolor="white",
        legend=dict(orientation="h", y=-0.12, x=0.5, xanchor="center"),
        margin=dict(l=20, r=20, t=80, b=40),
    )


def _arrows(field: pd.DataFrame, scale: float) -> go.Scatter:
    """White arrows σ → σ + scale·dσ (shortened to stay inside the simplex), as one line trace with
    an arrow-head marker at each tip; ``customdata`` holds the σ of every vertex (NaN at the gaps)."""
    require_columns(field, ("s1", "s2", "s3", "d1", "d2", "d3"), "simplex_heatmap_figure(field=...)")
    sig = field[["s1", "s2", "s3"]].to_numpy(dtype=float)
    step = float(scale) * field[["d1", "d2", "d3"]].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(step < 0, 0.95 * sig / -step, np.inf).min(axis=1)
    tip = sig + np.minimum(room, 1.0)[:, None] * step
    moving = np.linalg.norm(tip - sig, axis=1) > 1e-4
    pts = np.full((3 * len(sig), 3), np.nan)
    pts[0::3], pts[1::3] = sig, tip
    sizes = np.tile([0.0, 7.0, 0.0], len(sig)) * np.repeat(moving, 3)
    return _scatter(
        pts,
        "a gradient step on the logits moves σ",
        mode="lines+markers",
        line=dict(color="white", width=1.5),
        marker=dict(
            symbol="arrow", angleref="previous", size=sizes, color="white", line=dict(color="black", width=0.5)
        ),
        connectgaps=False,
        hoverinfo="skip",
        cliponaxis=False,
    )
