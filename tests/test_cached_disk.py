"""The explorer's store of finished results on disk (explorer/cached/disk.py): what a restarted server
reads back, and what it refuses — truncated, hand-edited, stale or mistyped files, a writer killed
at each write point, a folder it cannot write or that others may write. (conftest.py turns the store
off for every other test.)"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccel_core.sources import folder_digest
from explorer import prefetch
from explorer.cached import disk, pseudo_labels, races

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The disk store on in a temporary folder; the in-memory stores emptied before and after."""
    monkeypatch.setenv("CCEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(disk, "_warned", set())
    races._races.clear()
    pseudo_labels._pl_store.clear()
    try:
        yield tmp_path / "cache" / "explorer"
    finally:
        races._races.clear()
        pseudo_labels._pl_store.clear()


def only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.suffix == ".pkl"]
    assert len(files) == 1, files
    return files[0]


def split(path: Path) -> tuple[dict, bytes]:
    head, _, payload = path.read_bytes().partition(b"\n")
    return json.loads(head), payload


def test_a_saved_result_reads_back_equal_and_only_as_its_type(store: Path) -> None:
    frame = pd.DataFrame({"acc": [0.5, 0.75], "method": ["ours", "MIADM"]})
    disk.save("seed-summary", (("blobs", 3), (0, 1)), frame)
    pd.testing.assert_frame_equal(disk.load("seed-summary", (("blobs", 3), (0, 1)), pd.DataFrame), frame)
    assert disk.load("seed-summary", (("blobs", 3), (0, 2)), pd.DataFrame) is None  # another key
    assert disk.load("race", (("blobs", 3), (0, 1)), pd.DataFrame) is None  # another kind
    assert disk.load("seed-summary", (("blobs", 3), (0, 1)), np.ndarray) is None  # another type: removed
    assert not any(store.iterdir())


def test_off_reads_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for off in ("OFF", "0", "false", "no"):
        monkeypatch.setenv("CCEL_CACHE", off)
        assert disk.cache_dir() is None
        disk.save("race", (1,), [1, 2])
        assert disk.load("race", (1,), list) is None
    assert not list(tmp_path.iterdir())  # no folder named "0" or "off" either
    monkeypatch.delenv("CCEL_CACHE")
    assert disk.cache_dir() is not None and disk.cache_dir().name == "explorer"  # the user's cache folder


@pytest.mark.parametrize("keep", [0, 1, 10, 0.5, 0.99])
def test_a_truncated_file_is_removed_and_computed_again(store: Path, keep: float) -> None:
    disk.save("race", ("k",), {"gap": np.arange(1000.0)})
    path = only_file(store)
    data = path.read_bytes()
    path.write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    assert disk.load("race", ("k",), dict) is None
    assert not path.exists()
    disk.save("race", ("k",), {"gap": np.arange(3.0)})  # and the next result is stored again
    np.testing.assert_array_equal(disk.load("race", ("k",), dict)["gap"], np.arange(3.0))


def test_hand_edited_or_stale_files_are_not_trusted(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk.save("race", ("k",), np.arange(100.0))
    path = only_file(store)
    head, payload = split(path)
    assert head["length"] == len(payload) and head["fingerprint"] == disk.fingerprint()
    edits = [{"key": repr(("other",))}, {"kind": "toy-run"}, {"fingerprint": "0" * 64}, {"format": 1}, {"length": 3}]
    for edit in edits:
        path.write_bytes(json.dumps({**head, **edit}).encode() + b"\n" + payload)
        assert disk.load("race", ("k",), np.ndarray) is None, edit
        assert not path.exists()
    # one number changed inside the stored array: the payload no longer matches its hash
    changed = pickle.dumps(np.where(np.arange(100.0) == 7, 8.0, np.arange(100.0)), protocol=pickle.HIGHEST_PROTOCOL)
    assert len(changed) == len(payload) and changed != payload
    path.write_bytes(json.dumps(head).encode() + b"\n" + changed)
    assert disk.load("race", ("k",), np.ndarray) is None and not path.exists()
    path.write_bytes(b"not json at all\n" + payload)
    assert disk.load("race", ("k",), np.ndarray) is None and not path.exists()
    # a change of the code (or of a library's version) is another fingerprint: the old file is not found
    disk.save("race", ("k",), np.arange(3.0))
    monkeypatch.setattr(disk, "_FINGERPRINT", "changed")
    assert disk.load("race", ("k",), np.ndarray) is None


def test_a_folder_others_may_write_is_not_used(store: Path, caplog: pytest.LogCaptureFixture) -> None:
    disk.save("race", ("k",), [1])
    assert (store.stat().st_mode & 0o777) == 0o700  # created private
    store.chmod(0o775)
    with caplog.at_level(logging.WARNING):
        assert disk.load("race", ("k",), list) is None
        disk.save("race", ("j",), [2])
    assert "not the user's own private folder" in caplog.text
    assert len(list(store.glob("*.pkl"))) == 1  # nothing read, removed or written there
    store.chmod(0o700)
    assert disk.load("race", ("k",), list) == [1]


def test_the_fingerprint_covers_the_sources_and_the_library_versions(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    first = folder_digest(tmp_path)
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    edited = folder_digest(tmp_path)
    assert edited != first
    (tmp_path / "pkg" / ".#a.py").symlink_to(tmp_path / "gone")  # an editor's lock: a dangling link
    (tmp_path / "pkg" / "notes.txt").write_text("not code")
    assert folder_digest(tmp_path) == edited
    assert len(disk.fingerprint()) == 64
    code = textwrap.dedent(
        """
        from importlib import metadata
        real = metadata.version
        metadata.version = lambda name: "0.0" if name == "torch" else real(name)
        from explorer.cached import disk
        print(disk.fingerprint())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() not in ("", disk.fingerprint())


# The writer is killed (SIGKILL: no clean-up) in the middle of writing the header, in the middle of the
# pickled result, and after a complete temporary file but before its rename.
KILLED_WRITER = """
import os, signal, sys, tempfile, numpy as np
from explorer.cached import disk
point, real = sys.argv[1], tempfile.NamedTemporaryFile

class Dying:
    def __init__(self, f):
        self.f, self.name, self.calls = f, f.name, 0
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def write(self, data):
        self.calls += 1
        if (point, self.calls) in (("header", 1), ("payload", 2)):
            self.f.write(data[: len(data) // 2]); self.f.flush(); os.kill(os.getpid(), signal.SIGKILL)
        self.f.write(data)

def replace(*args):
    os.kill(os.getpid(), signal.SIGKILL)

disk.tempfile.NamedTemporaryFile = lambda *a, **k: Dying(real(*a, **k))
if point == "rename":
    disk.os.replace = replace
disk.save("race", ("k",), [np.arange(100_000.0)])
"""


@pytest.mark.parametrize("point", ["header", "payload", "rename"])
def test_a_writer_killed_at_any_write_point_leaves_no_result(store: Path, point: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, point], cwd=REPO, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = list(store.iterdir())
    assert [p.suffix for p in left] == [".tmp"]  # a partial temporary file, under no result's name
    assert disk.load("race", ("k",), list) is None
    old = time.time() - 2 * 3600
    os.utime(left[0], (old, old))
    disk.save("race", ("j",), [1])  # the next write clears a dead writer's leftovers
    assert [p.suffix for p in store.iterdir()] == [".pkl"]


def test_an_unwritable_folder_or_value_only_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
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
    race = races.run_race(key)
    races._races.clear()  # a new server: empty memory

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the race was computed again")

    monkeypatch.setattr("ccel_core.experiments.race_sweep.budgeted_race", no_training)
    again = races.finished_race(key)
    assert again is not None and again is not race
    assert pickle.dumps(again) == pickle.dumps(race)
    assert races.run_race(key) is again  # now from memory


def test_a_restarted_server_reads_its_trainings_and_summaries_back(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = pseudo_labels.pseudo_label_args(**{**pseudo_labels.PSEUDO_LABEL_DEFAULTS, "epochs": 2})
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
        out = subprocess.run([sys.executable, "-c", code, step], cwd=REPO, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"], out.stdout
    assert len(list(store.glob("*.pkl"))) == 2


def test_the_prefetch_leaves_the_code_viewer_out() -> None:
    """No page draws st.code (explorer.elements.preformatted): its 1.5 MB viewer is not worth loading."""
    assert "StreamlitSyntaxHighlighter" not in prefetch.ELEMENTS
