"""Cached wrappers around the experiments of ``ccel_core.experiments`` and the pages' slow figures.

``st.cache_data`` for results (keyed by their hashable arguments, copied on a hit),
``st.cache_resource`` for the animated plotly figures (validating every point of every frame is the
slow part of building them; they are not copied, so callers only set their height). Also the long
tables behind the animated charts (their CSV downloads) and :func:`precompute_default_views`, which
the app runs in a background thread on a fresh server.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st


# ----------------------------------------------------------------------------------------------
# reproduction reports: checked once per file version (the schema check builds every figure)
# ----------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _report(path: str, version: tuple[int, int]) -> Any:
    from ccel_core.reproduce import load_report

    return load_report(Path(path))


def report(path: Path) -> Any:
    """:func:`ccel_core.reproduce.load_report`, cached per file version (mtime, size); ``ValueError``
    naming the file when it is not a report (or is gone)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the report ({exc.strerror or exc})") from exc
    return _report(str(path), (stat.st_mtime_ns, stat.st_size))


# ----------------------------------------------------------------------------------------------
# results of the experiments (arguments must be hashable: tuples, numbers, strings)
# ----------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def loss_curves(y_values: tuple[tuple[float, float], ...], alphas: tuple[float, ...]) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.loss_curves`, cached."""
    from ccel_core.experiments.curves import loss_curves as run

    return run(y_values, alphas)


@st.cache_data(show_spinner=False, max_entries=256)
def simplex_loss_grid(y: tuple[float, float, float], alpha: float, resolution: int = 45) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.simplex_loss_grid`, cached."""
    from ccel_core.experiments.curves import simplex_loss_grid as run

    return run(y, alpha, resolution)


@st.cache_data(show_spinner=False, max_entries=256)
def simplex_gradient_field(y: tuple[float, float, float], alpha: float, resolution: int = 8) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.simplex_gradient_field`, cached."""
    from ccel_core.experiments.curves import simplex_gradient_field as run

    return run(y, alpha, resolution)


@st.cache_data(show_spinner=False, max_entries=256)
def gradient_vs_certainty(logits: tuple[float, ...], alphas: tuple[float, ...]) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.gradient_vs_certainty`, cached."""
    from ccel_core.experiments.curves import gradient_vs_certainty as run

    return run(logits, alphas)


@st.cache_data(show_spinner=False, max_entries=64)
def em_trajectory(args: tuple, epoch: int, solver: str, n_iter: int) -> Any:
    """y-step iterates on the predictions σ of ours' network after ``epoch`` epochs (``args`` from
    :func:`pseudo_label_args`; σ with its clusters renumbered as on the page).

    ``solver="em"``: EM on eq. 11 (collision CE); ``"exact"``: the certified exact y-step on eq. 11;
    ``"pgd"``: PGD on MIADM's Shannon eq. 10.
    """
    from ccel_core.experiments.trajectories import em_trajectory as run

    result = toy_self_labeling(args, "collision")
    sigma = result.snapshots[min(epoch, len(result.snapshots) - 1)].probs
    lam = args[PL_FIELDS.index("lam")]
    if solver in ("em", "exact"):
        return run(sigma, lam, n_iter=n_iter, solver=solver)
    return run(sigma, lam, n_iter=n_iter, solver="pgd", objective="eq10", ce="shannon")


# ----------------------------------------------------------------------------------------------
# the solver race: finished races by settings, computed with progress, cancellable
# ----------------------------------------------------------------------------------------------


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
    """This server's finished races by key (newest last), a lock per key (one computation per key,
    whoever asks: a page or the warm-up thread) and the progress of the running ones."""
    import threading

    return {"done": OrderedDict(), "locks": {}, "guard": threading.Lock(), "progress": {}}


def _function_key(fn: Callable[..., Any]) -> tuple[str, str]:
    """A builder by where it is defined (Streamlit cannot hash functions; a page's are redefined on
    every rerun)."""
    return fn.__code__.co_filename, fn.__qualname__


@st.cache_resource(show_spinner=False, max_entries=64, hash_funcs={types.FunctionType: _function_key})
def of_races(build: Callable[..., Any], keys: tuple[tuple, ...], *args: Any) -> Any:
    """``build(races, *args)`` for the finished races of ``keys`` (:func:`race_key`), once per server:
    the tables, ratios and figures a page derives from them (a rerun then only draws). Shared, not
    copied: read only. ``LookupError`` when a race is not finished."""
    races = [finished_race(key) for key in keys]
    if any(r is None for r in races):
        raise LookupError("a race of these settings has not finished")
    return build(races, *args)


def finished_race(key: tuple) -> Any:
    """The finished race for ``key`` (:func:`race_key`), or None. Shared, not copied: read only."""
    return _races()["done"].get(key)


def run_race(key: tuple, progress: Optional[Callable[[float, str], Any]] = None) -> Any:
    """The race for ``key``: from the store, or computed now with ``progress(fraction, text)``.

    Only a finished race is stored: an exception from ``progress`` (Streamlit's rerun when the page's
    Stop button is pressed) ends the computation and leaves nothing behind. When another thread is
    computing the same key, waits for it (still calling ``progress``, so the wait can be cancelled).
    Not ``st.cache_data``: the progress callback draws on the page, and a cached function must not.
    """
    import threading

    from ccel_core.experiments.race_sweep import budgeted_race

    state = _races()
    with state["guard"]:
        lock = state["locks"].setdefault(key, threading.Lock())
    while not lock.acquire(timeout=0.25):
        if progress is not None:
            fraction, text = state["progress"].get(key, (0.0, "starting"))
            progress(fraction, f"{text} (computed by another session; waiting for it)")
    try:
        found = finished_race(key)
        if found is not None:
            return found

        def relay(fraction: float, text: str) -> None:
            state["progress"][key] = (fraction, text)
            if progress is not None:
                progress(fraction, text)

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
        store = state["done"]
        store[key] = race
        while len(store) > 32:
            store.popitem(last=False)
        return race
    finally:
        state["progress"].pop(key, None)
        lock.release()


def solver_race(
    n: int, k: int, lam: float, max_iter: int, lrs: Optional[tuple[float, ...]], seed: int, interior_point: bool
) -> Any:
    """The race of :func:`run_race` with the default PGD budget and steps (blank ``lrs``)."""
    d = RACE_DEFAULTS
    return run_race(race_key(n, k, lam, max_iter, d["budget"], d["steps"], lrs, seed, interior_point))


@st.cache_resource(show_spinner=False)
def _noisy_results() -> OrderedDict:
    """Finished noisy-label experiments of this server process, by settings (newest last)."""
    return OrderedDict()


def noisy_results(settings: tuple) -> Optional[pd.DataFrame]:
    """The cached result of :func:`noisy_label_experiment` for ``settings``, or None."""
    found = _noisy_results().get(settings)
    return None if found is None else found.copy()


def noisy_label_experiment(
    data: str,
    model: str,
    noise: str,
    levels: tuple[float, ...],
    seeds: tuple[int, ...],
    epochs: int,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> pd.DataFrame:
    """:func:`ccel_core.experiments.noisy.noisy_label_experiment`, cached by its settings.

    Not ``st.cache_data``: the progress callback draws on the page, and a cached function must not.
    Runs torch on one thread (the library's :func:`single_threaded_torch`): these networks are tiny
    and extra threads only add contention on a shared CPU.
    """
    from ccel_core.experiments.noisy import noisy_label_experiment as run
    from ccel_core.experiments.trajectories import single_threaded_torch

    settings = (data, model, noise, tuple(levels), tuple(seeds), int(epochs))
    cached = noisy_results(settings)
    if cached is not None:
        return cached
    with single_threaded_torch():
        result = run(data, model, noise, levels, seeds, epochs, progress=progress)
    store = _noisy_results()
    store[settings] = result
    while len(store) > 32:
        store.popitem(last=False)
    return result.copy()


@st.cache_data(show_spinner=False, max_entries=64)
def corrupted_targets(data: str, noise: str, levels: tuple[float, ...], seed: int = 0) -> pd.DataFrame:
    """:func:`ccel_core.experiments.noisy.true_class_weights`, cached."""
    from ccel_core.experiments.noisy import true_class_weights

    return true_class_weights(data, noise, levels, seed=seed)


# ----------------------------------------------------------------------------------------------
# the pseudo-label page: runs and summaries over seeds (with progress, cancellable), its figures,
# and the default views computed ahead of time
# ----------------------------------------------------------------------------------------------

# The page's preset, found by measurement (benchmarks/evolution_preset.py, numbers in its report):
# 3 blobs and K = 5 clusters with a weak fairness weight, where ours and MIADM differ robustly over
# seeds (at K = C both y-steps give near one-hot labels and the two methods coincide).
PSEUDO_LABEL_DEFAULTS: dict[str, Any] = {
    "data": "blobs",
    "classes": 3,
    "noise": 1.0,
    "k": 5,
    "epochs": 15,
    "seed": 0,
    "lam": 3.0,
    "ystep": "full",
    "model": "linear",
}
# The preset that shows the simplex views (K = 3 clusters for C = 3 blobs): both y-steps then give
# near one-hot labels, where collision CE equals Shannon CE, so the two methods nearly coincide.
PSEUDO_LABEL_K3: dict[str, Any] = {**PSEUDO_LABEL_DEFAULTS, "k": 3}
PL_FIELDS: tuple[str, ...] = tuple(PSEUDO_LABEL_DEFAULTS)  # the order of pseudo_label_args
PL_SEEDS: tuple[int, ...] = tuple(range(10))  # the page's default summary over seeds
# The y-step's iteration cap: MIADM's PGD (step 1/(λK)) has converged by then (its labels barely move
# from 300 to 1000 iterations); a cap of 50 leaves them soft, a difference of the solver, not of the loss.
PL_Y_ITER = 1000
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


def race_default_keys() -> list[tuple]:
    """The :func:`race_key` of every race behind the page's default views (the K sweep; one K)."""
    r = RACE_DEFAULTS
    ks = list(dict.fromkeys([*r["ks"], r["k"]]))
    return [
        race_key(r["n"], k, r["lam"], r["iters"], r["budget"], r["steps"], r["lrs"], r["seed"], r["ip"]) for k in ks
    ]


def pseudo_label_args(
    data: str, classes: int, noise: float, k: int, epochs: int, seed: int, lam: float, ystep: str, model: str
) -> tuple:
    """The settings of one self-labeling run as a hashable key, in the order of :data:`PL_FIELDS`.

    ``classes`` (true classes C) and ``noise`` (cluster std) apply to blobs and anisotropic only:
    moons and circles have 2 classes and digits 10, with their generators' own noise (None here).
    """
    blobs = str(data) in ("blobs", "anisotropic")
    c = int(classes) if blobs else (2 if str(data) in ("moons", "circles") else None)
    return (
        str(data),
        c,
        float(noise) if blobs else None,
        int(k),
        int(epochs),
        int(seed),
        float(lam),
        str(ystep),
        str(model),
    )


def _with_seed(args: tuple, seed: Optional[int]) -> tuple:
    i = PL_FIELDS.index("seed")
    return (*args[:i], seed, *args[i + 1 :])


@st.cache_resource(show_spinner=False)
def _pl_store() -> dict[str, OrderedDict]:
    """This server's finished self-labeling runs by ``(args, ce)`` and summaries over seeds by
    ``(args without seed, seeds)`` (newest last). Shared, not copied: read only."""
    return {"runs": OrderedDict(), "seeds": OrderedDict()}


def _keep(store: OrderedDict, key: Any, value: Any, most: int) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > most:
        store.popitem(last=False)


def toy_run(args: tuple, ce: str) -> Any:
    """The finished run of :func:`toy_self_labeling` for these settings, or None."""
    return _pl_store()["runs"].get((args, ce))


def toy_self_labeling(args: tuple, ce: str, progress: Optional[Callable[[int, int], Any]] = None) -> Any:
    """:func:`ccel_core.experiments.trajectories.toy_self_labeling` for ``args`` (:func:`pseudo_label_args`),
    its clusters renumbered by the classes they match (``relabeled()``), from the store or computed
    now with ``progress(epoch, epochs)``.

    Only a finished run is stored: an exception from ``progress`` (Streamlit's rerun when the page's
    Cancel button is pressed) ends the training and leaves nothing behind. Not ``st.cache_data``:
    the progress callback draws on the page, and a cached function must not.
    """
    found = toy_run(args, ce)
    if found is not None:
        return found
    from ccel_core.experiments.trajectories import toy_self_labeling as run

    a = dict(zip(PL_FIELDS, args))
    result = run(
        a["data"],
        a["k"],
        ce,
        a["epochs"],
        a["seed"],
        n_classes=a["classes"],
        noise=a["noise"],
        lam=a["lam"],
        y_step=a["ystep"],
        model=a["model"],
        y_iter=PL_Y_ITER,
        progress=progress,
    ).relabeled()
    _keep(_pl_store()["runs"], (args, ce), result, 64)
    return result


def seed_summary(args: tuple, seeds: Sequence[int]) -> Optional[pd.DataFrame]:
    """The finished :func:`seed_comparison` for these settings (any seed in ``args``), or None."""
    found = _pl_store()["seeds"].get((_with_seed(args, None), tuple(int(s) for s in seeds)))
    return None if found is None else found.copy()


def seed_comparison(
    args: tuple, seeds: Sequence[int], progress: Optional[Callable[[float, str], Any]] = None
) -> pd.DataFrame:
    """Both methods at these settings for every seed (:func:`~ccel_core.experiments.trajectories.compare_self_labeling`
    through the run store, so the page's own seed is not trained twice), with
    ``progress(fraction, text)`` after every epoch. Stored only when finished."""
    from ccel_core.experiments.trajectories import compare_self_labeling

    seeds = tuple(int(s) for s in seeds)
    found = seed_summary(args, seeds)
    if found is not None:
        return found
    total, done = 2 * len(seeds), [0]

    def run(ce: str, seed: int) -> Any:
        def epoch(e: int, n: int) -> None:
            if progress is not None:
                progress((done[0] + e / max(n, 1)) / total, f"seed {seed}, {ce} CE: epoch {e} / {n}")

        result = toy_self_labeling(_with_seed(args, seed), ce, progress=epoch)
        done[0] += 1
        if progress is not None:
            progress(done[0] / total, f"{done[0]} / {total} trainings")
        return result

    frame = compare_self_labeling(seeds, run=run)
    _keep(_pl_store()["seeds"], (_with_seed(args, None), seeds), frame, 32)
    return frame.copy()


def cluster_names(result: Any) -> list[str]:
    """Legend names of a relabeled run's clusters: ``"cluster c"`` when it is matched to class c,
    ``"cluster j (class c)"`` when matched to another number (K < C), ``"cluster j (no class)"``."""
    matched = result.config.get("matched_class") or [None] * result.n_clusters
    out = []
    for j, c in enumerate(matched):
        out.append(
            f"cluster {j}" if c == j else (f"cluster {j} (no class)" if c is None else f"cluster {j} (class {c})")
        )
    return out


# ----------------------------------------------------------------------------------------------
# figures: built once per server for their inputs, shared by every session (read only)
# ----------------------------------------------------------------------------------------------


def frozen(fig: go.Figure) -> go.Figure:
    """Mark a shared figure read only: its plotly dict is computed once (``st.plotly_chart`` copies
    the whole figure, every frame of an animation included, on every rerun otherwise). Callers must
    not change it; :func:`explorer.common.chart` draws a copy when asked for another height."""
    memo = fig.to_dict()
    fig.to_dict = lambda: memo  # type: ignore[method-assign]
    fig._ccel_frozen = True  # type: ignore[attr-defined]
    return fig


@st.cache_resource(show_spinner=False, max_entries=512, hash_funcs={types.FunctionType: _function_key})
def figure(build: Callable[..., go.Figure], *args: Any, height: Optional[int] = None, **kwargs: Any) -> go.Figure:
    """``build(*args, **kwargs)`` at ``height``, built once per server for these inputs (DataFrames
    are hashed by content) and :func:`frozen`: a page rerun or another visitor reuses it (building a
    plotly figure validates every property: 50–150 ms each here)."""
    fig = build(*args, **kwargs)
    if height is not None:
        fig.update_layout(height=height)
    return frozen(fig)


@st.cache_resource(show_spinner=False, max_entries=256)
def epoch_figures(args: tuple, ce: str, epoch: int) -> dict[str, go.Figure]:
    """The figures of one self-labeler at one epoch (``args`` from :func:`pseudo_label_args`):
    ``"regions"`` (argmax σ over the plane, points colored by cluster, misclustered points as ✕ in
    their true class's color) and ``"ternary"`` (K = 3 only: y and σ on the simplex). Clusters are
    the run's renumbered ones (cluster c ↔ class c). Not copied on a hit: callers only set the height."""
    from ccel_core.plots import decision_regions_figure, ternary_labels_figure

    res = toy_self_labeling(args, ce)
    s = res.snapshots[min(max(int(epoch), 0), len(res.snapshots) - 1)]
    names = cluster_names(res)
    pred = s.probs.argmax(1)
    figs = {}
    if res.n_clusters == 3:
        figs["ternary"] = ternary_labels_figure(
            s.labels,
            s.probs,
            labels=pred,
            cluster_names=names,
            title=f"Pseudo-labels y (dots) and σ (rings) at epoch {s.epoch}",
        )
    wrong = truth = None
    if res.y_true is not None:
        truth = res.class_colors()[res.y_true]
        wrong = truth != pred
    figs["regions"] = decision_regions_figure(  # heights: those the page draws them at
        res.grid_x,
        res.grid_y,
        s.grid_probs,
        res.points,
        pred,
        misclustered=wrong,
        true_colors=truth,
        cluster_names=names,
        axis_titles=("PC 1", "PC 2") if args[0] == "digits" else ("x₁", "x₂"),
        title=f"Decision regions argmax σ at epoch {s.epoch}",
    )
    heights = {"regions": 520, "ternary": 470}
    return {name: frozen(fig.update_layout(height=heights[name])) for name, fig in figs.items()}


@st.cache_resource(show_spinner=False, max_entries=64)
def ystep_figure(args: tuple, epoch: int, solver: str, iters: int) -> go.Figure:
    """The y-step's labels after ``iters`` iterations on the simplex (σ fixed, rings), K = 3."""
    from ccel_core.plots import ternary_labels_figure

    traj = em_trajectory(args, epoch, solver, iters)
    res = toy_self_labeling(args, "collision")
    sigma = res.snapshots[min(epoch, len(res.snapshots) - 1)].probs
    return frozen(
        ternary_labels_figure(
            traj.iterates[-1],
            sigma,
            cluster_names=cluster_names(res),
            title=f"y after {len(traj.iterates) - 1} iterations (σ fixed: rings)",
        ).update_layout(height=440)
    )


def precompute_default_views() -> None:
    """Fill the caches behind the default view of the slower pages (pseudo-labels, solver race), so
    their first visit on a fresh server draws at once. Meant for a background thread."""
    args = pseudo_label_args(**PSEUDO_LABEL_DEFAULTS)
    seed_comparison(args, PL_SEEDS)
    for ce in ("collision", "shannon"):
        toy_self_labeling(args, ce)
        epoch_figures(args, ce, int(PSEUDO_LABEL_DEFAULTS["epochs"]))
    for key in race_default_keys():
        run_race(key)
    from explorer import race_view

    r = RACE_DEFAULTS
    of_races(race_view.sweep, tuple(race_default_keys()[: len(r["ks"])]), tuple(r["ks"]))


# ----------------------------------------------------------------------------------------------
# long tables behind the animated charts (CSV downloads)
# ----------------------------------------------------------------------------------------------


def labels_frame(
    label_sets: Sequence[Any], prob_sets: Optional[Sequence[Any]] = None, *, step: str = "epoch", y_true: Any = None
) -> pd.DataFrame:
    """One row per (step, point): ``y_0..y_{K−1}`` (pseudo-labels of clusters 0 … K−1) and
    ``sigma_0..sigma_{K−1}`` (predictions), and ``true_class`` when given (0-based like the clusters)."""
    frames = []
    for t, y in enumerate(label_sets):
        y = np.asarray(y)
        part = pd.DataFrame(y, columns=[f"y_{j}" for j in range(y.shape[1])])
        if prob_sets is not None:
            s = np.asarray(prob_sets[t])
            part[[f"sigma_{j}" for j in range(s.shape[1])]] = s
        part.insert(0, "point", np.arange(len(y)))
        part.insert(0, step, t)
        if y_true is not None:
            part["true_class"] = np.asarray(y_true)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def regions_frame(result: Any) -> pd.DataFrame:
    """One row per (epoch, grid point) of a toy self-labeling result: position and argmax σ."""
    gx, gy = np.meshgrid(result.grid_x, result.grid_y)
    frames = [
        pd.DataFrame(
            {
                "epoch": s.epoch,
                "x1": gx.ravel(),
                "x2": gy.ravel(),
                "cluster": s.grid_probs.argmax(-1).ravel(),
                "max_sigma": s.grid_probs.max(-1).ravel(),
            }
        )
        for s in result.snapshots
    ]
    return pd.concat(frames, ignore_index=True)
