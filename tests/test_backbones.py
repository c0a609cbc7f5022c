"""``ccel_core.backbones`` and ``ccel features``: frozen torchvision backbones as feature extractors.

Random weights only (nothing is downloaded): a few images, resnet18 mostly, resnet50 once.
"""

from __future__ import annotations

import re
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from ccel_core.backbones import (
    BACKBONES,
    build_backbone,
    extract_features,
    feature_file_meta,
    save_features,
)
from ccel_core.cli import main
from ccel_core.data import Dataset, load_dataset

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "data_local" / "mnist"


def digits(n: int = 4) -> Dataset:
    return load_dataset("digits", n_samples=n, as_images=True)


def features(data: object = None, backbone: str = "resnet18", **kw: object) -> torch.Tensor:
    kw = {"weights": None, "progress": False, **kw}
    return extract_features(digits() if data is None else data, backbone, **kw).x  # type: ignore[arg-type]


def grey_to_rgb(ds: Dataset) -> Dataset:
    rgb = ds.x.expand(-1, 3, -1, -1).contiguous()
    return Dataset("rgb", rgb, ds.y, ds.n_classes, "images", ds.class_names, {})


@pytest.mark.parametrize("name", list(BACKBONES))
def test_feature_dimension_of_each_backbone(name: str) -> None:
    assert BACKBONES["resnet18"] == 512 and BACKBONES["resnet50"] == 2048
    if name == "resnet50":  # once end to end (224×224 after its transform), two images
        out = extract_features(digits(2), name, weights=None, progress=False)
        assert out.x.shape == (2, 2048) and out.x.dtype == torch.float32 and out.meta["dim"] == 2048
        return
    net = build_backbone(name, weights=None)
    assert not net.module.training and not any(p.requires_grad for p in net.module.parameters())
    with torch.inference_mode():
        assert net.module(torch.rand(2, 3, 64, 64)).shape == (2, BACKBONES[name])


def test_deterministic_and_independent_of_the_batch_size() -> None:
    a, b = features(), features()
    assert a.shape == (4, 512) and torch.equal(a, b)
    torch.testing.assert_close(features(batch_size=3), a, rtol=1e-4, atol=1e-5)


def test_grey_images_are_repeated_to_three_channels() -> None:
    grey = digits()
    assert grey.x.shape[1] == 1
    torch.testing.assert_close(features(grey), features(grey_to_rgb(grey)))


@pytest.mark.skipif(not MNIST.is_dir(), reason="data_local/mnist (MNIST test IDX files) not present")
def test_ccel_normalized_images_are_mapped_back_to_unit_range() -> None:
    normalized = load_dataset("mnist-test", root=MNIST, n_samples=3)
    raw = load_dataset("mnist-test", root=MNIST, n_samples=3, normalize=False)
    assert normalized.x.min() < 0 and "channel_mean" in normalized.meta
    torch.testing.assert_close(features(normalized), features(raw), rtol=1e-4, atol=1e-4)
    out = extract_features("mnist-test", "resnet18", weights=None, root=MNIST, n_samples=3, progress=False)
    torch.testing.assert_close(out.x, features(normalized))
    assert out.meta["data"] == "mnist-test" and out.meta["data_meta"]["split"] == "test"


def test_images_outside_the_unit_range_are_refused() -> None:
    ds = digits()
    bad = Dataset("bad", ds.x * 255, ds.y, ds.n_classes, "images", ds.class_names, {})
    with pytest.raises(ValueError, match=r"'bad'.*\[0, 1\]"):
        features(bad)


def test_saved_file_loads_back_and_ccel_fit_trains_on_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "digits_r18.npz"
    args = ["--data", "digits", "--n-samples", "6", "--backbone", "resnet18", "--no-pretrained"]
    assert main(["features", *args, "--out", str(out), "--no-progress"]) == 0
    assert f"wrote {out}: 6×512 resnet18 features" in capsys.readouterr().out
    ds = load_dataset(out)
    assert ds.kind == "features" and ds.x.shape == (6, 512) and ds.y is not None
    with np.load(out, allow_pickle=False) as f:
        assert f["x"].dtype == np.float32 and f["y"].dtype == np.int64
        torch.testing.assert_close(ds.x, torch.from_numpy(f["x"]))
    meta = feature_file_meta(out)
    assert meta["backbone"] == "resnet18" and meta["data"] == "digits" and meta["n"] == 6
    assert meta["weights"].startswith("none (random init")
    torch.testing.assert_close(ds.x, features(digits(6)))  # the command equals the function
    runs = tmp_path / "runs"
    fit = ["fit", "--data", str(out), "--epochs", "1", "--runs-dir", str(runs), "--no-progress"]
    assert main(fit) == 0
    assert list(tmp_path.glob(".*.tmp")) == []


def test_weights_file_is_loaded(tmp_path: Path) -> None:
    from torchvision.models import resnet18

    zeros = {k: torch.zeros_like(v) for k, v in resnet18().state_dict().items()}
    torch.save(zeros, tmp_path / "zeros.pt")
    headless = {k: v for k, v in zeros.items() if not k.startswith("fc.")}  # no classifier: loads too
    torch.save({"state_dict": headless}, tmp_path / "headless.pt")
    random = features()
    assert random.abs().sum() > 0
    for name in ("zeros.pt", "headless.pt"):
        out = extract_features(digits(), "resnet18", weights=tmp_path / name, progress=False)
        assert torch.equal(out.x, torch.zeros(4, 512)) and out.meta["weights"] == f"file:{tmp_path / name}"
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt does not fit"):
        build_backbone("resnet18", weights=tmp_path / "bad.pt")


def test_imagenet_weights_come_from_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import ResNet18_Weights, resnet18

    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v for k, v in resnet18().state_dict().items()}
    calls = []
    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", lambda self, **kw: calls.append(self.name) or state)
    net = build_backbone("resnet18")
    assert calls == ["IMAGENET1K_V1"] and net.weights == "IMAGENET1K_V1"
    assert torch.equal(net.module.conv1.weight, torch.full((64, 3, 7, 7), 0.5))
    assert "resize_size=[256]" in " ".join(str(net.transform).split())

    def offline(self: object, **kw: object) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", offline)
    with pytest.raises(RuntimeError, match=r"resnet18-f37072fd\.pth.*--weights FILE"):
        build_backbone("resnet18", weights="IMAGENET1K_V1")


def test_image_folder_labeled_and_flat(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i, (cls, mode) in enumerate([("cat", "RGB"), ("cat", "L"), ("dog", "RGB"), ("dog", "P")]):
        (tmp_path / "set" / cls).mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(tmp_path / "set" / cls / f"{i}.png")
    out = extract_features(tmp_path / "set", "resnet18", weights=None, progress=False)
    assert out.x.shape == (4, 512) and out.y is not None and out.y.tolist() == [0, 0, 1, 1]
    assert out.class_names == ["cat", "dog"] and out.to_dataset().n_classes == 2
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in sorted((tmp_path / "set").rglob("*.png")):
        p.rename(flat / f"{p.parent.name}-{p.name}")
    again = extract_features(flat, "resnet18", weights=None, progress=False, n_samples=2)
    assert again.y is None and again.x.shape == (2, 512)
    with pytest.raises(ValueError, match="n_clusters"):
        again.to_dataset()
    assert again.to_dataset(n_clusters=2).n_classes == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        extract_features(tmp_path / "empty", "resnet18", weights=None, progress=False)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "digits", "--backbone", "vgg99"], r"unknown backbone 'vgg99'; known backbones: resnet18, resnet50"),
        (["--data", "digits", "--weights", "missing.pt"], r"weights file .*missing\.pt not found"),
        (["--data", "blobs"], r"data 'blobs' is a feature data set"),
        (["--data", "no-such-set"], r"unknown data 'no-such-set'"),
        (["--data", "digits", "--batch-size", "0"], r"--batch-size: expected an integer >= 1, got .0."),
        (["--data", "digits", "--device", "gpu7"], r"device='gpu7'"),
        (["--data", "digits", "--data-option", "as_images"], r"--data-option 'as_images' should look like KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_naming_the_value_and_writes_nothing(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["features", *args, "--n-samples", "6", "--no-progress", "--out", "f.npz"]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_output_must_be_an_npz_in_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["features", "--data", "digits", "--no-pretrained", "--no-progress", "--out"]
    assert main([*base, str(tmp_path / "f.npy")]) == 2
    assert main([*base, str(tmp_path / "nope" / "f.npz")]) == 2
    err = capsys.readouterr().err
    assert "f.npy should end in .npz" in err and "nope does not exist" in err


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = extract_features(digits(2), "resnet18", weights=None, progress=False)
    path = save_features(out, tmp_path / "f.npz")
    before = path.read_bytes()

    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_features(out, path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["f.npz"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_amp_matches_cpu() -> None:
    cpu = features(digits(8))
    for amp in (False, True):
        gpu = extract_features(digits(8), "resnet18", weights=None, progress=False, device="cuda", amp=amp)
        assert gpu.meta["amp"] is amp and gpu.meta["device"].startswith("cuda")
        cos = torch.nn.functional.cosine_similarity(gpu.x, cpu, dim=1)
        assert cos.min() > (0.999 if amp else 0.99999)


def test_ctrl_c_during_extraction_exits_130_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def interrupted(self: object, *args: object) -> object:
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr("ccel_core.backbones.images._TensorImages.batches", interrupted)
    out = tmp_path / "f.npz"
    argv = ["features", "--data", "digits", "--backbone", "resnet18", "--no-pretrained", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err and list(tmp_path.iterdir()) == []
