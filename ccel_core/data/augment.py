"""Random augmentations T(x) for self-augmentation terms (IMSAT, IIC, the paper's β term).

Every transform draws fresh random parameters **per sample** and uses torch's global generator, so
``torch.manual_seed`` makes it reproducible. torchvision's v2 transforms draw one set of parameters
per call, i.e. one for a whole ``(N, C, H, W)`` batch, so image pipelines are applied sample by
sample (measured on 2 CPU threads: about 20 ms for 250 grey 28x28 images, 85 ms for 250 RGB 32x32,
100-170 ms for 160 RGB 96x96; feature noise: 3 ms for 250 x 2048).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

AUGMENTATIONS: tuple[str, ...] = ("none", "auto", "features", "images", "grey", "rgb")


class _Identity:
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def __repr__(self) -> str:
        return "Identity()"


class FeatureNoise:
    """Gaussian noise of std ``0.1·strength·scale[d]`` per feature d, then feature dropout (each entry
    zeroed with probability ``min(0.1·strength, 0.9)``, no rescaling). ``scale`` defaults to 1 (for
    standardized features); pass the data set's per-feature std otherwise. Independent of the batch."""

    def __init__(
        self, input_shape: tuple[int, ...], strength: float, scale: Sequence[float] | torch.Tensor | None = None
    ) -> None:
        self.input_shape = input_shape
        self.sigma = 0.1 * strength
        self.p_drop = min(0.1 * strength, 0.9)
        self.scale = None
        if scale is not None:
            self.scale = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
            if self.scale.numel() not in (1, input_shape[0]):
                raise ValueError(f"feature scale needs 1 or {input_shape[0]} values, got {self.scale.numel()}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x, self.input_shape)
        noise = torch.randn_like(x) * self.sigma
        if self.scale is not None:
            noise = noise * self.scale.to(x.device, x.dtype)
        keep = torch.rand_like(x) >= self.p_drop
        return (x + noise) * keep

    def __repr__(self) -> str:
        return f"FeatureNoise(sigma={self.sigma:g}, p_drop={self.p_drop:g}, scaled={self.scale is not None})"


class PerSample:
    """Apply a torchvision transform to each image of a batch with its own random draw.

    With ``mean``/``std`` (the data set's channel normalization) images are mapped back to [0, 1]
    before the transform (so fills, crops and colour jitter act on real pixel values) and renormalized after.
    """

    def __init__(
        self,
        transform: Callable[[torch.Tensor], torch.Tensor],
        input_shape: tuple[int, ...],
        mean: Sequence[float] | torch.Tensor | None = None,
        std: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        self.transform = transform
        self.input_shape = input_shape
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        c = input_shape[0]
        if mean is not None and std is not None and (len(mean) != c or len(std) != c):
            raise ValueError(f"mean/std need {c} channel values, got {len(mean)} and {len(std)}")
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32).view(c, 1, 1)
        self.std = None if std is None else torch.as_tensor(std, dtype=torch.float32).view(c, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x, self.input_shape)
        if self.mean is not None:
            assert self.std is not None  # set together with mean in __init__
            mean, std = self.mean.to(x.device, x.dtype), self.std.to(x.device, x.dtype)
            return torch.stack([(self.transform(xi * std + mean) - mean) / std for xi in x]) if len(x) else x.clone()
        return torch.stack([self.transform(xi) for xi in x]) if len(x) else x.clone()

    def __repr__(self) -> str:
        return f"PerSample({self.transform!r}, normalized={self.mean is not None})"


def _check_batch(x: torch.Tensor, input_shape: tuple[int, ...]) -> None:
    if tuple(x.shape[1:]) != tuple(input_shape) or not x.dtype.is_floating_point:
        raise ValueError(
            f"augmentation built for batches of shape (N, {', '.join(map(str, input_shape))}) float, got {tuple(x.shape)} {x.dtype}"
        )


def make_augmentation(
    kind: str,
    input_shape: tuple[int, ...],
    *,
    strength: float = 1.0,
    mean: Sequence[float] | torch.Tensor | None = None,
    std: Sequence[float] | torch.Tensor | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A random batch transform ``x (N, *input_shape) -> same shape and dtype``.

    Args:
        kind: ``"none"`` (identity); ``"features"`` (``input_shape=(D,)``: :class:`FeatureNoise`);
            ``"images"`` (picks ``"rgb"`` for 3 channels, ``"grey"`` otherwise); ``"grey"``:
            ``RandomAffine`` (±10·s degrees, ±10·s % shift, scale 1±0.1·s), no flips; ``"rgb"``:
            ``RandomResizedCrop`` (area ``[max(0.08, 1−0.6·s), 1]``) + horizontal flip + ``ColorJitter``
            (0.4·s brightness/contrast/saturation, 0.1·s hue); ``"auto"``: features or images from the shape.
            A :class:`~ccel_core.data.Dataset`'s ``kind`` is a valid value.
        input_shape: ``(D,)`` or ``(C, H, W)``.
        strength: s >= 0 scales every magnitude; 0 gives the identity.
        mean, std: Images: the per-channel normalization they carry (``Dataset.meta["channel_mean"]`` /
            ``["channel_std"]``); without them images are taken to be in [0, 1] (colour jitter clamps to it).
            Features: ``std`` alone, the per-feature scale of the noise (default 1).
    """
    input_shape = tuple(int(d) for d in input_shape)
    if kind not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation kind {kind!r}; known: {AUGMENTATIONS}")
    s = float(strength)
    if not s >= 0:
        raise ValueError(f"strength={strength} should be >= 0")
    if kind == "auto":
        kind = "features" if len(input_shape) == 1 else "images"
    if kind == "images" and len(input_shape) == 3:
        kind = "rgb" if input_shape[0] == 3 else "grey"
    want = 1 if kind == "features" else 3
    if kind != "none" and len(input_shape) != want:
        raise ValueError(f"augmentation {kind!r} needs an input_shape of {want} dims, got {input_shape}")
    if kind == "none" or s == 0:
        return _Identity()
    if kind == "features":
        if mean is not None:
            raise ValueError("feature augmentation takes a per-feature std, not a mean")
        return FeatureNoise(input_shape, s, std)
    from torchvision.transforms import v2

    if kind == "grey":
        transform = v2.RandomAffine(
            degrees=10 * s, translate=(min(0.1 * s, 1.0),) * 2, scale=(max(1 - 0.1 * s, 0.1), 1 + 0.1 * s)
        )
    else:
        if input_shape[0] != 3:
            raise ValueError(f"rgb augmentation needs 3 channels, got input_shape {input_shape}")
        transform = v2.Compose(
            [
                v2.RandomResizedCrop(input_shape[1:], scale=(max(0.08, 1 - 0.6 * s), 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.ColorJitter(brightness=0.4 * s, contrast=0.4 * s, saturation=0.4 * s, hue=min(0.1 * s, 0.5)),
            ]
        )
    return PerSample(transform, input_shape, mean, std)
