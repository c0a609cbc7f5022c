"""Input checks of the cross-entropy family: one place that says what a valid (logits, target) pair
and a valid probability vector are, and raises ``ValueError`` naming the value and what was expected.

Two halves: :func:`check_layout` (types, options, dtypes, devices, shapes) reads no tensor value, so it
never synchronizes with the device and always runs; :func:`check_pair` adds the value checks (finite
logits, targets on the simplex Δ_K, class indices in range), which read the values and so force a
host↔device synchronization, and is what ``validate=False`` skips. :func:`check_dim` and
:func:`check_probabilities` are the same two halves for the entropies' probability vectors.
A target row may miss ``Σ_k y_k = 1`` by ``max(√eps, 1e-6)`` of its dtype.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["check_dim", "check_probabilities", "check_options", "check_layout", "check_pair"]

_REDUCTIONS = ("none", "mean", "sum")


def _sum_tolerance(dtype: torch.dtype) -> float:
    """Allowed |Σ_k y_k − 1| for a target row of this dtype (max(√eps, 1e-6): 3.5e-4 float32, 1e-6 float64)."""
    return max(math.sqrt(torch.finfo(dtype).eps), 1e-6) if dtype.is_floating_point else 1e-6


def check_dim(p: Tensor, dim: int, name: str) -> None:
    """Structural checks (no host sync) for probability vectors along ``dim`` of ``p``."""
    if not isinstance(p, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of probabilities, got {type(p).__name__}")
    if not p.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor of probabilities, got dtype={p.dtype}")
    if p.ndim < 1:
        raise ValueError(f"{name} must have a class dimension K >= 1, got a 0-d tensor")
    if isinstance(dim, bool) or not isinstance(dim, int) or not -p.ndim <= dim < p.ndim:
        raise ValueError(
            f"dim={dim!r} is not valid for {name} of shape={tuple(p.shape)}; "
            f"expected an integer in [{-p.ndim}, {p.ndim - 1}]"
        )
    if p.shape[dim] < 1:
        raise ValueError(f"{name} must have a class dimension K >= 1 (dim={dim}), got shape={tuple(p.shape)}")


def check_probabilities(p: Tensor, name: str, dim: int = -1) -> None:
    """Raise ``ValueError`` unless every vector of ``p`` along ``dim`` is a finite point of the simplex.

    Reads the values (``any``, ``min``, the row sums), i.e. synchronizes with the device.
    """
    p = p.detach()
    if not p.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor of probabilities, got dtype={p.dtype}")
    if p.ndim < 1 or p.shape[dim] < 1:
        where = "last dim" if dim == -1 else f"dim={dim}"
        raise ValueError(f"{name} must have a class dimension K >= 1 ({where}), got shape={tuple(p.shape)}")
    if p.numel() == 0:
        return
    p = p.movedim(dim, -1)
    bad = ~torch.isfinite(p)
    if bool(bad.any()):
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/Inf values; expected finite probabilities")
    low = float(p.min())
    if low < 0:
        raise ValueError(f"{name} has negative probabilities (min={low:.3g}); expected every entry >= 0")
    tol = _sum_tolerance(p.dtype)
    sums = p.sum(-1)
    flat = int((sums.flatten() - 1).abs().argmax())
    total = float(sums.flatten()[flat])
    if abs(total - 1) > tol:
        # the row as an index into the other dimensions: "row 3" for (N, K), "row (0, 2, 1)" beyond
        row: Any = flat
        if sums.ndim > 1:
            index = []
            for size in reversed(sums.shape):
                flat, i = divmod(flat, size)
                index.append(i)
            row = tuple(reversed(index))
        along = "" if dim in (-1, p.ndim - 1) else f" along dim={dim}"
        raise ValueError(f"rows of {name}{along} must sum to 1 (tolerance {tol:.2g}); row {row} sums to {total:.10g}")


def check_options(reduction: str, ignore_index: int) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not valid; expected one of {_REDUCTIONS}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index={ignore_index!r} is not valid; expected an integer")


def check_layout(input: Tensor, target: Tensor, reduction: str, ignore_index: int = -100) -> bool:
    """The structural half of :func:`check_pair` (types, options, dtypes, devices, shapes): reads no
    tensor value, so it never synchronizes with the device. Returns ``True`` for soft targets."""
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise ValueError(
            f"input and target must be torch.Tensor, got {type(input).__name__} and {type(target).__name__}"
        )
    check_options(reduction, ignore_index)
    if not input.is_floating_point():
        raise ValueError(f"input must be floating-point logits, got dtype={input.dtype}")
    if input.ndim < 2:
        raise ValueError(f"input must be logits of shape (N, K) or (N, K, d1, ...), got shape={tuple(input.shape)}")
    n, k = input.shape[0], input.shape[1]
    if k < 1:
        raise ValueError(f"number of classes K={k} should be >= 1")
    if input.device != target.device:
        raise ValueError(f"input is on {input.device} but target is on {target.device}; expected one device")
    if target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(f"soft target shape={tuple(target.shape)} does not match input shape={tuple(input.shape)}")
        return True
    if target.dtype == torch.bool or target.is_complex():
        raise ValueError(f"target must be class indices (integer) or probabilities (float), got dtype={target.dtype}")
    expected = (n,) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        shown = f"({n},)" if len(expected) == 1 else str(expected)
        raise ValueError(f"class-index target must have shape {shown}, got shape={tuple(target.shape)}")
    return False


def check_pair(input: Tensor, target: Tensor, reduction: str, ignore_index: int = -100) -> bool:
    """Validate a (logits, target) pair; return ``True`` for soft targets, ``False`` for indices.

    Shapes follow ``torch.nn.functional.cross_entropy``: logits (N, K) or (N, K, d1, …); soft
    targets the same shape; class indices (N,) or (N, d1, …), ``ignore_index`` entries skipped.
    Besides :func:`check_layout` it reads the values (finite logits, targets on the simplex,
    indices in range), which synchronizes with the device; ``validate=False`` skips this function.
    """
    soft = check_layout(input, target, reduction, ignore_index)
    finite = torch.isfinite(input.detach())
    if input.numel() and not bool(finite.all()):
        raise ValueError(f"input contains {int((~finite).sum())} NaN/Inf logits; expected finite values")
    if soft:
        check_probabilities(target, "target", dim=1)  # classes along dim 1, as the logits
        return True
    k = input.shape[1]
    used = target[target != ignore_index]
    if used.numel():
        lo, hi = int(used.min()), int(used.max())  # one pass each; indices carry no grad
        if lo < 0 or hi >= k:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"class index {bad} is out of range; expected 0 <= index < K={k} (or ignore_index={ignore_index})"
            )
    return False
