"""Where a loss curve is smallest: the minimizers of a sampled curve as a set, and the K = 2
curves' minimizers in closed form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .family import as_targets, check_alpha

__all__ = ["near_minimum", "curve_minimizers", "exact_minimizers", "binary_loss", "Minimizers"]


def near_minimum(loss: Sequence[float] | np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Boolean mask of the samples within ``rtol · max(1, |min|)`` of the smallest finite loss:
    the minimizers *as a set* (ties and flat stretches included, rounding noise ignored)."""
    v = np.asarray(loss, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        raise ValueError("the loss has no finite value")
    low = float(v[finite].min())
    return finite & (v <= low + float(rtol) * max(1.0, abs(low)))


@dataclass(frozen=True)
class Minimizers:
    """The minimizers of a loss sampled on a 1-D grid (from :func:`curve_minimizers`).

    ``intervals``: the runs of consecutive minimizing grid points as ``(first, last)`` grid values
    (a single point has ``first == last``); ``flat``: every grid point is a minimizer; ``value``:
    the minimum; ``spread``: max − min of the loss over the grid.
    """

    intervals: tuple[tuple[float, float], ...]
    flat: bool
    value: float
    spread: float

    @property
    def unique(self) -> bool:
        """One minimizing grid point."""
        return len(self.intervals) == 1 and self.intervals[0][0] == self.intervals[0][1]

    def describe(self, var: str = "p", digits: int = 3) -> str:
        """``"p = 0.900"``; ``"p = 0.005 or 0.995"`` (ties); ``"p ∈ [0.2, 0.4]"``; ``"flat: every p"``."""
        if self.flat:
            return f"flat: every {var}"
        parts = [f"{lo:.{digits}f}" if lo == hi else f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi in self.intervals]
        rel = "∈" if any(lo != hi for lo, hi in self.intervals) else "="
        return f"{var} {rel} " + " or ".join(parts)


def curve_minimizers(
    x: Sequence[float] | np.ndarray, loss: Sequence[float] | np.ndarray, rtol: float = 1e-9
) -> Minimizers:
    """Where the sampled curve ``loss(x)`` is smallest (:func:`near_minimum`), as :class:`Minimizers`.

    A flat curve (collision CE of y = (½, ½) is ln 2 for every p) is reported as flat rather than
    by an arbitrary argmin; symmetric ties (Rényi α > 2 at y = (½, ½): both ends) are all listed.
    """
    xs = np.asarray(x, dtype=np.float64)
    v = np.asarray(loss, dtype=np.float64)
    if xs.shape != v.shape or xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"x and loss must be 1-D of the same length, got shapes {xs.shape} and {v.shape}")
    order = np.argsort(xs, kind="stable")
    xs, v = xs[order], v[order]
    mask = near_minimum(v, rtol)
    finite = v[np.isfinite(v)]
    idx = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts, ends = np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]
    return Minimizers(
        intervals=tuple((float(xs[a]), float(xs[b])) for a, b in zip(starts, ends)),
        flat=bool(mask.all()),
        value=float(finite.min()),
        spread=float(finite.max() - finite.min()),
    )


def binary_loss(y1: float, alpha: float, p: np.ndarray | float) -> np.ndarray:
    """The order-α CE of ``y = (y₁, 1 − y₁)`` and ``σ = (p, 1 − p)`` for p on the *closed* interval
    [0, 1], with ``0 · ln 0 = 0`` (a class the target does not support costs nothing):
    ``H = −y₁ ln p − y₂ ln(1 − p)`` (α = 1), else ``ln(y₁ p^{α−1} + y₂ (1 − p)^{α−1}) / (1 − α)``.
    """
    ps = np.asarray(p, dtype=np.float64)
    y = ((float(y1), ps), (1.0 - float(y1), 1.0 - ps))
    a = check_alpha(alpha)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        terms = [(-yk * np.log(s) if a == 1.0 else yk * s ** (a - 1.0)) for yk, s in y if yk > 0]
        total = np.sum(terms, axis=0)
        return np.asarray(total if a == 1.0 else np.log(total) / (1.0 - a), dtype=np.float64)


def exact_minimizers(y: Sequence[float], alpha: float) -> Minimizers:
    """Where the K = 2 curve of order α is smallest over the closed interval p ∈ [0, 1], in closed
    form (the page's and the report's argmin: not read off a grid).

    With ``β = α − 1``, minimizing ``H_α`` is maximizing ``y₁ p^β + y₂ (1 − p)^β`` (α > 1) or
    minimizing it (α < 1):

    * ``α < 2``: stationarity ``y₁ p^{β−1} = y₂ (1 − p)^{β−1}`` gives
      ``p* = y₁^γ / (y₁^γ + y₂^γ)`` with ``γ = 1/(2 − α)`` (α = 1: ``p* = y₁``, σ copies y).
    * ``α = 2``: linear inside the log, so the end of y's most likely class (p* = 1 if y₁ > y₂);
      ``y₁ = y₂``: the loss is ln 2 for every p (``flat``).
    * ``α > 2``: convex inside the log, so an end: the likelier class's, or both ends when y₁ = y₂.

    ``value`` is the minimum (nats); ``spread`` is the loss's range over [0, 1] (``inf`` where it is
    unbounded, e.g. Shannon CE of a soft target at either end).
    """
    (y1, y2), a = as_targets([y], 2)[0], check_alpha(alpha)
    if y1 == y2 and a == 2.0:
        points: tuple[float, ...] = ()
    elif a < 2.0:
        g = 1.0 / (2.0 - a)
        points = (float(y1),) if y1 in (0.0, 1.0) else (float(y1**g / (y1**g + y2**g)),)
    elif y1 == y2:
        points = (0.0, 1.0)
    else:
        points = (1.0,) if y1 > y2 else (0.0,)
    grid = np.r_[np.linspace(0.0, 1.0, 2001), points]
    values = binary_loss(y1, a, grid)
    low = float(binary_loss(y1, a, np.array(points[:1] or (0.5,)))[0]) + 0.0  # no −0.0
    return Minimizers(
        intervals=tuple((p, p) for p in points) or ((0.0, 1.0),),
        flat=not points,
        value=low,
        spread=float(np.max(np.where(np.isnan(values), np.inf, values)) - low),
    )
