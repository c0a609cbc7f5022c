"""Tests for ccel_core.data: registry, synthetic sets, digits, torchvision loaders on tiny files written
in the real on-disk formats, IDX parsing, user feature files, subsampling and augmentations."""

from __future__ import annotations

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ccel_core.data import (
    CIFAR100_COARSE_NAMES,
    CIFAR100_FINE_NAMES,
    CIFAR100_FINE_TO_COARSE,
    DATASETS,
    Dataset,
    load_dataset,
    make_augmentation,
    read_idx,
    subsample_indices,
    write_idx,
)

RNG = np.random.default_rng(1234)


# ----------------------------------------------------------------------------- helpers: tiny files


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _mnist_files(raw: Path, n_train: int = 6, n_test: int = 4, gz: bool = False) -> dict[str, np.ndarray]:
    raw.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        out[prefix] = (images, labels)
    return out


def _pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def _cifar10_files(root: Path, monkeypatch: pytest.MonkeyPatch, per_batch: int = 2) -> dict[str, np.ndarray]:
    """cifar-10-batches-py with five 2-image training batches and a 3-image test batch; the class's
    md5 table is pointed at these files so torchvision's own integrity check runs and passes."""
    from torchvision.datasets import CIFAR10

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images = {"train": [], "test": []}
    labels = {"train": [], "test": []}
    for name, n, part in [*((f"data_batch_{i}", per_batch, "train") for i in range(1, 6)), ("test_batch", 3, "test")]:
        img = RNG.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        lab = RNG.integers(0, 10, size=n).tolist()
        _pickle(
            folder / name,
            {
                "batch_label": name,
                "data": img.reshape(n, -1),
                "labels": lab,
                "filenames": [f"{i}.png" for i in range(n)],
            },
        )
        images[part].append(img)
        labels[part] += lab
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _pickle(folder / "batches.meta", {"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072})
    monkeypatch.setattr(
        CIFAR10, "train_list", [[f"data_batch_{i}", _md5(folder / f"data_batch_{i}")] for i in range(1, 6)]
    )
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", _md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": _md5(folder / "batches.meta")})
    return {p: (np.concatenate(images[p]), np.asarray(labels[p])) for p in images}


def _cifar100_files(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    from torchvision.datasets import CIFAR100

    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    table = np.asarray(CIFAR100_FINE_TO_COARSE)
    out = {}
    for name, n in (("train", 5), ("test", 3)):
        img = RNG.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        fine = RNG.integers(0, 100, size=n)
        coarse = table[fine]
        _pickle(
            folder / name,
            {
                "filenames": [f"{i}.png" for i in range(n)],
                "batch_label": name,
                "fine_labels": fine.tolist(),
                "coarse_labels": coarse.tolist(),
                "data": img.reshape(n, -1),
            },
        )
        out[name] = (img, fine, coarse)
    _pickle(
        folder / "meta",
        {"fine_label_names": list(CIFAR100_FINE_NAMES), "coarse_label_names": list(CIFAR100_COARSE_NAMES)},
    )
    monkeypatch.setattr(CIFAR100, "train_list", [["train", _md5(folder / "train")]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", _md5(folder / "test")]])
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": _md5(folder / "meta")})
    return out


def _stl10_files(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stl10_binary: images stored column-major (each channel transposed), labels 1..10."""
    from torchvision.datasets import STL10

    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    out = {}
    for part, n in (("train", 3), ("test", 2), ("unlabeled", 1)):
        img = RNG.integers(0, 256, size=(n, 3, 96, 96), dtype=np.uint8)
        (folder / f"{part}_X.bin").write_bytes(np.ascontiguousarray(img.transpose(0, 1, 3, 2)).tobytes())
        lab = RNG.integers(0, 10, size=n)
        if part != "unlabeled":
            (folder / f"{part}_y.bin").write_bytes((lab + 1).astype(np.uint8).tobytes())
        out[part] = (img, lab)
    md5 = {f: _md5(folder / f) for f in ("train_X.bin", "train_y.bin", "unlabeled_X.bin", "test_X.bin", "test_y.bin")}
    monkeypatch.setattr(STL10, "train_list", [[f, md5[f]] for f in ("train_X.bin", "train_y.bin", "unlabeled_X.bin")])
    monkeypatch.setattr(STL10, "test_list", [[f, md5[f]] for f in ("test_X.bin", "test_y.bin")])
    return out


def _pixels(ds: Dataset) -> np.ndarray:
    """Undo the per-channel normalization and the /255 scaling."""
    mean = torch.tensor(ds.meta["channel_mean"]).view(1, -1, 1, 1)
    std = torch.tensor(ds.meta["channel_std"]).view(1, -1, 1, 1)
    return torch.round((ds.x * std + mean) * 255).to(torch.int64).numpy()


# ----------------------------------------------------------------------------- registry, synthetic, digits


def test_registry_names_and_unknown_name():
    assert set(DATASETS) >= {
        "blobs",
        "moons",
        "circles",
        "anisotropic",
        "digits",
        "mnist",
        "fashion-mnist",
        "cifar10",
        "cifar100-20",
        "stl10",
        "mnist-test",
    }
    with pytest.raises(ValueError, match="known names: blobs.*digits.*cifar100-20.*mnist-test"):
        load_dataset("imagenet")


def test_unknown_option_and_bad_split():
    with pytest.raises(TypeError, match="bogus.*n_clusters"):
        load_dataset("blobs", bogus=1)
    with pytest.raises(ValueError, match="split='val'"):
        load_dataset("digits", split="val")


@pytest.mark.parametrize("name,k", [("blobs", 3), ("moons", 2), ("circles", 2), ("anisotropic", 3)])
def test_synthetic_shapes_and_standardization(name, k):
    ds = load_dataset(name)
    assert len(ds) == 600 and ds.input_shape == (2,) and ds.kind == "features"
    assert ds.x.dtype == torch.float32 and ds.y.dtype == torch.int64
    assert ds.n_classes == k and set(ds.y.tolist()) == set(range(k))
    torch.testing.assert_close(ds.x.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(ds.x.std(0, unbiased=False), torch.ones(2), atol=1e-4, rtol=0)


def test_synthetic_options_and_determinism():
    a = load_dataset("blobs", n_samples=200, n_clusters=5, noise=0.5, seed=3)
    b = load_dataset("blobs", n_samples=200, n_clusters=5, noise=0.5, seed=3)
    c = load_dataset("blobs", n_samples=200, n_clusters=5, noise=0.5, seed=4)
    assert len(a) == 200 and a.n_classes == 5 and a.y.max() == 4
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    noisy = load_dataset("moons", noise=0.3, seed=0)
    clean = load_dataset("moons", noise=0.0, seed=0)
    assert not torch.allclose(noisy.x, clean.x)


def test_anisotropic_is_a_linear_map_of_blobs():
    blobs = load_dataset("blobs", n_samples=300, seed=170).x.double()
    aniso = load_dataset("anisotropic", n_samples=300, seed=170).x.double()
    # both are standardized; an affine relation fits exactly, a noticeably nonzero correlation appears
    design = torch.cat([blobs, torch.ones(300, 1, dtype=torch.float64)], 1)
    sol = torch.linalg.lstsq(design, aniso).solution
    torch.testing.assert_close(design @ sol, aniso, atol=1e-4, rtol=0)
    assert abs(torch.corrcoef(aniso.T)[0, 1]) > 0.3


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_two_class_sets_refuse_other_k(name):
    with pytest.raises(ValueError, match="exactly 2 classes.*n_clusters=3"):
        load_dataset(name, n_clusters=3)


def test_digits_features_and_images():
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 64) and ds.kind == "features" and ds.n_classes == 10
    assert ds.x.min() == 0 and ds.x.max() == 1 and ds.x.dtype == torch.float32
    assert ds.y.bincount().tolist() == np.bincount(ds.y.numpy()).tolist() and ds.y.max() == 9
    im = load_dataset("digits", as_images=True)
    assert im.x.shape == (1797, 1, 8, 8) and im.kind == "images"
    assert torch.equal(im.x.reshape(1797, 64), ds.x)


def test_subsampling_stratified_and_deterministic():
    full = load_dataset("digits")
    a = load_dataset("digits", n_samples=200, seed=5)
    b = load_dataset("digits", n_samples=200, seed=5)
    c = load_dataset("digits", n_samples=200, seed=6)
    assert len(a) == 200 and torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    expected = full.y.bincount().double() * 200 / len(full)
    assert (a.y.bincount().double() - expected).abs().max() < 1
    # every subsampled row is a row of the full set, with its label
    idx = subsample_indices(len(full), 200, y=full.y.numpy(), seed=5)
    assert torch.equal(full.x[idx], a.x) and torch.equal(full.y[idx], a.y)
    with pytest.raises(ValueError, match="n_samples=5000 exceeds the 1797"):
        load_dataset("digits", n_samples=5000)


def test_subsample_without_labels_and_largest_remainder():
    idx = subsample_indices(10, 4, seed=0)
    assert len(set(idx.tolist())) == 4 and list(idx) == sorted(idx)
    y = np.array([0] * 7 + [1] * 2 + [2])  # quotas for 5: 3.5, 1.0, 0.5
    counts = np.bincount(y[subsample_indices(10, 5, y=y, seed=0)], minlength=3)
    assert counts.sum() == 5 and counts[1] == 1 and counts[0] in (3, 4)


def test_dataset_subset_and_validation():
    ds = load_dataset("blobs", n_samples=50)
    s = ds.subset([3, 1, 4])
    assert torch.equal(s.x, ds.x[[3, 1, 4]]) and torch.equal(s.y, ds.y[[3, 1, 4]]) and s.meta["n_samples"] == 3
    mask = ds.y == 0
    assert len(ds.subset(mask)) == int(mask.sum()) and (ds.subset(mask).y == 0).all()
    assert torch.equal(ds.subset(slice(10, 20)).x, ds.x[10:20])
    assert len(ds.subset(torch.tensor([], dtype=torch.long))) == 0
    with pytest.raises(ValueError, match="integers"):
        ds.subset([0.5])
    with pytest.raises(ValueError, match="float32"):
        Dataset("bad", ds.x.double(), ds.y, 3, "features", None, {})
    with pytest.raises(ValueError, match=r"labels should lie in \[0, 1\]"):
        Dataset("bad", ds.x, ds.y, 2, "features", None, {})
    with pytest.raises(ValueError, match="kind="):
        Dataset("bad", ds.x, ds.y, 3, "table", None, {})


# ----------------------------------------------------------------------------- IDX and mnist-test


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    arr = RNG.integers(0, 256, size=(3, 5, 4), dtype=np.uint8)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    out = read_idx(path, ndim=3, dtype=np.uint8)
    assert np.array_equal(out, arr)
    ints = np.array([1, -2, 70000], dtype=np.int32)
    write_idx(tmp_path / "i.idx", ints)
    assert np.array_equal(read_idx(tmp_path / "i.idx"), ints)
    raw = (tmp_path / "i.idx").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1]) and raw[8:12] == (1).to_bytes(4, "big")  # big-endian values


def test_idx_corruptions(tmp_path):
    good = RNG.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "img", good)
    data = (tmp_path / "img").read_bytes()
    cases = {
        "bad IDX magic number 1795 \\(0x00000703\\)": b"\x00\x00\x07\x03" + data[4:],
        "bad IDX magic number": b"\x01\x02" + data[2:],
        "truncated IDX data: dims 2 x 28 x 28 need 1568 bytes, found 1000": data[: 16 + 1000],
        "truncated IDX header": data[:10],
        "size mismatch.*3 extra": data + b"abc",
        "truncated IDX file": data[:2],
    }
    for message, content in cases.items():
        (tmp_path / "bad").write_bytes(content)
        with pytest.raises(ValueError, match=message) as info:
            read_idx(tmp_path / "bad")
        assert str(tmp_path / "bad") in str(info.value)
    with pytest.raises(ValueError, match="declares 3 dims.*expected 1 dims"):
        read_idx(tmp_path / "img", ndim=1)
    with pytest.raises(ValueError, match="element type is int32, expected uint8"):
        write_idx(tmp_path / "i32", np.zeros((2, 2), np.int32))
        read_idx(tmp_path / "i32", dtype=np.uint8)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "bad.gz")


def test_mnist_test_folder(tmp_path):
    files = _mnist_files(tmp_path, gz=True)
    ds = load_dataset("mnist-test", tmp_path)
    images, labels = files["t10k"]
    assert ds.x.shape == (4, 1, 28, 28) and ds.x.dtype == torch.float32 and ds.n_classes == 10
    assert np.array_equal(_pixels(ds)[:, 0], images) and ds.y.tolist() == labels.tolist()
    assert ds.meta["split"] == "test"
    raw = load_dataset("mnist-test", tmp_path, normalize=False)
    torch.testing.assert_close(raw.x[:, 0] * 255, torch.from_numpy(images).float())


def test_mnist_test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.*download=True"):
        load_dataset("mnist-test", tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", RNG.integers(0, 256, size=(3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="3 images but .*t10k-labels-idx1-ubyte holds 2 labels"):
        load_dataset("mnist-test", tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 12], np.uint8))
    with pytest.raises(ValueError, match="label 12 out of range"):
        load_dataset("mnist-test", tmp_path)
    data = (tmp_path / "t10k-images-idx3-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(data[:-5])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte: truncated"):
        load_dataset("mnist-test", tmp_path)


# ----------------------------------------------------------------------------- torchvision sets


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_like_raw_files(tmp_path, name, folder):
    files = _mnist_files(tmp_path / folder / "raw")
    train = load_dataset(name, tmp_path)
    assert train.x.shape == (6, 1, 28, 28) and train.kind == "images" and train.n_classes == 10
    assert np.array_equal(_pixels(train)[:, 0], files["train"][0])
    assert train.y.tolist() == files["train"][1].tolist() and len(train.class_names) == 10
    test = load_dataset(name, tmp_path, split="test")
    assert np.array_equal(_pixels(test)[:, 0], files["t10k"][0])
    both = load_dataset(name, tmp_path, split="all")
    assert len(both) == 10 and torch.equal(both.x, torch.cat([train.x, test.x]))
    assert load_dataset(name, tmp_path, n_samples=5, seed=1).x.shape == (5, 1, 28, 28)


def test_mnist_gz_raw_files_and_ccel_data_env(tmp_path, monkeypatch):
    files = _mnist_files(tmp_path / "MNIST" / "raw", gz=True)
    monkeypatch.setenv("CCEL_DATA", str(tmp_path))
    ds = load_dataset("mnist")
    assert np.array_equal(_pixels(ds)[:, 0], files["train"][0])
    torch.testing.assert_close(ds.x.new_tensor(ds.meta["channel_mean"]), torch.tensor([0.1307]))


def test_cifar10_pickle_batches(tmp_path, monkeypatch):
    truth = _cifar10_files(tmp_path, monkeypatch)
    train = load_dataset("cifar10", tmp_path)
    assert train.x.shape == (10, 3, 32, 32) and train.x.dtype == torch.float32 and train.n_classes == 10
    assert np.array_equal(_pixels(train), truth["train"][0]) and train.y.tolist() == truth["train"][1].tolist()
    assert train.class_names[1] == "automobile" and train.x.is_contiguous()
    test = load_dataset("cifar10", tmp_path, split="test")
    assert np.array_equal(_pixels(test), truth["test"][0])
    assert len(load_dataset("cifar10", tmp_path, split="all")) == 13


def test_cifar10_corrupted_file_is_reported(tmp_path, monkeypatch):
    _cifar10_files(tmp_path, monkeypatch)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "ab") as f:
        f.write(b"x")
    with pytest.raises(ValueError, match="integrity.*download=True"):
        load_dataset("cifar10", tmp_path)


def test_cifar100_coarse_labels(tmp_path, monkeypatch):
    truth = _cifar100_files(tmp_path, monkeypatch)
    ds = load_dataset("cifar100-20", tmp_path)
    assert ds.n_classes == 20 and ds.class_names == list(CIFAR100_COARSE_NAMES)
    assert ds.y.tolist() == truth["train"][2].tolist()  # the coarse_labels key stored in the file
    assert np.array_equal(_pixels(ds), truth["train"][0])
    assert load_dataset("cifar100-20", tmp_path, split="test").y.tolist() == truth["test"][2].tolist()


def test_cifar100_fine_to_coarse_table_matches_superclasses():
    groups = {
        "aquatic_mammals": "beaver dolphin otter seal whale",
        "fish": "aquarium_fish flatfish ray shark trout",
        "flowers": "orchid poppy rose sunflower tulip",
        "food_containers": "bottle bowl can cup plate",
        "fruit_and_vegetables": "apple mushroom orange pear sweet_pepper",
        "household_electrical_devices": "clock keyboard lamp telephone television",
        "household_furniture": "bed chair couch table wardrobe",
        "insects": "bee beetle butterfly caterpillar cockroach",
        "large_carnivores": "bear leopard lion tiger wolf",
        "large_man-made_outdoor_things": "bridge castle house road skyscraper",
        "large_natural_outdoor_scenes": "cloud forest mountain plain sea",
        "large_omnivores_and_herbivores": "camel cattle chimpanzee elephant kangaroo",
        "medium_mammals": "fox porcupine possum raccoon skunk",
        "non-insect_invertebrates": "crab lobster snail spider worm",
        "people": "baby boy girl man woman",
        "reptiles": "crocodile dinosaur lizard snake turtle",
        "small_mammals": "hamster mouse rabbit shrew squirrel",
        "trees": "maple_tree oak_tree palm_tree pine_tree willow_tree",
        "vehicles_1": "bicycle bus motorcycle pickup_truck train",
        "vehicles_2": "lawn_mower rocket streetcar tank tractor",
    }
    assert list(groups) == list(CIFAR100_COARSE_NAMES) and len(CIFAR100_FINE_TO_COARSE) == 100
    for coarse, members in enumerate(groups.values()):
        for fine in members.split():
            assert CIFAR100_FINE_TO_COARSE[CIFAR100_FINE_NAMES.index(fine)] == coarse, fine


def test_stl10_binary(tmp_path, monkeypatch):
    truth = _stl10_files(tmp_path, monkeypatch)
    train = load_dataset("stl10", tmp_path)
    assert train.x.shape == (3, 3, 96, 96) and train.n_classes == 10 and train.class_names[0] == "airplane"
    assert np.array_equal(_pixels(train), truth["train"][0]) and train.y.tolist() == truth["train"][1].tolist()
    assert train.x.is_contiguous()
    both = load_dataset("stl10", tmp_path, split="all")
    assert len(both) == 5 and both.y[3:].tolist() == truth["test"][1].tolist()


def test_stl10_needs_every_file_torchvision_checks(tmp_path, monkeypatch):
    _stl10_files(tmp_path, monkeypatch)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    with pytest.raises(FileNotFoundError, match="unlabeled_X.bin missing.*download=True"):
        load_dataset("stl10", tmp_path)


@pytest.mark.parametrize(
    "name,where",
    [
        ("mnist", "MNIST/raw"),
        ("fashion-mnist", "FashionMNIST/raw"),
        ("cifar10", "cifar-10-batches-py"),
        ("cifar100-20", "cifar-100-python"),
        ("stl10", "stl10_binary"),
    ],
)
def test_missing_files_say_how_to_download(tmp_path, name, where):
    with pytest.raises(FileNotFoundError) as info:
        load_dataset(name, tmp_path, split="test")
    message = str(info.value)
    assert "download=True" in message and "--download" in message and "torchvision.datasets." in message
    assert str(tmp_path / where) in message


# ----------------------------------------------------------------------------- feature files


def test_npy_round_trip_with_labels_file(tmp_path):
    x = RNG.normal(size=(20, 5))
    np.save(tmp_path / "f.npy", x)
    ds = load_dataset(str(tmp_path / "f.npy"), n_clusters=4)
    assert ds.y is None and ds.n_classes == 4 and ds.kind == "features" and ds.name == str(tmp_path / "f.npy")
    torch.testing.assert_close(ds.x, torch.from_numpy(x).float())
    np.save(tmp_path / "y.npy", np.arange(20) % 3)
    labeled = load_dataset(f"file:{tmp_path / 'f.npy'}", labels=tmp_path / "y.npy")
    assert labeled.n_classes == 3 and labeled.y.tolist() == (np.arange(20) % 3).tolist()
    assert len(load_dataset(tmp_path / "f.npy", labels=tmp_path / "y.npy", n_samples=9)) == 9
    std = load_dataset(str(tmp_path / "f.npy"), n_clusters=2, standardize=True)
    torch.testing.assert_close(std.x.mean(0), torch.zeros(5), atol=1e-5, rtol=0)


def test_unlabeled_features_need_n_clusters(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="no labels: give K, the number of clusters"):
        load_dataset(str(tmp_path / "f.npy"))


@pytest.mark.parametrize("xkey,ykey", [("x", "y"), ("X", "labels"), ("features", None)])
def test_npz_keys(tmp_path, xkey, ykey):
    x = RNG.normal(size=(6, 3)).astype(np.float32)
    arrays = {xkey: x} | ({ykey: np.array([5, 5, 9, 9, 2, 2])} if ykey else {})
    np.savez(tmp_path / "f.npz", **arrays)
    ds = load_dataset(str(tmp_path / "f.npz"), n_clusters=3)
    assert torch.equal(ds.x, torch.from_numpy(x))
    if ykey:  # labels remapped to 0..C-1, original values kept as class names
        assert ds.y.tolist() == [1, 1, 2, 2, 0, 0] and ds.class_names == ["2", "5", "9"] and ds.n_classes == 3
    else:
        assert ds.y is None and ds.n_classes == 3
    np.savez(tmp_path / "g.npz", data=x)
    with pytest.raises(ValueError, match=r"expected one of the keys \('x', 'X', 'features'\), found \['data'\]"):
        load_dataset(str(tmp_path / "g.npz"), n_clusters=2)


def test_csv_header_and_label_column(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,label\n1,2,0\n3,4.5,1\n5,6,1\n")
    ds = load_dataset(str(path), label_column="label")
    assert ds.x.tolist() == [[1, 2], [3, 4.5], [5, 6]] and ds.y.tolist() == [0, 1, 1]
    assert torch.equal(load_dataset(str(path), label_column=-1).y, ds.y)
    plain = tmp_path / "p.csv"
    plain.write_text("1,2\n3,4\n")
    nolab = load_dataset(str(plain), n_clusters=2)
    assert nolab.x.tolist() == [[1, 2], [3, 4]] and nolab.y is None
    with pytest.raises(ValueError, match="label_column='nope' is not in the header"):
        load_dataset(str(path), label_column="nope")


def test_csv_non_numeric(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("1,2\n3,abc\n")
    with pytest.raises(ValueError, match=r"f.csv: non-numeric value 'abc' at line 2, column 2"):
        load_dataset(str(path), n_clusters=2)


def test_csv_ragged_rows_name_the_file_and_line(tmp_path):
    cases = {
        "long.csv": ("1,2\n3,4\n5,6,7\n", r"long.csv: ragged CSV: line 3 has 3 fields but line 1 has 2"),
        "short.csv": ("1,2,3\n4,5\n6,7,8\n", r"short.csv: ragged CSV: line 2 has 2 fields but line 1 has 3"),
        "header.csv": ("a,b,label\n1,2,0\n3,4\n", r"header.csv: ragged CSV: line 3 has 2 fields but line 1 has 3"),
        # one more field than the header: pandas would silently make the first column an index
        "index.csv": ("a,b\n1,2,3\n4,5,6\n", r"index.csv: ragged CSV: line 2 has 3 fields but line 1 has 2"),
        "blank.csv": ("\n1,2\n\n3\n", r"blank.csv: ragged CSV: line 4 has 1 field but line 2 has 2"),
    }
    for name, (text, match) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match=match + r"; expected the same number of fields \(delimiter ','\)"):
            load_dataset(str(path), n_clusters=2)
        with pytest.raises(ValueError, match=str(path)):  # the full path, not only the name
            load_dataset(f"file:{path}", n_clusters=2)
    labels = tmp_path / "labels.csv"
    labels.write_text("0\n1\n1,0\n")
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"labels.csv: ragged CSV: line 3 has 2 fields but line 1 has 1"):
        load_dataset(str(tmp_path / "x.npy"), labels=labels)
    # blank lines (also trailing ones) are not rows, and line numbers count them
    ok = tmp_path / "ok.csv"
    ok.write_text("1,2\n\n3,4\n\n\n")
    assert load_dataset(str(ok), n_clusters=2).x.tolist() == [[1, 2], [3, 4]]
    ok.write_text("a,b\n\n1,2\n3,x\n")
    with pytest.raises(ValueError, match=r"ok.csv: non-numeric value 'x' at line 4, column 2"):
        load_dataset(str(ok), n_clusters=2)
    ok.write_bytes(b"\xef\xbb\xbf1,2\n3,4\n")  # a UTF-8 byte-order mark is not a header
    assert load_dataset(str(ok), n_clusters=2).x.tolist() == [[1, 2], [3, 4]]
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match=r"bin.csv: not a UTF-8 text CSV file"):
        load_dataset(str(binary), n_clusters=2)


def test_nan_and_inf_features_are_refused(tmp_path):
    x = np.ones((10, 3))
    x[2, 0] = x[2, 1] = x[7, 2] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(ValueError, match=r"nan.npy: features contain 3 NaN values at rows \[2, 7\]"):
        load_dataset(str(tmp_path / "nan.npy"), n_clusters=2)
    x = np.ones((4, 2))
    x[1, 1] = np.inf
    np.save(tmp_path / "inf.npy", x)
    with pytest.raises(ValueError, match=r"1 Inf values at rows \[1\]"):
        load_dataset(str(tmp_path / "inf.npy"), n_clusters=2)
    (tmp_path / "nan.csv").write_text("1,2\n,3\n")
    with pytest.raises(ValueError, match="1 NaN values"):
        load_dataset(str(tmp_path / "nan.csv"), n_clusters=2)


def test_bad_feature_arrays(tmp_path):
    np.save(tmp_path / "three_d.npy", np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"must be a 2-D array.*\(2, 3, 4\)"):
        load_dataset(str(tmp_path / "three_d.npy"), n_clusters=2)
    np.save(tmp_path / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="features must be numeric"):
        load_dataset(str(tmp_path / "text.npy"), n_clusters=2)
    np.save(tmp_path / "obj.npy", np.array([[1, "x"], [2, None]], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="obj.npy: holds a pickled object array"):
        load_dataset(str(tmp_path / "obj.npy"), n_clusters=2)
    np.savez(tmp_path / "obj.npz", x=np.zeros((2, 2)), y=np.array([object(), object()], dtype=object))
    with pytest.raises(ValueError, match="obj.npz: holds a pickled object array"):
        load_dataset(str(tmp_path / "obj.npz"))
    with pytest.raises(FileNotFoundError):
        load_dataset(str(tmp_path / "missing.npy"), n_clusters=2)


def test_bad_labels(tmp_path):
    np.savez(tmp_path / "short.npz", x=np.zeros((5, 2)), y=np.arange(4))
    with pytest.raises(ValueError, match="short.npz: 4 labels for 5 feature rows"):
        load_dataset(str(tmp_path / "short.npz"))
    np.savez(tmp_path / "frac.npz", x=np.zeros((3, 2)), y=np.array([0.0, 1.5, 1.0]))
    with pytest.raises(ValueError, match="labels must be integers; 1 are not, e.g. 1.5 at row 1"):
        load_dataset(str(tmp_path / "frac.npz"))
    np.savez(tmp_path / "ok.npz", x=np.zeros((3, 2)), y=np.array([0.0, 2.0, 1.0]))
    assert load_dataset(str(tmp_path / "ok.npz")).y.tolist() == [0, 2, 1]


# ----------------------------------------------------------------------------- augmentation


def test_augmentation_none_and_zero_strength_are_identity():
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(make_augmentation("none", (1, 28, 28))(x), x)
    assert torch.equal(make_augmentation("images", (1, 28, 28), strength=0.0)(x), x)
    with pytest.raises(ValueError, match="unknown augmentation kind"):
        make_augmentation("mixup", (1, 28, 28))
    with pytest.raises(ValueError, match="needs an input_shape of 1 dims"):
        make_augmentation("features", (1, 28, 28))


@pytest.mark.parametrize(
    "kind,shape",
    [("images", (1, 28, 28)), ("images", (3, 32, 32)), ("rgb", (3, 96, 96)), ("features", (16,)), ("auto", (2,))],
)
def test_augmentation_shape_determinism_and_per_sample(kind, shape):
    aug = make_augmentation(kind, shape)
    base = torch.rand(1, *shape)
    x = base.expand(6, *shape).clone()  # six identical samples
    torch.manual_seed(0)
    a = aug(x)
    torch.manual_seed(0)
    b = aug(x)
    torch.manual_seed(1)
    c = aug(x)
    assert a.shape == x.shape and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)
    differs = [not torch.allclose(a[0], a[i]) for i in range(1, 6)]
    assert all(differs), "each sample must get its own random transform"
    with pytest.raises(ValueError, match="built for batches of shape"):
        aug(torch.rand(2, 5))


def test_augmentation_respects_channel_normalization():
    ds = load_dataset("digits", as_images=True)  # [0, 1] images, black background
    mean, std = [0.2], [0.4]
    normed = (ds.x[:32] - 0.2) / 0.4
    aug = make_augmentation("grey", (1, 8, 8), strength=2.0, mean=mean, std=std)
    torch.manual_seed(0)
    out = aug(normed)
    # the affine fill is pixel value 0, i.e. -mean/std after normalization, never below
    assert out.min() >= -0.5 - 1e-5 and torch.isclose(out.min(), torch.tensor(-0.5))
    rgb = make_augmentation("rgb", (3, 8, 8), mean=[0.5] * 3, std=[0.25] * 3)
    y = rgb(torch.rand(5, 3, 8, 8) * 4 - 2)
    assert y.min() >= -2 - 1e-5 and y.max() <= 2 + 1e-5  # colour jitter clamps in pixel space [0, 1]


def test_feature_noise_scale_and_dropout():
    x = torch.randn(400, 3) * torch.tensor([1.0, 10.0, 0.0]) + torch.tensor([0.0, 0.0, 5.0])  # feature 2 constant
    ds = Dataset("toy", x, None, 2, "features", None, {})
    torch.manual_seed(0)
    out = ds.augmentation(strength=1.0)(x)
    dropped = out == 0
    assert 0.05 < dropped.float().mean() < 0.15  # p_drop = 0.1
    delta = (out - x)[~dropped]
    kept = ~dropped
    noise_std = torch.stack([(out - x)[kept[:, d], d].std() for d in range(3)])
    assert 0.07 < noise_std[0] < 0.13 and 0.7 < noise_std[1] < 1.3 and noise_std[2] == 0  # 0.1 x feature std
    assert delta.abs().max() > 0
    with pytest.raises(ValueError, match="feature scale needs 1 or 3 values"):
        make_augmentation("features", (3,), std=[1.0, 2.0])


def test_dataset_augmentation_helper(tmp_path):
    _mnist_files(tmp_path, gz=False)
    ds = load_dataset("mnist-test", tmp_path)
    torch.manual_seed(0)
    out = ds.augmentation()(ds.x)
    assert out.shape == ds.x.shape and out.min() >= ds.x.min() - 1e-5


def test_random_bytes_as_npz_are_not_called_a_pickle(tmp_path) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match=r"not a \.npz file \(not a zip archive\)") as info:
        load_dataset(path, n_clusters=2)
    assert str(path) in str(info.value) and "pickle" not in str(info.value)
