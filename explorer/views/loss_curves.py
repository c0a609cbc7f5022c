"""Page 1 — loss curves: Fig. 1 (K = 2), the loss over the K = 3 simplex, gradient vs label certainty."""

from __future__ import annotations

import streamlit as st

from ccel_core.experiments.curves import FIG1_TARGETS, loss_name
from ccel_core.plots import gradient_figure, loss_curves_figure, simplex_heatmap_figure
from explorer import cached
from explorer import common as ui
from explorer.common import Param

PAGE = "lc"
SPECS = {
    "y1": Param(0.9, 0.0, 1.0),
    "paper": Param(True),
    "alpha": Param(2.0, 1.0, 3.0),
    "t1": Param(0.7, 0.0, 1.0),
    "t2": Param(0.2, 0.0, 1.0),
    "scale": Param(1.0, 0.0, 5.0),
    "x": Param("certainty", choices=("certainty", "eps", "target_entropy")),
}

TITLE = "Loss curves"
CAPTION = "Shannon CE H(y,σ) is dashed, collision CE H₂(y,σ) solid, other Rényi orders H_α dotted. The Rényi order α runs from 1 (Shannon) through 2 (collision) to 3."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

c1, c2, c3 = st.columns([3, 3, 2])
c1.slider("Your target y = (y₁, 1 − y₁): y₁", 0.0, 1.0, step=0.01, key=k("y1"))
c2.slider(
    "Rényi order α",
    1.0,
    3.0,
    step=0.1,
    key=k("alpha"),
    help="H_α(y,σ) = ln(Σ_k y_k σ_k^(α−1)) / (1 − α); α = 1 is Shannon, α = 2 collision",
)
c3.toggle("Show the paper's four targets", key=k("paper"))

y1, alpha = float(ui.value(PAGE, "y1")), float(ui.value(PAGE, "alpha"))
alphas = tuple(dict.fromkeys((1.0, 2.0, round(alpha, 4))))

# --- Fig. 1 ------------------------------------------------------------------------------------
st.subheader("K = 2: σ = (p, 1 − p)")
mine = (round(y1, 4), round(1.0 - y1, 4))
targets = tuple(dict.fromkeys((*FIG1_TARGETS, mine))) if ui.value(PAGE, "paper") else (mine,)
with ui.shown_errors():
    curves = cached.loss_curves(targets, alphas)
    left, right = st.columns([4, 1])
    with left:
        ui.chart(loss_curves_figure(curves), curves, "loss_curves_k2", key="lc-fig1", height=470)
    with right:
        st.markdown(f"**Your y = ({mine[0]:g}, {mine[1]:g})**")
        label = f"({mine[0]:g}, {mine[1]:g})"
        for a in alphas:
            part = curves[(curves["y"] == label) & (curves["alpha"] == a)]
            best = part.loc[part["loss"].idxmin()]
            st.metric(f"argmin_p {loss_name(a)}", f"p = {best['p']:.3f}", help="where this loss puts σ for your y")
        st.caption(
            "Shannon CE is minimized at σ = y (it copies the label's uncertainty); collision CE at the "
            "most likely class of y (or anywhere, for y = (.5, .5))."
        )

# --- the K = 3 simplex -------------------------------------------------------------------------
st.subheader("K = 3: the loss over the simplex for a target y")
s1, s2, s3 = st.columns([2, 2, 3])
s1.slider("y₁", 0.0, 1.0, step=0.01, key=k("t1"))
s2.slider("y₂", 0.0, 1.0, step=0.01, key=k("t2"))
t1, t2 = float(ui.value(PAGE, "t1")), float(ui.value(PAGE, "t2"))
t3 = round(1.0 - t1 - t2, 6)
s3.markdown(f"y₃ = 1 − y₁ − y₂ = **{t3:g}**")
if t3 < 0:
    st.error(f"y₁ + y₂ = {t1 + t2:g} exceeds 1: the target y must lie on the simplex (y₃ ≥ 0). Lower y₁ or y₂.")
else:
    target = (t1, t2, max(t3, 0.0))
    cols = st.columns(len(alphas))
    for col, a in zip(cols, alphas):
        with col, ui.shown_errors():
            grid = cached.simplex_loss_grid(target, a)
            ui.chart(simplex_heatmap_figure(grid), grid, f"simplex_alpha{a:g}", key=f"lc-simplex-{a:g}", height=480)
    st.caption(
        "White star: the target y; red cross: where the loss is smallest. Shannon's minimum is y itself; "
        "collision CE is linear in σ inside the log, so its minimum is the vertex of y's largest entry."
    )

# --- gradient vs certainty ---------------------------------------------------------------------
st.subheader("Gradient size vs label certainty")
g1, g2 = st.columns([3, 2])
g1.slider("Prediction confidence s: logits l = s · (1, 0, −1)", 0.0, 5.0, step=0.1, key=k("scale"))
g2.radio(
    "x axis",
    ("certainty", "eps", "target_entropy"),
    horizontal=True,
    key=k("x"),
    format_func={"certainty": "certainty 1 − ε", "eps": "ε", "target_entropy": "entropy H(y)"}.get,
)
scale = float(ui.value(PAGE, "scale"))
with ui.shown_errors():
    grads = cached.gradient_vs_certainty((scale, 0.0, -scale), alphas)
    ui.chart(gradient_figure(grads, x=ui.value(PAGE, "x")), grads, "gradient_vs_certainty", key="lc-grad", height=420)
st.caption(
    "Targets y(ε) = (1 − ε) e₁ + ε/K · 1. At ε = 1 (uniform y) collision CE has zero gradient — an "
    "uninformative label teaches nothing — while Shannon CE still pulls σ towards uniform."
)
ui.write_url(PAGE, SPECS)
