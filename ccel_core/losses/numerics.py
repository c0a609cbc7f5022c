"""The numerics every loss of the family shares: the dtype a loss is computed in, the reduction,
``ln`` with ``ln 0 = −∞`` and a zero gradient there, ``ln Σ_k y_k e^{l_k}`` with exact gradients at
``y_k = 0``, and the top of a target's support (the class ``j`` the stable forms shift by).

Half types (float16, bfloat16) are computed in float32; "mean" divides before it sums, so the mean
of finite values stays finite where their sum would overflow.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["compute_dtype", "reduce_loss", "safe_log", "log_dot_exp", "top_of_support"]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss is computed in: float32 for the half types (float16, bfloat16), else ``dtype``."""
    return torch.float32 if torch.finfo(dtype).bits < 32 else dtype


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        # Divided first: the mean of finite values stays finite where their sum would overflow.
        return (loss / loss.numel()).sum() if loss.numel() else loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def safe_log(p: Tensor) -> Tensor:
    """``ln p`` with ``ln 0 = −∞`` and a zero (not NaN) gradient at ``p = 0`` (double-where trick)."""
    positive = p > 0
    return torch.where(positive, torch.log(torch.where(positive, p, torch.ones_like(p))), -math.inf)


class _LogDotExp(torch.autograd.Function):
    """``ln Σ_k y_k e^{l_k}`` = ``logsumexp(l + ln y)`` with gradients that stay exact at ``y_k = 0``.

    ``∂/∂l_k = y_k e^{l_k − out}`` and ``∂/∂y_k = e^{l_k − out}``: autograd through ``ln y`` would
    give 0·∞ for the second at ``y_k = 0``; this form gives the one-sided derivative, finite.
    Where ``e^{l_k − out}`` overflows (a class outside the support far above it) ``∂/∂y_k`` is +inf,
    its correctly rounded value, and ``∂/∂l_k`` uses the ratio clamped to the dtype's largest finite
    value (``0·∞`` would be NaN). The backward is written in differentiable ops, so double backward
    works too.
    """

    @staticmethod
    def forward(ctx: Any, logits: Tensor, target: Tensor) -> Tensor:
        out = torch.logsumexp(logits + safe_log(target), dim=1)
        ctx.save_for_backward(logits, target, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        logits, target, out = ctx.saved_tensors
        ratio = torch.exp(logits - out.unsqueeze(1))  # e^{l_k} / Σ_j y_j e^{l_j}
        g = grad.unsqueeze(1)
        return g * target * ratio.clamp(max=torch.finfo(ratio.dtype).max), g * ratio


def log_dot_exp(logits: Tensor, target: Tensor) -> Tensor:
    if target.requires_grad:
        return _LogDotExp.apply(logits, target)
    return torch.logsumexp(logits + safe_log(target), dim=1)


def top_of_support(key: Tensor, y: Tensor) -> Tensor:
    """Index (N', 1) of the largest ``key`` among the classes with ``y_k > 0`` (per row)."""
    return torch.where(y > 0, key.detach(), -math.inf).argmax(dim=1, keepdim=True)
