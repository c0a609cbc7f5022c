"""The run store's file handling: atomic writes, appended JSON lines and their tolerant readers,
conversion of configs/metrics to JSON and of checkpoint states to what ``torch.load(weights_only=True)``
reads, CSV for spreadsheets, the liveness of a run's process, and the ``$CCEL_KILL_AT`` testing hook.

numpy is imported where it is used, so that importing the store (the CLI's ``ccel runs``) stays light.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .layout import (
    ASSIGNMENTS_FILE,
    CANCEL_FILE,
    CANCELLED,
    CONFIG_FILE,
    DIED,
    FAILED,
    FINISHED,
    INDEX_COLS,
    INDEX_FILE,
    METRICS_FILE,
    RECORD_COLS,
    RECORD_FILE,
    RUN_ID_RE,
    RUN_STATUSES,
    TERMINAL_STATUSES,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "KILL_POINTS",
    "kill_point",
    "to_jsonable",
    "checkpoint_safe",
    "atomic_write",
    "pid_alive",
    "died_message",
    "check_epoch",
    "flatten",
    "config_str",
    "to_numpy",
    "append_line",
    "read_jsonl",
    "read_json",
    "record_text",
    "is_run_folder",
    "run_folders",
    "store_exists",
    "folder_row",
    "csv_safe",
    "write_csv",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)

# Testing hook: CCEL_KILL_AT=<point>:<n> makes the process SIGKILL itself right after its n-th write of
# kind <point> (see kill_point), so that tests crash a real run at a chosen write deterministically.
KILL_POINTS = ("start", "checkpoint", "metrics", "epoch", "assignments", "finish")
_kill_counts: dict[str, int] = {}


def kill_point(point: str) -> None:
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
    import numpy as np

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


def checkpoint_safe(obj: Any, where: str) -> Any:
    """Return ``obj`` with numpy converted to torch/Python, or raise naming ``where`` (see contract)."""
    import numpy as np
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
            (checkpoint_safe(k, f"{where} key {k!r}"), checkpoint_safe(v, f"{where}[{k!r}]")) for k, v in obj.items()
        ]
        if type(obj) in (dict, OrderedDict) and all(a is k and b is v for (a, b), (k, v) in zip(pairs, obj.items())):
            return obj  # unchanged: keep e.g. a state_dict's OrderedDict and its _metadata as is
        out = OrderedDict(pairs) if isinstance(obj, OrderedDict) else dict(pairs)
        if isinstance(out, OrderedDict) and hasattr(obj, "_metadata"):
            out._metadata = obj._metadata  # type: ignore[attr-defined]
        return out
    if isinstance(obj, (list, tuple)):
        items = [checkpoint_safe(v, f"{where}[{i}]") for i, v in enumerate(obj)]
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


def pid_alive(pid: int) -> bool:
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


def died_message(pid: int, host: str, run_id: str) -> str:
    return (
        f"{DIED}: pid {pid} on {host} ended without recording how the run ended (killed, e.g. by SIGKILL or "
        f"out of memory); its last checkpoint is kept: ccel fit --resume {run_id}"
    )


def check_epoch(epoch: Any) -> int:
    import numpy as np

    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch={epoch!r}; expected an int >= 0")
    return int(epoch)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to ``{"a.b": v}``; lists stay lists."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def config_str(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("name")
    return v if isinstance(v, str) else None


def to_numpy(x: Any) -> np.ndarray:
    import numpy as np

    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def append_line(path: Path, line: bytes) -> None:
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


def read_jsonl(path: Path) -> list[dict]:
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


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; {} when the file is missing or holds no readable object."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a hand-edited file nested too deep included
        return {}
    return obj if isinstance(obj, dict) else {}


def record_text(row: Mapping[str, Any]) -> bytes:
    """run.json for an index row given as ``{column: value}`` (the ``RECORD_COLS``)."""
    rec = {("group" if c == "grp" else c): row[c] for c in RECORD_COLS}
    if isinstance(rec["final"], str):
        rec["final"] = json.loads(rec["final"] or "{}")
    return (json.dumps(rec, indent=2, allow_nan=False) + "\n").encode()


def is_run_folder(path: str | os.PathLike) -> bool:
    """True for the folder of a run: named like a run id (so not the ``.tmp-``/``.trash-`` folders of
    ``create``/``delete``) and holding a config.json."""
    path = Path(path)
    return bool(RUN_ID_RE.fullmatch(path.name)) and path.is_dir() and (path / CONFIG_FILE).is_file()


def run_folders(root: Path) -> Iterator[Path]:
    """The run folders in ``root`` (:func:`is_run_folder`)."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if is_run_folder(entry.path):
            yield Path(entry.path)


def store_exists(root: str | os.PathLike) -> bool:
    """True when ``root`` holds a run index or at least one run folder (opening it rebuilds a lost
    index from the folders)."""
    return (Path(root) / INDEX_FILE).is_file() or next(run_folders(Path(root)), None) is not None


def folder_row(path: Path) -> tuple:
    """The index row of the run folder ``path`` (see "Lost index" in the package docstring)."""
    cfg, rec = read_json(path / CONFIG_FILE), read_json(path / RECORD_FILE)
    lines = [r for r in read_jsonl(path / METRICS_FILE) if type(r.get("epoch")) is int]
    last = max(reversed(lines), key=lambda r: r["epoch"], default={"epoch": 0})  # the last of the latest epoch
    epochs = cfg.get("epochs") if type(cfg.get("epochs")) is int else None
    mtimes = [f.stat().st_mtime for f in (path / CONFIG_FILE, path / METRICS_FILE) if f.exists()]
    row: dict[str, Any] = {c: rec.get("group" if c == "grp" else c) for c in RECORD_COLS}
    row["updated"] = max([t for t in (row["updated"], *mtimes) if isinstance(t, (int, float))])
    if not isinstance(row["created"], (int, float)):
        row["created"] = mtimes[0]
    if row["status"] not in RUN_STATUSES:  # no run.json: a folder of an older version
        logged = {r["epoch"] for r in lines}
        if (path / ASSIGNMENTS_FILE).exists() and set(range(1, (epochs or 0) + 1)) <= logged:
            row["status"] = FINISHED
        elif (path / CANCEL_FILE).exists():
            row["status"] = CANCELLED
        else:
            row["status"] = FAILED
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
        data=config_str(cfg.get("data")),
        method=config_str(cfg.get("method")),
        model=config_str(cfg.get("model")),
        seed=cfg.get("seed") if type(cfg.get("seed")) is int else None,
        epochs=epochs,
        epoch=last["epoch"],
    )
    return tuple(row[c] for c in INDEX_COLS)


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
