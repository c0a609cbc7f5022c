"""Shared look of every ccel figure: template, colors and line styles.

Conventions: collision CE (ours) is vermillion and solid, Shannon CE is blue and dashed, Rényi
of other orders green and dotted; other methods get fixed Okabe–Ito colors (colour-blind safe);
cluster/class ids use one qualitative palette everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "method_styles",
    "cluster_color",
    "TEMPLATE",
    "COLLISION_COLOR",
    "SHANNON_COLOR",
    "RENYI_COLOR",
    "KIND_COLORS",
    "KIND_DASH",
    "CLUSTER_PALETTE",
]

TEMPLATE = "plotly_white"

COLLISION_COLOR = "#D55E00"
SHANNON_COLOR = "#0072B2"
RENYI_COLOR = "#009E73"

KIND_COLORS = {"collision": COLLISION_COLOR, "shannon": SHANNON_COLOR, "renyi": RENYI_COLOR}
KIND_DASH = {"collision": "solid", "shannon": "dash", "renyi": "dot"}

# Tokens of a method / loss name → (color, dash). First match wins, in this order.
_METHOD_STYLES: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"collision", "cce", "ccel", "ours", "h₂", "em"}), COLLISION_COLOR, "solid"),
    (frozenset({"shannon", "ce", "miadm"}), SHANNON_COLOR, "dash"),
    (frozenset({"renyi", "rényi"}), RENYI_COLOR, "dot"),
    (frozenset({"sela", "sinkhorn"}), "#009E73", "solid"),
    (frozenset({"migd", "mi", "rim"}), "#CC79A7", "solid"),
    (frozenset({"imsat"}), "#E69F00", "solid"),
    (frozenset({"iic"}), "#56B4E9", "solid"),
    (frozenset({"kmeans", "k-means"}), "#7F7F7F", "dot"),
)
# Fallback colors for names without a fixed style (e.g. several PGD step sizes).
# (Never the collision or Shannon color, which keep their meaning.)
_FALLBACK = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7F7F7F", "#F0E442", "#8C564B")

CLUSTER_PALETTE: tuple[str, ...] = tuple(qualitative.D3) + tuple(qualitative.Light24)


def cluster_color(k: int) -> str:
    """Color of cluster/class id ``k`` (the same in every figure)."""
    return CLUSTER_PALETTE[int(k) % len(CLUSTER_PALETTE)]


def cluster_colors(ids: Iterable[Any]) -> list[str]:
    return [cluster_color(int(k)) for k in ids]


def discrete_colorscale(k: int) -> list[list[Any]]:
    """A step colorscale for integer z in ``0 … k−1`` (use ``zmin=−0.5, zmax=k−0.5``)."""
    k = max(int(k), 1)
    scale: list[list[Any]] = []
    for i in range(k):
        c = cluster_color(i)
        scale += [[i / k, c], [(i + 1) / k, c]]
    return scale


def _tokens(name: str) -> set[str]:
    low = str(name).lower()
    return {t for t in re.split(r"[\s,;:/()\[\]{}=·|+*]+", low) if t} | ({"h₂"} if "h₂" in low else set())


def method_styles(names: Sequence[Any]) -> dict[Any, tuple[str, str]]:
    """``name → (color, dash)`` for a list of method / loss names.

    Known families keep their fixed color (collision/ours/EM vermillion solid, Shannon/MIADM blue
    dashed, …) for the first name of the family; repeated or unknown names take the next unused
    fallback color, solid.
    """
    styles: dict[Any, tuple[str, str]] = {}
    used: set[str] = set()
    pending = []
    for name in names:
        toks = _tokens(name)
        for keys, color, dash in _METHOD_STYLES:
            if toks & keys and color not in used:
                styles[name] = (color, dash)
                used.add(color)
                break
        else:
            pending.append(name)
    free = [c for c in _FALLBACK if c not in used]
    free += [c for c in CLUSTER_PALETTE if c not in used and c not in free]
    for i, name in enumerate(pending):
        toks = _tokens(name)
        dash = "dash" if toks & {"shannon", "ce", "miadm"} else "solid"
        styles[name] = (free[i % len(free)], dash)
    return styles


_KIND_NAMES = {"shannon": "H(y,σ)", "collision": "H₂(y,σ)"}


def curve_name(kind: str, alpha: float, name: Optional[str] = None) -> str:
    """A loss's name in legends and titles: ``name`` if given, else H(y,σ), H₂(y,σ) or H_α(y,σ)."""
    if name:
        return str(name)
    return _KIND_NAMES.get(kind, f"H_{alpha:g}(y,σ)")


def require_columns(df: "pd.DataFrame", columns: tuple[str, ...], what: str) -> None:
    """``ValueError`` naming the missing ``columns`` of a figure builder's input frame."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing} (got {list(df.columns)})")


def finish(
    fig: go.Figure, title: Optional[str], xaxis: Optional[str] = None, yaxis: Optional[str] = None, **layout: Any
) -> go.Figure:
    """Apply the template, title and axis titles."""
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(tracegroupgap=2),
    )
    if layout:
        fig.update_layout(**layout)
    if xaxis is not None:
        fig.update_xaxes(title_text=xaxis)
    if yaxis is not None:
        fig.update_yaxes(title_text=yaxis)
    return fig


def as_array(x: Any, name: str, ndim: Optional[int] = None) -> np.ndarray:
    """numpy view of an array / tensor / list; ``ValueError`` on the wrong number of dims."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dims, got shape={arr.shape}")
    return arr


def animation_controls(frame_names: Sequence[str], *, prefix: str = "", duration: int = 300) -> dict[str, Any]:
    """Layout entries (play/pause buttons and a slider) for a figure with ``frames``."""
    args_play = [
        None,
        {"frame": {"duration": duration, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}},
    ]
    args_pause = [
        [None],
        {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}},
    ]
    steps = [
        {
            "label": str(n),
            "method": "animate",
            "args": [
                [str(n)],
                {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}},
            ],
        }
        for n in frame_names
    ]
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0.1,
                "xanchor": "right",
                "y": 0,
                "yanchor": "top",
                "pad": {"r": 10, "t": 70},
                "buttons": [
                    {"label": "▶", "method": "animate", "args": args_play},
                    {"label": "❚❚", "method": "animate", "args": args_pause},
                ],
            }
        ],
        "sliders": [
            {
                "active": 0,
                "x": 0.1,
                "len": 0.9,
                "xanchor": "left",
                "y": 0,
                "yanchor": "top",
                "pad": {"b": 10, "t": 40},
                "currentvalue": {"prefix": prefix, "xanchor": "right"},
                "steps": steps,
            }
        ],
    }
