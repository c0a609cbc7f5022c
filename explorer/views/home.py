"""Home: what collision cross-entropy is and why, with the paper's Fig. 1."""

from __future__ import annotations

import streamlit as st

from ccel_core.experiments.curves import FIG1_TARGETS
from ccel_core.plots import loss_curves_figure
from explorer import cached
from explorer import common as ui

st.title("Collision cross-entropy")
left, right = st.columns([5, 6], gap="large")
with left:
    st.markdown(
        r"""
For a prediction $\sigma$ and a soft label $y$ on the probability simplex, the **collision
cross-entropy** is

$$H_2(y,\sigma) \;=\; -\ln \sum_k y_k\,\sigma_k ,$$

minus the log-probability that a class drawn from $\sigma$ and a class drawn from $y$ collide.
Compared with Shannon's $H(y,\sigma) = -\sum_k y_k \ln \sigma_k$ it is

- **symmetric** in $y$ and $\sigma$, and never larger than $H(y,\sigma)$;
- **the same** for one-hot labels: $y = e_c$ gives $-\ln \sigma_c$;
- **silent on uncertain labels**: uniform $y$ gives $\ln K$ for every $\sigma$, so zero gradient —
  the network is not trained to copy the label's uncertainty;
- hence **robust to noisy soft labels**, and a good loss for the pseudo-labels of self-labeled
  clustering, where its objective $\operatorname{mean}_i H_2(y_i,\sigma_i) + \lambda\,\mathrm{KL}(u\,\|\,\bar y)$
  is minimized over the labels — by the paper's EM algorithm, or (ccel's default) by an **exact
  y-step with a certificate** of its optimality from the dual of that objective.
"""
    )
    st.markdown("**Explore**")
    st.page_link(
        "views/loss_curves.py", label="Loss curves — Fig. 1, the simplex, gradients", icon=":material/show_chart:"
    )
    st.page_link(
        "views/noisy_labels.py", label="Noisy labels — CE vs CCE on corrupted targets (Fig. 2)", icon=":material/grain:"
    )
    st.page_link(
        "views/pseudo_labels.py",
        label="Pseudo-label evolution — y-steps and training",
        icon=":material/animation:",
    )
    st.page_link(
        "views/solver_race.py",
        label="Solver race — EM vs projected gradient (Table 1)",
        icon=":material/speed:",
    )
    st.page_link(
        "views/clustering_runs.py", label="Clustering runs — launch, watch, compare", icon=":material/model_training:"
    )
    st.page_link(
        "views/reproduction.py",
        label="Reproduction — the paper's claims, a verdict each",
        icon=":material/fact_check:",
    )
with right:
    df = cached.loss_curves(FIG1_TARGETS, (1.0, 2.0))
    title = "Shannon CE (dashed) vs collision CE (solid)<br><sup>K = 2 — paper Fig. 1</sup>"
    fig = cached.figure(loss_curves_figure, df, title=title, height=460)
    ui.chart(fig, df, "fig1_loss_curves", key="home-fig1")
    st.caption(
        "σ = (p, 1 − p). For y = (.5, .5) the collision loss is flat (ln 2): no gradient, while Shannon's "
        "still pulls σ to (.5, .5). For y = (.9, .1) Shannon is minimized at p = 0.9, collision CE at p = 1."
    )
