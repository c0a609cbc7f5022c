"""``ccel runs list | show | export | delete | cancel | reindex``: the run store from the command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

from ..runs import CANCELLED, DEFAULT_ROOT_TEXT, RUN_STATUSES, RUNNING, RUNS_DIR_ENV, TERMINAL_STATUSES
from ._common import EXIT_FAILED, EXIT_OK, CLIError, add_group, add_runs_dir, err, runs_dir

__all__ = ["add_parser"]

METRIC_COLUMNS = ("acc", "nmi", "ari", "test_acc")
EPOCH_COLUMNS = (
    "epoch",
    "loss",
    "label_loss",
    "acc",
    "nmi",
    "ari",
    "test_acc",
    "test_nmi",
    "test_ari",
    "pseudo_entropy",
    "solver_iters",
    "y_step_seconds",
    "seconds",
)


HELP = "list, show, export, delete, cancel or reindex stored runs"
DESCRIPTION = f"Inspect and manage the run store (default {DEFAULT_ROOT_TEXT})."


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p, rs = add_group(sub, "runs", HELP, DESCRIPTION, "list,show,export,delete,cancel,reindex")

    q = rs.add_parser("list", help="one line per run, newest first")
    q.add_argument("--status", choices=RUN_STATUSES)
    q.add_argument("--group", metavar="G")
    q.add_argument("--data", metavar="NAME")
    q.add_argument("--method", metavar="NAME")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_runs_dir(q)
    q.set_defaults(func=cmd_list)

    q = rs.add_parser("show", help="a run's status, config and per-epoch metrics")
    q.add_argument("run_id", metavar="RUN_ID")
    add_runs_dir(q)
    q.set_defaults(func=cmd_show)

    q = rs.add_parser(
        "export",
        help="write runs (final metrics) or their per-epoch metrics to CSV (text that a spreadsheet would run "
        "as a formula gets a leading ')",
    )
    q.add_argument("out", metavar="OUT.csv")
    q.add_argument("run_ids", metavar="RUN_ID", nargs="*", help="default: every run (after the filters)")
    q.add_argument("--per-epoch", action="store_true", help="one row per run and epoch")
    q.add_argument("--force", action="store_true", help="overwrite OUT.csv if it exists (refused otherwise)")
    q.add_argument("--status", choices=RUN_STATUSES)
    q.add_argument("--group", metavar="G")
    add_runs_dir(q)
    q.set_defaults(func=cmd_export)

    q = rs.add_parser("delete", help="remove runs (row and folder)")
    q.add_argument("run_ids", metavar="RUN_ID", nargs="+")
    q.add_argument("--force", action="store_true", help="also a run whose process still runs")
    add_runs_dir(q)
    q.set_defaults(func=cmd_delete)

    q = rs.add_parser("cancel", help="ask running runs to stop after their current batch")
    q.add_argument("run_ids", metavar="RUN_ID", nargs="+")
    add_runs_dir(q)
    q.set_defaults(func=cmd_cancel)

    q = rs.add_parser(
        "reindex",
        help="rebuild the index from the run folders (rows for folders without one, none for missing "
        "folders; a corrupt index is first moved aside)",
    )
    add_runs_dir(q)
    q.set_defaults(func=cmd_reindex)
    return p


def _store(args: argparse.Namespace, *, must_exist: bool = True) -> Any:
    from ..runs import RunStore, store_exists

    root = runs_dir(args.runs_dir)
    if os.path.lexists(root) and not os.path.isdir(root):
        raise CLIError(f"--runs-dir {str(root)!r} is not a folder; expected the folder of a run store")
    if not store_exists(root):
        if must_exist:
            raise CLIError(f"no run store in {root}; pass --runs-dir or set {RUNS_DIR_ENV}")
        return None
    store = RunStore(root)
    if store.rebuilt is not None:
        print(
            f"ccel: the run index {store.index_path} was missing or empty: rebuilt it from "
            f"{store.rebuilt.folders} run folder(s)",
            file=sys.stderr,
            flush=True,
        )
    return store


def _num(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else value


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..runs import write_csv

    store = _store(args, must_exist=False)  # the store reports runs whose process died as failed
    infos = (
        [] if store is None else store.list(status=args.status, group=args.group, data=args.data, method=args.method)
    )
    if args.format == "json":
        rows = []
        for i in infos:
            rows.append(
                {
                    "run_id": i.run_id,
                    "status": i.status,
                    "name": i.name,
                    "group": i.group,
                    "data": i.data,
                    "method": i.method,
                    "model": i.model,
                    "seed": i.seed,
                    "epochs": i.epochs,
                    "epoch": i.epoch,
                    "created": i.created,
                    "updated": i.updated,
                    "pid": i.pid,
                    "host": i.host,
                    "error": i.error,
                    "path": str(i.path),
                    "final": i.final,
                }
            )
        print(json.dumps(rows, indent=2, allow_nan=False))
        return EXIT_OK
    if args.format == "csv":
        if store is None:
            print("run_id,status,name,group,data,method,model,seed,epochs,epoch,created,updated,pid,host,error,path")
        else:
            write_csv(store.to_frame(infos), sys.stdout)
        return EXIT_OK
    if not infos:
        where = runs_dir(args.runs_dir)
        print(f"no runs in {where}" + (" matching the filters" if store is not None else ""))
        return EXIT_OK
    rows = []
    for i in infos:
        row = {
            "run_id": i.run_id,
            "status": i.status,
            "group": i.group or "",
            "name": i.name or "",
            "data": os.path.basename(i.data or ""),
            "method": i.method,
            "model": i.model,
            "seed": i.seed,
            "epoch": f"{i.epoch}/{i.epochs if i.epochs is not None else '?'}",
        }
        for key in METRIC_COLUMNS:
            if key in i.final:
                row[key] = _num(i.final.get(key))
        row["created"] = _when(i.created)
        rows.append(row)
    frame = pd.DataFrame(rows).fillna("")
    print(frame.to_string(index=False))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    info = store.get(args.run_id)
    run = store.open(args.run_id)
    print(f"run      {info.run_id}")
    print(f"status   {info.status}" + (f"  error: {info.error}" if info.error else ""))
    print(f"epoch    {info.epoch}/{info.epochs}")
    for key in ("group", "name"):
        if getattr(info, key):
            print(f"{key:<8} {getattr(info, key)}")
    print(f"created  {_when(info.created)}   updated {_when(info.updated)}")
    print(f"path     {info.path}")
    print("\nconfig:")
    for key, value in run.config.items():
        print(f"  {key} = {json.dumps(value)}")
    metrics = store.metrics(args.run_id)
    print("\nmetrics:")
    if metrics.empty or len(metrics.columns) <= 1:
        print("  (no epoch logged yet)")
    else:
        cols = [c for c in EPOCH_COLUMNS if c in metrics.columns and metrics[c].notna().any()]
        cols += [
            c
            for c in metrics.columns
            if c not in cols and c != "cluster_sizes" and metrics[c].dtype.kind in "if" and metrics[c].notna().any()
        ]
        print(metrics[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if "cluster_sizes" in metrics.columns and isinstance(metrics["cluster_sizes"].iloc[-1], list):
            print(f"\nfinal cluster sizes: {metrics['cluster_sizes'].iloc[-1]}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    out = os.path.abspath(args.out)
    if not out.lower().endswith(".csv"):
        raise CLIError(f"OUT={args.out!r}: expected a file name ending in .csv (the first argument is the output file)")
    if os.path.lexists(out) and not (args.force and os.path.isfile(out)):
        raise CLIError(
            f"OUT={args.out!r} already exists; pass --force to overwrite it"
            if os.path.isfile(out)
            else f"OUT={args.out!r} exists and is not a file"
        )
    store = _store(args)
    ids = list(args.run_ids) or None
    if args.status or args.group:
        chosen = [i.run_id for i in store.list(status=args.status, group=args.group)]
        ids = chosen if ids is None else [r for r in ids if r in set(chosen)]
    elif ids is not None:
        for run_id in ids:
            store.get(run_id)  # RunNotFoundError (exit 2) before writing anything
    path = store.export_csv(args.out, ids, per_epoch=args.per_epoch)
    import pandas as pd

    n = len(pd.read_csv(path)) if os.path.getsize(path) else 0
    print(f"wrote {n} row(s) to {os.path.abspath(path)}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    for run_id in args.run_ids:
        store.get(run_id)  # every id exists before anything is deleted
    code = EXIT_OK
    for run_id in args.run_ids:
        try:
            store.delete(run_id, force=args.force)
        except RuntimeError as exc:  # a running run: the library's words name its keyword, ours the flag
            err(str(exc).replace("pass force=True", "pass --force"))
            code = EXIT_FAILED
            continue
        print(f"deleted {run_id}")
    return code


def cmd_cancel(args: argparse.Namespace) -> int:
    store = _store(args)
    for run_id in args.run_ids:
        store.get(run_id)
    for run_id in args.run_ids:
        run = store.open(run_id)
        status = run.info.status
        if status in TERMINAL_STATUSES:
            print(f"{run_id} is already {status}; nothing to cancel")
            continue
        run.request_cancel()
        print(f"{run_id}: cancel requested ({'stops after its current batch' if status == RUNNING else CANCELLED})")
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace) -> int:
    from ..runs import RunStore

    root = runs_dir(args.runs_dir)
    if not os.path.isdir(root):
        raise CLIError(f"no run store in {root}; pass --runs-dir or set {RUNS_DIR_ENV}")
    store, done = RunStore.rebuild_index(root)
    if done.moved is not None:
        print(f"moved the corrupt index to {done.moved}")
    if done.added:
        print(f"added {len(done.added)} run(s): {', '.join(done.added)}")
    if done.removed:
        print(f"removed {len(done.removed)} row(s) without a folder: {', '.join(done.removed)}")
    if not (done.added or done.removed):
        print(f"the index of {done.folders} run folder(s) is up to date")
    for info in store.list():  # statuses as every reader sees them (a run whose process died: failed)
        if info.run_id in done.added:
            print(f"  {info.run_id}  {info.status}  epoch {info.epoch}/{'?' if info.epochs is None else info.epochs}")
    return EXIT_OK
