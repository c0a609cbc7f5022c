"""Figures built once per server for their inputs and shared by every session (read only): any
page's (:func:`figure`) and the pseudo-label page's per-epoch views."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Optional

import plotly.graph_objects as go
import streamlit as st

from explorer.cached.pseudo_labels import cluster_names, em_trajectory, toy_self_labeling
from explorer.cached.shared import frozen, function_key


@st.cache_resource(show_spinner=False, max_entries=512, hash_funcs={types.FunctionType: function_key})
def figure(build: Callable[..., go.Figure], *args: Any, height: Optional[int] = None, **kwargs: Any) -> go.Figure:
    """``build(*args, **kwargs)`` at ``height``, built once per server for these inputs (DataFrames
    are hashed by content) and :func:`frozen`: a page rerun or another visitor reuses it (building a
    plotly figure validates every property: 50–150 ms each here)."""
    fig = build(*args, **kwargs)
    if height is not None:
        fig.update_layout(height=height)
    return frozen(fig)


@st.cache_resource(show_spinner=False, max_entries=256)
def epoch_figures(args: tuple, ce: str, epoch: int) -> dict[str, go.Figure]:
    """The figures of one self-labeler at one epoch (``args`` from :func:`pseudo_label_args`):
    ``"regions"`` (argmax σ over the plane, points colored by cluster, misclustered points as ✕ in
    their true class's color) and ``"ternary"`` (K = 3 only: y and σ on the simplex). Clusters are
    the run's renumbered ones (cluster c ↔ class c). Not copied on a hit: callers only set the height."""
    from ccel_core.plots import decision_regions_figure, ternary_labels_figure

    res = toy_self_labeling(args, ce)
    s = res.snapshots[min(max(int(epoch), 0), len(res.snapshots) - 1)]
    names = cluster_names(res)
    pred = s.probs.argmax(1)
    figs = {}
    if res.n_clusters == 3:
        figs["ternary"] = ternary_labels_figure(
            s.labels,
            s.probs,
            labels=pred,
            cluster_names=names,
            title=f"Pseudo-labels y (dots) and σ (rings) at epoch {s.epoch}",
        )
    wrong = truth = None
    if res.y_true is not None:
        truth = res.class_colors()[res.y_true]
        wrong = truth != pred
    figs["regions"] = decision_regions_figure(  # heights: those the page draws them at
        res.grid_x,
        res.grid_y,
        s.grid_probs,
        res.points,
        pred,
        misclustered=wrong,
        true_colors=truth,
        cluster_names=names,
        axis_titles=("PC 1", "PC 2") if args[0] == "digits" else ("x₁", "x₂"),
        title=f"Decision regions argmax σ at epoch {s.epoch}",
    )
    heights = {"regions": 520, "ternary": 470}
    return {name: frozen(fig.update_layout(height=heights[name])) for name, fig in figs.items()}


@st.cache_resource(show_spinner=False, max_entries=64)
def ystep_figure(args: tuple, epoch: int, solver: str, iters: int) -> go.Figure:
    """The y-step's labels after ``iters`` iterations on the simplex (σ fixed, rings), K = 3."""
    from ccel_core.plots import ternary_labels_figure

    traj = em_trajectory(args, epoch, solver, iters)
    res = toy_self_labeling(args, "collision")
    sigma = res.snapshots[min(epoch, len(res.snapshots) - 1)].probs
    return frozen(
        ternary_labels_figure(
            traj.iterates[-1],
            sigma,
            cluster_names=cluster_names(res),
            title=f"y after {len(traj.iterates) - 1} iterations (σ fixed: rings)",
        ).update_layout(height=440)
    )
