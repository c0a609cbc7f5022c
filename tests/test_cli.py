"""The ``ccel`` command: fit → run store → runs list/show/export/delete/cancel, resume, errors, bench.

Most tests call ``main([...])`` in-process (fast); one runs ``python -m ccel_core.cli`` for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccel_core.cli import main
from ccel_core.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
TINY = ["--data", "digits", "--method", "ccel", "--model", "linear", "--n-samples", "300", "--no-progress"]


def fit(runs: Path, *args: str) -> int:
    return main(["fit", *TINY, "--runs-dir", str(runs), *args])


def metrics_table(store: RunStore, run_id: str) -> pd.DataFrame:
    """Per-epoch metrics without the wall-clock columns."""
    return store.metrics(run_id).drop(columns=["seconds", "y_step_seconds"])


# ------------------------------------------------------------------------------------------
# fit → runs list
# ------------------------------------------------------------------------------------------
def test_fit_writes_a_run_that_runs_list_shows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "2", "--seed", "3", "--name", "tiny") == 0
    out = capsys.readouterr().out
    store = RunStore(runs)
    [info] = store.list()
    assert info.run_id in out and "finished" in out and "acc=" in out
    assert (info.status, info.epoch, info.epochs, info.seed, info.name) == ("finished", 2, 2, 3, "tiny")
    assert (info.data, info.method, info.model) == ("digits", "ccel", "linear")
    assert 0 <= info.final["acc"] <= 1 and info.group
    assert store.metrics(info.run_id)["epoch"].tolist() == [1, 2]
    labels, probs = store.open(info.run_id).load_assignments()
    assert labels.shape == (300,) and probs.shape == (300, 10)
    config = json.loads((info.path / "config.json").read_text())
    assert (config["n_samples"], config["epochs"], config["seed"]) == (300, 2, 3)

    assert main(["runs", "list", "--runs-dir", str(runs)]) == 0
    table = capsys.readouterr().out
    assert info.run_id in table and "finished" in table and "2/2" in table
    assert main(["runs", "list", "--runs-dir", str(runs), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["run_id"] == info.run_id and row["final"]["acc"] == pytest.approx(info.final["acc"])
    assert main(["runs", "list", "--runs-dir", str(runs), "--status", "failed"]) == 0
    assert info.run_id not in capsys.readouterr().out

    assert main(["runs", "show", info.run_id, "--runs-dir", str(runs)]) == 0
    shown = capsys.readouterr().out
    assert "status   finished" in shown and "lr = 0.1" in shown and "nmi" in shown


def test_several_seeds_one_run_each_sharing_a_group(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "1", "--seeds", "0", "1", "2") == 0
    infos = RunStore(runs).list()
    assert sorted(i.seed for i in infos) == [0, 1, 2]
    assert len({i.group for i in infos}) == 1 and infos[0].group
    assert all(i.status == "finished" for i in infos)
    assert len({i.final["loss"] for i in infos}) == 3  # the seeds differ
    out = capsys.readouterr().out
    assert f"group {infos[0].group}: 3 runs finished" in out and "acc=" in out
    assert fit(runs, "--epochs", "1", "--seed", "5", "--group", "mine") == 0
    [mine] = RunStore(runs).list(group="mine")
    assert mine.seed == 5


def test_config_file_with_flag_override(tmp_path: Path) -> None:
    runs, toml = tmp_path / "runs", tmp_path / "cfg.toml"
    toml.write_text(
        'data = "digits"\nmethod = "migd"\nlr = 0.05\nepochs = 4\nn_samples = 200\ngamma = 1.1\n'
        "[data_options]\nseed = 2\n"
    )
    assert main(["fit", "--config", str(toml), "--epochs", "1", "--runs-dir", str(runs), "--no-progress"]) == 0
    [info] = RunStore(runs).list()
    config = json.loads((info.path / "config.json").read_text())
    assert (config["method"], config["lr"], config["gamma"], config["n_samples"]) == ("migd", 0.05, 1.1, 200)
    assert config["epochs"] == 1 and info.epoch == 1  # the flag wins over the file
    assert config["data_options"] == {"seed": 2}


def test_feature_file_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(240, centers=3, random_state=0)
    path = tmp_path / "blobs.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    runs = tmp_path / "runs"
    monkeypatch.chdir(tmp_path)  # a relative path is stored absolute
    assert (
        main(
            [
                "fit",
                "--data",
                "blobs.npz",
                "--epochs",
                "10",
                "--batch-size",
                "30",
                "--runs-dir",
                str(runs),
                "--no-progress",
                "--data-option",
                "standardize=true",
            ]
        )
        == 0
    )
    [info] = RunStore(runs).list()
    config = json.loads((info.path / "config.json").read_text())
    assert config["data"] == str(path) and config["data_options"] == {"standardize": True}
    assert info.final["acc"] > 0.6  # chance: about 1/3


# ------------------------------------------------------------------------------------------
# bad input: exit code 2, a clear message, nothing written
# ------------------------------------------------------------------------------------------
def _bad_files(tmp: Path) -> dict[str, Path]:
    x = np.random.default_rng(0).normal(size=(30, 4))
    corrupt = tmp / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY this is not an array")
    short = tmp / "short.npz"
    np.savez(short, x=x, y=np.zeros(29, dtype=np.int64))
    nan = tmp / "nan.npy"
    xn = x.copy()
    xn[3, 1] = np.nan
    np.save(nan, xn)
    toml = tmp / "bad.toml"
    toml.write_text("lr = 0.5\nlrr = 1\n")
    return {"corrupt": corrupt, "short": short, "nan": nan, "toml": toml}


BAD = {
    "unknown data": (["--data", "nope"], r"unknown data set .*known names: .*digits.*mnist-test"),
    "unknown method": (
        ["--data", "digits", "--method", "nope"],
        r"unknown method.*known methods: ccel, ccel-eq10, "
        r"miadm, sela, migd, imsat, iic, kmeans",
    ),
    "unknown model": (["--data", "digits", "--model", "nope"], r"unknown model.*known models: linear, mlp"),
    "epochs 0": (["--data", "digits", "--epochs", "0"], r"epochs=0 should be >= 1"),
    "corrupted file": (["--data", "{corrupt}", "--n-clusters", "2"], r"corrupt\.npy: not a valid \.npy file"),
    "label length": (["--data", "{short}"], r"short\.npz: 29 labels for 30 feature rows"),
    "nan features": (
        ["--data", "{nan}", "--n-clusters", "2"],
        r"nan\.npy: features contain 1 NaN values at rows \[3\]",
    ),
    "n_clusters > n_samples": (["--data", "digits", "--n-samples", "5"], r"n_clusters=10 should be <= n_samples=5"),
    "unknown toml key": (["--config", "{toml}"], r"bad\.toml: unknown key\(s\) 'lrr' \(did you mean 'lr'\?\)"),
    "run id with seeds": (["--data", "digits", "--seeds", "1", "2", "--run-id", "x"], r"--run-id names one run"),
    "bad flag value": (["--data", "digits", "--device", "gpu"], r"argument --device: invalid choice"),
    "lam for migd": (["--data", "digits", "--method", "migd", "--lam", "3"], r"lam=3.0 is not used by method='migd'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_and_writes_nothing(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    files = _bad_files(tmp_path)
    args, pattern = BAD[case]
    args = [a.format(**files) for a in args]
    runs = tmp_path / "runs"
    assert main(["fit", *args, "--runs-dir", str(runs), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ccel: error: " in err
    import re

    assert re.search(pattern, err), err
    assert not runs.exists()


def test_missing_data_files_say_how_to_get_them(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert main(["fit", "--data", "mnist-test", "--root", str(tmp_path / "empty"), "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte" in err and "--download" in err
    assert not runs.exists()


def test_existing_run_id_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "1", "--run-id", "mine") == 0
    before = (runs / "mine" / "metrics.jsonl").read_bytes()
    assert fit(runs, "--epochs", "1", "--run-id", "mine") == 2
    assert "run_id='mine' already exists" in capsys.readouterr().err
    assert [i.run_id for i in RunStore(runs).list()] == ["mine"]
    assert (runs / "mine" / "metrics.jsonl").read_bytes() == before


def test_training_failure_marks_the_run_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from ccel_core.training import Trainer

    def broken(self, epoch):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "_train_epoch", broken)
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "2", "--seeds", "0", "1") == 1
    [info] = RunStore(runs).list()  # the second seed is not started
    assert info.status == "failed" and "RuntimeError: boom" in info.error
    assert f"ccel: error: run {info.run_id} failed: RuntimeError: boom" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# resume, export, delete, cancel
# ------------------------------------------------------------------------------------------
def test_resume_continues_and_matches_an_uninterrupted_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    common = ["--model", "mlp", "--hidden", "16", "--momentum", "0.9", "--seed", "4"]
    assert fit(runs, "--epochs", "3", "--run-id", "full", *common) == 0
    assert fit(runs, "--epochs", "1", "--run-id", "part", *common) == 0
    store = RunStore(runs)
    assert store.get("part").epoch == 1
    assert main(["fit", "--resume", "part", "--epochs", "3", "--runs-dir", str(runs), "--no-progress"]) == 0
    assert "resumed at epoch 1/3" in capsys.readouterr().out
    part, full = store.get("part"), store.get("full")
    assert (part.status, part.epoch, part.epochs) == ("finished", 3, 3)
    pd.testing.assert_frame_equal(metrics_table(store, "part"), metrics_table(store, "full"))
    assert part.final["acc"] == full.final["acc"] and part.final["loss"] == full.final["loss"]
    assert np.array_equal(store.open("part").load_assignments()[0], store.open("full").load_assignments()[0])
    assert json.loads((part.path / "config.json").read_text())["epochs"] == 3
    # only --epochs/--device/--root may change on resume; an unknown id is a clear error
    assert main(["fit", "--resume", "part", "--lr", "0.5", "--runs-dir", str(runs)]) == 2
    assert "--lr cannot be given with it" in capsys.readouterr().err
    assert main(["fit", "--resume", "nope", "--runs-dir", str(runs)]) == 2
    assert "no run with run_id='nope'" in capsys.readouterr().err


def _resume(runs: Path, run_id: str, *epochs: str) -> int:
    return main(
        [
            "fit",
            "--resume",
            run_id,
            *(["--epochs", *epochs] if epochs else []),
            "--runs-dir",
            str(runs),
            "--no-progress",
        ]
    )


def _state(store: RunStore, run_id: str) -> tuple:
    """Everything a refused resume must leave as it was: index row, config, metrics, checkpoint, log."""
    path = store.root / run_id
    files = ("config.json", "metrics.jsonl", "checkpoints/last.pt", "log.txt", "assignments.npy")
    return (store.get(run_id), *((path / f).read_bytes() if (path / f).exists() else None for f in files))


def test_resume_never_marks_an_unfinished_run_finished(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A run cancelled at 2 of 6 epochs: ``--epochs N`` with N <= 2 is refused (exit 2, nothing
    changed) instead of ending it "finished" at 2/6; N between 2 and 6 becomes its new total."""
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "2", "--run-id", "r") == 0
    store = RunStore(runs)
    run = store.open("r")
    run.set_epochs(6)
    run.finish("cancelled")
    before = _state(store, "r")
    for epochs in ("1", "2"):
        assert _resume(runs, "r", epochs) == 2
        err = capsys.readouterr().err
        assert f"--epochs {epochs} is not more than the 2 epoch(s) run 'r' has done; nothing was changed" in err
        assert "or leave it out to continue to its 6 epochs" in err
        assert _state(store, "r") == before
    assert (store.get("r").status, store.get("r").epoch, store.get("r").epochs) == ("cancelled", 2, 6)

    assert _resume(runs, "r", "3") == 0
    assert "resumed at epoch 2/3" in capsys.readouterr().out
    info = store.get("r")
    assert (info.status, info.epoch, info.epochs) == ("finished", 3, 3)
    assert json.loads((info.path / "config.json").read_text())["epochs"] == 3
    assert store.metrics("r")["epoch"].tolist() == [1, 2, 3]

    before = _state(store, "r")  # every epoch done: a resume needs a larger total
    assert _resume(runs, "r") == 2
    assert "run 'r' has all its 3 epoch(s) done; nothing was changed. Pass --epochs N with N > 3" in (
        capsys.readouterr().err
    )
    assert _state(store, "r") == before
    assert _resume(runs, "r", "4") == 0 and store.get("r").epoch == store.get("r").epochs == 4


def test_each_run_logs_its_own_output(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "2", "--seeds", "0", "1") == 0
    out = capsys.readouterr()
    first, second = sorted(RunStore(runs).list(), key=lambda i: i.seed)
    for me, other in ((first, second), (second, first)):
        log = (me.path / "log.txt").read_text()
        assert log.startswith(f"run {me.run_id}  seed={me.seed}  group={me.group}")
        assert f"[{me.run_id}] epoch 2/2" in log and f"{me.run_id}  finished  epoch=2/2" in log
        assert other.run_id not in log and "group " not in log.splitlines()[-1]  # not the group's summary line
        assert f"[{me.run_id}] epoch 1/2" in out.err and f"run {me.run_id}" in out.out  # the terminal still sees all
    assert _resume(runs, first.run_id, "3") == 0
    log = (first.path / "log.txt").read_text()
    assert f"run {first.run_id}  resumed at epoch 2/3" in log and f"[{first.run_id}] epoch 3/3" in log
    assert second.run_id not in log


def test_export_csv_is_readable_by_pandas(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "2", "--seeds", "0", "1") == 0
    ids = sorted(i.run_id for i in RunStore(runs).list())
    out = tmp_path / "runs.csv"
    assert main(["runs", "export", str(out), "--runs-dir", str(runs)]) == 0
    frame = pd.read_csv(out)
    assert sorted(frame["run_id"]) == ids and {"status", "acc", "nmi", "ari"} <= set(frame.columns)
    per_epoch = tmp_path / "epochs.csv"
    assert main(["runs", "export", str(per_epoch), ids[0], "--per-epoch", "--runs-dir", str(runs)]) == 0
    frame = pd.read_csv(per_epoch)
    assert frame["run_id"].tolist() == [ids[0]] * 2 and frame["epoch"].tolist() == [1, 2]
    assert "wrote 2 row(s)" in capsys.readouterr().out
    assert main(["runs", "list", "--format", "csv", "--runs-dir", str(runs)]) == 0
    import io

    assert sorted(pd.read_csv(io.StringIO(capsys.readouterr().out))["run_id"]) == ids


def test_delete(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "1", "--run-id", "a") == 0
    assert main(["runs", "delete", "nope", "--runs-dir", str(runs)]) == 2
    assert main(["runs", "delete", "a", "--runs-dir", str(runs)]) == 0
    assert RunStore(runs).list() == [] and not (runs / "a").exists()
    assert "deleted a" in capsys.readouterr().out


def test_deleting_a_running_run_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = RunStore(tmp_path / "runs")
    run = store.create({"method": "ccel"}, run_id="live")
    run.start(pid=os.getpid())  # this process: alive, so the run is running
    assert main(["runs", "delete", "live", "--runs-dir", str(store.root)]) == 1
    message = capsys.readouterr().err
    assert "pass --force" in message and "force=True" not in message, message
    assert store.get("live").status == "running"
    assert main(["runs", "delete", "live", "--force", "--runs-dir", str(store.root)]) == 0


def test_a_runs_dir_that_is_a_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a run store")
    for command in (["runs", "list"], ["runs", "show", "x"], ["runs", "delete", "x"]):
        assert main([*command, "--runs-dir", str(path)]) == 2, command
        message = capsys.readouterr()
        assert "is not a folder" in message.err and str(path) in message.err and "no runs" not in message.out
    assert path.read_text() == "not a run store"


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """``ccel runs list | head -1``: the reader leaves early; no traceback, no 'BrokenPipeError'."""
    runs = tmp_path / "runs"
    store = RunStore(runs)
    for i in range(400):
        store.create({"method": "ccel", "seed": i}, run_id=f"r{i:04d}")
    proc = subprocess.run(
        f"{sys.executable} -m ccel_core.cli runs list --runs-dir {runs} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_cancel_request_stops_the_run_as_cancelled(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    RunStore(runs)
    codes: list[int] = []

    def cancel_when_running() -> None:
        store = RunStore(runs)
        deadline = time.time() + 120
        while time.time() < deadline:
            infos = store.list(status="running")
            if infos and infos[0].epoch >= 1:
                codes.append(main(["runs", "cancel", "c", "--runs-dir", str(runs)]))
                return
            time.sleep(0.05)

    helper = threading.Thread(target=cancel_when_running)
    helper.start()
    code = fit(runs, "--epochs", "100000", "--run-id", "c", "--method", "migd")
    helper.join()
    info = RunStore(runs).get("c")
    assert codes == [0] and code == 130
    assert info.status == "cancelled" and 1 <= info.epoch < 100000
    assert "c: cancel requested" in capsys.readouterr().out
    assert main(["runs", "cancel", "c", "--runs-dir", str(runs)]) == 0
    assert "already cancelled" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# the real command: python -m ccel_core.cli, SIGTERM
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_subprocess_fit_then_sigterm_marks_the_run_cancelled(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccel_core.cli",
            "fit",
            *TINY,
            "--method",
            "migd",
            "--epochs",
            "100000",
            "--run-id",
            "sub",
            "--runs-dir",
            str(runs),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if (
                (runs / "index.sqlite").exists()
                and RunStore(runs).list(status="running")
                and RunStore(runs).get("sub").epoch >= 2
            ):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    info = RunStore(runs).get("sub")
    assert proc.returncode == 130, err
    assert info.status == "cancelled" and info.error == "stopped by SIGTERM" and info.epoch >= 2
    assert out.startswith("run sub  seed=0") and "sub  cancelled" in out
    assert "epoch 1/100000" in err  # one line per epoch without a progress bar
    assert RunStore(runs).open("sub").load_checkpoint()["epoch"] == info.epoch


# ------------------------------------------------------------------------------------------
# version, help, bench
# ------------------------------------------------------------------------------------------
def test_version_and_help(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "ccel 0.1.0"
    assert main(["fit", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--data", "--method", "--seeds", "--runs-dir", "--config", "--resume", "--run-id", "--y-step"):
        assert flag in text
    assert main([]) == 2
    assert "ccel: error:" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_solvers_quick(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "solvers", "--quick", "--ks", "3"]) == 0
    out = capsys.readouterr().out
    assert "## K = 3" in out and "EM" in out and "N=2000" in out


@pytest.mark.slow
def test_bench_features_small(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = tmp_path / "rows.csv"
    assert (
        main(
            [
                "bench",
                "features",
                "--data",
                "digits",
                "mnist-test",
                "--mnist-root",
                str(tmp_path / "none"),
                "--seeds",
                "2",
                "--methods",
                "kmeans",
                "migd",
                "ccel",
                "--epochs",
                "2",
                "--no-variants",
                "--csv",
                str(rows),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "## digits: 1797 x 64 features, K = 10" in out and "## mnist-test: skipped" in out
    assert "2-epoch CPU time: ours" in out and "K-means" in out
    frame = pd.read_csv(rows)
    assert len(frame) == 6 and set(frame["method"]) == {"kmeans", "migd", "ccel"}
    assert frame.loc[frame.method == "kmeans", "acc"].min() > 0.7  # k-means on digits: about 0.79


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["runs", "list"],
        ["runs", "--help"],
        ["fit", "--help"],
        ["reproduce", "--help"],
        ["nosuch"],
    ],
    ids=" ".join,
)
def test_commands_that_do_not_train_start_without_torch(argv: list[str], tmp_path: Path) -> None:
    """`ccel --help` and `ccel runs …` build only what they need: torch (3+ s to import) stays unloaded.
    (Timings: benchmarks/cli_startup.py.)"""
    code = (
        "import sys\nfrom ccel_core.cli import main\n"
        f"try:\n    rc = main({argv!r})\nexcept SystemExit as exc:\n    rc = exc.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)"
    )
    env = {**os.environ, "CCEL_RUNS_DIR": str(tmp_path / "runs")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path
    )
    assert out.stdout.strip().splitlines()[-1].startswith("NO-TORCH"), (out.stdout[-2000:], out.stderr[-2000:])
    # the control: a command whose arguments describe torch objects (the backbones) does load it
    if argv == ["--help"]:
        probe = code.replace(repr(argv), repr(["features", "--help"]))
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600, env=env)
        assert out.stdout.strip().splitlines()[-1].startswith("TORCH")


def test_export_never_overwrites_a_file_it_was_not_asked_to(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`ccel runs export OUT.csv …`: OUT is the first argument; a run id or any other existing file there
    (a probe once gave /etc/passwd) is refused, exit 2, the file untouched; --force overwrites a .csv."""
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "1", "--run-id", "r1") == 0
    victim = tmp_path / "passwd"
    victim.write_text("keep me\n")
    for out in (str(victim), str(tmp_path / "x.txt")):
        assert main(["runs", "export", out, "--runs-dir", str(runs)]) == 2
        assert "expected a file name ending in .csv" in capsys.readouterr().err
    assert victim.read_text() == "keep me\n" and not (tmp_path / "x.txt").exists()
    table = tmp_path / "t.csv"
    assert main(["runs", "export", str(table), "--runs-dir", str(runs)]) == 0
    assert main(["runs", "export", str(table), "--runs-dir", str(runs)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["runs", "export", str(table), "--force", "--runs-dir", str(runs)]) == 0


def test_resume_refuses_what_it_would_silently_restart(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    assert fit(runs, "--epochs", "1", "--run-id", "r1") == 0
    capsys.readouterr()
    assert main(["fit", "--resume", "", "--runs-dir", str(runs)]) == 2  # not a new run on the default data
    assert "expected the id of a stored run" in capsys.readouterr().err
    ckpt = RunStore(runs).open("r1").checkpoint_path()
    ckpt.unlink()
    assert main(["fit", "--resume", "r1", "--epochs", "3", "--runs-dir", str(runs)]) == 2
    assert "has 1 epoch(s) done but no checkpoint" in capsys.readouterr().err
    assert RunStore(runs).get("r1").epoch == 1 and len(RunStore(runs).metrics("r1")) == 1  # nothing restarted
    (runs / "r1" / "config.json").write_text("nonsense")
    assert main(["runs", "show", "r1", "--runs-dir", str(runs)]) == 2
    assert "config.json: not a readable run config" in capsys.readouterr().err
