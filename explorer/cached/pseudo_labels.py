"""The pseudo-label page's store: self-labeling runs and summaries over seeds by settings (computed
with progress, cancellable; kept in memory and on disk, :mod:`~explorer.cached.disk`), the y-step
trajectories on them, and the page's preset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import pandas as pd
import streamlit as st

from explorer.cached.once import Once
from explorer.cached.shared import Kept

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
def _pl_store() -> dict[str, Kept]:
    """This server's finished self-labeling runs by ``(args, ce)`` and summaries over seeds by
    ``(args without seed, seeds)`` (:class:`~explorer.cached.shared.Kept`: the newest 64 and 32 in
    memory, all on disk). Shared, not copied: read only."""
    return {"runs": Kept("toy-run", 64, _run_type), "seeds": Kept("seed-summary", 32, lambda: pd.DataFrame)}


def _run_type() -> type:
    from ccel_core.experiments.trajectories.snapshots import ToySelfLabelingResult

    return ToySelfLabelingResult


@st.cache_resource(show_spinner=False)
def _pl_once() -> Once:
    """One self-labeling training per settings at a time, whoever asks (a page or the warm-up thread)."""
    return Once()


def toy_run(args: tuple, ce: str) -> Any:
    """The finished run of :func:`toy_self_labeling` for these settings from memory, else from the
    disk store (a run of an earlier server), or None."""
    return _pl_store()["runs"].get((args, ce))


def toy_self_labeling(args: tuple, ce: str, progress: Optional[Callable[[int, int], Any]] = None) -> Any:
    """:func:`ccel_core.experiments.trajectories.toy_self_labeling` for ``args`` (:func:`pseudo_label_args`),
    its clusters renumbered by the classes they match (``relabeled()``), from the store or computed
    now with ``progress(epoch, epochs)``.

    Only a finished run is stored: an exception from ``progress`` (Streamlit's rerun when the page's
    Cancel button is pressed) ends the training and leaves nothing behind. When another thread is
    training the same settings (the warm-up, another session), waits for it, showing its progress:
    :class:`~explorer.cached.once.Once`. Not ``st.cache_data``: the progress callback draws on the
    page, and a cached function must not.
    """
    found = toy_run(args, ce)
    if found is not None:
        return found
    from ccel_core.experiments.trajectories import toy_self_labeling as run

    def compute(relay: Callable[..., None]) -> Any:
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
            progress=relay,
        ).relabeled()
        _pl_store()["runs"].put((args, ce), result)
        return result

    epochs = int(dict(zip(PL_FIELDS, args))["epochs"])
    return _pl_once().run((args, ce), lambda: toy_run(args, ce), compute, progress, start=(0, epochs))


def seed_summary(args: tuple, seeds: Sequence[int]) -> Optional[pd.DataFrame]:
    """The finished :func:`seed_comparison` for these settings (any seed in ``args``) from memory,
    else from the disk store, or None."""
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
    _pl_store()["seeds"].put((_with_seed(args, None), seeds), frame)
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
