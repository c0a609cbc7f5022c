"""Tests for ccel_core.models: output shapes, the VGG4 layer list of docs/math.md §11, initialization,
ResNet-18 adaptations and local weight files."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from ccel_core.models import MODELS, VGG4, build_model, load_weights, vgg4_spatial


@pytest.mark.parametrize(
    "name,shape",
    [
        ("linear", (64,)), ("linear", (1, 8, 8)), ("mlp", (2,)), ("mlp", (3, 32, 32)),
        ("vgg4", (1, 28, 28)), ("vgg4", (3, 32, 32)), ("vgg4", (3, 96, 96)),
        ("vgg4-grey28", (1, 28, 28)), ("vgg4-rgb32", (3, 32, 32)), ("vgg4-rgb96", (3, 96, 96)),
        ("resnet18", (3, 16, 16)), ("resnet18", (1, 28, 28)), ("resnet18", (3, 72, 72)),
    ],
)  # fmt: skip
def test_output_shape_and_gradients(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, 7)
    x = torch.randn(3, *shape)
    assert isinstance(model.fc, nn.Linear) and model.fc.out_features == 7
    if name != "resnet18":  # torchvision's ResNet-18 is slow on CPU (~1 s per pass here): shapes only
        out = model(x)
        assert out.shape == (3, 7) and out.dtype == torch.float32 and torch.isfinite(out).all()
        out.logsumexp(1).mean().backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    with torch.no_grad():
        out = model(x[:2])
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_model_names():
    assert MODELS == ("linear", "mlp", "vgg4", "vgg4-grey28", "vgg4-rgb32", "vgg4-rgb96", "resnet18")
    with pytest.raises(ValueError, match="unknown model 'vgg16'; known models: linear, mlp, vgg4"):
        build_model("vgg16", (3, 32, 32), 10)


def test_bad_shapes_and_sizes():
    with pytest.raises(
        ValueError, match=r"vgg4 supports input shapes \(1, 28, 28\).*\(3, 32, 32\).*\(3, 96, 96\).*got \(3, 64, 64\)"
    ):
        build_model("vgg4", (3, 64, 64), 10)
    with pytest.raises(ValueError, match=r"vgg4-rgb32 expects input_shape \(3, 32, 32\), got \(1, 28, 28\)"):
        build_model("vgg4-rgb32", (1, 28, 28), 10)
    with pytest.raises(ValueError, match=r"resnet18 expects input_shape \(C, H, W\)"):
        build_model("resnet18", (64,), 10)
    with pytest.raises(ValueError, match="n_classes=0"):
        build_model("linear", (4,), 0)
    with pytest.raises(ValueError, match="hidden=0"):
        build_model("mlp", (4,), 3, hidden=0)


# docs/math.md §11: conv widths, conv stride, flattened size of each variant
VGG4_SPEC = {
    (1, 28, 28): ((64, 128, 256, 512), 1, 512 * 3 * 3),
    (3, 32, 32): ((32, 64, 128, 256), 1, 256 * 4 * 4),
    (3, 96, 96): ((128, 256, 512, 1024), 2, 1024),
}


@pytest.mark.parametrize("shape", list(VGG4_SPEC))
def test_vgg4_layers_match_design(shape):
    widths, stride, flat = VGG4_SPEC[shape]
    model = build_model("vgg4", shape, 10)
    assert isinstance(model, VGG4)
    kinds = [type(m).__name__ for m in model.features]
    block = ["Conv2d", "BatchNorm2d", "ReLU"]
    assert kinds == block + ["MaxPool2d"] + block + ["MaxPool2d"] + block + ["MaxPool2d"] + block
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    c_in = shape[0]
    for conv, width in zip(convs, widths, strict=True):
        assert (conv.in_channels, conv.out_channels) == (c_in, width)
        assert conv.kernel_size == (5, 5) and conv.padding == (2, 2) and conv.stride == (stride, stride)
        c_in = width
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    bns = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    assert [b.num_features for b in bns] == list(widths)
    assert model.fc.in_features == flat and model.fc.out_features == 10
    model.eval()
    assert model.features(torch.zeros(1, *shape)).shape[1:].numel() == flat


def test_vgg4_spatial_arithmetic():
    # 28 -> 28 -> 14 -> 14 -> 7 -> 7 -> 3 -> 3; 32 -> 4; 96 -> 48 -> 24 -> 12 -> 6 -> 3 -> 1 -> 1
    assert vgg4_spatial(28, 1) == 3 and vgg4_spatial(32, 1) == 4 and vgg4_spatial(96, 2) == 1


def test_linear_kaiming_init_zero_bias():
    torch.manual_seed(0)
    model = build_model("linear", (2048,), 100)
    assert torch.count_nonzero(model.fc.bias) == 0
    w = model.fc.weight
    assert w.shape == (100, 2048)
    assert abs(w.mean().item()) < 1e-3
    assert w.std().item() == pytest.approx(math.sqrt(2 / 2048), rel=0.02)  # kaiming_normal_, fan_in, ReLU gain


def test_mlp_structure():
    model = build_model("mlp", (5,), 3, hidden=32)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert (model.fc1.in_features, model.fc1.out_features, model.fc2.out_features, model.fc.in_features) == (
        5,
        32,
        32,
        32,
    )


def test_resnet18_stems():
    small = build_model("resnet18", (1, 28, 28), 10)
    assert small.conv1.in_channels == 1 and small.conv1.kernel_size == (3, 3) and small.conv1.stride == (1, 1)
    assert isinstance(small.maxpool, nn.Identity)
    big = build_model("resnet18", (3, 96, 96), 10)
    assert big.conv1.kernel_size == (7, 7) and big.conv1.stride == (2, 2) and isinstance(big.maxpool, nn.MaxPool2d)
    grey_big = build_model("resnet18", (1, 128, 128), 4)
    assert grey_big.conv1.in_channels == 1 and grey_big.conv1.kernel_size == (7, 7)


def _same_except_fc(a: nn.Module, b: nn.Module, skip: str = "fc.") -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith(skip))


def test_resnet18_weights_round_trip(tmp_path):
    torch.manual_seed(0)
    source = build_model("resnet18", (3, 32, 32), 10)
    source.bn1.running_mean.fill_(0.5)  # a buffer, which must travel too
    torch.save(source.state_dict(), tmp_path / "r18.pt")
    torch.manual_seed(1)
    loaded = build_model("resnet18", (3, 32, 32), 10, weights=tmp_path / "r18.pt")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in source.state_dict().items())
    fresh = build_model("resnet18", (3, 32, 32), 10)
    assert not _same_except_fc(source, fresh)
    # another head size: fc keeps its fresh init, with a warning; the rest is loaded
    with pytest.warns(UserWarning, match="fc.weight"):
        other = build_model("resnet18", (3, 32, 32), 20, weights=str(tmp_path / "r18.pt"))
    assert other.fc.out_features == 20 and _same_except_fc(source, other)


def test_weights_wrapped_and_prefixed(tmp_path):
    source = build_model("vgg4", (3, 32, 32), 10)
    torch.save(
        {"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 3}, tmp_path / "w.pt"
    )
    loaded = build_model("vgg4", (3, 32, 32), 10, weights=tmp_path / "w.pt")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in source.state_dict().items())


def test_weights_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        build_model("linear", (4,), 2, weights=tmp_path / "none.pt")
    torch.save(build_model("vgg4", (1, 28, 28), 10).state_dict(), tmp_path / "vgg.pt")
    with pytest.raises(ValueError, match="does not fit the model.*features.0.weight"):
        build_model("vgg4", (3, 32, 32), 10, weights=tmp_path / "vgg.pt")
    torch.save({"model": nn.Linear(2, 2)}, tmp_path / "pickled.pt")  # a pickled module, refused by weights_only
    with pytest.raises(ValueError, match="weights_only=True"):
        load_weights(build_model("linear", (2,), 2), tmp_path / "pickled.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="expected a dict of tensors"):
        load_weights(build_model("linear", (2,), 2), tmp_path / "list.pt")


def test_weights_that_would_load_nothing_are_refused(tmp_path):
    # the linear model is nothing but its head: a file for another number of classes loads nothing
    torch.save({"fc.weight": torch.zeros(3, 4)}, tmp_path / "head.pt")
    with pytest.raises(
        ValueError,
        match=(
            rf"^{tmp_path / 'head.pt'} does not fit the model: the 'fc.' keys may only be skipped when the rest "
            r"of the model loads, and nothing else would load \(0 of the model's 2 entries match\); shape "
            r"mismatches \['fc.weight: file \(3, 4\) vs model \(2, 4\)'\], missing keys \['fc.bias'\]$"
        ),
    ):
        build_model("linear", (4,), 2, weights=tmp_path / "head.pt")
    torch.save(build_model("linear", (4,), 3).state_dict(), tmp_path / "k3.pt")
    with pytest.raises(
        ValueError,
        match=r"k3.pt does not fit the model: .*\(0 of the model's 2 entries match\); "
        r"shape mismatches \['fc.weight: file \(3, 4\) vs model \(2, 4\)', "
        r"'fc.bias: file \(3,\) vs model \(2,\)'\], missing keys \[\]",
    ):
        build_model("linear", (4,), 2, weights=tmp_path / "k3.pt")
    torch.save({}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match=r"empty.pt does not fit the model: .*missing keys \['fc.weight', 'fc.bias'\]"):
        build_model("linear", (4,), 2, weights=tmp_path / "empty.pt")
    torch.save({"fc.weight": torch.ones(2, 4)}, tmp_path / "half.pt")  # the bias is absent
    with pytest.raises(ValueError, match=r"half.pt does not fit the model: .*\(1 of the model's 2 entries match\)"):
        build_model("linear", (4,), 2, weights=tmp_path / "half.pt")
    # keys of other architectures: unexpected or missing, named with the file
    with pytest.raises(
        ValueError,
        match=r"k3.pt does not fit the model: shape mismatches \[\], unexpected keys \[\], "
        r"missing keys \['bn1.weight', .*\] \(and \d+ more\)$",
    ):
        build_model("resnet18", (3, 32, 32), 3, weights=tmp_path / "k3.pt")
    torch.save(build_model("mlp", (4,), 2, hidden=8).state_dict(), tmp_path / "mlp.pt")
    with pytest.raises(
        ValueError,
        match=r"mlp.pt does not fit the model: shape mismatches \[\], unexpected keys "
        r"\['fc1.weight', 'fc1.bias', 'bn1.weight', 'bn1.bias', 'bn1.running_mean'\] "
        r"\(and \d+ more\), missing keys \[\]",
    ):
        build_model("linear", (4,), 2, weights=tmp_path / "mlp.pt")
    # a matching file still loads, bit for bit, with no warning
    source = build_model("linear", (4,), 3)
    torch.save(source.state_dict(), tmp_path / "same.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = build_model("linear", (4,), 3, weights=tmp_path / "same.pt")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in source.state_dict().items())


def test_head_is_still_skipped_when_the_rest_loads(tmp_path):
    torch.manual_seed(0)
    source = build_model("mlp", (4,), 3, hidden=8)
    torch.save(source.state_dict(), tmp_path / "mlp3.pt")
    with pytest.warns(UserWarning, match=r"kept the fresh initialization of \['fc.weight', 'fc.bias'\]"):
        other = build_model("mlp", (4,), 5, hidden=8, weights=tmp_path / "mlp3.pt")
    assert other.fc.out_features == 5 and _same_except_fc(source, other)
    # resnet18 on grey images: conv1 (3 -> 1 channel) and fc are skipped, the rest loads
    r18 = build_model("resnet18", (3, 32, 32), 10)
    torch.save(r18.state_dict(), tmp_path / "r18.pt")
    with pytest.warns(UserWarning, match=r"\['conv1.weight', 'fc.weight', 'fc.bias'\]"):
        grey = build_model("resnet18", (1, 32, 32), 20, weights=tmp_path / "r18.pt")
    assert torch.equal(grey.layer1[0].conv1.weight, r18.layer1[0].conv1.weight)
