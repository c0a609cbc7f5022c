"""``ccel fit``: train one method on one data set, one run per seed, each written to the run store.

The pieces are separate so that a data-parallel launcher (``torchrun … -m ccel_core.cli fit``)
can reuse them: :func:`build_configs` (flags + TOML → one :class:`TrainConfig` per seed),
:func:`load_data` (the data set of a config) and :func:`~ccel_core.cli.train.train_one` (one seed,
given a config and an optional :class:`~ccel_core.runs.Run`, to its end; in :mod:`.train`).

Everything that can be checked is checked before the first run is created (config, data, model,
``n_clusters <= n_samples``, an unused ``--run-id``), so a bad invocation writes nothing.

Each run's own output (its header line, one line per epoch, its result and errors) is also
appended to ``<run>/log.txt`` while it trains, so a run's log never holds another seed's lines.

``--resume RUN_ID`` continues a run from its last checkpoint up to its stored total, or with
``--epochs N`` up to a new total ``N`` (the run's config and index take it). ``N`` must exceed
the epochs already done, and a run with every epoch done needs such an ``N``: otherwise the
command is refused (exit 2) before anything changes, so a resume never marks an unfinished run
finished. The exception: a run with all its stored epochs done that never finished (killed after its
last checkpoint) is completed without training: assignments, final metrics, status ``finished``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Optional

from .._hints import describe_unknown
from ..runs import CANCELLED, FAILED, FINISHED, RUNNING
from ..summary import summarize
from ._common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, CLIError, add_runs_dir, err, runs_dir
from .flags import FIELDS, add_config_flags, check_data_options, config_overrides, field_type, flag_name
from .train import FitResult, brief, train_one

__all__ = ["add_parser", "build_configs", "load_data", "train_one", "FitResult", "cmd_fit"]

SUMMARY_KEYS = ("loss", "label_loss", "acc", "nmi", "ari", "test_acc", "test_nmi", "test_ari")


HELP = "train a clustering method; one run per seed in the run store"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fit",
        help=HELP,
        description="Train one method on one data set, one run per seed (sequentially); every run is "
        "written to the run store (status running -> finished / failed / cancelled). "
        "Settings: TrainConfig defaults < --config FILE.toml < command-line flags.",
        epilog="Exit codes: 0 finished; 1 a run failed; 2 bad arguments, config or data (nothing written); "
        "130 cancelled (Ctrl-C / SIGTERM stop after the current batch, a second one at once).",
    )
    groups = add_config_flags(p)  # one flag per TrainConfig field
    groups["data"].add_argument("--download", action="store_true", help="let torchvision download missing data files")
    groups["optimization"].add_argument(
        "--seeds", type=field_type("seed"), nargs="+", metavar="S", help="several seeds: one run each, sequentially"
    )
    g = p.add_argument_group("runs")
    g.add_argument("--config", metavar="FILE.toml", help="TrainConfig fields as TOML; flags override the file")
    add_runs_dir(g)
    g.add_argument("--run-id", metavar="ID", help="id of the new run (one seed only; must not exist)")
    g.add_argument("--group", metavar="NAME", help="group label (default: a new id shared by this command's runs)")
    g.add_argument("--name", metavar="NAME", help="display name of the run(s)")
    g.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue a stored run from its last checkpoint; --epochs N sets its new total "
        "(N must exceed the epochs it has done)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar (one line per epoch instead)")
    p.set_defaults(func=cmd_fit)
    return p


# ------------------------------------------------------------------------------------------
# configs and data
# ------------------------------------------------------------------------------------------
def read_toml(path: str) -> dict[str, Any]:
    """The TrainConfig fields of a TOML file (``CLIError`` naming unknown keys)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise CLIError(f"config file {path} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CLIError(f"cannot read config file {path}: {exc}") from None
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise CLIError(
            f"{path}: unknown key(s) {describe_unknown(unknown, FIELDS)}; known keys (TrainConfig fields): "
            f"{', '.join(FIELDS)}"
        )
    return data


def _abspath(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    if value.startswith("file:"):
        return "file:" + os.path.abspath(os.path.expanduser(value[5:]))
    return os.path.abspath(os.path.expanduser(value))


def build_configs(args: argparse.Namespace) -> list:
    """One validated :class:`TrainConfig` per seed: defaults < ``--config`` < flags.

    Paths (a feature file, ``--root``, ``--weights``) are made absolute, so a run resumes from any
    folder. For a feature file, ``--n-clusters`` is also handed to the loader (a file without labels
    needs it).
    """
    from ..data.features import is_feature_file
    from ..training import TrainConfig

    try:
        merged = config_overrides(args, read_toml(args.config) if args.config else {})
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    data = merged.get("data")
    if isinstance(data, str) and is_feature_file(data):
        merged["data"] = _abspath(data)
        if merged.get("n_clusters") is not None:
            merged["data_options"] = {"n_clusters": merged["n_clusters"], **merged.get("data_options", {})}
    for key in ("root", "weights"):
        if isinstance(merged.get(key), str):
            merged[key] = _abspath(merged[key])
    seeds = list(args.seeds) if args.seeds else [merged.get("seed", 0)]
    if len(set(seeds)) != len(seeds):
        raise CLIError(f"--seeds {' '.join(map(str, seeds))} repeats a seed")
    return [TrainConfig.from_dict({**merged, "seed": s}) for s in seeds]


def load_data(config: Any, *, download: bool = False) -> Any:
    """The :class:`~ccel_core.data.Dataset` of ``config``, as the Trainer loads it."""
    from ..training.build import load_config_data

    return load_config_data(config, download=download)


# ------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------
def _given(args: argparse.Namespace, dests: Any) -> list[str]:
    return [f"--{d.replace('_', '-')}" for d in dests if getattr(args, d) not in (None, False, [])]


def _store_if_exists(root: str) -> Any:
    from ..runs import RunStore, store_exists

    return RunStore(root) if store_exists(root) else None  # an index lost with runs left is rebuilt


def _report(run_id: str, cfg: Any, result: FitResult) -> None:
    m = result.metrics
    total = sum(h.get("seconds") or 0.0 for h in result.trainer.history)
    line = f"{run_id}  {result.status}  epoch={result.trainer.epoch}/{cfg.epochs}"
    body = brief(m, SUMMARY_KEYS)
    print(f"{line}  {body}  seconds={total:.2f}" + (f"  error={result.error}" if result.error else ""), flush=True)


def _exit_code(results: list[FitResult]) -> int:
    if any(r.status == FAILED for r in results):
        return EXIT_FAILED
    if any(r.status == CANCELLED for r in results):
        return EXIT_CANCELLED
    return EXIT_OK


def _complain(result: FitResult, run_id: str) -> None:
    if result.status == FAILED:
        if result.exception is not None and os.environ.get("CCEL_DEBUG"):
            traceback.print_exception(result.exception, file=sys.stderr)
        err(f"run {run_id} failed: {result.error}")


def cmd_fit(args: argparse.Namespace) -> int:
    """``ccel fit``; under ``torchrun`` every process runs it, data-parallel (DDP + sharded EM)."""
    if args.resume is not None:
        return _cmd_resume(args)

    configs = build_configs(args)
    # the data options by name and type, naming the --data-option, before anything is loaded
    check_data_options(configs[0].data, configs[0].data_options, args.data_options, source=args.config)
    from ..distributed import init_from_env, shutdown  # torch: only once a command trains

    dist = init_from_env(configs[0].device)  # torchrun: join the group; rank 0 alone writes runs
    try:
        return _fit_configs(args, configs, dist)
    finally:
        shutdown()


def _fit_configs(args: argparse.Namespace, configs: list, dist: Any) -> int:
    from ..runs import RunStore
    from ..training import Trainer

    if args.run_id is not None and len(configs) > 1:
        raise CLIError(f"--run-id names one run; it cannot be combined with {len(configs)} --seeds")
    root = runs_dir(args.runs_dir)
    existing = _store_if_exists(root)
    if args.run_id is not None and (
        os.path.exists(os.path.join(root, args.run_id))
        or (existing is not None and any(i.run_id == args.run_id for i in existing.list()))
    ):
        raise CLIError(
            f"run_id={args.run_id!r} already exists in {root}; choose another --run-id "
            f"or continue it with --resume {args.run_id}"
        )
    dataset = load_data(configs[0], download=args.download)
    group = args.group or time.strftime("g%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(2)
    progress = not args.no_progress and sys.stderr.isatty()
    store, results = existing, []
    group = dist.broadcast_object(group)
    for cfg in configs:
        trainer = Trainer(cfg, dataset=dataset)  # validates against the data before any write
        run = None
        if dist.is_main:
            if store is None:
                store = RunStore(root)
            run = store.create(cfg.to_dict(), run_id=args.run_id, group=group, name=args.name)
        quiet = None if dist.is_main else open(os.devnull, "w")  # one voice: rank 0's
        with run_log(run):
            if run is not None:
                world = f"  processes={dist.world}" if dist.active else ""
                print(
                    f"run {run.run_id}  seed={cfg.seed}  group={group}  data={cfg.data}  method={cfg.method}  "
                    f"model={cfg.model}  runs_dir={root}{world}",
                    flush=True,
                )
            result = train_one(cfg, run=run, trainer=trainer, progress=progress and dist.is_main, stream=quiet)
            if run is not None:
                _report(run.run_id, cfg, result)
                _complain(result, run.run_id)
        results.append(result)
        if not dist.is_main:
            if result.status != FINISHED:
                break
            continue
        if result.status != FINISHED:
            if len(results) < len(configs):
                print(f"stopping: {len(configs) - len(results)} seed(s) not started", file=sys.stderr, flush=True)
            break
    if dist.is_main:
        _summary(results, group)
    return _exit_code(results)


class _Tee:
    """A text stream that also appends to a log file; chunks holding a carriage return (a progress
    bar redrawing itself) go to the stream only."""

    def __init__(self, stream: Any, log: IO[str]) -> None:
        self._stream, self._log = stream, log

    def write(self, text: str) -> int:
        self._stream.write(text)
        if "\r" not in text:
            self._log.write(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        self._log.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno…: the stream's
        return getattr(self._stream, name)


@contextmanager
def run_log(run: Any) -> Iterator[None]:
    """While inside: stdout and stderr are also appended to ``run.log_path`` (nothing without a run)."""
    if run is None:
        yield
        return
    with open(run.log_path, "a", encoding="utf-8", buffering=1) as log:
        out, errs = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, log), _Tee(errs, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, errs


def _summary(results: list[FitResult], group: str) -> None:
    done = [r.metrics for r in results if r.status == FINISHED]
    if len(done) < 2:
        return
    parts = []
    for key in ("acc", "nmi", "ari", "test_acc"):
        summary = summarize(m.get(key) for m in done)
        if summary.n == len(done):
            parts.append(f"{key}={summary.format()}")
    print(f"group {group}: {len(done)} runs finished  " + "  ".join(parts), flush=True)


def _cmd_resume(args: argparse.Namespace) -> int:
    from ..training import RESUMABLE_KEYS, TrainConfig, Trainer

    refused = [flag_name(f) for f in FIELDS if f not in RESUMABLE_KEYS and getattr(args, f) not in (None, [])]
    refused += _given(args, ("seeds", "config", "run_id", "group", "name"))
    if refused:
        raise CLIError(
            f"--resume continues a stored run with its stored config: {', '.join(refused)} cannot be "
            f"given with it (only {', '.join(flag_name(f) for f in RESUMABLE_KEYS)})"
        )
    if not args.resume.strip():
        raise CLIError(f"--resume {args.resume!r}: expected the id of a stored run (ccel runs list)")
    root = runs_dir(args.runs_dir)
    store = _store_if_exists(root)
    if store is None:
        raise CLIError(f"no run store in {root} (nothing to resume); pass --runs-dir")
    run = store.open(args.resume)
    if run.info.epoch > 0 and not run.checkpoint_path().is_file():  # it would silently start over
        raise CLIError(
            f"run {args.resume!r} has {run.info.epoch} epoch(s) done but no checkpoint ({run.checkpoint_path()} "
            "is missing): it cannot be resumed; start a new run (ccel fit …)"
        )
    saved = run.config
    changes = {f: getattr(args, f) for f in RESUMABLE_KEYS if getattr(args, f) is not None}
    if "root" in changes:
        changes["root"] = _abspath(changes["root"])
    cfg = TrainConfig.from_dict({**saved, **changes})
    from ..distributed import init_from_env, shutdown  # torch: only once a command trains

    dist = init_from_env(cfg.device)  # torchrun: rank 0 holds the run, the others get its checkpoint
    try:
        problem = None
        if dist.is_main:
            info = run.info  # a run whose process died reads failed here: resumable
            if info.status == RUNNING:
                problem = (
                    f"run {args.resume!r} is running (pid={info.pid}, host={info.host!r}); "
                    "cancel it first (ccel runs cancel)"
                )
        problem = dist.broadcast_object(problem)  # every process stops, or none
        if problem:
            raise CLIError(problem)
        dataset = load_data(cfg, download=args.download)
        # loads the checkpoint (rank 0; broadcast to the others); refuses a changed config
        trainer = Trainer(cfg, dataset=dataset, run=run if dist.is_main else None)
        finished = run.info.status == FINISHED
        _check_more_epochs(
            args.resume, trainer.epoch, cfg.epochs, saved.get("epochs"), args.epochs is not None, finished
        )
        if not dist.is_main:
            return _exit_code([train_one(cfg, trainer=trainer, stream=open(os.devnull, "w"))])
        if cfg.epochs != saved.get("epochs"):
            run.set_epochs(cfg.epochs)
        with run_log(run):
            print(
                f"run {run.run_id}  resumed at epoch {trainer.epoch}/{cfg.epochs}  group={info.group}  "
                f"data={cfg.data}  method={cfg.method}  model={cfg.model}  runs_dir={root}",
                flush=True,
            )
            result = train_one(cfg, run=run, trainer=trainer, progress=not args.no_progress and sys.stderr.isatty())
            _report(run.run_id, cfg, result)
            _complain(result, run.run_id)
        return _exit_code([result])
    finally:
        shutdown()


def _check_more_epochs(run_id: str, done: int, total: int, stored: Any, given: bool, finished: bool) -> None:
    """``CLIError`` (exit 2, before anything changed) unless the resume has epochs left to train:
    ``total`` (``--epochs`` or the stored total) must exceed the ``done`` epochs of the checkpoint, or
    the run has its stored total done but is not ``finished`` (the resume completes it)."""
    if total > done or (total == done == stored and not finished):
        return
    if given:
        rest = (
            f", or leave it out to continue to its {stored} epochs" if isinstance(stored, int) and stored > done else ""
        )
        raise CLIError(
            f"--epochs {total} is not more than the {done} epoch(s) run {run_id!r} has done; nothing was changed. "
            f"Pass --epochs N with N > {done} (the new total){rest}"
        )
    raise CLIError(
        f"run {run_id!r} has all its {done} epoch(s) done; nothing was changed. "
        f"Pass --epochs N with N > {done} to train it further"
    )
