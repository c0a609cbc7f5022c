"""Entropies and divergence of probability vectors (along ``dim``, default the last).

* Shannon entropy   ``H(p)  = −Σ_k p_k ln p_k``        (``0 ln 0 = 0``)
* Collision entropy ``H₂(p) = −ln Σ_k p_k²``           (Rényi order 2)
* KL divergence     ``KL(p‖q) = Σ_k p_k ln(p_k / q_k)`` (``+∞`` if some q_k = 0 < p_k)

Inputs are checked by :func:`~.checks.check_dim` (always) and :func:`~.checks.check_probabilities`
(skipped with ``validate=False``); float16 and bfloat16 are computed in float32 and returned in the
input dtype, as the losses.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import check_dim, check_probabilities
from .numerics import compute_dtype

__all__ = ["entropy", "collision_entropy", "kl_divergence"]


def entropy(p: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """Shannon entropy ``H(p) = −Σ_k p_k ln p_k`` along ``dim`` (``0 ln 0 = 0``).

    ``p`` must hold finite, non-negative vectors summing to 1 along ``dim`` (``ValueError`` naming
    ``p`` otherwise); ``validate=False`` skips that value check, which synchronizes with the device,
    for input the caller already validated (the type, dtype and ``dim`` are still checked).
    float16 and bfloat16 are computed in float32 and returned in the input dtype, as the losses.
    """
    check_dim(p, dim, "p")
    if validate:
        check_probabilities(p, "p", dim)
    x = p.to(compute_dtype(p.dtype))
    # H ≥ 0; entries a rounding above 1 (one-hot rows from a solver) would make −x ln x a hair
    # negative, and −(0) is −0.0 ("−0.000" on a page): clamped, and + 0.0 turns −0.0 into 0.0
    return ((-torch.xlogy(x, x).sum(dim=dim)).clamp_min(0.0) + 0.0).to(p.dtype)


def collision_entropy(p: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """Collision (Rényi order-2) entropy ``H₂(p) = −ln Σ_k p_k²`` along ``dim``.

    Input checks, ``validate`` and dtypes as :func:`entropy`.
    """
    check_dim(p, dim, "p")
    if validate:
        check_probabilities(p, "p", dim)
    x = p.to(compute_dtype(p.dtype))
    return (-torch.log((x * x).sum(dim=dim))).to(p.dtype)


def kl_divergence(p: Tensor, q: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """``KL(p‖q) = Σ_k p_k ln(p_k / q_k)`` along ``dim`` (``0 ln 0 = 0``; ``+∞`` if some q_k = 0 < p_k).

    ``p`` and ``q`` must have one shape and device and hold probability vectors along ``dim``
    (``ValueError`` naming ``p`` or ``q`` otherwise); ``validate`` and dtypes as :func:`entropy`.
    """
    check_dim(p, dim, "p")
    check_dim(q, dim, "q")
    if p.shape != q.shape:
        raise ValueError(f"p shape={tuple(p.shape)} does not match q shape={tuple(q.shape)}")
    if p.device != q.device:
        raise ValueError(f"p is on {p.device} but q is on {q.device}; expected one device")
    if validate:
        check_probabilities(p, "p", dim)
        check_probabilities(q, "q", dim)
    dtype = compute_dtype(torch.promote_types(p.dtype, q.dtype))
    x, z = p.to(dtype), q.to(dtype)
    return (torch.xlogy(x, x) - torch.xlogy(x, z)).sum(dim=dim).to(torch.promote_types(p.dtype, q.dtype))
