"""Verdicts on the paper's claims: one significance rule for every "A beats B" comparison.

A claim compares seed samples: ours vs the best baseline (independent runs), or per-seed paired
differences (collision − Shannon test accuracy, PGD / EM iteration ratios). The test is one-sided
in both directions at level ``α`` (default 0.05):

* independent runs ``a``, ``b`` (ours vs the best baseline, each method with its own training):
  Welch's t test, ``t = (ā − b̄) / sqrt(s_a²/n_a + s_b²/n_b)``
  with the Welch–Satterthwaite degrees of freedom
  ``ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1))``;
* paired differences ``d`` — runs that share a seed's randomness (the same corrupted targets, the
  same labeled rows, the same random problem) — or any sample against a reference value ``d₀``:
  the one-sample t test ``t = (d̄ − d₀) / (s_d / sqrt(n))``, ``ν = n − 1``.

The verdict: **holds** when ``P(T ≥ t) < α`` (the claimed direction is significant), **does not
hold** when ``P(T ≤ t) < α`` (the opposite direction is), **within noise** otherwise; **not
measurable here** when a side has fewer than two finite values (no spread to test against) or the
experiment could not run on this machine (the claim says what it needs); **failed** when the
section raised (its error is in the report). Samples without spread
(every value equal, e.g. load-independent iteration counts) decide by the sign of the difference
alone. The interval is the two-sided ``1 − 2α`` t interval of the difference (90 % for α = 0.05,
the interval whose ends are the two one-sided tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

__all__ = [
    "ALPHA",
    "HOLDS",
    "DOES_NOT_HOLD",
    "WITHIN_NOISE",
    "NOT_MEASURABLE",
    "FAILED",
    "VERDICTS",
    "TestResult",
    "welch_test",
    "one_sample_test",
    "not_measurable",
    "failed",
    "computed",
]

ALPHA = 0.05
HOLDS, DOES_NOT_HOLD, WITHIN_NOISE = "holds", "does not hold", "within noise"
NOT_MEASURABLE, FAILED = "not measurable here", "failed"
VERDICTS: tuple[str, ...] = (HOLDS, DOES_NOT_HOLD, WITHIN_NOISE, NOT_MEASURABLE, FAILED)


@dataclass(frozen=True)
class TestResult:
    """One test of "``a`` exceeds ``b``": the difference of the means, its interval, the statistic,
    the one-sided p value of the claimed direction and the verdict (see the module docstring)."""

    verdict: str
    difference: float = math.nan
    low: float = math.nan
    high: float = math.nan
    t: float = math.nan
    dof: float = math.nan
    p: float = math.nan
    n: tuple[int, ...] = ()
    method: str = ""
    needs: str = ""
    detail: str = ""
    alpha: float = ALPHA

    __test__ = False  # not a pytest class

    def describe(self, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
        """``"Welch t = 3.10 (ν 3.9), one-sided p = 0.019; difference +4.10 [+1.50, +6.70] points (90 %)"``."""
        if self.verdict in (NOT_MEASURABLE, FAILED):
            return f"{self.verdict}: {self.needs}" if self.needs else self.verdict
        if self.method == "computed":
            return f"computed (deterministic): {self.detail}"
        d = f"{self.difference * scale:+.{digits}f}"
        if not math.isfinite(self.t):  # no spread: decided by the sign
            return f"{self.method}: no spread over seeds, difference {d}{unit}"
        ci = f"[{self.low * scale:+.{digits}f}, {self.high * scale:+.{digits}f}]{unit}"
        level = f"{100 * (1 - 2 * self.alpha):g} %"
        return f"{self.method} t = {self.t:.2f} (ν {self.dof:.1f}), one-sided p = {_p(self.p)}; difference {d} {ci} ({level})"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"


def _finite(values: Iterable[float]) -> np.ndarray:
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    return v[np.isfinite(v)]


def _decide(diff: float, se: float, dof: float, n: tuple[int, ...], method: str, alpha: float) -> TestResult:
    from scipy.stats import t as student_t

    if not se > 1e-12 * max(1.0, abs(diff)) or not math.isfinite(se):  # no spread (to rounding): the sign decides
        verdict = HOLDS if diff > 0 else DOES_NOT_HOLD if diff < 0 else WITHIN_NOISE
        return TestResult(verdict, diff, diff, diff, math.nan, dof, 0.0 if diff > 0 else 1.0, n, method, alpha=alpha)
    t = diff / se
    p_up = float(student_t.sf(t, dof))
    p_down = float(student_t.cdf(t, dof))
    verdict = HOLDS if p_up < alpha else DOES_NOT_HOLD if p_down < alpha else WITHIN_NOISE
    half = float(student_t.ppf(1 - alpha, dof)) * se
    return TestResult(verdict, diff, diff - half, diff + half, t, dof, p_up, n, method, alpha=alpha)


def welch_test(a: Iterable[float], b: Iterable[float], *, alpha: float = ALPHA) -> TestResult:
    """Does sample ``a`` (e.g. ours over seeds) exceed sample ``b`` (the best baseline)? Welch's t."""
    x, y = _finite(a), _finite(b)
    if x.size < 2 or y.size < 2:
        return not_measurable(f"at least 2 seeds per side (got {x.size} and {y.size})")
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    denom = va**2 / (x.size - 1) + vb**2 / (y.size - 1)
    dof = (va + vb) ** 2 / denom if denom > 0 else math.inf
    return _decide(float(x.mean() - y.mean()), se, dof, (int(x.size), int(y.size)), "Welch", alpha)


def one_sample_test(d: Iterable[float], reference: float = 0.0, *, alpha: float = ALPHA) -> TestResult:
    """Does the mean of ``d`` (paired differences, or log ratios) exceed ``reference``? One-sample t."""
    x = _finite(d)
    if x.size < 2:
        return not_measurable(f"at least 2 seeds (got {x.size})")
    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    return _decide(float(x.mean()) - float(reference), se, float(x.size - 1), (int(x.size),), "paired", alpha)


def not_measurable(needs: str, difference: Optional[float] = None) -> TestResult:
    """The verdict of a claim this machine cannot test, with what it would need."""
    return TestResult(NOT_MEASURABLE, math.nan if difference is None else float(difference), needs=needs)


def failed(error: str) -> TestResult:
    """The verdict of a claim whose section raised ``error``."""
    return TestResult(FAILED, needs=f"the section raised {error}")


def computed(holds: bool, detail: str) -> TestResult:
    """The verdict of a deterministic claim (a property of the formulas, checked numerically)."""
    return TestResult(HOLDS if holds else DOES_NOT_HOLD, method="computed", detail=detail)
