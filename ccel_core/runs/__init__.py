"""Run store: a SQLite index plus one folder per run, shared by the trainer, the CLI and the app.

Modules: :mod:`.layout` (statuses, file names, schema, record types), :mod:`.files` (atomic writes,
JSON lines, conversions), :mod:`.store` (:class:`RunStore`), :mod:`.run` (:class:`Run`),
:mod:`.tables` (DataFrames).

Layout (root = ``RunStore.root``: the ``root`` argument, else :func:`default_root`: ``$CCEL_RUNS_DIR``,
else ``./runs``)::

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
``$CCEL_KILL_AT`` is a testing hook that kills the process after a chosen write (``files.kill_point``).

JSON safety: configs, metrics and ``final`` are converted to plain Python (``to_jsonable``): numpy and
torch scalars/arrays become numbers/lists, paths become strings, integer keys become strings and
**NaN/±Inf become null** (``None``; NaN in DataFrames). Anything else raises ``TypeError`` naming its key.

Checkpoint contract: the state must contain only tensors, dicts, lists, tuples, numbers, strings,
bytes, None and torch Size/dtype/device. numpy arrays are converted to tensors and numpy scalars to
Python numbers on save, so checkpoints load with ``torch.load(weights_only=True)`` (the only mode used).
"""

from __future__ import annotations

from . import layout
from .files import KILL_POINTS, atomic_write, csv_safe, is_run_folder, store_exists, to_jsonable, write_csv
from .layout import *  # noqa: F403  (statuses, file names, the default root, record types, errors)
from .run import Run
from .store import RunStore

__all__ = [
    *layout.__all__,
    "RunStore",
    "Run",
    "KILL_POINTS",
    "store_exists",
    "is_run_folder",
    "csv_safe",
    "write_csv",
    "to_jsonable",
    "atomic_write",
]
