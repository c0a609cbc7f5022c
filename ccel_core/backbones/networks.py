"""The frozen torchvision backbones: which ones (:data:`BACKBONES`, name → feature dimension D), which
weights (ImageNet, a member of the torchvision weights enum, a local state-dict file, or ``None``:
random init, seeded) and :func:`build_backbone`, the headless network in eval mode with its
weights' own transform.

Headless: the classifier module is replaced by ``nn.Identity``, so the network returns the pooled
penultimate features (the global-average-pooled vector the classifier reads).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["BACKBONES", "Backbone", "backbone_key", "build_backbone", "resolve_weights"]


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


def backbone_key(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    if key not in _SPECS:
        raise ValueError(f"unknown backbone {name!r}; known backbones: {', '.join(_SPECS)}")
    return key


def resolve_weights(name: str, weights: str | os.PathLike | None) -> tuple[Any, Path | None]:
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

    key = backbone_key(name)
    spec = _SPECS[key]
    member, path = resolve_weights(key, weights)
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
        from ..models import load_weights

        with warnings.catch_warnings():  # a file without the classifier: it is dropped anyway
            warnings.simplefilter("ignore")
            load_weights(model, path, skippable=(spec.head + ".",))
        label = f"file:{path}"
    else:
        label = f"none (random init, seed {seed})"
    parent, _, attr = spec.head.rpartition(".")
    setattr(model.get_submodule(parent), attr, nn.Identity())
    model.eval().requires_grad_(False)
    transform = (member or resolve_weights(key, "imagenet")[0]).transforms()
    return Backbone(key, model, transform, label, spec.dim)
