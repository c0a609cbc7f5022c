"""The summary of a quantity over seeds: mean ± sample standard deviation, one rule everywhere.

For values ``v_1 … v_n`` (non-finite and missing values dropped)::

    mean = (1/n) Σ_s v_s        std = sqrt( Σ_s (v_s − mean)² / (n − 1) )   (ddof = 1)

``std`` is NaN for a single value (one seed says nothing about the spread), and the formatted
form says so (``0.8120 (1 seed)``). The CLI's group line, the app's tables and charts and the
notebooks all summarize through :func:`summarize` / :func:`summarize_frame`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["SeedSummary", "summarize", "summarize_frame", "DDOF"]

DDOF = 1  # sample standard deviation over seeds


@dataclass(frozen=True)
class SeedSummary:
    """``mean``, ``std`` (ddof = 1; NaN for fewer than two values) and ``n`` values."""

    mean: float
    std: float
    n: int

    def format(self, digits: int = 4, scale: float = 1.0) -> str:
        """``"m ± s"`` (values times ``scale``); ``"m (1 seed)"`` for one value, ``"—"`` for none."""
        if self.n == 0:
            return "—"
        mean = _fixed(self.mean * scale, digits)
        if self.n < 2:
            return f"{mean} (1 seed)"
        return f"{mean} ± {_fixed(self.std * scale, digits)}"

    def __str__(self) -> str:
        return self.format()


def _fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals; a value that rounds to zero is ``0.000``, never ``-0.000``."""
    text = f"{x:.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0 else text


def _finite(values: Iterable[Any]) -> np.ndarray:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return np.asarray(out, dtype=np.float64)


def summarize(values: Iterable[Any]) -> SeedSummary:
    """Mean ± std (ddof = 1) of the finite numbers among ``values`` (None, NaN, text dropped)."""
    v = _finite(values)
    if v.size == 0:
        return SeedSummary(math.nan, math.nan, 0)
    std = float(v.std(ddof=DDOF)) if v.size > DDOF else math.nan
    return SeedSummary(float(v.mean()), std, int(v.size))


def summarize_frame(frame: Any, by: Sequence[str], columns: Sequence[str]) -> Any:
    """Per group of ``by``: ``<col> mean``, ``<col> std`` (ddof = 1) and ``<col> n`` for each of
    ``columns`` (a pandas DataFrame, groups in order of appearance)."""
    import pandas as pd

    rows = []
    for key, part in frame.groupby(list(by), sort=False, dropna=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for col in columns:
            s = summarize(part[col])
            row.update({f"{col} mean": s.mean, f"{col} std": s.std, f"{col} n": s.n})
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, *[f"{c} {x}" for c in columns for x in ("mean", "std", "n")]])
