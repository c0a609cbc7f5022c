"""Pseudo-label evolution experiments (explorer page 3).

* :func:`em_trajectory` — every iterate ``Y⁰ … Y^T`` of a y-step solver for fixed predictions σ,
  with the objective after each one. EM (paper section 4) minimizes eq. 11,
  ``L(Y) = mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ)``, ``H₂(y, σ) = −ln σ·y``, and never increases it
  (Property 1); PGD (``Y ← Proj_Δ(Y − η N∇L)``) solves eq. 10 or eq. 11 (or MIADM's Shannon
  eq. 10) for comparison. Both solvers are memoryless, so one ``max_iter=1`` call per step
  started at the previous iterate reproduces the solver's own iterates exactly.
* :func:`toy_self_labeling` — self-labeled clustering of 2-D data (or scikit-learn digits shown
  on their PCA plane) by :class:`ccel_core.training.Trainer` (alternating y-steps and θ-steps),
  with per-epoch snapshots of the
  pseudo-labels y, the predictions σ, the decision regions over the plane and the cluster sizes.
  ``ce="collision"`` is ours (eq. 11 by the trainer's default y-step, the exact solver; network loss collision CE); ``ce="shannon"`` is
  MIADM-like (Shannon CE + λ KL(ȳ‖u), eq. 5, solved by PGD; network loss Shannon CE).
  The same ``seed`` gives both the same data and the same initial network.
* :func:`pca_plane` — the 2-D PCA projection (scikit-learn) used to put digits on the plane.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ccel_core.data import load_dataset
from ccel_core.metrics import evaluate
from ccel_core.solvers import ConvergenceWarning, em, exact, pgd

__all__ = [
    "Trajectory",
    "mean_label_entropy",
    "em_trajectory",
    "pca_plane",
    "SelfLabelingSnapshot",
    "ToySelfLabelingResult",
    "toy_self_labeling",
    "class_counts",
    "compare_self_labeling",
    "difference_summary",
    "final_scores",
    "region_disagreement",
    "ROBUST_AGREEMENT",
    "SCORES",
    "default_pgd_lr",
    "single_threaded_torch",
]

_SOLVERS = ("em", "pgd", "exact")
_CES = ("collision", "shannon")


def default_pgd_lr(lam: float, k: int) -> float:
    """A step size that keeps PGD stable for the fairness term: ``η = 1/max(λK, 1)``.

    The KL term moves every row together, so its curvature along that direction is about
    ``λ K`` (ȳ ≈ u); steps above ``2/(λK)`` oscillate or diverge (the trainer's default too).
    """
    return 1.0 / max(float(lam) * int(k), 1.0)


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


class Trajectory(NamedTuple):
    """Iterates of a y-step solver: ``iterates[t]`` is ``Y^t`` (N×K numpy, ``t = 0`` is the
    start) and ``history[t]`` the objective at ``Y^t``; ``len(iterates) == len(history) == n_iter + 1``."""

    iterates: list[np.ndarray]
    history: list[float]


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, K), got shape={arr.shape}")
    return arr


def em_trajectory(
    probs: Any,
    lam: float = 100.0,
    *,
    n_iter: int = 30,
    prior: Optional[Any] = None,
    solver: str = "em",
    objective: str = "eq11",
    ce: str = "collision",
    lr: Optional[float] = None,
    init: Optional[Any] = None,
) -> Trajectory:
    """Run a y-step solver for exactly ``n_iter`` iterations and keep every iterate.

    Args:
        probs: predictions σ (N×K rows on the simplex; numpy or torch, returned as numpy).
        lam: fairness weight λ.
        n_iter: iterations to record.
        prior: class proportions u (default uniform).
        solver: ``"em"`` (eq. 11, collision CE only), ``"pgd"``, or ``"exact"`` (the certified
            exact y-step, eq. 10 or 11 with collision CE: its interior-point and face iterates,
            at most ``n_iter`` of them — it usually certifies 1e-9 in 10–30).
        objective: ``"eq11"`` (``λ KL(u‖ȳ)``) or ``"eq10"`` (``λ KL(ȳ‖u)``); PGD only.
        ce: ``"collision"`` or ``"shannon"`` (PGD only; ``"shannon"`` + ``"eq10"`` is MIADM's y-step).
        lr: PGD step η (default :func:`default_pgd_lr`, ``1/(λK)``).
        init: starting labels ``Y⁰`` (default σ).

    Returns:
        :class:`Trajectory` ``(iterates, history)``; for EM ``history`` never increases.
    """
    sig = _to_numpy(probs, "probs")
    if solver not in _SOLVERS:
        raise ValueError(f"solver={solver!r} is not valid; expected one of {_SOLVERS}")
    if ce not in _CES:
        raise ValueError(f"ce={ce!r} is not valid; expected one of {_CES}")
    if int(n_iter) < 0:
        raise ValueError(f"n_iter={n_iter} should be >= 0")
    if solver == "em" and (objective != "eq11" or ce != "collision"):
        raise ValueError(
            f"solver='em' minimizes eq. 11 with collision CE; got objective={objective!r}, ce={ce!r} (use solver='pgd')"
        )
    if solver == "exact":
        if ce != "collision":
            raise ValueError(f"solver='exact' minimizes eq. 10/11 with collision CE; got ce={ce!r}")
        iterates: list[np.ndarray] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = exact(
                sig,
                lam,
                objective=objective,
                prior=prior,
                max_iter=max(int(n_iter), 1),
                callback=lambda y: iterates.append(np.array(y, dtype=np.float64)),
            )
        # the record holds the best certified labels so far: up to where the returned ones were found
        end = int(np.argmax(np.asarray(res.gaps) <= res.gaps[-1])) + 1
        return Trajectory(iterates[:end], [float(h) for h in res.history[:end]])
    y = sig.copy() if init is None else _to_numpy(init, "init")
    if solver == "pgd" and lr is None:
        lr = default_pgd_lr(lam, sig.shape[1])

    def step(y: np.ndarray, iters: int) -> Any:
        if solver == "em":
            return em(sig, lam, prior=prior, init=y, max_iter=iters, tol=0.0)
        assert lr is not None  # defaulted above for pgd
        return pgd(sig, lam, objective=objective, ce=ce, lr=float(lr), prior=prior, init=y, max_iter=iters, tol=0.0)

    # The first call validates the problem and evaluates the objective at Y⁰.
    first = step(y, 1)
    iterates, history = [y / y.sum(1, keepdims=True)], [first.history[0]]
    if int(n_iter) >= 1:
        iterates.append(np.asarray(first.labels, dtype=np.float64))
        history.append(first.history[1])
    for _ in range(int(n_iter) - 1):
        res = step(iterates[-1], 1)
        iterates.append(np.asarray(res.labels, dtype=np.float64))
        history.append(res.history[1])
    return Trajectory(iterates, [float(h) for h in history])


def pca_plane(x: Any, *, seed: int = 0) -> tuple[np.ndarray, PCA]:
    """Project features ``x`` (N×D) onto their first two principal components.

    Returns ``(coords, pca)``: ``coords`` N×2 and the fitted scikit-learn ``PCA`` (its
    ``inverse_transform`` lifts plane points back to D dimensions, the plane through the mean).
    """
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = arr.reshape(len(arr), -1).astype(np.float64)
    pca = PCA(n_components=2, random_state=seed)
    return pca.fit_transform(arr), pca


@dataclass
class SelfLabelingSnapshot:
    """State after one epoch (epoch 0 = the initial network, before any training; its labels are σ).

    Attributes:
        epoch: epoch number.
        labels: pseudo-labels y used in this epoch's θ-step (N×K).
        probs: predictions σ after the θ-step (N×K).
        grid_probs: σ over the plane grid, shape ``(len(grid_y), len(grid_x), K)`` (row = y coordinate).
        sizes: points per cluster, ``bincount(argmax σ)`` (K ints).
        label_mass: soft label counts ``Σ_i y_ik`` (K floats).
        loss: network loss ``mean_i CE(y_i, σ_i)`` after the θ-step (nan at epoch 0).
        objective: y-step objective at the solver's labels (nan at epoch 0).
        acc, nmi: clustering scores of ``argmax σ`` (nan without ground truth).
    """

    epoch: int
    labels: np.ndarray
    probs: np.ndarray
    grid_probs: np.ndarray
    sizes: np.ndarray
    label_mass: np.ndarray
    loss: float
    objective: float
    acc: float
    nmi: float


@dataclass
class ToySelfLabelingResult:
    """Everything the pseudo-label page draws.

    Attributes:
        points: N×2 plane coordinates (the data itself, or its PCA projection for D > 2).
        y_true: ground-truth classes (N) or None.
        grid_x, grid_y: the decision-region grid axes over the plane.
        snapshots: one :class:`SelfLabelingSnapshot` per epoch, ``0 … epochs``.
        n_clusters: K.
        config: the arguments of the run (data, ce, method, λ, …).
    """

    points: np.ndarray
    y_true: Optional[np.ndarray]
    grid_x: np.ndarray
    grid_y: np.ndarray
    snapshots: list[SelfLabelingSnapshot]
    n_clusters: int
    config: dict[str, Any] = field(default_factory=dict)

    def relabeled(self, epoch: int = -1) -> "ToySelfLabelingResult":
        """The same run with its clusters renumbered by the classes they match, in every snapshot.

        The match is the Hungarian map cluster → class (most points agreeing) of ``argmax σ`` at
        ``epoch`` (default the last), applied to all snapshots, so a cluster keeps its number (and
        color) from frame to frame. With K ≥ C, cluster ``c`` is the one matched to class ``c`` and
        the clusters matched to no class are numbered ``C … K−1`` (largest first); with K < C the
        matched clusters are numbered in the order of their classes. Without ground truth the run
        is returned unchanged. ``config`` gains ``cluster_order`` (new number → network output),
        ``matched_class`` (new number → class or None) and ``class_cluster`` (class → new number of
        its cluster, or None).
        """
        if self.y_true is None:
            return self
        from scipy.optimize import linear_sum_assignment

        k = self.n_clusters
        pred = self.snapshots[epoch].probs.argmax(1)
        y = np.asarray(self.y_true, dtype=np.int64)
        c = int(y.max()) + 1
        counts = np.zeros((k, c))
        np.add.at(counts, (pred, y), 1.0)
        rows, cols = linear_sum_assignment(counts, maximize=True)
        matched = sorted(zip(cols.tolist(), rows.tolist()))  # (class, cluster), by class
        sizes = counts.sum(1)
        rest = sorted(set(range(k)) - set(rows.tolist()), key=lambda j: (-sizes[j], j))
        if k >= c:
            order = [0] * k
            for cls, clu in matched:
                order[cls] = clu
            for i, clu in enumerate(rest):
                order[c + i] = clu
        else:
            order = [clu for _, clu in matched] + rest
        new_of = {clu: i for i, clu in enumerate(order)}
        class_cluster = {int(cls): new_of[clu] for cls, clu in matched}
        idx = np.asarray(order)
        snaps = [
            SelfLabelingSnapshot(
                s.epoch,
                s.labels[:, idx],
                s.probs[:, idx],
                s.grid_probs[..., idx],
                s.sizes[idx],
                s.label_mass[idx],
                s.loss,
                s.objective,
                s.acc,
                s.nmi,
            )
            for s in self.snapshots
        ]
        config = {
            **self.config,
            "cluster_order": [int(j) for j in order],
            "matched_class": [next((cls for cls, j in class_cluster.items() if j == i), None) for i in range(k)],
            "class_cluster": [class_cluster.get(cls) for cls in range(c)],
        }
        return ToySelfLabelingResult(self.points, self.y_true, self.grid_x, self.grid_y, snaps, k, config)

    def class_colors(self) -> np.ndarray:
        """Color id of every class after :meth:`relabeled`: the number of the cluster matched to it,
        else ``K + i`` for the ``i``-th class matched to no cluster (K < C). Without ground truth or
        before relabeling: the class id itself."""
        if self.y_true is None:
            return np.zeros(0, dtype=np.int64)
        c = int(np.max(self.y_true)) + 1
        mapped = self.config.get("class_cluster")
        if mapped is None:
            return np.arange(c)
        out, spare = np.zeros(c, dtype=np.int64), self.n_clusters
        for cls, j in enumerate(mapped):
            if j is None:
                out[cls], spare = spare, spare + 1
            else:
                out[cls] = j
        return out

    def history_frame(self) -> pd.DataFrame:
        """Columns ``epoch, loss, objective, acc, nmi, method`` (one row per snapshot)."""
        return pd.DataFrame(
            {
                "epoch": [s.epoch for s in self.snapshots],
                "loss": [s.loss for s in self.snapshots],
                "objective": [s.objective for s in self.snapshots],
                "acc": [s.acc for s in self.snapshots],
                "nmi": [s.nmi for s in self.snapshots],
                "method": self.config.get("method", ""),
            }
        )

    def sizes_frame(self) -> pd.DataFrame:
        """Long frame ``epoch, cluster, size, label_mass, method`` (one row per epoch and cluster)."""
        rows = [
            (s.epoch, k, int(s.sizes[k]), float(s.label_mass[k]))
            for s in self.snapshots
            for k in range(self.n_clusters)
        ]
        df = pd.DataFrame(rows, columns=["epoch", "cluster", "size", "label_mass"])
        df["method"] = self.config.get("method", "")
        return df


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

    if ce not in _CES:
        raise ValueError(f"ce={ce!r} is not valid; expected one of {_CES}")
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


# ----------------------------------------------------------------------------------------------
# ours vs MIADM over seeds: does the choice of cross-entropy change the result?
# ----------------------------------------------------------------------------------------------

# Per-run scores of :func:`final_scores` and the paired ones of :func:`compare_self_labeling`.
SCORES: dict[str, str] = {
    "acc": "ACC",
    "nmi": "NMI",
    "label_entropy": "pseudo-label entropy mean_i H(y_i) (nats)",
    "pred_entropy": "prediction entropy mean_i H(σ_i) (nats)",
    "smallest": "smallest cluster #{i : argmax σ_i = k} / N",
    "empty": "empty clusters (no point has argmax σ_i = k)",
    "region_disagreement": "plane where the two methods' decision regions differ (fraction, ids matched)",
}
PAIRED = ("region_disagreement",)
ROBUST_AGREEMENT = 0.8  # a robust difference has the same sign in at least this fraction of the seeds


def mean_label_entropy(p: np.ndarray) -> float:  # also of predictions σ (any rows on the simplex)
    """``mean_i H(y_i)`` of pseudo-labels (N×K rows on the simplex), in nats: :func:`ccel_core.losses.entropy`."""
    from ..losses import entropy

    return float(entropy(torch.as_tensor(np.asarray(p, dtype=np.float64)), validate=False).mean())


def final_scores(result: ToySelfLabelingResult, epoch: int = -1) -> dict[str, float]:
    """The scores of one run at ``epoch`` (default the last): ACC, NMI, the mean entropy of the
    pseudo-labels y and of the predictions σ, the smallest cluster (fraction of N) and the number of
    empty clusters (both by ``argmax σ``)."""
    s = result.snapshots[epoch]
    n = max(len(s.probs), 1)
    return {
        "acc": float(s.acc),
        "nmi": float(s.nmi),
        "label_entropy": mean_label_entropy(s.labels),
        "pred_entropy": mean_label_entropy(s.probs),
        "smallest": float(s.sizes.min()) / n,
        "empty": float((s.sizes == 0).sum()),
    }


def region_disagreement(a: ToySelfLabelingResult, b: ToySelfLabelingResult, epoch: int = -1) -> float:
    """The fraction of the plane grid where ``argmax σ`` of two runs differ, after matching their
    cluster ids one-to-one (Hungarian, most agreeing cells), so a mere renaming of clusters is no
    difference. Both runs must share the grid (same data and ``grid_resolution``)."""
    from scipy.optimize import linear_sum_assignment

    ga = a.snapshots[epoch].grid_probs.argmax(-1).ravel()
    gb = b.snapshots[epoch].grid_probs.argmax(-1).ravel()
    if ga.shape != gb.shape:
        raise ValueError(f"the runs have different grids ({ga.size} vs {gb.size} cells)")
    k = max(a.n_clusters, b.n_clusters)
    counts = np.zeros((k, k))
    np.add.at(counts, (ga, gb), 1.0)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(1.0 - counts[rows, cols].sum() / max(ga.size, 1))


def compare_self_labeling(
    seeds: Sequence[int],
    *,
    progress: Optional[Callable[[int, int], Any]] = None,
    run: Optional[Callable[..., ToySelfLabelingResult]] = None,
    **settings: Any,
) -> pd.DataFrame:
    """Ours (``ce="collision"``) and MIADM (``ce="shannon"``) on the same data and network, per seed.

    ``settings`` are :func:`toy_self_labeling` keywords (``data``, ``k``, ``epochs``, ``lam``, …;
    not ``ce``/``seed``). Returns one row per (seed, ce): ``seed, ce`` and the :func:`final_scores`,
    plus the paired ``region_disagreement`` of that seed (the same on both of its rows).
    ``progress(done, total)`` is called after every run (``total = 2·len(seeds)``); ``run``
    replaces :func:`toy_self_labeling` (called with the same keywords, e.g. a cached version).
    """
    if "ce" in settings or "seed" in settings:
        raise ValueError("compare_self_labeling runs both ce and every seed itself; pass them as `seeds`")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; expected at least one seed")
    rows: list[dict[str, Any]] = []
    done = 0
    for seed in seeds:
        runs = {}
        for ce in _CES:
            runs[ce] = (run or toy_self_labeling)(ce=ce, seed=seed, **settings)
            done += 1
            if progress is not None:
                progress(done, 2 * len(seeds))
        disagreement = region_disagreement(runs["collision"], runs["shannon"])
        for ce, res in runs.items():
            rows.append({"seed": seed, "ce": ce, **final_scores(res), "region_disagreement": disagreement})
    return pd.DataFrame(rows)


def difference_summary(frame: pd.DataFrame, scores: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per score: each method's mean ± std over seeds and the paired difference ours − MIADM.

    ``frame`` from :func:`compare_self_labeling`. Columns ``score, collision mean, collision std,
    shannon mean, shannon std, diff mean, diff std, n, t, t_crit, sign_agreement, robust``: std with
    ddof = 1 (:mod:`ccel_core.summary`); ``t = diff mean / (diff std / √n)`` (paired t statistic; inf
    when every seed gives the same non-zero difference); ``t_crit`` the two-sided 95% critical value
    ``t₀.₉₇₅(n − 1)`` of Student's t; ``sign_agreement`` the fraction of seeds whose difference has the
    sign of the mean; ``robust``: ``|t| ≥ t_crit`` and ``sign_agreement ≥`` :data:`ROBUST_AGREEMENT`
    (the difference is beyond seed noise and not carried by a few seeds). Paired scores
    (``region_disagreement``) report their own mean ± std as the "diff" (0 would mean identical
    regions); their per-method columns are NaN.
    """
    from scipy.stats import t as student

    from ccel_core.summary import summarize

    wanted = list(scores) if scores is not None else [s for s in SCORES if s in frame.columns]
    wide = frame.pivot(index="seed", columns="ce")
    out = []
    for score in wanted:
        if score in PAIRED:
            d = wide[score]["collision"].to_numpy(dtype=float)
            a = b = summarize([])
        else:
            x = wide[score]["collision"].to_numpy(dtype=float)
            y = wide[score]["shannon"].to_numpy(dtype=float)
            d = x - y
            a, b = summarize(x), summarize(y)
        s = summarize(d)
        if s.n >= 2 and s.std > 0:
            t = s.mean / (s.std / np.sqrt(s.n))
        else:
            t = float("nan") if s.n < 2 or s.mean == 0 else float(np.sign(s.mean)) * float("inf")
        finite = d[np.isfinite(d)]
        agree = float(np.mean(np.sign(finite) == np.sign(s.mean))) if finite.size and s.mean != 0 else float("nan")
        t_crit = float(student.ppf(0.975, s.n - 1)) if s.n >= 2 else float("nan")
        out.append(
            {
                "score": score,
                "collision mean": a.mean,
                "collision std": a.std,
                "shannon mean": b.mean,
                "shannon std": b.std,
                "diff mean": s.mean,
                "diff std": s.std,
                "n": s.n,
                "t": t,
                "t_crit": t_crit,
                "sign_agreement": agree,
                "robust": bool(abs(t) >= t_crit and agree >= ROBUST_AGREEMENT),
            }
        )
    return pd.DataFrame(out)
