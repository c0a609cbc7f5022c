"""The clustering engine: :class:`TrainConfig` (every setting, JSON-serializable) and
:class:`Trainer` (alternating y-/θ-steps, per-epoch metrics, checkpoints and resume via a run).

    >>> from ccel_core.training import TrainConfig, Trainer
    >>> trainer = Trainer(TrainConfig(data="digits", method="ccel", epochs=5))
    >>> for metrics in trainer.fit():
    ...     print(metrics["epoch"], metrics["acc"])
"""

from .config import DEVICES, OPTIMIZERS, RESUMABLE_KEYS, Y_STEPS, TrainConfig
from .trainer import Trainer, TrainingDivergedError, resolve_device

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
