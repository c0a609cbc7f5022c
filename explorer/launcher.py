"""Page 4's plumbing: launch ``ccel fit`` subprocesses, keep their logs, save uploaded feature files,
and summarize runs over seeds.

Runs execute outside the Streamlit script thread, as ``python -m ccel_core.cli fit …`` in a new
session (``start_new_session=True``), so they survive page reloads and even a server restart; they
write to the run store, which the page polls. Layout added to a run store (names that cannot be run
ids, which start with a letter or digit)::

    _launches/<launch_id>.log    stdout + stderr of one ``ccel fit`` command (hard-linked into each
                                 of its runs as ``<run_id>/log.txt`` once the run folder exists)
    _features/<name>-<hash>.npz  uploaded feature files, validated and re-saved as x (and y)
    _features/<name>-<hash>.json what the upload held (rows, columns, classes, original name)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ccel_core.cli.flags import config_argv
from ccel_core.runs import RunStore
from ccel_core.summary import summarize
from ccel_core.training import TrainConfig

REPO = Path(__file__).resolve().parent.parent
LAUNCH_DIR, FEATURE_DIR = "_launches", "_features"
# TrainConfig fields that do not define "the same experiment" across seeds.
NOT_CONFIG = ("seed", "device", "eval_every", "root", "amp")
SUMMARY_METRICS = ("acc", "nmi", "ari", "test_acc", "loss")


def default_runs_dir() -> str:
    """``$CCEL_RUNS_DIR``, else ``./runs`` (the run store's own default)."""
    return os.environ.get("CCEL_RUNS_DIR") or "runs"


# ----------------------------------------------------------------------------------------------
# launching
# ----------------------------------------------------------------------------------------------


@dataclass
class Launch:
    """One ``ccel`` subprocess started by this server process."""

    launch_id: str
    command: list[str]
    root: Path
    log_path: Path
    group: Optional[str]
    started: float
    process: subprocess.Popen = field(repr=False)
    run_id: Optional[str] = None  # the resumed run, for ``ccel fit --resume``

    @property
    def returncode(self) -> Optional[int]:
        """None while running (polling also reaps the finished child)."""
        return self.process.poll()


@st.cache_resource(show_spinner=False)
def launches() -> dict[str, Launch]:
    """Every launch of this server process, by id (shared by all sessions)."""
    return {}


def fit_command(root: Path, config: TrainConfig, seeds: Sequence[int], *, group: Optional[str] = None) -> list[str]:
    """The ``python -m ccel_core.cli fit …`` argument list that runs ``config`` once per seed: the
    CLI's own flags for every field that differs from its default (:func:`ccel_core.cli.flags.config_argv`)."""
    cmd = [
        sys.executable,
        "-m",
        "ccel_core.cli",
        "fit",
        *config_argv(config, skip=("seed",)),
        "--runs-dir",
        str(root),
        "--no-progress",
    ]
    seeds = [int(s) for s in seeds]
    cmd += ["--seed", str(seeds[0])] if len(seeds) == 1 else ["--seeds", *map(str, seeds)]
    return cmd + (["--group", group] if group is not None else [])


def check_seeds(seeds: Sequence[int]) -> None:
    """``ValueError`` unless ``seeds`` is a non-empty list without repeats."""
    if not seeds:
        raise ValueError("seeds: enter at least one seed, e.g. 0 or 0 1 2")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {' '.join(map(str, seeds))} repeat a seed")


def _popen(command: list[str], root: Path, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "CCEL_RUNS_DIR": str(root),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )


def launch_fit(root: Path, config: TrainConfig, seeds: Sequence[int]) -> Launch:
    """Start ``ccel fit`` for a (validated) ``config``, one run per seed; its runs share a new group."""
    check_seeds(seeds)
    launch_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
    group = f"app-{launch_id}"
    command = fit_command(root, config, seeds, group=group)
    log_path = root / LAUNCH_DIR / f"{launch_id}.log"
    launch = Launch(launch_id, command, root, log_path, group, time.time(), _popen(command, root, log_path))
    launches()[launch_id] = launch
    return launch


def launch_resume(store: RunStore, run_id: str, epochs: Optional[int] = None) -> Launch:
    """Start ``ccel fit --resume RUN_ID`` (``--epochs`` raises the total); output appends to the run's log."""
    run = store.open(run_id)
    command = [
        sys.executable,
        "-m",
        "ccel_core.cli",
        "fit",
        "--resume",
        run_id,
        "--runs-dir",
        str(store.root),
        "--no-progress",
    ]
    if epochs is not None:
        command += ["--epochs", str(int(epochs))]
    launch_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
    launch = Launch(
        launch_id,
        command,
        store.root,
        run.log_path,
        run.info.group,
        time.time(),
        _popen(command, store.root, run.log_path),
        run_id=run_id,
    )
    launches()[launch_id] = launch
    return launch


def link_logs(store: RunStore) -> None:
    """Give every run of an app launch its log: hard-link the launch log into ``<run>/log.txt``."""
    for launch in list(launches().values()):
        if launch.run_id is not None or launch.group is None or Path(launch.root) != store.root:
            continue
        for info in store.list(group=launch.group):
            target = info.path / "log.txt"
            if info.path.is_dir() and not target.exists() and launch.log_path.exists():
                try:
                    os.link(launch.log_path, target)
                except OSError:
                    pass  # e.g. no hard links on this file system: the launch log is shown instead


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file ('' when absent)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 64_000, 0))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_log(store: RunStore, run_id: str) -> Path:
    """Where a run's output is: ``<run>/log.txt``, else the log of the app launch that made it."""
    info = store.get(run_id)
    path = info.path / "log.txt"
    if path.exists():
        return path
    for launch in launches().values():
        if launch.group is not None and launch.group == info.group:
            return launch.log_path
    return path


# ----------------------------------------------------------------------------------------------
# uploaded feature files
# ----------------------------------------------------------------------------------------------


def save_features(
    root: Path,
    file_name: str,
    content: bytes,
    *,
    label_column: Optional[str] = None,
    n_clusters: Optional[int] = None,
    standardize: bool = False,
) -> tuple[Path, dict]:
    """Validate an uploaded ``.npy/.npz/.csv`` with :func:`ccel_core.data.load_feature_file`, then
    save it atomically as ``_features/<name>-<hash>.npz`` (``x``, and ``y`` when labeled).

    Nothing is stored when validation fails (the library's ``ValueError`` propagates); the upload is
    read from a temporary file that is always removed. Returns ``(path, info)``.
    """
    from ccel_core.data import load_feature_file
    from ccel_core.data.features import FEATURE_SUFFIXES

    suffix = Path(file_name).suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise ValueError(
            f"{file_name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(FEATURE_SUFFIXES)}"
        )
    folder = root / FEATURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{secrets.token_hex(4)}{suffix}"
    try:
        tmp.write_bytes(content)
        column: Any = None
        if label_column:
            column = int(label_column) if label_column.lstrip("-").isdigit() else label_column
        ds = load_feature_file(tmp, label_column=column, n_clusters=n_clusters, standardize=standardize)
    except ValueError as exc:  # name the user's file, not the temporary one
        raise ValueError(str(exc).replace(str(tmp), file_name)) from None
    finally:
        tmp.unlink(missing_ok=True)
    arrays = {"x": ds.x.reshape(len(ds.x), -1).numpy().astype(np.float32)}
    if ds.y is not None:
        arrays["y"] = ds.y.numpy().astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).stem).strip("._-") or "features"
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.npz"
    info = {
        "original": file_name,
        "rows": int(arrays["x"].shape[0]),
        "columns": int(arrays["x"].shape[1]),
        "labeled": ds.y is not None,
        "n_classes": int(ds.n_classes),
        "standardized": bool(standardize),
    }
    for target, payload in ((path.with_suffix(".json"), json.dumps(info, indent=2).encode()), (path, data)):
        part = target.with_name(f".{target.name}.{secrets.token_hex(3)}.tmp")
        part.write_bytes(payload)
        os.replace(part, target)
    return path, info


def saved_features(root: Path) -> dict[str, dict]:
    """Saved feature files of this store: ``{path: info}`` (newest first)."""
    folder = root / FEATURE_DIR
    out = {}
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []:
        try:
            info = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            info = {"original": path.name}
        out[str(path)] = info
    return out


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------


def runs_table(store: RunStore) -> pd.DataFrame:
    """The store's runs for display: id, status, progress, data, method, model, seed, final metrics."""
    df = store.to_frame()
    if df.empty:
        return pd.DataFrame(
            columns=[
                "run_id",
                "status",
                "progress",
                "data",
                "method",
                "model",
                "seed",
                "epoch",
                "epochs",
                "acc",
                "nmi",
                "ari",
                "group",
                "created",
            ]
        )
    df["data"] = df["data"].map(lambda d: Path(d).name if isinstance(d, str) and os.sep in d else d)
    epochs = pd.to_numeric(df["epochs"], errors="coerce")
    df["progress"] = (pd.to_numeric(df["epoch"], errors="coerce") / epochs.where(epochs > 0)).clip(0, 1).fillna(0.0)
    df["created"] = df["created"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    cols = ["run_id", "status", "progress", "data", "method", "model", "seed", "epoch", "epochs"]
    cols += [m for m in ("acc", "nmi", "ari", "test_acc") if m in df.columns] + ["group", "created", "error"]
    return df[[c for c in cols if c in df.columns]]


def seed_summary(store: RunStore, run_ids: Sequence[str]) -> pd.DataFrame:
    """Final metrics mean ± std over seeds, one row per configuration (runs whose stored configs
    differ only in the seed, the device or the evaluation schedule form one group)."""
    rows, configs = [], []
    for rid in run_ids:
        info = store.get(rid)
        try:
            cfg = store.open(rid).config
        except (OSError, ValueError, KeyError):
            cfg = {}
        cfg = {
            k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
            for k, v in cfg.items()
            if k not in NOT_CONFIG
        }
        if isinstance(cfg.get("data"), str) and os.sep in cfg["data"]:
            cfg["data"] = Path(cfg["data"]).name
        configs.append(cfg)
        rows.append(
            {"run_id": rid, "seed": info.seed, "status": info.status, **{m: info.final.get(m) for m in SUMMARY_METRICS}}
        )
    if not rows:
        return pd.DataFrame()
    cfg_frame = pd.DataFrame(configs).astype(object).where(lambda d: d.notna(), "default")
    keys = [c for c in cfg_frame.columns if c in ("data", "method", "model") or cfg_frame[c].astype(str).nunique() > 1]
    df = pd.concat([cfg_frame[keys], pd.DataFrame(rows)], axis=1)
    metrics = [m for m in SUMMARY_METRICS if pd.to_numeric(df[m], errors="coerce").notna().any()]
    out = []
    for values, part in df.groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        row["runs"] = len(part)
        row["seeds"] = " ".join(str(s) for s in sorted(part["seed"].dropna().astype(int)))
        for m in metrics:
            summary = summarize(part[m])
            row[f"{m} mean"], row[f"{m} std"], row[m] = summary.mean, summary.std, summary.format()
        out.append(row)
    return pd.DataFrame(out)
