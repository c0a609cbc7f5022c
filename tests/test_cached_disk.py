"""The explorer's store of finished results on disk (explorer/cached/disk.py): what a restarted server
reads back, and what it refuses — truncated, hand-edited, stale or mistyped files, a writer killed
in the middle, a folder it cannot write. (conftest.py turns the store off for every other test.)"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.cached import disk, pseudo_labels, races

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CCEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(disk, "_warned", set())
    return tmp_path / "cache" / "explorer"


def only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.suffix == ".pkl"]
    assert len(files) == 1, files
    return files[0]


def test_a_saved_result_reads_back_equal_and_only_as_its_type(store: Path) -> None:
    frame = pd.DataFrame({"acc": [0.5, 0.75], "method": ["ours", "MIADM"]})
    disk.save("seed-summary", (("blobs", 3), (0, 1)), frame)
    pd.testing.assert_frame_equal(disk.load("seed-summary", (("blobs", 3), (0, 1)), pd.DataFrame), frame)
    assert disk.load("seed-summary", (("blobs", 3), (0, 2)), pd.DataFrame) is None  # another key
    assert disk.load("race", (("blobs", 3), (0, 1)), pd.DataFrame) is None  # another kind
    assert disk.load("seed-summary", (("blobs", 3), (0, 1)), np.ndarray) is None  # another type: removed
    assert not any(store.iterdir())


def test_off_reads_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCEL_CACHE", "OFF")
    assert disk.cache_dir() is None
    disk.save("race", (1,), [1, 2])
    assert disk.load("race", (1,), list) is None
    monkeypatch.delenv("CCEL_CACHE")
    assert disk.cache_dir() is not None and disk.cache_dir().name == "explorer"  # the user's cache folder


@pytest.mark.parametrize("keep", [0, 1, 10, 0.5, 0.99])
def test_a_truncated_file_is_removed_and_computed_again(store: Path, keep: float, caplog) -> None:
    disk.save("race", ("k",), {"gap": np.arange(1000.0)})
    path = only_file(store)
    data = path.read_bytes()
    path.write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    with caplog.at_level(logging.WARNING):
        assert disk.load("race", ("k",), dict) is None
    assert not path.exists()
    assert "unreadable" in caplog.text
    disk.save("race", ("k",), {"gap": np.arange(3.0)})  # and the next result is stored again
    np.testing.assert_array_equal(disk.load("race", ("k",), dict)["gap"], np.arange(3.0))


def test_hand_edited_or_stale_files_are_not_trusted(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk.save("race", ("k",), [1.0])
    path = only_file(store)
    record = pickle.loads(path.read_bytes())
    for edit in ({"key": repr(("other",))}, {"kind": "toy-run"}, {"fingerprint": "0" * 64}):
        path.write_bytes(pickle.dumps({**record, **edit}))
        assert disk.load("race", ("k",), list) is None
        assert not path.exists()
    path.write_bytes(pickle.dumps(["not", "a", "record"]))
    assert disk.load("race", ("k",), list) is None
    # a change of the code (or of a library's version) is another fingerprint: the old file is not found
    disk.save("race", ("k",), [1.0])
    monkeypatch.setattr(disk, "fingerprint", lambda: "changed")
    assert disk.load("race", ("k",), list) is None


def test_the_fingerprint_covers_the_source_and_the_library_versions() -> None:
    disk.fingerprint.cache_clear()
    first = disk.fingerprint()
    assert first == disk.fingerprint() and len(first) == 64
    code = textwrap.dedent(
        """
        import sys; from importlib import metadata
        real = metadata.version
        metadata.version = lambda name: "0.0" if name == "torch" else real(name)
        from explorer.cached import disk
        print(disk.fingerprint())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() not in ("", first)


def test_a_writer_killed_mid_write_leaves_no_result(store: Path) -> None:
    # the process dies (SIGKILL, no clean-up) while pickling the value into the temporary file
    code = textwrap.dedent(
        """
        import os, signal, numpy as np
        from explorer.cached import disk
        class Dies:
            def __reduce__(self):
                os.kill(os.getpid(), signal.SIGKILL)
        disk.save("race", ("k",), [np.arange(100_000.0), Dies()])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ}, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = list(store.iterdir())
    assert [p.suffix for p in left] == [".tmp"]  # a partial temporary file, under no result's name
    assert disk.load("race", ("k",), list) is None
    old = time.time() - 2 * 3600
    os.utime(left[0], (old, old))
    disk.save("race", ("j",), [1])  # the next write clears a dead writer's leftovers
    assert [p.suffix for p in store.iterdir()] == [".pkl"]


def test_an_unwritable_folder_or_value_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CCEL_CACHE", str(blocker))
    monkeypatch.setattr(disk, "_warned", set())
    with caplog.at_level(logging.WARNING):
        disk.save("race", ("k",), [1])
        assert disk.load("race", ("k",), list) is None
    assert "not saved" in caplog.text
    monkeypatch.setenv("CCEL_CACHE", str(tmp_path / "cache"))
    disk.save("race", ("k",), [lambda: 1])  # cannot be pickled: nothing stored, nothing left behind
    assert not [p for p in (tmp_path / "cache" / "explorer").iterdir()]


def test_the_least_recently_used_results_go_first(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk, "MOST_FILES", 3)
    for i in range(3):
        disk.save("race", (i,), [i])
        old = time.time() - 100 + i
        os.utime(only_newest(store), (old, old))
    assert disk.load("race", (0,), list) == [0]  # read now: the most recently used
    disk.save("race", (3,), [3])
    assert [disk.load("race", (i,), list) for i in range(4)] == [[0], None, [2], [3]]
    monkeypatch.setattr(disk, "MOST_BYTES", 10)
    disk.save("race", (4,), [4])  # over the byte budget: only what fits is kept (here nothing)
    assert not list(store.glob("*.pkl"))


def only_newest(folder: Path) -> Path:
    return max(folder.glob("*.pkl"), key=lambda p: p.stat().st_mtime_ns)


def test_a_restarted_server_reads_its_races_back(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = races.race_key(60, 3, 100.0, 40, 2.0, (1.5,), None, 0, False)
    races._races.clear()
    race = races.run_race(key)
    races._races.clear()  # a new server: empty memory

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the race was computed again")

    monkeypatch.setattr("ccel_core.experiments.race_sweep.budgeted_race", no_training)
    again = races.finished_race(key)
    assert again is not None and again is not race
    assert pickle.dumps(again) == pickle.dumps(race)
    assert races.run_race(key) is again  # now from memory
    races._races.clear()


def test_a_restarted_server_reads_its_trainings_and_summaries_back(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = pseudo_labels.pseudo_label_args(**{**pseudo_labels.PSEUDO_LABEL_DEFAULTS, "epochs": 2})
    pseudo_labels._pl_store.clear()
    frame = pseudo_labels.seed_comparison(args, (0, 1))
    run = pseudo_labels.toy_run(args, "collision")
    assert run is not None
    pseudo_labels._pl_store.clear()  # a new server

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr("ccel_core.experiments.trajectories.toy_self_labeling", no_training)
    pd.testing.assert_frame_equal(pseudo_labels.seed_comparison(args, (0, 1)), frame)
    again = pseudo_labels.toy_self_labeling(args, "collision")
    np.testing.assert_array_equal(again.snapshots[-1].probs, run.snapshots[-1].probs)
    assert pseudo_labels.toy_run(args, "shannon") is not None
    pseudo_labels._pl_store.clear()


def test_a_new_process_reads_what_another_stored(store: Path) -> None:
    """Across processes (as a restarted server): the fingerprint and the keys are the same in both."""
    code = textwrap.dedent(
        """
        import sys
        from explorer.cached import pseudo_labels, races
        key = races.race_key(40, 3, 100.0, 20, 2.0, (1.5,), None, 1, False)
        args = pseudo_labels.pseudo_label_args(**{**pseudo_labels.PSEUDO_LABEL_DEFAULTS, "epochs": 1, "seed": 3})
        if sys.argv[1] == "compute":
            races.run_race(key)
            pseudo_labels.toy_self_labeling(args, "collision")
        else:
            print(races.finished_race(key) is not None, pseudo_labels.toy_run(args, "collision") is not None)
        """
    )
    for step in ("compute", "read"):
        out = subprocess.run(
            [sys.executable, "-c", code, step], cwd=REPO, env={**os.environ}, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"], out.stdout
    assert len(list(store.glob("*.pkl"))) == 2
