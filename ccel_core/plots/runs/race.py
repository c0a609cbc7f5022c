"""The y-step solver race (paper Table 1): gap, certified gap or loss per iteration or second, and
the race over K."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._style import finish, method_styles
from .columns import need_columns

__all__ = ["solver_race_figure"]


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
        need_columns(df, ("method", "k", y, "bound"), "solver_race_figure")
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
    need_columns(df, ("method", x, y), "solver_race_figure")
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
            # (imported here: the solvers load numba and scikit-learn, ~2 s that a page drawing no race
            # should not wait for — every figure of ccel_core.plots is imported with the package)
            from ...solvers._common import GAP_FLOOR

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
