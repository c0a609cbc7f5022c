"""Reaching a level within a budget, as text: when a run first reached a certified gap level or what
it spent without reaching it (:class:`Reach`: ``"> 0.8 s"`` a lower bound), and the ratio of two
such reaches (:class:`Ratio`: ``"> 12×"`` a bound); never ``None``, ``nan`` or ``inf``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

__all__ = ["Ratio", "Reach", "format_iterations", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``0.86 ms``, ``0.123 s``, ``12.3 s``, ``125 s``."""
    if not math.isfinite(seconds):
        raise ValueError(f"seconds must be finite, got {seconds}")
    if seconds < 0.01:
        return f"{seconds * 1e3:.2g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def format_iterations(iters: float) -> str:
    """``4,300 it``."""
    return f"{int(iters):,} it"


def _sig2(value: float, direction: str) -> float:
    """``value`` to two significant digits, rounded down (``"floor"``) or up (``"ceil"``): a lower
    bound stays a lower bound when printed."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value)) - 1
    mantissa = round(value / 10.0**exponent if exponent >= 0 else value * 10.0**-exponent, 9)
    digits = math.floor(mantissa) if direction == "floor" else math.ceil(mantissa)
    return digits * 10.0**exponent if exponent >= 0 else digits / 10.0**-exponent


def _times(value: float) -> str:
    return f"{value:.2g}×" if value < 100 else f"{value:.0f}×"


@dataclass(frozen=True)
class Reach:
    """When a run first reached a certified gap level, or what it spent without reaching it.

    ``reached``: ``seconds`` / ``iters`` are the first iterate at or below the level. Otherwise they
    are the run's whole budget, so the time to the level is *more* (a lower bound) — unless the run
    ``diverged`` (it never gets there) or ``stopped_at`` a looser target gap (not run that far).
    """

    seconds: float
    iters: int
    reached: bool
    diverged: bool = False
    stopped_at: Optional[float] = None

    @property
    def bound(self) -> bool:
        """True when ``seconds``/``iters`` are a lower bound on the time to the level."""
        return not self.reached and not self.diverged and self.stopped_at is None

    @property
    def seconds_text(self) -> str:
        if self.reached:
            return format_seconds(self.seconds)
        if self.diverged:
            return "diverged"
        if self.stopped_at is not None:
            return f"not run (stopped at {self.stopped_at:g})"
        return f"> {format_seconds(self.seconds)}"

    @property
    def iters_text(self) -> str:
        if self.reached:
            return format_iterations(self.iters)
        if self.bound:
            return f"> {format_iterations(self.iters)}"
        return self.seconds_text

    @property
    def text(self) -> str:
        """``0.123 s · 288 it``, ``> 3.1 s · > 4,300 it``, ``diverged``, ``not run (stopped at 1e-06)``."""
        if self.reached or self.bound:
            return f"{self.seconds_text} · {self.iters_text}"
        return self.seconds_text


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of two :class:`Reach` es (seconds or iterations).

    ``kind``: ``"="`` (both reached), ``">"`` (a lower bound: the numerator did not reach the level),
    ``"<"`` (an upper bound: the denominator did not), ``"?"`` (no bound: neither reached, or a
    side diverged / was not run).
    """

    value: float
    kind: str
    why: str = ""

    @staticmethod
    def of(num: Reach, den: Reach, what: str = "seconds", names: tuple[str, str] = ("PGD", "EM")) -> "Ratio":
        a, b = (float(num.seconds), float(den.seconds)) if what == "seconds" else (float(num.iters), float(den.iters))
        if num.diverged or den.diverged:
            side = names[0] if num.diverged else names[1]
            return Ratio(math.nan, "?", f"{side}: every step size diverged" if side == "PGD" else f"{side} diverged")
        if num.stopped_at is not None or den.stopped_at is not None:
            return Ratio(math.nan, "?", "not run to this level")
        if not num.reached and not den.reached:
            return Ratio(math.nan, "?", "neither reached it within its budget")
        if b <= 0:
            return Ratio(math.nan, "?", f"{names[1]} starts below the level")
        if num.reached and den.reached:
            return Ratio(a / b, "=")
        if den.reached:  # the numerator's budget ran out: it takes longer than that
            return Ratio(a / b, ">", f"{names[0]} did not reach it within its budget")
        return Ratio(a / b, "<", f"{names[1]} did not reach it within its budget")

    @property
    def text(self) -> str:
        """``3.4×``, ``> 8.0×`` (rounded down), ``< 0.5×`` (rounded up), or why there is no number."""
        if self.kind == "=":
            return _times(self.value)
        if self.kind == ">":
            return f"> {_times(_sig2(self.value, 'floor'))}"
        if self.kind == "<":
            return f"< {_times(_sig2(self.value, 'ceil'))}"
        return f"n/a: {self.why}"
