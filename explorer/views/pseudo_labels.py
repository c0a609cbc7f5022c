"""Page 3 — pseudo-label evolution: ours (collision CE, eq. 11) vs MIADM (Shannon CE, eq. 5)
self-labeling on the plane, one epoch at a time (one scrubber for every panel), the difference
measured over seeds; and the pseudo-labels within one y-step, iteration by iteration."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Optional

import numpy as np
import pandas as pd
import streamlit as st

from ccel_core.experiments.trajectories import difference_summary, mean_label_entropy
from ccel_core.plots import cluster_color, loss_history_figure
from ccel_core.plots.trajectories import mark_step
from explorer import cached, elements
from explorer import common as ui
from explorer import pseudo_label_summary as summary
from explorer.common import Param
from explorer.progress import cancellable

PAGE = "pl"
DATA = ("blobs", "anisotropic", "moons", "circles", "digits")
# Lazy tabs: only the open one runs and draws (the charts over epochs have their own: drawing five
# charts at once was most of a visit to this page in the browser; benchmarks/RESULTS.md).
TABS = ("Training epochs", "Over the epochs", "One y-step")
D = cached.PSEUDO_LABEL_DEFAULTS
LAST = -1  # the "epoch" setting that follows the last epoch
SPECS = {
    "data": Param(D["data"], choices=DATA),
    "classes": Param(D["classes"], 1, 10),
    "noise": Param(D["noise"], 0.05, 5.0),
    "k": Param(D["k"], 2, 10),
    "epochs": Param(D["epochs"], 1, 50),
    "lam": Param(D["lam"], 0.0, 10_000.0),
    "seed": Param(D["seed"], 0, 10_000),
    "seeds": Param(len(cached.PL_SEEDS), 2, 20),
    "ystep": Param(D["ystep"], choices=("full", "batch")),
    "model": Param(D["model"], choices=("linear", "mlp")),
    "epoch": Param(LAST, LAST, 50),
    "iters": Param(30, 1, 200),
    "view": Param(TABS[0], choices=TABS),
}
METHODS = summary.METHODS
SHORT = cached.PL_METHOD_NAMES
YSTEP = {
    "exact": "exact y-step on eq. 11 (certified; ours' default)",
    "em": "the paper's EM on eq. 11",
    "pgd": "PGD on eq. 5 (Shannon CE, MIADM)",
}


TITLE = "Pseudo-label evolution"
CAPTION = "Self-labeled clustering alternates a y-step (pseudo-labels y for the current predictions σ) with a network step (train σ towards y). Both methods below start from the same data and the same network; they differ only in the cross-entropy and its y-step."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

c = st.columns([2, 1, 1, 1, 1])
c[0].selectbox(
    "data", DATA, key=k("data"), help="2-D sets from scikit-learn; digits (64-D) is shown on its 2-D PCA plane"
)
blobs = ui.value(PAGE, "data") in ("blobs", "anisotropic")
c[1].number_input(
    "true classes C",
    1,
    10,
    key=k("classes"),
    disabled=not blobs,
    help="blobs in the data (blobs, anisotropic); moons and circles have 2 classes, digits 10",
)
c[2].number_input("blob std", 0.05, 5.0, step=0.25, key=k("noise"), disabled=not blobs, help="cluster_std of the blobs")
c[3].number_input("clusters K", 2, 10, key=k("k"), help="the network's clusters; K > C: more clusters than modes")
c[4].number_input("λ", 0.0, 10_000.0, step=1.0, key=k("lam"), help="fairness weight of both objectives")
c = st.columns([2, 1, 1, 1, 1])
c[0].slider("epochs", 1, 50, key=k("epochs"))
c[1].number_input("seed", 0, 10_000, key=k("seed"), help="data and initial network of the runs shown below")
c[2].selectbox("y-step", ("full", "batch"), key=k("ystep"), help="full: once per epoch on all points; batch: per batch")
c[3].selectbox("model", ("linear", "mlp"), key=k("model"))
c[4].number_input("seeds in the summary", 2, 20, key=k("seeds"), help="the comparison over seeds 0, 1, …, n − 1")

v = {name: ui.value(PAGE, name) for name in SPECS}
args = cached.pseudo_label_args(**{name: v[name] for name in D})
n_epochs = int(v["epochs"])


def use_preset(values: dict[str, Any]) -> None:
    """Set the page's settings to a preset (a button's callback: before the rerun it asks for)."""
    for name, value in values.items():
        st.session_state[k(name)] = value


def simplex_preset(what: str) -> None:
    """Where K ≠ 3 hides a simplex view: say so and offer the K = 3 preset."""
    a, b = st.columns([3, 1], vertical_alignment="center")
    a.info(f"The simplex view of {what} needs K = 3 clusters.")
    b.button(
        "Show it: K = C = 3",
        key=k(f"k3-{what}"),
        on_click=use_preset,
        args=(cached.PSEUDO_LABEL_K3,),
        help="3 blobs, 3 clusters, the other settings as the default (the two methods then nearly coincide: "
        "near one-hot labels, where collision CE equals Shannon CE)",
    )


def computed(token: str, label: str, missing: bool, work: Callable[[Any], Any]) -> Optional[Any]:
    """``work(progress)``; when something must be computed (``missing``), with a progress bar and a
    Cancel button (:func:`explorer.progress.cancellable`). Cancel marks these settings cancelled:
    nothing is computed for them until **Compute** is pressed. Returns None when cancelled."""
    flag = k("cancelled")
    if not missing:
        return work(None)
    if st.session_state.get(flag) == (token, args):
        st.warning(f"{label}: cancelled; nothing was kept.", icon=":material/cancel:")
        st.button("Compute", key=k(f"again-{token}"), on_click=lambda: st.session_state.pop(flag, None))
        return None
    return cancellable(
        lambda progress: work(lambda fraction, text: progress(fraction, f"{label}: {text}")),
        f"{label} …",
        flag=flag,
        mark=lambda: (token, args),
        key=k(f"cancel-{token}"),
    )


def train_both(progress: Any) -> dict[str, Any]:
    out = {}
    for i, ce in enumerate(METHODS):
        relay = (
            None
            if progress is None
            else (lambda e, n, i=i, ce=ce: progress((i + e / n) / 2, f"{SHORT[ce]}, epoch {e} / {n}"))
        )
        out[ce] = cached.toy_self_labeling(args, ce, progress=relay)
    return out


claim = st.container()
results: Optional[dict[str, Any]] = None
with ui.shown_errors():
    missing = any(cached.toy_run(args, ce) is None for ce in METHODS)
    results = computed("runs", "Training both self-labelers", missing, train_both)
if results is None:
    ui.write_url(PAGE, SPECS)
    st.stop()
ours = results["collision"]


with claim:
    seeds = tuple(range(int(v["seeds"])))
    st.markdown(
        f"#### Ours vs MIADM over seeds {seeds[0]}–{seeds[-1]} at these settings (last epoch; mean ± std, ddof = 1)"
    )
    with ui.shown_errors():
        frame = computed(
            "seeds",
            f"Training both methods on {len(seeds)} seeds",
            cached.seed_summary(args, seeds) is None,
            lambda progress: cached.seed_comparison(args, seeds, progress),
        )
        if frame is not None:
            table = difference_summary(frame, list(summary.ROWS))
            left, right = st.columns([2, 3])
            left.markdown(summary.verdict(table))
            with right:
                st.table(summary.summary_table(table).set_index(""))  # a static table: no header or name cut
                ui.table_download(frame, "pseudo_label_seeds", key="pl-seeds-csv")

# ---- the one epoch scrubber: every panel of both methods (and the y-step tab's σ) ----------------
want = int(st.session_state[k("epoch")])
if want > n_epochs:
    want = st.session_state[k("epoch")] = LAST
st.session_state[k("shown")] = n_epochs if want == LAST else want


def on_epoch() -> None:
    e = int(st.session_state[k("shown")])
    st.session_state[k("epoch")] = LAST if e == int(st.session_state[k("epochs")]) else e


st.slider(
    "epoch shown — every panel below, both methods",
    0,
    n_epochs,
    key=k("shown"),
    on_change=on_epoch,
    help="0 = the untrained network; the last epoch is the default (and followed when epochs change)",
)
epoch = int(st.session_state[k("shown")])

tab_epochs, tab_history, tab_ystep = elements.lazy_tabs(TABS, k("view"))


def colour_key(res: Any) -> str:
    swatches = " ".join(
        f"<span style='color:{cluster_color(j)}'>■</span>&nbsp;{name}"
        for j, name in enumerate(cached.cluster_names(res))
    )
    return (
        "**Colours** — regions and dots: the **predicted cluster k** (argmax σ); clusters are numbered so that "
        "cluster c is the one matched to **true class c** (Hungarian map at the last epoch, the same in every "
        f"epoch and for both methods; clusters ≥ C match no class). ✕: a misclustered point, in the colour of its "
        f"true class. Clusters and classes count from 0.<br>{swatches}"
    )


if tab_epochs.open:
    with tab_epochs:
        st.markdown(colour_key(ours), unsafe_allow_html=True)
        cols = st.columns(2)
        for col, (ce, title) in zip(cols, METHODS.items()):
            res = results[ce]
            snap = res.snapshots[min(epoch, len(res.snapshots) - 1)]
            with col:
                st.subheader(title)
                st.caption(f"epoch {snap.epoch} of {n_epochs}")
                m = st.columns(4)
                m[0].metric("ACC", f"{snap.acc:.3f}")
                m[1].metric("NMI", f"{snap.nmi:.3f}")
                m[2].metric(
                    "smallest",
                    f"{int(snap.sizes.min())}",
                    help=f"points (of {len(res.points)}) in the smallest cluster",
                )
                h = mean_label_entropy(snap.labels)
                m[3].metric("mean H(y)", f"{h:.3f}", help="entropy of the pseudo-labels in nats (0 = one-hot)")
                figs = cached.epoch_figures(args, ce, epoch)
                ui.chart(
                    figs["regions"],
                    partial(cached.regions_frame, res),
                    f"regions_{ce}",
                    key=f"pl-regions-{ce}",
                )
                if "ternary" in figs:
                    ui.chart(
                        figs["ternary"],
                        partial(
                            cached.labels_frame,
                            [s.labels for s in res.snapshots],
                            [s.probs for s in res.snapshots],
                            y_true=res.y_true,
                        ),
                        f"ternary_{ce}",
                        key=f"pl-tern-{ce}",
                    )
        if ours.n_clusters != 3:
            simplex_preset("y and σ")

if tab_history.open:
    with tab_history:
        st.caption(
            f"Both methods over their {n_epochs} epochs; the dashed line marks the epoch shown (the scrubber above)."
        )
        charts = cached.epoch_history(args, epoch)
        fig, sizes = charts["sizes"]
        ui.chart(fig, sizes, "cluster_sizes", key="pl-sizes")
        a, b = st.columns([3, 2])
        with a:
            fig, history = charts["loss"]
            ui.chart(fig, history, "loss_history", key="pl-loss")
        with b:
            fig, history = charts["acc"]
            ui.chart(fig, history, "acc_history", key="pl-acc")

if tab_ystep.open:
    with tab_ystep:
        st.caption(
            f"Fixed predictions σ of ours' network after epoch {epoch} (the scrubber above; 0 = the untrained "
            "network). The exact y-step (interior point, then Newton on the optimal face) stops when its "
            "certified gap is below 1e-9 — its labels land on the simplex's edges and corners; EM minimizes "
            "eq. 11 from inside the simplex and never increases it; PGD solves MIADM's Shannon objective "
            "(eq. 5) with step 1/(λK). The iteration slider drives all three panels."
        )
        st.slider("iteration shown (iterations run)", 1, 200, key=k("iters"))
        iters = int(ui.value(PAGE, "iters"))
        y_true = ours.y_true
        with ui.shown_errors():
            for col, (solver, name) in zip(st.columns(len(YSTEP)), YSTEP.items()):
                traj = cached.em_trajectory(args, epoch, solver, iters)
                with col:
                    st.markdown(f"**{name}**")
                    if ours.n_clusters == 3:
                        ui.chart(
                            cached.ystep_figure(args, epoch, solver, iters),
                            partial(cached.labels_frame, traj.iterates, step="iteration", y_true=y_true),
                            f"ystep_{solver}",
                            key=f"pl-ystep-{solver}",
                        )
                    hist = pd.DataFrame({"iteration": np.arange(len(traj.history)), "objective": traj.history})
                    fig = loss_history_figure({name: traj.history}, title="Objective per iteration", yaxis="objective")
                    ui.chart(
                        mark_step(fig, len(traj.history) - 1),
                        hist,
                        f"ystep_objective_{solver}",
                        key=f"pl-obj-{solver}",
                        height=300,
                    )
                    h = traj.history
                    st.caption(f"Objective {h[0]:.4f} → {h[-1]:.4f} (−{h[0] - h[-1]:.4f}) in {len(h) - 1} iterations.")
            if ours.n_clusters != 3:
                simplex_preset("y")
ui.write_url(PAGE, SPECS)
