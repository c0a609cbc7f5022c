"""The constraints of :class:`~ccel_core.training.TrainConfig`'s fields, declared once with each field
(scikit-learn's ``_parameter_constraints`` idea): an :class:`Interval` for a number, a tuple of choices
for a string. The config's validation checks them, the ``ccel`` command's flags check through the
config, and the app's widgets take their lower bounds from them (``TrainConfig.bounds``).

Errors name the value and what was expected: ``epochs=0 should be >= 1``, ``lr=0.0 should be > 0``,
``momentum=1.5 should be < 1``, ``labeled_fraction=2.0 should be in [0, 1]``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["Interval", "check_number", "check_choice"]


@dataclass(frozen=True)
class Interval:
    """``low ≤ x`` (``low < x`` when ``low_open``), and with ``high``: ``x < high`` (``x ≤ high`` when
    ``high_closed``); ``integer``: whole numbers only."""

    low: float
    high: Optional[float] = None
    low_open: bool = False
    high_closed: bool = False
    integer: bool = False

    def __contains__(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = self.high is None or (x <= self.high if self.high_closed else x < self.high)
        return above and below

    @property
    def lower(self) -> str:
        """The lower bound as text: ``>= 1``, ``> 0``."""
        return f"{'>' if self.low_open else '>='} {_text(self.low)}"

    @property
    def upper(self) -> str:
        """The upper bound as text: ``< 1``, ``in [0, 1]``, ``< 9223372036854775808 (2**63)``."""
        if self.high_closed:
            return f"in [{_text(self.low)}, {_text(self.high)}]"
        power = f" (2**{int(self.high).bit_length() - 1})" if self.integer and self.high and self.high > 2**20 else ""
        return f"< {_text(self.high)}{power}"


def _text(x: Optional[float]) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_number(name: str, value: Any, interval: Interval, *, optional: bool = False) -> Any:
    """``value`` as an int (``interval.integer``) or float inside ``interval``, None when ``optional``
    and None; else ``ValueError`` naming ``name`` and the value."""
    if value is None and optional:
        return None
    if interval.integer:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name}={value!r} should be an integer {interval.lower}")
        number: float = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name}={value!r} should be a finite number")
        number = float(value)
    if number not in interval:
        low_ok = number > interval.low if interval.low_open else number >= interval.low
        raise ValueError(f"{name}={value!r} should be {interval.upper if low_ok else interval.lower}")
    return number


def check_choice(name: str, value: Any, choices: tuple[str, ...], *, optional: bool = False) -> Optional[str]:
    """``value`` stripped and lower-cased if it is one of ``choices`` (None when ``optional`` and None),
    else ``ValueError`` naming the choices."""
    if value is None and optional:
        return None
    norm = value.strip().lower() if isinstance(value, str) else value
    if norm not in choices:
        raise ValueError(f"{name}={value!r} should be one of {choices}")
    return norm
