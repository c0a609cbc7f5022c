"""The data set registry: :data:`DATASETS` and :func:`load_dataset`, plus the built-in sets
(scikit-learn's synthetic 2-D generators and its bundled ``digits``), which need no download."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .dataset import Dataset, maybe_subsample
from .features import is_feature_file, load_feature_file
from .vision import SPLITS, load_mnist_test, load_vision

SYNTHETIC: tuple[str, ...] = ("blobs", "moons", "circles", "anisotropic")
VISION: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10", "cifar100-20", "stl10")
DATASETS: tuple[str, ...] = (*SYNTHETIC, "digits", *VISION, "mnist-test")

# The linear map of scikit-learn's "anisotropicly distributed blobs" example.
ANISOTROPIC_MAP = np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])


def default_root() -> Path:
    """Where image data sets live when ``root`` is None: ``$CCEL_DATA``, else ``./data``."""
    return Path(os.environ.get("CCEL_DATA") or "data").expanduser()


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}={value!r} should be a boolean")
    return bool(value)


def _synthetic(
    name: str,
    n_samples: int | None,
    seed: int,
    *,
    n_clusters: int | None = None,
    noise: float | None = None,
    factor: float = 0.5,
) -> Dataset:
    """Standardized 2-D points from scikit-learn's generators (see :func:`load_dataset`)."""
    from sklearn import datasets as skd

    n = 600 if n_samples is None else int(n_samples)
    two_class = name in ("moons", "circles")
    k = (2 if two_class else 3) if n_clusters is None else int(n_clusters)
    if two_class and k != 2:
        raise ValueError(f"{name} has exactly 2 classes; got n_clusters={k} (use 'blobs' or 'anisotropic' for other K)")
    if k < 1:
        raise ValueError(f"n_clusters={k} should be >= 1")
    if n < k:
        raise ValueError(f"n_samples={n} should be >= n_clusters={k}")
    if noise is not None and float(noise) < 0:
        raise ValueError(f"noise={noise} should be >= 0")
    if name == "blobs":
        noise = 1.0 if noise is None else float(noise)
        x, y = skd.make_blobs(n_samples=n, centers=k, cluster_std=noise, random_state=seed)
    elif name == "anisotropic":
        noise = 1.0 if noise is None else float(noise)
        x, y = skd.make_blobs(n_samples=n, centers=k, cluster_std=noise, random_state=seed)
        x = x @ ANISOTROPIC_MAP
    elif name == "moons":
        noise = 0.1 if noise is None else float(noise)
        x, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
    else:
        noise = 0.05 if noise is None else float(noise)
        if not 0 < float(factor) < 1:
            raise ValueError(f"factor={factor} should lie in (0, 1)")
        x, y = skd.make_circles(n_samples=n, noise=noise, factor=float(factor), random_state=seed)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    meta = {
        "source": f"sklearn.datasets ({name})",
        "split": "all",
        "n_samples": n,
        "shape": [n, 2],
        "noise": noise,
        "seed": seed,
        "normalization": "standardized per feature (zero mean, unit variance)",
    }
    return Dataset(
        name,
        torch.from_numpy(x.astype(np.float32)),
        torch.from_numpy(y.astype(np.int64)),
        k,
        "features",
        [str(i) for i in range(k)],
        meta,
    )


def _digits(*, as_images: bool = False) -> Dataset:
    """scikit-learn's bundled 8x8 digits, pixel values / 16 in [0, 1] (no per-channel normalization)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy((bunch.data / 16.0).astype(np.float32))
    as_images = _as_bool(as_images, "as_images")
    if as_images:
        x = x.reshape(-1, 1, 8, 8)
    meta = {
        "source": "sklearn.datasets.load_digits",
        "split": "all",
        "n_samples": len(x),
        "shape": list(x.shape),
        "normalization": "scaled to [0, 1] (pixel / 16); no per-channel normalization",
    }
    return Dataset(
        "digits",
        x,
        torch.from_numpy(bunch.target.astype(np.int64)),
        10,
        "images" if as_images else "features",
        [str(i) for i in range(10)],
        meta,
    )


def _check_options(name: str, func: Callable[..., Any], options: dict[str, Any]) -> None:
    allowed = [p.name for p in inspect.signature(func).parameters.values() if p.kind == p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for data set {name!r}; allowed options: {allowed or 'none'}")


def _vision_options(*, normalize: bool = True) -> None:
    """Options of the image sets."""


def load_dataset(
    name: str | os.PathLike,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: str = "train",
    n_samples: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Dataset:
    """Load a data set by name (see :data:`DATASETS`) or a user feature file by path.

    Args:
        name: A registry name, or a ``.npy`` / ``.npz`` / ``.csv`` path (optionally ``file:``-prefixed).
        root: Folder of the image sets (default ``$CCEL_DATA``, else ``./data``); for ``mnist-test`` the
            folder holding the ``t10k-*`` IDX files. Unused by the synthetic sets, digits and files.
        download: Let torchvision download missing files (never done otherwise).
        split: ``"train"``, ``"test"`` or ``"all"`` (both, concatenated) for the torchvision sets; the
            synthetic sets, digits, ``mnist-test`` (the MNIST test split) and files have one split and ignore it.
        n_samples: Synthetic sets: how many points to generate (default 600). Everything else: a
            deterministic subsample (stratified by label when labeled, random otherwise) of that size.
        seed: Seeds the synthetic generators and the subsampling.
        **options: Per data set:
            synthetic: ``n_clusters`` (blobs/anisotropic: default 3; moons/circles: only 2), ``noise``
            (blobs/anisotropic: cluster std, default 1.0; moons: 0.1; circles: 0.05), ``factor`` (circles, 0.5);
            digits: ``as_images`` (``(N, 1, 8, 8)`` instead of ``(N, 64)``);
            image sets and mnist-test: ``normalize`` (default True; False keeps [0, 1]);
            files: ``labels``, ``label_column``, ``n_clusters``, ``delimiter``, ``standardize``.

    Raises:
        ValueError: unknown name (the message lists the known ones), bad split or option values,
            corrupted or invalid files. TypeError: an option this data set does not take.
        FileNotFoundError: data files missing (the message says how to get them).
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} should be one of {SPLITS}")
    text = os.fspath(name)
    if isinstance(name, os.PathLike) or is_feature_file(text):
        _check_options(text, load_feature_file, options)
        ds = load_feature_file(text, **options)
        return maybe_subsample(ds, n_samples, seed)
    key = text.strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(
            f"unknown data set {text!r}; known names: {', '.join(DATASETS)}, or a path to a .npy/.npz/.csv feature file"
        )
    if key in SYNTHETIC:
        _check_options(key, _synthetic, options)
        return _synthetic(key, n_samples, int(seed), **options)
    if key == "digits":
        _check_options(key, _digits, options)
        return maybe_subsample(_digits(**options), n_samples, seed)
    _check_options(key, _vision_options, options)
    normalize = _as_bool(options.get("normalize", True), "normalize")
    base = default_root() if root is None else Path(root).expanduser()
    if key == "mnist-test":
        ds = load_mnist_test(base, download=download, normalize=normalize)
    else:
        ds = load_vision(key, base, split, download, normalize)
    return maybe_subsample(ds, n_samples, seed)
