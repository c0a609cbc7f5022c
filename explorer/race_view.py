"""What the Solver race page shows of finished races — metrics, tables, warnings and figures —
derived once per set of races (:func:`explorer.cached.of_races`) and shared by every session (read
only): a rerun of the page only draws. Also built by the server's warm-up for the default view."""

from __future__ import annotations

from typing import Any

from ccel_core.experiments.race import (
    EXACT,
    EXACT_LEVEL,
    HEADLINE_LEVEL,
    Ratio,
    best_pgd,
    race_table,
    race_warnings,
    reach,
)
from ccel_core.experiments.race_sweep import (
    sweep_chart_frame,
    sweep_detail,
    sweep_frame,
    sweep_ratios,
    sweep_table,
    sweep_warnings,
)
from ccel_core.plots import solver_race_figure
from explorer.cached import frozen

LEVEL = HEADLINE_LEVEL


def sweep(races: list[Any], ks: tuple[int, ...]) -> dict[str, Any]:
    """What the sweep view shows of finished races (one per K), derived once (:func:`explorer.cached.of_races`)."""
    by_k = dict(zip(ks, races))
    frame = sweep_frame(by_k)
    chart = sweep_chart_frame(frame, LEVEL)
    title = f"Seconds to a certified gap of {LEVEL:g} (exact: to {EXACT_LEVEL:g})"
    return {
        "races": races,
        "ratios": sweep_ratios(by_k, LEVEL),
        "exact": reach(by_k[max(ks)], EXACT, EXACT_LEVEL),
        "warnings": sweep_warnings(by_k, LEVEL),
        "table": sweep_table(by_k),
        "frame": frame,
        "figure": frozen(solver_race_figure(chart, "k", title=title).update_layout(height=420)),
        "traces": {
            kk: frozen(
                solver_race_figure(
                    r.trace,
                    "seconds",
                    y="certified",
                    title=f"Certified gap per second, K = {kk}",
                    max_points=1500,
                    log_x=True,
                ).update_layout(height=400)
            )
            for kk, r in by_k.items()
        },
        "detail": sweep_detail(by_k),
    }


def single(races: list[Any]) -> dict[str, Any]:
    """What the one-K view shows of a finished race, derived once (:func:`explorer.cached.of_races`)."""
    (race,) = races
    em_r = reach(race, "EM", LEVEL)
    best, name = best_pgd(race, LEVEL)
    out: dict[str, Any] = {
        "race": race,
        "em": em_r,
        "best": best,
        "name": name,
        "exact": reach(race, EXACT, EXACT_LEVEL),
        "ratio": Ratio.of(best, em_r).text,
        "iter_ratio": Ratio.of(best_pgd(race, LEVEL, by="iters")[0], em_r, "iters").text,
        "warnings": race_warnings(race, LEVEL),
        "table": race_table(race),
    }
    # log x: the exact y-step stops after ~10–20 iterations, EM after hundreds, PGD after thousands; the
    # legend below the chart, where the many PGD step sizes do not narrow it (K = 200: 40 % of the width)
    below = dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0)
    for x in ("iteration", "seconds"):
        fig = solver_race_figure(
            race.trace, x, y="certified", title=f"Certified gap per {x.rstrip('s')}", max_points=2000, log_x=True
        )
        out[x] = frozen(fig.update_layout(height=460, legend=below))
    fig = solver_race_figure(
        race.trace,
        "iteration",
        y="loss",
        title="Objective L(Yᵗ) per iteration",
        y_title="L(Yᵗ)",
        max_points=2000,
        log_x=True,
    )
    out["loss"] = frozen(fig.update_layout(height=420, legend=below))
    return out
