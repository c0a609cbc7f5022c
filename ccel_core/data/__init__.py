"""Data sets and augmentations.

``load_dataset(name, root, *, download, split, n_samples, seed, **options)`` returns a :class:`Dataset`
(float32 ``x``, int64 ``y`` or None). Names: :data:`DATASETS` (synthetic 2-D sets, scikit-learn digits,
torchvision image sets, ``mnist-test``) or a path to a ``.npy`` / ``.npz`` / ``.csv`` feature file.
``make_augmentation(kind, input_shape, *, strength)`` returns a per-sample random batch transform.
"""

from ..names import DATASETS
from .augment import AUGMENTATIONS, make_augmentation
from .dataset import CHANNEL_STATS, Dataset, subsample_indices
from .features import load_feature_file
from .idx import read_idx, write_idx
from .registry import default_root, load_dataset
from .vision import CIFAR100_COARSE_NAMES, CIFAR100_FINE_NAMES, CIFAR100_FINE_TO_COARSE

__all__ = [
    "AUGMENTATIONS",
    "CHANNEL_STATS",
    "CIFAR100_COARSE_NAMES",
    "CIFAR100_FINE_NAMES",
    "CIFAR100_FINE_TO_COARSE",
    "DATASETS",
    "Dataset",
    "default_root",
    "load_dataset",
    "load_feature_file",
    "make_augmentation",
    "read_idx",
    "subsample_indices",
    "write_idx",
]
