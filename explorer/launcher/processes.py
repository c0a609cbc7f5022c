"""The ``ccel fit`` subprocesses started by the page: their commands, their launch records and logs.

Runs execute outside the Streamlit script thread, as ``python -m ccel_core.cli fit …`` in a new
session (``start_new_session=True``), so they survive page reloads and even a server restart; they
write to the run store, which the page polls. Each run's own output is in ``<run>/log.txt``
(``ccel fit`` writes it); the output of each command in ``_launches/<launch_id>.log``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import streamlit as st

from ccel_core.cli.flags import config_argv
from ccel_core.runs import ACTIVE_STATUSES, RUNS_DIR_ENV, Run, RunInfo, RunStore
from ccel_core.training import TrainConfig

REPO = Path(__file__).resolve().parents[2]  # the repository (this file is explorer/launcher/processes.py)
LAUNCH_DIR = "_launches"
ACTIVE = ACTIVE_STATUSES  # a run not ended yet (the store's statuses)


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
        RUNS_DIR_ENV: str(root),
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


def run_log(store: RunStore, info: RunInfo, lines: int = 30) -> str:
    """The end of the run's own log (:attr:`~ccel_core.runs.Run.log_path`; '' when it has none)."""
    return log_tail(Run(store, info.run_id).log_path, lines)
