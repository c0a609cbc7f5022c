"""Cached wrappers around the experiments of ``ccel_core.experiments`` and the pages' slow figures.

``st.cache_data`` for results (keyed by their hashable arguments, copied on a hit),
``st.cache_resource`` for the animated plotly figures (validating every point of every frame is the
slow part of building them; they are not copied, so callers only set their height). Also the long
tables behind the animated charts (their CSV downloads) and :func:`precompute_default_views`, which
the app runs in a background thread on a fresh server.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

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
def gradient_vs_certainty(logits: tuple[float, ...], alphas: tuple[float, ...]) -> pd.DataFrame:
    """:func:`ccel_core.experiments.curves.gradient_vs_certainty`, cached."""
    from ccel_core.experiments.curves import gradient_vs_certainty as run

    return run(logits, alphas)


@st.cache_data(show_spinner=False, max_entries=32)
def toy_self_labeling(data: str, k: int, ce: str, epochs: int, seed: int, lam: float, y_step: str, model: str) -> Any:
    """:func:`ccel_core.experiments.trajectories.toy_self_labeling`, cached."""
    from ccel_core.experiments.trajectories import toy_self_labeling as run

    return run(data, k, ce, epochs, seed, lam=lam, y_step=y_step, model=model)


@st.cache_data(show_spinner=False, max_entries=64)
def em_trajectory(
    data: str, k: int, epochs: int, seed: int, lam: float, y_step: str, model: str, epoch: int, solver: str, n_iter: int
) -> Any:
    """y-step iterates on the predictions σ of the CCE run's network after ``epoch`` epochs.

    ``solver="em"``: EM on eq. 11 (collision CE); ``"exact"``: the certified exact y-step on eq. 11;
    ``"pgd"``: PGD on MIADM's Shannon eq. 10.
    """
    from ccel_core.experiments.trajectories import em_trajectory as run

    result = toy_self_labeling(data, k, "collision", epochs, seed, lam, y_step, model)
    sigma = result.snapshots[min(epoch, len(result.snapshots) - 1)].probs
    if solver in ("em", "exact"):
        return run(sigma, lam, n_iter=n_iter, solver=solver)
    return run(sigma, lam, n_iter=n_iter, solver="pgd", objective="eq10", ce="shannon")


@st.cache_data(show_spinner=False, max_entries=32)
def solver_race(
    n: int, k: int, lam: float, max_iter: int, lrs: Optional[tuple[float, ...]], seed: int, interior_point: bool
) -> Any:
    """:func:`ccel_core.experiments.race.solver_race` on :func:`race_problem` ``(n, k, seed)``, cached."""
    from ccel_core.experiments.race import race_problem
    from ccel_core.experiments.race import solver_race as run

    probs = race_problem(n, k, seed=seed)
    return run(probs, lam, pgd_lrs=lrs, max_iter=max_iter, use_interior_point=interior_point)


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
    """Weight of the true class in the corrupted targets, per level (what the noise does).

    Long frame ``level, true_class_weight`` from :func:`ccel_core.experiments.noisy.corrupt_targets`
    applied to the data set's labels.
    """
    import numpy as np

    from ccel_core.data import load_dataset
    from ccel_core.experiments.noisy import corrupt_targets

    ds = load_dataset(data)
    if ds.y is None:
        raise ValueError(f"data set {data!r} has no labels; the noisy-label experiment needs them")
    y = ds.y.numpy()
    frames = []
    for level in levels:
        t = corrupt_targets(y, ds.n_classes, model=noise, level=level, seed=seed).numpy()
        frames.append(pd.DataFrame({"level": level, "true_class_weight": t[np.arange(len(y)), y]}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------
# the pseudo-label page's animated figures, and the default views computed ahead of time
# ----------------------------------------------------------------------------------------------

PSEUDO_LABEL_DEFAULTS: dict[str, Any] = {
    "data": "blobs",
    "k": 3,
    "epochs": 15,
    "seed": 0,
    "lam": 100.0,
    "ystep": "full",
    "model": "linear",
}
RACE_DEFAULTS: dict[str, Any] = {"n": 2000, "k": 20, "lam": 100.0, "iters": 400, "lrs": None, "seed": 0, "ip": False}


def pseudo_label_args(data: str, k: int, epochs: int, seed: int, lam: float, ystep: str, model: str) -> tuple:
    """The positional tail shared by :func:`toy_self_labeling` (after ``ce``) and the figure builders."""
    return (str(data), int(k), int(epochs), int(seed), float(lam), str(ystep), str(model))


# Animations draw at most this many points and frames (plotly validates every point of every
# frame, so 1797 digits × 51 frames would take many seconds); the CSV downloads hold everything.
MAX_POINTS, MAX_FRAMES = 300, 31


def shown_points(n: int) -> np.ndarray:
    """A fixed random subset of at most MAX_POINTS point indices (all when fewer)."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))


def shown_frames(n: int) -> np.ndarray:
    """At most MAX_FRAMES evenly spaced frame indices, always the first and the last."""
    return np.unique(np.linspace(0, n - 1, min(n, MAX_FRAMES)).round().astype(int))


@st.cache_resource(show_spinner=False, max_entries=32)
def epoch_figures(args: tuple, ce: str) -> dict[str, go.Figure]:
    """The animated per-epoch figures of one self-labeler (``args`` from :func:`pseudo_label_args`):
    ``"ternary"`` (K = 3 only) and ``"regions"``. ``st.cache_resource``: built once per setting, as
    plotly validates every point of every frame (not copied on a hit; callers must not mutate them
    beyond setting their height)."""
    from ccel_core.plots import decision_regions_figure, ternary_labels_figure

    res = toy_self_labeling(args[0], args[1], ce, *args[2:])
    idx = shown_points(len(res.points))
    snaps = [res.snapshots[t] for t in shown_frames(len(res.snapshots))]
    epochs = [s.epoch for s in snaps]
    figs = {}
    if res.n_clusters == 3:
        figs["ternary"] = ternary_labels_figure(
            [s.labels[idx] for s in snaps],
            [s.probs[idx] for s in snaps],
            frame_names=epochs,
            title="Pseudo-labels y (dots) and σ (rings) per epoch",
        )
        if figs["ternary"].layout.sliders:
            figs["ternary"].layout.sliders[0].currentvalue.prefix = "epoch "
    figs["regions"] = decision_regions_figure(
        res.grid_x,
        res.grid_y,
        [s.grid_probs for s in snaps],
        res.points[idx],
        [s.probs[idx].argmax(1) for s in snaps],
        y_true=None if res.y_true is None else res.y_true[idx],
        frame_names=epochs,
        axis_titles=("PC 1", "PC 2") if args[0] == "digits" else ("x₁", "x₂"),
        title="Decision regions argmax σ per epoch (marker = true class)",
    )
    return figs


@st.cache_resource(show_spinner=False, max_entries=64)
def ystep_figure(args: tuple, epoch: int, solver: str, iters: int) -> go.Figure:
    """The animated y-step iterates on the simplex (σ fixed), from :func:`em_trajectory`."""
    from ccel_core.plots import ternary_labels_figure

    traj = em_trajectory(*args, epoch, solver, iters)
    res = toy_self_labeling(args[0], args[1], "collision", *args[2:])
    sigma = res.snapshots[min(epoch, len(res.snapshots) - 1)].probs
    idx, frames = shown_points(len(sigma)), shown_frames(len(traj.iterates))
    return ternary_labels_figure(
        [traj.iterates[t][idx] for t in frames],
        sigma[idx],
        frame_names=frames.tolist(),
        title="y per iteration (σ fixed, rings)",
    )


def precompute_default_views() -> None:
    """Fill the caches behind the default view of the slower pages (pseudo-labels, solver race), so
    their first visit on a fresh server draws at once. Meant for a background thread."""
    args = pseudo_label_args(**PSEUDO_LABEL_DEFAULTS)
    for ce in ("collision", "shannon"):
        toy_self_labeling(args[0], args[1], ce, *args[2:])
        epoch_figures(args, ce)
    r = RACE_DEFAULTS
    solver_race(r["n"], r["k"], r["lam"], r["iters"], r["lrs"], r["seed"], r["ip"])


# ----------------------------------------------------------------------------------------------
# long tables behind the animated charts (CSV downloads)
# ----------------------------------------------------------------------------------------------


def labels_frame(
    label_sets: Sequence[Any], prob_sets: Optional[Sequence[Any]] = None, *, step: str = "epoch", y_true: Any = None
) -> pd.DataFrame:
    """One row per (step, point): ``y_1..y_K`` (pseudo-labels) and ``sigma_1..sigma_K`` (predictions)."""
    import numpy as np

    frames = []
    for t, y in enumerate(label_sets):
        y = np.asarray(y)
        part = pd.DataFrame(y, columns=[f"y_{j + 1}" for j in range(y.shape[1])])
        if prob_sets is not None:
            s = np.asarray(prob_sets[t])
            part[[f"sigma_{j + 1}" for j in range(s.shape[1])]] = s
        part.insert(0, "point", np.arange(len(y)))
        part.insert(0, step, t)
        if y_true is not None:
            part["true_class"] = np.asarray(y_true)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def regions_frame(result: Any) -> pd.DataFrame:
    """One row per (epoch, grid point) of a toy self-labeling result: position and argmax σ."""
    import numpy as np

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
