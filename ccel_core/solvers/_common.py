"""What every y-step solver shares: the result type, input validation and the objectives.

Objectives over pseudo-labels ``Y`` (N×K, rows on the simplex) for fixed predictions ``σ``
(docs/math.md §3), with ``ȳ = mean_i y_i`` and prior ``u``:

* eq. 10: ``L(Y) = mean_i H₂(y_i, σ_i) + λ KL(ȳ‖u)``
* eq. 11: ``L(Y) = mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ)``   (the default of ccel)
* SeLa (entropic OT): ``L(Q) = mean_i [H(q_i, σ_i) − H(q_i)/λ]``

where ``H₂(y, σ) = −ln σ·y``. All arithmetic is float64; numpy in → numpy out, torch in → torch
out on the same device (cast back to the input's dtype).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from ._backend import Array, Backend

__all__ = [
    "SolverResult",
    "STATUSES",
    "format_gap",
    "ConvergenceWarning",
    "eq10_loss",
    "eq11_loss",
    "fairness",
    "label_objective",
    "Inputs",
]


CONVERGED, MAX_ITER, STALLED, BUDGET = "converged", "max_iter", "stalled", "budget"
STATUSES = (CONVERGED, MAX_ITER, STALLED, BUDGET)
# A change-based stopping rule (EM, PGD) counts as convergence only while the certificate of the
# iterate where it fired is at most this: the rule stops EM at certified gaps of ~1e-2 … 1e-5 on real
# problems (tol 1e-5 → ~6e-3, tol 1e-8 → ~5e-5, measured at N = 250…1000, K = 5…100), while a stuck
# iterate (labels pinned near 0, Property 1) stops with no change at all at gaps of 0.4 and more.
STALL_GAP = 0.05
GAP_FLOOR = 1e-12  # certified gaps below this are rounding: shown as "< 1e-12"


def format_gap(gap: float) -> str:
    """A certified gap as text: ``3.5e-03``; below :data:`GAP_FLOOR` ``< 1e-12`` (rounding, never a
    negative number); a non-finite one (a diverged run) ``diverged``."""
    if not math.isfinite(gap):
        return "diverged"
    return f"< {GAP_FLOOR:g}" if gap < GAP_FLOOR else f"{gap:.1e}"


@dataclass
class SolverResult:
    """The one result type of every y-step solver.

    Attributes:
        labels: pseudo-labels, N×K rows on the simplex (numpy or torch, like the input).
        n_iter: iterations performed.
        converged: whether the stopping rule ``|L_{t-1} − L_t| <= tol·|L_{t-1}|`` (EM, PGD) or
            the marginal rule (Sinkhorn) was met before ``max_iter``.
        history: objective value at the start (index 0) and after each iteration, so
            ``len(history) == n_iter + 1``.
        times: seconds since the solver started at each entry of ``history``.
        gaps: certified relative optimality gap ``(P(Y) − D(c(Y)))/P(Y)`` at each entry of
            ``history`` (eq. 10/11 solvers; :mod:`ccel_core.solvers.certificate`); empty where not
            computed (``em``/``pgd`` with ``certify=False``, Sinkhorn).
        duals: the K class multipliers ``c = −∇G(ȳ)`` of the returned labels shifted so that
            ``max_k c_k = 0`` (``exact``; the envelope and the labels it defines are shift-invariant,
            so this is the warm start of the next call's ``duals=``; add back the shift before
            evaluating ``dual_value``, whose eq. 11 domain is c > 0), else None.
        status: why the solver stopped, one of :data:`STATUSES`: ``"converged"`` (its rule met —
            for eq. 10/11 backed by the certificate, see each solver), ``"max_iter"`` (budget spent),
            ``"stalled"`` (the iterates stopped moving but the certificate says the labels are not
            optimal: ``converged`` is False), ``"budget"`` (``tol=0``: a fixed number of iterations).
        message: the same in words, with the numbers (gap, tolerance) that decided it.
    """

    labels: Array
    n_iter: int
    converged: bool
    history: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    duals: Any = None
    status: str = ""
    message: str = ""

    @property
    def loss(self) -> float:
        """Final objective value (``history[-1]``)."""
        return self.history[-1]


@dataclass
class Inputs:
    """A validated y-step call's arrays in float64 on one backend (what :func:`prepare` returns)."""

    probs: Array  # σ, N×K float64
    prior: Array  # u, K float64
    init: Array  # Y0, N×K float64
    out_dtype: Any
    backend: Backend

    @property
    def is_torch(self) -> bool:
        return self.backend.torch

    @property
    def device(self) -> Any:
        return self.backend.device

    def output(self, y: Array) -> Array:
        return y.to(self.out_dtype) if isinstance(y, torch.Tensor) else y.astype(self.out_dtype, copy=False)


def _as_backend(x: Any, name: str, like_torch: bool, device: Any) -> Array:
    if like_torch:
        if isinstance(x, torch.Tensor):
            if x.device != device:
                raise ValueError(f"{name} is on {x.device} but probs is on {device}; expected one device")
            return x.detach().to(torch.float64)
        if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
            return torch.as_tensor(np.asarray(x, dtype=np.float64), device=device)
        raise ValueError(f"{name} must be an array or tensor, got {type(x).__name__}")
    if isinstance(x, torch.Tensor):
        raise ValueError(f"{name} is a torch.Tensor but probs is a numpy array; expected one backend")
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}: {exc}") from None


def _check_simplex_rows(x: Array, name: str, tol: float) -> None:
    xn = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    if not np.all(np.isfinite(xn)):
        raise ValueError(
            f"{name} contains {int((~np.isfinite(xn)).sum())} NaN/Inf values; expected finite probabilities"
        )
    if xn.size and xn.min() < 0:
        raise ValueError(f"{name} has negative probabilities (min={xn.min():.3g}); expected every entry >= 0")
    sums = xn.sum(axis=-1).reshape(-1)
    if sums.size:
        row = int(np.abs(sums - 1).argmax())
        if abs(sums[row] - 1) > tol:
            where = f"row {row} " if xn.ndim == 2 else ""
            raise ValueError(
                f"{name} {where}sums to {sums[row]:.10g}; expected rows summing to 1 (tolerance {tol:.2g})"
            )


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")
    return int(value)


def check_prior_for(objective: str, prior: Array) -> None:
    """Eq. 10's ``λ KL(ȳ‖u)`` is infinite where a class has ``u_k = 0``: it needs a positive prior."""
    if objective == "eq10" and float(prior.min()) <= 0:
        raise ValueError(
            "objective='eq10' needs a strictly positive prior (KL(ȳ‖u) is infinite otherwise); "
            f"got min(prior)={float(prior.min()):.3g}"
        )


def check_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} is not valid; expected a finite number >= 0")
    return float(value)


def prepare(
    probs: Any,
    lam: Any,
    prior: Any,
    init: Any,
    *,
    max_iter: Any,
    tol: Any,
    allow_empty: bool = False,
    init_name: str = "init",
    validate: bool = True,
) -> Inputs:
    """Validate a solver call and convert everything to float64 on the input's backend/device.

    ``allow_empty``: a data-parallel process may hold no rows of a batch (N = 0). ``init_name``: how
    errors name ``init`` (e.g. "labels" for a certificate's input). ``validate=False`` skips the
    value checks of ``probs``, ``prior`` and ``init`` (finite, ≥ 0, rows summing to 1: on a GPU a
    device→host copy each) for callers that validated them, e.g. the trainer's per-batch y-steps;
    shapes, dtypes and the scalar settings are still checked.
    """
    check_nonnegative(lam, "lam")
    check_positive_int(max_iter, "max_iter")
    check_nonnegative(tol, "tol")
    is_torch = isinstance(probs, torch.Tensor)
    if not is_torch and not isinstance(probs, np.ndarray):
        raise ValueError(f"probs must be a numpy array or torch tensor, got {type(probs).__name__}")
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (N, K), got shape={tuple(probs.shape)}")
    n, k = probs.shape
    if n < 1 and not (allow_empty and n == 0):
        raise ValueError(f"probs has N={n} points; expected N >= 1")
    if k < 1:
        raise ValueError(f"number of classes K={k} should be >= 1")
    is_float = probs.is_floating_point() if is_torch else np.issubdtype(probs.dtype, np.floating)
    if not is_float:
        raise ValueError(f"probs must be floating-point probabilities, got dtype={probs.dtype}")
    out_dtype = probs.dtype
    device = probs.device if is_torch else None
    tol_sum = max(1e-6, math.sqrt(float(torch.finfo(probs.dtype).eps if is_torch else np.finfo(probs.dtype).eps)))
    p = probs.detach().to(torch.float64) if is_torch else probs.astype(np.float64)
    check = _check_simplex_rows if validate else (lambda *_: None)
    check(p, "probs", tol_sum)
    if prior is None:
        u = torch.full((k,), 1.0 / k, dtype=torch.float64, device=device) if is_torch else np.full(k, 1.0 / k)
    else:
        u = _as_backend(prior, "prior", is_torch, device)
        if tuple(u.shape) != (k,):
            raise ValueError(f"prior has shape={tuple(u.shape)}; expected ({k},) to match K={k}")
        check(u, "prior", 1e-6)
    if init is None:
        y0 = None  # a copy of σ once σ is normalized below (exactly σ)
    else:
        y0 = _as_backend(init, init_name, is_torch, device)
        if tuple(y0.shape) != (n, k):
            raise ValueError(f"{init_name} has shape={tuple(y0.shape)}; expected {(n, k)} to match probs")
        check(y0, init_name, max(tol_sum, 1e-6))
        y0 = y0.clone() if isinstance(y0, torch.Tensor) else y0.copy()
    # Remove rounding noise so every row sums to 1 in float64.
    p = p / p.sum(-1, keepdims=True) if not is_torch else p / p.sum(-1, keepdim=True)
    if y0 is None:
        y0 = p.clone() if is_torch else p.copy()
    elif isinstance(y0, torch.Tensor):
        y0 = y0 / y0.sum(-1, keepdim=True)
    else:
        y0 = y0 / y0.sum(-1, keepdims=True)
    return Inputs(p, u, y0, out_dtype, Backend(p))


# ------------------------------------------------------------------------------------------
# objectives (float64, either backend)
# ------------------------------------------------------------------------------------------
def collision_term(probs: Array, labels: Array) -> float:
    """``mean_i −ln(σ_i·y_i)`` (``+inf`` when some ``σ_i·y_i = 0``)."""
    s = (probs * labels).sum(-1)
    return float(-Backend.log(s).mean())


def kl_prior(prior: Array, ybar: Array) -> float:
    """``KL(u‖ȳ) = Σ_k u_k ln(u_k/ȳ_k)`` (``+inf`` when some ``ȳ_k = 0 < u_k``)."""
    with np.errstate(divide="ignore"):
        return float((Backend.xlogy(prior, prior) - Backend.xlogy(prior, ybar)).sum())


def fairness(ybar: Array, lam: float, prior: Array, objective: str = "eq11") -> float:
    """The fairness term ``G(ȳ)``: ``λ KL(u‖ȳ)`` (eq. 11) or ``λ KL(ȳ‖u)`` (eq. 10); 0 when λ = 0.

    The one Python/torch form of G, used by every solver's loss and by the objectives' ``label_loss``
    (the numba kernels share :func:`~ccel_core.solvers.certificate.fairness_and_multipliers`).
    """
    if not lam:
        return 0.0
    return lam * (kl_prior(ybar, prior) if objective == "eq10" else kl_prior(prior, ybar))


def label_objective(ce_sum: float, n: float, col: Array, lam: float, prior: Array, objective: str = "eq11") -> float:
    """``L = (1/N) Σ_i CE_i + G(ȳ)`` from the sums a (possibly data-parallel) solver keeps:
    ``ce_sum = Σ_i CE(y_i, σ_i)``, ``n = N`` and the column sums ``col = Σ_i y_i`` (ȳ = col/N)."""
    return ce_sum / n + fairness(col / n, lam, prior, objective)


def eq11_loss(probs: Array, labels: Array, lam: float, prior: Array) -> float:
    """Eq. 11: ``mean_i −ln(σ_i·y_i) + λ Σ_k u_k ln(u_k/ȳ_k)``."""
    return collision_term(probs, labels) + fairness(labels.mean(0), lam, prior, "eq11")


def eq10_loss(probs: Array, labels: Array, lam: float, prior: Array) -> float:
    """Eq. 10: ``mean_i −ln(σ_i·y_i) + λ Σ_k ȳ_k ln(ȳ_k/u_k)``."""
    return collision_term(probs, labels) + fairness(labels.mean(0), lam, prior, "eq10")


def warn_not_converged(solver: str, what: str, max_iter: int, stacklevel: int = 3) -> None:
    """The one ``ConvergenceWarning`` of every solver that ran out of iterations: ``"<solver> did not
    converge: <what> after max_iter=<n> iterations"`` (raised at the solver's caller)."""
    warnings.warn(
        f"{solver} did not converge: {what} after max_iter={max_iter} iterations",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


def stopping_rule_text(tol: float, gap_tol: float | None, gap: float | None) -> str:
    """What an EM/PGD run missed: the relative loss change (``tol``) and, if asked, the certified gap."""
    text = f"relative loss change still above tol={tol:g}"
    if gap_tol is not None:
        text += f" and certified gap {format_gap(gap) if gap is not None else 'unknown'} above gap_tol={gap_tol:g}"
    return text


def change_rule_outcome(
    solver: str,
    *,
    tol: float,
    gap_tol: float | None,
    fired: bool,
    gap: float | None,
    max_iter: int,
    stall_hint: str,
    uncertified: str = "no certificate for this objective",
) -> tuple[bool, str, str]:
    """``(converged, status, message)`` of a solver stopped by a change rule (EM, PGD); warns when not converged.

    ``fired``: the relative loss change fell to ≤ ``tol`` before ``max_iter``; ``gap``: the certified
    relative gap of the returned labels, None where there is none (``uncertified`` says why). A change
    rule is only a proxy: it also fires on a stuck iterate whose loss does not move at all. So it
    counts as convergence only while the certificate agrees — gap ≤ ``gap_tol`` when given, else ≤
    :data:`STALL_GAP`; otherwise the run *stalled* (``converged`` False, a ConvergenceWarning with
    ``stall_hint``, the solver's own advice).
    """
    if gap_tol is not None and gap is not None and gap <= gap_tol:
        return True, CONVERGED, f"certified relative gap {format_gap(gap)} <= gap_tol={gap_tol:g}"
    if fired:
        if gap is None:
            return True, CONVERGED, f"relative loss change <= tol={tol:g} (not certified: {uncertified})"
        if gap_tol is not None:
            message = (
                f"stalled: the relative loss change fell to <= tol={tol:g} while the certified gap is still "
                f"{format_gap(gap)} > gap_tol={gap_tol:g}; pass tol=0 to stop on the certificate alone"
            )
        elif gap <= STALL_GAP:
            return True, CONVERGED, f"relative loss change <= tol={tol:g} at a certified gap of {format_gap(gap)}"
        else:
            message = (
                f"stalled: the relative loss change fell to <= tol={tol:g} but the certified gap is still "
                f"{format_gap(gap)} (> {STALL_GAP:g}): the labels are not optimal; {stall_hint}"
            )
        warnings.warn(f"{solver} {message}", ConvergenceWarning, stacklevel=3)
        return False, STALLED, message
    if tol == 0 and gap_tol is None:
        return False, BUDGET, f"ran its fixed budget of {max_iter} iterations (tol=0)"
    message = stopping_rule_text(tol, gap_tol, gap)
    warn_not_converged(solver, message, max_iter, stacklevel=4)
    return False, MAX_ITER, f"max_iter={max_iter} reached: {message}"


def has_converged(prev: float, cur: float, tol: float) -> bool:
    """Relative change ``|prev − cur| <= tol·|prev|`` (never true while either value is infinite)."""
    if not (math.isfinite(prev) and math.isfinite(cur)):
        return False
    return abs(prev - cur) <= tol * abs(prev) or prev == cur
