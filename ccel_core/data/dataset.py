"""The :class:`Dataset` container shared by every loader, and deterministic subsampling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

KINDS: tuple[str, ...] = ("features", "images")

# Per-channel statistics used to normalize image data sets (published training-set values).
# Images are first scaled to [0, 1] (uint8 / 255), then x[c] = (x[c] - mean[c]) / std[c].
CHANNEL_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
}


@dataclass
class Dataset:
    """An in-memory data set: a float32 tensor of inputs and optional int64 labels.

    Attributes:
        name: The name it was loaded under (a registry name or a file path).
        x: float32 inputs, either features ``(N, D)`` or images ``(N, C, H, W)``.
            Image sets are scaled to [0, 1] and then normalized per channel with fixed published
            statistics (``meta["channel_mean"]``, ``meta["channel_std"]``); ``meta["normalization"]``
            says what was done for every set.
        y: int64 labels ``(N,)`` in ``0 .. n_classes - 1``, or ``None`` when unlabeled.
        n_classes: Number of ground-truth classes (for unlabeled data: the requested number of clusters).
        kind: ``"features"`` or ``"images"``.
        class_names: One name per class, or ``None``.
        meta: Free-form provenance: ``source``, ``split``, ``n_samples``, ``shape``, ``normalization``...
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor | None
    n_classes: int
    kind: str
    class_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} should be one of {KINDS}")
        if not isinstance(self.x, torch.Tensor) or self.x.dtype != torch.float32:
            raise ValueError(
                f"x should be a float32 tensor, got {type(self.x).__name__} {getattr(self.x, 'dtype', '')}"
            )
        want_ndim = 2 if self.kind == "features" else 4
        if self.x.ndim != want_ndim:
            raise ValueError(f"kind={self.kind!r} needs x with {want_ndim} dims, got shape {tuple(self.x.shape)}")
        if self.y is not None:
            if self.y.dtype != torch.int64 or self.y.ndim != 1:
                raise ValueError(f"y should be an int64 tensor of shape (N,), got {self.y.dtype} {tuple(self.y.shape)}")
            if len(self.y) != len(self.x):
                raise ValueError(f"len(y)={len(self.y)} differs from len(x)={len(self.x)}")
            if len(self.y) and (int(self.y.min()) < 0 or int(self.y.max()) >= self.n_classes):
                raise ValueError(
                    f"labels should lie in [0, {self.n_classes - 1}], got [{int(self.y.min())}, {int(self.y.max())}]"
                )
        if self.class_names is not None and len(self.class_names) != self.n_classes:
            raise ValueError(f"{len(self.class_names)} class_names for n_classes={self.n_classes}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input: ``(D,)`` for features, ``(C, H, W)`` for images."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, idx: Sequence[int] | np.ndarray | torch.Tensor | slice) -> Dataset:
        """A new Dataset holding the rows ``idx`` (integer indices, a boolean mask or a slice)."""
        if isinstance(idx, slice):
            index = torch.arange(len(self))[idx]
        else:
            index = idx.cpu() if isinstance(idx, torch.Tensor) else torch.as_tensor(np.asarray(idx))
            if index.dtype == torch.bool:
                if index.shape != (len(self),):
                    raise ValueError(f"boolean mask of shape {tuple(index.shape)} for {len(self)} samples")
                index = index.nonzero().flatten()
            elif index.numel() == 0:
                index = index.long()
            elif index.dtype.is_floating_point or index.dtype.is_complex:
                raise ValueError(f"subset indices should be integers, got {index.dtype}")
            index = index.long().flatten()
        meta = dict(self.meta, n_samples=int(index.numel()), shape=[int(index.numel()), *self.input_shape])
        meta["subset_of"] = len(self)
        return Dataset(
            name=self.name,
            x=self.x[index],
            y=None if self.y is None else self.y[index],
            n_classes=self.n_classes,
            kind=self.kind,
            class_names=None if self.class_names is None else list(self.class_names),
            meta=meta,
        )

    def augmentation(self, strength: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
        """:func:`make_augmentation` for this data set: image pipelines undo and redo the channel
        normalization; feature noise is scaled by each feature's std over this data set."""
        from .augment import make_augmentation

        if self.kind == "features":
            return make_augmentation(
                "features", self.input_shape, strength=strength, std=self.x.std(dim=0, unbiased=False)
            )
        return make_augmentation(
            self.kind,
            self.input_shape,
            strength=strength,
            mean=self.meta.get("channel_mean"),
            std=self.meta.get("channel_std"),
        )


def subsample_indices(n_total: int, n_samples: int, *, y: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n_samples`` rows out of ``n_total``, deterministic in ``seed``.

    With labels ``y`` the draw is stratified: each class keeps its share (largest-remainder rounding),
    then rows are drawn at random within each class. Without labels it is a plain random draw.
    """
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples} should be >= 1")
    if n_samples > n_total:
        raise ValueError(f"n_samples={n_samples} exceeds the {n_total} samples available")
    rng = np.random.default_rng(seed)
    if n_samples == n_total:
        return np.arange(n_total)
    if y is None:
        return np.sort(rng.choice(n_total, size=n_samples, replace=False))
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (n_samples / n_total)
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n_samples - int(take.sum())]] += 1
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False) for c, k in enumerate(take) if k]
    return np.sort(np.concatenate(chosen))


def maybe_subsample(ds: Dataset, n_samples: int | None, seed: int) -> Dataset:
    """``ds`` itself when ``n_samples`` is None, else a stratified (or random) subsample of it."""
    if n_samples is None:
        return ds
    y = None if ds.y is None else ds.y.numpy()
    out = ds.subset(subsample_indices(len(ds), n_samples, y=y, seed=seed))
    out.meta.pop("subset_of", None)
    out.meta["subsample"] = {"n_samples": int(n_samples), "of": len(ds), "seed": int(seed), "stratified": y is not None}
    return out


def images_from_uint8(
    images: np.ndarray | torch.Tensor, stats_key: str | None, normalize: bool = True
) -> tuple[torch.Tensor, dict[str, Any]]:
    """uint8 ``(N, C, H, W)`` -> float32 scaled to [0, 1], then normalized per channel; returns (x, meta)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    x = images.to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)
    if not normalize or stats_key is None:
        return x, {"normalization": "scaled to [0, 1] (uint8 / 255); no per-channel normalization"}
    mean, std = CHANNEL_STATS[stats_key]
    if len(mean) != x.shape[1]:
        raise ValueError(f"{stats_key} statistics have {len(mean)} channels, images have {x.shape[1]}")
    x.sub_(torch.tensor(mean).view(1, -1, 1, 1)).div_(torch.tensor(std).view(1, -1, 1, 1))
    return x, {
        "normalization": f"scaled to [0, 1] (uint8 / 255), then (x - mean[c]) / std[c] with {stats_key} channel statistics",
        "channel_mean": list(mean),
        "channel_std": list(std),
    }
