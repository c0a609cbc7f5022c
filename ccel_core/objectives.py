"""Self-labeling objectives (docs/math.md §3) behind one small interface, and their y-step solvers.

Notation: logits ``l_i``, predictions ``σ_i = softmax(l_i)``, pseudo-labels ``y_i ∈ Δ_K``,
``σ̄ = mean_i σ_i``, ``ȳ = mean_i y_i``, prior ``u`` (uniform 1/K), ``T(x)`` a random augmentation.

============  =========================================================  ===========================
method        θ-step loss on a batch (``network_loss``)                  y-step (``Solver``)
============  =========================================================  ===========================
ccel          ``mean H₂(y_i,σ_i) [+ β mean H₂(y_i,σ(T x_i))]``           exact eq. 11 (or EM), λ=100
ccel-eq10     same                                                       exact eq. 10 (or PGD), λ=100
miadm         ``mean H(y_i,σ_i) [+ β …]`` (Shannon)                      PGD, Shannon eq. 10
sela          ``mean H(y_i,σ_i) [+ β …]`` (Shannon, one-hot y)           Sinkhorn on σ^λ, λ=25
migd          ``mean H(σ_i) − γ H(σ̄)``, γ=1.3 (MI / RIM, eq. 1)         none
imsat         ``R_SAT + λ (mean H(σ_i) − μ H(σ̄))``, λ=0.1, μ=4          none
iic           ``−Σ_ab P_ab ln(P_ab / (P_a P_b))``                        none
kmeans        scikit-learn ``KMeans(n_init=10)`` on the flattened inputs  (one shot, no network)
supervised    ``mean CE(y_i, σ_i)`` on caller-given soft targets         none (targets fixed)
============  =========================================================  ===========================

``label_loss(σ, Y)`` is the y-step objective (for logging):
eq. 11 ``mean H₂(y_i,σ_i) + λ KL(u‖ȳ)``; eq. 10 ``mean H₂(y_i,σ_i) + λ KL(ȳ‖u)``;
MIADM (eq. 5) ``mean H(y_i,σ_i) + λ KL(ȳ‖u)``; SeLa (eq. 4) ``mean H(y_i,σ_i)`` (ȳ = u is a
constraint); supervised ``mean CE(y_i,σ_i)``. Methods without pseudo-labels return NaN.

Ours' y-step is by default the certified exact solver (:func:`~ccel_core.solvers.exact`,
``y_solver="exact"``); ``y_solver="em"`` gives the paper's EM (eq. 11) and PGD (eq. 10).
MIADM's y-step is solved *exactly* (up to ``tol``) by projected gradient descent on the convex
eq. 5 (``pgd(objective="eq10", ce="shannon")``), not by the approximate solver the paper cites.
PGD's step is ``1/(λK)`` by default: the fairness term's curvature along the direction that moves
every row alike is ``λ/ȳ_k ≈ λK`` (for ``N·L``), so steps above ``2/(λK)`` oscillate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._hints import suggest
from .losses import collision_cross_entropy, shannon_cross_entropy
from .names import CES, DEFAULTS, METHOD, METHODS, SUPERVISED
from .solvers import SolverResult, em, exact, label_objective, pgd, sinkhorn
from .solvers.em import positive_start

__all__ = [
    "METHODS",
    "SUPERVISED",
    "DEFAULTS",
    "Objective",
    "SelfLabeling",
    "Supervised",
    "MutualInformation",
    "IMSAT",
    "IIC",
    "KMeansClustering",
    "Solver",
    "SolverFn",
    "make_objective",
    "make_solver",
]

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


# ------------------------------------------------------------------------------------------
# objectives
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# y-step solvers with their parameters bound
# ------------------------------------------------------------------------------------------
# Any y-step: ``labels = solver(probs, init)`` (N×K in, N×K rows on the simplex out).
SolverFn = Callable[[Tensor, Optional[Tensor]], Tensor]


@dataclass
class Solver:
    """A y-step ``labels = solver(probs, init)`` with the method's parameters bound.

    ``kind`` is "em", "exact", "pgd" or "sinkhorn"; ``params`` are the keyword arguments of that function
    (:mod:`ccel_core.solvers`). Labels come back in float64 on ``probs``' device. Where it runs:

    * small problems (fewer than ``device_min_entries`` = N·K values, e.g. every per-batch
      y-step) on CPU numpy — for a batch of 250×10 and 20 iterations the numba EM kernel took
      about 2 ms, the vectorized torch kernel 66 ms on the same CPU, and a GPU kernel launch per
      elementwise op costs more than the whole numba step; moving N×K values is negligible;
    * larger problems whose ``probs`` live on an accelerator (full-data y-steps on a GPU) on
      that device, with the solver's torch path (``device_min_entries=0``: always on the device);
    * data-parallel EM (``all_reduce``) always on the device, each process with its own rows.

    EM warm starts are floored at 1e-8 and renormalized, so every class stays reachable (EM's
    updates are multiplicative; paper Property 1 needs a positive start). ``last`` holds the
    latest :class:`~ccel_core.solvers.SolverResult`. ``start="predictions"`` ignores the stored
    labels (EM / PGD then start from σ); the exact y-step always does: its answer does not depend on
    the start, and the previous batch's class multipliers are no useful warm start (measured: their
    face certifies 0.5–30 on the next batch, so ``exact``'s ``duals=`` is not used here).
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    last: Optional[SolverResult] = field(default=None, repr=False)
    objective_value: Optional[float] = field(default=None, repr=False)
    device_min_entries: int = 200_000
    start: str = "stored"
    validate: bool = True  # the solvers' input checks; the trainer's own solvers run without them

    @property
    def uses_init(self) -> bool:
        """Whether a warm start changes the result (Sinkhorn ignores it)."""
        return self.kind not in ("sinkhorn", "exact") and self.start == "stored"

    def __call__(
        self, probs: Tensor, init: Optional[Tensor] = None, all_reduce: Optional[Callable[[Tensor], Tensor]] = None
    ) -> Tensor:
        """Solve (see the class docstring for where); ``all_reduce``: data-parallel EM only."""
        if all_reduce is not None and self.kind != "em":
            raise ValueError(
                f"all_reduce is only supported by the EM y-step, not {self.kind!r}; gather the rows instead"
            )
        torch_path = all_reduce is not None or (probs.device.type != "cpu" and probs.numel() >= self.device_min_entries)
        p = probs.detach().double() if torch_path else probs.detach().double().cpu().numpy()
        y0 = None
        if init is not None and self.uses_init:
            y0 = init.detach().double() if torch_path else init.detach().double().cpu().numpy()
            y0 = positive_start(y0) if self.kind == "em" else y0 / y0.sum(1, keepdims=True)  # type: ignore[call-overload]  # torch takes numpy's keepdims= too
        if self.kind == "em":
            res = em(p, init=y0, all_reduce=all_reduce, validate=self.validate, **self.params)
        elif self.kind == "exact":
            res = exact(p, validate=self.validate, **self.params)
        elif self.kind == "pgd":
            res = pgd(p, init=y0, validate=self.validate, **self.params)
        else:
            res = sinkhorn(p, validate=self.validate, **self.params)
        self.last = res
        # the exact y-step's P(Y) of the labels it returns (eq. 10/11 with this solver's λ and uniform
        # u, the same as the objective's label_loss): the trainer takes it instead of re-evaluating
        self.objective_value = float(res.history[-1]) if self.kind == "exact" and res.history else None
        labels = res.labels if isinstance(res.labels, Tensor) else torch.from_numpy(np.asarray(res.labels))
        return labels.to(probs.device)


# fmt: off
def make_solver(method: str, n_clusters: int, *, lam: float, max_iter: int = 1000, tol: Optional[float] = None,
                lr: Optional[float] = None, accelerate: bool = True, y_solver: str = "exact",
                y_init: str = "stored") -> Optional[Solver]:
    # fmt: on
    """The y-step solver of ``method`` (None for methods without one); ``accelerate``: SQUAREM-
    accelerated EM for ``ccel`` (same optimum, several times fewer steps; see :func:`em`);
    ``y_solver="exact"``: the certified exact y-step for ``ccel`` and ``ccel-eq10``; ``y_init``:
    "stored" (warm start from the stored labels) or "predictions" (start from σ)."""
    tol_kw = {} if tol is None else {"tol": float(tol)}
    spec = METHOD[method]
    if y_solver == "exact" and spec.exact:
        return Solver(
            "exact",
            {"lam": lam, "objective": spec.fairness, "max_iter": max_iter, "tol": float(tol) if tol is not None else 1e-8},
        )
    if method == "ccel":
        return Solver("em", {"lam": lam, "max_iter": max_iter, "accelerate": bool(accelerate), **tol_kw}, start=y_init)
    if method in ("ccel-eq10", "miadm"):
        step = lr if lr is not None else 1.0 / max(lam * n_clusters, 1.0)
        ce = "collision" if method == "ccel-eq10" else "shannon"
        return Solver(
            "pgd", {"lam": lam, "objective": "eq10", "ce": ce, "lr": step, "max_iter": max_iter, **tol_kw}, start=y_init
        )
    if method == "sela":
        return Solver("sinkhorn", {"lam": lam, "hard": True, "max_iter": max_iter, **tol_kw})
    return None


# fmt: off
def make_objective(method: str, n_clusters: int, *, lam: Optional[float] = None, gamma: Optional[float] = None,
                   mu: Optional[float] = None, beta: float = 0.0, loss: Optional[str] = None, max_iter: int = 1000,
                   tol: Optional[float] = None, lr: Optional[float] = None, accelerate: bool = True,
                   y_solver: str = "exact", y_init: str = "stored") -> tuple[Objective, Optional[Solver]]:
    # fmt: on
    """Build ``(objective, solver)`` for a method name; the solver is None without a y-step.

    Args:
        method: one of :data:`METHODS` or ``"supervised"``.
        n_clusters: K.
        lam, gamma, mu: method parameters; None takes the paper default (:data:`DEFAULTS`).
            Passing one the method does not use raises ``ValueError``.
        beta: self-augmentation weight of the pseudo-label methods (0: off).
        loss: "collision" or "shannon", only for ``"supervised"`` (default "collision").
        max_iter, tol: the y-step solver's stopping rule (``tol=None``: the solver's default).
        lr: PGD step (ccel-eq10, miadm); default ``1/(λK)``.
        accelerate: SQUAREM acceleration of ours' EM y-step (``em(accelerate=True)``).
        y_solver: "exact" (:func:`~ccel_core.solvers.exact` for ccel and ccel-eq10, the default)
            or "em" (the paper's solvers: EM for eq. 11, PGD for eq. 10).
        y_init: "stored" or "predictions": where EM / PGD y-steps start.
    """
    key = str(method).strip().lower()
    known = (*METHODS, SUPERVISED)
    if key not in known:
        raise ValueError(f"unknown method {method!r}{suggest(key, known)}; known methods: {', '.join(known)}")
    if isinstance(n_clusters, bool) or int(n_clusters) != n_clusters or n_clusters < 1:
        raise ValueError(f"n_clusters={n_clusters!r} should be an integer >= 1")
    given = {"lam": lam, "gamma": gamma, "mu": mu}
    for name, value in given.items():
        if value is None:
            continue
        if name not in DEFAULTS[key]:
            users = [m for m, d in DEFAULTS.items() if name in d]
            raise ValueError(f"{name}={value!r} is not used by method={key!r} (only by {', '.join(users)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r} should be a finite number >= 0")
    p = {**DEFAULTS[key], **{k: float(v) for k, v in given.items() if v is not None}}
    if key == "sela" and p["lam"] <= 0:
        raise ValueError(f"lam={p['lam']!r} should be > 0 for sela (the power of σ^λ)")
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta={beta!r} should be a finite number >= 0")
    if beta and not METHOD[key].pseudo_labels:
        raise ValueError(
            f"beta={beta!r} is the self-augmentation weight of pseudo-label methods; method={key!r} takes none"
        )
    if loss is not None and key != SUPERVISED:
        raise ValueError(f"loss={loss!r} is only for method='supervised'; method={key!r} fixes its own CE")
    k = int(n_clusters)
    if key == SUPERVISED:
        ce = "collision" if loss is None else loss
        if ce not in CES:
            raise ValueError(f"loss={loss!r} should be one of {CES}")
        return Supervised(ce), None
    if key == "migd":
        return MutualInformation(p["gamma"]), None
    if key == "imsat":
        return IMSAT(p["lam"], p["mu"]), None
    if key == "iic":
        return IIC(), None
    if key == "kmeans":
        return KMeansClustering(k), None
    spec = METHOD[key]
    assert spec.ce is not None and spec.fairness is not None  # the pseudo-label methods are left
    objective = SelfLabeling(key, spec.ce, spec.fairness, p["lam"], float(beta))
    return objective, make_solver(
        key, k, lam=p["lam"], max_iter=max_iter, tol=tol, lr=lr, accelerate=accelerate, y_solver=y_solver, y_init=y_init
    )
