"""The clustering-runs page's two forms: launch ``ccel fit`` runs (its defaults and minima are
:class:`~ccel_core.training.TrainConfig`'s, its method help the method table's) and upload a feature
file into the run store."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st
import torch

from ccel_core.data import DATASETS
from ccel_core.models import MODELS
from ccel_core.names import DEFAULTS, METHOD, METHODS, SYNTHETIC
from ccel_core.runs import RunStore
from ccel_core.training import TrainConfig
from explorer import common as ui
from explorer import elements, launcher

__all__ = ["launch_form", "upload_form"]

BUILT_IN = ("digits", *SYNTHETIC)  # the data sets needing no download
LOW = {f: TrainConfig.bounds(f).low for f in ("epochs", "lam", "batch_size", "weight_decay", "n_clusters")}


def launch_form(k: Callable[[str], str], store: RunStore) -> None:
    """The "Launch a run" expander: one ``ccel fit`` process for the chosen seeds; its runs are
    followed once they appear (``k("follow")``)."""
    root = store.root
    features = launcher.saved_features(root)
    box = elements.lazy_expander(
        "Launch a run", k("launch_open"), expanded=not store.list(), icon=":material/rocket_launch:"
    )
    if not box.open:
        return
    with box:
        devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        vision = [d for d in DATASETS if d not in BUILT_IN]
        data_options = [*BUILT_IN, *features, *vision]

        def data_label(name: str) -> str:
            if name in features:
                info = features[name]
                return f"file: {info.get('original', Path(name).name)} ({Path(name).name})"
            return f"{name} (needs its files in $CCEL_DATA)" if name in vision else name

        with st.form("launch", border=False, enter_to_submit=False):  # a training starts only by its button
            a = st.columns([3, 2, 2, 1])
            data = a[0].selectbox("data", data_options, format_func=data_label, key=k("data"))
            method = a[1].selectbox(
                "method",
                METHODS,
                index=METHODS.index(TrainConfig.method),
                key=k("method"),
                help="\n".join(f"- **{m}**: {METHOD[m].summary}" for m in METHODS),
            )
            model = a[2].selectbox("model", MODELS, index=MODELS.index(TrainConfig.model), key=k("model"))
            epochs = a[3].number_input("epochs", LOW["epochs"], 1000, value=TrainConfig.epochs, key=k("epochs"))
            b = st.columns([2, 2, 2, 2, 2, 2])
            seeds_text = b[0].text_input(
                "seeds", value="0", key=k("seeds"), help="one run per seed: whole numbers, e.g. 0 1 2"
            )
            lam = b[1].number_input(
                "λ",
                LOW["lam"],
                1e6,
                value=None,
                step=10.0,
                key=k("lam"),
                placeholder="default",
                help="fairness weight; blank: the method's paper value ("
                + ", ".join(f"{m} {d['lam']:g}" for m, d in DEFAULTS.items() if "lam" in d)
                + ")",
            )
            lr = b[2].number_input(
                "learning rate", 1e-6, 10.0, value=TrainConfig.lr, step=0.01, format="%.4g", key=k("lr")
            )
            batch = b[3].number_input(
                "batch size",
                LOW["batch_size"],
                100_000,
                value=TrainConfig.batch_size,
                step=50,
                key=k("batch"),
            )
            wd = b[4].number_input(
                "weight decay",
                LOW["weight_decay"],
                1.0,
                value=TrainConfig.weight_decay,
                step=0.001,
                format="%.4g",
                key=k("wd"),
            )
            device = b[5].selectbox("device", devices, key=k("device"))
            n_clusters = st.number_input(
                "clusters K (blank: the data's number of classes; needed for unlabeled files)",
                LOW["n_clusters"],
                10_000,
                value=None,
                key=k("k"),
            )
            submitted = st.form_submit_button("Launch", type="primary", icon=":material/play_arrow:")
        if submitted:
            with ui.shown_errors():
                seeds = launcher.parse_seeds(seeds_text)
                config = TrainConfig(
                    data=data,
                    method=method,
                    model=model,
                    epochs=int(epochs),
                    seed=seeds[0],
                    lam=lam,
                    lr=float(lr),
                    batch_size=int(batch),
                    weight_decay=float(wd),
                    device=device,
                    n_clusters=None if n_clusters is None else int(n_clusters),
                )
                launch = launcher.launch_fit(root, config, seeds)
                # select its runs once they appear (see follow())
                st.session_state[k("follow")] = {"launch": launch.launch_id, "group": launch.group}


def upload_form(k: Callable[[str], str], root: Path) -> None:
    """The upload expander: a feature file checked and saved into the run store ``root``."""
    box = elements.lazy_expander(
        "Upload a feature file (.npy, .npz, .csv)", k("upload_open"), icon=":material/upload_file:"
    )
    if not box.open:
        return
    with box:
        st.caption(
            "Rows are points, columns features; labels (optional) under `y`/`labels` in a .npz, or a CSV column. "
            "The file is checked by `ccel_core.data.load_feature_file` and stored in the run store only if valid "
            f"(at most {launcher.MAX_UPLOAD_MB} MB)."
        )
        u = st.columns([3, 2, 1, 1])
        upload = u[0].file_uploader("feature file", type=["npy", "npz", "csv"], key=k("upload"))
        is_csv = upload is not None and upload.name.lower().endswith(".csv")
        columns = launcher.csv_columns(upload.getvalue()) if is_csv else {}
        NO_LABELS = "(none: unlabeled)"
        u[1].selectbox(
            "CSV label column",
            [NO_LABELS, *columns],
            key=k("label_column"),
            disabled=not columns,
            help="the column holding the class labels (applies at once); the file's other columns are the features",
        )
        upload_k = u[2].number_input("K if unlabeled", LOW["n_clusters"], 10_000, value=None, key=k("upload_k"))
        standardize = u[3].checkbox("standardize", key=k("standardize"))
        label_column = columns.get(str(st.session_state[k("label_column")])) if columns else None
        if upload is not None:
            token = (str(root), upload.file_id, label_column, upload_k, standardize)
            if st.session_state.get(k("saved_token")) != token:
                try:
                    path, info = launcher.save_features(
                        root,
                        upload.name,
                        upload.getvalue(),
                        label_column=label_column,
                        n_clusters=None if upload_k is None else int(upload_k),
                        standardize=standardize,
                    )
                except (ValueError, OSError) as exc:  # a bad file, or the store cannot take it (disk full, …)
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
