"""The y-step dispatch: a pseudo-label solver of :mod:`ccel_core.solvers` with a method's parameters
bound (:class:`Solver`), and the solver each method uses (:func:`make_solver`).

Ours' y-step is by default the certified exact solver (:func:`~ccel_core.solvers.exact`,
``y_solver="exact"``); ``y_solver="em"`` gives the paper's EM (eq. 11) and PGD (eq. 10).
MIADM's y-step is solved *exactly* (up to ``tol``) by projected gradient descent on the convex
eq. 5 (``pgd(objective="eq10", ce="shannon")``), not by the approximate solver the paper cites.
PGD's step is ``1/(λK)`` by default: the fairness term's curvature along the direction that moves
every row alike is ``λ/ȳ_k ≈ λK`` (for ``N·L``), so steps above ``2/(λK)`` oscillate.
SeLa's y-step is Sinkhorn on ``σ^λ`` (hard labels); the other methods have none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor

from ..names import METHOD
from ..solvers import SolverResult, em, exact, pgd, sinkhorn
from ..solvers.em import positive_start

__all__ = ["Solver", "SolverFn", "make_solver"]

# Any y-step: ``labels = solver(probs, init)`` (N×K in, N×K rows on the simplex out).
SolverFn = Callable[[Tensor, Optional[Tensor]], Tensor]


@dataclass
class Solver:
    """A y-step ``labels = solver(probs, init)`` with the method's parameters bound.

    ``kind`` is "em", "exact", "pgd" or "sinkhorn"; ``params`` are the keyword arguments of that function
    (:mod:`ccel_core.solvers`). Labels come back in float64 on ``probs``' device. Where it runs:

    * small problems (fewer than ``device_min_entries`` = N·K values, e.g. every per-batch
      y-step) on CPU numpy — for a batch of 250×10 and 20 iterations the numba EM kernel took
      about 2 ms, the vectorized torch kernel 66 ms on the same CPU, and a GPU kernel launch per
      elementwise op costs more than the whole numba step; moving N×K values is negligible;
    * larger problems whose ``probs`` live on an accelerator (full-data y-steps on a GPU) on
      that device, with the solver's torch path (``device_min_entries=0``: always on the device);
    * data-parallel EM (``all_reduce``) always on the device, each process with its own rows.

    EM warm starts are floored at 1e-8 and renormalized, so every class stays reachable (EM's
    updates are multiplicative; paper Property 1 needs a positive start). ``last`` holds the
    latest :class:`~ccel_core.solvers.SolverResult`. ``start="predictions"`` ignores the stored
    labels (EM / PGD then start from σ); the exact y-step always does: its answer does not depend on
    the start, and the previous batch's class multipliers are no useful warm start (measured: their
    face certifies 0.5–30 on the next batch, so ``exact``'s ``duals=`` is not used here).
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    last: Optional[SolverResult] = field(default=None, repr=False)
    objective_value: Optional[float] = field(default=None, repr=False)
    device_min_entries: int = 200_000
    start: str = "stored"
    validate: bool = True  # the solvers' input checks; the trainer's own solvers run without them

    @property
    def uses_init(self) -> bool:
        """Whether a warm start changes the result (Sinkhorn ignores it)."""
        return self.kind not in ("sinkhorn", "exact") and self.start == "stored"

    def __call__(
        self, probs: Tensor, init: Optional[Tensor] = None, all_reduce: Optional[Callable[[Tensor], Tensor]] = None
    ) -> Tensor:
        """Solve (see the class docstring for where); ``all_reduce``: data-parallel EM only."""
        if all_reduce is not None and self.kind != "em":
            raise ValueError(
                f"all_reduce is only supported by the EM y-step, not {self.kind!r}; gather the rows instead"
            )
        torch_path = all_reduce is not None or (probs.device.type != "cpu" and probs.numel() >= self.device_min_entries)
        p = probs.detach().double() if torch_path else probs.detach().double().cpu().numpy()
        y0 = None
        if init is not None and self.uses_init:
            y0 = init.detach().double() if torch_path else init.detach().double().cpu().numpy()
            y0 = positive_start(y0) if self.kind == "em" else y0 / y0.sum(1, keepdims=True)  # type: ignore[call-overload]  # torch takes numpy's keepdims= too
        if self.kind == "em":
            res = em(p, init=y0, all_reduce=all_reduce, validate=self.validate, **self.params)
        elif self.kind == "exact":
            res = exact(p, validate=self.validate, **self.params)
        elif self.kind == "pgd":
            res = pgd(p, init=y0, validate=self.validate, **self.params)
        else:
            res = sinkhorn(p, validate=self.validate, **self.params)
        self.last = res
        # the exact y-step's P(Y) of the labels it returns (eq. 10/11 with this solver's λ and uniform
        # u, the same as the objective's label_loss): the trainer takes it instead of re-evaluating
        self.objective_value = float(res.history[-1]) if self.kind == "exact" and res.history else None
        labels = res.labels if isinstance(res.labels, Tensor) else torch.from_numpy(np.asarray(res.labels))
        return labels.to(probs.device)


# fmt: off
def make_solver(method: str, n_clusters: int, *, lam: float, max_iter: int = 1000, tol: Optional[float] = None,
                lr: Optional[float] = None, accelerate: bool = True, y_solver: str = "exact",
                y_init: str = "stored") -> Optional[Solver]:
    # fmt: on
    """The y-step solver of ``method`` (None for methods without one); ``accelerate``: SQUAREM-
    accelerated EM for ``ccel`` (same optimum, several times fewer steps; see :func:`em`);
    ``y_solver="exact"``: the certified exact y-step for ``ccel`` and ``ccel-eq10``; ``y_init``:
    "stored" (warm start from the stored labels) or "predictions" (start from σ)."""
    tol_kw = {} if tol is None else {"tol": float(tol)}
    spec = METHOD[method]
    if y_solver == "exact" and spec.exact:
        return Solver(
            "exact",
            {"lam": lam, "objective": spec.fairness, "max_iter": max_iter, "tol": float(tol) if tol is not None else 1e-8},
        )
    if method == "ccel":
        return Solver("em", {"lam": lam, "max_iter": max_iter, "accelerate": bool(accelerate), **tol_kw}, start=y_init)
    if method in ("ccel-eq10", "miadm"):
        step = lr if lr is not None else 1.0 / max(lam * n_clusters, 1.0)
        ce = "collision" if method == "ccel-eq10" else "shannon"
        return Solver(
            "pgd", {"lam": lam, "objective": "eq10", "ce": ce, "lr": step, "max_iter": max_iter, **tol_kw}, start=y_init
        )
    if method == "sela":
        return Solver("sinkhorn", {"lam": lam, "hard": True, "max_iter": max_iter, **tol_kw})
    return None
