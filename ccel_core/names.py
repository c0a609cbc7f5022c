"""The names the library offers — methods, losses, data sets, models — declared once, with no heavy import.

The modules that implement them (:mod:`ccel_core.objectives`, :mod:`ccel_core.data`,
:mod:`ccel_core.models`) import these tuples, and so do the places that only need the names:
:class:`~ccel_core.training.TrainConfig`'s validation, the ``ccel`` command's flags and help, the
explorer's choices. Importing this module imports neither torch nor scikit-learn, so ``ccel --help``
and ``ccel runs …`` start in a fraction of a second.
"""

from __future__ import annotations

__all__ = ["METHODS", "SUPERVISED", "CES", "DEFAULTS", "SYNTHETIC", "VISION", "DATASETS", "MODELS"]

# self-labeling methods (objectives.make_objective) and plain supervised training
METHODS: tuple[str, ...] = ("ccel", "ccel-eq10", "miadm", "sela", "migd", "imsat", "iic", "kmeans")
SUPERVISED = "supervised"
CES = ("collision", "shannon")  # the cross-entropies of the network step

# Method defaults (paper): λ for the fairness/balance weight, γ for MI, μ for IMSAT.
DEFAULTS: dict[str, dict[str, float]] = {
    "ccel": {"lam": 100.0},
    "ccel-eq10": {"lam": 100.0},
    "miadm": {"lam": 100.0},
    "sela": {"lam": 25.0},
    "migd": {"gamma": 1.3},
    "imsat": {"lam": 0.1, "mu": 4.0},
    "iic": {},
    "kmeans": {},
    SUPERVISED: {},
}

# data sets (data.load_dataset): synthetic 2-D sets, scikit-learn's digits, torchvision image sets, MNIST's test split
SYNTHETIC: tuple[str, ...] = ("blobs", "moons", "circles", "anisotropic")
VISION: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10", "cifar100-20", "stl10")
DATASETS: tuple[str, ...] = (*SYNTHETIC, "digits", *VISION, "mnist-test")

# network architectures (models.make_model)
MODELS: tuple[str, ...] = ("linear", "mlp", "vgg4", "vgg4-grey28", "vgg4-rgb32", "vgg4-rgb96", "resnet18")
