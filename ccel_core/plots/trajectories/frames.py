"""Animation frames of the pseudo-label pictures: one array or one per frame as input, the slider's
frame names, and the play / pause controls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import plotly.graph_objects as go

from .._style import animation_controls, as_array

__all__ = ["split_frames", "per_frame", "slider_names", "animate"]


def split_frames(x: Any, name: str, ndim: int) -> tuple[list[np.ndarray], bool]:
    """A single array (``ndim`` dims) → ([it], False); a list / stacked array → (list, True)."""
    if isinstance(x, (list, tuple)):
        arrs = [as_array(a, f"{name}[{i}]", ndim) for i, a in enumerate(x)]
        if not arrs:
            raise ValueError(f"{name} is an empty sequence; expected at least one array")
        return arrs, True
    arr = as_array(x, name)
    if arr.ndim == ndim:
        return [arr], False
    if arr.ndim == ndim + 1:
        return list(arr), True
    raise ValueError(f"{name} must have {ndim} dims (or {ndim + 1} for frames), got shape={arr.shape}")


def per_frame(x: Any, n_frames: int, name: str, ndim: int) -> Optional[list[np.ndarray]]:
    """``x`` for each of ``n_frames`` frames: None stays None, one array is repeated, one per frame
    is checked to be ``n_frames`` long."""
    if x is None:
        return None
    arrs, many = split_frames(x, name, ndim)
    if not many:
        return arrs * n_frames
    if len(arrs) != n_frames:
        raise ValueError(
            f"{name} has {len(arrs)} frames but there are {n_frames}; expected one per frame or a single array"
        )
    return arrs


def slider_names(frame_names: Optional[Sequence[Any]], n: int) -> list[str]:
    """The slider's label of each of ``n`` frames: ``frame_names`` as text, default 0, 1, …"""
    names = [str(i) for i in range(n)] if frame_names is None else [str(f) for f in frame_names]
    if len(names) != n:
        raise ValueError(f"frame_names has {len(names)} entries; expected {n}")
    return names


def animate(fig: go.Figure, frames: list[go.Frame], names: list[str], prefix: str, duration: int) -> None:
    """Give ``fig`` its ``frames`` with play / pause buttons and a slider, when there is more than one."""
    if len(frames) > 1:
        fig.frames = frames
        fig.update_layout(**animation_controls(names, prefix=prefix, duration=duration))
