"""Image data sets through torchvision (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100-20, STL-10) and
the ``mnist-test`` folder of raw IDX files. Nothing is ever downloaded unless ``download=True``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .dataset import Dataset, images_from_uint8
from .idx import read_idx

SPLITS: tuple[str, ...] = ("train", "test", "all")

CIFAR100_FINE_NAMES: tuple[str, ...] = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip
CIFAR100_COARSE_NAMES: tuple[str, ...] = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
)  # fmt: skip
# fine label (alphabetical index above) -> coarse label (superclass), the standard CIFAR-100 table.
CIFAR100_FINE_TO_COARSE: tuple[int, ...] = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
)  # fmt: skip
STL10_NAMES: tuple[str, ...] = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")


def _parts(split: str) -> list[bool]:
    """Which torchvision ``train`` flags a split needs."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} should be one of {SPLITS}")
    return {"train": [True], "test": [False], "all": [True, False]}[split]


def _missing_message(name: str, folder: Path, missing: list[str], source: str) -> str:
    return (
        f"{name} files not found: {', '.join(missing)} missing in {folder}. ccel never downloads on its own: "
        f"pass download=True to load_dataset (or the --download flag of the `ccel` command), which fetches "
        f"them with {source}, or put the files in {folder} yourself."
    )


def _with_torchvision(
    make: Callable[[], Any], name: str, folder: Path, needed: list[str], every: list[str], source: str, download: bool
) -> Any:
    """Run a torchvision constructor, turning its RuntimeErrors into FileNotFoundError / ValueError."""
    missing = [f for f in needed if not (folder / f).is_file()]
    if missing and not download:
        raise FileNotFoundError(_missing_message(name, folder, missing, source))
    try:
        return make()
    except RuntimeError as err:
        missing = [f for f in every if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(_missing_message(name, folder, missing, source)) from err
        raise ValueError(
            f"{name}: the files in {folder} fail torchvision's integrity (md5) check ({err}); "
            "delete them and load again with download=True"
        ) from err


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_pair(images_path: Path, labels_path: Path, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)``-like uint8 and labels ``(N,)``, checked against each other."""
    images = read_idx(images_path, ndim=3, dtype=np.uint8)
    labels = read_idx(labels_path, ndim=1, dtype=np.uint8)
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; expected equal counts"
        )
    if len(labels) and labels.max() >= n_classes:
        raise ValueError(f"{labels_path}: label {int(labels.max())} out of range; expected 0..{n_classes - 1}")
    return images, labels.astype(np.int64)


def _mnist_like(
    cls_name: str, name: str, root: Path, split: str, download: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """MNIST-style raw IDX files from ``root/<cls_name>/raw`` (plain or ``.gz``), read by :func:`read_idx`."""
    from torchvision import datasets

    cls = getattr(datasets, cls_name)
    raw = root / cls_name / "raw"
    if download:
        cls(str(root), train=True, download=True)  # downloads and extracts all four files
    xs, ys = [], []
    for train in _parts(split):
        prefix = "train" if train else "t10k"
        stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        found = [_find_idx(raw, s) for s in stems]
        if None in found:
            url = cls.mirrors[0] if getattr(cls, "mirrors", None) else "its mirrors"
            missing = [f"{s}[.gz]" for s, p in zip(stems, found) if p is None]
            raise FileNotFoundError(_missing_message(name, raw, missing, f"torchvision.datasets.{cls_name} from {url}"))
        assert found[0] is not None and found[1] is not None  # a missing file raised just above
        images, labels = read_idx_pair(found[0], found[1])
        xs.append(images)
        ys.append(labels)
    return np.concatenate(xs)[:, None], np.concatenate(ys), [str(c) for c in cls.classes]


def _cifar(
    cls_name: str, name: str, root: Path, split: str, download: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from torchvision import datasets

    cls = getattr(datasets, cls_name)
    folder = root / cls.base_folder
    every = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    source = f"torchvision.datasets.{cls_name} from {cls.url}"
    xs, ys, classes = [], [], []
    for train in _parts(split):
        ds = _with_torchvision(
            functools.partial(cls, str(root), train=train, download=download),
            name,
            folder,
            every,
            every,
            source,
            download,
        )
        xs.append(np.asarray(ds.data).transpose(0, 3, 1, 2))
        ys.append(np.asarray(ds.targets, dtype=np.int64))
        classes = list(ds.classes)
    return np.concatenate(xs), np.concatenate(ys), classes


def _stl10(root: Path, split: str, download: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from torchvision.datasets import STL10

    folder = root / STL10.base_folder
    every = [f for f, _ in STL10.train_list + STL10.test_list]
    xs, ys, classes = [], [], list(STL10_NAMES)
    for train in _parts(split):
        part = "train" if train else "test"
        needed = [f"{part}_X.bin", f"{part}_y.bin"]
        ds = _with_torchvision(
            functools.partial(STL10, str(root), split=part, download=download),
            "stl10",
            folder,
            needed,
            every,
            f"torchvision.datasets.STL10 from {STL10.url}",
            download,
        )
        if len(ds.data) != len(ds.labels):
            raise ValueError(f"stl10: {folder} holds {len(ds.data)} {part} images but {len(ds.labels)} labels")
        xs.append(np.asarray(ds.data))
        ys.append(np.asarray(ds.labels, dtype=np.int64))
        classes = list(getattr(ds, "classes", classes))
    return np.concatenate(xs), np.concatenate(ys), classes


def load_vision(name: str, root: Path, split: str, download: bool, normalize: bool = True) -> Dataset:
    """One of ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100-20``, ``stl10`` as normalized images."""
    stats = {
        "mnist": "mnist",
        "fashion-mnist": "fashion-mnist",
        "cifar10": "cifar10",
        "cifar100-20": "cifar100",
        "stl10": "stl10",
    }[name]
    if name == "mnist":
        images, labels, classes = _mnist_like("MNIST", name, root, split, download)
    elif name == "fashion-mnist":
        images, labels, classes = _mnist_like("FashionMNIST", name, root, split, download)
    elif name == "cifar10":
        images, labels, classes = _cifar("CIFAR10", name, root, split, download)
    elif name == "cifar100-20":
        images, fine, fine_names = _cifar("CIFAR100", name, root, split, download)
        if tuple(fine_names) != CIFAR100_FINE_NAMES:
            raise ValueError(
                f"cifar100-20: {root / 'cifar-100-python' / 'meta'} lists unexpected fine label names; cannot map them to the 20 superclasses"
            )
        labels, classes = np.asarray(CIFAR100_FINE_TO_COARSE, dtype=np.int64)[fine], list(CIFAR100_COARSE_NAMES)
    else:
        images, labels, classes = _stl10(root, split, download)
    x, norm_meta = images_from_uint8(images, stats, normalize)
    n_classes = len(classes)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name}: labels in [{labels.min()}, {labels.max()}], expected 0..{n_classes - 1}")
    meta = {
        "source": f"torchvision ({root})",
        "root": str(root),
        "split": split,
        "n_samples": len(x),
        "shape": list(x.shape),
        **norm_meta,
    }
    if name == "cifar100-20":
        meta["labels"] = "CIFAR-100 coarse labels (20 superclasses), mapped from the fine labels"
    return Dataset(name, x, torch.from_numpy(labels), n_classes, "images", classes, meta)


def load_mnist_test(root: Path, download: bool = False, normalize: bool = True) -> Dataset:
    """The MNIST test split from a folder of raw IDX files (``root``, ``root/MNIST/raw`` or ``root/mnist``)."""
    if download:
        from torchvision.datasets import MNIST

        MNIST(str(root), train=False, download=True)
    stems = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    for folder in (root, root / "MNIST" / "raw", root / "mnist"):
        found = [_find_idx(folder, s) for s in stems]
        if None not in found:
            break
    else:
        raise FileNotFoundError(
            f"mnist-test: {stems[0]}[.gz] and {stems[1]}[.gz] not found in {root} (nor in {root / 'MNIST' / 'raw'}, "
            f"{root / 'mnist'}). Get them from https://ossci-datasets.s3.amazonaws.com/mnist/, or pass download=True "
            "(or the --download flag of the `ccel` command) to fetch them with torchvision.datasets.MNIST "
            f"into {root / 'MNIST' / 'raw'}."
        )
    assert found[0] is not None and found[1] is not None  # the loop broke on a folder holding both
    images, labels = read_idx_pair(found[0], found[1])
    x, norm_meta = images_from_uint8(images[:, None], "mnist", normalize)
    meta = {
        "source": str(found[0].parent),
        "files": [str(p) for p in found],
        "split": "test",
        "n_samples": len(x),
        "shape": list(x.shape),
        **norm_meta,
    }
    return Dataset("mnist-test", x, torch.from_numpy(labels), 10, "images", [str(i) for i in range(10)], meta)
