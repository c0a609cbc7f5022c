"""Figures built once per server for their inputs and shared by every session (read only): any
page's (:func:`figure`) and the pseudo-label page's per-epoch views and charts over epochs."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Optional

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.cached.pseudo_labels import PL_FIELDS, cluster_names, em_trajectory, toy_self_labeling
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


# the pseudo-label page's two self-labelers, by the short names of its legends (ours first)
PL_METHOD_NAMES: dict[str, str] = {"collision": "ours (collision CE)", "shannon": "MIADM (Shannon CE)"}


def epoch_ticks(n_epochs: int) -> dict[str, int]:
    """Whole epochs on the time axes of short runs."""
    return {"dtick": 1} if n_epochs <= 10 else {}


@st.cache_resource(show_spinner=False, max_entries=64)
def epoch_history(args: tuple, epoch: int) -> dict[str, tuple[go.Figure, pd.DataFrame]]:
    """The pseudo-label page's charts over epochs of both self-labelers (finished runs of ``args``),
    ``epoch`` marked, each with its data: ``"sizes"`` (cluster sizes per epoch), ``"loss"`` (the network
    loss: two quantities, one axis each) and ``"acc"`` (one axis). Shared, read only."""
    from ccel_core.plots import loss_history_figure
    from ccel_core.plots.trajectories import COMPACT_LEGEND, cluster_sizes_panels, mark_step, method_panels

    runs = {ce: toy_self_labeling(args, ce) for ce in PL_METHOD_NAMES}
    n_epochs = int(args[PL_FIELDS.index("epochs")])
    ticks = epoch_ticks(n_epochs)
    sizes = pd.concat([r.sizes_frame().assign(method=PL_METHOD_NAMES[ce]) for ce, r in runs.items()], ignore_index=True)
    history = pd.concat(
        [r.history_frame().assign(method=PL_METHOD_NAMES[ce]) for ce, r in runs.items()], ignore_index=True
    )
    names = cluster_names(runs["collision"])
    fig = cluster_sizes_panels(sizes, cluster_names=names, title="Cluster sizes per epoch")
    out = {"sizes": (mark_step(fig.update_xaxes(**ticks), epoch, f"epoch {epoch}").update_layout(height=430), sizes)}
    nats = "mean_i H₂(y_i, σ_i) (nats)", "mean_i H(y_i, σ_i) (nats)"
    loss = method_panels(
        history,
        "loss",
        yaxes=dict(zip(PL_METHOD_NAMES.values(), nats)),
        title="Network loss after each epoch — different quantities, separate axes",
    )
    acc = loss_history_figure(history, y="acc", title="ACC per epoch (the same quantity: one axis)", yaxis="ACC")
    acc.update_layout(legend=COMPACT_LEGEND)
    for name, fig in (("loss", loss), ("acc", acc)):
        out[name] = (mark_step(fig.update_xaxes(**ticks), epoch).update_layout(height=380), history)
    return {name: (frozen(fig), frame) for name, (fig, frame) in out.items()}
