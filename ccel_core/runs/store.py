"""The run store: a folder of runs and its SQLite index (:class:`RunStore`), see the package docstring.

Every call opens its own short-lived connection; writes are single ``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import difflib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import (
    config_str,
    died_message,
    folder_row,
    pid_alive,
    record_text,
    run_folders,
    to_jsonable,
    write_csv,
)
from .layout import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    CREATED,
    FAILED,
    INDEX_COLS,
    INDEX_FILE,
    INDEX_SCHEMA,
    METRICS_FILE,
    RECORD_COLS,
    RECORD_FILE,
    RUN_ID_RE,
    RUN_STATUSES,
    RUNNING,
    CorruptIndexError,
    Reindexed,
    RunInfo,
    RunNotFoundError,
    default_root,
    is_corrupt,
)
from .run import Run
from .tables import metrics_frame, per_epoch_frame, runs_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunStore"]

_BUSY_TIMEOUT_S = 30.0
_STATUS, _UPDATED, _PID, _HOST, _ERROR = (INDEX_COLS.index(c) for c in ("status", "updated", "pid", "host", "error"))


class RunStore:
    """A folder of runs plus its SQLite index ``index.sqlite`` (see the package docstring).

    ``rebuilt``: what opening the store rebuilt (a :class:`Reindexed`) when its index was missing or
    empty while run folders exist, else None."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        root = root if root is not None else default_root()
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
            con.executescript(INDEX_SCHEMA)
        rebuilt = self.reindex() if lost and next(run_folders(self.root), None) is not None else None
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
            if is_corrupt(exc):
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
        d = dict(zip(INDEX_COLS, row))
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
        if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
            raise ValueError(f"run_id={run_id!r}; expected 1-128 of [A-Za-z0-9._-], not starting with . - _")
        dest, tmp, renamed = self.root / run_id, self.root / f".tmp-{run_id}-{secrets.token_hex(4)}", False
        ints = {
            k: cfg.get(k) if isinstance(cfg.get(k), int) and not isinstance(cfg.get(k), bool) else None
            for k in ("seed", "epochs")
        }
        now = time.time()
        record = {"status": CREATED, "created": now, "updated": now, "name": name, "grp": group}
        try:
            (tmp / CHECKPOINT_DIR).mkdir(parents=True)
            (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
            (tmp / METRICS_FILE).touch()
            (tmp / RECORD_FILE).write_bytes(record_text({**dict.fromkeys(RECORD_COLS), **record, "final": {}}))
            with self._db(write=True) as con:
                if dest.exists() or con.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone():
                    raise ValueError(f"run_id={run_id!r} already exists in {self.root}")
                con.execute(
                    "INSERT INTO runs (run_id, status, created, updated, name, grp, data, method, model, "
                    "seed, epochs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        CREATED,
                        now,
                        now,
                        name,
                        group,
                        config_str(cfg.get("data")),
                        config_str(cfg.get("method")),
                        config_str(cfg.get("model")),
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
            row = con.execute(f"SELECT {', '.join(INDEX_COLS)} FROM runs WHERE run_id=?", (run_id,)).fetchone()
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
            if r[_STATUS] == RUNNING and r[_HOST] == host and r[_PID] is not None and not pid_alive(r[_PID])
        }
        if not dead:
            return rows
        try:
            self._mark_dead(dead)
        except sqlite3.OperationalError:  # e.g. a read-only index: report it failed all the same
            now, fixed = time.time(), {}
            for rid, pid in dead.items():
                r = list(next(r for r in rows if r[0] == rid))
                r[_STATUS], r[_ERROR], r[_UPDATED] = FAILED, died_message(pid, host, rid), now
                fixed[rid] = tuple(r)
            return [fixed.get(r[0], r) for r in rows]
        with self._db() as con:
            marks = ", ".join("?" * len(dead))
            fresh = {
                r[0]: r
                for r in con.execute(f"SELECT {', '.join(INDEX_COLS)} FROM runs WHERE run_id IN ({marks})", list(dead))
            }
        return [fresh[r[0]] if r[0] in fresh else r for r in rows if r[0] not in dead or r[0] in fresh]

    def _mark_dead(self, dead: Mapping[str, int]) -> builtins.list[str]:
        """Mark the runs ``{run_id: pid}`` failed (process died) if they are still ``running`` with
        that pid (one transaction); returns the ids marked."""
        host, marked = socket.gethostname(), []
        with self._db(write=True) as con:
            for rid, pid in dead.items():
                cur = con.execute(
                    "UPDATE runs SET status=?, error=?, updated=? WHERE run_id=? AND status=? AND pid=?",
                    (FAILED, died_message(pid, host, rid), time.time(), rid, RUNNING, pid),
                )
                if cur.rowcount:
                    marked.append(rid)
                    Run(self, rid)._write_record(con)  # run.json follows every status change
        return marked

    def list(
        self, *, status: str | None = None, group: str | None = None, data: str | None = None, method: str | None = None
    ) -> list[RunInfo]:
        """Runs matching every given filter, newest first (stale runs reported failed, see the
        package docstring)."""
        if status is not None and status not in RUN_STATUSES:
            raise ValueError(f"status={status!r}; expected one of {RUN_STATUSES}")
        pairs = [(c, v) for c, v in (("grp", group), ("data", data), ("method", method)) if v is not None]
        terms = [f"{c} = ?" for c, _ in pairs]
        if status is not None:  # a stale running row may turn out to be failed
            terms.append("status IN (?, ?)")
            pairs += [("status", status), ("status", RUNNING)]
        where = " WHERE " + " AND ".join(terms) if terms else ""
        with self._db() as con:
            rows = con.execute(
                f"SELECT {', '.join(INDEX_COLS)} FROM runs{where} ORDER BY created DESC, run_id DESC",
                [v for _, v in pairs],
            ).fetchall()
        infos = [self._info(r) for r in self._settle(rows)]
        return infos if status is None else [i for i in infos if i.status == status]

    def to_frame(self, runs: builtins.list[RunInfo] | None = None) -> pd.DataFrame:
        """One row per run (default: ``list()``): the index columns (``created``/``updated`` as UTC
        datetimes, ``path`` as str) then the flattened final metrics (``final.<key>`` on a name clash)."""
        return runs_frame(self.list() if runs is None else runs)

    def metrics(self, run_id: str) -> pd.DataFrame:
        """Per-epoch metrics of ``run_id``, sorted by epoch (the last record wins for a repeated epoch,
        e.g. after a resume); a partially written last line is ignored, other bad lines warn."""
        path = self.root / run_id / METRICS_FILE
        if not (RUN_ID_RE.fullmatch(str(run_id)) and path.parent.is_dir()):
            raise self._not_found(run_id)
        return metrics_frame(path)

    def export_csv(
        self, path: str | os.PathLike, run_ids: builtins.list[str] | None = None, *, per_epoch: bool = False
    ) -> Path:
        """Write ``to_frame`` of the runs (default all) or, with ``per_epoch``, their metrics with
        run_id/name/group/data/method/model/seed columns first, formula-like text escaped
        (``write_csv``); returns the path."""
        infos = self.list() if run_ids is None else [self.get(r) for r in run_ids]
        write_csv(per_epoch_frame(infos, self.metrics) if per_epoch else self.to_frame(infos), path)
        return Path(path)

    def delete(self, run_id: str, *, force: bool = False) -> None:
        """Remove the run's row and folder. A ``running`` run whose pid is alive (or on another host)
        raises ``RuntimeError`` unless ``force``."""
        info = self.get(run_id)
        if (
            info.status == RUNNING
            and not force
            and (info.host != socket.gethostname() or info.pid is None or pid_alive(info.pid))
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
            folders = {p.name: p for p in run_folders(self.root)}
            added, removed = sorted(folders.keys() - have), sorted(have - folders.keys())
            con.executemany(
                f"INSERT INTO runs ({', '.join(INDEX_COLS)}) VALUES ({', '.join('?' * len(INDEX_COLS))})",
                [folder_row(folders[rid]) for rid in added],
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

    def mark_stale(self) -> builtins.list[str]:
        """Mark ``running`` runs of this host whose pid is dead (or a zombie) as ``failed`` with an
        error starting "process died"; returns their ids. ``list()``/``get()`` do the same for the
        runs they read. Cannot see pid reuse or runs of other hosts."""
        with self._db() as con:
            rows = con.execute(
                "SELECT run_id, pid FROM runs WHERE status=? AND host=? AND pid IS NOT NULL",
                (RUNNING, socket.gethostname()),
            ).fetchall()
        dead = {rid: pid for rid, pid in rows if not pid_alive(pid)}
        return self._mark_dead(dead) if dead else []
