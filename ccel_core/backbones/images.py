"""The image sources a backbone reads: a ccel image :class:`~ccel_core.data.Dataset` (tensors) or a
folder of image files, each yielding batches in [0, 1] already given the backbone's transform.

Images are taken back to [0, 1] (ccel's per-channel normalization undone), grey ones repeated to
3 channels; a folder is read as one sub-folder per class (torchvision ``ImageFolder`` layout) or
as images directly in it (unlabeled). :func:`open_images` picks the source for a ``data`` argument.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import DATASETS, Dataset, load_dataset, subsample_indices
from ..data.features import is_feature_file
from ..names import VISION

__all__ = ["open_images"]


class _TensorImages:
    """A ccel image :class:`Dataset`, taken back to [0, 1] batch by batch on the device."""

    def __init__(self, ds: Dataset) -> None:
        if ds.kind != "images":
            raise ValueError(
                f"data {ds.name!r} is a feature data set (shape {tuple(ds.x.shape)}), not images; backbone "
                f"features need images: {_IMAGE_SETS}, or a folder of images"
            )
        c = ds.x.shape[1]
        if c not in (1, 3):
            raise ValueError(f"data {ds.name!r}: images with {c} channels; expected 1 (grey) or 3 (RGB)")
        self.x, self.name, self.y, self.class_names = ds.x, ds.name, ds.y, ds.class_names
        self.info = {k: ds.meta[k] for k in ("source", "split", "normalization", "subsample") if k in ds.meta}
        mean, std = ds.meta.get("channel_mean"), ds.meta.get("channel_std")
        self.stats = None if mean is None or std is None else (torch.tensor(mean), torch.tensor(std))
        lo, hi = ds.x.amin(dim=(0, 2, 3)), ds.x.amax(dim=(0, 2, 3))
        if self.stats is not None:
            lo, hi = lo * self.stats[1] + self.stats[0], hi * self.stats[1] + self.stats[0]
        if len(ds) and (lo.min() < -1e-3 or hi.max() > 1 + 1e-3):
            raise ValueError(
                f"data {ds.name!r}: pixel values span [{lo.min():.3g}, {hi.max():.3g}]; expected images in [0, 1], "
                "or normalized with meta['channel_mean'] / meta['channel_std'] (as ccel's image sets are)"
            )

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, transform: nn.Module, batch_size: int, device: torch.device, workers: int) -> Iterator[Any]:
        stats = None if self.stats is None else [s.to(device).view(1, -1, 1, 1) for s in self.stats]
        for start in range(0, len(self.x), batch_size):
            x = self.x[start : start + batch_size].to(device, non_blocking=True)
            if stats is not None:
                x = x * stats[1] + stats[0]
            yield transform(x.clamp_(0.0, 1.0).expand(-1, 3, -1, -1))  # grey: one channel repeated


_IMAGE_SETS = f"{', '.join(VISION)}, mnist-test, digits (as_images)"


class _Files(torch.utils.data.Dataset):
    def __init__(self, files: list[Path], transform: nn.Module) -> None:
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        try:
            with Image.open(self.files[i]) as image:
                return self.transform(image.convert("RGB"))  # grey and palette images to 3 channels
        except OSError as err:
            raise ValueError(f"cannot read image {self.files[i]}: {err}") from err


class _FolderImages:
    """A folder of images: one sub-folder per class (torchvision ``ImageFolder`` layout, read
    recursively; images beside the class folders are ignored), or images directly in it (unlabeled)."""

    def __init__(self, root: Path) -> None:
        from torchvision.datasets.folder import IMG_EXTENSIONS

        def images(paths: Iterator[Path]) -> list[Path]:
            return sorted(p for p in paths if p.suffix.lower() in IMG_EXTENSIONS and p.is_file())

        self.name, self.files = str(root), []
        labels: list[int] = []
        names: list[str] = []
        for d in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
            found = images(d.rglob("*"))
            if found:
                self.files += found
                labels += [len(names)] * len(found)
                names.append(d.name)
        self.class_names: list[str] | None = names or None
        if not self.files:
            self.files = images(root.iterdir())
        if not self.files:
            raise ValueError(f"image folder {root}: no images ({', '.join(IMG_EXTENSIONS)}) in it or its sub-folders")
        self.y = torch.tensor(labels, dtype=torch.int64) if self.class_names else None
        layout = "flat (unlabeled)" if self.y is None else "one sub-folder per class"
        self.info: dict[str, Any] = {"source": self.name, "layout": layout}

    def __len__(self) -> int:
        return len(self.files)

    def subsample(self, n_samples: int, seed: int) -> _FolderImages:
        y = None if self.y is None else self.y.numpy()
        idx = subsample_indices(len(self.files), n_samples, y=y, seed=seed)
        self.files = [self.files[i] for i in idx]
        self.y = None if self.y is None else self.y[torch.from_numpy(idx)]
        self.info["subsample"] = {"n_samples": n_samples, "seed": seed, "stratified": y is not None}
        return self

    def batches(self, transform: nn.Module, batch_size: int, device: torch.device, workers: int) -> Iterator[Any]:
        loader = torch.utils.data.DataLoader(
            _Files(self.files, transform), batch_size, num_workers=workers, pin_memory=device.type == "cuda"
        )
        for x in loader:
            yield x.to(device, non_blocking=True)


def open_images(data: Dataset | str | os.PathLike, n_samples: int | None, seed: int, **load: Any) -> Any:
    """The image source of ``data``: a Dataset, a load_dataset name or path, or an image folder."""
    if isinstance(data, Dataset):
        y = None if data.y is None else data.y.numpy()
        idx = None if n_samples is None else subsample_indices(len(data), n_samples, y=y, seed=seed)
        return _TensorImages(data if idx is None else data.subset(idx))
    text = os.fspath(data)
    key = text.strip().lower().replace("_", "-")
    if key in DATASETS or is_feature_file(text):
        options = {"as_images": True, **load} if key == "digits" else load
        return _TensorImages(load_dataset(text, n_samples=n_samples, seed=seed, **options))
    if not Path(text).expanduser().is_dir():
        raise ValueError(f"unknown data {text!r}: neither an image data set ({_IMAGE_SETS}) nor a folder of images")
    folder = _FolderImages(Path(text).expanduser().absolute())
    return folder if n_samples is None else folder.subsample(n_samples, seed)
