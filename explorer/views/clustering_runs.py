"""Page 4 — clustering runs: launch ``ccel fit`` in the background, watch runs live, compare them,
cancel / resume / delete, export, and bring your own feature file."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st
import torch

from ccel_core.data import DATASETS
from ccel_core.models import MODELS
from ccel_core.objectives import METHODS
from ccel_core.plots import run_curves_figure
from ccel_core.runs import RunNotFoundError, RunStore
from ccel_core.training import TrainConfig
from explorer import common as ui
from explorer import launcher
from explorer.common import Param

PAGE = "cr"
SPECS = {"metric": Param("acc"), "runs": Param(())}
BUILT_IN = ("digits", "blobs", "moons", "circles", "anisotropic")
ACTIVE = ("created", "running")

TITLE = "Clustering runs"
CAPTION = "Runs execute as `ccel fit` processes in the background and write to the run store; this page polls the store, so runs started from the command line show up here too, and a run keeps going when you close the page."
k = ui.page(PAGE, SPECS, TITLE, CAPTION)

# --- the run store -------------------------------------------------------------------------------
if k("root") not in st.session_state:
    st.session_state[k("root")] = launcher.default_runs_dir()
st.text_input("Runs directory", key=k("root"), help="default: $CCEL_RUNS_DIR, else ./runs")
try:
    store = RunStore(str(st.session_state[k("root")]).strip() or launcher.default_runs_dir())
    store.mark_stale()
except (OSError, ValueError) as exc:
    st.error(f"Cannot use {st.session_state[k('root')]!r} as a run store: {exc}")
    st.stop()
root = store.root
infos = store.list()
st.caption(f"`{root}` · {len(infos)} run(s)")

# --- launch ---------------------------------------------------------------------------------------
features = launcher.saved_features(root)
with st.expander("Launch a run", expanded=not infos, icon=":material/rocket_launch:"):
    devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    vision = [d for d in DATASETS if d not in BUILT_IN]
    data_options = [*BUILT_IN, *features, *vision]

    def data_label(name: str) -> str:
        if name in features:
            info = features[name]
            return f"file: {info.get('original', Path(name).name)} ({Path(name).name})"
        return f"{name} (needs its files in $CCEL_DATA)" if name in vision else name

    with st.form("launch", border=False):
        a = st.columns([3, 2, 2, 1])
        data = a[0].selectbox("data", data_options, format_func=data_label, key=k("data"))
        method = a[1].selectbox(
            "method", METHODS, key=k("method"), help="ccel = ours (eq. 11, exact y-step; --y-solver em: the paper's EM)"
        )
        model = a[2].selectbox("model", MODELS, key=k("model"))
        epochs = a[3].number_input("epochs", 1, 1000, value=10, key=k("epochs"))
        b = st.columns([2, 2, 2, 2, 2, 2])
        seeds_text = b[0].text_input("seeds", value="0", key=k("seeds"), help="one run per seed, e.g. 0 1 2")
        lam = b[1].number_input(
            "λ",
            0.0,
            1e6,
            value=None,
            step=10.0,
            key=k("lam"),
            placeholder="paper default",
            help="fairness weight (ccel, miadm, sela, imsat); blank: the method's paper value",
        )
        lr = b[2].number_input("learning rate", 1e-6, 10.0, value=0.1, step=0.01, format="%.4g", key=k("lr"))
        batch = b[3].number_input("batch size", 2, 100_000, value=250, step=50, key=k("batch"))
        wd = b[4].number_input("weight decay", 0.0, 1.0, value=0.001, step=0.001, format="%.4g", key=k("wd"))
        device = b[5].selectbox("device", devices, key=k("device"))
        n_clusters = st.number_input(
            "clusters K (blank: the data's number of classes; needed for unlabeled files)",
            1,
            10_000,
            value=None,
            key=k("k"),
        )
        submitted = st.form_submit_button("Launch", type="primary", icon=":material/play_arrow:")
    if submitted:
        with ui.shown_errors():
            seeds = [int(s) for s in ui.parse_floats(seeds_text, "seeds")]
            config = TrainConfig(
                data=data,
                method=method,
                model=model,
                epochs=int(epochs),
                seed=seeds[0] if seeds else 0,
                lam=lam,
                lr=float(lr),
                batch_size=int(batch),
                weight_decay=float(wd),
                device=device,
                n_clusters=None if n_clusters is None else int(n_clusters),
            )
            launcher.launch_fit(root, config, seeds)

with st.expander("Upload a feature file (.npy, .npz, .csv)", icon=":material/upload_file:"):
    st.caption(
        "Rows are points, columns features; labels (optional) under `y`/`labels` in a .npz, or a CSV column. "
        "The file is checked by `ccel_core.data.load_feature_file` and stored in the run store only if valid."
    )
    u = st.columns([3, 2, 1, 1])
    upload = u[0].file_uploader("feature file", type=["npy", "npz", "csv"], key=k("upload"))
    label_column = u[1].text_input("CSV label column (name or index; blank: none)", key=k("label_column"))
    upload_k = u[2].number_input("K if unlabeled", 1, 10_000, value=None, key=k("upload_k"))
    standardize = u[3].checkbox("standardize", key=k("standardize"))
    if upload is not None:
        token = (upload.file_id, label_column, upload_k, standardize)
        if st.session_state.get(k("saved_token")) != token:
            try:
                path, info = launcher.save_features(
                    root,
                    upload.name,
                    upload.getvalue(),
                    label_column=label_column.strip() or None,
                    n_clusters=None if upload_k is None else int(upload_k),
                    standardize=standardize,
                )
            except (ValueError, FileNotFoundError) as exc:
                st.session_state.pop(k("saved_token"), None)
                st.error(f"Not saved: {exc}")
            else:
                st.session_state[k("saved_token")] = token
                st.session_state[k("saved_message")] = (
                    f"Saved `{path.name}`: {info['rows']} × {info['columns']}, "
                    + (f"{info['n_classes']} classes" if info["labeled"] else "unlabeled")
                    + ". Choose it as the data of a run above."
                )
                st.rerun()
        if st.session_state.get(k("saved_token")) == token:
            st.success(st.session_state.get(k("saved_message"), "Saved."))


# --- live: the runs table, polled ------------------------------------------------------------------
def signature(runs: list) -> tuple:
    """What the whole page depends on: every run's status, and which launches are still running."""
    running = sorted(x.launch_id for x in launcher.launches().values() if Path(x.root) == root and x.returncode is None)
    return tuple((i.run_id, i.status) for i in runs), tuple(running)


st.session_state[k("signature")] = signature(infos)
active = any(i.status in ACTIVE for i in infos) or bool(st.session_state[k("signature")][1])


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
        elif code == 130:
            st.warning(f"{head} — cancelled.", icon=":material/cancel:")
        else:
            st.error(f"{head} — exited with code {code}:\n\n```\n{launcher.log_tail(launch.log_path, 12)}\n```")


def live() -> None:
    """Poll the run store: table, progress of active runs, their curves; a change of the run set or
    of a status reruns the whole page (so the compare and action sections follow)."""
    store.mark_stale()
    launcher.link_logs(store)
    now = store.list()
    if signature(now) != st.session_state.get(k("signature")):
        st.rerun()
    launches_panel()
    st.subheader("Runs")
    table = launcher.runs_table(store)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=k("table"),
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
            "acc": st.column_config.NumberColumn(format="%.4f"),
            "nmi": st.column_config.NumberColumn(format="%.4f"),
            "ari": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    recent_cut = time.time() - 600
    shown = [i for i in now if i.status in ACTIVE or i.updated >= recent_cut][:8]
    for info in shown:
        total = info.epochs or 0
        metrics = " · ".join(f"{m} {info.final[m]:.4f}" for m in ("acc", "nmi") if isinstance(info.final.get(m), float))
        text = f"`{info.run_id}` — **{info.status}** · epoch {info.epoch}/{total or '?'}" + (
            f" · {metrics}" if metrics else ""
        )
        st.progress(min(info.epoch / total, 1.0) if total else 0.0, text=text)
    live_ids = [i.run_id for i in now if i.status in ACTIVE]
    if live_ids:
        frames = {rid: store.metrics(rid) for rid in live_ids}
        if any("acc" in f.columns for f in frames.values()):
            ui.chart(
                run_curves_figure(frames, "acc", title="Active runs: ACC per epoch"),
                lambda: pd.concat([f.assign(run_id=rid) for rid, f in frames.items()], ignore_index=True),
                "active_runs_acc",
                key="cr-live",
                height=360,
            )


st.fragment(live, run_every=2.0 if active else 10.0)()

if not infos:
    st.info(
        "No runs yet: launch one above, or from a terminal: "
        f"`ccel fit --data digits --method ccel --epochs 10 --runs-dir {root}`."
    )
    ui.write_url(PAGE, SPECS)
    st.stop()

# --- compare -------------------------------------------------------------------------------------------
st.subheader("Compare runs")
ids = [i.run_id for i in infos]
by_id = {i.run_id: i for i in infos}
chosen = [r for r in st.session_state.get(k("runs"), []) if r in by_id]
if not chosen:  # default: the newest group
    chosen = [i.run_id for i in infos if i.group == infos[0].group][:10]
st.session_state[k("runs")] = chosen


def run_label(rid: str) -> str:
    i = by_id[rid]
    return f"{rid} · {i.method} · {Path(i.data).name if i.data else '?'} · seed {i.seed} · {i.status}"


c = st.columns([4, 1])
c[0].multiselect("runs", ids, format_func=run_label, key=k("runs"))
selected = list(st.session_state[k("runs")])
frames = {rid: store.metrics(rid) for rid in selected}
metrics = sorted({col for f in frames.values() for col in f.columns if col not in ("epoch", "seconds")}) or ["acc"]
if st.session_state.get(k("metric")) not in metrics:
    st.session_state[k("metric")] = "acc" if "acc" in metrics else metrics[0]
c[1].selectbox("metric", metrics, key=k("metric"))
ui.write_url(PAGE, SPECS)
metric = st.session_state[k("metric")]
if selected:
    with ui.shown_errors():
        labels = {rid: f"{by_id[rid].method} · seed {by_id[rid].seed} · {rid[-4:]}" for rid in selected}
        curves = pd.concat([f.assign(run_id=rid) for rid, f in frames.items()], ignore_index=True)
        ui.chart(
            run_curves_figure(frames, metric, labels=labels), curves, f"runs_{metric}", key="cr-compare", height=420
        )
    summary = launcher.seed_summary(store, selected)
    st.markdown("**Final metrics, mean ± std over seeds, per configuration**")
    shown_cols = [col for col in summary.columns if not col.endswith((" mean", " std"))]
    st.dataframe(summary[shown_cols], hide_index=True, width="stretch")
    d = st.columns([1, 1, 1, 3])
    with d[0]:
        ui.table_download(summary, "runs_summary", "Summary CSV", key="cr-csv-summary")
    with d[1]:
        ui.table_download(curves, "runs_per_epoch", "Per-epoch CSV", key="cr-csv-epochs")
with st.columns([1, 5])[0]:
    ui.table_download(store.to_frame(), "runs", "All runs CSV", key="cr-csv-all")

# --- one run: details and actions ---------------------------------------------------------------------------
st.subheader("Run details")
if st.session_state.get(k("detail")) not in by_id:
    st.session_state[k("detail")] = ids[0]
st.selectbox("run", ids, format_func=run_label, key=k("detail"))
rid = st.session_state[k("detail")]
try:
    info = store.get(rid)
except RunNotFoundError as exc:
    st.error(str(exc))
    st.stop()
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{info.status}** · epoch {info.epoch}/{info.epochs} · group `{info.group}` · pid {info.pid}")
    if info.error:
        st.error(info.error)
    log = launcher.log_tail(launcher.run_log(store, rid))
    st.code(log or "(no log: runs started from a terminal print there)", language=None)
with right:
    with st.expander("config"):
        st.json(store.open(rid).config)
    if info.status in ACTIVE:
        if st.button("Cancel this run", icon=":material/stop:", key=k("cancel")):
            store.open(rid).request_cancel()
            st.toast(f"Cancel requested for {rid}; it stops after the current batch.")
            st.rerun()
    else:
        more = st.number_input(
            "total epochs for resume", 1, 10_000, value=max(int(info.epochs or 1), 1), key=k(f"resume_epochs_{rid}")
        )
        b1, b2 = st.columns(2)
        can_resume = info.status in ("cancelled", "failed") or int(more) > int(info.epochs or 0)
        if b1.button(
            "Resume",
            icon=":material/replay:",
            key=k("resume"),
            disabled=not can_resume,
            help="ccel fit --resume RUN_ID: continue from the last checkpoint",
        ):
            with ui.shown_errors(ValueError, RuntimeError, FileNotFoundError):
                launch = launcher.launch_resume(store, rid, int(more) if int(more) != info.epochs else None)
                st.toast(f"Resuming {rid} (pid {launch.process.pid})")
                time.sleep(0.5)
                st.rerun()
        if b2.button("Delete", icon=":material/delete:", key=k("delete")):
            with ui.shown_errors(ValueError, RuntimeError):
                store.delete(rid)
                st.session_state.pop(k("detail"), None)
                st.rerun()
