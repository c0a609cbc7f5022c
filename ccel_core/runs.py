"""Run store: a SQLite index plus one folder per run, shared by the trainer, the CLI and the app.

Layout (root = ``RunStore.root``: the ``root`` argument, else ``$CCEL_RUNS_DIR``, else ``./runs``)::

    index.sqlite               one row per run (WAL mode); the source of truth for status/epoch/final
    <run_id>/run.json          the run's own record of its row (status, pid, host, error, final, group,
                               name, created, updated), rewritten with every status change: the index
                               can be rebuilt from the folders (``RunStore.reindex``)
    <run_id>/config.json       the full run config
    <run_id>/metrics.jsonl     one JSON object per logged epoch: {"epoch": e, <metrics>...}
    <run_id>/checkpoints/      last.pt (atomic: temp file + os.replace), optional epoch_XXXX.pt
    <run_id>/assignments.npy   final cluster assignments (int64); probs.npy optional
    <run_id>/log.txt           the run's own output (``ccel fit`` writes it; see ``Run.log_path``)
    <run_id>/CANCEL            exists once a cancel was requested

Concurrency: every call opens its own short-lived SQLite connection (busy timeout 30 s), so stores and
runs can be pickled, used from threads and from many processes; writes are single ``BEGIN IMMEDIATE``
transactions. Each run has one writer (the process that called ``Run.start``) and any number of
readers. WAL needs a local file system (not NFS).

Stale runs: a ``running`` run of this host whose process is gone (pid dead or a zombie: killed by
SIGKILL, out of memory, a crash of the machine's session) can never record its end. ``list()`` and
``get()`` (and so ``to_frame``, ``open``, …) turn such a run ``failed`` in the index the moment they
read it, with an error saying the process died, so that every reader (CLI, app, notebook) reports
the same status; ``mark_stale()`` does it for the whole store. Runs of other hosts are not checked.

Lost index: the index is a cache of the run folders. Opening a store whose ``index.sqlite`` is missing
or empty (0 bytes) while run folders exist rebuilds it from them (``reindex``); ``ccel runs reindex``
(``RunStore.rebuild_index``) does it on demand, and first moves an index that is not a valid SQLite
database aside. A rebuilt row takes its status from ``run.json`` (a ``running`` run whose process is
gone then reads failed, as above), its epoch and, unless the run ended, its final metrics from
metrics.jsonl. A folder without ``run.json`` (written before it existed) reads ``finished`` when it
has every epoch's line and its assignments, else ``failed`` (resumable).

Crashes: every write is atomic (temp file + ``os.replace``, one SQLite transaction, or one appended and
fsynced line), and a run's writes come in an order a resume can repair after a crash between any two
of them: checkpoint (it carries the metrics of every completed epoch), then the epoch's line, then the
index; assignments, then the terminal status. ``Run.restore_metrics`` rewrites lines lost (or trained
again) from a checkpoint's history, so metrics.jsonl never loses or doubles an epoch.
``$CCEL_KILL_AT`` is a testing hook that kills the process after a chosen write (``_kill_point``).

JSON safety: configs, metrics and ``final`` are converted to plain Python (``to_jsonable``): numpy and
torch scalars/arrays become numbers/lists, paths become strings, integer keys become strings and
**NaN/±Inf become null** (``None``; NaN in DataFrames). Anything else raises ``TypeError`` naming its key.

Checkpoint contract: the state must contain only tensors, dicts, lists, tuples, numbers, strings,
bytes, None and torch Size/dtype/device. numpy arrays are converted to tensors and numpy scalars to
Python numbers on save, so checkpoints load with ``torch.load(weights_only=True)`` (the only mode used).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import difflib
import json
import math
import os
import pickle
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import sys
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "DIED",
    "RunInfo",
    "RunStore",
    "Run",
    "RunNotFoundError",
    "CorruptIndexError",
    "Reindexed",
    "KILL_POINTS",
    "store_exists",
    "csv_safe",
    "write_csv",
    "to_jsonable",
    "atomic_write",
]

RUN_STATUSES = ("created", "running", "finished", "failed", "cancelled")
TERMINAL_STATUSES = ("finished", "failed", "cancelled")
INDEX_FILE, CONFIG_FILE, METRICS_FILE = "index.sqlite", "config.json", "metrics.jsonl"
CHECKPOINT_DIR, LAST_CHECKPOINT, CANCEL_FILE, LOG_FILE = "checkpoints", "last.pt", "CANCEL", "log.txt"
ASSIGNMENTS_FILE, PROBS_FILE, RECORD_FILE = "assignments.npy", "probs.npy", "run.json"
_BUSY_TIMEOUT_S = 30.0
DIED = "process died"  # the start of a stale run's error (see "Stale runs" above)
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# the index columns, in table order; to_frame's columns, in order
_COLS = tuple("run_id status created updated name grp data method model seed epochs epoch pid host final error".split())
_STATUS, _UPDATED, _PID, _HOST, _ERROR = (_COLS.index(c) for c in ("status", "updated", "pid", "host", "error"))
_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
  name TEXT, grp TEXT, data TEXT, method TEXT, model TEXT, seed INTEGER, epochs INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0, pid INTEGER, host TEXT, final TEXT NOT NULL DEFAULT '{}',
  error TEXT);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);"""
# the index columns that run.json records (the others come from config.json and metrics.jsonl)
_RECORD_COLS = ("status", "created", "updated", "name", "grp", "pid", "host", "error", "final")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)
_FRAME_COLS = tuple(
    "run_id status name group data method model seed epochs epoch created updated pid host error path".split()
)


# Testing hook: CCEL_KILL_AT=<point>:<n> makes the process SIGKILL itself right after its n-th write of
# kind <point> (see _kill_point), so that tests crash a real run at a chosen write deterministically.
KILL_POINTS = ("start", "checkpoint", "metrics", "epoch", "assignments", "finish")
_kill_counts: dict[str, int] = {}


def _kill_point(point: str) -> None:
    """Testing hook, a no-op unless ``$CCEL_KILL_AT`` is set (only tests set it): with
    ``CCEL_KILL_AT=<point>:<n>`` the n-th (default 1st) call for ``point`` in this process SIGKILLs
    the process. Points (one call each): ``start`` after ``Run.start`` recorded ``running``;
    ``checkpoint`` after last.pt was replaced; ``metrics`` after an epoch's line reached
    metrics.jsonl, ``epoch`` after the index recorded that epoch; ``assignments`` after
    assignments.npy (and probs.npy) were saved; ``finish`` before ``Run.finish`` writes a terminal status."""
    spec = os.environ.get("CCEL_KILL_AT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name not in KILL_POINTS or not (nth or "1").isdigit() or int(nth or "1") < 1:
        raise ValueError(f"CCEL_KILL_AT={spec!r}; expected <point>[:<n>] with a point of {KILL_POINTS} and n >= 1")
    if name != point:
        return
    _kill_counts[point] = count = _kill_counts.get(point, 0) + 1
    if count == int(nth or "1"):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: TerminateProcess


def to_jsonable(obj: Any, where: str = "value") -> Any:
    """Return ``obj`` as plain JSON data (NaN/Inf -> None); ``TypeError`` names ``where`` otherwise."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    torch = sys.modules.get("torch")
    if isinstance(obj, np.ndarray) or (torch is not None and isinstance(obj, torch.Tensor)):
        return to_jsonable(obj.tolist() if isinstance(obj, np.ndarray) else obj.detach().cpu().tolist(), where)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int, np.integer)) or isinstance(k, bool):
                raise TypeError(f"{where} has key {k!r} of type {type(k).__name__}; expected str or int keys")
            out[str(k)] = to_jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(
        f"{where}={obj!r} has type {type(obj).__name__}, which is not JSON-serializable; "
        "expected None, bool, int, float, str, list, dict, path or a numpy/torch number/array"
    )


def _checkpoint_safe(obj: Any, where: str) -> Any:
    """Return ``obj`` with numpy converted to torch/Python, or raise naming ``where`` (see contract)."""
    import torch

    if isinstance(obj, np.generic) and not isinstance(obj, np.object_):
        return obj.item()  # before the atoms: np.float64 is a float but would pickle as numpy
    if (
        obj is None
        or type(obj) in (bool, int, float, str, bytes)
        or isinstance(obj, (torch.Tensor, torch.Size, torch.dtype, torch.device))
    ):
        return obj
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        try:
            return torch.from_numpy(np.ascontiguousarray(obj))
        except TypeError as exc:
            raise TypeError(f"checkpoint {where}: numpy dtype {obj.dtype} has no torch equivalent") from exc
    if isinstance(obj, dict):
        pairs = [
            (_checkpoint_safe(k, f"{where} key {k!r}"), _checkpoint_safe(v, f"{where}[{k!r}]")) for k, v in obj.items()
        ]
        if type(obj) in (dict, OrderedDict) and all(a is k and b is v for (a, b), (k, v) in zip(pairs, obj.items())):
            return obj  # unchanged: keep e.g. a state_dict's OrderedDict and its _metadata as is
        out = OrderedDict(pairs) if isinstance(obj, OrderedDict) else dict(pairs)
        if isinstance(out, OrderedDict) and hasattr(obj, "_metadata"):
            out._metadata = obj._metadata  # type: ignore[attr-defined]
        return out
    if isinstance(obj, (list, tuple)):
        items = [_checkpoint_safe(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if type(obj) in (list, tuple) and all(a is b for a, b in zip(items, obj)):
            return obj
        return items if isinstance(obj, list) else tuple(items)
    raise TypeError(
        f"checkpoint {where} has type {type(obj).__name__}; expected only tensors, dicts, "
        "lists, tuples, numbers, strings, bytes or None (numpy arrays become tensors)"
    )


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` via a temp file in the same folder (``write(f)`` fills it), fsync and
    ``os.replace``: readers see the old file or the whole new one, never a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _pid_alive(pid: int) -> bool:
    """False when ``pid`` is certainly dead or a zombie on this host; True when alive or unknown."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        try:
            import psutil
        except ImportError:
            return True
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child its parent has not reaped yet still answers os.kill
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _died(pid: int, host: str, run_id: str) -> str:
    return (
        f"{DIED}: pid {pid} on {host} ended without recording how the run ended (killed, e.g. by SIGKILL or "
        f"out of memory); its last checkpoint is kept: ccel fit --resume {run_id}"
    )


def _check_epoch(epoch: Any) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch={epoch!r}; expected an int >= 0")
    return int(epoch)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to ``{"a.b": v}``; lists stay lists."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _config_str(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("name")
    return v if isinstance(v, str) else None


def _to_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _append_line(path: Path, line: bytes) -> None:
    """Append one newline-terminated JSON record (flush + fsync). A last line without its newline
    (a crash mid-write) is ended with one when it is a whole record, else dropped, so the new record
    never merges with it and no unreadable line is left in the middle of the file."""
    with open(path, "ab+") as f:
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.seek(0)
                data = f.read()
                start = data.rfind(b"\n") + 1
                try:
                    json.loads(data[start:])
                    line = b"\n" + line
                except ValueError:
                    f.truncate(start)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of ``path`` (missing file: []). An unparsable last line (being written, or cut
    by a crash) is skipped silently; an unparsable earlier line is skipped with a RuntimeWarning."""
    lines = path.read_bytes().split(b"\n") if path.exists() else []
    records = []
    for i, line in enumerate(lines):
        try:
            rec = json.loads(line) if line.strip() else None
        except ValueError:
            if i < len(lines) - 1:
                warnings.warn(f"{path}: skipping malformed line {i + 1}", RuntimeWarning, stacklevel=3)
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


def _read_json(path: Path) -> dict:
    """The JSON object in ``path``; {} when the file is missing or holds no readable object."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a hand-edited file nested too deep included
        return {}
    return obj if isinstance(obj, dict) else {}


def _record_text(row: Mapping[str, Any]) -> bytes:
    """run.json for an index row given as ``{column: value}`` (the ``_RECORD_COLS``)."""
    rec = {("group" if c == "grp" else c): row[c] for c in _RECORD_COLS}
    if isinstance(rec["final"], str):
        rec["final"] = json.loads(rec["final"] or "{}")
    return (json.dumps(rec, indent=2, allow_nan=False) + "\n").encode()


def _run_folders(root: Path) -> Iterator[Path]:
    """The run folders in ``root``: named like a run id (so not the ``.tmp-``/``.trash-`` folders of
    ``create``/``delete``) and holding a config.json."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if _ID_RE.fullmatch(entry.name) and entry.is_dir() and os.path.isfile(os.path.join(entry.path, CONFIG_FILE)):
            yield Path(entry.path)


def store_exists(root: str | os.PathLike) -> bool:
    """True when ``root`` holds a run index or at least one run folder (opening it rebuilds a lost
    index from the folders)."""
    return (Path(root) / INDEX_FILE).is_file() or next(_run_folders(Path(root)), None) is not None


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` to write as CSV (OWASP CSV injection): every text cell and column name
    that starts with = + - @ tab or carriage return gets a leading ``'``, so a spreadsheet shows it
    as text instead of running it as a formula; numbers (negative ones too) are left as they are."""
    import pandas as pd

    def text(v: Any) -> Any:
        return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v

    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            out.isetitem(i, col.map(text))
    out.columns = [text(c) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path_or_buf: Any = None) -> str | None:
    """Write ``frame`` (without its index) as CSV for spreadsheets: ``csv_safe`` text and RFC 4180
    line ends (CRLF), with which every cell holding a line break is quoted, so that no text starts a
    row of its own. Without ``path_or_buf``, returns the text."""
    return csv_safe(frame).to_csv(path_or_buf, index=False, lineterminator="\r\n")


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """True for "file is not a database" / "database disk image is malformed" (not for a busy or
    locked database, a full disk or a permission problem, which are ``OperationalError``)."""
    name = getattr(exc, "sqlite_errorname", None)  # Python >= 3.11
    if name is not None:
        return name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or name.startswith("SQLITE_CORRUPT_")
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


class CorruptIndexError(ValueError):
    """The run index is not a valid SQLite database (``index_path``); ``RunStore.rebuild_index``
    (``ccel runs reindex``) moves it aside and rebuilds it from the run folders."""

    def __init__(self, message: str, index_path: Path) -> None:
        super().__init__(message)
        self.index_path = index_path


@dataclass(frozen=True)
class Reindexed:
    """What ``RunStore.reindex`` did: run ids given a row (``added``), rows of runs whose folder is
    gone that were dropped (``removed``), how many run folders there are (``folders``) and, after
    ``rebuild_index``, where a corrupt index was moved (``moved``)."""

    added: list[str]
    removed: list[str]
    folders: int
    moved: Path | None = None


class RunNotFoundError(KeyError):
    """No run with this id in the store (a ``KeyError`` whose message is not quoted)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class RunInfo:
    """One index row. ``epochs``: epochs requested (from the config); ``epoch``: the ``epoch`` of the
    last ``Run.log_epoch`` (0 before any; trainers number epochs from 1); ``final``: the metrics of
    ``Run.finish(final=...)``, else of the latest epoch; ``created``/``updated``: Unix seconds."""

    run_id: str
    status: str
    created: float
    updated: float
    name: str | None
    group: str | None
    data: str | None
    method: str | None
    model: str | None
    seed: int | None
    epochs: int | None
    epoch: int
    pid: int | None
    host: str | None
    path: Path
    final: dict = field(default_factory=dict)
    error: str | None = None


class RunStore:
    """A folder of runs plus its SQLite index ``index.sqlite`` (see the module docstring).

    ``rebuilt``: what opening the store rebuilt (a :class:`Reindexed`) when its index was missing or
    empty while run folders exist, else None."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        root = root if root is not None else (os.environ.get("CCEL_RUNS_DIR") or "runs")
        self.root = Path(root).expanduser().absolute()
        self.index_path = self.root / INDEX_FILE
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(
                f"run store {self.root} is an existing file; expected a folder (or a path that "
                "does not exist yet, which is created)"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:  # a parent is a file
            raise ValueError(
                f"cannot create the run store folder {self.root}: {exc.strerror} "
                f"({exc.filename}); expected a folder path"
            ) from exc
        if self.index_path.exists() and not self.index_path.is_file():
            raise ValueError(
                f"run index {self.index_path} is not a file; expected the SQLite index of the "
                f"run store (move it away to start a new index)"
            )
        lost = not self.index_path.exists() or self.index_path.stat().st_size == 0
        with self._db() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        rebuilt = self.reindex() if lost and next(_run_folders(self.root), None) is not None else None
        self.rebuilt = rebuilt if rebuilt is not None and rebuilt.added else None  # None: another process did it

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A fresh connection; with ``write`` one ``BEGIN IMMEDIATE`` transaction, rolled back on error."""
        con = sqlite3.connect(self.index_path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            if not write:
                yield con
                return
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a corrupt index may refuse the rollback too
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if _is_corrupt(exc):
                raise CorruptIndexError(
                    f"run index {self.index_path} is not a valid SQLite database ({exc}); `ccel runs reindex` "
                    f"(RunStore.rebuild_index) moves it (and any {INDEX_FILE}-wal / {INDEX_FILE}-shm next to it) "
                    f"aside to {INDEX_FILE}.corrupt-<time> and rebuilds the index from the run folders; nothing "
                    f"was deleted and the run folders in {self.root} are left as they are",
                    self.index_path,
                ) from exc
            raise
        finally:
            con.close()

    def _info(self, row: tuple) -> RunInfo:
        d = dict(zip(_COLS, row))
        d["group"], d["final"] = d.pop("grp"), json.loads(d["final"] or "{}")
        return RunInfo(path=self.root / d["run_id"], **d)

    def _not_found(self, run_id: Any) -> RunNotFoundError:
        with self._db() as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created DESC")]
        close = [i for i in ids if i.startswith(str(run_id))][:5] or difflib.get_close_matches(
            str(run_id), ids, n=5, cutoff=0.5
        )
        hint = f"close matches: {', '.join(close)}" if close else f"the store has {len(ids)} run(s)"
        return RunNotFoundError(f"no run with run_id={run_id!r} in {self.root}; {hint}")

    def create(
        self, config: Mapping[str, Any], *, run_id: str | None = None, group: str | None = None, name: str | None = None
    ) -> Run:
        """Create a run (status ``created``) atomically: the folder is written under a temp name and
        renamed inside the index transaction, so a failure leaves neither folder nor row. ``config`` (a
        mapping or dataclass) must be JSON-serializable (``TypeError`` otherwise); its keys data, method,
        model, seed, epochs fill the columns of those names. ``run_id`` defaults to a sortable UTC
        timestamp plus a random suffix; an existing ``run_id`` raises ``ValueError``. ``group`` and
        ``name`` are free labels for filtering and display."""
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if not isinstance(config, Mapping):
            raise TypeError(f"config={config!r} has type {type(config).__name__}; expected a mapping")
        for arg, val in (("group", group), ("name", name)):
            if val is not None and not isinstance(val, str):
                raise TypeError(f"{arg}={val!r}; expected a str or None")
        cfg = to_jsonable(config, "config")
        text = json.dumps(cfg, indent=2, allow_nan=False) + "\n"
        if run_id is None:
            # e.g. 20250102-130405-123456-9f2c: sorts by creation time (UTC). Microseconds, not
            # milliseconds: runs created within one millisecond sorted by their random suffix.
            t = time.time_ns() // 1000
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t // 1_000_000))
            run_id = f"{stamp}-{t % 1_000_000:06d}-{secrets.token_hex(2)}"
        if not isinstance(run_id, str) or not _ID_RE.fullmatch(run_id):
            raise ValueError(f"run_id={run_id!r}; expected 1-128 of [A-Za-z0-9._-], not starting with . - _")
        dest, tmp, renamed = self.root / run_id, self.root / f".tmp-{run_id}-{secrets.token_hex(4)}", False
        ints = {
            k: cfg.get(k) if isinstance(cfg.get(k), int) and not isinstance(cfg.get(k), bool) else None
            for k in ("seed", "epochs")
        }
        now = time.time()
        record = {"status": "created", "created": now, "updated": now, "name": name, "grp": group}
        try:
            (tmp / CHECKPOINT_DIR).mkdir(parents=True)
            (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
            (tmp / METRICS_FILE).touch()
            (tmp / RECORD_FILE).write_bytes(_record_text({**dict.fromkeys(_RECORD_COLS), **record, "final": {}}))
            with self._db(write=True) as con:
                if dest.exists() or con.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone():
                    raise ValueError(f"run_id={run_id!r} already exists in {self.root}")
                con.execute(
                    "INSERT INTO runs (run_id, status, created, updated, name, grp, data, method, model, "
                    "seed, epochs) VALUES (?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        now,
                        now,
                        name,
                        group,
                        _config_str(cfg.get("data")),
                        _config_str(cfg.get("method")),
                        _config_str(cfg.get("model")),
                        ints["seed"],
                        ints["epochs"],
                    ),
                )
                os.rename(tmp, dest)
                renamed = True
        except BaseException:
            if renamed and not self._exists(run_id):
                os.rename(dest, tmp)  # the commit failed after the rename: undo it
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Run(self, run_id)

    def _exists(self, run_id: str) -> bool:
        with self._db() as con:
            return con.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None

    def open(self, run_id: str) -> Run:
        """The run ``run_id``; ``RunNotFoundError`` (a ``KeyError``) lists close matches."""
        info = self.get(run_id)
        if not info.path.is_dir():
            raise FileNotFoundError(f"run {run_id!r} is in the index but its folder {info.path} is missing")
        return Run(self, run_id)

    def get(self, run_id: str) -> RunInfo:
        """The index row of ``run_id`` (a stale run reported failed, see the module docstring);
        ``RunNotFoundError`` (a ``KeyError``) lists close matches."""
        with self._db() as con:
            row = con.execute(f"SELECT {', '.join(_COLS)} FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise self._not_found(run_id)
        return self._info(self._settle([row])[0])

    def _settle(self, rows: builtins.list[tuple]) -> builtins.list[tuple]:
        """``rows`` with every stale run (``running`` on this host, its pid dead) turned ``failed``:
        written to the index (:meth:`_mark_dead`) so that every reader agrees, then read back."""
        host = socket.gethostname()
        dead = {
            r[0]: r[_PID]
            for r in rows
            if r[_STATUS] == "running" and r[_HOST] == host and r[_PID] is not None and not _pid_alive(r[_PID])
        }
        if not dead:
            return rows
        try:
            self._mark_dead(dead)
        except sqlite3.OperationalError:  # e.g. a read-only index: report it failed all the same
            now, fixed = time.time(), {}
            for rid, pid in dead.items():
                r = list(next(r for r in rows if r[0] == rid))
                r[_STATUS], r[_ERROR], r[_UPDATED] = "failed", _died(pid, host, rid), now
                fixed[rid] = tuple(r)
            return [fixed.get(r[0], r) for r in rows]
        with self._db() as con:
            marks = ", ".join("?" * len(dead))
            fresh = {
                r[0]: r
                for r in con.execute(f"SELECT {', '.join(_COLS)} FROM runs WHERE run_id IN ({marks})", list(dead))
            }
        return [fresh[r[0]] if r[0] in fresh else r for r in rows if r[0] not in dead or r[0] in fresh]

    def _mark_dead(self, dead: Mapping[str, int]) -> builtins.list[str]:
        """Mark the runs ``{run_id: pid}`` failed (process died) if they are still ``running`` with
        that pid (one transaction); returns the ids marked."""
        host, marked = socket.gethostname(), []
        with self._db(write=True) as con:
            for rid, pid in dead.items():
                cur = con.execute(
                    "UPDATE runs SET status='failed', error=?, updated=? WHERE run_id=? AND status='running' AND pid=?",
                    (_died(pid, host, rid), time.time(), rid, pid),
                )
                if cur.rowcount:
                    marked.append(rid)
                    Run(self, rid)._write_record(con)  # run.json follows every status change
        return marked

    def list(
        self, *, status: str | None = None, group: str | None = None, data: str | None = None, method: str | None = None
    ) -> list[RunInfo]:
        """Runs matching every given filter, newest first (stale runs reported failed, see the
        module docstring)."""
        if status is not None and status not in RUN_STATUSES:
            raise ValueError(f"status={status!r}; expected one of {RUN_STATUSES}")
        pairs = [(c, v) for c, v in (("grp", group), ("data", data), ("method", method)) if v is not None]
        terms = [f"{c} = ?" for c, _ in pairs]
        if status is not None:  # a stale "running" row may turn out to be "failed"
            terms.append("status IN (?, 'running')")
            pairs.append(("status", status))
        where = " WHERE " + " AND ".join(terms) if terms else ""
        with self._db() as con:
            rows = con.execute(
                f"SELECT {', '.join(_COLS)} FROM runs{where} ORDER BY created DESC, run_id DESC", [v for _, v in pairs]
            ).fetchall()
        infos = [self._info(r) for r in self._settle(rows)]
        return infos if status is None else [i for i in infos if i.status == status]

    def to_frame(self, runs: builtins.list[RunInfo] | None = None) -> pd.DataFrame:
        """One row per run (default: ``list()``): the index columns (``created``/``updated`` as UTC
        datetimes, ``path`` as str) then the flattened final metrics (``final.<key>`` on a name clash)."""
        import pandas as pd

        rows = []
        for info in self.list() if runs is None else runs:
            row = {c: str(info.path) if c == "path" else getattr(info, c) for c in _FRAME_COLS}
            for k, v in _flatten(info.final).items():
                row[k if k not in _FRAME_COLS else f"final.{k}"] = v
            rows.append(row)
        df = pd.DataFrame(rows, columns=None if rows else list(_FRAME_COLS))
        for c in ("created", "updated"):
            df[c] = pd.to_datetime(df[c].astype(float), unit="s", utc=True)
        return df

    def metrics(self, run_id: str) -> pd.DataFrame:
        """Per-epoch metrics of ``run_id``, sorted by epoch (the last record wins for a repeated epoch,
        e.g. after a resume); a partially written last line is ignored, other bad lines warn."""
        import pandas as pd

        path = self.root / run_id / METRICS_FILE
        if not (_ID_RE.fullmatch(str(run_id)) and path.parent.is_dir()):
            raise self._not_found(run_id)
        records = [_flatten(r) for r in _read_jsonl(path) if isinstance(r.get("epoch"), int)]
        if not records:
            return pd.DataFrame(columns=["epoch"])
        df = pd.DataFrame(records).drop_duplicates("epoch", keep="last")
        return df.sort_values("epoch", kind="stable").reset_index(drop=True)

    def export_csv(
        self, path: str | os.PathLike, run_ids: builtins.list[str] | None = None, *, per_epoch: bool = False
    ) -> Path:
        """Write ``to_frame`` of the runs (default all) or, with ``per_epoch``, their metrics with
        run_id/name/group/data/method/model/seed columns first, formula-like text escaped
        (``write_csv``); returns the path."""
        import pandas as pd

        infos = self.list() if run_ids is None else [self.get(r) for r in run_ids]
        if not per_epoch:
            df = self.to_frame(infos)
        else:
            frames = []
            for info in infos:
                m = self.metrics(info.run_id)
                for c in ("seed", "model", "method", "data", "group", "name", "run_id"):
                    if c not in m.columns:
                        m.insert(0, c, getattr(info, c))
                frames.append(m)
            frames = [f for f in frames if len(f)]
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run_id", "epoch"])
        write_csv(df, path)
        return Path(path)

    def delete(self, run_id: str, *, force: bool = False) -> None:
        """Remove the run's row and folder. A ``running`` run whose pid is alive (or on another host)
        raises ``RuntimeError`` unless ``force``."""
        info = self.get(run_id)
        if (
            info.status == "running"
            and not force
            and (info.host != socket.gethostname() or info.pid is None or _pid_alive(info.pid))
        ):
            raise RuntimeError(
                f"run {run_id!r} is running (pid={info.pid}, host={info.host!r}); cancel it first or pass force=True"
            )
        trash = self.root / f".trash-{run_id}-{secrets.token_hex(4)}"
        with self._db(write=True) as con:
            con.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
            if info.path.exists():
                os.rename(info.path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def reindex(self) -> Reindexed:
        """Make the index agree with the run folders, in one transaction: a row for every run folder
        without one (rebuilt from the folder, see "Lost index" in the module docstring) and none for a
        run whose folder is gone. Rows of existing folders are kept as they are."""
        with self._db(write=True) as con:
            have = {r[0] for r in con.execute("SELECT run_id FROM runs")}
            folders = {p.name: p for p in _run_folders(self.root)}
            added, removed = sorted(folders.keys() - have), sorted(have - folders.keys())
            con.executemany(
                f"INSERT INTO runs ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})",
                [self._folder_row(folders[rid]) for rid in added],
            )
            con.executemany("DELETE FROM runs WHERE run_id=?", [(rid,) for rid in removed])
        return Reindexed(added, removed, len(folders))

    @classmethod
    def rebuild_index(cls, root: str | os.PathLike | None = None) -> tuple[RunStore, Reindexed]:
        """The store at ``root`` with its index made to agree with the run folders (``reindex``).
        An index that is not a valid SQLite database is first moved aside with its -wal/-shm files,
        to ``index.sqlite.corrupt-<UTC time>`` (``Reindexed.moved``), and a new one built."""
        moved = None
        try:
            store = cls(root)
        except CorruptIndexError as exc:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            moved = exc.index_path.with_name(f"{INDEX_FILE}.corrupt-{stamp}-{secrets.token_hex(2)}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{exc.index_path}{suffix}", f"{moved}{suffix}")
            store = cls(root)
        done = store.reindex()
        before = store.rebuilt or Reindexed([], [], done.folders)
        return store, Reindexed(sorted(before.added + done.added), done.removed, done.folders, moved)

    def _folder_row(self, path: Path) -> tuple:
        """The index row of the run folder ``path`` (see "Lost index" in the module docstring)."""
        cfg, rec = _read_json(path / CONFIG_FILE), _read_json(path / RECORD_FILE)
        lines = [r for r in _read_jsonl(path / METRICS_FILE) if type(r.get("epoch")) is int]
        last = max(reversed(lines), key=lambda r: r["epoch"], default={"epoch": 0})  # the last of the latest epoch
        epochs = cfg.get("epochs") if type(cfg.get("epochs")) is int else None
        mtimes = [f.stat().st_mtime for f in (path / CONFIG_FILE, path / METRICS_FILE) if f.exists()]
        row: dict[str, Any] = {c: rec.get("group" if c == "grp" else c) for c in _RECORD_COLS}
        row["updated"] = max([t for t in (row["updated"], *mtimes) if isinstance(t, (int, float))])
        if not isinstance(row["created"], (int, float)):
            row["created"] = mtimes[0]
        if row["status"] not in RUN_STATUSES:  # no run.json: a folder of an older version
            logged = {r["epoch"] for r in lines}
            if (path / ASSIGNMENTS_FILE).exists() and set(range(1, (epochs or 0) + 1)) <= logged:
                row["status"] = "finished"
            elif (path / CANCEL_FILE).exists():
                row["status"] = "cancelled"
            else:
                row["status"] = "failed"
                row["error"] = (
                    f"index rebuilt from the run folder, which has no {RECORD_FILE} (an older version wrote it) "
                    f"nor every epoch's metrics and the assignments: the run did not finish; its last checkpoint "
                    f"is kept: ccel fit --resume {path.name}"
                )
        if row["status"] not in TERMINAL_STATUSES or not isinstance(row["final"], dict):
            row["final"] = {k: v for k, v in last.items() if k != "epoch"}
        row.update(
            run_id=path.name,
            final=json.dumps(row["final"], allow_nan=False),
            data=_config_str(cfg.get("data")),
            method=_config_str(cfg.get("method")),
            model=_config_str(cfg.get("model")),
            seed=cfg.get("seed") if type(cfg.get("seed")) is int else None,
            epochs=epochs,
            epoch=last["epoch"],
        )
        return tuple(row[c] for c in _COLS)

    def mark_stale(self) -> builtins.list[str]:
        """Mark ``running`` runs of this host whose pid is dead (or a zombie) as ``failed`` with an
        error starting "process died"; returns their ids. ``list()``/``get()`` do the same for the
        runs they read. Cannot see pid reuse or runs of other hosts."""
        with self._db() as con:
            rows = con.execute(
                "SELECT run_id, pid FROM runs WHERE status='running' AND host=? AND pid IS NOT NULL",
                (socket.gethostname(),),
            ).fetchall()
        dead = {rid: pid for rid, pid in rows if not _pid_alive(pid)}
        return self._mark_dead(dead) if dead else []


class Run:
    """Handle on one run folder; cheap, picklable, holds no open files or connections."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store, self.run_id, self.path = store, run_id, store.root / run_id
        self._config_text: str | None = None

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, root={str(self.store.root)!r})"

    @property
    def info(self) -> RunInfo:
        """The current index row."""
        return self.store.get(self.run_id)

    @property
    def config(self) -> dict:
        """A fresh copy of the run config stored in ``config.json`` (the file is read once)."""
        path = self.path / CONFIG_FILE
        try:
            if self._config_text is None:
                self._config_text = path.read_text(encoding="utf-8")
            config = json.loads(self._config_text)
        except (OSError, ValueError, RecursionError) as exc:  # a hand-edited or damaged file, named
            self._config_text = None
            raise ValueError(f"{path}: not a readable run config ({exc})") from None
        if not isinstance(config, dict):
            raise ValueError(f"{path}: not a readable run config (expected a JSON object)")
        return config

    @property
    def log_path(self) -> Path:
        """Where a subprocess run's stdout/stderr go (``log.txt``)."""
        return self.path / LOG_FILE

    def _update(self, **cols: Any) -> None:
        """Set index columns (and ``updated``); a status change also rewrites run.json."""
        with self.store._db(write=True) as con:
            sets = ", ".join(f"{c}=?" for c in cols)
            cur = con.execute(
                f"UPDATE runs SET {sets}, updated=? WHERE run_id=?", (*cols.values(), time.time(), self.run_id)
            )
            if cur.rowcount and "status" in cols:
                self._write_record(con)
        if cur.rowcount == 0:
            raise self.store._not_found(self.run_id)

    def _write_record(self, con: sqlite3.Connection) -> None:
        """Rewrite run.json from the run's row, inside the transaction that changed it (so records are
        written in the order of the changes); nothing when the folder is gone."""
        row = con.execute(f"SELECT {', '.join(_RECORD_COLS)} FROM runs WHERE run_id=?", (self.run_id,)).fetchone()
        if row is not None and self.path.is_dir():
            text = _record_text(dict(zip(_RECORD_COLS, row)))
            atomic_write(self.path / RECORD_FILE, lambda f: f.write(text))

    def set_epochs(self, epochs: int) -> None:
        """Set the requested epoch count (a resume to a new total, ``ccel fit --resume ID --epochs N``):
        ``config.json`` (atomic) and the index, so readers see the new total."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs={epochs!r} should be an integer >= 1")
        text = (json.dumps({**self.config, "epochs": epochs}, indent=2, allow_nan=False) + "\n").encode()
        atomic_write(self.path / CONFIG_FILE, lambda f: f.write(text))
        self._config_text = None
        self._update(epochs=epochs)

    def start(self, pid: int | None = None, *, force: bool = False) -> None:
        """Status ``running`` with ``pid`` (default: this process) and this host; clears the error, the
        cancel flag and stale checkpoint temp files. Refuses (``RuntimeError``) while another live
        process, or one on another host, runs it unless ``force``."""
        pid, host = os.getpid() if pid is None else int(pid), socket.gethostname()
        info = self.info
        if (
            info.status == "running"
            and not force
            and info.pid not in (None, pid)
            and (info.host != host or _pid_alive(info.pid))
        ):
            raise RuntimeError(
                f"run {self.run_id!r} is already running (pid={info.pid}, "
                f"host={info.host!r}); pass force=True to take it over"
            )
        (self.path / CANCEL_FILE).unlink(missing_ok=True)
        for tmp in (self.path / CHECKPOINT_DIR).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        self._update(status="running", pid=pid, host=host, error=None)
        _kill_point("start")

    def log_epoch(self, epoch: int, metrics: Mapping[str, Any]) -> None:
        """Append ``{"epoch": epoch, **metrics}`` to metrics.jsonl (flush + fsync; JSON-safe, see
        module docstring), then set the index's epoch, final and updated."""
        epoch = _check_epoch(epoch)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics={metrics!r} has type {type(metrics).__name__}; expected a mapping")
        m = to_jsonable(metrics, "metrics")
        if m.pop("epoch", epoch) != epoch:
            raise ValueError(f"metrics['epoch']={metrics['epoch']!r} differs from epoch={epoch}")
        line = (json.dumps({"epoch": epoch, **m}, allow_nan=False) + "\n").encode()
        _append_line(self.path / METRICS_FILE, line)
        _kill_point("metrics")
        self._update(epoch=epoch, final=json.dumps(m, allow_nan=False))
        _kill_point("epoch")

    def restore_metrics(self, history: Sequence[Mapping[str, Any]]) -> builtins.list[int]:
        """Make metrics.jsonl hold one line per record of ``history`` and nothing else, and the index's
        epoch and final follow its last record. ``history``: the metrics of every epoch a checkpoint
        counts done, in order, each with its ``epoch`` (a trainer's history). A resume calls it before
        training on: a line lost to a crash between a checkpoint and its line is written again, and a
        line of an epoch after the checkpoint (trained again next) is dropped, so that no epoch is lost
        or doubled. The file is rewritten (atomically) only when its epochs differ from ``history``'s;
        returns the epochs written back."""
        want = []
        for i, metrics in enumerate(history):
            m = to_jsonable(metrics, f"history[{i}]")
            want.append((_check_epoch(m.pop("epoch", None)), m))
        path = self.path / METRICS_FILE
        have = [r.get("epoch") for r in _read_jsonl(path)]
        if have == [e for e, _ in want]:
            restored = []
        else:
            restored = [e for e, _ in want if e not in have]
            text = b"".join((json.dumps({"epoch": e, **m}, allow_nan=False) + "\n").encode() for e, m in want)
            atomic_write(path, lambda f: f.write(text))
        if want or have:
            epoch, final = want[-1] if want else (0, {})
            self._update(epoch=epoch, final=json.dumps(final, allow_nan=False))
        return restored

    def checkpoint_path(self, epoch: int | None = None) -> Path:
        """``checkpoints/last.pt``, or ``checkpoints/epoch_XXXX.pt`` for ``epoch``."""
        name = LAST_CHECKPOINT if epoch is None else f"epoch_{_check_epoch(epoch):04d}.pt"
        return self.path / CHECKPOINT_DIR / name

    def save_checkpoint(self, state: Mapping[str, Any], epoch: int, *, keep_last: int = 0) -> Path:
        """Atomically write ``{"epoch": epoch, **state}`` to last.pt (see the checkpoint contract);
        with ``keep_last > 0`` also keep epoch_XXXX.pt for the newest ``keep_last`` epochs."""
        import torch

        epoch = _check_epoch(epoch)
        if not isinstance(state, Mapping):
            raise TypeError(f"state has type {type(state).__name__}; expected a mapping")
        payload = _checkpoint_safe(dict(state), "state")
        if payload.setdefault("epoch", epoch) != epoch:
            raise ValueError(f"state['epoch']={payload['epoch']!r} differs from epoch={epoch}")
        last = self.checkpoint_path()
        last.parent.mkdir(exist_ok=True)
        atomic_write(last, lambda f: torch.save(payload, f))
        _kill_point("checkpoint")
        if keep_last > 0:
            snap = self.checkpoint_path(epoch)
            tmp = snap.with_name(f".{snap.name}.{os.getpid()}.tmp")
            try:  # last.pt is only ever replaced, never rewritten, so a hard link is a safe copy
                os.link(last, tmp)
            except OSError:
                shutil.copyfile(last, tmp)
            os.replace(tmp, snap)
            snaps = sorted(last.parent.glob("epoch_*.pt"), key=lambda p: int(p.stem[6:]))
            for old in snaps[:-keep_last]:
                old.unlink(missing_ok=True)
        return last

    def load_checkpoint(self, map_location: Any = "cpu", *, epoch: int | None = None) -> dict | None:
        """The latest (or ``epoch``'s) checkpoint via ``torch.load(weights_only=True)``, None if absent.
        numpy arrays saved in the state come back as tensors."""
        import torch

        path = self.checkpoint_path(epoch)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError) as exc:
            raise RuntimeError(
                f"cannot load checkpoint {path} with weights_only=True (state must hold "
                f"only tensors, dicts, lists, numbers, strings): {exc}"
            ) from exc

    def save_assignments(self, labels: Any, probs: Any = None) -> None:
        """Atomically save final assignments (1-D, integral -> int64) and optional probs (N x K)."""
        lab = _to_numpy(labels)
        integral = lab.dtype.kind in "iu" or (lab.dtype.kind == "f" and bool(np.all(lab == np.round(lab))))
        if lab.ndim != 1 or not integral:
            raise ValueError(f"labels: shape {lab.shape}, dtype {lab.dtype}; expected a 1-D integer array")
        lab = lab.astype(np.int64)
        if probs is not None:
            p = _to_numpy(probs)
            if p.ndim != 2 or p.shape[0] != lab.shape[0] or p.dtype.kind != "f":
                raise ValueError(f"probs: shape {p.shape}, dtype {p.dtype}; expected a float ({lab.shape[0]}, K) array")
            atomic_write(self.path / PROBS_FILE, lambda f: np.save(f, p))
        atomic_write(self.path / ASSIGNMENTS_FILE, lambda f: np.save(f, lab))
        _kill_point("assignments")

    def load_assignments(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(labels, probs or None)``; ``FileNotFoundError`` when no assignments were saved."""
        path = self.path / ASSIGNMENTS_FILE
        if not path.exists():
            raise FileNotFoundError(f"run {self.run_id!r} has no {ASSIGNMENTS_FILE} (expected at {path})")
        probs = self.path / PROBS_FILE
        return np.load(path), (np.load(probs) if probs.exists() else None)

    def metrics(self) -> pd.DataFrame:
        """Per-epoch metrics (``RunStore.metrics``)."""
        return self.store.metrics(self.run_id)

    def finish(
        self, status: str = "finished", *, error: str | None = None, final: Mapping[str, Any] | None = None
    ) -> None:
        """Set a terminal status (finished/failed/cancelled) and error; ``final`` replaces the
        latest-epoch metrics in the index."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"status={status!r}; expected one of {TERMINAL_STATUSES}")
        _kill_point("finish")
        cols: dict[str, Any] = {"status": status, "error": None if error is None else str(error)}
        if final is not None:
            cols["final"] = json.dumps(to_jsonable(final, "final"), allow_nan=False)
        self._update(**cols)

    def request_cancel(self) -> None:
        """Create the ``CANCEL`` file that the trainer polls; a run still ``created`` is cancelled now."""
        self.store.get(self.run_id)  # raises RunNotFoundError for a deleted run
        (self.path / CANCEL_FILE).write_text(f"{time.time()}\n")
        with self.store._db(write=True) as con:
            cur = con.execute(
                "UPDATE runs SET status='cancelled', updated=? WHERE run_id=? AND status='created'",
                (time.time(), self.run_id),
            )
            if cur.rowcount:
                self._write_record(con)

    @property
    def cancel_requested(self) -> bool:
        """True once ``request_cancel`` was called (one ``stat``; cheap enough to poll per batch)."""
        return (self.path / CANCEL_FILE).exists()
