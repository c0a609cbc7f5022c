"""Page 4 — clustering runs: launch ``ccel fit`` in the background, watch runs live, compare them
(mean ± std over seeds), cancel / resume / delete, inspect a finished run, export, and bring your own
feature file.

One truth per rerun: everything below the upload form is one fragment that reads the run store once
(``store.list()``, which also reports runs whose process died as failed) and draws every status —
the table, the live list, the selectors, the details — from that snapshot.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ccel_core.cli import EXIT_CANCELLED
from ccel_core.metrics import confusion_matrix
from ccel_core.plots.runs import cluster_examples_figure, cluster_points_figure, confusion_figure, run_curves_figure
from ccel_core.runs import FAILED, FINISHED, Run, RunInfo, RunStore
from explorer import common as ui
from explorer import elements, launcher
from explorer.common import Param
from explorer.launch_forms import launch_form, upload_form
from explorer.launcher import ACTIVE

PAGE = "cr"
SPECS = {"metric": Param("acc"), "runs": Param(())}

TITLE = "Clustering runs"
CAPTION = "Runs execute as `ccel fit` processes in the background and write to the run store; this page polls the store, so runs started from the command line show up here too, and a run keeps going when you close the page."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)


# --- the run store: the root chosen when the server started, or a sub-folder of it ----------------
base = launcher.runs_base()
st.text_input(
    "Runs folder",
    key=k("folder"),
    placeholder="(the root itself)",
    help=f"Runs and uploads are stored under `{base}` (set by $CCEL_RUNS_DIR when the server starts), "
    "in the root itself or in a sub-folder of it given as a relative name, e.g. `experiments/week1`. "
    "Absolute paths, `..` and links that lead outside the root are refused.",
)
folder = str(st.session_state[k("folder")])
try:
    store = RunStore(launcher.runs_folder(base, folder))
except (OSError, ValueError) as exc:
    st.error(f"Cannot use the runs folder {launcher.shorten(folder.strip() or str(base))!r}: {exc}")
    st.stop()
root = store.root
st.caption(f"Run store: `{root}`")

# --- launch and upload ----------------------------------------------------------------------------
launch_form(k, store)
upload_form(k, root)


# --- everything else: one snapshot of the store per rerun, polled ----------------------------------
def follow(infos: list[RunInfo], running: list[launcher.Launch]) -> None:
    """Select what this session just launched: the active run of the launch in the details (so its
    Cancel shows) and the launch's runs in the comparison, until the launch ends or the user picks
    something else. Runs before the widgets are drawn (their keys may still be set)."""
    f = st.session_state.get(k("follow"))
    if not f:
        return
    resumed = f.get("run")
    mine = [i for i in infos if (i.run_id == resumed if resumed else i.group == f["group"])]
    group = [i.run_id for i in mine] if mine and not resumed else None
    # the user has not picked something else: the selection is what this follow wrote last, or what it
    # wrote before (a poll's request can carry the browser's value from before the last write, which
    # then comes back once); compared as sets: a widget may hand its value back reordered
    current = set(st.session_state.get(k("runs"), []))
    written = [set(w) for w in (f.get("compared"), f.get("before")) if w is not None]
    untouched = not written or current in written
    if mine:
        target = next((i for i in mine if i.status in ACTIVE), mine[0])
        if f.get("picked") is None or st.session_state.get(k("detail")) == f["picked"]:
            st.session_state[k("detail")] = f["picked"] = target.run_id
        if group and untouched and current != set(group):
            f["before"], f["compared"] = f.get("compared"), group
            st.session_state[k("runs")] = group
    # the launch ended (its runs are final, or it failed): stop following once the comparison shows
    # them as read back from the browser, or the user picked something else
    if not any(x.launch_id == f["launch"] for x in running) and (not untouched or not group or current == set(group)):
        st.session_state.pop(k("follow"), None)


def launches_panel() -> None:
    """The ``ccel`` commands this server started here in the last 15 minutes, and how they ended."""
    recent = [x for x in launcher.launches().values() if Path(x.root) == root and x.started > time.time() - 900]
    for launch in reversed(recent[-4:]):
        code = launch.returncode
        what = f"`ccel fit --resume {launch.run_id}`" if launch.run_id else f"`ccel fit` · group `{launch.group}`"
        head = f"Launched {what} · pid {launch.process.pid} · {time.time() - launch.started:.0f} s ago"
        if code is None:
            st.info(f"{head} — running; its runs appear below.", icon=":material/hourglass_top:")
        elif code == 0:
            st.success(f"{head} — done.", icon=":material/check_circle:")
        elif code == EXIT_CANCELLED:
            st.warning(f"{head} — cancelled.", icon=":material/cancel:")
        else:
            st.error(f"{head} — exited with code {code}:\n\n```\n{launcher.log_tail(launch.log_path, 12)}\n```")


def runs_section(infos: list[RunInfo]) -> None:
    st.subheader("Runs")
    # a static table (HTML, drawn with the same delta as the rest): an interactive grid redraws
    # asynchronously and showed a poll's older epoch beside the live list's newer one
    table = launcher.runs_table(store, infos).set_index("run_id")
    table["progress"] = table["progress"].map(lambda f: f"{100 * f:.0f}%")
    for m in ("acc", "nmi", "ari", "test_acc"):
        if m in table.columns:
            table[m] = pd.to_numeric(table[m], errors="coerce").map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    with st.container(key="cr-table", height=380 if len(table) > 8 else "content"):
        elements.text_table(table)
    recent_cut = time.time() - 600
    with st.container(key="cr-live"):
        for info in [i for i in infos if i.status in ACTIVE or i.updated >= recent_cut][:8]:
            total = info.epochs or 0
            done = " · ".join(
                f"{m} {info.final[m]:.4f}" for m in ("acc", "nmi") if isinstance(info.final.get(m), float)
            )
            text = f"`{info.run_id}` — **{info.status}** · epoch {info.epoch}/{total or '?'}" + (
                f" · {done}" if done else ""
            )
            st.progress(min(info.epoch / total, 1.0) if total else 0.0, text=text)


def compare_pick(infos: list[RunInfo], by_id: dict[str, RunInfo], label: dict[str, str]) -> list[Any]:
    """The runs chooser of the comparison (its chips show each run's status); the row's columns, for
    :func:`compare_section` to fill later."""
    st.subheader("Compare runs")
    chosen = [r for r in st.session_state.get(k("runs"), []) if r in by_id]
    if not chosen:  # default: the newest group
        chosen = [i.run_id for i in infos if i.group == infos[0].group][:10]
    st.session_state[k("runs")] = chosen
    c = st.columns([4, 1, 1])
    c[0].multiselect("runs", list(by_id), format_func=label.__getitem__, key=k("runs"))
    return c


def compare_section(c: list[Any], infos: list[RunInfo], by_id: dict[str, RunInfo]) -> None:
    selected = list(st.session_state[k("runs")])
    # each run's metrics up to the epoch of the snapshot, so curves and statuses tell the same moment
    frames = {}
    for rid in selected:
        m = store.metrics(rid)
        frames[rid] = m[m["epoch"] <= by_id[rid].epoch] if "epoch" in m.columns else m
    numeric = {col for f in frames.values() for col in f.columns if f[col].dtype.kind in "if"}
    configs = {rid: launcher.run_config(store, by_id[rid]) for rid in selected}
    objectives = sorted({launcher.objective_of(c) for c in configs.values()})
    # each method's own objective: not one scale across objectives
    hidden = tuple(m for m in launcher.OWN_SCALE if m in numeric) if len(objectives) > 1 else ()
    numeric -= set(hidden)
    metrics = sorted(numeric - {"epoch", "seconds"}) or ["acc"]
    if st.session_state.get(k("metric")) not in metrics:
        st.session_state[k("metric")] = "acc" if "acc" in metrics else metrics[0]
    c[1].selectbox("metric", metrics, key=k("metric"))
    bands = c[2].toggle(
        "mean ± std", value=True, key=k("bands"), help="one band per configuration over its seeds; off: every run"
    )
    metric = st.session_state[k("metric")]
    if not selected:
        st.caption("Choose runs to compare.")
        return
    if hidden:
        st.caption(
            f"{' and '.join(f'`{m}`' for m in hidden)} {'is' if len(hidden) == 1 else 'are'} not compared: the chosen "
            "runs train different objectives "
            f"({', '.join(objectives)}), each logging its own, on its own scale. Compare acc, nmi or ari — or "
            "choose runs of one method with the same weights."
        )
    groups = launcher.config_groups(configs)
    names = groups if bands else {rid: f"{groups[rid]} · seed {by_id[rid].seed} · {rid[-4:]}" for rid in selected}
    curves = pd.concat([f.assign(run_id=rid) for rid, f in frames.items()], ignore_index=True)
    if not any(metric in f.columns and len(f) for f in frames.values()):
        st.caption(f"No epoch with `{metric}` logged yet by the chosen runs.")
    else:
        with ui.shown_errors():
            fig = run_curves_figure(frames, metric, labels=names, bands=bands)
            ui.chart(fig, curves, f"runs_{metric}", key="cr-compare", height=420)
    chosen_infos = [by_id[rid] for rid in selected]
    summary = launcher.seed_summary(chosen_infos, configs)
    st.markdown("**Final metrics, mean ± std over seeds, per configuration**")
    shown_cols = [col for col in summary.columns if not col.endswith((" mean", " std")) and col not in hidden]
    st.dataframe(summary[shown_cols], hide_index=True, width="stretch")
    diff = launcher.config_diff(configs)
    if len(selected) > 1 and diff.shape[1] > 1:
        st.markdown("**Settings that differ between the compared runs**")
        st.dataframe(diff, hide_index=True, width="stretch", key=k("diff"))
    else:
        st.caption(f"The {len(selected)} compared run(s) have the same settings.")
    d = st.columns([1, 1, 1, 3])
    with d[0]:
        ui.table_download(summary, "runs_summary", "Summary CSV", key="cr-csv-summary")
    with d[1]:
        ui.table_download(curves, "runs_per_epoch", "Per-epoch CSV", key="cr-csv-epochs")
    with d[2]:
        ui.table_download(store.to_frame(infos), "runs", "All runs CSV", key="cr-csv-all")


def actions(info: RunInfo) -> None:
    """Cancel an active run; resume (to a total above the epochs done) or delete a stopped one."""
    rid = info.run_id
    if info.status in ACTIVE:
        if st.button("Cancel this run", icon=":material/stop:", key=k("cancel")):
            Run(store, rid).request_cancel()
            st.toast(f"Cancel requested for {rid}; it stops after the current batch.")
            st.rerun()
        return
    # a total above the epochs done: the planned total of a run stopped early, else twice as many;
    # keyed by the epochs done, so a finished resume offers a new total, not the one it just reached
    default = max(info.epochs or 0, 2 * info.epoch, info.epoch + 1)
    total = st.number_input(
        "total epochs for resume",
        1,
        100_000,
        value=default,
        key=k(f"resume_epochs_{rid}_{info.epoch}"),
        help=f"ccel fit --resume: continue from the last checkpoint (epoch {info.epoch}) up to this total, "
        f"which must be more than {info.epoch}",
    )
    b1, b2 = st.columns(2)
    if b1.button("Resume", icon=":material/replay:", key=k("resume"), help="ccel fit --resume RUN_ID"):
        with ui.shown_errors(ValueError, RuntimeError, FileNotFoundError):
            launch = launcher.launch_resume(store, info, int(total))
            st.session_state[k("follow")] = {"launch": launch.launch_id, "group": info.group, "run": rid}
            st.toast(f"Resuming {rid} (pid {launch.process.pid})")
            st.rerun()
    if b2.button("Delete", icon=":material/delete:", key=k("delete")):
        with ui.shown_errors(ValueError, RuntimeError):
            store.delete(rid)
            st.session_state.pop(k("detail"), None)
            st.rerun()


def finished_views(info: RunInfo) -> None:
    """A finished run's confusion matrix (classes × clusters) and a few examples per cluster."""
    try:
        data, labels, probs = launcher.finished_run(store, info)
    except (OSError, ValueError, KeyError) as exc:
        st.caption(f"No confusion matrix or examples: {exc}")
        return
    # the model's K: clusters no point went to are shown empty, not left out
    k_model = (
        probs.shape[1] if probs is not None else (launcher.run_config(store, info).get("n_clusters") or data.n_classes)
    )
    clusters = sorted(set(range(int(k_model))) | set(labels.tolist()))
    empty = [c for c in clusters if not (labels == c).any()]
    images = launcher.example_images(data)
    if empty:
        shown = [
            w
            for w, drawn in (
                ("a column of zeros", data.y is not None),
                ("an empty row of examples", images is not None),
            )
            if drawn
        ]
        several = len(empty) > 1
        st.caption(
            f"{'Clusters' if several else 'Cluster'} {', '.join(map(str, empty))} of K = {k_model}: empty (no point "
            f"was assigned to {'them' if several else 'it'})" + (f"; {' and '.join(shown)} each." if shown else ".")
        )
    if data.y is not None:
        matrix, classes, clusters = confusion_matrix(data.y.numpy(), labels, n_clusters=int(k_model))
        names = [data.class_names[c] if data.class_names else c for c in classes]
        table = pd.DataFrame(matrix, index=[f"class {c}" for c in names], columns=[f"cluster {c}" for c in clusters])
        fig = confusion_figure(matrix, names, clusters, title=f"Classes × clusters of {info.run_id}")
        ui.chart(fig, table.reset_index(names="class"), f"confusion_{info.run_id}", key="cr-confusion", height=420)
    else:
        st.caption("Unlabeled data: no confusion matrix.")
    if images is not None:
        fig = cluster_examples_figure(images, labels, probs=probs, clusters=clusters, per_cluster=8)
        rows = len(clusters)
        ui.chart(fig, None, f"examples_{info.run_id}", key="cr-examples", height=90 + 48 * rows)
    elif tuple(data.x.shape[1:]) == (2,):
        ui.chart(cluster_points_figure(data.x, labels), None, f"clusters_{info.run_id}", key="cr-points", height=420)
    else:
        st.caption("Cluster examples are drawn for image data and 2-D points.")


def details_pick(infos: list[RunInfo], by_id: dict[str, RunInfo], label: dict[str, str]) -> tuple[RunInfo, Any]:
    """The run chooser of the details and the run's status line; the column for the rest."""
    st.subheader("Run details")
    if st.session_state.get(k("detail")) not in by_id:
        st.session_state[k("detail")] = infos[0].run_id
    with st.container(key="cr-detail-pick"):
        st.selectbox("run", list(by_id), format_func=label.__getitem__, key=k("detail"))
    info = by_id[st.session_state[k("detail")]]
    with st.container(key="cr-detail-status"):
        st.markdown(f"**{info.status}** · epoch {info.epoch}/{info.epochs} · group `{info.group}` · pid {info.pid}")
    return info, st.container()


def details_section(info: RunInfo) -> None:
    left, right = st.columns([3, 2])
    with left:
        if info.error:
            (st.error if info.status == FAILED else st.warning)(info.error)
        elements.preformatted(launcher.run_log(store, info) or "(nothing logged by this run yet)")
    with right:
        box = elements.lazy_expander("config", k("config_open"))
        if box.open:
            with box:
                st.json(launcher.run_config(store, info))
        actions(info)
    if info.status == FINISHED:
        finished_views(info)


def body() -> None:
    running = launcher.running_launches(root)  # before the snapshot: a launch that ended wrote its runs
    infos = store.list()  # the one snapshot of this rerun; stale runs read failed here
    if launcher.busy(infos, running) != polling_fast:
        st.rerun()  # a full rerun sets the poll interval
    follow(infos, running)
    launches_panel()
    if not infos:
        if running:
            st.info("Waiting for the first run of the launch to start…", icon=":material/hourglass_top:")
        else:
            st.info(
                "No runs yet: launch one above, or from a terminal: "
                f"`ccel fit --data digits --method ccel --epochs 10 --runs-dir {root}`."
            )
        ui.write_url(PAGE, SPECS)
        return
    by_id = {i.run_id: i for i in infos}
    label = {
        i.run_id: f"{i.run_id} · {i.method} · {Path(i.data).name if i.data else '?'} · seed {i.seed} · "
        f"{i.status} {i.epoch}/{i.epochs if i.epochs is not None else '?'}"
        for i in infos
    }
    # Every element that states a run's status first, in one burst from the one snapshot (the
    # comparison's chips, the details' chooser and status line, the table, the live list); then the slower
    # parts (metrics files, charts, logs) into the places kept for them. So while a poll redraws the
    # page, no widget shows a newer epoch than another for longer than the burst takes.
    runs_slot, compare_head, compare_slot, details_head = st.container(), st.container(), st.container(), st.container()
    with compare_head:  # the choosers first: a select box redraws its text a moment after its delta
        columns = compare_pick(infos, by_id, label)
    with details_head:
        info, details_slot = details_pick(infos, by_id, label)
    with runs_slot:
        runs_section(infos)
    with compare_slot:
        compare_section(columns, infos, by_id)
    with details_slot:
        details_section(info)
    ui.write_url(PAGE, SPECS)


polling_fast = launcher.busy(store.list(), launcher.running_launches(root))
st.fragment(body, run_every=2.0 if polling_fast else 10.0)()
