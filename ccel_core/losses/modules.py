"""``nn.Module`` forms of the cross-entropy functionals: each stores ``reduction``, ``ignore_index``
and ``validate`` (and α) and its ``forward`` is one call of its functional.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from .checks import check_options
from .cross_entropy import collision_cross_entropy, renyi_cross_entropy, shannon_cross_entropy

__all__ = ["CollisionCrossEntropyLoss", "ShannonCrossEntropyLoss", "RenyiCrossEntropyLoss"]


class _FamilyLoss(nn.Module):
    def __init__(self, reduction: str = "mean", ignore_index: int = -100, *, validate: bool = True) -> None:
        super().__init__()
        check_options(reduction, ignore_index)
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
