"""What the shared (cross-session) caches have in common: a builder function hashed by where it is
defined, and a shared figure frozen read only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go


def function_key(fn: Callable[..., Any]) -> tuple[str, str]:
    """A builder by where it is defined (Streamlit cannot hash functions; a page's are redefined on
    every rerun)."""
    return fn.__code__.co_filename, fn.__qualname__


def frozen(fig: go.Figure) -> go.Figure:
    """Mark a shared figure read only: its plotly dict is computed once (``st.plotly_chart`` copies
    the whole figure, every frame of an animation included, on every rerun otherwise). Callers must
    not change it; :func:`explorer.common.chart` draws a copy when asked for another height."""
    memo = fig.to_dict()
    fig.to_dict = lambda: memo  # type: ignore[method-assign]
    fig._ccel_frozen = True  # type: ignore[attr-defined]
    return fig
