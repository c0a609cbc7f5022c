"""The input check the experiment figures share: a frame has the columns a figure needs."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["need_columns"]


def need_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """``ValueError`` naming ``what`` when ``df`` lacks one of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing} (got {list(df.columns)})")
