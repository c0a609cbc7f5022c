"""What a run store is: run statuses, file names, the index's schema and columns, the run-id
pattern, the default root, and the record types (:class:`RunInfo`, :class:`Reindexed`) and errors.

Every other module (the store, the CLI, the app) takes these facts from here; none writes a status
or a file name as text of its own.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

# the public names (re-exported by the package); RUN_ID_RE, INDEX_COLS, INDEX_SCHEMA, RECORD_COLS and
# is_corrupt are the store's own, imported by name
__all__ = [
    "CREATED",
    "RUNNING",
    "FINISHED",
    "FAILED",
    "CANCELLED",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "ACTIVE_STATUSES",
    "RUNS_DIR_ENV",
    "default_root",
    "DEFAULT_ROOT_TEXT",
    "INDEX_FILE",
    "CONFIG_FILE",
    "METRICS_FILE",
    "CHECKPOINT_DIR",
    "LAST_CHECKPOINT",
    "CANCEL_FILE",
    "LOG_FILE",
    "ASSIGNMENTS_FILE",
    "PROBS_FILE",
    "RECORD_FILE",
    "DIED",
    "CorruptIndexError",
    "Reindexed",
    "RunNotFoundError",
    "RunInfo",
]

RUNS_DIR_ENV, _DEFAULT_DIR = "CCEL_RUNS_DIR", "runs"
DEFAULT_ROOT_TEXT = f"${RUNS_DIR_ENV}, else ./{_DEFAULT_DIR}"  # for help texts


def default_root() -> str:
    """The run store when none is given: ``$CCEL_RUNS_DIR``, else ``./runs`` (relative, as given)."""
    return os.environ.get(RUNS_DIR_ENV) or _DEFAULT_DIR


# a run's statuses, in the order of its life: the only place they are written as text
CREATED, RUNNING, FINISHED, FAILED, CANCELLED = "created", "running", "finished", "failed", "cancelled"
RUN_STATUSES = (CREATED, RUNNING, FINISHED, FAILED, CANCELLED)
TERMINAL_STATUSES = (FINISHED, FAILED, CANCELLED)  # a run's end (``Run.finish``)
ACTIVE_STATUSES = (CREATED, RUNNING)  # not ended yet
INDEX_FILE, CONFIG_FILE, METRICS_FILE = "index.sqlite", "config.json", "metrics.jsonl"
CHECKPOINT_DIR, LAST_CHECKPOINT, CANCEL_FILE, LOG_FILE = "checkpoints", "last.pt", "CANCEL", "log.txt"
ASSIGNMENTS_FILE, PROBS_FILE, RECORD_FILE = "assignments.npy", "probs.npy", "run.json"
DIED = "process died"  # the start of a stale run's error (see "Stale runs" in the package docstring)
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# the index columns, in table order; to_frame's columns, in order
INDEX_COLS = tuple(
    "run_id status created updated name grp data method model seed epochs epoch pid host final error".split()
)
INDEX_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
  name TEXT, grp TEXT, data TEXT, method TEXT, model TEXT, seed INTEGER, epochs INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0, pid INTEGER, host TEXT, final TEXT NOT NULL DEFAULT '{}',
  error TEXT);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);"""
# the index columns that run.json records (the others come from config.json and metrics.jsonl)
RECORD_COLS = ("status", "created", "updated", "name", "grp", "pid", "host", "error", "final")


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
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

    @property
    def active(self) -> bool:
        """Not ended yet (created or running)."""
        return self.status in ACTIVE_STATUSES
