"""Page 3 — pseudo-label evolution: CCE vs Shannon-CE self-labeling on the plane, epoch by epoch,
and the pseudo-labels within one y-step, iteration by iteration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ccel_core.plots import cluster_sizes_figure, loss_history_figure
from explorer import cached
from explorer import common as ui
from explorer.common import Param

PAGE = "pl"
DATA = ("blobs", "anisotropic", "moons", "circles", "digits")
TABS = ("Training epochs", "One y-step")
D = cached.PSEUDO_LABEL_DEFAULTS
SPECS = {
    "data": Param(D["data"], choices=DATA),
    "k": Param(D["k"], 2, 10),
    "epochs": Param(D["epochs"], 1, 50),
    "lam": Param(D["lam"], 0.0, 10_000.0),
    "seed": Param(D["seed"], 0, 10_000),
    "ystep": Param(D["ystep"], choices=("full", "batch")),
    "model": Param(D["model"], choices=("linear", "mlp")),
    "epoch": Param(0, 0, 50),
    "iters": Param(30, 1, 200),
    "view": Param(TABS[0], choices=TABS),
}
METHODS = {"collision": "Collision CE — ours (eq. 11, exact y-step)", "shannon": "Shannon CE — MIADM (eq. 5, PGD)"}
YSTEP = {
    "exact": "exact y-step on eq. 11 (certified; ours' default)",
    "em": "the paper's EM on eq. 11",
    "pgd": "PGD on eq. 5 (Shannon CE, MIADM)",
}


TITLE = "Pseudo-label evolution"
CAPTION = "Self-labeled clustering alternates a y-step (pseudo-labels y for the current predictions σ) with a network step (train σ towards y). Both methods below start from the same data and the same network; they differ only in the cross-entropy and its y-step."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

c = st.columns([2, 1, 2, 1, 1, 1, 1])
c[0].selectbox(
    "data", DATA, key=k("data"), help="2-D sets from scikit-learn; digits (64-D) is shown on its 2-D PCA plane"
)
c[1].number_input("clusters K", 2, 10, key=k("k"))
c[2].slider("epochs", 1, 50, key=k("epochs"))
c[3].number_input("λ", 0.0, 10_000.0, step=10.0, key=k("lam"), help="fairness weight of both objectives")
c[4].number_input("seed", 0, 10_000, key=k("seed"))
c[5].selectbox("y-step", ("full", "batch"), key=k("ystep"), help="full: once per epoch on all points; batch: per batch")
c[6].selectbox("model", ("linear", "mlp"), key=k("model"))

v = {name: ui.value(PAGE, name) for name in SPECS}
args = cached.pseudo_label_args(**{name: v[name] for name in D})
results: dict[str, Any] = {}
with ui.shown_errors():
    with st.spinner("Training both self-labelers …"):
        for ce in METHODS:
            results[ce] = cached.toy_self_labeling(args[0], args[1], ce, *args[2:])
ok = len(results) == len(METHODS)

# Lazy tabs: only the open tab's content runs (its figures are animations, slow to build).
tab_epochs, tab_ystep = st.tabs(list(TABS), key=k("view"), on_change="rerun")

if ok and tab_epochs.open:
    with tab_epochs:
        cols = st.columns(2)
        for col, (ce, title) in zip(cols, METHODS.items()):
            res = results[ce]
            last = res.snapshots[-1]
            with col:
                st.subheader(title)
                m = st.columns(3)
                m[0].metric("ACC", f"{last.acc:.3f}")
                m[1].metric("NMI", f"{last.nmi:.3f}")
                m[2].metric("smallest cluster", f"{int(last.sizes.min())} / {len(res.points)}")
                figs = cached.epoch_figures(args, ce)
                if "ternary" in figs:
                    ui.chart(
                        figs["ternary"],
                        lambda res=res: cached.labels_frame(
                            [s.labels for s in res.snapshots], [s.probs for s in res.snapshots], y_true=res.y_true
                        ),
                        f"ternary_epochs_{ce}",
                        key=f"pl-tern-{ce}",
                        height=470,
                    )
                ui.chart(
                    figs["regions"],
                    lambda res=res: cached.regions_frame(res),
                    f"regions_{ce}",
                    key=f"pl-regions-{ce}",
                    height=470,
                )
        if results["collision"].n_clusters != 3:
            st.info("The simplex view of y and σ needs K = 3 clusters.")
        n_points = len(results["collision"].points)
        if n_points > cached.MAX_POINTS or int(v["epochs"]) + 1 > cached.MAX_FRAMES:
            st.caption(
                f"The animations draw {min(n_points, cached.MAX_POINTS)} of the {n_points} points and at most "
                f"{cached.MAX_FRAMES} frames; metrics, sizes and the CSV downloads use all of them."
            )

        sizes = pd.concat([results[ce].sizes_frame() for ce in METHODS], ignore_index=True)
        history = pd.concat([results[ce].history_frame() for ce in METHODS], ignore_index=True)
        a, b = st.columns(2)
        with a:
            ui.chart(
                cluster_sizes_figure(sizes, title="Cluster sizes (points per argmax σ)"),
                sizes,
                "cluster_sizes",
                key="pl-sizes",
                height=400,
            )
        with b:
            fig = loss_history_figure(
                history.dropna(subset=["loss"]), y="loss", title="Network loss mean_i CE(y_i, σ_i)", yaxis="loss (nats)"
            )
            ui.chart(fig, history, "loss_history", key="pl-loss", height=400)

if ok and tab_ystep.open:
    with tab_ystep:
        st.caption(
            "Fixed predictions σ of the collision-CE network after the chosen epoch (0 = the untrained "
            "network). The exact y-step (interior point, then Newton on the optimal face) stops when its "
            "certified gap is below 1e-9 — its labels land on the simplex's edges and corners; EM minimizes "
            "eq. 11 from inside the simplex and never increases it; PGD solves MIADM's Shannon objective "
            "(eq. 5) with step 1/(λK). The iterations slider caps all three."
        )
        e = st.columns([3, 2])
        n_epochs = int(v["epochs"])
        if int(st.session_state[k("epoch")]) > n_epochs:
            st.session_state[k("epoch")] = n_epochs
        e[0].slider("σ after epoch", 0, n_epochs, key=k("epoch"))
        e[1].slider("iterations", 1, 200, key=k("iters"))
        epoch, iters = int(ui.value(PAGE, "epoch")), int(ui.value(PAGE, "iters"))
        y_true = results["collision"].y_true
        with ui.shown_errors():
            cols = st.columns(len(YSTEP))
            for col, (solver, name) in zip(cols, YSTEP.items()):
                traj = cached.em_trajectory(*args, epoch, solver, iters)
                with col:
                    st.markdown(f"**{name}**")
                    if results["collision"].n_clusters == 3:
                        ui.chart(
                            cached.ystep_figure(args, epoch, solver, iters),
                            lambda traj=traj: cached.labels_frame(traj.iterates, step="iteration", y_true=y_true),
                            f"ystep_{solver}",
                            key=f"pl-ystep-{solver}",
                            height=440,
                        )
                    hist = pd.DataFrame({"iteration": np.arange(len(traj.history)), "objective": traj.history})
                    fig = loss_history_figure({name: traj.history}, title="Objective per iteration", yaxis="objective")
                    ui.chart(fig, hist, f"ystep_objective_{solver}", key=f"pl-obj-{solver}", height=300)
                    h = traj.history
                    st.caption(f"Objective {h[0]:.4f} → {h[-1]:.4f} (−{h[0] - h[-1]:.4f}) in {len(h) - 1} iterations.")
ui.write_url(PAGE, SPECS)
