"""Wall-clock timing for benchmarks: the best of several runs (the least disturbed by a busy machine)."""

from __future__ import annotations

import math
import time
from typing import Any, Callable

__all__ = ["best_of"]


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``fn()``, in seconds (``time.perf_counter``)."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
