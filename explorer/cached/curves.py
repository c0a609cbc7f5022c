"""The loss-curve page's results (:mod:`ccel_core.experiments.curves`), cached by their hashable
arguments (tuples, numbers, strings) and copied on a hit; the page's default settings and its views
(results and figures for a setting), which the server's warm-up draws ahead of time."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.cached.figures import figure


@st.cache_data(show_spinner=False, max_entries=256)
def loss_curves(y_values: tuple[tuple[float, float], ...], alphas: tuple[float, ...]) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.loss_curves`, cached."""
    from ccel_core.experiments.curves import loss_curves as run

    return run(y_values, alphas)


@st.cache_data(show_spinner=False, max_entries=256)
def simplex_loss_grid(y: tuple[float, float, float], alpha: float, resolution: int = 45) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.simplex_loss_grid`, cached."""
    from ccel_core.experiments.curves import simplex_loss_grid as run

    return run(y, alpha, resolution)


@st.cache_data(show_spinner=False, max_entries=256)
def simplex_gradient_field(y: tuple[float, float, float], alpha: float, resolution: int = 8) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.simplex_gradient_field`, cached."""
    from ccel_core.experiments.curves import simplex_gradient_field as run

    return run(y, alpha, resolution)


@st.cache_data(show_spinner=False, max_entries=256)
def gradient_vs_certainty(logits: tuple[float, ...], alphas: tuple[float, ...]) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.gradient_vs_certainty`, cached."""
    from ccel_core.experiments.curves import gradient_vs_certainty as run

    return run(logits, alphas)


# ---- the Loss curves page's views: its settings → the results and figures it draws ----------------
# The page's default settings (its widgets start here; the server's warm-up draws these views ahead of
# time, so a first visit only draws).
LOSS_CURVE_DEFAULTS: dict[str, Any] = {
    "y1": 0.9,  # your K = 2 target y = (y₁, 1 − y₁)
    "paper": True,  # with the paper's four Fig. 1 targets
    "alpha": 2.0,  # the third Rényi order drawn (beside Shannon α = 1 and collision α = 2)
    "t1": 0.7,  # the K = 3 target y = (y₁, y₂, 1 − y₁ − y₂)
    "t2": 0.2,
    "arrows": True,  # gradient arrows on the simplex
    "scale": 1.0,  # prediction confidence s: logits s · (1, 0, −1)
    "x": "certainty",  # the gradient chart's x axis
}


# The page's tabs, each drawn only while open: Fig. 1, the loss over the K = 3 simplex, gradient vs certainty.
LOSS_CURVE_TABS = ("K = 2: Fig. 1", "K = 3: the simplex", "Gradient vs certainty")


def loss_curve_orders(alpha: float) -> tuple[float, ...]:
    """The Rényi orders the page draws: Shannon (1), collision (2) and the slider's α, once each."""
    return tuple(dict.fromkeys((1.0, 2.0, round(float(alpha), 4))))


def binary_target(y1: float) -> tuple[float, float]:
    """The K = 2 target y = (y₁, 1 − y₁) of the slider, rounded as the page shows it."""
    return round(float(y1), 4), round(1.0 - float(y1), 4)


def simplex_target(t1: float, t2: float) -> tuple[float, float, float]:
    """The K = 3 target of the sliders, y = (y₁, y₂, 1 − y₁ − y₂), its last entry rounded to 1e-6 (a
    negative one means the sliders left the simplex: the page says so and draws nothing)."""
    return float(t1), float(t2), round(1.0 - float(t1) - float(t2), 6)


def fig1_view(y1: float, paper: bool, alphas: tuple[float, ...]) -> tuple[pd.DataFrame, go.Figure]:
    """The K = 2 curves of the target ``y1`` (and of the paper's four targets with ``paper``) at the
    orders ``alphas``, and their figure (shared, read only)."""
    from ccel_core.experiments.curves import FIG1_TARGETS
    from ccel_core.plots import loss_curves_figure

    mine = binary_target(y1)
    targets = tuple(dict.fromkeys((*FIG1_TARGETS, mine))) if paper else (mine,)
    curves = loss_curves(targets, alphas)
    return curves, figure(loss_curves_figure, curves, height=470)


def simplex_chart(grid: pd.DataFrame, field: pd.DataFrame | None) -> go.Figure:
    """The loss over the simplex, without a legend (the page's caption says what the marks are)."""
    from ccel_core.plots import simplex_heatmap_figure

    return simplex_heatmap_figure(grid, field=field).update_layout(showlegend=False)


def simplex_view(target: tuple[float, float, float], alpha: float, arrows: bool) -> tuple[pd.DataFrame, go.Figure]:
    """The loss of order ``alpha`` over the K = 3 simplex for ``target`` (with its gradient arrows) and its
    figure (shared, read only)."""
    grid = simplex_loss_grid(target, alpha)
    field = simplex_gradient_field(target, alpha) if arrows else None
    return grid, figure(simplex_chart, grid, field, height=400)


def gradient_view(scale: float, alphas: tuple[float, ...], x: str) -> tuple[pd.DataFrame, go.Figure]:
    """The gradient norms as the target goes from one-hot to uniform, for the logits s · (1, 0, −1), and
    their figure over ``x`` (shared, read only)."""
    from ccel_core.plots import gradient_figure

    grads = gradient_vs_certainty((float(scale), 0.0, -float(scale)), alphas)
    return grads, figure(gradient_figure, grads, x=x, height=420)


def precompute_loss_curve_views() -> None:
    """The page's views at :data:`LOSS_CURVE_DEFAULTS` (the server's warm-up)."""
    d = LOSS_CURVE_DEFAULTS
    alphas = loss_curve_orders(d["alpha"])
    fig1_view(d["y1"], d["paper"], alphas)
    target = simplex_target(d["t1"], d["t2"])
    for a in alphas:
        simplex_view(target, a, d["arrows"])
    gradient_view(d["scale"], alphas, d["x"])
