"""The noisy-label experiment (paper Fig. 2): test accuracy against the noise level, and the
corrupted targets themselves."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import plotly.graph_objects as go

from ...summary import summarize_frame
from .._style import SHANNON_COLOR, finish, method_styles
from .columns import need_columns

__all__ = ["noisy_labels_figure", "corrupted_targets_figure"]


def noisy_labels_figure(
    df: pd.DataFrame,
    *,
    x_label: Optional[str] = None,
    title: Optional[str] = "Training on corrupted soft targets (paper Fig. 2)",
) -> go.Figure:
    """Test accuracy vs noise level, mean ± std over seeds, one trace per ``loss``.

    ``df`` columns: ``loss`` (e.g. ``"collision"``, ``"shannon"``), ``level``, ``seed``,
    ``test_acc`` (optional ``noise``: with several noise models, one trace per (loss, noise),
    told apart by marker symbol). Each trace has ``x`` = sorted levels, ``y`` = mean and
    ``error_y`` = std (:func:`~ccel_core.summary.summarize`, ddof = 1; no bar for a single seed); collision solid, Shannon dashed.
    ``x_label`` defaults to what the level is: ρ (random-soft: fraction of corrupted targets), ε
    (mix: mixing weight), or both when the frame holds both noise models.
    """
    from ...experiments.noisy import LEVEL_SYMBOLS, level_axis_title

    need_columns(df, ("loss", "level", "seed", "test_acc"), "noisy_labels_figure")
    losses = list(dict.fromkeys(df["loss"]))
    styles = method_styles(losses)
    noises = list(dict.fromkeys(df["noise"])) if "noise" in df.columns else [None]
    if x_label is None:
        known = [str(m) for m in noises if m in LEVEL_SYMBOLS]
        if len(known) == 1 and len(noises) == 1:
            x_label = level_axis_title(known[0])
        elif known:
            x_label = "noise level: " + ", ".join(f"{LEVEL_SYMBOLS[m]} ({m})" for m in known)
        else:
            x_label = "noise level"
    symbols = ("circle", "square", "diamond", "triangle-up", "x")
    fig = go.Figure()
    for name in losses:
        for j, noise in enumerate(noises):
            part = df[df["loss"] == name] if noise is None else df[(df["loss"] == name) & (df["noise"] == noise)]
            if part.empty:
                continue
            stats = summarize_frame(part.sort_values("level"), ["level"], ["test_acc"]).set_index("level")
            stats.columns = ["mean", "std", "count"]
            stats["std"] = stats["std"].fillna(0.0)  # one seed: no error bar
            color, dash = styles[name]
            label = {"collision": "collision CE  H₂(y,σ)", "shannon": "Shannon CE  H(y,σ)"}.get(str(name), str(name))
            if len(noises) > 1:
                label = f"{label} · {noise}"
            fig.add_trace(
                go.Scatter(
                    x=stats.index.to_numpy(dtype=float),
                    y=stats["mean"].to_numpy(),
                    mode="lines+markers",
                    name=label,
                    error_y=dict(type="data", array=stats["std"].to_numpy(), visible=True, thickness=1.2),
                    line=dict(color=color, dash=dash, width=2),
                    marker=dict(symbol=symbols[j % len(symbols)], size=7),
                    customdata=stats["count"].to_numpy(),
                    hovertemplate=f"{label}<br>level=%{{x}}<br>test ACC=%{{y:.4f}} ± %{{error_y.array:.4f}}"
                    "<br>seeds=%{customdata}<extra></extra>",
                )
            )
    return finish(fig, title, x_label, "test accuracy (mean ± std over seeds)")


def corrupted_targets_figure(weights: pd.DataFrame, *, x_title: str = "noise level") -> go.Figure:
    """Box plot per noise level of the weight ``y_c`` a corrupted target keeps on the true class
    (``weights``: columns ``level``, ``true_class_weight``, e.g. from
    :func:`ccel_core.experiments.noisy.true_class_weights`)."""
    need_columns(weights, ("level", "true_class_weight"), "corrupted_targets_figure")
    fig = go.Figure()
    for level, part in weights.groupby("level"):
        box = go.Box(y=part["true_class_weight"], name=f"{level:g}", marker_color=SHANNON_COLOR, boxpoints=False)
        fig.add_trace(box.update(showlegend=False))
    fig.update_layout(yaxis_range=[0, 1.02], margin=dict(t=50, b=40))
    return finish(fig, "Corrupted targets<br><sup>weight y_c left on the true class c</sup>", x_title, "y_c")
