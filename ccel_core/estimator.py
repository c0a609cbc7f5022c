"""``CollisionClustering``: scikit-learn's clustering API over the :class:`~ccel_core.training.Trainer`.

    >>> from sklearn.datasets import load_digits
    >>> from ccel_core.estimator import CollisionClustering
    >>> X = load_digits().data / 16
    >>> labels = CollisionClustering(10, random_state=0).fit_predict(X)

The defaults are the paper's fixed-feature protocol (Table 2): a linear head (Kaiming init, zero
bias) on the features, SGD with lr 0.1, batch 250, 10 epochs, weight decay 0.001, and the
collision cross-entropy objective eq. 11 with λ = 100 whose pseudo-labels are solved per batch by the
certified exact y-step (:func:`ccel_core.solvers.exact`; ``y_solver="em"`` for the paper's EM).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .training.config import TrainConfig
from .training.constraints import check_number

__all__ = ["CollisionClustering"]

_PREDICT_BATCH = 4096


class CollisionClustering(ClusterMixin, BaseEstimator):
    """Self-labeled clustering with collision cross-entropy (Zhang & Boykov), scikit-learn style.

    A network ``f_θ`` (default: one linear layer) maps each row of ``X`` to cluster probabilities
    ``σ = softmax(f_θ(x))``; training alternates pseudo-label steps (for ``method="ccel"``: the
    certified exact minimizer of ``mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ)``, paper eq. 11) and SGD steps on
    ``mean_i H₂(y_i, σ_i)``. Clusters of new points come from the trained network, so
    :meth:`predict` works on data not seen in :meth:`fit`.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters K.
    method : str, default="ccel"
        ``"ccel"`` (ours, eq. 11), ``"ccel-eq10"`` (eq. 10), ``"miadm"``, ``"sela"``,
        ``"migd"`` (mutual information), ``"imsat"``, ``"iic"`` or ``"kmeans"`` (scikit-learn's
        k-means, no network).
    model : str, default="linear"
        ``"linear"`` (the paper's head on fixed features) or ``"mlp"`` (one hidden layer of
        ``hidden`` units).
    lam : float or None, default=None
        The method's weight λ; None takes the paper value of the method (100 for ``"ccel"``,
        ``"ccel-eq10"`` and ``"miadm"``, 25 for ``"sela"``, 0.1 for ``"imsat"``). Methods without
        a λ (``"migd"``, ``"iic"``, ``"kmeans"``) need None.
    lr : float, default=0.1
        Learning rate.
    batch_size : int, default=250
        Batch size (the data are split into ``ceil(N / batch_size)`` nearly equal batches).
    epochs : int, default=10
        Passes over the data.
    weight_decay : float, default=0.001
        L2 weight decay.
    optimizer : {"sgd", "adam"}, default="sgd"
    momentum : float, default=0.0
        SGD momentum.
    hidden : int, default=256
        Hidden width of ``model="mlp"``.
    y_step : {"batch", "full"}, default="batch"
        Pseudo-labels solved per batch (the paper's protocol) or once per epoch on all of X.
    y_solver : {"exact", "em"}, default="exact"
        The y-step of ``"ccel"`` / ``"ccel-eq10"``: the certified exact solver, or the paper's EM
        (eq. 11; PGD for eq. 10).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the network initialization, the batch order and any augmentation. An int is used
        as the trainer's seed (so ``random_state=s`` matches ``ccel fit --seed s``); otherwise a
        seed is drawn once per :meth:`fit`. Given an int, fitting is deterministic on CPU.
    verbose : bool, default=False
        Print the metrics of every epoch.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training row (``argmax`` of ``cluster_probs_``).
    cluster_probs_ : ndarray of shape (n_samples, n_clusters)
        ``σ`` of the trained network on the training rows (rows sum to 1).
    pseudo_labels_ : ndarray of shape (n_samples, n_clusters) or None
        The final pseudo-labels ``Y`` (None for methods without them).
    history_ : list of dict
        The trainer's metrics of every epoch (``loss``, ``label_loss``, ``cluster_sizes``, …).
    n_iter_ : int
        Epochs run.
    model_ : torch.nn.Module or None
        The trained network (in eval mode; None for ``method="kmeans"``).
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Only for ``method="kmeans"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.

    Notes
    -----
    Input validation happens in :meth:`fit` (``ValueError`` naming the value, e.g.
    ``n_samples=5 should be >= n_clusters=8``); ``__init__`` only stores the arguments. Sparse
    input is not accepted and NaN/Inf are rejected.

    Tags (``__sklearn_tags__``): the defaults of a clusterer. The estimator is deterministic
    given an int ``random_state`` (``non_deterministic=False``), so scikit-learn's idempotence,
    pickling and invariance checks all apply; clusters are not guaranteed to be non-empty in
    general (a clustering property, not an API one), but the fairness term of the default method
    keeps them balanced on the data ``check_estimator`` uses.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = TrainConfig.method,  # the training defaults are TrainConfig's
        model: str = TrainConfig.model,
        lam: Optional[float] = TrainConfig.lam,
        lr: float = TrainConfig.lr,
        batch_size: int = TrainConfig.batch_size,
        epochs: int = TrainConfig.epochs,
        weight_decay: float = TrainConfig.weight_decay,
        optimizer: str = TrainConfig.optimizer,
        momentum: float = TrainConfig.momentum,
        hidden: int = TrainConfig.hidden,
        y_step: str = TrainConfig.y_step,
        y_solver: str = TrainConfig.y_solver,
        device: str = "cpu",  # not TrainConfig's "auto": an estimator stays on the CPU unless asked
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.model = model
        self.lam = lam
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.momentum = momentum
        self.hidden = hidden
        self.y_step = y_step
        self.y_solver = y_solver
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):  # noqa: D105 - see the class docstring
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------------------------------
    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            from .training.config import SEED_LIMIT

            seed = int(rs)
            if not 0 <= seed < SEED_LIMIT:
                raise ValueError(
                    f"random_state={rs} should be >= 0 and < 2**{SEED_LIMIT.bit_length() - 1} (the trainer's seed range)"
                )
            return seed
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _config(self, seed: int, k: int) -> Any:
        if self.model not in ("linear", "mlp"):
            raise ValueError(f"model={self.model!r} should be 'linear' or 'mlp' (feature matrices)")
        return TrainConfig(
            data="file:<array>",
            method=self.method,
            model=self.model,
            hidden=self.hidden,
            n_clusters=int(k),
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            lam=self.lam,
            y_step=self.y_step,
            y_solver=self.y_solver,
            seed=seed,
            device=self.device,
        )

    def fit(self, X: Any, y: Any = None) -> "CollisionClustering":
        """Train on ``X`` (n_samples, n_features); ``y`` is ignored."""
        import torch

        from .data import Dataset
        from .objectives import KMeansClustering
        from .training import Trainer

        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n = X.shape[0]
        k = check_number("n_clusters", self.n_clusters, TrainConfig.bounds("n_clusters"))  # TrainConfig's rule
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}")
        _check_range(X)
        config = self._config(self._seed(), k)
        dataset = Dataset(
            "array", torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), None, int(k), "features"
        )
        trainer = Trainer(config, dataset=dataset)
        trainer.run(self._echo if self.verbose else None)
        if trainer.model is not None:
            self.model_: Optional[torch.nn.Module] = trainer.model.eval()
        else:
            self.model_ = None
            objective = trainer.objective  # built from the config: k-means, the one method without a network
            assert isinstance(objective, KMeansClustering) and objective.centers is not None
            self.cluster_centers_ = objective.centers.numpy().astype(np.float64)
        self.history_ = [dict(m) for m in trainer.history]
        self.n_iter_ = int(trainer.epoch)
        self.pseudo_labels_ = None if trainer.labels is None else trainer.labels.cpu().numpy()
        self.cluster_probs_ = self._proba(X)
        self.labels_ = self.cluster_probs_.argmax(1).astype(np.int64)
        return self

    @staticmethod
    def _echo(metrics: dict) -> None:
        shown = {k: v for k, v in metrics.items() if k != "cluster_sizes" and v is not None}
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if self.model_ is None:
            centers = torch.from_numpy(self.cluster_centers_)
            dist = torch.cdist(x.double(), centers)
            out = torch.nn.functional.one_hot(dist.argmin(1), len(centers)).double()
            return out.numpy()
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            parts = [
                torch.softmax(self.model_(x[i : i + _PREDICT_BATCH].to(device)).double(), 1).cpu()
                for i in range(0, len(x), _PREDICT_BATCH)
            ]
        probs = torch.cat(parts).numpy() if parts else np.zeros((0, self.n_clusters))
        return probs / probs.sum(1, keepdims=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Cluster probabilities σ of the trained network, shape (n_samples, n_clusters); one-hot
        nearest-center assignments for ``method="kmeans"``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        _check_range(X)
        probs = self._proba(X)
        bad = ~np.isfinite(probs).all(1)
        if bad.any():  # a network overflows on inputs far outside what it was fit on: no silent NaN
            raise ValueError(
                f"the network's outputs are not finite for {int(bad.sum())} of {len(X)} rows of X (max |x| there "
                f"= {np.abs(X[bad]).max():.3g}); scale X as the data it was fit on"
            )
        return probs

    def predict(self, X: Any) -> np.ndarray:
        """The cluster of every row: ``argmax_k σ_k`` (int64)."""
        return self.predict_proba(X).argmax(1).astype(np.int64)


def _check_range(X: np.ndarray) -> None:
    """The network computes in float32: ``X`` must fit it (``ValueError`` naming the largest |x|)."""
    if np.abs(X).max(initial=0.0) > np.finfo(np.float32).max:
        raise ValueError(f"X exceeds the float32 range (max |x| = {np.abs(X).max():.3g})")
