"""The result of a race: every solver's trace with the reference it is measured against
(:class:`RaceResult`), and its summary in numbers (:func:`summarize_race`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .problem import GAP_LEVELS, PAPER_STOP

__all__ = ["RaceResult", "summarize_race"]


@dataclass
class RaceResult:
    """Traces of every solver plus the reference they are measured against.

    ``outcomes`` says how each run ended (``"reached"`` its gap target, ran out of its
    ``"budget"``, or ``"diverged"``); ``pgd_max_iter`` / ``pgd_seconds`` are each PGD run's budget
    (seconds None: iterations only); ``interior_point`` the CVXPY + Clarabel status when that check
    was asked for.
    """

    trace: pd.DataFrame  # method, iteration, seconds, loss, gap, certified
    reference: float
    reference_source: str
    n: int
    k: int
    lam: float
    outcomes: dict[str, str] = field(default_factory=dict)
    pgd_lrs: tuple[float, ...] = ()
    max_iter: int = 0
    pgd_max_iter: int = 0
    pgd_seconds: Optional[float] = None
    gap_stop: Optional[float] = None
    exact_tol: float = 1e-10
    interior_point: Optional[str] = None
    interior_value: Optional[float] = None

    @property
    def summary(self) -> pd.DataFrame:
        return summarize_race(self.trace)

    @property
    def methods(self) -> list[str]:
        return [str(m) for m in pd.unique(self.trace["method"].to_numpy(dtype=object))]

    @property
    def pgd_methods(self) -> list[str]:
        return [m for m in self.methods if str(m).startswith("PGD")]

    def run(self, method: str) -> pd.DataFrame:
        """The trace rows of ``method``, by iteration."""
        part = self.trace[self.trace["method"] == method]
        if part.empty:
            raise KeyError(f"no method {method!r} in this race (have {self.methods})")
        return part.sort_values("iteration")


def summarize_race(
    trace: pd.DataFrame, levels: Sequence[float] = GAP_LEVELS, paper_stop: float = PAPER_STOP, column: str = "certified"
) -> pd.DataFrame:
    """Per method: iterations/seconds until ``column`` (the certified gap, or ``"gap"``) is ≤ each
    level, and at the paper-style stop. Missing values (NaN) mean not reached within the budget.
    """
    rows = []
    for method, g in trace.groupby("method", sort=False):
        g = g.sort_values("iteration")
        row: dict[str, object] = {"method": method}
        gap = g[column].to_numpy()
        for level in levels:
            hit = np.flatnonzero(gap <= level)
            row[f"iters@{level:g}"] = int(g["iteration"].iloc[hit[0]]) if hit.size else np.nan
            row[f"sec@{level:g}"] = float(g["seconds"].iloc[hit[0]]) if hit.size else np.nan
        loss = g["loss"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            change = np.abs(np.diff(loss)) / np.abs(loss[:-1])
        stop = np.flatnonzero(np.isfinite(change) & (change < paper_stop))
        if stop.size:
            i = stop[0] + 1
            row.update({"stop_iters": int(i), "stop_sec": float(g["seconds"].iloc[i]), "stop_gap": float(gap[i])})
        else:
            row.update({"stop_iters": np.nan, "stop_sec": np.nan, "stop_gap": np.nan})
        row["final_gap"] = float(gap[-1])
        row["sec_per_iter"] = float(g["seconds"].iloc[-1] / max(len(g) - 1, 1))
        rows.append(row)
    return pd.DataFrame(rows)
