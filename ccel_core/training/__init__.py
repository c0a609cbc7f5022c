"""The clustering engine: :class:`TrainConfig` (every setting, JSON-serializable) and
:class:`Trainer` (alternating y-/θ-steps, per-epoch metrics, checkpoints and resume via a run).

    >>> from ccel_core.training import TrainConfig, Trainer
    >>> trainer = Trainer(TrainConfig(data="digits", method="ccel", epochs=5))
    >>> for metrics in trainer.fit():
    ...     print(metrics["epoch"], metrics["acc"])
"""

from typing import TYPE_CHECKING, Any

from .config import DEVICES, OPTIMIZERS, RESUMABLE_KEYS, Y_STEPS, TrainConfig

if TYPE_CHECKING:  # the trainer (torch) loads on first use: the config alone is what `ccel --help` needs
    from .trainer import Trainer, TrainingDivergedError, resolve_device

_TRAINER = ("Trainer", "TrainingDivergedError", "resolve_device")


def __getattr__(name: str) -> Any:
    if name in _TRAINER:
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TrainConfig",
    "Trainer",
    "TrainingDivergedError",
    "resolve_device",
    "OPTIMIZERS",
    "Y_STEPS",
    "DEVICES",
    "RESUMABLE_KEYS",
]
