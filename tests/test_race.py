"""The solver race (paper Table 1) with certified gaps and the exact y-step beside EM and PGD."""

from __future__ import annotations

import numpy as np
import pytest

from ccel_core.experiments.race import EXACT, GAP_LEVELS, race_problem, solver_race, summarize_race
from ccel_core.solvers import eq11_loss
from ccel_core.solvers.em import positive_start


def test_race_certifies_every_solver_and_uses_the_exact_optimum():
    probs = race_problem(300, 5, seed=1)
    race = solver_race(probs, 100.0, max_iter=120, use_interior_point=True)
    trace = race.trace
    assert list(dict.fromkeys(trace["method"]))[:3] == [EXACT, "EM", "EM + SQUAREM"]
    assert trace["certified"].notna().all() and (trace["certified"] >= -1e-9).all()
    # the certificate bounds the true gap of every iterate (L* is certified to 1e-10 by the exact run)
    rel_true = (trace["loss"] - race.reference) / trace["loss"]
    assert (trace["certified"] >= rel_true - 1e-9).all()
    ex = trace[trace["method"] == EXACT]
    assert ex["certified"].iloc[-1] <= 1e-10 and race.reference == pytest.approx(ex["loss"].iloc[-1])
    assert "clarabel optimal" in race.reference_source  # the independent check ran …
    value = float(race.reference_source.split("L = ")[1])
    # … and agrees to its own accuracy; it cannot beat an optimum certified to 1e-10
    assert race.reference * (1 - 1e-9) <= value <= race.reference * (1 + 1e-5)
    summary = race.summary.set_index("method")
    assert [f"iters@{v:g}" for v in GAP_LEVELS] == [c for c in summary.columns if c.startswith("iters@")]
    squarem = summary.loc["EM + SQUAREM", "iters@0.01"]  # NaN: not within its 120 steps
    assert summary.loc[EXACT, "iters@1e-09"] <= 40 and (
        np.isnan(squarem) or summary.loc[EXACT, "iters@1e-09"] < squarem
    )
    # the traces are the solvers' own losses: EM's starts at its floored σ start, exact's ends at L*
    em_start = trace[trace["method"] == "EM"]["loss"].iloc[0]
    assert em_start == pytest.approx(eq11_loss(probs, positive_start(probs), 100.0, np.full(5, 0.2)), rel=1e-12)


def test_summary_levels_read_the_chosen_column():
    import pandas as pd

    trace = pd.DataFrame(
        {
            "method": ["a"] * 4,
            "iteration": range(4),
            "seconds": [0.0, 1.0, 2.0, 3.0],
            "loss": [4.0, 3.0, 2.0, 1.0],
            "gap": [1.0, 1e-3, 1e-7, 0.0],
            "certified": [2.0, 1e-2, 1e-4, 1e-10],
        }
    )
    s = summarize_race(trace).iloc[0]
    assert s["iters@0.01"] == 1 and s["iters@0.001"] == 2 and s["iters@1e-06"] == 3 and s["sec@1e-09"] == 3.0
    assert s["final_gap"] == 1e-10
    g = summarize_race(trace, column="gap").iloc[0]
    assert g["iters@1e-06"] == 2 and g["iters@1e-09"] == 3
