"""``TrainConfig``: every setting of a training run, JSON-serializable and validated.

Validation that needs the data (``n_clusters <= n_samples``, ``n_clusters == n_classes`` for
weak supervision) happens in :class:`~ccel_core.training.Trainer`; everything else here, with
errors that name the value (``epochs=0 should be >= 1``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, overload

from .._hints import describe_unknown
from ..names import CES, DATASETS, METHODS, MODELS, SUPERVISED

__all__ = [
    "SEED_LIMIT",
    "TrainConfig",
    "OPTIMIZERS",
    "Y_STEPS",
    "DEVICES",
    "PRECISIONS",
    "SPLITS",
    "Y_SOLVERS",
    "Y_INITS",
    "RESUMABLE_KEYS",
]

OPTIMIZERS = ("sgd", "adam")
Y_STEPS = ("batch", "full")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("float32", "float64")
Y_SOLVERS = ("em", "exact")
Y_INITS = ("stored", "predictions")
SPLITS = ("train", "test", "all")
SEED_LIMIT = 2**63  # seeds are 0 <= seed < 2**63: what torch.manual_seed and numpy's SeedSequence both take
# Keys that may differ between a checkpoint and the config that resumes it (they do not change
# what an epoch computes, or only extend the run): the only settings ``ccel fit --resume`` takes.
RESUMABLE_KEYS = ("epochs", "device", "eval_every", "root")

# Default solver iteration caps: per-batch y-steps are warm-started and bounded on purpose;
# full-data y-steps run to tol.
SOLVER_MAX_ITER = {"batch": 100, "full": 1000}


def _setting(
    default: Any,
    group: str,
    help: str,
    *,
    metavar: Optional[str] = None,
    choices: Optional[tuple[str, ...]] = None,
    flag: Optional[str] = None,
) -> Any:
    """A field with what its command-line flag needs (:mod:`ccel_core.cli.flags` generates the flags):
    ``group`` (help section), ``help`` (``{datasets}``, ``{methods}``, ``{models}`` expand to the
    known names), ``metavar``, ``choices``, ``flag`` (default: the name with dashes)."""
    meta = {"group": group, "help": help, "metavar": metavar, "choices": choices, "flag": flag}
    if isinstance(default, type):  # a mutable default: its factory (dict)
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """One training run (clustering, weakly supervised, or supervised on soft targets).

    Data: ``data`` (a :data:`~ccel_core.data.DATASETS` name or a feature-file path),
    ``data_options`` (keyword options of ``load_dataset``; its ``seed``, default 0, seeds the data
    set, independently of the training ``seed``), ``root``, ``split``, ``n_samples``.
    Method: ``method`` (:data:`~ccel_core.objectives.METHODS` or "supervised"), ``loss``
    (supervised only: "collision" | "shannon"), ``lam``/``gamma``/``mu`` (None: the method's
    paper default), ``beta`` (self-augmentation weight, 0 = off), ``augment`` (strength of T(x)).
    Network: ``model``, ``hidden``, ``weights``, ``n_clusters`` (None: the data's ``n_classes``).
    Optimization: ``epochs``, ``batch_size``, ``optimizer``, ``lr``, ``momentum``, ``weight_decay``,
    ``amp`` (bfloat16 autocast of the network step, CUDA only; ignored on CPU), ``precision``
    ("float32", or "float64" for the network and data — exact comparisons, e.g. data-parallel
    vs single-process runs).
    y-step: ``y_step`` ("batch": per batch on its σ, warm-started from the stored labels, the
    paper's protocol; "full": once per epoch on the whole data set), ``solver_max_iter`` (None:
    100 per batch, 1000 for a full-data step), ``solver_tol`` (None: the solver's default),
    ``accelerate`` (SQUAREM-accelerated EM for ours; False: the paper's plain EM iterations),
    ``y_solver`` ("exact", the default: the certified exact y-step :func:`~ccel_core.solvers.exact`
    for ccel and ccel-eq10, whose answer does not depend on the stored labels, with
    ``solver_tol`` the certified relative gap, default 1e-8 — faster and more accurate than the EM
    y-step on digits and MNIST-test, see benchmarks/RESULTS.md; "em": the paper's EM for eq. 11 /
    PGD for eq. 10),
    ``y_init`` (where an EM / PGD y-step starts: "stored" = the point's stored labels, the paper's
    warm start; "predictions" = the batch's σ, floored at 1e-8 — EM's multiplicative updates barely
    move near-zero entries, so the start matters).
    Other: ``labeled_fraction`` (weak supervision, paper Table 5), ``seed``, ``device``
    ("auto" = CUDA when available), ``eval_every`` (epochs between evaluations; the last is
    always evaluated).
    """

    data: str = _setting("digits", "data", "{datasets}, or a .npy/.npz/.csv feature-file path", metavar="NAME")
    data_options: dict = _setting(
        dict,
        "data",
        "a load_dataset option, e.g. standardize=true, labels=y.npy, label_column=label, noise=0.5, "
        "seed=1 (the data seed); repeatable",
        metavar="KEY=VALUE",
        flag="data-option",
    )
    root: Optional[str] = _setting(
        None, "data", "folder of the image data sets (default $CCEL_DATA, else ./data)", metavar="DIR"
    )
    split: str = _setting("train", "data", "split of the torchvision sets", choices=SPLITS)
    n_samples: Optional[int] = _setting(None, "data", "subsample (synthetic sets: generate) N points", metavar="N")
    method: str = _setting("ccel", "method and model", "{methods}", metavar="NAME")
    loss: Optional[str] = _setting(None, "method and model", "CE of method=supervised (default collision)", choices=CES)
    model: str = _setting("linear", "method and model", "{models}", metavar="NAME")
    hidden: int = _setting(256, "method and model", "hidden width of the mlp model", metavar="H")
    weights: Optional[str] = _setting(
        None, "method and model", "initial model weights (state_dict file)", metavar="FILE"
    )
    n_clusters: Optional[int] = _setting(
        None, "method and model", "K (default: the data's number of classes)", metavar="K"
    )
    epochs: int = _setting(10, "optimization", "epochs (with --resume: the new total)", metavar="N")
    batch_size: int = _setting(250, "optimization", "batch size", metavar="B")
    optimizer: str = _setting("sgd", "optimization", "the network's optimizer", choices=OPTIMIZERS)
    lr: float = _setting(0.1, "optimization", "learning rate")
    momentum: float = _setting(0.0, "optimization", "SGD momentum")
    weight_decay: float = _setting(0.001, "optimization", "weight decay")
    lam: Optional[float] = _setting(
        None, "method and model", "fairness weight λ (default: the method's paper value, 100 for ccel)"
    )
    gamma: Optional[float] = _setting(None, "method and model", "MI weight γ of migd (default 1.3)")
    mu: Optional[float] = _setting(None, "method and model", "μ of imsat (default 4)")
    beta: float = _setting(0.0, "method and model", "self-augmentation weight β of pseudo-label methods, 0 = off")
    augment: float = _setting(1.0, "method and model", "augmentation strength of T(x)", metavar="S")
    y_step: str = _setting("batch", "method and model", "pseudo-labels per batch (paper) or per epoch", choices=Y_STEPS)
    solver_max_iter: Optional[int] = _setting(
        None, "method and model", "y-step iteration cap (default 100 per batch, 1000 per full step)", metavar="N"
    )
    solver_tol: Optional[float] = _setting(
        None, "method and model", "y-step tolerance (default: the solver's; exact: certified gap 1e-8)", metavar="TOL"
    )
    accelerate: bool = _setting(
        True, "method and model", "SQUAREM-accelerated EM y-step of ccel (--no-accelerate: the paper's plain EM)"
    )
    y_solver: str = _setting(
        "exact",
        "method and model",
        "y-step of ccel / ccel-eq10: exact (certified) or em (the paper's EM / PGD)",
        choices=Y_SOLVERS,
    )
    y_init: str = _setting(
        "stored",
        "method and model",
        "start of an EM/PGD y-step: the stored labels (paper) or the batch's predictions σ",
        choices=Y_INITS,
    )
    labeled_fraction: float = _setting(
        0.0, "method and model", "weak supervision: fraction of labeled rows", metavar="F"
    )
    seed: int = _setting(0, "optimization", "training seed", metavar="S")
    device: str = _setting("auto", "optimization", "auto = CUDA when available", choices=DEVICES)
    amp: bool = _setting(False, "optimization", "bfloat16 autocast of the network step (CUDA)")
    precision: str = _setting("float32", "optimization", "network and data dtype", choices=PRECISIONS)
    eval_every: int = _setting(1, "optimization", "epochs between evaluations (the last always)", metavar="N")

    def __post_init__(self) -> None:
        self.validate()

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON data."""
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Build from a mapping; unknown keys raise ``ValueError`` naming them."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(
                f"unknown TrainConfig key(s): {describe_unknown(unknown, names)}; known keys: {', '.join(names)}"
            )
        return cls(**dict(d))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A validated copy with some fields changed."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def solver_iterations(self) -> int:
        """The y-step iteration cap: ``solver_max_iter``, else 100 per batch / 1000 per full step."""
        return self.solver_max_iter or SOLVER_MAX_ITER[self.y_step]

    # -- validation ------------------------------------------------------------------------
    def ensure_valid(self) -> None:
        """:meth:`validate` unless the fields still equal what was last validated (a config mutated
        after construction is checked again; an unchanged one is not checked twice)."""
        if getattr(self, "_validated", None) != repr(self.to_dict()):  # repr: 3.0 and 0 are not 3 and False
            self.validate()

    def validate(self) -> None:
        """Check and normalize every field (ValueError naming the value)."""
        self._validate_fields()
        object.__setattr__(self, "_validated", repr(self.to_dict()))

    def _validate_fields(self) -> None:
        from ..data.features import is_feature_file

        if isinstance(self.data, os.PathLike):
            self.data = os.fspath(self.data)
        if not isinstance(self.data, str) or not self.data.strip():
            raise ValueError(f"data={self.data!r} should be a data set name or a feature-file path")
        key = self.data.strip().lower().replace("_", "-")
        if key not in DATASETS and not is_feature_file(self.data):
            raise ValueError(
                f"unknown data set data={self.data!r}; known names: {', '.join(DATASETS)}, "
                "or a path to a .npy/.npz/.csv feature file"
            )
        if not isinstance(self.data_options, dict):
            raise ValueError(f"data_options={self.data_options!r} should be a dict")
        for name in ("n_samples", "split", "root"):
            if name in self.data_options:
                raise ValueError(f"data_options[{name!r}] duplicates the TrainConfig field {name}; set {name}= instead")
        for name in ("root", "weights"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                setattr(self, name, _path_str(value, name))
        _choice(self, "split", SPLITS)
        self.n_samples = _int(self, "n_samples", 1, optional=True)
        self.method = _lower(self.method, "method")
        if self.method not in (*METHODS, SUPERVISED):
            raise ValueError(f"unknown method={self.method!r}; known methods: {', '.join((*METHODS, SUPERVISED))}")
        if self.loss is not None:
            _choice(self, "loss", CES)
        self.model = _lower(self.model, "model")
        if self.model not in MODELS:
            raise ValueError(f"unknown model={self.model!r}; known models: {', '.join(MODELS)}")
        self.hidden = _int(self, "hidden", 1)
        self.n_clusters = _int(self, "n_clusters", 1, optional=True)
        self.epochs = _int(self, "epochs", 1)
        self.batch_size = _int(self, "batch_size", 2)
        _choice(self, "optimizer", OPTIMIZERS)
        self.lr = _float(self, "lr", positive=True)
        self.momentum = _float(self, "momentum")
        if self.momentum >= 1:
            raise ValueError(f"momentum={self.momentum!r} should be < 1")
        self.weight_decay = _float(self, "weight_decay")
        for name in ("lam", "gamma", "mu"):
            setattr(self, name, _float(self, name, optional=True))
        self.beta = _float(self, "beta")
        # which parameters the method takes: one source of truth, the objective factory (imported
        # here: a config is validated when built, while reading its flags and names needs no torch)
        from ..objectives import make_objective

        make_objective(
            self.method,
            self.n_clusters or 2,
            lam=self.lam,
            gamma=self.gamma,
            mu=self.mu,
            beta=self.beta,
            loss=self.loss,
        )
        self.augment = _float(self, "augment")
        _choice(self, "y_step", Y_STEPS)
        self.solver_max_iter = _int(self, "solver_max_iter", 1, optional=True)
        self.solver_tol = _float(self, "solver_tol", optional=True)
        self.labeled_fraction = _float(self, "labeled_fraction")
        if self.labeled_fraction > 1:
            raise ValueError(f"labeled_fraction={self.labeled_fraction!r} should be in [0, 1]")
        if self.labeled_fraction and self.method in ("kmeans", SUPERVISED):
            raise ValueError(f"labeled_fraction={self.labeled_fraction!r} is not supported by method={self.method!r}")
        self.seed = _int(self, "seed", 0, limit=SEED_LIMIT)
        _choice(self, "device", DEVICES)
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("device='cuda' but torch.cuda.is_available() is False; use device='auto' or 'cpu'")
        if not isinstance(self.amp, bool):
            raise ValueError(f"amp={self.amp!r} should be True or False")
        if not isinstance(self.accelerate, bool):
            raise ValueError(f"accelerate={self.accelerate!r} should be True or False")
        _choice(self, "precision", PRECISIONS)
        _choice(self, "y_solver", Y_SOLVERS)
        _choice(self, "y_init", Y_INITS)
        self.eval_every = _int(self, "eval_every", 1)


# ------------------------------------------------------------------------------------------
# field helpers
# ------------------------------------------------------------------------------------------
def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def _path_str(value: Any, name: str) -> str:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ValueError(f"{name}={value!r} should be a path string or None")


def _lower(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}={value!r} should be a string")
    return value.strip().lower()


def _choice(cfg: TrainConfig, name: str, options: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    norm = value.strip().lower() if isinstance(value, str) else value
    if norm not in options:
        raise ValueError(f"{name}={value!r} should be one of {options}")
    setattr(cfg, name, norm)


@overload
def _int(
    cfg: TrainConfig, name: str, minimum: int, *, optional: Literal[False] = False, limit: Optional[int] = None
) -> int: ...
@overload
def _int(
    cfg: TrainConfig, name: str, minimum: int, *, optional: bool, limit: Optional[int] = None
) -> Optional[int]: ...
def _int(
    cfg: TrainConfig, name: str, minimum: int, *, optional: bool = False, limit: Optional[int] = None
) -> Optional[int]:
    """``cfg.<name>`` as an int ``>= minimum`` (and ``< limit`` when given), else a ValueError naming it."""
    value = getattr(cfg, name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name}={value!r} should be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name}={value!r} should be >= {minimum}")
    if limit is not None and value >= limit:
        raise ValueError(f"{name}={value!r} should be < {limit} (2**{limit.bit_length() - 1})")
    return int(value)


@overload
def _float(cfg: TrainConfig, name: str, *, positive: bool = False, optional: Literal[False] = False) -> float: ...
@overload
def _float(cfg: TrainConfig, name: str, *, positive: bool = False, optional: bool) -> Optional[float]: ...
def _float(cfg: TrainConfig, name: str, *, positive: bool = False, optional: bool = False) -> Optional[float]:
    value = getattr(cfg, name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} should be a finite number")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name}={value!r} should be {'> 0' if positive else '>= 0'}")
    return float(value)
