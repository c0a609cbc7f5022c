"""One run of the store (:class:`Run`): its status changes, metrics lines, checkpoints, assignments
and cancel flag, each write in the crash-safe order of the package docstring."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import shutil
import socket
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import (
    append_line,
    atomic_write,
    check_epoch,
    checkpoint_safe,
    kill_point,
    pid_alive,
    read_jsonl,
    record_text,
    to_jsonable,
    to_numpy,
)
from .layout import (
    ASSIGNMENTS_FILE,
    CANCEL_FILE,
    CANCELLED,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    CREATED,
    FINISHED,
    LAST_CHECKPOINT,
    LOG_FILE,
    METRICS_FILE,
    PROBS_FILE,
    RECORD_COLS,
    RECORD_FILE,
    RUNNING,
    TERMINAL_STATUSES,
    RunInfo,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .store import RunStore

__all__ = ["Run"]


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
        row = con.execute(f"SELECT {', '.join(RECORD_COLS)} FROM runs WHERE run_id=?", (self.run_id,)).fetchone()
        if row is not None and self.path.is_dir():
            text = record_text(dict(zip(RECORD_COLS, row)))
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
            info.status == RUNNING
            and not force
            and info.pid not in (None, pid)
            and (info.host != host or pid_alive(info.pid))
        ):
            raise RuntimeError(
                f"run {self.run_id!r} is already running (pid={info.pid}, "
                f"host={info.host!r}); pass force=True to take it over"
            )
        (self.path / CANCEL_FILE).unlink(missing_ok=True)
        for tmp in (self.path / CHECKPOINT_DIR).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        self._update(status=RUNNING, pid=pid, host=host, error=None)
        kill_point("start")

    def log_epoch(self, epoch: int, metrics: Mapping[str, Any]) -> None:
        """Append ``{"epoch": epoch, **metrics}`` to metrics.jsonl (flush + fsync; JSON-safe, see
        package docstring), then set the index's epoch, final and updated."""
        epoch = check_epoch(epoch)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics={metrics!r} has type {type(metrics).__name__}; expected a mapping")
        m = to_jsonable(metrics, "metrics")
        if m.pop("epoch", epoch) != epoch:
            raise ValueError(f"metrics['epoch']={metrics['epoch']!r} differs from epoch={epoch}")
        line = (json.dumps({"epoch": epoch, **m}, allow_nan=False) + "\n").encode()
        append_line(self.path / METRICS_FILE, line)
        kill_point("metrics")
        self._update(epoch=epoch, final=json.dumps(m, allow_nan=False))
        kill_point("epoch")

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
            want.append((check_epoch(m.pop("epoch", None)), m))
        path = self.path / METRICS_FILE
        have = [r.get("epoch") for r in read_jsonl(path)]
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
        name = LAST_CHECKPOINT if epoch is None else f"epoch_{check_epoch(epoch):04d}.pt"
        return self.path / CHECKPOINT_DIR / name

    def save_checkpoint(self, state: Mapping[str, Any], epoch: int, *, keep_last: int = 0) -> Path:
        """Atomically write ``{"epoch": epoch, **state}`` to last.pt (see the checkpoint contract);
        with ``keep_last > 0`` also keep epoch_XXXX.pt for the newest ``keep_last`` epochs."""
        import torch

        epoch = check_epoch(epoch)
        if not isinstance(state, Mapping):
            raise TypeError(f"state has type {type(state).__name__}; expected a mapping")
        payload = checkpoint_safe(dict(state), "state")
        if payload.setdefault("epoch", epoch) != epoch:
            raise ValueError(f"state['epoch']={payload['epoch']!r} differs from epoch={epoch}")
        last = self.checkpoint_path()
        last.parent.mkdir(exist_ok=True)
        atomic_write(last, lambda f: torch.save(payload, f))
        kill_point("checkpoint")
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
        import numpy as np

        lab = to_numpy(labels)
        integral = lab.dtype.kind in "iu" or (lab.dtype.kind == "f" and bool(np.all(lab == np.round(lab))))
        if lab.ndim != 1 or not integral:
            raise ValueError(f"labels: shape {lab.shape}, dtype {lab.dtype}; expected a 1-D integer array")
        lab = lab.astype(np.int64)
        if probs is not None:
            p = to_numpy(probs)
            if p.ndim != 2 or p.shape[0] != lab.shape[0] or p.dtype.kind != "f":
                raise ValueError(f"probs: shape {p.shape}, dtype {p.dtype}; expected a float ({lab.shape[0]}, K) array")
            atomic_write(self.path / PROBS_FILE, lambda f: np.save(f, p))
        atomic_write(self.path / ASSIGNMENTS_FILE, lambda f: np.save(f, lab))
        kill_point("assignments")

    def load_assignments(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(labels, probs or None)``; ``FileNotFoundError`` when no assignments were saved."""
        import numpy as np

        path = self.path / ASSIGNMENTS_FILE
        if not path.exists():
            raise FileNotFoundError(f"run {self.run_id!r} has no {ASSIGNMENTS_FILE} (expected at {path})")
        probs = self.path / PROBS_FILE
        return np.load(path), (np.load(probs) if probs.exists() else None)

    def metrics(self) -> pd.DataFrame:
        """Per-epoch metrics (``RunStore.metrics``)."""
        return self.store.metrics(self.run_id)

    def finish(
        self, status: str = FINISHED, *, error: str | None = None, final: Mapping[str, Any] | None = None
    ) -> None:
        """Set a terminal status (finished/failed/cancelled) and error; ``final`` replaces the
        latest-epoch metrics in the index."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"status={status!r}; expected one of {TERMINAL_STATUSES}")
        kill_point("finish")
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
                "UPDATE runs SET status=?, updated=? WHERE run_id=? AND status=?",
                (CANCELLED, time.time(), self.run_id, CREATED),
            )
            if cur.rowcount:
                self._write_record(con)

    @property
    def cancel_requested(self) -> bool:
        """True once ``request_cancel`` was called (one ``stat``; cheap enough to poll per batch)."""
        return (self.path / CANCEL_FILE).exists()
