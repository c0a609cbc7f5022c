"""One computation per key, whoever asks: a page visited while the warm-up thread trains the same
settings waits for that training instead of running a second one beside it (explorer.cached.once)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from explorer.cached.once import Once

_WAIT = 60.0  # generous: the tests synchronize on events, this only bounds a hang


def _in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out


def test_a_second_caller_waits_with_the_first_ones_progress_and_reads_its_result() -> None:
    once, store = Once(), {}
    calls, seen = [], []
    waiter_saw_progress = threading.Event()

    def compute(relay: Any) -> str:
        calls.append("compute")
        relay(3, 10)
        assert waiter_saw_progress.wait(_WAIT)  # the second caller is waiting now, seeing epoch 3
        store["k"] = "trained"
        return "trained"

    def first() -> str:
        return once.run("k", lambda: store.get("k"), compute)

    def waiter_progress(epoch: int, epochs: int) -> None:
        seen.append((epoch, epochs))
        waiter_saw_progress.set()

    t1, out1 = _in_thread(first)
    while not calls:  # the first caller holds the key
        threading.Event().wait(0.01)
    t2, out2 = _in_thread(lambda: once.run("k", lambda: store.get("k"), compute, waiter_progress))
    t1.join(_WAIT)
    t2.join(_WAIT)
    assert out1 == {"value": "trained"} and out2 == {"value": "trained"}
    assert calls == ["compute"]  # trained once
    assert seen and set(seen) == {(3, 10)}


def test_a_failed_computation_stores_nothing_and_the_next_caller_computes() -> None:
    once, store = Once(), {}

    def broken(relay: Any) -> str:
        relay(0.5, "half")
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        once.run("k", lambda: store.get("k"), broken)

    def good(relay: Any) -> str:
        store["k"] = "ok"
        return "ok"

    assert once.run("k", lambda: store.get("k"), good) == "ok"


class _Cancelled(Exception):
    pass


@pytest.mark.parametrize("reported", [True, False], ids=["after-progress", "before-any-progress"])
def test_a_cancelled_waiter_leaves_the_computation_running(reported: bool) -> None:
    """A waiter's Cancel (an exception from its progress) ends only its wait — also before the first
    caller has reported anything (e.g. while it compiles kernels): the waiter sees ``start`` then."""
    once, store = Once(), {}
    release, started = threading.Event(), threading.Event()

    def compute(relay: Any) -> str:
        if reported:
            relay(0.1, "started")
        started.set()
        assert release.wait(_WAIT)
        store["k"] = "done"
        return "done"

    t1, out1 = _in_thread(lambda: once.run("k", lambda: store.get("k"), compute))
    assert started.wait(_WAIT)
    seen = []

    def cancel(fraction: float, text: str) -> None:
        seen.append((fraction, text))
        raise _Cancelled

    with pytest.raises(_Cancelled):
        once.run(
            "k", lambda: store.get("k"), compute, cancel, lambda f, t: (f, f"{t} (waiting)"), start=(0.0, "starting")
        )
    assert seen == [(0.1, "started (waiting)") if reported else (0.0, "starting (waiting)")]
    release.set()
    t1.join(_WAIT)
    assert out1 == {"value": "done"} and store == {"k": "done"}


def test_the_pseudo_label_page_and_the_warm_up_train_the_same_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism in the page's store: two threads asking for the same self-labeling run (the
    warm-up and a first visit) start one training."""
    import ccel_core.experiments.trajectories as trajectories
    from explorer.cached import pseudo_labels as pl

    pl._pl_store.clear()
    pl._pl_once.clear()
    trainings, waiting = [], threading.Event()

    class Run:
        def relabeled(self) -> str:
            return "run"

    def fake(*args: Any, progress: Any = None, **kwargs: Any) -> Run:
        trainings.append(args)
        progress(1, 4)
        assert waiting.wait(_WAIT)
        return Run()

    monkeypatch.setattr(trajectories, "toy_self_labeling", fake)
    args = pl.pseudo_label_args(**pl.PSEUDO_LABEL_DEFAULTS)
    t1, out1 = _in_thread(lambda: pl.toy_self_labeling(args, "collision"))
    while not trainings:
        threading.Event().wait(0.01)
    t2, out2 = _in_thread(lambda: pl.toy_self_labeling(args, "collision", progress=lambda e, n: waiting.set()))
    t1.join(_WAIT)
    t2.join(_WAIT)
    try:
        assert out1 == {"value": "run"} and out2 == {"value": "run"}
        assert len(trainings) == 1
    finally:
        pl._pl_store.clear()
        pl._pl_once.clear()
