"""Page 2 — noisy labels (paper Fig. 2): supervised training on corrupted soft targets, CE vs CCE."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ccel_core.experiments.noisy import NOISE_MODELS
from ccel_core.plots import SHANNON_COLOR, noisy_labels_figure
from ccel_core.summary import summarize_frame
from explorer import cached
from explorer import common as ui
from explorer.common import Param

PAGE = "nl"
DATA = ("digits", "blobs", "anisotropic", "moons", "circles")
SPECS = {
    "data": Param("digits", choices=DATA),
    "model": Param("linear", choices=("linear", "mlp")),
    "noise": Param("random-soft", choices=NOISE_MODELS),
    "levels": Param("0, 0.2, 0.4, 0.6, 0.8"),
    "seeds": Param(3, 1, 10),
    "epochs": Param(15, 1, 100),
}


TITLE = "Noisy labels: Shannon CE vs collision CE"
CAPTION = "Supervised training from corrupted soft targets; accuracy on clean test labels. random-soft: a fraction ρ of the targets becomes a Dirichlet(1) draw; mix: every target becomes (1 − ε) e_c + ε d with d ~ Dirichlet(1). Both losses see the same targets, split and initial network."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

c = st.columns([2, 1.4, 2, 3, 1, 1])
c[0].selectbox("data", DATA, key=k("data"))
c[1].selectbox("model", ("linear", "mlp"), key=k("model"))
c[2].radio("noise model", NOISE_MODELS, key=k("noise"), horizontal=True)
c[3].text_input("levels ρ or ε (comma-separated, in [0, 1])", key=k("levels"))
c[4].number_input("seeds", 1, 10, key=k("seeds"))
c[5].number_input("epochs", 1, 100, key=k("epochs"))
ui.write_url(PAGE, SPECS)

v = {name: ui.value(PAGE, name) for name in SPECS}
with ui.shown_errors():
    levels = tuple(sorted(set(ui.parse_floats(str(v["levels"]), "levels"))))
    seeds = tuple(range(int(v["seeds"])))
    settings = (str(v["data"]), str(v["model"]), str(v["noise"]), levels, seeds, int(v["epochs"]))

    # What the corruption does to the targets (instant, before any training).
    weights = cached.corrupted_targets(settings[0], settings[2], levels)
    fig = go.Figure()
    for level, part in weights.groupby("level"):
        fig.add_trace(
            go.Box(
                y=part["true_class_weight"],
                name=f"{level:g}",
                marker_color=SHANNON_COLOR,
                boxpoints=False,
                showlegend=False,
            )
        )
    fig.update_layout(
        template="plotly_white",
        title="The corrupted targets: weight y_c on the true class",
        xaxis_title="noise level",
        yaxis_title="y_c",
        yaxis_range=[0, 1.02],
        margin=dict(t=50, b=40),
    )

    left, right = st.columns([2, 3])
    with left:
        ui.chart(fig, weights, "corrupted_targets", key="nl-targets", height=380)
    with right:
        n_runs = 2 * len(levels) * len(seeds)
        run = st.button(f"Run the experiment ({n_runs} trainings)", type="primary", icon=":material/play_arrow:")
        results = cached.noisy_results(settings)
        if run and results is None:
            bar = st.progress(0.0, text="training …")

            def progress(done: int, total: int) -> None:
                bar.progress(done / total, text=f"training {done} / {total}")

            results = cached.noisy_label_experiment(*settings, progress=progress)
            bar.empty()
        if results is not None:
            ui.chart(noisy_labels_figure(results), results, "noisy_labels", key="nl-fig", height=420)
            stats = summarize_frame(results, ["loss", "level"], ["test_acc"])
            stats.columns = ["loss", "level", "mean", "std", "n"]
            top = max(levels)
            at_top = stats[stats["level"] == top].set_index("loss")["mean"]
            m = st.columns(3)
            m[0].metric(f"collision CE at {top:g}", f"{at_top.get('collision', np.nan):.3f}")
            m[1].metric(f"Shannon CE at {top:g}", f"{at_top.get('shannon', np.nan):.3f}")
            m[2].metric("CCE − CE", f"{at_top.get('collision', np.nan) - at_top.get('shannon', np.nan):+.3f}")
        else:
            st.info(
                "Press **Run** to train both losses at every level and seed (results are cached by their settings)."
            )
