"""Page 1 — loss curves: Fig. 1 (K = 2), the loss over the K = 3 simplex, gradient vs label certainty — one
tab each, drawn on demand (:func:`explorer.elements.lazy_tabs`; four or five charts at once were most of a
first visit's time in the browser, benchmarks/RESULTS.md)."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from ccel_core.experiments.curves import exact_minimizers, loss_and_gradients, loss_name
from explorer import cached, elements
from explorer import common as ui
from explorer.common import Param

PAGE = "lc"
D = cached.LOSS_CURVE_DEFAULTS
TABS = cached.LOSS_CURVE_TABS
SPECS = {
    "view": Param(TABS[0], choices=TABS),
    "y1": Param(D["y1"], 0.0, 1.0),
    "paper": Param(D["paper"]),
    "alpha": Param(D["alpha"], 1.0, 3.0),
    "t1": Param(D["t1"], 0.0, 1.0),
    "t2": Param(D["t2"], 0.0, 1.0),
    "arrows": Param(D["arrows"]),
    "scale": Param(D["scale"], 0.0, 5.0),
    "x": Param(D["x"], choices=("certainty", "eps", "target_entropy")),
}

TITLE = "Loss curves"
CAPTION = "Shannon CE H(y,σ) is dashed, collision CE H₂(y,σ) solid, other Rényi orders H_α dotted. The Rényi order α runs from 1 (Shannon) through 2 (collision) to 3."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

st.columns(2)[0].slider(
    "Rényi order α",
    1.0,
    3.0,
    step=0.1,
    key=k("alpha"),
    help="H_α(y,σ) = ln(Σ_k y_k σ_k^(α−1)) / (1 − α); α = 1 is Shannon, α = 2 collision — in every tab",
)
alpha = float(ui.value(PAGE, "alpha"))
alphas = cached.loss_curve_orders(alpha)
scale = float(ui.value(PAGE, "scale"))  # set on the gradient tab, used by the simplex tab's table too
tab_fig1, tab_simplex, tab_grad = elements.lazy_tabs(TABS, k("view"))


def fig1_tab() -> None:
    """Fig. 1: the losses of σ = (p, 1 − p) for your K = 2 target (and the paper's four)."""
    st.subheader("K = 2: σ = (p, 1 − p)")
    c1, c2 = st.columns([3, 2])
    c1.slider("Your target y = (y₁, 1 − y₁): y₁", 0.0, 1.0, step=0.01, key=k("y1"))
    c2.toggle("Show the paper's four targets", key=k("paper"))
    y1 = float(ui.value(PAGE, "y1"))
    mine = cached.binary_target(y1)
    with ui.shown_errors():
        curves, fig = cached.fig1_view(y1, bool(ui.value(PAGE, "paper")), alphas)
        left, right = st.columns([4, 1])
        with left:
            ui.chart(fig, curves, "loss_curves_k2", key="lc-fig1")
        with right:
            st.markdown(f"**Your y = ({mine[0]:g}, {mine[1]:g})**")
            for a in alphas:
                best = exact_minimizers(mine, a)
                shown = best.describe("p") if best.unique or best.flat else "not unique"
                st.metric(
                    f"argmin_p {loss_name(a)}",
                    shown,
                    help="where this loss puts σ for your y, over p ∈ [0, 1] (closed form)",
                )
                if best.flat:
                    st.caption(f"{loss_name(a)} = {best.value:.4f} nats for every p: no unique minimizer, no gradient.")
                elif not best.unique:
                    st.caption(f"{loss_name(a)} = {best.value:.4f} nats, smallest at {best.describe('p')}.")
            st.caption(
                "Shannon CE is minimized at σ = y (it copies the label's uncertainty); collision CE at the "
                "most likely class of y, and it is flat when y has no most likely class."
            )


def pick_target(chart: str) -> None:
    """A click on a simplex chart sets y to the clicked σ (sliders at 0.01 steps, y₃ ≥ 0)."""
    state = st.session_state.get(chart) or {}
    points = (state.get("selection") or {}).get("points") or []
    sig = points[0].get("customdata") if points else None  # every point of the figure carries its σ
    if isinstance(sig, dict):  # a typed array arrives as {"0": σ₁, "1": σ₂, "2": σ₃}
        sig = [sig.get(str(i)) for i in range(3)]
    if not isinstance(sig, list) or len(sig) != 3 or None in sig:
        return
    t1 = round(float(sig[0]), 2)
    t2 = min(round(float(sig[1]), 2), round(1.0 - t1, 2))
    st.session_state[k("t1")], st.session_state[k("t2")] = t1, t2


def simplex_tab() -> None:
    """The loss over the K = 3 simplex for a target y, one chart per order, and the losses and gradients
    at one prediction."""
    st.subheader("K = 3: the loss over the simplex for a target y")
    s1, s2, s3, s4 = st.columns([2, 2, 2, 1])
    s1.slider("y₁", 0.0, 1.0, step=0.01, key=k("t1"))
    s2.slider("y₂", 0.0, 1.0, step=0.01, key=k("t2"))
    t1, t2 = float(ui.value(PAGE, "t1")), float(ui.value(PAGE, "t2"))
    target = cached.simplex_target(t1, t2)
    t3 = target[2]
    s3.markdown(f"y₃ = 1 − y₁ − y₂ = **{t3:g}**  \n*or click in a triangle to put y there*")
    s4.toggle("arrows", key=k("arrows"), help="gradient arrows: where one gradient step on the logits moves σ")
    if t3 < 0:
        st.error(f"y₁ + y₂ = {t1 + t2:g} exceeds 1: the target y must lie on the simplex (y₃ ≥ 0). Lower y₁ or y₂.")
        return
    cols = st.columns(len(alphas))
    for col, a in zip(cols, alphas):
        with col, ui.shown_errors():
            grid, fig = cached.simplex_view(target, a, bool(ui.value(PAGE, "arrows")))
            name = f"lc-simplex-{a:g}"
            ui.chart(fig, grid, f"simplex_alpha{a:g}", key=name, on_select=partial(pick_target, name))
    st.caption(
        "White star: the target y; red crosses: where the loss is smallest on the grid (all of them when "
        "tied; none when it is flat). Shannon's minimum is y itself; collision CE is linear in σ inside the log, "
        "so its minimum is the vertex of y's largest entry. White arrows: the direction σ moves under a gradient "
        "step on the logits, dσ = −J(σ) ∇ₗH (one scale for every chart). The colour scale spans at least 0.5 "
        "nats, so a nearly flat loss stays nearly one colour; the subtitle gives its range."
    )
    with ui.shown_errors():
        logits = (scale, 0.0, -scale)
        point = loss_and_gradients(target, logits, alphas)
        sigma = ", ".join(f"{v:.2f}" for v in point.attrs["sigma"])
        st.markdown(
            f"**Losses and their gradients ∂H/∂l at your y** for the prediction σ = softmax(s · (1, 0, −1)) "
            f"= ({sigma}), s = {scale:g} (the confidence slider of the tab {TABS[2]!r})"
        )
        shown = pd.DataFrame({"loss": point["name"], "value (nats)": [f"{v:.4f}" for v in point["loss"]]})
        for j, sub in enumerate("₁₂₃", 1):
            shown[f"∂/∂l{sub}"] = [f"{v:+.4f}" for v in point[f"grad_{j}"]]
        shown["‖∇ₗ‖₂"] = [f"{v:.4f}" for v in point["grad_norm"]]
        st.table(shown, hide_index=True)


def gradient_tab() -> None:
    """The gradient norm of each loss against the certainty of the target y(ε), at one prediction."""
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
    with ui.shown_errors():
        grads, fig = cached.gradient_view(scale, alphas, ui.value(PAGE, "x"))
        ui.chart(fig, grads, "gradient_vs_certainty", key="lc-grad")
        # what the chart shows at the uniform target, read from its own numbers (they change with s)
        uniform = grads[grads["eps"] == grads["eps"].max()]
        at_uniform = ", ".join(f"{r['name']} {r['grad_norm']:.3g}" for _, r in uniform.iterrows())
        why = (
            "at s = 0 σ is uniform too, and by symmetry every loss's gradient vanishes there (a stationary point) — "
            "raise s to see them differ"
            if scale == 0
            else "an uninformative label teaches nothing under collision CE (its loss is the constant ln K), while "
            "Shannon CE still pulls σ towards uniform"
        )
        st.caption(
            f"Targets y(ε) = (1 − ε) e₁ + ε/K · 1: ε = 0 is one-hot (every loss is −ln σ₁, one gradient), ε = 1 "
            f"uniform (H(y) = ln 3). Gradient norm at the uniform target: {at_uniform} — {why}."
        )


for tab, draw in ((tab_fig1, fig1_tab), (tab_simplex, simplex_tab), (tab_grad, gradient_tab)):
    if tab.open:
        with tab:
            draw()
ui.write_url(PAGE, SPECS)
