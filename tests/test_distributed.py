"""Data-parallel training (torch.distributed, gloo on CPU) equals the single-process run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ccel_core.distributed import Dist
from ccel_core.training import TrainConfig, Trainer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# The paper's EM y-step (plain EM: SQUAREM's accept/reject amplifies rounding) is bit-stable across
# process counts; the exact y-step is compared separately below.
CONFIG = dict(
    data="digits",
    method="ccel",
    model="linear",
    epochs=3,
    batch_size=200,
    precision="float64",
    accelerate=False,
    device="cpu",
    seed=0,
    y_solver="em",
)


WORKER = r"""
import datetime, json, sys
import torch, torch.distributed as dist
from ccel_core.distributed import shutdown
from ccel_core.training import TrainConfig, Trainer

rank, world, init_file, out, config = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
torch.set_num_threads(1)
# a bounded collective timeout: a mismatch fails the test instead of hanging the suite
dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                        timeout=datetime.timedelta(seconds=120))
try:
    trainer = Trainer(TrainConfig(**config))
    history = list(trainer.fit())
    state = trainer.state_dict()  # gathers every shard's labels (a collective)
    if rank == 0:
        torch.save({"history": history, "labels": state["labels"], "model": state["model"]}, out)
    del trainer  # drop the DDP module (and its reducer) before the group it uses
finally:
    shutdown()
# as ccel's torchrun entry does (exit_after_group): skip the interpreter teardown, which after
# gloo sometimes aborts a finished worker
sys.stdout.flush()
import os; os._exit(0)
"""


def _single(overrides: dict) -> dict:
    torch.set_num_threads(1)
    trainer = Trainer(TrainConfig(**{**CONFIG, **overrides}))
    history = list(trainer.fit())
    state = trainer.state_dict()
    return {"history": history, "labels": state["labels"], "model": state["model"]}


def _parallel(tmp_path: Path, world: int, overrides: dict) -> dict:
    """``world`` fresh interpreters joined by gloo (separate processes, not multiprocessing: a
    spawned child re-imports the parent's ``__main__``, which other tests may have replaced)."""
    out = tmp_path / "result.pt"
    config = json.dumps({**CONFIG, **overrides})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(r), str(world), str(tmp_path / "init"), str(out), config],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for r in range(world)
    ]
    logs = [p.communicate(timeout=400)[0] for p in procs]
    for r, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {r} exited with {p.returncode}:\n{log[-3000:]}"
    return torch.load(out, weights_only=False)


def _assert_same_run(one: dict, two: dict, atol: float, metrics_atol: float = 1e-6) -> None:
    """Labels and parameters to ``atol``, every epoch's metrics to ``metrics_atol``, same cluster sizes."""
    torch.testing.assert_close(two["labels"], one["labels"], rtol=0, atol=atol)
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=0, atol=atol)
    for a, b in zip(one["history"], two["history"]):
        for key in ("loss", "label_loss", "acc", "nmi", "ari", "pseudo_entropy"):
            assert b[key] == pytest.approx(a[key], abs=metrics_atol), (key, a[key], b[key])
        assert b["cluster_sizes"] == a["cluster_sizes"]


@pytest.mark.parametrize("overrides", [{}, {"y_step": "full"}, {"method": "sela", "epochs": 2}])
def test_two_processes_equal_one(tmp_path, overrides):
    _assert_same_run(_single(overrides), _parallel(tmp_path, 2, overrides), atol=1e-6)


def test_two_processes_equal_one_with_the_exact_y_step(tmp_path):
    """The exact y-step solves each batch gathered in every process. Both runs certify every batch to
    1e-12, which pins the labels down to ~1e-6 (the flattest directions of P move them by ~√gap;
    measured: 3.1e-7), and the data-parallel θ-step differs from the single-process one by rounding."""
    overrides = {"y_solver": "exact", "solver_tol": 1e-12, "epochs": 2}
    _assert_same_run(_single(overrides), _parallel(tmp_path, 2, overrides), atol=1e-5)


def test_dist_helpers_single_process():
    d = Dist()
    idx = torch.arange(10)
    assert torch.equal(d.owned(10), idx) and torch.equal(d.local_positions(idx), idx)
    t = torch.ones(3)
    assert d.all_reduce(t) is t and d.any(True) and not d.any(False)
    assert torch.equal(d.gather_owned(idx, 10), idx)
    assert d.broadcast_object({"a": 1}) == {"a": 1}


def test_ownership_covers_every_point_once():
    n, world = 23, 3
    seen = torch.cat([Dist(r, world).owned(n) for r in range(world)])
    assert sorted(seen.tolist()) == list(range(n))
    for r in range(world):
        own = Dist(r, world).owned(n)
        assert torch.equal(Dist(r, world).local_positions(own), torch.arange(len(own)))


@pytest.mark.skipif(
    shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
    reason="torchrun not installed",
)
def test_torchrun_cli_writes_one_run(tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        torchrun,
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "ccel_core.cli",
        "fit",
        "--data",
        "digits",
        "--method",
        "ccel",
        "--model",
        "linear",
        "--epochs",
        "2",
        "--seed",
        "0",
        "--device",
        "cpu",
        "--runs-dir",
        str(runs),
        "--no-progress",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = subprocess.run(
        [sys.executable, "-m", "ccel_core.cli", "runs", "list", "--runs-dir", str(runs), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.strip().splitlines()[1:] if line.strip()]
    assert len(rows) == 1 and "finished" in rows[0], listed.stdout


@pytest.mark.skipif(
    shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
    reason="torchrun not installed",
)
def test_checkpoint_resumes_under_another_world_size(tmp_path):
    """2 epochs in one process, then a 2-process resume to 3 epochs = 3 epochs in one process."""
    from ccel_core.cli import main
    from ccel_core.runs import RunStore

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    common = [
        "--data",
        "digits",
        "--method",
        "ccel",
        "--model",
        "linear",
        "--seed",
        "0",
        "--device",
        "cpu",
        "--precision",
        "float64",
        "--batch-size",
        "200",
        "--no-accelerate",
        "--no-progress",
    ]
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["fit", *common, "--epochs", "3", "--runs-dir", str(a), "--run-id", "whole"]) == 0
    assert main(["fit", *common, "--epochs", "2", "--runs-dir", str(b), "--run-id", "split"]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        torchrun,
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "ccel_core.cli",
        "fit",
        "--resume",
        "split",
        "--epochs",
        "3",
        "--runs-dir",
        str(b),
        "--no-progress",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    whole = RunStore(a).metrics("whole").iloc[-1]
    split = RunStore(b).metrics("split").iloc[-1]
    assert int(split["epoch"]) == 3
    for key in ("loss", "label_loss", "acc", "nmi", "ari"):
        assert split[key] == pytest.approx(whole[key], abs=1e-6), key
