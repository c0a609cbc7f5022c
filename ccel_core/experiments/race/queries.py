"""Questions asked of a finished race: when a method reached a level (:func:`reach`), the best PGD
step size (:func:`best_pgd`), where a run diverged (:func:`divergence`), and what went wrong, in
sentences (:func:`race_warnings`)."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ...solvers._common import format_gap
from .bounds import Reach, format_iterations, format_seconds
from .problem import EXACT, HEADLINE_LEVEL, STEP_LIMIT
from .result import RaceResult

__all__ = ["best_pgd", "divergence", "race_warnings", "reach"]


def reach(race: RaceResult, method: str, level: float) -> Reach:
    """When ``method`` first reached the certified gap ``level`` in ``race`` (or its budget)."""
    run = race.run(method)
    gap = run["certified"].to_numpy(dtype=float)
    hit = np.flatnonzero(gap <= level)
    if hit.size:
        i = hit[0]
        return Reach(float(run["seconds"].iloc[i]), int(run["iteration"].iloc[i]), True)
    outcome = race.outcomes.get(method, "budget")
    last_sec, last_it = float(run["seconds"].iloc[-1]), int(run["iteration"].iloc[-1])
    if outcome == "diverged" or not math.isfinite(float(run["loss"].iloc[-1])):
        return Reach(last_sec, last_it, False, diverged=True)
    if outcome == "reached" and race.gap_stop is not None and level < race.gap_stop:
        return Reach(last_sec, last_it, False, stopped_at=race.gap_stop)
    return Reach(last_sec, last_it, False)


def best_pgd(race: RaceResult, level: float, by: str = "seconds") -> tuple[Reach, Optional[str]]:
    """The best PGD step size's :class:`Reach` at ``level`` and its name (None for a bound).

    The best step is the fastest of those that reached the level, unless a step that did not reach it
    ran out of budget sooner: then only a lower bound is known (the smallest such budget). Diverged
    steps are left out; when every step diverged the result says so.
    """
    runs = [(m, reach(race, m, level)) for m in race.pgd_methods]
    stable = [(m, r) for m, r in runs if not r.diverged]
    if not stable:
        last = max((r.seconds for _, r in runs), default=0.0)
        return Reach(last, 0, False, diverged=True), None
    key = (lambda mr: mr[1].seconds) if by == "seconds" else (lambda mr: mr[1].iters)
    hits = [mr for mr in stable if mr[1].reached]
    open_ = [mr for mr in stable if not mr[1].reached]
    if hits:
        m, r = min(hits, key=key)
        if not open_ or key((m, r)) <= min(key(mr) for mr in open_):
            return r, m
    m, r = min(open_, key=key)
    return r, None


def divergence(race: RaceResult, method: str) -> tuple[int, float, float]:
    """``(iteration, start loss, loss there)`` where a diverged run's loss first rose above its
    start or stopped being finite (else its last iteration)."""
    run = race.run(method)
    loss = run["loss"].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(loss) | (loss > loss[0]))
    i = int(bad[0]) if bad.size else len(loss) - 1
    return int(run["iteration"].iloc[i]), float(loss[0]), float(loss[i])


def _loss_text(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "a non-finite value"


def race_warnings(race: RaceResult, level: float = HEADLINE_LEVEL, *, where: str = "") -> list[str]:
    """What went wrong in ``race``, one sentence each: diverged PGD steps, the budget running out
    before ``level`` (EM, or every PGD step), the exact y-step or the interior-point check failing.
    ``where``: appended to name the race (e.g. ``" at K = 200"``)."""
    out = []
    limit = 2.0 / (race.lam * race.k)
    for m in race.pgd_methods:
        if race.outcomes.get(m) == "diverged" or not math.isfinite(float(race.run(m)["loss"].iloc[-1])):
            it, start, there = divergence(race, m)
            out.append(
                f"{m} diverged{where}: its loss went from {start:.4g} to {_loss_text(there)} by iteration {it} "
                f"({STEP_LIMIT}; here 2/(λK) = {limit:.3g}). It is left out of the best PGD, and "
                "its curves are clipped where they leave the charts."
            )
    em_reach = reach(race, "EM", level) if "EM" in race.methods else None
    if em_reach is not None and em_reach.bound:
        out.append(
            f"EM did not reach the certified gap {level:g}{where} within its budget "
            f"({format_iterations(race.max_iter)}): its times there are lower bounds, so PGD / EM is an upper bound."
        )
    if race.pgd_methods:
        best, _ = best_pgd(race, level)
        if best.bound:
            budget = (
                f"{format_seconds(race.pgd_seconds)} or {format_iterations(race.pgd_max_iter)}"
                if race.pgd_seconds is not None
                else format_iterations(race.pgd_max_iter)
            )
            out.append(
                f"No PGD step size reached the certified gap {level:g}{where} within its budget ({budget} each): "
                f'its time is a lower bound ("> …"), and so is PGD / EM.'
            )
    ex = race.run(EXACT)["certified"].to_numpy(dtype=float) if EXACT in race.methods else None
    if ex is not None and not (ex[-1] <= race.exact_tol * 10):
        out.append(
            f"The exact y-step stopped at a certified gap of {format_gap(float(ex[-1]))}{where}, above its target "
            f"{race.exact_tol:g}: the reference optimum is only that accurate."
        )
    if race.interior_point is not None and race.interior_value is None:
        out.append(
            f"The interior-point check (CVXPY + Clarabel) did not solve the problem{where}: {race.interior_point}. "
            "The race does not depend on it: every gap is certified by the dual of the y-step."
        )
    return out
