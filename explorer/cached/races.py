"""The solver race's store: finished races by settings (computed with progress, cancellable, one
computation per key whoever asks; kept in memory and on disk, :mod:`~explorer.cached.disk`), the views
derived from them once per server, and the page's default settings."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any, Optional

import streamlit as st

from explorer.cached.once import Once
from explorer.cached.shared import Kept, function_key

# The solver race's defaults: the K sweep of ccel_core.experiments.race_sweep.SWEEP_DEFAULTS (N = 300,
# K = 2, 20, 200, 1200 EM steps, PGD at 1.5 and 2 × 1/(λK) with 4 × EM's steps); one K: K = 200.
RACE_DEFAULTS: dict[str, Any] = {
    "view": "sweep",
    "n": 300,
    "ks": (2, 20, 200),
    "k": 200,
    "lam": 100.0,
    "iters": 1200,
    "budget": 4.0,
    "steps": (1.5, 2.0),
    "lrs": None,
    "seed": 0,
    "ip": False,
}


def race_key(
    n: int,
    k: int,
    lam: float,
    iters: int,
    budget: float,
    steps: Sequence[float],
    lrs: Optional[Sequence[float]],
    seed: int,
    interior_point: bool,
) -> tuple:
    """The settings of one race (:func:`ccel_core.experiments.race_sweep.budgeted_race`) as a hashable key:
    ``(n, k, λ, EM steps, PGD budget × EM's steps, PGD step sizes, seed, interior point)``; explicit
    step sizes ``lrs`` replace ``steps`` × 1/(λK)."""
    etas = tuple(float(v) for v in lrs) if lrs else tuple(float(f) / (float(lam) * int(k)) for f in steps)
    return (int(n), int(k), float(lam), int(iters), float(budget), etas, int(seed), bool(interior_point))


@st.cache_resource(show_spinner=False)
def _races() -> dict[str, Any]:
    """This server's finished races by key (:class:`~explorer.cached.shared.Kept`: the newest 32 in
    memory, all on disk) and one computation per key, whoever asks (a page or the warm-up thread:
    :class:`~explorer.cached.once.Once`)."""
    return {"done": Kept("race", 32, _race_type), "once": Once()}


@st.cache_resource(show_spinner=False, max_entries=64, hash_funcs={types.FunctionType: function_key})
def of_races(build: Callable[..., Any], keys: tuple[tuple, ...], *args: Any) -> Any:
    """``build(races, *args)`` for the finished races of ``keys`` (:func:`race_key`), once per server:
    the tables, ratios and figures a page derives from them (a rerun then only draws). Shared, not
    copied: read only. ``LookupError`` when a race is not finished."""
    races = [finished_race(key) for key in keys]
    if any(r is None for r in races):
        raise LookupError("a race of these settings has not finished")
    return build(races, *args)


def finished_race(key: tuple) -> Any:
    """The finished race for ``key`` (:func:`race_key`) from memory, else from the disk store (a race
    of an earlier server), or None. Shared, not copied: read only."""
    return _races()["done"].get(key)


def _race_type() -> type:
    from ccel_core.experiments.race.result import RaceResult

    return RaceResult


def run_race(key: tuple, progress: Optional[Callable[[float, str], Any]] = None) -> Any:
    """The race for ``key``: from the store, or computed now with ``progress(fraction, text)``.

    Only a finished race is stored: an exception from ``progress`` (Streamlit's rerun when the page's
    Stop button is pressed) ends the computation and leaves nothing behind. When another thread is
    computing the same key, waits for it (still calling ``progress``, so the wait can be cancelled):
    :class:`~explorer.cached.once.Once`.
    Not ``st.cache_data``: the progress callback draws on the page, and a cached function must not.
    """
    from ccel_core.experiments.race_sweep import budgeted_race

    state = _races()

    def compute(relay: Callable[..., None]) -> Any:
        n, k, lam, iters, budget, etas, seed, interior_point = key
        race = budgeted_race(
            n,
            k,
            lam,
            em_iters=iters,
            pgd_budget=budget,
            pgd_lrs=etas,
            seed=seed,
            interior_point=interior_point,
            progress=relay,
        )
        state["done"].put(key, race)
        return race

    def waiting(fraction: float, text: str) -> tuple[float, str]:
        return fraction, f"{text} (computed by another session; waiting for it)"

    return state["once"].run(key, lambda: finished_race(key), compute, progress, waiting, start=(0.0, "starting"))


def solver_race(
    n: int, k: int, lam: float, max_iter: int, lrs: Optional[tuple[float, ...]], seed: int, interior_point: bool
) -> Any:
    """The race of :func:`run_race` with the default PGD budget and steps (blank ``lrs``)."""
    d = RACE_DEFAULTS
    return run_race(race_key(n, k, lam, max_iter, d["budget"], d["steps"], lrs, seed, interior_point))


def race_default_keys() -> list[tuple]:
    """The :func:`race_key` of every race behind the page's default views (the K sweep; one K)."""
    r = RACE_DEFAULTS
    ks = list(dict.fromkeys([*r["ks"], r["k"]]))
    return [
        race_key(r["n"], k, r["lam"], r["iters"], r["budget"], r["steps"], r["lrs"], r["seed"], r["ip"]) for k in ks
    ]
