"""Feature extraction: the images of a data set through a frozen backbone, batch by batch, into
:class:`~.features.Features` (paper Table 2: clustering on fixed features).

Deterministic: eval mode, ``torch.inference_mode``, no random transform; on CUDA, channels-last
convolutions and (by default) float16 autocast.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import torch

from ..data import Dataset
from .features import Features
from .images import open_images
from .networks import backbone_key, build_backbone, resolve_weights

__all__ = ["extract_features"]


def _device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} should be 'auto', 'cpu', 'cuda' or 'cuda:N' ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch.cuda.is_available() is False; use 'auto' or 'cpu'")
    return dev


def extract_features(
    data: Dataset | str | os.PathLike,
    backbone: str = "resnet50",
    *,
    weights: str | os.PathLike | None = "imagenet",
    root: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
    data_options: dict[str, Any] | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    amp: bool | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> Features:
    """Pooled penultimate features of ``backbone`` (:data:`BACKBONES`) for every image of ``data``.

    Args:
        data: an image :class:`Dataset`; a :func:`~ccel_core.data.load_dataset` name (``mnist``,
            ``cifar10``, ``mnist-test``, ``digits`` — loaded ``as_images`` — …), loaded with ``root``,
            ``split``, ``download`` and ``data_options``; or a folder of images (class = sub-folder).
        weights: see :func:`build_backbone` (``None``: random init under ``seed``).
        n_samples, seed: a deterministic (stratified when labeled) subsample of ``n_samples`` images.
        batch_size: images per forward pass; device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda[:N]"``.
        amp: float16 autocast (CUDA only; ``None``: on with CUDA; ignored on CPU).
        num_workers: DataLoader workers decoding a folder's image files.
        progress: a tqdm bar over the images (and torchvision's download bar).

    Deterministic: eval mode, ``torch.inference_mode``, no random transform. Raises ValueError for
    an unknown backbone, non-image data or a bad option, FileNotFoundError for a missing weights
    file or data, RuntimeError when the ImageNet weights cannot be downloaded.
    """
    from tqdm.auto import tqdm

    key = backbone_key(backbone)
    for label, value, low in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{label}={value!r} should be an integer >= {low}")
    dev = _device(device)
    use_amp = dev.type == "cuda" and (amp is None or bool(amp))
    resolve_weights(key, weights)  # a missing weights file fails before the data is loaded
    load = {"root": root, "split": split, "download": download, **(data_options or {})}
    source = open_images(data, n_samples, seed, **load)
    net = build_backbone(backbone, weights=weights, seed=seed, progress=progress)
    fast = torch.channels_last if dev.type == "cuda" else torch.contiguous_format  # NHWC convolutions on GPU
    module = net.module.to(dev).to(memory_format=fast)
    x = torch.empty(len(source), net.dim, dtype=torch.float32)
    start, done = time.perf_counter(), 0
    cast = torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext()
    with torch.inference_mode(), cast, tqdm(total=len(source), unit="img", desc=net.name, disable=not progress) as bar:
        for batch in source.batches(net.transform, batch_size, dev, num_workers):
            out = module(batch.contiguous(memory_format=fast))
            x[done : done + len(out)] = out.float().cpu()
            done += len(out)
            bar.update(len(out))
    seconds = time.perf_counter() - start
    if not torch.isfinite(x).all():
        raise RuntimeError(
            f"{net.name} gave non-finite features" + (" under float16 AMP: retry with amp=False" * use_amp)
        )
    import torchvision

    meta = {
        "backbone": net.name,
        "weights": net.weights,
        "data": source.name,
        "n": len(x),
        "dim": net.dim,
        "features": "global-average-pooled penultimate activations (the classifier's input), eval mode",
        "transform": " ".join(str(net.transform).split()),
        "data_meta": source.info,
        "class_names": source.class_names,
        "device": str(dev),
        "amp": use_amp,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "images_per_second": round(len(x) / seconds, 2) if seconds > 0 else None,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    return Features(x, source.y, source.class_names, meta)
