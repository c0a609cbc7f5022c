"""The θ-step objectives: what the trainer asks of a method, and each method's network loss.

Notation: logits ``l_i``, predictions ``σ_i = softmax(l_i)``, pseudo-labels ``y_i ∈ Δ_K``,
``σ̄ = mean_i σ_i``, ``ȳ = mean_i y_i``, prior ``u`` (uniform 1/K), ``T(x)`` a random augmentation.

* :class:`SelfLabeling` (ccel, ccel-eq10, miadm, sela): ``mean H₂(y_i,σ_i)`` or ``mean H(y_i,σ_i)``
  ``[+ β mean CE(y_i,σ(T x_i))]``; :class:`Supervised`: ``mean CE(y_i, σ_i)`` on fixed targets.
* :class:`MutualInformation` (migd): ``mean H(σ_i) − γ H(σ̄)``.
* :class:`IMSAT`: ``R_SAT + λ (mean H(σ_i) − μ H(σ̄))``.
* :class:`IIC`: ``−Σ_ab P_ab ln(P_ab / (P_a P_b))``.
* :class:`KMeansClustering`: one-shot k-means on the flattened inputs (no network).

``label_loss(σ, Y)`` is the y-step objective (for logging):
eq. 11 ``mean H₂(y_i,σ_i) + λ KL(u‖ȳ)``; eq. 10 ``mean H₂(y_i,σ_i) + λ KL(ȳ‖u)``;
MIADM (eq. 5) ``mean H(y_i,σ_i) + λ KL(ȳ‖u)``; SeLa (eq. 4) ``mean H(y_i,σ_i)`` (ȳ = u is a
constraint); supervised ``mean CE(y_i,σ_i)``. Methods without pseudo-labels return NaN.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..losses import collision_cross_entropy, shannon_cross_entropy
from ..names import CES, SUPERVISED
from ..solvers import label_objective

__all__ = ["Objective", "SelfLabeling", "Supervised", "MutualInformation", "IMSAT", "IIC", "KMeansClustering"]

_EPS = 1e-12  # floor inside logs of marginals (IIC's P, σ̄): finite loss and gradient on any batch


def _ce(name: str) -> Callable[..., Tensor]:
    return collision_cross_entropy if name == "collision" else shannon_cross_entropy


def _mean_entropy(logits: Tensor) -> Tensor:
    """``mean_i H(σ_i)`` from log-softmax (finite gradient even where σ underflows to 0)."""
    logp = torch.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(1).mean()


def _collision_rows(p: Tensor, y: Tensor) -> Tensor:
    """``−ln(σ_i·y_i)`` per row in float64 (probabilities, not logits)."""
    return -(p * y).sum(1).clamp_min(1e-300).log()


def _shannon_rows(p: Tensor, y: Tensor) -> Tensor:
    """``−Σ_k y_ik ln σ_ik`` per row in float64 (``0 ln 0 = 0``)."""
    return -(torch.where(y > 0, y * p.clamp_min(1e-300).log(), 0.0)).sum(1)


def _marginal_entropy(logits: Tensor) -> Tensor:
    """``H(σ̄) = −Σ_k σ̄_k ln σ̄_k`` with ``ln`` floored at ``ln 1e-12``."""
    pbar = torch.softmax(logits, dim=1).mean(0)
    return -(pbar * pbar.clamp_min(_EPS).log()).sum()


class Objective:
    """What the trainer needs to know about a method.

    Attributes:
        name: the method name.
        uses_pseudo_labels: the θ-step takes per-sample targets ``y_i`` (kept N×K by the trainer).
        needs_augmentation: ``network_loss`` wants ``logits_aug = f(T(x))`` for the same batch.
        trains_network: False for one-shot methods (k-means), which implement ``fit_predict``.
        supervised: clusters are the classes (score plain accuracy, no Hungarian map).
        validate: the losses check their inputs (finite logits, targets on the simplex); the
            trainer turns this off for objectives it builds, whose targets come from its own
            solvers, so the θ-step makes no host synchronization for checks.
    """

    name: str = "objective"
    uses_pseudo_labels: bool = False
    needs_augmentation: bool = False
    trains_network: bool = True
    supervised: bool = False
    validate: bool = True

    def network_loss(
        self, logits: Tensor, logits_aug: Optional[Tensor] = None, targets: Optional[Tensor] = None
    ) -> Tensor:
        """The θ-step loss of one batch (a scalar tensor)."""
        raise NotImplementedError

    def label_loss(
        self, probs: Tensor, labels: Optional[Tensor], all_reduce: Optional[Callable[[Tensor], Tensor]] = None
    ) -> float:
        """The y-step objective for predictions ``probs`` and pseudo-labels ``labels`` (NaN if none);
        ``all_reduce`` sums statistics over data-parallel processes."""
        return math.nan

    def _need_aug(self, logits: Tensor, logits_aug: Optional[Tensor]) -> Tensor:
        if logits_aug is None:
            raise ValueError(f"{self.name} needs logits_aug (the predictions on T(x)); got None")
        if logits_aug.shape != logits.shape:
            raise ValueError(
                f"logits_aug shape={tuple(logits_aug.shape)} differs from logits shape={tuple(logits.shape)}"
            )
        return logits_aug

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class SelfLabeling(Objective):
    """Pseudo-label methods: θ-step ``mean_i CE(y_i, σ_i) + β mean_i CE(y_i, σ(T(x_i)))``.

    Args:
        name: "ccel" (eq. 11), "ccel-eq10", "miadm" (eq. 5) or "sela" (eq. 4).
        ce: "collision" (``H₂``) or "shannon" (``H``) in the θ-step and in ``label_loss``.
        fairness: "eq11" (``λ KL(u‖ȳ)``), "eq10" (``λ KL(ȳ‖u)``) or "equipartition" (SeLa, none).
        lam: λ >= 0.
        beta: self-augmentation weight β >= 0 (0: off, no T(x) needed).

    The prior u is uniform, as in the solvers built by :func:`make_objective`.
    """

    uses_pseudo_labels = True

    def __init__(self, name: str, ce: str, fairness: str, lam: float, beta: float = 0.0) -> None:
        if ce not in CES:
            raise ValueError(f"ce={ce!r} should be one of {CES}")
        if fairness not in ("eq11", "eq10", "equipartition"):
            raise ValueError(f"fairness={fairness!r} should be 'eq11', 'eq10' or 'equipartition'")
        self.name, self.ce, self.fairness = name, ce, fairness
        self.lam, self.beta = float(lam), float(beta)
        self.needs_augmentation = self.beta > 0

    def network_loss(
        self, logits: Tensor, logits_aug: Optional[Tensor] = None, targets: Optional[Tensor] = None
    ) -> Tensor:
        if targets is None:
            raise ValueError(f"{self.name} needs targets (pseudo-labels N×K); got None")
        ce = _ce(self.ce)
        loss = ce(logits, targets, validate=self.validate)
        if self.beta > 0:
            loss = loss + self.beta * ce(self._need_aug(logits, logits_aug), targets, validate=self.validate)
        return loss

    def label_loss(
        self, probs: Tensor, labels: Optional[Tensor], all_reduce: Optional[Callable[[Tensor], Tensor]] = None
    ) -> float:
        """``mean_i CE(y_i, σ_i) + λ KL`` over the rows; with ``all_reduce`` (data-parallel) over
        the rows of every process, from one all-reduce of (Σ CE, Σ_i y_i, N)."""
        if labels is None:
            return math.nan
        p = probs.detach().double()
        y = labels.detach().double().to(p.device)
        rows = (_collision_rows if self.ce == "collision" else _shannon_rows)(p, y)
        stats = torch.cat(
            [rows.sum().reshape(1), y.sum(0), torch.tensor([float(len(y))], dtype=torch.float64, device=p.device)]
        )
        if all_reduce is not None:
            all_reduce(stats)
        n = float(stats[-1])
        if n == 0:
            return math.nan
        if self.fairness == "equipartition":  # SeLa: ȳ = u is a constraint, not a term
            return float(stats[0]) / n
        u = torch.full((p.shape[1],), 1.0 / p.shape[1], dtype=torch.float64, device=p.device)
        return label_objective(float(stats[0]), n, stats[1:-1], self.lam, u, self.fairness)


class Supervised(SelfLabeling):
    """Training on fixed caller-given soft targets: ``mean_i CE(y_i, σ_i)`` (no y-step)."""

    supervised = True

    def __init__(self, ce: str = "collision") -> None:
        super().__init__(SUPERVISED, ce, "equipartition", 0.0)


class MutualInformation(Objective):
    """MI / RIM loss (eq. 1, "MIGD"): ``mean_i H(σ_i) − γ H(σ̄)`` on the batch, trained by gradient."""

    name = "migd"

    def __init__(self, gamma: float = 1.3) -> None:
        self.gamma = float(gamma)

    def network_loss(
        self, logits: Tensor, logits_aug: Optional[Tensor] = None, targets: Optional[Tensor] = None
    ) -> Tensor:
        return _mean_entropy(logits) - self.gamma * _marginal_entropy(logits)


class IMSAT(Objective):
    """IMSAT: ``R_SAT + λ (mean_i H(σ_i) − μ H(σ̄))`` with the augmentation form of self-augmented
    training ``R_SAT = mean_i KL(σ(x_i)‖σ(T(x_i)))``, the first argument detached."""

    name = "imsat"
    needs_augmentation = True

    def __init__(self, lam: float = 0.1, mu: float = 4.0) -> None:
        self.lam, self.mu = float(lam), float(mu)

    def network_loss(
        self, logits: Tensor, logits_aug: Optional[Tensor] = None, targets: Optional[Tensor] = None
    ) -> Tensor:
        logits_aug = self._need_aug(logits, logits_aug)
        logp = torch.log_softmax(logits.detach(), dim=1)
        logq = torch.log_softmax(logits_aug, dim=1)
        r_sat = (logp.exp() * (logp - logq)).sum(1).mean()
        return r_sat + self.lam * (_mean_entropy(logits) - self.mu * _marginal_entropy(logits))


class IIC(Objective):
    """Invariant information clustering: with ``P = mean_i σ(x_i) σ(T(x_i))ᵀ`` symmetrized
    ``(P + Pᵀ)/2`` and marginals ``P_a = Σ_b P_ab``, minimize ``−Σ_ab P_ab (ln P_ab − ln P_a − ln P_b)``
    (minus the mutual information of the paired cluster assignments). ``P`` and the marginals are
    floored at 1e-12 inside the logs, so the loss and its gradient stay finite on any batch."""

    name = "iic"
    needs_augmentation = True

    def network_loss(
        self, logits: Tensor, logits_aug: Optional[Tensor] = None, targets: Optional[Tensor] = None
    ) -> Tensor:
        logits_aug = self._need_aug(logits, logits_aug)
        p = torch.softmax(logits, dim=1)
        q = torch.softmax(logits_aug, dim=1)
        joint = p.t() @ q / p.shape[0]
        joint = (joint + joint.t()) / 2
        pa = joint.sum(1, keepdim=True)
        pb = joint.sum(0, keepdim=True)
        log = lambda t: t.clamp_min(_EPS).log()  # noqa: E731
        return -(joint * (log(joint) - log(pa) - log(pb))).sum()


class KMeansClustering(Objective):
    """K-means (scikit-learn ``KMeans(n_clusters, n_init=10, random_state=seed)``) on the flattened
    inputs: a one-shot method without a network. ``fit_predict`` returns one-hot assignments."""

    name = "kmeans"
    trains_network = False

    def __init__(self, n_clusters: int) -> None:
        self.n_clusters = int(n_clusters)
        self.centers: Optional[Tensor] = None
        self.inertia: float = math.nan

    def fit_predict(self, x: Tensor, seed: int = 0) -> Tensor:
        """Fit on ``x`` (N, …) and return one-hot assignments (N×K, float32, on CPU)."""
        from sklearn.cluster import KMeans

        feats = x.detach().reshape(len(x), -1).cpu().double().numpy()
        km = KMeans(n_clusters=self.n_clusters, n_init=10, random_state=int(seed)).fit(feats)
        self.centers = torch.from_numpy(km.cluster_centers_)
        self.inertia = float(km.inertia_)
        return F.one_hot(torch.from_numpy(km.labels_.astype(np.int64)), self.n_clusters).float()

    def predict_proba(self, x: Tensor) -> Tensor:
        """One-hot nearest-center assignments of ``x`` (N×K float32, on ``x``'s device)."""
        if self.centers is None:
            raise RuntimeError("KMeansClustering is not fitted; call fit_predict first")
        feats = x.detach().reshape(len(x), -1).double()
        dist = torch.cdist(feats, self.centers.to(feats.device))
        return F.one_hot(dist.argmin(1), self.n_clusters).float()
