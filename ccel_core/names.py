"""The names the library offers — methods, losses, data sets, models — declared once, with no heavy import.

The modules that implement them (:mod:`ccel_core.objectives`, :mod:`ccel_core.data`,
:mod:`ccel_core.models`) import these tuples, and so do the places that only need the names:
:class:`~ccel_core.training.TrainConfig`'s validation, the ``ccel`` command's flags and help, the
explorer's choices. Importing this module imports neither torch nor scikit-learn, so ``ccel --help``
and ``ccel runs …`` start in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

__all__ = [
    "Method",
    "METHOD_TABLE",
    "METHOD",
    "METHODS",
    "SUPERVISED",
    "CES",
    "DEFAULTS",
    "SYNTHETIC",
    "VISION",
    "DATASETS",
    "MODELS",
]


@dataclass(frozen=True)
class Method:
    """One method, declared once: :data:`METHODS`, :data:`DEFAULTS`, ``make_objective``'s choices, the
    ``ccel`` command's choices and help, the app's forms, the paper tables' names and what a run's
    logged ``loss`` measures all derive from :data:`METHOD_TABLE`.

    ``ce``: the cross-entropy of the θ-step with the pseudo-labels (None: the method has none);
    ``fairness``: the y-step's balance term (eq. 11 ``λ KL(u‖ȳ)``, eq. 10 ``λ KL(ȳ‖u)``, or SeLa's
    equipartition constraint); ``exact``: ``y_solver="exact"`` solves its y-step with the certified exact
    solver; ``augmentation``: its loss always needs ``T(x)`` (pseudo-label methods only with β > 0)."""

    name: str
    paper: str  # its name in the paper's tables
    summary: str  # one line for help texts
    loss: str  # what its logged per-epoch "loss" (the θ-step's) measures: not comparable across methods
    params: Mapping[str, float] = field(default_factory=dict)  # paper defaults: λ, γ (MI), μ (IMSAT)
    ce: Optional[str] = None
    fairness: Optional[str] = None
    exact: bool = False
    augmentation: bool = False

    @property
    def pseudo_labels(self) -> bool:
        """Trains the network on pseudo-labels Y that a y-step updates."""
        return self.ce is not None


SUPERVISED = "supervised"
CES = ("collision", "shannon")  # the cross-entropies of the network step

METHOD_TABLE: tuple[Method, ...] = (
    Method("ccel", "Our", "ours: collision CE + λ KL(u‖ȳ) (eq. 11), exact y-step (--y-solver em: the paper's EM)",
           "collision CE to the pseudo-labels", {"lam": 100.0}, "collision", "eq11", exact=True),
    Method("ccel-eq10", "Our (eq. 10)", "ours with λ KL(ȳ‖u) (eq. 10), exact y-step (--y-solver em: PGD)",
           "collision CE to the pseudo-labels", {"lam": 100.0}, "collision", "eq10", exact=True),
    Method("miadm", "MIADM", "Shannon CE + λ KL(ȳ‖u) (eq. 5), y-step by PGD",
           "Shannon CE to the pseudo-labels", {"lam": 100.0}, "shannon", "eq10"),
    Method("sela", "SeLa", "Shannon CE with one-hot balanced labels (eq. 4), Sinkhorn on σ^λ",
           "Shannon CE to one-hot pseudo-labels", {"lam": 25.0}, "shannon", "equipartition"),
    Method("migd", "MIGD", "mutual information mean H(σ) − γ H(σ̄) by gradient (eq. 1)",
           "mean H(σ) − γ H(σ̄)", {"gamma": 1.3}),
    Method("imsat", "IMSAT", "augmentation consistency + λ (mean H(σ) − μ H(σ̄))",
           "R_SAT + λ (mean H(σ) − μ H(σ̄))", {"lam": 0.1, "mu": 4.0}, augmentation=True),
    Method("iic", "IIC", "invariant information clustering (mutual information of x and T(x))",
           "−I(z; z′) of x and T(x)", augmentation=True),
    Method("kmeans", "K-means", "scikit-learn's K-means on the inputs (one shot, no network)", "K-means inertia / N"),
    Method(SUPERVISED, "Supervised", "supervised training on the true labels (or given soft targets)",
           "CE to the targets"),
)  # fmt: skip
METHOD: dict[str, Method] = {m.name: m for m in METHOD_TABLE}

# the self-labeling methods (objectives.make_objective also takes "supervised") and their paper defaults
METHODS: tuple[str, ...] = tuple(m.name for m in METHOD_TABLE if m.name != SUPERVISED)
DEFAULTS: dict[str, dict[str, float]] = {m.name: dict(m.params) for m in METHOD_TABLE}

# data sets (data.load_dataset): synthetic 2-D sets, scikit-learn's digits, torchvision image sets, MNIST's test split
SYNTHETIC: tuple[str, ...] = ("blobs", "moons", "circles", "anisotropic")
VISION: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10", "cifar100-20", "stl10")
DATASETS: tuple[str, ...] = (*SYNTHETIC, "digits", *VISION, "mnist-test")

# network architectures (models.make_model)
MODELS: tuple[str, ...] = ("linear", "mlp", "vgg4", "vgg4-grey28", "vgg4-rgb32", "vgg4-rgb96", "resnet18")
