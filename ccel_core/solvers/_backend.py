"""The solvers' array backend: numpy or torch, picked from an array, with one interface for both.

A :class:`Backend` is made from an array (``Backend(probs)``) and answers the operations the solvers
need where numpy and torch spell them differently (POT's ``ot.backend.get_backend`` idea), so that
each solver is written once: float64 arrays on the array's backend and torch device; ``lib`` is the
module itself (``np`` or ``torch``) for what both spell alike (``lib.where``, ``lib.exp``, ``lib.abs``).
Logarithms here follow the convention ``ln 0 = −inf`` without numpy's divide warning; the solvers'
compiled kernels (numba, numpy only) are dispatched to by the solvers themselves.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch
from scipy.special import logsumexp as np_logsumexp
from scipy.special import xlogy as np_xlogy

__all__ = ["Array", "Backend"]

Array = Union[np.ndarray, torch.Tensor]


class Backend:
    """The array operations that differ between numpy and torch, for arrays like ``like``."""

    def __init__(self, like: Array):
        self.torch = isinstance(like, torch.Tensor)
        self.lib = torch if self.torch else np
        self.device = like.device if self.torch else None

    # ---- construction and conversion -------------------------------------------------------
    def zeros(self, n: int) -> Array:
        """A float64 vector of ``n`` zeros."""
        return torch.zeros(n, dtype=torch.float64, device=self.device) if self.torch else np.zeros(n)

    def eye(self, k: int) -> Array:
        return torch.eye(k, dtype=torch.float64, device=self.device) if self.torch else np.eye(k)

    def one_hot(self, index: Array, k: int) -> Array:
        """Float64 rows ``e_{index_i}`` (N×K)."""
        n = len(index)
        if self.torch:
            out = torch.zeros((n, k), dtype=torch.float64, device=self.device)
            out[torch.arange(n, device=self.device), index] = 1.0
            return out
        out_np = np.zeros((n, k))
        out_np[np.arange(n), index] = 1.0
        return out_np

    def copy(self, x: Array) -> Array:
        return x.clone() if isinstance(x, torch.Tensor) else x.copy()

    def asarray(self, x: np.ndarray) -> Array:
        """A numpy array on this backend (and device)."""
        return torch.as_tensor(x, device=self.device) if self.torch else x

    @staticmethod
    def to_numpy(x: Array) -> np.ndarray:
        """``x`` as a numpy array: a numpy array itself, a tensor's values on the CPU (for a CPU tensor
        a view of its memory, not a copy: callers only read it)."""
        return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x

    # ---- elementwise and reductions ----------------------------------------------------------
    @staticmethod
    def log(x: Array) -> Array:
        """``ln x`` with ``ln 0 = −inf`` (no divide warning)."""
        if isinstance(x, torch.Tensor):
            return torch.log(x)
        with np.errstate(divide="ignore"):
            return np.log(x)

    @staticmethod
    def xlogy(x: Array, y: Array) -> Array:
        """``x ln y`` with ``0 ln y = 0`` (``x``'s backend; ``y`` on the same)."""
        if isinstance(x, torch.Tensor):
            assert isinstance(y, torch.Tensor)  # both arrays of one problem share its backend
            return torch.xlogy(x, y)
        return np_xlogy(x, y)

    @staticmethod
    def x_log(x: Array, log_y: Array) -> Array:
        """``x · ln y`` from ``ln y``, 0 where ``x ≤ 0`` (also where ``ln y = −inf``, no warning)."""
        if isinstance(x, torch.Tensor):
            assert isinstance(log_y, torch.Tensor)  # both arrays of one problem share its backend
            return torch.where(x > 0, x * log_y, 0.0)
        with np.errstate(invalid="ignore"):
            return np.where(x > 0, x * log_y, 0.0)

    @staticmethod
    def sqrt(v: Array) -> Array:
        return v.sqrt() if isinstance(v, torch.Tensor) else np.sqrt(v)

    @staticmethod
    def clamp_min(x: Array, floor: float) -> Array:
        return x.clamp_min(floor) if isinstance(x, torch.Tensor) else np.maximum(x, floor)

    @staticmethod
    def amax(x: Array, axis: int) -> Array:
        """The maxima of ``x`` along ``axis`` (the axis dropped)."""
        return x.max(axis).values if isinstance(x, torch.Tensor) else x.max(axis)

    def row_max(self, x: Array) -> Array:
        return self.amax(x, 1)

    @staticmethod
    def logsumexp(x: Array, axis: int) -> Array:
        return torch.logsumexp(x, dim=axis) if isinstance(x, torch.Tensor) else np_logsumexp(x, axis=axis)

    @staticmethod
    def softmax_rows(theta: Array) -> Array:
        """Rows of ``exp θ`` normalized to the simplex (max-shifted)."""
        if isinstance(theta, torch.Tensor):
            return torch.softmax(theta, dim=1)
        e = np.exp(theta - theta.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def max_step(self, x: Array, dx: Array) -> float:
        """Largest α ≤ 1 with ``x + α dx ≥ 0``."""
        lib = self.lib
        ratio = lib.where(dx < 0, -x / lib.where(dx < 0, dx, -1.0), 1.0 + 0.0 * x)
        return min(1.0, float(ratio.min()))

    # ---- linear algebra ----------------------------------------------------------------------
    @staticmethod
    def diag(v: Array) -> Array:
        return torch.diag(v) if isinstance(v, torch.Tensor) else np.diag(v)

    def solve(self, a: Array, b: Array) -> Array:
        return torch.linalg.solve(a, b) if self.torch else np.linalg.solve(a, b)
