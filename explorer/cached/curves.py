"""The loss-curve page's results (:mod:`ccel_core.experiments.curves`), cached by their hashable
arguments (tuples, numbers, strings) and copied on a hit."""

from __future__ import annotations

import pandas as pd
import streamlit as st


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
