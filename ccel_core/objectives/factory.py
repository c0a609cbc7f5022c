"""The one entry point from a method name to its ``(objective, solver)`` pair: parameters checked
against the method (paper defaults from :data:`~ccel_core.names.DEFAULTS`), then built.
"""

from __future__ import annotations

import math
from typing import Optional

from .._hints import suggest
from ..names import CES, DEFAULTS, METHOD, METHODS, SUPERVISED
from .network import IIC, IMSAT, KMeansClustering, MutualInformation, Objective, SelfLabeling, Supervised
from .y_step import Solver, make_solver

__all__ = ["make_objective"]


# fmt: off
def make_objective(method: str, n_clusters: int, *, lam: Optional[float] = None, gamma: Optional[float] = None,
                   mu: Optional[float] = None, beta: float = 0.0, loss: Optional[str] = None, max_iter: int = 1000,
                   tol: Optional[float] = None, lr: Optional[float] = None, accelerate: bool = True,
                   y_solver: str = "exact", y_init: str = "stored") -> tuple[Objective, Optional[Solver]]:
    # fmt: on
    """Build ``(objective, solver)`` for a method name; the solver is None without a y-step.

    Args:
        method: one of :data:`METHODS` or ``"supervised"``.
        n_clusters: K.
        lam, gamma, mu: method parameters; None takes the paper default (:data:`DEFAULTS`).
            Passing one the method does not use raises ``ValueError``.
        beta: self-augmentation weight of the pseudo-label methods (0: off).
        loss: "collision" or "shannon", only for ``"supervised"`` (default "collision").
        max_iter, tol: the y-step solver's stopping rule (``tol=None``: the solver's default).
        lr: PGD step (ccel-eq10, miadm); default ``1/(λK)``.
        accelerate: SQUAREM acceleration of ours' EM y-step (``em(accelerate=True)``).
        y_solver: "exact" (:func:`~ccel_core.solvers.exact` for ccel and ccel-eq10, the default)
            or "em" (the paper's solvers: EM for eq. 11, PGD for eq. 10).
        y_init: "stored" or "predictions": where EM / PGD y-steps start.
    """
    key = str(method).strip().lower()
    known = (*METHODS, SUPERVISED)
    if key not in known:
        raise ValueError(f"unknown method {method!r}{suggest(key, known)}; known methods: {', '.join(known)}")
    if isinstance(n_clusters, bool) or int(n_clusters) != n_clusters or n_clusters < 1:
        raise ValueError(f"n_clusters={n_clusters!r} should be an integer >= 1")
    given = {"lam": lam, "gamma": gamma, "mu": mu}
    for name, value in given.items():
        if value is None:
            continue
        if name not in DEFAULTS[key]:
            users = [m for m, d in DEFAULTS.items() if name in d]
            raise ValueError(f"{name}={value!r} is not used by method={key!r} (only by {', '.join(users)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r} should be a finite number >= 0")
    p = {**DEFAULTS[key], **{k: float(v) for k, v in given.items() if v is not None}}
    if key == "sela" and p["lam"] <= 0:
        raise ValueError(f"lam={p['lam']!r} should be > 0 for sela (the power of σ^λ)")
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta={beta!r} should be a finite number >= 0")
    if beta and not METHOD[key].pseudo_labels:
        raise ValueError(
            f"beta={beta!r} is the self-augmentation weight of pseudo-label methods; method={key!r} takes none"
        )
    if loss is not None and key != SUPERVISED:
        raise ValueError(f"loss={loss!r} is only for method='supervised'; method={key!r} fixes its own CE")
    k = int(n_clusters)
    if key == SUPERVISED:
        ce = "collision" if loss is None else loss
        if ce not in CES:
            raise ValueError(f"loss={loss!r} should be one of {CES}")
        return Supervised(ce), None
    if key == "migd":
        return MutualInformation(p["gamma"]), None
    if key == "imsat":
        return IMSAT(p["lam"], p["mu"]), None
    if key == "iic":
        return IIC(), None
    if key == "kmeans":
        return KMeansClustering(k), None
    spec = METHOD[key]
    assert spec.ce is not None and spec.fairness is not None  # the pseudo-label methods are left
    objective = SelfLabeling(key, spec.ce, spec.fairness, p["lam"], float(beta))
    return objective, make_solver(
        key, k, lam=p["lam"], max_iter=max_iter, tol=tol, lr=lr, accelerate=accelerate, y_solver=y_solver, y_init=y_init
    )
