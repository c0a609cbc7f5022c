"""A race as a text table, one row per method (:func:`race_table`): every cell a string."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from ...solvers._common import format_gap
from .bounds import format_iterations, format_seconds
from .problem import EXACT, EXACT_LEVEL, GAP_LEVELS
from .queries import divergence, reach
from .result import RaceResult

__all__ = ["race_table"]


def race_table(race: RaceResult, levels: Sequence[float] = GAP_LEVELS) -> pd.DataFrame:
    """:func:`summarize_race` as text, one row per method: time and iterations to each certified
    gap level (``> …`` a lower bound: not reached within the budget), the paper-style stop, the final
    certified gap, seconds per iteration and how the run ended. Every cell is a string; none reads
    ``None``, ``nan`` or ``inf``."""
    summary = race.summary.set_index("method")
    rows = []
    for m in race.methods:
        row: dict[str, str] = {"method": str(m)}
        for level in levels:
            row[f"to {level:g}"] = reach(race, m, level).text
        s = summary.loc[m]
        if np.isfinite(s["stop_iters"]):
            row["paper stop (Δ < 1e-5)"] = (
                f"{format_iterations(s['stop_iters'])} · {format_seconds(float(s['stop_sec']))}"
            )
            if not np.isnan(s["stop_gap"]):  # (sparse certificates: that iterate may have none)
                row["paper stop (Δ < 1e-5)"] += f" · gap {format_gap(float(s['stop_gap']))}"
        else:
            row["paper stop (Δ < 1e-5)"] = "not met"
        row["final certified gap"] = format_gap(float(s["final_gap"]))
        row["s / iteration"] = format_seconds(float(s["sec_per_iter"]))
        run = race.run(m)
        outcome = race.outcomes.get(m, "budget")
        if outcome == "diverged" or not math.isfinite(float(run["loss"].iloc[-1])):
            row["ended"] = f"diverged (iteration {divergence(race, m)[0]:,})"
        elif outcome == "reached":
            target = race.exact_tol if m == EXACT else race.gap_stop
            row["ended"] = f"reached {target:g}" if target is not None else "reached its target"
            if m == EXACT and race.exact_tol < EXACT_LEVEL:  # why it runs past the headline level
                row["ended"] += f" (past the {EXACT_LEVEL:g} of the headline: it is the race's reference optimum)"
        elif m == EXACT:
            row["ended"] = f"stopped at {format_gap(float(s['final_gap']))} (target {race.exact_tol:g})"
        else:
            row["ended"] = (
                f"budget: {format_iterations(run['iteration'].iloc[-1])}, {format_seconds(float(run['seconds'].iloc[-1]))}"
            )
        rows.append(row)
    return pd.DataFrame(rows)
