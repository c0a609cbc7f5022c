"""Page 5 — solver race (paper Table 1): EM vs projected gradient descent on the y-step of eq. 11, with
the certified exact y-step beside them; every gap is certified (no reference optimum needed).

Two views: the K sweep (Table 1's shape: PGD / EM per K, in seconds) and one K in detail (the curves).
Races are computed with progress and a Stop button (a race is stored only once it has finished);
the numbers and their text — ``> …`` for a level not reached within a budget — come from
:mod:`ccel_core.experiments.race`.
"""

from __future__ import annotations

from typing import Any, Optional

import pandas as pd
import streamlit as st

from ccel_core.experiments.race import (
    EXACT_LEVEL,
    HEADLINE_LEVEL,
    STEP_LIMIT,
)
from explorer import cached, elements, race_view
from explorer import common as ui
from explorer.common import Param
from explorer.progress import Progress, cancellable

PAGE = "sr"
D = cached.RACE_DEFAULTS
VIEWS = {"sweep": "K sweep (paper Table 1)", "single": "One K in detail"}
MAX_KS = 6
SPECS = {
    "view": Param(D["view"], choices=tuple(VIEWS)),
    "n": Param(D["n"], 10, 100_000),
    "ks": Param(", ".join(str(v) for v in D["ks"])),
    "k": Param(D["k"], 2, 500),
    "lam": Param(D["lam"], 0.01, 10_000.0),
    "iters": Param(D["iters"], 10, 20_000),
    "budget": Param(D["budget"], 1.0, 200.0),
    "steps": Param(", ".join(f"{v:g}" for v in D["steps"])),
    "lrs": Param(""),
    "seed": Param(D["seed"], 0, 10_000),
    "ip": Param(D["ip"]),
}
LEVEL = HEADLINE_LEVEL

TITLE = "Solver race: EM vs projected gradient, and the exact y-step"
CAPTION = "The y-step of eq. 11, min over Y of mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ), for fixed predictions σ = softmax(3z), z ~ N(0, 1)^(N×K). EM (paper section 4), EM with SQUAREM extrapolation (same fixed point, several times fewer EM steps) and PGD at fixed step sizes η, all from Y⁰ = σ, and ccel's exact y-step (an interior-point method, the trainer's default). Every gap is **certified**: (L(Yᵗ) − D(c))/L(Yᵗ) with D the dual of the y-step at c = λu/ȳ — an upper bound on the true gap from Yᵗ alone. Paper Table 1: EM reaches a given accuracy far sooner than projected gradient, the more so as K grows."
if ui.key(PAGE, "view") not in st.session_state and "view" not in st.query_params:
    if any(name in st.query_params for name in ("k", "lrs", "ip")):  # a link to one K (as before the sweep)
        st.session_state[ui.key(PAGE, "view")] = "single"
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

st.radio("view", tuple(VIEWS), format_func=VIEWS.get, key=k("view"), horizontal=True, label_visibility="collapsed")
view = str(ui.value(PAGE, "view"))
with st.form("race"):
    c = st.columns([1.2, 1.6, 1.2, 1.2, 1.4, 1.8, 1])
    c[0].number_input("points N", 10, 100_000, step=100, key=k("n"))
    if view == "sweep":
        c[1].text_input(
            f"classes K (≤ {MAX_KS} values)",
            key=k("ks"),
            help=f"one race per K, at most {MAX_KS} values, e.g. 2, 20, 200",
        )
    else:
        c[1].number_input("classes K", 2, 500, step=1, key=k("k"))
    c[2].number_input("λ (fairness weight)", 0.01, 10_000.0, step=10.0, key=k("lam"))
    c[3].number_input(
        "EM steps", 10, 20_000, step=100, key=k("iters"), help="the budget of EM and of EM + SQUAREM (EM steps)"
    )
    c[4].number_input(
        "PGD budget (× EM's steps)",
        1.0,
        200.0,
        step=1.0,
        key=k("budget"),
        help=f"each PGD step size may take this many times the steps plain EM needed for a certified gap of "
        f"{LEVEL:g}: a PGD that does not get there is shown as '> budget' (a lower bound)",
    )
    c[5].text_input(
        "PGD steps × 1/(λK)",
        key=k("steps"),
        help=f"fixed step sizes as multiples of 1/(λK); {STEP_LIMIT}, smaller ones are proportionally slower",
    )
    c[6].number_input("seed", 0, 10_000, key=k("seed"))
    if view == "single":
        d = st.columns([3, 2])
        d[0].text_input("PGD step sizes η (blank: the multiples above)", key=k("lrs"), placeholder="e.g. 0.0005, 0.001")
        d[1].checkbox("Also solve by a generic interior point (CVXPY + Clarabel; N·K ≤ 60 000) as a check", key=k("ip"))
    submitted = st.form_submit_button("Run race", type="primary", icon=":material/play_arrow:")
ui.write_url(PAGE, SPECS)
if submitted:
    st.session_state.pop(k("cancelled"), None)


def table(df: pd.DataFrame, index: str) -> None:
    """The table as plain text cells (:func:`explorer.elements.text_table`): a lower bound such as
    "> 0.8 s" reads as written (``st.table`` reads cells as Markdown, where a leading ``>`` starts a
    block quote)."""
    elements.text_table(df.set_index(index))


def describe(key: tuple) -> str:
    n, kk, lam = key[0], key[1], key[2]
    return f"N = {n:,}, K = {kk}, λ = {lam:g}"


def computed(keys: list[tuple]) -> Optional[list[Any]]:
    """The races for ``keys``: from the store, or computed now behind a progress bar and a Stop
    button; None when this set of races was cancelled (the page says so)."""
    token = tuple(keys)
    missing = [key for key in keys if cached.finished_race(key) is None]
    if missing and st.session_state.get(k("cancelled")) == token:
        st.warning(
            f"Cancelled: the race at {', '.join(describe(key) for key in missing)} was stopped, and nothing of it "
            "was kept (a race is stored only once it has finished). Press **Run race** to start it again.",
            icon=":material/cancel:",
        )
        return None
    if missing:

        def run_all(progress: Progress) -> None:
            for i, key in enumerate(missing):

                def step(f: float, text: str, i: int = i, key: tuple = key) -> None:
                    progress((i + f) / len(missing), f"{describe(key)} ({i + 1} of {len(missing)}) — {text}")

                cached.run_race(key, progress=step)

        cancellable(
            run_all,
            f"Racing at {describe(missing[0])} …",
            flag=k("cancelled"),
            mark=lambda: token,
            key=k("stop"),
            label="Stop the race",
        )
    return [cached.run_race(key) for key in keys]


def key_for(kk: int, lrs: Optional[tuple[float, ...]], ip: bool) -> tuple:
    return cached.race_key(n, kk, lam, iters, budget, steps, lrs, seed, ip)


n, lam, iters = int(ui.value(PAGE, "n")), float(ui.value(PAGE, "lam")), int(ui.value(PAGE, "iters"))
budget, seed = float(ui.value(PAGE, "budget")), int(ui.value(PAGE, "seed"))
with ui.shown_errors():
    steps = ui.parse_floats(str(ui.value(PAGE, "steps")), "PGD steps × 1/(λK)")
    if min(steps) <= 0:
        raise ValueError(f"PGD steps must be > 0, got {', '.join(f'{v:g}' for v in steps)}")

    if view == "sweep":
        ks = ui.parse_ints(str(ui.value(PAGE, "ks")), "classes K", lo=2, hi=500, max_count=MAX_KS)
        ks = tuple(dict.fromkeys(ks))
        keys = [key_for(kk, None, False) for kk in ks]
        if computed(keys) is not None:
            v = cached.of_races(race_view.sweep, tuple(keys), ks)
            m = st.columns(len(ks) + 1)
            for col, kk in zip(m, ks):
                r = v["ratios"][kk]
                col.metric(
                    f"best PGD / EM iterations, K = {kk}",
                    r["iterations"].text,
                    delta=f"{r['time'].text} in time (one run)",
                    delta_color="off",
                    delta_arrow="off",
                    help=f"iterations to a certified gap of {LEVEL:g}, which do not depend on the machine or its load; "
                    "below: seconds, from one wall-clock run of each solver on this machine (a ratio near 1 can "
                    "come out either side of it between runs; the Reproduction page's Table 1 gives times over "
                    "seeds)" + (f"; best PGD / EM + SQUAREM in time: {r['squarem'].text}" if "squarem" in r else ""),
                )
            ex = v["exact"]
            m[-1].metric(
                f"exact y-step to {EXACT_LEVEL:g}, K = {max(ks)}",
                ex.seconds_text,
                help=f"{ex.iters_text} (interior-point and face steps); certified by the dual",
            )
            for text in v["warnings"]:
                st.warning(text, icon=":material/warning:")
            st.markdown(
                f"**Time and iterations to each certified gap, per K** (`> x`: not reached within the budget, so it "
                f"takes longer than x — a lower bound; PGD: the best of its step sizes {', '.join(f'{v:g}' for v in steps)} "
                f"× 1/(λK), each with {budget:g} × the steps EM needed for {LEVEL:g}; EM and EM + SQUAREM: {iters:,} EM steps)"
            )
            table(v["table"], "K")
            ui.chart(v["figure"], v["frame"], "race_sweep", key="sr-sweep")
            tabs = elements.lazy_tabs([f"K = {kk}" for kk in ks], k("ktab"))  # one K's curves drawn at a time
            for tab, kk, race in zip(tabs, ks, v["races"]):
                if tab.open:
                    with tab:
                        ui.chart(v["traces"][kk], race.trace, f"race_trace_k{kk}", key=f"sr-k{kk}")
            st.markdown("**Every run** (how each one ended: its target gap, its budget, or divergence)")
            table(v["detail"], "K")
            ui.table_download(v["frame"], "race_sweep", "Sweep CSV")
            st.caption(
                f"One problem per K (seed {seed}); times are single wall-clock runs on this machine, without the "
                "certificates' own cost — the iteration counts do not depend on the machine or its load. Small N "
                "keeps the sweep to seconds; per iteration the solvers' costs grow with N·K, the iteration counts "
                "hardly change with N (the benchmark `benchmarks/solver_race.py`, N = 10,000, K = 200 with 55× "
                "EM's time: PGD / EM > 52×). Raise the PGD budget to tighten a '>' bound."
            )
    else:
        kk = int(ui.value(PAGE, "k"))
        text = str(ui.value(PAGE, "lrs")).strip()
        lrs = ui.parse_floats(text, "PGD step sizes") if text else None
        if lrs is not None and min(lrs) <= 0:
            raise ValueError(f"PGD step sizes must be > 0, got {', '.join(f'{v:g}' for v in lrs)}")
        ip = bool(ui.value(PAGE, "ip"))
        key = key_for(kk, lrs, ip)
        if computed([key]) is not None:
            v = cached.of_races(race_view.single, (key,))
            race, em_r, best, name, ex = v["race"], v["em"], v["best"], v["name"], v["exact"]
            m = list(st.columns(4))
            m[0].metric(f"EM to certified gap {LEVEL:g}", em_r.seconds_text, help=em_r.iters_text)
            m[1].metric(
                f"best PGD to certified gap {LEVEL:g}",
                best.seconds_text,
                help=f"{name}, {best.iters_text}" if name else f"no step size within its budget ({best.text})",
            )
            m[2].metric(
                f"PGD time / EM time (gap {LEVEL:g})",
                v["ratio"],
                delta=f"{v['iter_ratio']} in iterations",
                delta_color="off",
                delta_arrow="off",
            )
            m[3].metric(
                f"exact y-step to certified {EXACT_LEVEL:g}",
                ex.seconds_text,
                help=f"{ex.iters_text} interior-point / face iterations; optimum L* = {race.reference:.10g} "
                f"({race.reference_source})",
            )
            for text in v["warnings"]:
                st.warning(text, icon=":material/warning:")
            for column, x in zip(st.columns(2), ("iteration", "seconds")):
                with column:
                    ui.chart(v[x], race.trace, "race_trace", key=f"sr-{x[:4]}")
            ui.chart(v["loss"], race.trace, "race_trace", key="sr-loss")
            st.markdown(
                "**Time and iterations to each certified gap** (`> x`: not reached within the budget — a lower "
                "bound; the paper's stopping rule: relative change < 1e-5, with the certified gap there)"
            )
            table(v["table"], "method")
            ui.table_download(race.summary, "race_summary", "Summary CSV")
            st.caption(
                f"Optimum: {race.reference_source}. PGD step sizes: {', '.join(f'{v:.3g}' for v in race.pgd_lrs)}; "
                f"{STEP_LIMIT} (here 2/(λK) = {2 / (lam * kk):.3g}). PGD budget: "
                f"{race.pgd_max_iter:,} iterations per step size ({budget:g} × EM's steps to {LEVEL:g})."
            )
