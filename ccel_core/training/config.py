"""``TrainConfig``: every setting of a training run, JSON-serializable and validated.

Validation that needs the data (``n_clusters <= n_samples``, ``n_clusters == n_classes`` for
weak supervision) happens in :class:`~ccel_core.training.Trainer`; everything else here, with
errors that name the value (``epochs=0 should be >= 1``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from .._hints import describe_unknown
from ..names import CES, DATASETS, METHODS, MODELS, SUPERVISED
from .constraints import Interval, check_choice, check_number

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
_COUNT, _NONNEGATIVE = Interval(1, integer=True), Interval(0.0)  # the most common constraints


def _setting(
    default: Any,
    group: str,
    help: str,
    *,
    metavar: Optional[str] = None,
    choices: Optional[tuple[str, ...]] = None,
    flag: Optional[str] = None,
    bounds: Optional[Interval] = None,
) -> Any:
    """A field with what its command-line flag needs (:mod:`ccel_core.cli.flags` generates the flags):
    ``group`` (help section), ``help`` (``{datasets}``, ``{methods}``, ``{models}`` expand to the
    known names), ``metavar``, ``choices``, ``flag`` (default: the name with dashes); ``choices`` and
    ``bounds`` (an :class:`~.constraints.Interval`) are also the field's constraint, which validation checks."""
    meta = {"group": group, "help": help, "metavar": metavar, "choices": choices, "flag": flag, "bounds": bounds}
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
    n_samples: Optional[int] = _setting(
        None, "data", "subsample (synthetic sets: generate) N points", metavar="N", bounds=_COUNT
    )
    method: str = _setting("ccel", "method and model", "{methods}", metavar="NAME")
    loss: Optional[str] = _setting(None, "method and model", "CE of method=supervised (default collision)", choices=CES)
    model: str = _setting("linear", "method and model", "{models}", metavar="NAME")
    hidden: int = _setting(256, "method and model", "hidden width of the mlp model", metavar="H", bounds=_COUNT)
    weights: Optional[str] = _setting(
        None, "method and model", "initial model weights (state_dict file)", metavar="FILE"
    )
    n_clusters: Optional[int] = _setting(
        None, "method and model", "K (default: the data's number of classes)", metavar="K", bounds=_COUNT
    )
    epochs: int = _setting(10, "optimization", "epochs (with --resume: the new total)", metavar="N", bounds=_COUNT)
    batch_size: int = _setting(250, "optimization", "batch size", metavar="B", bounds=Interval(2, integer=True))
    optimizer: str = _setting("sgd", "optimization", "the network's optimizer", choices=OPTIMIZERS)
    lr: float = _setting(0.1, "optimization", "learning rate", bounds=Interval(0.0, low_open=True))
    momentum: float = _setting(0.0, "optimization", "SGD momentum", bounds=Interval(0.0, 1.0))
    weight_decay: float = _setting(0.001, "optimization", "weight decay", bounds=_NONNEGATIVE)
    lam: Optional[float] = _setting(
        None,
        "method and model",
        "fairness weight λ (default: the method's paper value, 100 for ccel)",
        bounds=_NONNEGATIVE,
    )
    gamma: Optional[float] = _setting(
        None, "method and model", "MI weight γ of migd (default 1.3)", bounds=_NONNEGATIVE
    )
    mu: Optional[float] = _setting(None, "method and model", "μ of imsat (default 4)", bounds=_NONNEGATIVE)
    beta: float = _setting(
        0.0, "method and model", "self-augmentation weight β of pseudo-label methods, 0 = off", bounds=_NONNEGATIVE
    )
    augment: float = _setting(
        1.0, "method and model", "augmentation strength of T(x)", metavar="S", bounds=_NONNEGATIVE
    )
    y_step: str = _setting("batch", "method and model", "pseudo-labels per batch (paper) or per epoch", choices=Y_STEPS)
    solver_max_iter: Optional[int] = _setting(
        None,
        "method and model",
        "y-step iteration cap (default 100 per batch, 1000 per full step)",
        metavar="N",
        bounds=_COUNT,
    )
    solver_tol: Optional[float] = _setting(
        None,
        "method and model",
        "y-step tolerance (default: the solver's; exact: certified gap 1e-8)",
        metavar="TOL",
        bounds=_NONNEGATIVE,
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
        0.0,
        "method and model",
        "weak supervision: fraction of labeled rows",
        metavar="F",
        bounds=Interval(0.0, 1.0, high_closed=True),
    )
    seed: int = _setting(0, "optimization", "training seed", metavar="S", bounds=Interval(0, SEED_LIMIT, integer=True))
    device: str = _setting("auto", "optimization", "auto = CUDA when available", choices=DEVICES)
    amp: bool = _setting(False, "optimization", "bfloat16 autocast of the network step (CUDA)")
    precision: str = _setting("float32", "optimization", "network and data dtype", choices=PRECISIONS)
    eval_every: int = _setting(
        1, "optimization", "epochs between evaluations (the last always)", metavar="N", bounds=_COUNT
    )

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
        self.method = _lower(self.method, "method")
        if self.method not in (*METHODS, SUPERVISED):
            raise ValueError(f"unknown method={self.method!r}; known methods: {', '.join((*METHODS, SUPERVISED))}")
        self.model = _lower(self.model, "model")
        if self.model not in MODELS:
            raise ValueError(f"unknown model={self.model!r}; known models: {', '.join(MODELS)}")
        for f in dataclasses.fields(self):  # each field's declared constraint (its interval or choices)
            value, optional = getattr(self, f.name), f.default is None
            if f.metadata.get("bounds") is not None:
                setattr(self, f.name, check_number(f.name, value, f.metadata["bounds"], optional=optional))
            elif f.metadata.get("choices") is not None:
                setattr(self, f.name, check_choice(f.name, value, f.metadata["choices"], optional=optional))
            elif isinstance(f.default, bool) and not isinstance(value, bool):
                raise ValueError(f"{f.name}={value!r} should be True or False")
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
        if self.labeled_fraction and self.method in ("kmeans", SUPERVISED):
            raise ValueError(f"labeled_fraction={self.labeled_fraction!r} is not supported by method={self.method!r}")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("device='cuda' but torch.cuda.is_available() is False; use device='auto' or 'cpu'")

    @staticmethod
    def bounds(name: str) -> Interval:
        """The constraint declared for the numeric field ``name`` (e.g. for a widget's lower bound)."""
        found = {f.name: f.metadata.get("bounds") for f in dataclasses.fields(TrainConfig)}.get(name)
        if found is None:
            raise ValueError(f"{name!r} is not a numeric TrainConfig field")
        return found


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
