"""The cross-entropy family: Shannon, collision (Rényi order 2) and Rényi of order α.

Notation (docs/math.md §1): logits ``l`` of shape (N, K), predictions ``σ = softmax(l)``, targets ``y``
on the probability simplex Δ_K (soft, N×K) or class indices (hard, N). As in
``torch.nn.functional.cross_entropy``, extra dimensions (N, K, d1, …) — e.g. per-pixel soft labels
— and ``ignore_index`` for class indices are accepted.

* Shannon CE        ``H(y, σ)  = −Σ_k y_k ln σ_k``
* Collision CE      ``H₂(y, σ) = −ln Σ_k y_k σ_k``               (paper eq. 9)
                    ``        = −ln σ_j − logsumexp(l − l_j + ln y)``  (the stable form used here)
* Rényi CE, order α ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``
                    ``        = −ln σ_j − logsumexp((α − 1)(l − l_j) + ln y) / (α − 1)``

Collision CE is symmetric in y and σ, equals Shannon CE for one-hot targets, is the constant ln K
(zero gradient) for uniform targets and never exceeds Shannon CE (Jensen).

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

The functionals follow ``torch.nn.functional``: ``(input, target, …, reduction="mean")`` with
``reduction`` in {"none", "mean", "sum"}; the module classes are one line of ``forward``.
Inputs are validated by one helper (:func:`_check_pair`; :func:`_check_probabilities` for the
entropies); bad input raises ``ValueError`` naming the value and what was expected.
Every functional and module takes a keyword-only ``validate=True``: ``validate=False`` skips the
data checks (finite logits, targets on the simplex, class indices in range), which read tensor
values and so force a host↔device synchronization, for callers that already validated their inputs
(e.g. a training loop's per-batch loss); the cheap structural checks (types, shapes, dtypes, devices,
``reduction``) stay, and on valid input the result is bit-identical.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor, nn

__all__ = [
    "collision_cross_entropy",
    "shannon_cross_entropy",
    "renyi_cross_entropy",
    "entropy",
    "collision_entropy",
    "kl_divergence",
    "CollisionCrossEntropyLoss",
    "ShannonCrossEntropyLoss",
    "RenyiCrossEntropyLoss",
]

_REDUCTIONS = ("none", "mean", "sum")
# |α − 1| below this may use the second-order expansion of the cumulant generating function.
_RENYI_SERIES_EPS = 1e-6


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _sum_tolerance(dtype: torch.dtype) -> float:
    """Allowed |Σ_k y_k − 1| for a target row of this dtype (max(√eps, 1e-6): 3.5e-4 float32, 1e-6 float64)."""
    return max(math.sqrt(torch.finfo(dtype).eps), 1e-6) if dtype.is_floating_point else 1e-6


def _check_dim(p: Tensor, dim: int, name: str) -> None:
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


def _check_probabilities(p: Tensor, name: str, dim: int = -1) -> None:
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


def _check_options(reduction: str, ignore_index: int) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not valid; expected one of {_REDUCTIONS}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index={ignore_index!r} is not valid; expected an integer")


def _check_layout(input: Tensor, target: Tensor, reduction: str, ignore_index: int = -100) -> bool:
    """The structural half of :func:`_check_pair` (types, options, dtypes, devices, shapes): reads no
    tensor value, so it never synchronizes with the device. Returns ``True`` for soft targets."""
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise ValueError(
            f"input and target must be torch.Tensor, got {type(input).__name__} and {type(target).__name__}"
        )
    _check_options(reduction, ignore_index)
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


def _check_pair(input: Tensor, target: Tensor, reduction: str, ignore_index: int = -100) -> bool:
    """Validate a (logits, target) pair; return ``True`` for soft targets, ``False`` for indices.

    Shapes follow ``torch.nn.functional.cross_entropy``: logits (N, K) or (N, K, d1, …); soft
    targets the same shape; class indices (N,) or (N, d1, …), ``ignore_index`` entries skipped.
    Besides :func:`_check_layout` it reads the values (finite logits, targets on the simplex,
    indices in range), which synchronizes with the device; ``validate=False`` skips this function.
    """
    soft = _check_layout(input, target, reduction, ignore_index)
    finite = torch.isfinite(input.detach())
    if input.numel() and not bool(finite.all()):
        raise ValueError(f"input contains {int((~finite).sum())} NaN/Inf logits; expected finite values")
    if soft:
        _check_probabilities(target, "target", dim=1)  # classes along dim 1, as the logits
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


def _family_loss(
    input: Tensor,
    target: Tensor,
    reduction: str,
    ignore_index: int,
    soft_rows: Callable[[Tensor, Tensor, Tensor], Tensor],
    validate: bool = True,
) -> Tensor:
    """Validate (:func:`_check_pair`, or only :func:`_check_layout` without ``validate``), bring
    classes to the last dimension, apply ``soft_rows(logits, log_sigma, y)`` (N'×K → N') for soft
    targets or ``−log σ_c`` for indices, and reduce.

    Computed in :func:`_compute_dtype` (float32 for half types) with ``log_sigma =
    log_softmax(logits)``; the result is returned in the input dtype. With indices,
    ``ignore_index`` entries contribute 0 and "mean" averages over the others (0, not NaN, when
    every entry is ignored); ``reduction="none"`` keeps the shape (N, d1, …).
    """
    soft = (_check_pair if validate else _check_layout)(input, target, reduction, ignore_index)
    k = input.shape[1]
    shape = (input.shape[0],) + tuple(input.shape[2:])
    dtype = _compute_dtype(input.dtype)
    logits = (input if input.ndim == 2 else input.movedim(1, -1).reshape(-1, k)).to(dtype)
    log_sigma = torch.log_softmax(logits, dim=1)
    if soft:
        y = target if target.ndim == 2 else target.movedim(1, -1).reshape(-1, k)
        return _reduce(soft_rows(logits, log_sigma, y.to(dtype)).reshape(shape), reduction).to(input.dtype)
    index = target.reshape(-1)
    keep = index != ignore_index
    picked = torch.where(keep, index, torch.zeros_like(index)).long().unsqueeze(1)
    loss = -log_sigma.gather(1, picked).squeeze(1)
    loss = torch.where(keep, loss, torch.zeros_like(loss)).reshape(shape)
    if reduction == "mean":  # divided first, as in _reduce
        return (loss / keep.sum().clamp_min(1).to(loss.dtype)).sum().to(input.dtype)
    return _reduce(loss, reduction).to(input.dtype)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss is computed in: float32 for the half types (float16, bfloat16), else ``dtype``."""
    return torch.float32 if torch.finfo(dtype).bits < 32 else dtype


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        # Divided first: the mean of finite values stays finite where their sum would overflow.
        return (loss / loss.numel()).sum() if loss.numel() else loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _safe_log(p: Tensor) -> Tensor:
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
        out = torch.logsumexp(logits + _safe_log(target), dim=1)
        ctx.save_for_backward(logits, target, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        logits, target, out = ctx.saved_tensors
        ratio = torch.exp(logits - out.unsqueeze(1))  # e^{l_k} / Σ_j y_j e^{l_j}
        g = grad.unsqueeze(1)
        return g * target * ratio.clamp(max=torch.finfo(ratio.dtype).max), g * ratio


def _log_dot_exp(logits: Tensor, target: Tensor) -> Tensor:
    if target.requires_grad:
        return _LogDotExp.apply(logits, target)
    return torch.logsumexp(logits + _safe_log(target), dim=1)


def _top_of_support(key: Tensor, y: Tensor) -> Tensor:
    """Index (N', 1) of the largest ``key`` among the classes with ``y_k > 0`` (per row)."""
    return torch.where(y > 0, key.detach(), -math.inf).argmax(dim=1, keepdim=True)


# --------------------------------------------------------------------------------------------
# functionals
# --------------------------------------------------------------------------------------------
def collision_cross_entropy(
    input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True
) -> Tensor:
    """Collision cross-entropy ``H₂(y, σ) = −ln Σ_k y_k σ_k`` with ``σ = softmax(input)``.

    Computed in log space as ``−ln σ_j − logsumexp(l − l_j + ln y)`` with ``ln σ = log_softmax(l)``
    and ``j`` the most likely class among those with ``y_j > 0``: two non-negative terms, so no
    cancellation (module docstring, "Numerics"), and one-hot targets on
    classes with tiny predicted probability stay finite. Shapes as ``F.cross_entropy``: logits
    (N, K) or (N, K, d1, …); ``target`` probabilities of the same shape (soft) or class indices
    (N,) / (N, d1, …) (hard, ``ignore_index`` skipped), where it equals Shannon CE.
    ``validate=False`` skips the value checks (finite logits, targets on the simplex, indices in
    range), which synchronize with the device, for inputs the caller already validated; shapes,
    dtypes and ``reduction`` are still checked and valid input gives the identical result.
    """

    def rows(logits: Tensor, log_sigma: Tensor, y: Tensor) -> Tensor:
        j = _top_of_support(logits, y)
        # l_k − l_j <= 0 on the support; the clamp only keeps an off-support +∞ (logits beyond
        # ±finfo.max/2) from meeting ln 0 = −∞
        shifted = (logits - logits.gather(1, j)).clamp(max=torch.finfo(logits.dtype).max)
        return -log_sigma.gather(1, j).squeeze(1) - _log_dot_exp(shifted, y)

    return _family_loss(input, target, reduction, ignore_index, rows, validate)


def shannon_cross_entropy(
    input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True
) -> Tensor:
    """Shannon cross-entropy ``H(y, σ) = −Σ_k y_k ln σ_k`` with ``σ = softmax(input)``.

    Zero-probability target entries contribute exactly 0 (also to the gradient). Shapes,
    ``ignore_index`` and ``validate`` as :func:`collision_cross_entropy`.
    """

    def rows(logits: Tensor, log_sigma: Tensor, y: Tensor) -> Tensor:
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

    def rows(logits: Tensor, log_sigma: Tensor, y: Tensor) -> Tensor:
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
        j = _top_of_support(logits, y)
        z = torch.where(y > 0, (logits - logits.gather(1, j)).clamp(min=finfo.min), zero)
        mean = (y * z).sum(dim=1)
        centered = torch.where(y > 0, z - mean.unsqueeze(1), zero)
        use_series = abs(eps) * centered.detach().abs().amax(dim=1) <= finfo.eps ** (1 / 3)
        # rows left to the closed form get zeros here: no overflow in the square or its gradient
        centered = torch.where(use_series.unsqueeze(1), centered, zero)
        series = -log_sigma.gather(1, j).squeeze(1) - mean - 0.5 * eps * (y * centered**2).sum(dim=1)
        return torch.where(use_series, series, closed(logits, log_sigma, y))

    def closed(logits: Tensor, log_sigma: Tensor, y: Tensor) -> Tensor:
        j = _top_of_support(logits if eps > 0 else -logits, y)
        scaled = eps * (logits - logits.gather(1, j))  # <= 0 on the support of y
        scaled = torch.where(y > 0, scaled, torch.zeros_like(scaled))  # off it, ln 0 = −∞ drops the term
        return -log_sigma.gather(1, j).squeeze(1) - torch.logsumexp(scaled + _safe_log(y), dim=1) / eps

    return _family_loss(input, target, reduction, ignore_index, rows, validate)


# --------------------------------------------------------------------------------------------
# entropies and divergence of probability vectors (along ``dim``, default the last)
# --------------------------------------------------------------------------------------------
def entropy(p: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """Shannon entropy ``H(p) = −Σ_k p_k ln p_k`` along ``dim`` (``0 ln 0 = 0``).

    ``p`` must hold finite, non-negative vectors summing to 1 along ``dim`` (``ValueError`` naming
    ``p`` otherwise); ``validate=False`` skips that value check, which synchronizes with the device,
    for input the caller already validated (the type, dtype and ``dim`` are still checked).
    float16 and bfloat16 are computed in float32 and returned in the input dtype, as the losses.
    """
    _check_dim(p, dim, "p")
    if validate:
        _check_probabilities(p, "p", dim)
    x = p.to(_compute_dtype(p.dtype))
    # H ≥ 0; entries a rounding above 1 (one-hot rows from a solver) would make −x ln x a hair
    # negative, and −(0) is −0.0 ("−0.000" on a page): clamped, and + 0.0 turns −0.0 into 0.0
    return ((-torch.xlogy(x, x).sum(dim=dim)).clamp_min(0.0) + 0.0).to(p.dtype)


def collision_entropy(p: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """Collision (Rényi order-2) entropy ``H₂(p) = −ln Σ_k p_k²`` along ``dim``.

    Input checks, ``validate`` and dtypes as :func:`entropy`.
    """
    _check_dim(p, dim, "p")
    if validate:
        _check_probabilities(p, "p", dim)
    x = p.to(_compute_dtype(p.dtype))
    return (-torch.log((x * x).sum(dim=dim))).to(p.dtype)


def kl_divergence(p: Tensor, q: Tensor, dim: int = -1, *, validate: bool = True) -> Tensor:
    """``KL(p‖q) = Σ_k p_k ln(p_k / q_k)`` along ``dim`` (``0 ln 0 = 0``; ``+∞`` if some q_k = 0 < p_k).

    ``p`` and ``q`` must have one shape and device and hold probability vectors along ``dim``
    (``ValueError`` naming ``p`` or ``q`` otherwise); ``validate`` and dtypes as :func:`entropy`.
    """
    _check_dim(p, dim, "p")
    _check_dim(q, dim, "q")
    if p.shape != q.shape:
        raise ValueError(f"p shape={tuple(p.shape)} does not match q shape={tuple(q.shape)}")
    if p.device != q.device:
        raise ValueError(f"p is on {p.device} but q is on {q.device}; expected one device")
    if validate:
        _check_probabilities(p, "p", dim)
        _check_probabilities(q, "q", dim)
    dtype = _compute_dtype(torch.promote_types(p.dtype, q.dtype))
    x, z = p.to(dtype), q.to(dtype)
    return (torch.xlogy(x, x) - torch.xlogy(x, z)).sum(dim=dim).to(torch.promote_types(p.dtype, q.dtype))


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------
class _FamilyLoss(nn.Module):
    def __init__(self, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True) -> None:
        super().__init__()
        _check_options(reduction, ignore_index)
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.validate = bool(validate)

    def extra_repr(self) -> str:
        extra = "" if self.validate else ", validate=False"
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}{extra}"


class CollisionCrossEntropyLoss(_FamilyLoss):
    """Module form of :func:`collision_cross_entropy`: ``−ln Σ_k y_k softmax(l)_k``.

    ``validate=False`` (stored as ``self.validate``) skips the value checks that synchronize
    with the device, as in the functional.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return collision_cross_entropy(
            input, target, reduction=self.reduction, ignore_index=self.ignore_index, validate=self.validate
        )


class ShannonCrossEntropyLoss(_FamilyLoss):
    """Module form of :func:`shannon_cross_entropy`: ``−Σ_k y_k ln softmax(l)_k`` (``validate`` as
    :class:`CollisionCrossEntropyLoss`)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return shannon_cross_entropy(
            input, target, reduction=self.reduction, ignore_index=self.ignore_index, validate=self.validate
        )


class RenyiCrossEntropyLoss(_FamilyLoss):
    """Module form of :func:`renyi_cross_entropy`: ``ln(Σ_k y_k σ_k^{α−1}) / (1 − α)`` (``validate``
    as :class:`CollisionCrossEntropyLoss`)."""

    def __init__(
        self, alpha: float = 2.0, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True
    ) -> None:
        super().__init__(reduction, ignore_index, validate=validate)
        if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"alpha={alpha!r} is not valid; expected a finite number > 0")
        self.alpha = float(alpha)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return renyi_cross_entropy(
            input, target, self.alpha, reduction=self.reduction, ignore_index=self.ignore_index, validate=self.validate
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, {super().extra_repr()}"
