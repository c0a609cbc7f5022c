"""Page 5 — solver race (paper Table 1): EM vs projected gradient descent on the y-step of eq. 11, with
the certified exact y-step beside them; every gap is certified (no reference optimum needed)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ccel_core.experiments.race import default_pgd_lrs
from ccel_core.plots import solver_race_figure
from explorer import cached
from explorer import common as ui
from explorer.common import Param

PAGE = "sr"
D = cached.RACE_DEFAULTS
SPECS = {
    "n": Param(D["n"], 10, 100_000),
    "k": Param(D["k"], 2, 500),
    "lam": Param(D["lam"], 0.01, 10_000.0),
    "iters": Param(D["iters"], 10, 5000),
    "lrs": Param(""),
    "seed": Param(D["seed"], 0, 10_000),
    "ip": Param(D["ip"]),
}

TITLE = "Solver race: EM vs projected gradient, and the exact y-step"
CAPTION = "The y-step of eq. 11, min over Y of mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ), for fixed predictions σ = softmax(3z), z ~ N(0, 1)^(N×K). EM (paper section 4), EM with SQUAREM extrapolation (same fixed point, several times fewer EM steps) and PGD at several step sizes η, all from Y⁰ = σ, and ccel's exact y-step (an interior-point method, the trainer's default). Every gap is **certified**: (L(Yᵗ) − D(c))/L(Yᵗ) with D the dual of the y-step at c = λu/ȳ — an upper bound on the true gap from Yᵗ alone. The first three metrics compare the paper's plain EM with PGD (Table 1's claim)."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

with st.form("race"):
    c = st.columns(4)
    c[0].number_input("points N", 10, 100_000, step=500, key=k("n"))
    c[1].number_input("classes K", 2, 500, step=1, key=k("k"))
    c[2].number_input("λ (fairness weight)", 0.01, 10_000.0, step=10.0, key=k("lam"))
    c[3].number_input("iterations per solver", 10, 5000, step=50, key=k("iters"))
    d = st.columns([3, 1, 2])
    d[0].text_input("PGD step sizes η (blank: 0.5, 1 and 2 × 1/(λK))", key=k("lrs"), placeholder="e.g. 0.0005, 0.001")
    d[1].number_input("seed", 0, 10_000, key=k("seed"))
    d[2].checkbox("Also solve by a generic interior point (CVXPY + Clarabel; N·K ≤ 60 000) as a check", key=k("ip"))
    st.form_submit_button("Run race", type="primary", icon=":material/play_arrow:")
ui.write_url(PAGE, SPECS)

n, kk, lam = int(ui.value(PAGE, "n")), int(ui.value(PAGE, "k")), float(ui.value(PAGE, "lam"))
iters, seed, ip = int(ui.value(PAGE, "iters")), int(ui.value(PAGE, "seed")), bool(ui.value(PAGE, "ip"))
with ui.shown_errors():
    text = str(ui.value(PAGE, "lrs")).strip()
    lrs = ui.parse_floats(text, "PGD step sizes") if text else None
    if lrs is not None and min(lrs) <= 0:
        raise ValueError(f"PGD step sizes must be > 0, got {', '.join(f'{v:g}' for v in lrs)}")
    shown = lrs if lrs is not None else default_pgd_lrs(kk, lam)
    with st.spinner(f"Racing the exact y-step, EM and {len(shown)} PGD step sizes on N = {n}, K = {kk} …"):
        race = cached.solver_race(n, kk, lam, iters, lrs, seed, ip)
    summary = race.summary

    em = summary[summary["method"] == "EM"].iloc[0]
    pgd = summary[summary["method"].str.startswith("PGD")]
    level = 0.01
    best = pgd.sort_values(f"sec@{level:g}").iloc[0]
    reached = lambda row: not np.isnan(row[f"sec@{level:g}"])  # noqa: E731
    m = st.columns(4)
    m[0].metric(
        f"EM to certified gap {level:g}",
        f"{em[f'sec@{level:g}']:.3f} s" if reached(em) else "not reached",
        help=f"{em[f'iters@{level:g}']:.0f} iterations" if reached(em) else f"within {iters} iterations",
    )
    m[1].metric(
        f"best PGD to certified gap {level:g}",
        f"{best[f'sec@{level:g}']:.3f} s" if reached(best) else "not reached",
        help=f"{best['method']}, {best[f'iters@{level:g}']:.0f} iterations"
        if reached(best)
        else f"no step size within {iters} iterations",
    )
    if reached(em) and reached(best):
        speedup = f"× {best[f'sec@{level:g}'] / em[f'sec@{level:g}']:.1f}"
    elif reached(em):
        budget = race.trace[race.trace["method"].str.startswith("PGD")].groupby("method")["seconds"].max().max()
        speedup = f"> × {budget / em[f'sec@{level:g}']:.1f}"
    else:
        speedup = "—"
    m[2].metric(f"PGD time / EM time (gap {level:g})", speedup)
    ex = summary[summary["method"] == "exact"].iloc[0]
    m[3].metric(
        "exact y-step to certified 1e-9",
        f"{ex['sec@1e-09']:.3f} s" if not np.isnan(ex["sec@1e-09"]) else "not reached",
        help=f"{ex['iters@1e-09']:.0f} interior-point / face iterations; "
        f"optimum L* = {race.reference:.10g} ({race.reference_source})",
    )

    for column, x in zip(st.columns(2), ("iteration", "seconds")):
        with column:
            figure = solver_race_figure(race.trace, x, y="certified", title=f"Certified gap per {x.rstrip('s')}")
            ui.chart(figure, race.trace, "race_trace", key=f"sr-{x[:4]}", height=420)
    ui.chart(
        solver_race_figure(race.trace, "iteration", y="loss", title="Objective L(Yᵗ) per iteration", y_title="L(Yᵗ)"),
        race.trace,
        "race_trace",
        key="sr-loss",
        height=380,
    )

    st.markdown(
        "**Iterations and seconds to reach each certified gap** (blank: not reached within the budget; "
        "`stop_*`: the paper's stopping rule, relative change < 1e-5, with the certified gap there)"
    )
    st.dataframe(summary, hide_index=True, width="stretch")
    ui.table_download(summary, "race_summary", "Summary CSV")
    st.caption(
        f"Optimum: {race.reference_source}. PGD step sizes: "
        f"{', '.join(f'{v:.3g}' for v in shown)}; steps above ≈ 2/(λK) = {2 / (lam * kk):.3g} oscillate."
    )
