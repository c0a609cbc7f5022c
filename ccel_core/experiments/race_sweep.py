"""Paper Table 1's shape in seconds: the solver race swept over K, for the explorer's race page.

:func:`budgeted_race` runs one race with a PGD budget counted in EM steps (load-independent),
:func:`race_sweep` one per K; the ``sweep_*`` tables and :func:`sweep_ratios` summarize them with
bounds (``"> x"``) where a solver did not reach a level (:class:`~ccel_core.experiments.race.Reach`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .race import (
    ACCELERATED,
    EXACT,
    EXACT_LEVEL,
    HEADLINE_LEVEL,
    Progress,
    RaceResult,
    Ratio,
    Reach,
    best_pgd,
    format_gap,
    race_problem,
    race_table,
    race_warnings,
    reach,
    solver_race,
)

__all__ = [
    "SWEEP_LEVELS",
    "SWEEP_DEFAULTS",
    "budgeted_race",
    "race_sweep",
    "pgd_gap_at",
    "sweep_chart_frame",
    "sweep_detail",
    "sweep_frame",
    "sweep_ratios",
    "sweep_table",
    "sweep_warnings",
]

SWEEP_LEVELS = (1e-2, 1e-3, 1e-6)  # the levels of the K sweep (EM, EM + SQUAREM and PGD stop at the last)

# The explorer's K sweep, chosen by measurement on a 2-core CPU: N = 300 points keep K = 200 below the
# 2·10⁵ entries where the numba kernels go parallel; 1200 EM steps let plain EM reach a certified 1e-2
# (≈ 900–1000 steps at every K); PGD at 1.5 and 2 × 1/(λK), at the stability limit ≈ 2/(λK) (larger
# steps diverge, 2/(λK) itself does at K = 200; smaller steps are proportionally slower), each with 4 × the EM
# steps plain EM needed for 1e-2. Most of the time goes to K = 200's PGD and its certificates.
SWEEP_DEFAULTS: dict[str, object] = {
    "n": 300,
    "ks": (2, 20, 200),
    "lam": 100.0,
    "em_iters": 1200,
    "pgd_budget": 4.0,
    "pgd_step_factors": (1.5, 2.0),
    "seed": 0,
}


def budgeted_race(
    n: int,
    k: int,
    lam: float = 100.0,
    *,
    em_iters: int = 1200,
    pgd_budget: float = 4.0,
    pgd_step_factors: Sequence[float] = (1.5, 2.0),
    pgd_lrs: Optional[Sequence[float]] = None,
    pgd_max_iter: Optional[int] = None,
    gap_stop: Optional[float] = SWEEP_LEVELS[-1],
    seed: int = 0,
    interior_point: bool = False,
    progress: Optional[Progress] = None,
) -> RaceResult:
    """The race on :func:`race_problem` ``(n, k, seed)`` with the sweep's budgets: EM and EM +
    SQUAREM ``em_iters`` steps, each PGD step (``pgd_lrs``, default ``pgd_step_factors`` × 1/(λK))
    ``pgd_budget`` × the EM steps plain EM needed for a certified 1e-2 gap (all ``em_iters`` when
    it did not get there; at most ``pgd_max_iter`` when given); every solver stops at the certified
    gap ``gap_stop``. Sparse certificates and the CPU clock (``solver_race(sparse_certificates=True,
    cpu_clock=True)``)."""
    if pgd_budget <= 0 or em_iters < 1:
        raise ValueError(f"budgets must be positive, got pgd_budget={pgd_budget}, em_iters={em_iters}")
    lrs = tuple(pgd_lrs) if pgd_lrs is not None else tuple(f / (lam * k) for f in pgd_step_factors)
    if not lrs or min(lrs) <= 0:
        raise ValueError(f"PGD step sizes must be > 0, got {lrs}")
    race = partial(solver_race, sparse_certificates=True, cpu_clock=True, gap_stop=gap_stop, progress=progress)
    budgets = partial(race, max_iter=em_iters, pgd_max_iter=pgd_max_iter, pgd_iters_factor=pgd_budget)
    return budgets(race_problem(n, k, seed=seed), lam, pgd_lrs=lrs, use_interior_point=interior_point)


def race_sweep(
    n: int = 300,
    ks: Sequence[int] = (2, 20, 200),
    lam: float = 100.0,
    *,
    progress: Optional[Progress] = None,
    **budgets,
) -> dict[int, RaceResult]:
    """:func:`budgeted_race` for every K in ``ks`` (``budgets``: its keyword arguments);
    ``progress(fraction, text)`` over the whole sweep."""
    out: dict[int, RaceResult] = {}
    for i, k in enumerate(ks):
        step = None
        if progress is not None:
            step = lambda f, text, i=i, k=k: progress((i + f) / len(ks), f"K = {k}: {text}")  # noqa: E731
        out[int(k)] = budgeted_race(n, int(k), lam, progress=step, **budgets)
    return out


def pgd_gap_at(race: RaceResult, seconds: float) -> float:
    """The smallest certified gap any non-diverged PGD step had reached within ``seconds`` (inf when
    every step diverged)."""
    best = math.inf
    for m in race.pgd_methods:
        if reach(race, m, 0.0).diverged:
            continue
        run = race.run(m)
        gaps = run["certified"].to_numpy(dtype=float)[run["seconds"].to_numpy(dtype=float) <= seconds]
        gaps = gaps[~np.isnan(gaps)]  # sparse certificates: only some iterates have one
        if gaps.size:
            best = min(best, float(gaps.min()))
    return best


def _headline(race: RaceResult, level: float) -> dict[str, Reach]:
    got = {"EM": reach(race, "EM", level), "best PGD": best_pgd(race, level)[0]}
    if ACCELERATED in race.methods:
        got[ACCELERATED] = reach(race, ACCELERATED, level)
    return got


def sweep_frame(races: Mapping[int, RaceResult], levels: Sequence[float] = SWEEP_LEVELS) -> pd.DataFrame:
    """One row per (K, method, level): ``seconds``, ``iterations`` (the first iterate at the level,
    or the budget spent), ``reached``, ``bound`` (a lower bound), ``diverged`` and the cell ``text``.
    Methods: every run of the race, plus ``best PGD`` (:func:`best_pgd`); the exact y-step also at
    1e-9."""
    rows = []
    for k, race in races.items():
        for level in (*levels, EXACT_LEVEL):
            got = {m: reach(race, m, level) for m in race.methods} if level in levels else {}
            if level in levels and race.pgd_methods:
                best, name = best_pgd(race, level)
                got["best PGD"] = best
            if level == EXACT_LEVEL:
                got[EXACT] = reach(race, EXACT, level)
            for m, r in got.items():
                rows.append(
                    {
                        "k": int(k),
                        "n": race.n,
                        "lam": race.lam,
                        "method": m,
                        "level": level,
                        "seconds": r.seconds,
                        "iterations": r.iters,
                        "reached": r.reached,
                        "bound": r.bound,
                        "diverged": r.diverged,
                        "text": r.text,
                    }
                )
    return pd.DataFrame(rows)


def sweep_chart_frame(frame: pd.DataFrame, level: float = HEADLINE_LEVEL) -> pd.DataFrame:
    """The rows of :func:`sweep_frame` behind the sweep's chart: EM, EM + SQUAREM and the best PGD
    at ``level`` and the exact y-step at 1e-9 (renamed ``exact (to 1e-09)``), where each has a number
    (reached, or a lower bound; not diverged)."""
    head = frame[(frame["level"] == level) & frame["method"].isin(["EM", ACCELERATED, "best PGD"])]
    ex = frame[(frame["level"] == EXACT_LEVEL) & (frame["method"] == EXACT)].assign(
        method=f"{EXACT} (to {EXACT_LEVEL:g})"
    )
    out = pd.concat([ex, head], ignore_index=True)  # the races' order: the same colors as their charts
    return out[out["reached"] | out["bound"]].reset_index(drop=True)


def sweep_ratios(races: Mapping[int, RaceResult], level: float = HEADLINE_LEVEL) -> dict[int, dict[str, Ratio]]:
    """Per K: ``time`` = best PGD / EM in seconds, ``iterations`` = in iterations, and ``squarem`` =
    best PGD / EM + SQUAREM in seconds, at the certified gap ``level``."""
    out = {}
    for k, race in races.items():
        em_r = reach(race, "EM", level)
        ratios = {
            "time": Ratio.of(best_pgd(race, level)[0], em_r),
            "iterations": Ratio.of(best_pgd(race, level, by="iters")[0], em_r, "iters"),
        }
        if ACCELERATED in race.methods:
            ratios["squarem"] = Ratio.of(
                best_pgd(race, level)[0], reach(race, ACCELERATED, level), names=("PGD", ACCELERATED)
            )
        out[int(k)] = ratios
    return out


def sweep_table(races: Mapping[int, RaceResult], levels: Sequence[float] = SWEEP_LEVELS) -> pd.DataFrame:
    """The K sweep as text, one row per K (Table 1's shape): EM and the best PGD step to the first
    two levels, PGD / EM in time and in iterations and the best PGD's gap at EM's time at the first,
    EM + SQUAREM to the last level and the exact y-step to 1e-9 (:func:`sweep_detail`: every run at
    every level). ``> …``: not reached within the budget (a lower bound)."""
    ratios = sweep_ratios(races, levels[0])
    rows = []
    for k, race in races.items():
        row: dict[str, str] = {"K": f"{int(k):,}"}
        for i, level in enumerate(levels[:2]):
            head = _headline(race, level)
            row[f"EM → {level:g}"] = head["EM"].text
            row[f"best PGD → {level:g}"] = head["best PGD"].text
            if i == 0:
                row["PGD / EM (time)"] = ratios[int(k)]["time"].text
                row["PGD / EM (iterations)"] = ratios[int(k)]["iterations"].text
                em_r = head["EM"]
                if not em_r.reached:
                    row["best PGD's gap at EM's time"] = f"n/a: EM did not reach {level:g}"
                elif race.pgd_methods:
                    row["best PGD's gap at EM's time"] = format_gap(pgd_gap_at(race, em_r.seconds))
        if ACCELERATED in race.methods:
            row[f"EM + SQUAREM → {levels[-1]:g}"] = reach(race, ACCELERATED, levels[-1]).text
        row[f"exact → {EXACT_LEVEL:g}"] = reach(race, EXACT, EXACT_LEVEL).text
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_detail(races: Mapping[int, RaceResult], levels: Sequence[float] = SWEEP_LEVELS) -> pd.DataFrame:
    """Every run of the sweep as text, one row per (K, method): :func:`race_table` with a K column."""
    frames = [race_table(race, levels).assign(K=f"{int(k):,}") for k, race in races.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["K", *[c for c in out.columns if c != "K"]]]


def sweep_warnings(races: Mapping[int, RaceResult], level: float = HEADLINE_LEVEL) -> list[str]:
    """:func:`race_warnings` of every K (each naming its K)."""
    return [w for k, race in races.items() for w in race_warnings(race, level, where=f" at K = {int(k):,}")]
