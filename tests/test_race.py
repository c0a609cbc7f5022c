"""The solver race (paper Table 1) with certified gaps and the exact y-step beside EM and PGD."""

from __future__ import annotations

import numpy as np
import pytest

from ccel_core.experiments.race import EXACT, GAP_LEVELS, race_problem, solver_race, summarize_race
from ccel_core.solvers import eq11_loss
from ccel_core.solvers.em import positive_start


@pytest.mark.reference
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
    # the independent check ran; its value is eq. 11 at its own feasible point, so L* ≤ value, and ours
    # (certified to 1e-10) cannot be worse than it beyond that — whatever Clarabel's accuracy on this machine
    assert race.interior_value is not None and "its point certified to" in race.reference_source
    assert race.reference <= race.interior_value + 1e-10 * race.reference
    # … and the two agree to what the dual certifies for the interior point (its own accuracy, not its last digits)
    shown = race.reference_source.split("its point certified to ")[1].split(",")[0].split(";")[0]
    ip_gap = 1e-12 if shown.startswith("<") else float(shown)  # format_gap: "< 1e-12" below the rounding floor
    assert race.interior_value - race.reference <= (ip_gap + 1e-10) * race.interior_value
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


# --------------------------------------------------------------------------------------------------
# budgets and bounds: what the explorer prints
# --------------------------------------------------------------------------------------------------

BAD_WORDS = ("none", "nan", "inf")  # as whole words, any case: "Infinity", "NaN", "None", "inf"


def _clean(cells) -> None:
    """No cell reads None / nan / inf(inity) in any spelling."""
    import re

    for cell in cells:
        assert isinstance(cell, str), cell
        words = re.findall(r"[a-z]+", cell.lower())
        assert not [w for w in words if w in BAD_WORDS or w.startswith("infinit")], cell


def _toy_race(outcomes=None):
    """A hand-made race: EM reaches 1e-2 at it 2 (0.2 s); PGD a at it 3 (0.9 s); PGD b stops after
    4 iterations (1.2 s) at 0.05; PGD c diverges."""
    import pandas as pd

    from ccel_core.experiments.race import RaceResult

    def run(name, secs, cert, loss):
        return pd.DataFrame(
            {
                "method": name,
                "iteration": range(len(secs)),
                "seconds": secs,
                "loss": loss,
                "gap": cert,
                "certified": cert,
            }
        )

    trace = pd.concat(
        [
            run(EXACT, [0.0, 0.01, 0.02], [1.0, 1e-5, 1e-11], [2.0, 1.0, 1.0]),
            run("EM", [0.0, 0.1, 0.2, 0.3], [1.0, 0.1, 0.009, 0.005], [2.0, 1.5, 1.1, 1.05]),
            run("PGD η=0.01", [0.0, 0.3, 0.6, 0.9], [1.0, 0.5, 0.1, 0.008], [2.0, 1.8, 1.4, 1.08]),
            run("PGD η=0.02", [0.0, 0.3, 0.6, 0.9, 1.2], [1.0, 0.4, 0.2, 0.1, 0.05], [2.0, 1.7, 1.5, 1.3, 1.2]),
            run("PGD η=0.5", [0.0, 0.3, 0.6], [1.0, 5.0, np.inf], [2.0, 9.0, np.inf]),
        ],
        ignore_index=True,
    )
    default = {
        EXACT: "reached",
        "EM": "budget",
        "PGD η=0.01": "budget",
        "PGD η=0.02": "budget",
        "PGD η=0.5": "diverged",
    }
    return RaceResult(
        trace, 1.0, "toy", 10, 3, 100.0, outcomes=outcomes or default, max_iter=3, pgd_max_iter=4, gap_stop=None
    )


def test_reach_is_a_time_or_a_lower_bound_and_says_which():
    from ccel_core.experiments.race import reach

    race = _toy_race()
    em = reach(race, "EM", 1e-2)
    assert em.reached and em.iters == 2 and em.seconds == 0.2 and em.text == "0.2 s · 2 it"
    bound = reach(race, "PGD η=0.02", 1e-2)
    assert bound.bound and not bound.reached and (bound.seconds, bound.iters) == (1.2, 4)
    assert bound.text == "> 1.2 s · > 4 it" and bound.seconds_text == "> 1.2 s" and bound.iters_text == "> 4 it"
    gone = reach(race, "PGD η=0.5", 1e-2)
    assert gone.diverged and not gone.bound and gone.text == "diverged"
    assert reach(race, EXACT, 1e-12).bound  # exact never got to 1e-12 within its run: a bound
    race.gap_stop, race.outcomes["EM"] = 1e-2, "reached"  # EM stopped on reaching its target 1e-2 …
    short = reach(race, "EM", 1e-3)  # … so 1e-3 was not tried: neither a time nor a bound
    assert short.stopped_at == 1e-2 and not short.bound and short.text == "not run (stopped at 0.01)"


def test_ratios_are_numbers_or_bounds_rounded_the_safe_way():
    from ccel_core.experiments.race import Ratio, Reach, format_seconds

    em = Reach(0.1, 100, True)
    assert Ratio.of(Reach(0.35, 300, True), em).text == "3.5×"
    assert Ratio.of(Reach(0.35, 300, True), em, "iters").text == "3×"
    low = Ratio.of(Reach(0.806, 900, False), em)  # PGD ran out of budget at 0.806 s: > 8.06×
    assert low.kind == ">" and low.text == "> 8×"  # rounded down: still a true lower bound
    assert Ratio.of(Reach(1.29, 900, False), em).text == "> 12×"
    high = Ratio.of(Reach(0.0451, 50, True), Reach(0.1, 100, False))  # EM ran out: < 0.451×
    assert high.kind == "<" and high.text == "< 0.46×"  # rounded up
    assert Ratio.of(Reach(1.0, 9, False), Reach(1.0, 9, False)).text.startswith("n/a: neither reached")
    assert "diverged" in Ratio.of(Reach(1.0, 9, False, diverged=True), em).text
    assert (
        format_seconds(0.00086) == "0.86 ms"
        and format_seconds(0.1234) == "0.123 s"
        and format_seconds(123.4) == "123 s"
    )
    with pytest.raises(ValueError):
        format_seconds(float("nan"))


def test_best_pgd_is_exact_only_when_no_slower_budget_could_hide_a_faster_step():
    from ccel_core.experiments.race import best_pgd

    race = _toy_race()
    best, name = best_pgd(race, 1e-2)  # η=0.01 reached at 0.9 s, before η=0.02's budget (1.2 s) ran out
    assert name == "PGD η=0.01" and best.reached and best.seconds == 0.9
    best, name = best_pgd(race, 1e-3)  # nobody reached it: a bound, the smallest budget (0.9 s)
    assert name is None and best.bound and best.seconds == 0.9
    t = race.trace
    slow = t["method"].eq("PGD η=0.01") & t["iteration"].eq(3)
    t.loc[slow, "seconds"] = 5.0  # now it reached only at 5 s, after η=0.02 stopped at 1.2 s unfinished
    best, name = best_pgd(race, 1e-2)
    assert name is None and best.bound and best.seconds == 1.2


def test_race_table_and_warnings_name_every_failure_without_none_nan_or_inf():
    from ccel_core.experiments.race import race_table, race_warnings

    race = _toy_race()
    race.interior_point = "clarabel failed: SolverError"
    table = race_table(race)
    _clean(table.to_numpy().ravel())
    row = table.set_index("method").loc["PGD η=0.5"]
    assert row["to 0.01"] == "diverged" and row["final certified gap"] == "diverged"
    assert row["ended"].startswith("diverged (iteration 1")
    assert table.set_index("method").loc["PGD η=0.02", "to 0.01"].startswith("> ")
    text = " | ".join(race_warnings(race, 1e-3, where=" at K = 3"))
    assert "PGD η=0.5 diverged at K = 3" in text and "9 by iteration 1" in text
    assert "No PGD step size reached the certified gap 0.001 at K = 3" in text
    assert "EM did not reach the certified gap 0.001" in text
    assert "clarabel failed: SolverError" in text
    at_1e2 = race_warnings(_toy_race(), 1e-2)  # EM and PGD η=0.01 got there: only the divergence is left
    assert len(at_1e2) == 1 and "diverged" in at_1e2[0]


def test_a_too_large_pgd_step_is_stopped_as_diverged_and_clipped_in_the_charts():
    from ccel_core.experiments.race import race_table, race_warnings
    from ccel_core.plots import solver_race_figure

    probs = race_problem(200, 5, seed=0)
    race = solver_race(probs, 100.0, pgd_lrs=[0.1, 0.001], max_iter=60, pgd_max_iter=2000)
    assert race.outcomes["PGD η=0.1"] == "diverged" and race.outcomes["PGD η=0.001"] == "budget"
    assert len(race.run("PGD η=0.1")) <= 101  # stopped after its first chunk, not at 2000 steps
    assert "PGD η=0.1 diverged" in race_warnings(race)[0]
    _clean(race_table(race).to_numpy().ravel())
    fig = solver_race_figure(race.trace, "iteration", y="loss", title=None)
    names = [t.name for t in fig.data]
    assert "PGD η=0.1 (diverged)" in names and "PGD η=0.001" in names
    bad = fig.data[names.index("PGD η=0.1 (diverged)")]
    assert np.isfinite(np.asarray(bad.y, dtype=float)).sum() < len(bad.y)  # its ∞ losses are left out
    stable = race.trace[race.trace["method"] != "PGD η=0.1"]["loss"]
    lo, hi = fig.layout.yaxis.range  # the axis fits the stable runs
    assert lo <= stable.min() <= stable.max() <= hi
    toy = solver_race_figure(_toy_race().trace, "iteration", y="loss")  # η=0.5 climbs to 9, then ∞
    lo, hi = toy.layout.yaxis.range
    assert hi < 9.0 and lo <= 1.0 and 2.0 <= hi  # clipped: its blow-up leaves the chart
    thin = solver_race_figure(race.trace, "seconds", y="certified", max_points=20)
    assert max(len(t.x) for t in thin.data) <= 20


def test_pgd_budget_in_em_steps_and_progress_that_can_stop_the_race():
    from ccel_core.experiments.race import HEADLINE_LEVEL, reach
    from ccel_core.experiments.race_sweep import budgeted_race

    seen: list[float] = []
    race = budgeted_race(150, 5, em_iters=1200, pgd_budget=2.0, progress=lambda f, text: seen.append(f))
    em_steps = reach(race, "EM", HEADLINE_LEVEL).iters
    assert race.pgd_max_iter == int(np.ceil(2.0 * em_steps))  # 2 × the EM steps EM needed for 1e-2
    for m in race.pgd_methods:  # every PGD ran to its budget, reached 1e-6 or diverged
        assert race.outcomes[m] in ("budget", "reached", "diverged")
        assert race.run(m)["iteration"].max() <= race.pgd_max_iter
    assert seen and all(0 <= f <= 1 for f in seen) and seen == sorted(seen) and len(seen) > 10

    class Stop(Exception):
        pass

    def stop_soon(fraction: float, text: str) -> None:
        if text.startswith("EM"):
            raise Stop(text)

    with pytest.raises(Stop):  # what a cancelled page does: the race ends, nothing is returned
        budgeted_race(150, 5, em_iters=1200, progress=stop_soon)


def test_k_sweep_summary_shows_table_1s_shape():
    """At K = 2 tuned PGD needs fewer iterations than plain EM; at K = 20 several times more."""
    from ccel_core.experiments.race_sweep import (
        race_sweep,
        sweep_chart_frame,
        sweep_detail,
        sweep_frame,
        sweep_ratios,
        sweep_table,
    )

    races = race_sweep(150, (2, 20), 100.0, em_iters=1200, pgd_budget=4.0)
    ratios = sweep_ratios(races)
    assert ratios[2]["iterations"].kind == "=" and ratios[2]["iterations"].value < 0.5
    assert ratios[20]["iterations"].kind == "=" and ratios[20]["iterations"].value > 2
    assert ratios[2]["time"].kind == ratios[20]["time"].kind == "="
    table = sweep_table(races).set_index("K")
    assert list(table.index) == ["2", "20"]
    assert table.loc["20", "PGD / EM (iterations)"] == ratios[20]["iterations"].text
    assert table.loc["2", "EM → 0.001"].startswith("> ") and "1,200 it" in table.loc["2", "EM → 0.001"]
    assert table.loc["20", "exact → 1e-09"].endswith(" it") and not table.loc["20", "exact → 1e-09"].startswith(">")
    _clean(table.to_numpy().ravel())
    _clean(sweep_detail(races).to_numpy().ravel())
    frame = sweep_frame(races)
    assert set(frame["method"]) >= {EXACT, "EM", "EM + SQUAREM", "best PGD"}
    assert (frame["reached"] & frame["bound"]).sum() == 0
    chart = sweep_chart_frame(frame)
    assert set(chart["method"]) == {"EM", "EM + SQUAREM", "best PGD", "exact (to 1e-09)"} and len(chart) == 8


def test_sparse_certificates_find_the_same_first_iterates():
    """Certifying only the chunks that can hold a level's first certified iterate changes no summary."""
    probs = race_problem(200, 6, seed=2)
    runs = {
        sparse: solver_race(
            probs,
            100.0,
            pgd_lrs=[1.5 / 600, 2 / 600],
            max_iter=1200,
            pgd_max_iter=3000,
            progress=lambda f, text: None,
            sparse_certificates=sparse,
        )
        for sparse in (False, True)
    }
    full, sparse = (runs[s].summary.set_index("method") for s in (False, True))
    cols = [c for c in full.columns if c.startswith("iters@")]
    assert full[cols].fillna(-1).equals(sparse[cols].fillna(-1))
    assert full.loc["EM", "iters@0.01"] > 0 and full.loc["PGD η=0.00333", "iters@0.001"] > 0  # levels were reached
    certified = runs[True].trace["certified"]
    assert certified.isna().mean() > 0.5 and runs[False].trace["certified"].notna().all()
    np.testing.assert_allclose(runs[True].trace["loss"], runs[False].trace["loss"], rtol=1e-12)  # same iterates
