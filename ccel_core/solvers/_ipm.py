"""The exact y-step's building blocks: the structured Newton system and the problem's state.

The Newton matrix of the y-step (with ``f = N·P``) is ``H + D`` with per-point blocks
``B_i = diag(1/e_i) + r_i r_iᵀ`` (``r_i = σ_i/a_i``, ``a_i = σ_i·y_i``; ``e = y/z`` in the interior
method, ``1/ε`` on a face's support — a diagonal ε — and 0 off it) restricted to the simplex, coupled only through the
column sums by ``1_N1_Nᵀ ⊗ diag(G''(m)/N)``. Shared by the numpy and torch paths of
:func:`ccel_core.solvers.exact` (the fused numba kernel in :mod:`._exact_kernels` does the same
arithmetic for numpy interior steps).
"""

from __future__ import annotations

import math

import numpy as np

from ._backend import Array, Backend
from .certificate import certify, slope_order

__all__ = ["Problem", "blocks", "newton"]


def blocks(e: Array, r: Array) -> tuple:
    """Factors of the projected inverse ``M_i`` of ``B_i = diag(1/e_i) + r_i r_iᵀ`` on the simplex.

    ``B⁻¹x = e∘x − ρ w (w·x)`` with ``w = e∘r``, ``ρ = 1/(1 + r·w)`` (Sherman-Morrison; ``e_k = 0``
    freezes entry k); ``M x = B⁻¹x − b (b·x)/(1·b)`` with ``b = B⁻¹1``.
    """
    w = e * r
    rho = 1.0 / (1.0 + (r * w).sum(1))
    b = e - (rho * w.sum(1))[:, None] * w
    return e, w, rho, b, 1.0 / b.sum(1)


def newton(factors: tuple, curv: Array, grad: Array, ops: Backend) -> Array:
    """The coupled Newton direction ``Δ`` for the gradient ``grad`` (N×K).

    ``curv = G''(m)/N``. With ``M_i`` from :func:`blocks`, ``s = Σ_i Δ_i`` solves
    ``(I + S·diag(curv)) s = Σ_i M_i(−g_i)``, ``S = Σ_i M_i``; then ``Δ_i = M_i(−g_i − curv∘s)``.
    """
    e, w, rho, b, binv = factors

    def apply(x: Array) -> Array:
        return e * x - (rho * (w * x).sum(1))[:, None] * w - (binv * (b * x).sum(1))[:, None] * b

    wq, bq = w * ops.sqrt(rho)[:, None], b * ops.sqrt(binv)[:, None]
    s_mat = ops.diag(e.sum(0)) - wq.T @ wq - bq.T @ bq
    s = ops.solve(ops.eye(grad.shape[1]) + s_mat * curv[None, :], apply(-grad).sum(0))
    d = apply(-grad - curv * s)
    return d - d.sum(1)[:, None] * e / e.sum(1)[:, None]  # rows sum to 0 despite rounding


class Problem:
    """``P``, its gradient pieces and the certificate for one (σ, λ, u, objective)."""

    def __init__(self, sig: Array, lam: float, u: Array, objective: str, ops: Backend):
        self.sig, self.lam, self.u, self.objective, self.ops = sig, lam, u, objective, ops
        self.eq10 = objective == "eq10"
        # the certificate runs on CPU numpy; σ is fixed, so the envelope scan's sort is done once
        self.sig_np: np.ndarray = ops.to_numpy(sig)
        self.order = slope_order(self.sig_np)
        # σ class-major for the numba kernels (numpy only; :mod:`._exact_kernels`)
        self.sig_t = None if ops.torch else np.ascontiguousarray(self.sig_np.T)

    def state(self, y: Array) -> tuple[Array, Array, Array, Array]:
        """``(a, ∇f, G''/N, r)`` at ``y`` with ``f = N·P``: ``∇f = −σ/a + G'(m)``."""
        a = (self.sig * y).sum(1)
        m = y.mean(0)
        lib = self.ops.lib
        if self.eq10:
            gp, gpp = self.lam * (lib.log(m / self.u) + 1.0), self.lam / m
        else:
            gp = lib.where(self.u > 0, -self.lam * self.u / m, 0.0 * m)
            gpp = lib.where(self.u > 0, self.lam * self.u / (m * m), 0.0 * m)
        r = self.sig / a[:, None]
        return a, -r + gp, gpp / y.shape[0], r

    def certify(self, y: Array, polish: bool = False, tol: float = math.inf) -> tuple[float, float]:
        """``(P(y), certified relative gap)``; ``polish`` for labels on a face, ``tol`` the solver's target
        (see :func:`~.certificate.certify`)."""
        loss, _, rel = certify(self.sig_np, y, self.lam, self.u, self.objective, self.order, polish, tol)
        return loss, rel
