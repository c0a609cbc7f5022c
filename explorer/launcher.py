"""Page 4's plumbing: the confined runs folder, ``ccel fit`` subprocesses, uploaded feature files,
and the run store's tables (seed groups, settings that differ, finished-run views).

Runs execute outside the Streamlit script thread, as ``python -m ccel_core.cli fit …`` in a new
session (``start_new_session=True``), so they survive page reloads and even a server restart; they
write to the run store, which the page polls. Each run's own output is in ``<run>/log.txt``
(``ccel fit`` writes it). Layout added to a run store (names that cannot be run ids, which start
with a letter or digit)::

    _launches/<launch_id>.log    stdout + stderr of one ``ccel`` command started by the page
    _features/<name>-<hash>.npz  uploaded feature files, validated and re-saved as x (and y)
    _features/<name>-<hash>.json what the upload held (rows, columns, classes, original name)

The page only ever writes under one root, chosen when the server starts (``$CCEL_RUNS_DIR``,
else ``./runs``): :func:`runs_folder` turns the folder typed on the page into a sub-folder of it
or refuses it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ccel_core.cli.flags import config_argv
from ccel_core.runs import CONFIG_FILE, LOG_FILE, METRICS_FILE, Run, RunInfo, RunStore, atomic_write
from ccel_core.summary import summarize
from ccel_core.training import TrainConfig

REPO = Path(__file__).resolve().parent.parent
LAUNCH_DIR, FEATURE_DIR = "_launches", "_features"
# TrainConfig fields that do not define "the same experiment" across seeds.
NOT_CONFIG = ("seed", "device", "eval_every", "root", "amp")
SUMMARY_METRICS = ("acc", "nmi", "ari", "test_acc", "loss")


MAX_UPLOAD_MB = 50  # the largest feature file save_features takes (ask for server.maxUploadSize = 50 as well)
MAX_STEM = 80  # an upload is stored as <stem>-<8 hex>.npz/.json: at most 94 bytes, far below NAME_MAX (255)
MAX_FOLDER_DEPTH, MAX_FOLDER_NAME = 16, 64  # a runs sub-folder: levels, characters per folder name
_FOLDER_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
ACTIVE = ("created", "running")


def default_runs_dir() -> str:
    """``$CCEL_RUNS_DIR``, else ``./runs`` (the run store's own default)."""
    return os.environ.get("CCEL_RUNS_DIR") or "runs"


def runs_base() -> Path:
    """The root the page may write under: ``$CCEL_RUNS_DIR`` (else ``./runs``) of the server process."""
    return Path(default_runs_dir()).expanduser().absolute()


def shorten(text: str, limit: int = 120) -> str:
    """``text`` for a message: whole up to ``limit`` characters, else its start and ``…``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runs_folder(base: Path, name: str) -> Path:
    """The run-store folder ``name`` inside ``base``: ``""`` is ``base`` itself, else a relative
    path of at most ``MAX_FOLDER_DEPTH`` plain names (letters, digits, ``. _ -``, each starting with
    a letter or digit, at most ``MAX_FOLDER_NAME`` characters).

    ``ValueError`` naming the value (and the limit) for an absolute path, ``~``, ``.``/``..``, other
    characters, too many levels, too long a name, a folder that a symbolic link leads outside
    ``base``, or the folder of a run. Returns the resolved path (links inside ``base`` followed).
    """
    text = str(name or "").strip()
    if not text:
        return base
    shown = shorten(text)
    hint = f"give a sub-folder of {base} as a relative name, e.g. experiments/week1"
    if text.startswith(("/", "~", "\\")) or os.path.isabs(text) or re.match(r"[A-Za-z]:", text):
        raise ValueError(f"runs folder {shown!r} is an absolute path; {hint}")
    parts = [p for p in re.split(r"[/\\]", text) if p]
    if len(parts) > MAX_FOLDER_DEPTH:
        raise ValueError(
            f"runs folder {shown!r} has {len(parts)} levels, more than {MAX_FOLDER_DEPTH} levels of folders; {hint}"
        )
    for part in parts:
        if part in (".", ".."):
            raise ValueError(f"runs folder {shown!r}: {part!r} is not allowed; {hint}")
        if len(part) > MAX_FOLDER_NAME:
            raise ValueError(
                f"runs folder {shown!r}: the folder name {shorten(part, 40)!r} ({len(part)} characters) is longer "
                f"than {MAX_FOLDER_NAME} characters; {hint}"
            )
        if not _FOLDER_PART.fullmatch(part):
            raise ValueError(
                f"runs folder {shown!r}: {part!r} is not a plain folder name (letters, digits, '.', '_' and '-', "
                f"starting with a letter or digit); {hint}"
            )
    real_base, folder = base.resolve(), base.joinpath(*parts).resolve()
    if folder != real_base and real_base not in folder.parents:
        raise ValueError(f"runs folder {shown!r} leads outside {base} (to {folder}, through a symbolic link); {hint}")
    for above in [folder, *folder.parents]:
        if above == real_base:
            break
        if (above / CONFIG_FILE).is_file() and (above / METRICS_FILE).is_file():
            raise ValueError(f"runs folder {shown!r} is (inside) the folder of the run {above.name}; {hint}")
    return folder


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


def parse_seeds(text: str) -> list[int]:
    """The seeds typed on the page: whole numbers ``0 … 2³¹−1`` separated by spaces or commas, no
    repeats; ``ValueError`` naming the first bad entry ("0.5" is refused, not read as seed 0)."""
    from explorer.common import parse_ints

    seeds = list(parse_ints(text, "seeds", lo=0, hi=2**31 - 1))
    check_seeds(seeds)
    return seeds


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
    group = time.strftime("app-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(2)
    return _start(root, fit_command(root, config, seeds, group=group), group)


def launch_resume(store: RunStore, info: RunInfo, epochs: Optional[int] = None) -> Launch:
    """Start ``ccel fit --resume RUN_ID`` (``--epochs N``: the new total). ``ValueError`` (nothing
    started) when the run is active, or when the total does not exceed its ``info.epoch`` epochs
    done — the command refuses that too. The run's output goes to its own log (``ccel fit``
    writes it); the command's output to ``_launches/<launch_id>.log``."""
    if info.status in ACTIVE:
        raise ValueError(f"run {info.run_id} is {info.status}; cancel it before resuming it")
    total = info.epochs if epochs is None else int(epochs)
    if total is None or total <= info.epoch:
        raise ValueError(
            f"run {info.run_id} has {info.epoch} epoch(s) done: the total epochs for the resume ({total}) "
            f"must be more than {info.epoch}"
        )
    command = [
        sys.executable,
        "-m",
        "ccel_core.cli",
        "fit",
        "--resume",
        info.run_id,
        "--runs-dir",
        str(store.root),
        "--no-progress",
    ]
    if total != info.epochs:
        command += ["--epochs", str(total)]
    return _start(store.root, command, info.group, run_id=info.run_id)


def _start(root: Path, command: list[str], group: Optional[str], *, run_id: Optional[str] = None) -> Launch:
    launch_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
    log_path = root / LAUNCH_DIR / f"{launch_id}.log"
    process = _popen(command, root, log_path)
    launch = Launch(launch_id, command, root, log_path, group, time.time(), process, run_id=run_id)
    launches()[launch_id] = launch
    return launch


def running_launches(root: Path) -> list[Launch]:
    """This server's launches into ``root`` whose process is still running (polling reaps the others)."""
    return [x for x in list(launches().values()) if Path(x.root) == root and x.returncode is None]


def busy(infos: Sequence[RunInfo], running: Sequence[Launch]) -> bool:
    """Whether the page should poll fast: a run is active or a launch still runs."""
    return bool(running) or any(i.status in ACTIVE for i in infos)


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


def run_log(info: RunInfo, lines: int = 30) -> str:
    """The end of the run's own log (``<run>/log.txt``; '' when it has none)."""
    return log_tail(info.path / LOG_FILE, lines)


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
    if len(content) > MAX_UPLOAD_MB * 2**20:
        raise ValueError(
            f"{file_name}: {len(content) / 2**20:.1f} MB is more than the {MAX_UPLOAD_MB} MB an upload may hold"
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
    path = folder / f"{stored_stem(file_name)}-{hashlib.sha256(data).hexdigest()[:8]}.npz"
    info = {
        "original": file_name,
        "rows": int(arrays["x"].shape[0]),
        "columns": int(arrays["x"].shape[1]),
        "labeled": ds.y is not None,
        "n_classes": int(ds.n_classes),
        "standardized": bool(standardize),
    }
    for target, payload in ((path.with_suffix(".json"), json.dumps(info, indent=2).encode()), (path, data)):
        atomic_write(target, lambda f: f.write(payload))  # noqa: B023 - called at once, inside the loop
    return path, info


def stored_stem(file_name: str) -> str:
    """The stem an upload is stored under: its name's stem in letters, digits and ``. _ -``
    (``features`` when nothing is left). A stem longer than ``MAX_STEM`` characters is cut and ends
    in a hash of the whole name instead, so that two long names stay apart."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).stem).strip("._-") or "features"
    if len(stem) > MAX_STEM:
        digest = hashlib.sha256(file_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = stem[: MAX_STEM - len(digest) - 1].rstrip("._-") + "-" + digest
    return stem


def csv_columns(content: bytes, delimiter: str = ",") -> dict[str, str]:
    """The label-column choices of an uploaded CSV, ``{shown name: label_column value}``: the header
    names, or ``column 1 … n`` (values ``"0" … "n-1"``) when the first row is numeric. ``{}`` when
    the start of the file is not a readable CSV (saving it then reports why)."""
    try:
        text = content[:65_536].decode("utf-8-sig")
        first = next((row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return {}
    try:
        [float(c) for c in first]
    except ValueError:
        names = [c.strip() for c in first]
        return {name: name for name in names if name}
    return {f"column {j + 1}": str(j) for j in range(len(first))}


def saved_features(root: Path) -> dict[str, dict]:
    """Saved feature files of this store: ``{path: info}`` (newest first)."""
    folder = root / FEATURE_DIR
    out = {}
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []:
        try:
            info = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError, RecursionError):  # a missing, broken or hand-edited description
            info = None
        out[str(path)] = info if isinstance(info, dict) else {"original": path.name}
    return out


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------


def runs_table(store: RunStore, infos: Sequence[RunInfo]) -> pd.DataFrame:
    """The runs ``infos`` (one snapshot of the store) for display: id, status, progress, data,
    method, model, seed, final metrics."""
    df = store.to_frame(list(infos))
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


def run_config(info: RunInfo) -> dict:
    """The run's stored config (``{}`` when unreadable, e.g. a run being deleted)."""
    try:
        cfg = json.loads((info.path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def _text(key: str, value: Any) -> str:
    """A config value as comparable, displayable text (the data file as its name; other paths, e.g.
    two weights files of the same name in different folders, stay whole so they stay apart)."""
    if isinstance(value, str):
        return Path(value).name if key == "data" and os.sep in value else value
    return "default" if value is None else json.dumps(value, sort_keys=True)


def _experiments(configs: Mapping[str, dict]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``run_id → settings`` without ``NOT_CONFIG`` (as text), and the settings other than method,
    data and model that differ between them."""
    exps = {rid: {k: _text(k, v) for k, v in cfg.items() if k not in NOT_CONFIG} for rid, cfg in configs.items()}
    keys = sorted({k for e in exps.values() for k in e} - {"method", "data", "model"})
    return exps, [k for k in keys if len({e.get(k, "default") for e in exps.values()}) > 1]


def config_groups(configs: Mapping[str, dict]) -> dict[str, str]:
    """``run_id → label`` of its experiment: runs whose configs differ only in the seed (and in
    ``NOT_CONFIG``: device, evaluation schedule, data root, amp) share a label. The label names
    method · data · model and every other setting that differs between the runs."""
    exps, varying = _experiments(configs)
    return {
        rid: " · ".join(
            [e.get("method", "?"), e.get("data", "?"), e.get("model", "?")]
            + [f"{k}={e.get(k, 'default')}" for k in varying]
        )
        for rid, e in exps.items()
    }


def config_diff(configs: Mapping[str, dict]) -> pd.DataFrame:
    """The settings that differ between the runs ``configs`` (``run_id → config``): one row per run,
    ``run_id`` then one column per differing setting (as text); no setting columns when they agree."""
    texts = {rid: {k: _text(k, v) for k, v in cfg.items()} for rid, cfg in configs.items()}
    keys = list(dict.fromkeys(k for t in texts.values() for k in t))
    differ = [k for k in keys if len({t.get(k, "—") for t in texts.values()}) > 1]
    return pd.DataFrame(
        [{"run_id": rid, **{k: t.get(k, "—") for k in differ}} for rid, t in texts.items()],
        columns=["run_id", *differ],
    )


def objective_of(config: Mapping[str, Any]) -> str:
    """What a run's logged ``loss`` measures: its method's own training objective (collision CE +
    fairness for ccel, Shannon CE + KL for miadm, MI for migd, …; for supervised runs also the CE).
    Losses of different objectives are not on one scale and are never compared."""
    method = str(config.get("method", "?"))
    return f"{method} ({config.get('loss') or 'collision'} CE)" if method == "supervised" else method


def seed_summary(infos: Sequence[RunInfo], configs: Mapping[str, dict]) -> pd.DataFrame:
    """Final metrics mean ± std over seeds (ddof = 1, :func:`ccel_core.summary.summarize`), one row
    per configuration (:func:`config_groups`): data, method, model and the settings that differ,
    ``runs``, ``seeds``, then ``<metric>`` (formatted), ``<metric> mean`` and ``<metric> std``."""
    if not infos:
        return pd.DataFrame()
    chosen = {i.run_id: configs.get(i.run_id, {}) for i in infos}
    groups, (exps, varying) = config_groups(chosen), _experiments(chosen)
    metrics = [m for m in SUMMARY_METRICS if summarize(i.final.get(m) for i in infos).n]
    out = []
    for label in dict.fromkeys(groups.values()):
        part = [i for i in infos if groups[i.run_id] == label]
        row: dict[str, Any] = {k: exps[part[0].run_id].get(k, "default") for k in ["data", "method", "model", *varying]}
        row["runs"] = len(part)
        row["seeds"] = " ".join(str(s) for s in sorted(i.seed for i in part if i.seed is not None))
        for m in metrics:
            summary = summarize(i.final.get(m) for i in part)
            row[f"{m} mean"], row[f"{m} std"], row[m] = summary.mean, summary.std, summary.format()
        out.append(row)
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# a finished run: its data, assignments and examples
# ----------------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Loading the run's data…")
def _run_data(config_text: str) -> Any:
    """The data set of a stored config (shared by the sessions; a few kept)."""
    from ccel_core.training.build import load_config_data

    return load_config_data(TrainConfig.from_dict(json.loads(config_text)))


def finished_run(store: RunStore, info: RunInfo) -> tuple[Any, np.ndarray, Optional[np.ndarray]]:
    """``(dataset, assignments, probs or None)`` of a finished run; ``FileNotFoundError`` without
    saved assignments, ``ValueError`` when its data cannot be loaded or does not match them."""
    labels, probs = Run(store, info.run_id).load_assignments()
    text = (info.path / CONFIG_FILE).read_text(encoding="utf-8")
    data = _run_data(text)
    if len(data) != len(labels):
        raise ValueError(f"run {info.run_id}: {len(labels)} saved assignments for the {len(data)} points of its data")
    return data, labels, probs


def example_images(data: Any) -> Optional[Any]:
    """The images of a data set for :func:`~ccel_core.plots.runs.cluster_examples_figure`
    (``(N, C, H, W)``; digits' 64 features as 8 × 8), or None for other features."""
    if data.kind == "images":
        return data.x
    if data.name == "digits" and tuple(data.x.shape[1:]) == (64,):
        return data.x.reshape(-1, 8, 8)
    return None
