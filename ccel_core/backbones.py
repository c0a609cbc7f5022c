"""Frozen torchvision backbones as feature extractors (paper Table 2: clustering on fixed features).

:func:`extract_features` runs the images of a data set through an ImageNet backbone in eval mode
and returns its pooled penultimate features (the global-average-pooled vector the classifier
reads) as :class:`Features`; :func:`save_features` writes them, atomically, as the ``.npz`` file
``ccel fit --data FILE.npz`` loads: ``x`` (float32 N×D), ``y`` (int64, when labeled) and ``meta``
(a JSON string: backbone, weights, data, n, …; read it back with :func:`feature_file_meta`).

Images are taken back to [0, 1] (ccel's per-channel normalization undone), grey ones repeated to
3 channels, then given the weights' own transform (``weights.transforms()``: resize, center crop,
ImageNet normalization). Weights: the backbone's torchvision ImageNet weights (downloaded by
torchvision on first use into its cache), a local state-dict file (no download), or ``None``
(random init, seeded: tests and offline checks).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import DATASETS, Dataset, load_dataset, subsample_indices
from .data.arrays import NpzReader
from .data.features import NO_LABELS, is_feature_file
from .names import VISION
from .runs import atomic_write

__all__ = ["BACKBONES", "Backbone", "Features", "build_backbone", "extract_features", "save_features"]
__all__ += ["check_output_path", "feature_file_meta"]


@dataclass(frozen=True)
class _Spec:
    dim: int  # the pooled penultimate width
    head: str  # the classifier module replaced by nn.Identity
    weights: str  # the default member of the torchvision weights enum


# resnet50's IMAGENET1K_V1 is the classic torchvision checkpoint (the pre-2022 papers' features);
# IMAGENET1K_V2 (the newer recipe) is one --weights away. convnext keeps its LayerNorm (pre-logits).
_SPECS: dict[str, _Spec] = {
    "resnet18": _Spec(512, "fc", "IMAGENET1K_V1"),
    "resnet50": _Spec(2048, "fc", "IMAGENET1K_V1"),
    "efficientnet_b0": _Spec(1280, "classifier", "IMAGENET1K_V1"),
    "mobilenet_v3_small": _Spec(576, "classifier", "IMAGENET1K_V1"),
    "convnext_tiny": _Spec(768, "classifier.2", "IMAGENET1K_V1"),
}
BACKBONES: dict[str, int] = {name: s.dim for name, s in _SPECS.items()}  # name -> feature dimension D


@dataclass
class Backbone:
    """A headless backbone in eval mode: ``module(images)`` is ``(B, dim)``; ``transform`` maps [0, 1]
    images (tensors or PIL) to its input; ``weights`` says which weights it holds."""

    name: str
    module: nn.Module
    transform: nn.Module
    weights: str
    dim: int


@dataclass
class Features:
    """Extracted features: ``x`` float32 ``(N, D)``, ``y`` int64 ``(N,)`` or None, provenance in ``meta``."""

    x: torch.Tensor
    y: torch.Tensor | None
    class_names: list[str] | None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dataset(self, *, n_clusters: int | None = None) -> Dataset:
        """A ``kind="features"`` :class:`Dataset` (unlabeled features need ``n_clusters``)."""
        if n_clusters is not None:
            k = int(n_clusters)
        elif self.y is None:
            raise ValueError(f"these features {NO_LABELS}")
        else:
            k = len(self.class_names) if self.class_names else int(self.y.max()) + 1
        names = self.class_names if self.y is not None and len(self.class_names or ()) == k else None
        name = f"{self.meta.get('data')}:{self.meta.get('backbone')}"
        return Dataset(name, self.x, self.y, k, "features", names, self.meta)


def _key(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    if key not in _SPECS:
        raise ValueError(f"unknown backbone {name!r}; known backbones: {', '.join(_SPECS)}")
    return key


def _resolve_weights(name: str, weights: str | os.PathLike | None) -> tuple[Any, Path | None]:
    """``(enum member or None, file or None)`` for ``weights``: "imagenet", a member name, a file, None."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(name)
    if weights is None:
        return None, None
    if isinstance(weights, str) and (weights.lower() == "imagenet" or weights.upper() in enum.__members__):
        return enum[_SPECS[name].weights if weights.lower() == "imagenet" else weights.upper()], None
    path = Path(weights).expanduser().absolute()
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} not found; weights should be 'imagenet', one of {name}'s torchvision weights "
            f"({', '.join(enum.__members__)}), a local state-dict file, or None (random init)"
        )
    return None, path


def build_backbone(
    name: str, *, weights: str | os.PathLike | None = "imagenet", seed: int = 0, progress: bool = False
) -> Backbone:
    """The headless torchvision backbone ``name`` (see :data:`BACKBONES`) in eval mode, frozen.

    ``weights``: ``"imagenet"`` (its default ImageNet weights, e.g. resnet50 ``IMAGENET1K_V1``), a
    member name of its torchvision weights enum (``"IMAGENET1K_V2"``, ``"DEFAULT"``), both downloaded
    by torchvision on first use; a local state-dict file of the full torchvision model (its
    classifier keys may be absent; :func:`ccel_core.models.load_weights`), never downloading; or
    None: random init under ``torch.manual_seed(seed)`` (the global RNG is left as it was). The
    transform is the chosen weights' own, else the default weights'.
    """
    from torchvision.models import get_model

    key = _key(name)
    spec = _SPECS[key]
    member, path = _resolve_weights(key, weights)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = get_model(key, weights=None)
    if member is not None:
        try:
            state = member.get_state_dict(progress=progress, check_hash=True)
        except Exception as err:  # URLError, hash mismatch, a half-written cache file
            raise RuntimeError(
                f"cannot get {key} {member.name} weights from {member.url} ({err}); offline, pass a local "
                f"copy of that file as weights (ccel features --weights FILE), or weights=None (random init)"
            ) from err
        model.load_state_dict(state)
        label = member.name
    elif path is not None:
        from .models import load_weights

        with warnings.catch_warnings():  # a file without the classifier: it is dropped anyway
            warnings.simplefilter("ignore")
            load_weights(model, path, skippable=(spec.head + ".",))
        label = f"file:{path}"
    else:
        label = f"none (random init, seed {seed})"
    parent, _, attr = spec.head.rpartition(".")
    setattr(model.get_submodule(parent), attr, nn.Identity())
    model.eval().requires_grad_(False)
    transform = (member or _resolve_weights(key, "imagenet")[0]).transforms()
    return Backbone(key, model, transform, label, spec.dim)


# ------------------------------------------------------------------------------------------
# image sources: a ccel image Dataset (tensors) or a folder of image files
# ------------------------------------------------------------------------------------------
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


def _open(data: Dataset | str | os.PathLike, n_samples: int | None, seed: int, **load: Any) -> Any:
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

    key = _key(backbone)
    for label, value, low in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{label}={value!r} should be an integer >= {low}")
    dev = _device(device)
    use_amp = dev.type == "cuda" and (amp is None or bool(amp))
    _resolve_weights(key, weights)  # a missing weights file fails before the data is loaded
    load = {"root": root, "split": split, "download": download, **(data_options or {})}
    source = _open(data, n_samples, seed, **load)
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


def check_output_path(path: str | os.PathLike) -> Path:
    """``path`` as an absolute Path, once it ends in ``.npz`` and its folder exists and is writable."""
    out = Path(path).expanduser().absolute()
    if out.suffix.lower() != ".npz":
        raise ValueError(f"output {out} should end in .npz (the feature-file format ccel fit loads)")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise ValueError(f"output folder {out.parent} is not writable")
    return out


def save_features(features: Features, path: str | os.PathLike) -> Path:
    """Write ``features`` to the ``.npz`` file ``path`` (``x``, ``y`` when labeled, ``meta`` as JSON)
    through a temporary file renamed into place: an error or Ctrl-C leaves no partial file."""
    out = check_output_path(path)
    arrays = {"x": features.x.numpy().astype(np.float32, copy=False)}
    if features.y is not None:
        arrays["y"] = features.y.numpy().astype(np.int64, copy=False)
    arrays["meta"] = np.array(json.dumps(features.meta, default=str))
    atomic_write(out, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
    return out


def feature_file_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``meta`` dict of a file written by :func:`save_features` (``{}`` for a file without one)."""
    with NpzReader(Path(path).expanduser()) as archive:  # sizes checked, errors naming the file
        return json.loads(str(archive["meta"])) if "meta" in archive.members else {}
