"""Toy self-labeling (:func:`toy_self_labeling`): self-labeled clustering of 2-D data (or digits on
their PCA plane, :func:`pca_plane`) by :class:`ccel_core.training.Trainer`, with a snapshot of the
pseudo-labels, the predictions and the decision regions after every epoch."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Optional

import numpy as np
import torch
from sklearn.decomposition import PCA

from ccel_core.data import load_dataset
from ccel_core.metrics import evaluate
from ccel_core.solvers import ConvergenceWarning

from .iterates import CES
from .snapshots import SelfLabelingSnapshot, ToySelfLabelingResult

__all__ = ["class_counts", "pca_plane", "single_threaded_torch", "toy_self_labeling"]


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Run torch intra-op work on one thread for the block, then restore the previous count.

    The toy models are tiny (a 64×10 linear head, batches of 100): extra threads only add
    synchronization, and on a shared CPU the spinning workers make a run 5–20× slower
    (measured: digits at the defaults 0.7–1 s single-threaded vs 4–19 s with 2 threads while
    other processes loaded the 2 cores).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def pca_plane(x: Any, *, seed: int = 0) -> tuple[np.ndarray, PCA]:
    """Project features ``x`` (N×D) onto their first two principal components.

    Returns ``(coords, pca)``: ``coords`` N×2 and the fitted scikit-learn ``PCA`` (its
    ``inverse_transform`` lifts plane points back to D dimensions, the plane through the mean).
    """
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = arr.reshape(len(arr), -1).astype(np.float64)
    pca = PCA(n_components=2, random_state=seed)
    return pca.fit_transform(arr), pca


def _plane_grid(points: np.ndarray, resolution: int, margin: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = points.min(0), points.max(0)
    pad = margin * (hi - lo) + 1e-9
    return (
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution),
    )


def class_counts(n: int, n_classes: int, imbalance: float = 1.0) -> np.ndarray:
    """Points per class for ``n`` points: proportional to ``imbalance^(−c/(C−1))``, ``c = 0 … C−1``
    (class 0 the largest, the largest/smallest ratio ``imbalance``), each at least 1, summing to ``n``."""
    c = int(n_classes)
    if float(imbalance) < 1.0:
        raise ValueError(f"imbalance={imbalance} should be >= 1 (the largest / smallest class size)")
    if c < 1 or int(n) < c:
        raise ValueError(f"n={n} points cannot fill n_classes={c} classes")
    w = float(imbalance) ** (-np.arange(c) / max(c - 1, 1))
    counts = np.maximum(np.floor(int(n) * w / w.sum()).astype(np.int64), 1)
    counts[0] += int(n) - int(counts.sum())  # rounding goes to the largest class
    return counts


def _unbalanced(data: str, counts: np.ndarray, seed: int, options: dict[str, Any]) -> Any:
    """``counts[c]`` points of class ``c`` of a synthetic set: generate ``C · max(counts)`` points
    (scikit-learn's generators split them evenly; the class centers depend on the seed only), keep a
    seeded random ``counts[c]`` of each class."""
    big = load_dataset(data, n_samples=len(counts) * int(counts.max()), seed=int(seed), **options)
    assert big.y is not None  # the synthetic sets are labeled
    y = big.y.numpy()
    rng = np.random.default_rng(int(seed))
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(n)] for c, n in enumerate(counts)])
    return big.subset(np.sort(keep))


def toy_self_labeling(
    data: str = "blobs",
    k: int = 3,
    ce: str = "collision",
    epochs: int = 15,
    seed: int = 0,
    *,
    method: Optional[str] = None,
    n_samples: Optional[int] = None,
    noise: Optional[float] = None,
    n_classes: Optional[int] = None,
    imbalance: float = 1.0,
    model: str = "linear",
    hidden: int = 32,
    lam: Optional[float] = None,
    optimizer: str = "adam",
    lr: float = 0.05,
    batch_size: int = 100,
    y_step: str = "full",
    y_iter: int = 50,
    grid_resolution: int = 50,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> ToySelfLabelingResult:
    """Self-labeled clustering on the plane with :class:`ccel_core.training.Trainer`, one snapshot per epoch.

    The trainer alternates a y-step (``ce="collision"``: method ``"ccel"``, the exact y-step on eq. 11,
    ``mean_i H₂(y_i,σ_i) + λ KL(u‖ȳ)``; ``ce="shannon"``: method ``"miadm"``, PGD on
    ``mean_i H(y_i,σ_i) + λ KL(ȳ‖u)``, eq. 5) with θ-steps on ``mean_i CE(y_i, σ_θ(x_i))`` using
    the same CE. After every epoch (from its ``fit()`` generator) the snapshot records the
    trainer's pseudo-labels, σ on the points and σ on the plane grid.

    Args:
        data: ``"blobs" | "moons" | "circles" | "anisotropic"`` (2-D) or ``"digits"`` (64-D, trained on
            all 64 features and shown on the PCA plane; decision regions are then σ on that plane,
            lifted to 64-D by ``PCA.inverse_transform``).
        k: number of clusters K of the network (also the number of blobs for ``blobs``/``anisotropic``
            unless ``n_classes`` is given).
        ce: ``"collision"`` (ours) or ``"shannon"`` (MIADM-like); ignored when ``method`` is given.
        epochs: number of epochs.
        seed: seeds the data and the trainer (network init, batches): the same seed gives both
            ``ce`` the same data and the same initial network.
        method: any network method of :data:`ccel_core.objectives.METHODS` (e.g. ``"sela"``,
            ``"migd"``), overriding ``ce``.
        n_samples: points to load (None: 300 for the synthetic sets, all 1797 digits).
        noise: the synthetic generator's noise (``cluster_std`` for blobs).
        n_classes: ground-truth classes of a synthetic set (None: ``k``; moons and circles have 2), so
            that K can exceed the number of modes.
        imbalance: largest / smallest class size of a synthetic set (1: balanced); class ``c`` gets a
            share ``∝ imbalance^(−c/(C−1))`` of the points (:func:`class_counts`).
        model: ``"linear"`` or ``"mlp"``; ``hidden``: MLP width.
        lam: fairness weight λ (None: the method's paper default, 100).
        optimizer, lr, batch_size: θ-step settings.
        y_step: ``"full"`` (one y-step per epoch on all points) or ``"batch"`` (per batch,
            warm-started: the paper's protocol).
        y_iter: y-solver iteration cap per y-step.
        grid_resolution: decision-region grid size per axis.
        progress: called as ``progress(epoch, epochs)`` after every epoch (an exception it raises
            stops the run: the way a caller cancels it).

    Returns:
        :class:`ToySelfLabelingResult` with ``epochs + 1`` snapshots.

    Runs torch single-threaded (:func:`single_threaded_torch`): at this size that is fastest.
    """
    from ccel_core.training import TrainConfig, Trainer

    if ce not in CES:
        raise ValueError(f"ce={ce!r} is not valid; expected one of {CES}")
    method = method or ("ccel" if ce == "collision" else "miadm")
    options: dict[str, Any] = {}
    if data != "digits":
        options["n_clusters"] = int(k if n_classes is None else n_classes)
        if noise is not None:
            options["noise"] = float(noise)
        if n_samples is None:
            n_samples = 300
    elif n_classes is not None or float(imbalance) != 1.0:
        raise ValueError("n_classes and imbalance apply to the synthetic 2-D sets, not to digits")
    if float(imbalance) != 1.0:
        assert n_samples is not None
        ds = _unbalanced(data, class_counts(n_samples, options["n_clusters"], imbalance), int(seed), options)
    else:
        ds = load_dataset(data, n_samples=n_samples, seed=int(seed), **options)
    cfg = TrainConfig(
        data=data,
        method=method,
        n_clusters=int(k),
        model=model,
        hidden=int(hidden),
        epochs=max(int(epochs), 1),
        batch_size=int(batch_size),
        optimizer=optimizer,
        lr=float(lr),
        lam=lam,
        y_step=y_step,
        solver_max_iter=int(y_iter),
        seed=int(seed),
        device="cpu",
    )
    trainer = Trainer(cfg, dataset=ds)

    x = ds.x.reshape(len(ds.x), -1).numpy()
    y_true = None if ds.y is None else ds.y.numpy()
    if x.shape[1] == 2:
        points, lift = x.astype(np.float64), None
    else:
        points, lift = pca_plane(x, seed=int(seed))
    gx, gy = _plane_grid(points, int(grid_resolution))
    mesh = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    grid_in = (lift.inverse_transform(mesh) if lift is not None else mesh).astype(np.float32)
    grid_in = grid_in.reshape(len(grid_in), *ds.input_shape)
    nan = float("nan")

    def snapshot(epoch: int, metrics: dict[str, Any]) -> SelfLabelingSnapshot:
        sig = np.asarray(trainer.predict_proba(ds.x.numpy()), dtype=np.float64)
        grid = np.asarray(trainer.predict_proba(grid_in), dtype=np.float32).reshape(len(gy), len(gx), int(k))
        labels = sig.copy() if trainer.labels is None else trainer.labels.detach().cpu().numpy().astype(np.float64)
        pred = sig.argmax(1)
        scores = evaluate(y_true, pred) if y_true is not None else {"acc": nan, "nmi": nan}
        loss, objective = metrics.get("loss"), metrics.get("label_loss")
        return SelfLabelingSnapshot(
            epoch,
            labels,
            sig,
            grid,
            np.bincount(pred, minlength=int(k)),
            labels.sum(0),
            nan if loss is None else float(loss),
            nan if objective is None else float(objective),
            float(scores["acc"]),
            float(scores["nmi"]),
        )

    with single_threaded_torch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        snapshots = [snapshot(0, {})]
        if int(epochs) > 0:
            for metrics in trainer.fit():
                snapshots.append(snapshot(int(metrics["epoch"]), metrics))
                if progress is not None:
                    progress(int(metrics["epoch"]), int(epochs))

    names = {"ccel": "CCE (eq. 11, exact y-step)", "miadm": "Shannon CE (MIADM, PGD)"}
    config = {
        "data": data,
        "k": int(k),
        "ce": ce,
        "method": names.get(method, method),
        "method_key": method,
        "epochs": int(epochs),
        "seed": int(seed),
        "n_samples": len(points),
        "noise": noise,
        "n_classes": None if ds.y is None else int(ds.n_classes),
        "imbalance": float(imbalance),
        "plane": "data" if lift is None else "pca",
        "train_config": cfg.to_dict(),
    }
    return ToySelfLabelingResult(points, y_true, gx, gy, snapshots, int(k), config)
