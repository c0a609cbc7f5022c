"""Networks for self-labeled clustering: a linear head, an MLP, the paper's VGG4 family and ResNet-18.

Every model maps a batch ``(N, *input_shape)`` to logits ``(N, n_classes)``; its last layer is an
``nn.Linear`` named ``fc`` (so ``model.fc`` is the classification head for every name).
Nothing is ever downloaded: ``weights`` is a local state-dict file.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from .names import MODELS

# VGG4 variants (paper, section 5 / docs/math.md §11): input shape, conv widths, conv stride, flattened size.
# Every conv is 5x5 with padding 2 followed by BatchNorm and ReLU; 2x2 max-pools (stride 2) sit between
# the four convs. Spatial sizes (conv: floor((H + 4 - 5) / s) + 1; pool: floor(H / 2)):
#   grey28: 28 -conv-> 28 -pool-> 14 -conv-> 14 -pool-> 7 -conv-> 7 -pool-> 3 -conv-> 3  => 512*3*3 = 4608
#   rgb32:  32 -conv-> 32 -pool-> 16 -conv-> 16 -pool-> 8 -conv-> 8 -pool-> 4 -conv-> 4  => 256*4*4 = 4096
#   rgb96:  96 -conv/2-> 48 -pool-> 24 -conv/2-> 12 -pool-> 6 -conv/2-> 3 -pool-> 1 -conv/2-> 1  => 1024
VGG4_VARIANTS: dict[str, dict] = {
    "vgg4-grey28": {"input_shape": (1, 28, 28), "channels": (64, 128, 256, 512), "stride": 1, "flat": 512 * 3 * 3},
    "vgg4-rgb32": {"input_shape": (3, 32, 32), "channels": (32, 64, 128, 256), "stride": 1, "flat": 256 * 4 * 4},
    "vgg4-rgb96": {"input_shape": (3, 96, 96), "channels": (128, 256, 512, 1024), "stride": 2, "flat": 1024},
}


def _kaiming_linear(layer: nn.Linear) -> nn.Linear:
    """``kaiming_normal_`` (fan_in, ReLU gain √2) weights and a zero bias."""
    nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _numel(input_shape: tuple[int, ...]) -> int:
    return int(math.prod(input_shape))


def linear_model(input_shape: tuple[int, ...], n_classes: int) -> nn.Sequential:
    """Flatten -> Linear(prod(input_shape), K); Kaiming-normal weights (fan_in, ReLU gain), zero bias
    (the fixed-feature protocol of the paper's Table 2)."""
    return nn.Sequential(
        OrderedDict(flatten=nn.Flatten(), fc=_kaiming_linear(nn.Linear(_numel(input_shape), n_classes)))
    )


def mlp_model(input_shape: tuple[int, ...], n_classes: int, hidden: int = 256) -> nn.Sequential:
    """Flatten -> [Linear(·, hidden) -> BatchNorm1d -> ReLU] x 2 -> Linear(hidden, K).

    Linear layers: Kaiming-normal weights, zero biases. BatchNorm needs batches of >= 2 in training mode.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    width = _numel(input_shape)
    for i in (1, 2):
        layers[f"fc{i}"] = _kaiming_linear(nn.Linear(width, hidden))
        layers[f"bn{i}"] = nn.BatchNorm1d(hidden)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        width = hidden
    layers["fc"] = _kaiming_linear(nn.Linear(hidden, n_classes))
    return nn.Sequential(layers)


class VGG4(nn.Module):
    """The paper's VGG4: four [Conv 5x5 (pad 2) -> BatchNorm2d -> ReLU] blocks with 2x2/2 max-pools
    between them, then Flatten -> Linear(flat, K).

    Variants (see :data:`VGG4_VARIANTS` for the spatial arithmetic):
    ``vgg4-grey28`` (1, 28, 28): 64, pool, 128, pool, 256, pool, 512 -> Linear(512·3·3, K);
    ``vgg4-rgb32`` (3, 32, 32): 32, pool, 64, pool, 128, pool, 256 -> Linear(256·4·4, K);
    ``vgg4-rgb96`` (3, 96, 96): 128 s2, pool, 256 s2, pool, 512 s2, pool, 1024 s2 -> Linear(1024, K).
    Convs: Kaiming-normal (fan_out, ReLU), no bias (BatchNorm follows); head: Kaiming-normal, zero bias.
    """

    def __init__(self, variant: str, n_classes: int) -> None:
        super().__init__()
        spec = VGG4_VARIANTS[variant]
        self.variant = variant
        self.input_shape: tuple[int, int, int] = spec["input_shape"]
        layers: list[nn.Module] = []
        c_in = self.input_shape[0]
        for i, c_out in enumerate(spec["channels"]):
            if i:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            conv = nn.Conv2d(c_in, c_out, kernel_size=5, stride=spec["stride"], padding=2, bias=False)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            layers += [conv, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        flat = c_in * vgg4_spatial(self.input_shape[1], spec["stride"]) ** 2
        if flat != spec["flat"]:  # guards the arithmetic documented above
            raise AssertionError(f"{variant}: flattened size {flat}, expected {spec['flat']}")
        self.fc = _kaiming_linear(nn.Linear(flat, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, K)`` for images ``(N, C, H, W)`` of the variant's shape."""
        return self.fc(self.flatten(self.features(x)))


def vgg4_spatial(size: int, stride: int) -> int:
    """Side length after VGG4's four 5x5/pad-2 convs (given stride) and three 2x2/2 max-pools."""
    for i in range(4):
        if i:
            size //= 2
        size = (size + 2 * 2 - 5) // stride + 1
    return size


def vgg4_variant(input_shape: tuple[int, ...]) -> str:
    """The VGG4 variant name for an input shape; ValueError naming the supported shapes otherwise."""
    for name, spec in VGG4_VARIANTS.items():
        if tuple(input_shape) == spec["input_shape"]:
            return name
    supported = ", ".join(f"{s['input_shape']} ({n})" for n, s in VGG4_VARIANTS.items())
    raise ValueError(f"vgg4 supports input shapes {supported}; got {tuple(input_shape)}")


def resnet18_model(input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """torchvision ``resnet18(weights=None, num_classes=K)`` adapted to the input.

    When H and W are both <= 64 the stem becomes Conv 3x3 stride 1 (pad 1) and the max-pool is removed
    (the usual CIFAR/STL adaptation); otherwise the ImageNet stem (Conv 7x7 stride 2, max-pool) is kept.
    ``conv1`` takes ``C`` input channels (e.g. 1 for grey images).
    """
    from torchvision.models import resnet18

    c, h, w = input_shape
    model = resnet18(weights=None, num_classes=n_classes)
    if max(h, w) <= 64:
        model.conv1 = nn.Conv2d(c, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif c != 3:
        model.conv1 = nn.Conv2d(c, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


def load_weights(model: nn.Module, path: str | os.PathLike, *, skippable: tuple[str, ...] = ("fc.",)) -> list[str]:
    """Load a local state-dict file into ``model`` (``torch.load(..., weights_only=True)``).

    Accepts a bare state dict or one under ``"state_dict"`` / ``"model"``, with optional ``module.``
    (DDP) or ``_orig_mod.`` (torch.compile) prefixes. Entries under ``skippable`` prefixes whose shapes
    differ from the model's (or that are absent) are skipped with a warning, keeping the fresh init, as
    long as the rest of the model loads: a file that would load nothing outside ``skippable`` while
    skipping some of it (e.g. another head size for the ``linear`` model, whose only layer is ``fc``)
    raises ValueError, as does any other mismatch, missing or unexpected key. Returns the skipped keys.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found (weights are never downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, zip errors, unsafe globals
        raise ValueError(f"{path}: cannot be read as a state dict with torch.load(weights_only=True): {err}") from err
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a dict of tensors (a state dict), got {type(state).__name__}")
    for prefix in ("module.", "_orig_mod."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and v.shape != own[k].shape and k.startswith(skippable)]
    mismatched = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and v.shape != own[k].shape and k not in skipped
    ]
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.startswith(skippable)]
    absent = [k for k in own if k not in state]
    loaded = [k for k in state if k in own and k not in skipped]
    if (
        not mismatched
        and not unexpected
        and not missing
        and (skipped or absent)
        and not any(not k.startswith(skippable) for k in loaded)
    ):
        # Only skippable keys differ, but nothing outside them would load (e.g. the linear model,
        # whose only layer is fc): skipping would leave (almost) the fresh initialization.
        shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in skipped]
        raise ValueError(
            f"{path} does not fit the model: the {', '.join(repr(p) for p in skippable)} keys may "
            f"only be skipped when the rest of the model loads, and nothing else would load "
            f"({len(loaded)} of the model's {len(own)} entries match); shape mismatches "
            f"{_some(shapes)}, missing keys {_some(absent)}"
        )
    if mismatched or unexpected or missing:
        raise ValueError(
            f"{path} does not fit the model: shape mismatches {_some(mismatched)}, "
            f"unexpected keys {_some(unexpected)}, missing keys {_some(missing)}"
        )
    if skipped or absent:
        warnings.warn(f"{path}: kept the fresh initialization of {skipped + absent}", stacklevel=3)
    model.load_state_dict({k: v for k, v in state.items() if k not in skipped}, strict=False)
    return skipped + absent


def _some(keys: list[str], n: int = 5) -> str:
    """The first ``n`` of ``keys`` as a list, with the count of the others."""
    return str(keys[:n]) + (f" (and {len(keys) - n} more)" if len(keys) > n else "")


def build_model(
    name: str,
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    hidden: int = 256,
    weights: str | os.PathLike | None = None,
) -> nn.Module:
    """Build one of :data:`MODELS` for inputs ``(N, *input_shape)`` and ``n_classes`` logits.

    - ``linear``: Flatten -> Linear, Kaiming-normal weights, zero bias.
    - ``mlp``: Flatten -> [Linear(hidden) -> BatchNorm -> ReLU] x 2 -> Linear.
    - ``vgg4``: the :class:`VGG4` variant matching ``input_shape`` ((1,28,28), (3,32,32) or (3,96,96));
      ``vgg4-grey28`` / ``vgg4-rgb32`` / ``vgg4-rgb96`` name one and require its shape.
    - ``resnet18``: :func:`resnet18_model` for ``input_shape=(C, H, W)``.

    ``weights``: a local state-dict file (:func:`load_weights`); the head ``fc`` (and for resnet18 the
    stem ``conv1``) is skipped when its shape differs, as long as the rest of the model loads. Raises ValueError for an unknown name or an
    unsupported input shape.
    """
    key = str(name).strip().lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    input_shape = tuple(int(d) for d in input_shape)
    if not input_shape or min(input_shape) < 1:
        raise ValueError(f"input_shape={input_shape} should be a non-empty tuple of positive sizes")
    if int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes={n_classes} should be a positive integer")
    n_classes = int(n_classes)
    if key == "linear":
        model: nn.Module = linear_model(input_shape, n_classes)
    elif key == "mlp":
        if int(hidden) < 1:
            raise ValueError(f"hidden={hidden} should be >= 1")
        model = mlp_model(input_shape, n_classes, int(hidden))
    elif key.startswith("vgg4"):
        variant = vgg4_variant(input_shape)
        if key != "vgg4" and key != variant:
            want = VGG4_VARIANTS[key]["input_shape"]
            raise ValueError(f"{key} expects input_shape {want}, got {input_shape} (use 'vgg4' to pick by shape)")
        model = VGG4(variant, n_classes)
    else:
        if len(input_shape) != 3:
            raise ValueError(f"resnet18 expects input_shape (C, H, W), got {input_shape}")
        model = resnet18_model(input_shape, n_classes)
    if weights is not None:
        load_weights(model, weights, skippable=("fc.", "conv1.") if key == "resnet18" else ("fc.",))
    return model
