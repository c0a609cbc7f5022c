"""The data set registry: :data:`DATASETS` and :func:`load_dataset`, plus the built-in sets
(scikit-learn's synthetic 2-D generators and its bundled ``digits``), which need no download."""

from __future__ import annotations

import inspect
import math
import numbers
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..names import DATASETS, SYNTHETIC
from .dataset import Dataset, maybe_subsample
from .features import is_feature_file, load_feature_file
from .vision import SPLITS, load_mnist_test, load_vision

# The linear map of scikit-learn's "anisotropicly distributed blobs" example.
ANISOTROPIC_MAP = np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])


def default_root() -> Path:
    """Where image data sets live when ``root`` is None: ``$CCEL_DATA``, else ``./data``."""
    return Path(os.environ.get("CCEL_DATA") or "data").expanduser()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
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


class OptionError(ValueError):
    """An option of :func:`load_dataset` whose value has the wrong type; ``key``, ``value`` and
    ``reason`` let a caller name it its own way (``ccel … --data-option KEY=VALUE: reason``)."""

    def __init__(self, dataset: str, key: str, value: Any, expected: str) -> None:
        self.key, self.value = key, value
        self.reason = f"expected {expected} (an option of data set {dataset!r})"
        super().__init__(f"option {key}={value!r}: {self.reason}")


class UnknownOptionError(TypeError):
    """An option this data set does not take (``key``: the first one; ``reason``: what it takes)."""

    def __init__(self, dataset: str, unknown: list[str], allowed: list[str]) -> None:
        self.key, self.reason = (
            unknown[0],
            f"not an option of data set {dataset!r}; allowed options: {allowed or 'none'}",
        )
        super().__init__(f"unknown option(s) {unknown} for data set {dataset!r}; allowed options: {allowed or 'none'}")


_KINDS: dict[Any, str] = {
    bool: "a boolean (true/false)",
    int: "an integer",
    float: "a finite number",
    str: "a string",
    os.PathLike: "a path",
    np.ndarray: "an array",
    type(None): "none",
}


def _option_value(dataset: str, key: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the annotation ``hint`` of option ``key`` (booleans given as
    text or 0/1 become bools); :class:`OptionError` naming it otherwise."""
    kinds = list(typing.get_args(hint)) or [hint]
    for kind in kinds:
        if kind is Any:
            return value
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
                return _as_bool(value.strip(), key)
            if isinstance(value, numbers.Integral) and value in (0, 1):
                return bool(value)
        elif kind is int:
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                return value
        elif kind is float:
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
                return value
        elif kind is np.ndarray:  # any array-like (a list, a tuple, a tensor), as np.asarray takes it
            if not isinstance(value, (str, bytes, dict, os.PathLike)) and hasattr(value, "__len__"):
                return value
        elif isinstance(kind, type) and isinstance(value, kind):
            return value
    raise OptionError(dataset, key, value, " or ".join(_KINDS.get(k, getattr(k, "__name__", str(k))) for k in kinds))


def _check_options(name: str, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as keyword arguments of ``func``: unknown names raise :class:`UnknownOptionError`
    (a ``TypeError``), values of the wrong type :class:`OptionError` (a ``ValueError``); returns
    them checked (booleans normalized)."""
    params = {p.name: p for p in inspect.signature(func).parameters.values() if p.kind == p.KEYWORD_ONLY}
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise UnknownOptionError(name, unknown, list(params))
    hints = typing.get_type_hints(func)
    return {key: _option_value(name, key, value, hints.get(key, Any)) for key, value in options.items()}


def _loader(name: str | os.PathLike) -> tuple[str, Callable[..., Any]]:
    """The registry key of ``name`` (a feature file: the path) and the function whose keyword-only
    parameters are its options; ``ValueError`` for an unknown name."""
    text = os.fspath(name)
    if isinstance(name, os.PathLike) or is_feature_file(text):
        return text, load_feature_file
    key = text.strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(
            f"unknown data set {text!r}; known names: {', '.join(DATASETS)}, or a path to a .npy/.npz/.csv feature file"
        )
    return key, _synthetic if key in SYNTHETIC else _digits if key == "digits" else _vision_options


def check_options(name: str | os.PathLike, options: dict[str, Any]) -> dict[str, Any]:
    """Check ``options`` as the keyword arguments of ``load_dataset(name, **options)`` without
    loading anything: its own (``root``, ``download``, ``split``, ``n_samples``, ``seed``) and the
    data set's options (see :func:`load_dataset`), by name and by type. Raises ``ValueError`` for an
    unknown data set, :class:`UnknownOptionError` (a ``TypeError``) for an option it does not take,
    :class:`OptionError` (a ``ValueError``, naming the option and what was expected) for a value of
    the wrong type. Returns the options checked (booleans given as text normalized)."""
    key, func = _loader(name)
    own = {k: v for k, v in options.items() if k in _OWN}
    hints = typing.get_type_hints(load_dataset)
    checked = {k: _option_value(key, k, v, hints[k]) for k, v in own.items()}
    return {**checked, **_check_options(key, func, {k: v for k, v in options.items() if k not in _OWN})}


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
        ValueError: unknown name (the message lists the known ones), bad split or option values
            (:class:`OptionError` for an option of the wrong type), corrupted or invalid files.
        TypeError: an option this data set does not take (:class:`UnknownOptionError`).
        FileNotFoundError: data files missing (the message says how to get them).
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} should be one of {SPLITS}")
    key, func = _loader(name)
    options = _check_options(key, func, options)
    if func is load_feature_file:
        return maybe_subsample(load_feature_file(key, **options), n_samples, seed)
    if key in SYNTHETIC:
        return _synthetic(key, n_samples, int(seed), **options)
    if key == "digits":
        return maybe_subsample(_digits(**options), n_samples, seed)
    normalize = _as_bool(options.get("normalize", True), "normalize")
    base = default_root() if root is None else Path(root).expanduser()
    if key == "mnist-test":
        ds = load_mnist_test(base, download=download, normalize=normalize)
    else:
        ds = load_vision(key, base, split, download, normalize)
    return maybe_subsample(ds, n_samples, seed)


# load_dataset's own keyword parameters (the rest are the data set's options)
_OWN: tuple[str, ...] = tuple(p for p in inspect.signature(load_dataset).parameters if p not in ("name", "options"))
