"""The cross-entropy functionals of logits and targets: Shannon, collision (Rényi order 2) and Rényi
of order α, each one stable log-space form reduced through ``_family_loss``.

* Shannon CE        ``H(y, σ)  = −Σ_k y_k ln σ_k``
* Collision CE      ``H₂(y, σ) = −ln Σ_k y_k σ_k``               (paper eq. 9)
                    ``        = −ln σ_j − logsumexp(l − l_j + ln y)``  (the stable form used here; for
                    targets without a gradient ``ln Σ_k y_k e^{l_k − l_j}`` summed in float64)
* Rényi CE, order α ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``
                    ``        = −ln σ_j − logsumexp((α − 1)(l − l_j) + ln y) / (α − 1)``

Numerics. Every member reduces through ``ln σ = log_softmax(l)`` (class indices: ``−ln σ_c``, as
``F.cross_entropy``), never through a difference of two large logsumexps. In the stable forms, ``j``
is the class with the largest ``(α − 1)·l_j`` among those with ``y_j > 0`` (collision: α = 2), so
``(α − 1)(l_k − l_j) ≤ 0`` on the support: for α > 1 the loss is the sum of two non-negative terms,
the second in [0, ln(1/y_j)/(α − 1)] and computed from logit differences (exact for close logits).
float16 and bfloat16 are computed in float32 and the result and gradient returned in the input dtype
(torch's reductions accumulate half types in float32 too; ``F.cross_entropy``'s float16
``log_softmax`` output overflows once two logits differ by more than 65504). For logits within
±finfo.max/2 of the computed dtype (any float16 logit), where every logit difference is finite, the
error is a few ε·(|H| + ln K + max ln(1/y_k)) (times 1/|α − 1| for Rényi), ε the input dtype's
machine epsilon, and +inf only where the true value overflows the input dtype. Beyond that range
a loss may be +inf where its true value is finite, but never NaN (tests/test_loss_numerics.py).

Inputs are validated by :func:`~.checks.check_pair` (``validate=False``: only
:func:`~.checks.check_layout`, no host↔device synchronization; on valid input the result is
bit-identical).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from .checks import check_layout, check_pair
from .numerics import compute_dtype, log_dot_exp, reduce_loss, safe_log, top_of_support

__all__ = ["collision_cross_entropy", "shannon_cross_entropy", "renyi_cross_entropy"]

# |α − 1| below this may use the second-order expansion of the cumulant generating function.
_RENYI_SERIES_EPS = 1e-6


def _family_loss(
    input: Tensor,
    target: Tensor,
    reduction: str,
    ignore_index: int,
    soft_rows: Callable[[Tensor, Tensor], Tensor],
    validate: bool = True,
) -> Tensor:
    """Validate (:func:`check_pair`, or only :func:`check_layout` without ``validate``), bring
    classes to the last dimension, apply ``soft_rows(logits, y)`` (N'×K → N') for soft
    targets or ``−log σ_c`` for indices, and reduce.

    Computed in :func:`compute_dtype` (float32 for half types) with ``log_sigma =
    log_softmax(logits)``; the result is returned in the input dtype. With indices,
    ``ignore_index`` entries contribute 0 and "mean" averages over the others (0, not NaN, when
    every entry is ignored); ``reduction="none"`` keeps the shape (N, d1, …).
    """
    soft = (check_pair if validate else check_layout)(input, target, reduction, ignore_index)
    k = input.shape[1]
    shape = (input.shape[0],) + tuple(input.shape[2:])
    dtype = compute_dtype(input.dtype)
    logits = (input if input.ndim == 2 else input.movedim(1, -1).reshape(-1, k)).to(dtype)
    if soft:
        y = target if target.ndim == 2 else target.movedim(1, -1).reshape(-1, k)
        return reduce_loss(soft_rows(logits, y.to(dtype)).reshape(shape), reduction).to(input.dtype)
    log_sigma = torch.log_softmax(logits, dim=1)
    index = target.reshape(-1)
    keep = index != ignore_index
    picked = torch.where(keep, index, torch.zeros_like(index)).long().unsqueeze(1)
    loss = -log_sigma.gather(1, picked).squeeze(1)
    loss = torch.where(keep, loss, torch.zeros_like(loss)).reshape(shape)
    if reduction == "mean":  # divided first, as in reduce_loss
        return (loss / keep.sum().clamp_min(1).to(loss.dtype)).sum().to(input.dtype)
    return reduce_loss(loss, reduction).to(input.dtype)


def _stable_terms(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(ln σ, j, l − l_j)`` of collision CE's stable form: ``j`` the top of ``y``'s support (N'×1).
    ``l_k − l_j <= 0`` on the support; the clamp only keeps an off-support +∞ (logits beyond
    ±finfo.max/2) from meeting ``ln 0 = −∞``."""
    j = top_of_support(logits, y)
    shifted = (logits - logits.gather(1, j)).clamp(max=torch.finfo(logits.dtype).max)
    return torch.log_softmax(logits, dim=1), j, shifted


class _CollisionRows(torch.autograd.Function):
    """Collision CE per row for targets without a gradient (the θ-step's pseudo-labels), as one autograd
    node: ``−ln σ_j − ln Σ_k y_k e^{min(l_k − l_j, 0)}``, the stable form with the sum taken directly
    (every term with ``y_k > 0`` has ``l_k − l_j ≤ 0``, so no term overflows and the sum is at least
    ``y_j``; the ``min`` only keeps an off-support ``e^{l_k − l_j}`` finite, where ``y_k = 0`` makes the
    term 0 anyway). The sum is taken in float64: it is at least ``y_j``, so for float32 (and half) inputs
    it is never subnormal, and its logarithm is as accurate as the composite form's ``logsumexp`` (in
    float32 a subnormal ``y_j`` with the mass far below it in logit had lost a third of the value). For
    float64 inputs the same holds while ``y_j ≥ 2.2e-308``.

    The backward is ``∂H₂/∂l = σ − w`` with ``w = y∘e^{l − l_j} / Σ_k y_k e^{l_k − l_j}`` (the posterior of
    the classes under y: ``w_k = y_k σ_k / Σ_m y_m σ_m``), from the forward's saved terms. 16 tensor
    operations forward and 5 backward instead of the composite form's 22 and 6 (at 250 × 10 each
    operation's dispatch, not its arithmetic, is the cost on a CPU: benchmarks/RESULTS.md, session 37).
    The value rounds differently from the composite form in the last bits. Under ``create_graph``
    (double backward) ``σ`` and ``w`` are recomputed from the logits in differentiable operations (the
    composite form's, whose derivatives are right at tied logits too), from a copy of ``y`` (changing
    ``y`` in place after the forward does not touch the backward).
    """

    @staticmethod
    def forward(ctx: Any, logits: Tensor, y: Tensor) -> Tensor:
        j = top_of_support(logits, y)
        log_sigma = torch.log_softmax(logits, dim=1)
        shifted = (logits - logits.gather(1, j)).clamp(max=0.0)
        weighted = y * shifted.double().exp()  # y_k e^{l_k − l_j} in float64
        dot = weighted.sum(1)
        ctx.save_for_backward(logits, y.clone(), log_sigma, weighted, dot, j)
        return -log_sigma.gather(1, j).squeeze(1) - dot.log()  # float64; the caller returns the input dtype

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        logits, y, log_sigma, weighted, dot, j = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable in the logits
            shifted = (logits - logits.gather(1, j)).clamp(max=torch.finfo(logits.dtype).max)
            diff = torch.softmax(logits, dim=1) - torch.softmax(shifted + safe_log(y), dim=1)
        else:
            diff = log_sigma.exp() - weighted / dot.unsqueeze(1)
        return (grad.unsqueeze(1) * diff).to(logits.dtype), None


def collision_cross_entropy(
    input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True
) -> Tensor:
    """Collision cross-entropy ``H₂(y, σ) = −ln Σ_k y_k σ_k`` with ``σ = softmax(input)``.

    Computed in log space as ``−ln σ_j − logsumexp(l − l_j + ln y)`` with ``ln σ = log_softmax(l)``
    (for targets without a gradient, the θ-step's, the second term as ``ln Σ_k y_k e^{l_k − l_j}``
    summed in float64: one autograd node) and ``j`` the most likely class among those with ``y_j > 0``:
    two non-negative terms, so no cancellation (module docstring, "Numerics"), and one-hot targets on
    classes with tiny predicted probability stay finite. Shapes as ``F.cross_entropy``: logits
    (N, K) or (N, K, d1, …); ``target`` probabilities of the same shape (soft) or class indices
    (N,) / (N, d1, …) (hard, ``ignore_index`` skipped), where it equals Shannon CE.
    ``validate=False`` skips the value checks (finite logits, targets on the simplex, indices in
    range), which synchronize with the device, for inputs the caller already validated; shapes,
    dtypes and ``reduction`` are still checked and valid input gives the identical result.
    """

    def rows(logits: Tensor, y: Tensor) -> Tensor:
        if not y.requires_grad:  # the training step's case: one autograd node (_CollisionRows)
            return _CollisionRows.apply(logits, y)
        log_sigma, j, shifted = _stable_terms(logits, y)
        return -log_sigma.gather(1, j).squeeze(1) - log_dot_exp(shifted, y)

    return _family_loss(input, target, reduction, ignore_index, rows, validate)


def shannon_cross_entropy(
    input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True
) -> Tensor:
    """Shannon cross-entropy ``H(y, σ) = −Σ_k y_k ln σ_k`` with ``σ = softmax(input)``.

    Zero-probability target entries contribute exactly 0 (also to the gradient). Shapes,
    ``ignore_index`` and ``validate`` as :func:`collision_cross_entropy`.
    """

    def rows(logits: Tensor, y: Tensor) -> Tensor:
        log_sigma = torch.log_softmax(logits, dim=1)
        # ln σ_k = −∞ (logits beyond ±finfo.max/2) where y_k = 0 contributes 0, not 0·∞ = NaN
        finite = torch.where(y > 0, log_sigma, log_sigma.clamp(min=torch.finfo(log_sigma.dtype).min))
        return -(y * finite).sum(dim=1)

    return _family_loss(input, target, reduction, ignore_index, rows, validate)


def renyi_cross_entropy(
    input: Tensor,
    target: Tensor,
    alpha: float = 2.0,
    reduction: str = "mean",
    ignore_index: int = -100,
    *,
    validate: bool = True,
) -> Tensor:
    """Rényi cross-entropy of order α (the "shifted" form of docs/math.md §2).

    ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``; α = 2 is collision CE and α → 1 is
    Shannon CE. Computed as ``−ln σ_j − logsumexp((α − 1)(l − l_j) + ln y) / (α − 1)`` with
    ``j`` the class with the largest ``(α − 1)·l_j`` among those with ``y_j > 0``, so the scaled
    differences are ``≤ 0`` on the support and never overflow. α = 1 is Shannon CE itself. For
    ``0 < |α − 1| < 1e-6`` the second-order expansion ``H(y, σ) − (α − 1)/2 · Var_y[ln σ]``
    avoids the 0/0 of the closed form; a row uses it while its truncation error, at most
    ``(α − 1)² s³/6`` with ``s = max_k |ln σ_k − E_y ln σ|`` over the support, is below the closed
    form's rounding error ``ε/|α − 1|`` (i.e. while ``|α − 1|·s ≤ ε^{1/3}``, ε the machine epsilon
    of the computed dtype), else the closed form.
    Shapes, ``ignore_index`` and ``validate`` as :func:`collision_cross_entropy` (``alpha`` is
    always checked; pass it as a Python number, a tensor ``alpha`` is read with ``float``).
    """
    if isinstance(alpha, Tensor):
        alpha = float(alpha)
    if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha={alpha!r} is not valid; expected a finite number > 0")
    eps = alpha - 1.0

    def rows(logits: Tensor, y: Tensor) -> Tensor:
        log_sigma = torch.log_softmax(logits, dim=1)
        # Rounding in Σ_k y_k would be amplified by 1/(α − 1) near α = 1: renormalize the rows.
        y = y / y.sum(dim=1, keepdim=True)
        zero = torch.zeros_like(log_sigma)
        if eps == 0:  # Shannon CE (zero-weight classes contribute nothing)
            return -(y * torch.where(y > 0, log_sigma, zero)).sum(dim=1)
        if abs(eps) >= _RENYI_SERIES_EPS:
            return closed(logits, log_sigma, y)
        # Masked moments of ln σ_k = ln σ_j + (l_k − l_j) under y, j the top of the support: from
        # logit differences (exact for close logits). A difference of −∞ (logits beyond
        # ±finfo.max/2) is clamped: such rows go to the closed form, and the series' gradient
        # (zero there) must not meet 0·∞.
        finfo = torch.finfo(log_sigma.dtype)
        j = top_of_support(logits, y)
        z = torch.where(y > 0, (logits - logits.gather(1, j)).clamp(min=finfo.min), zero)
        mean = (y * z).sum(dim=1)
        centered = torch.where(y > 0, z - mean.unsqueeze(1), zero)
        use_series = abs(eps) * centered.detach().abs().amax(dim=1) <= finfo.eps ** (1 / 3)
        # rows left to the closed form get zeros here: no overflow in the square or its gradient
        centered = torch.where(use_series.unsqueeze(1), centered, zero)
        series = -log_sigma.gather(1, j).squeeze(1) - mean - 0.5 * eps * (y * centered**2).sum(dim=1)
        return torch.where(use_series, series, closed(logits, log_sigma, y))

    def closed(logits: Tensor, log_sigma: Tensor, y: Tensor) -> Tensor:
        j = top_of_support(logits if eps > 0 else -logits, y)
        scaled = eps * (logits - logits.gather(1, j))  # <= 0 on the support of y
        scaled = torch.where(y > 0, scaled, torch.zeros_like(scaled))  # off it, ln 0 = −∞ drops the term
        return -log_sigma.gather(1, j).squeeze(1) - torch.logsumexp(scaled + safe_log(y), dim=1) / eps

    return _family_loss(input, target, reduction, ignore_index, rows, validate)
