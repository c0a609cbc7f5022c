"""Solver trajectories: every iterate ``Y⁰ … Y^T`` of a y-step solver (EM, PGD or the exact y-step)
for fixed predictions σ, with the objective after each one (:func:`em_trajectory`)."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Optional

import numpy as np
import torch

from ccel_core.solvers import ConvergenceWarning, em, exact, pgd

__all__ = ["CES", "Trajectory", "default_pgd_lr", "em_trajectory"]

_SOLVERS = ("em", "pgd", "exact")
CES = ("collision", "shannon")  # the cross-entropies: ours (collision) and MIADM's (Shannon)


def default_pgd_lr(lam: float, k: int) -> float:
    """A step size that keeps PGD stable for the fairness term: ``η = 1/max(λK, 1)``.

    The KL term moves every row together, so its curvature along that direction is about
    ``λ K`` (ȳ ≈ u); steps above ``2/(λK)`` oscillate or diverge (the trainer's default too).
    """
    return 1.0 / max(float(lam) * int(k), 1.0)


class Trajectory(NamedTuple):
    """Iterates of a y-step solver: ``iterates[t]`` is ``Y^t`` (N×K numpy, ``t = 0`` is the
    start) and ``history[t]`` the objective at ``Y^t``; ``len(iterates) == len(history) == n_iter + 1``."""

    iterates: list[np.ndarray]
    history: list[float]


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, K), got shape={arr.shape}")
    return arr


def em_trajectory(
    probs: Any,
    lam: float = 100.0,
    *,
    n_iter: int = 30,
    prior: Optional[Any] = None,
    solver: str = "em",
    objective: str = "eq11",
    ce: str = "collision",
    lr: Optional[float] = None,
    init: Optional[Any] = None,
) -> Trajectory:
    """Run a y-step solver for exactly ``n_iter`` iterations and keep every iterate.

    Args:
        probs: predictions σ (N×K rows on the simplex; numpy or torch, returned as numpy).
        lam: fairness weight λ.
        n_iter: iterations to record.
        prior: class proportions u (default uniform).
        solver: ``"em"`` (eq. 11, collision CE only), ``"pgd"``, or ``"exact"`` (the certified
            exact y-step, eq. 10 or 11 with collision CE: its interior-point and face iterates,
            at most ``n_iter`` of them — it usually certifies 1e-9 in 10–30).
        objective: ``"eq11"`` (``λ KL(u‖ȳ)``) or ``"eq10"`` (``λ KL(ȳ‖u)``); PGD only.
        ce: ``"collision"`` or ``"shannon"`` (PGD only; ``"shannon"`` + ``"eq10"`` is MIADM's y-step).
        lr: PGD step η (default :func:`default_pgd_lr`, ``1/(λK)``).
        init: starting labels ``Y⁰`` (default σ).

    Returns:
        :class:`Trajectory` ``(iterates, history)``; for EM ``history`` never increases.
    """
    sig = _to_numpy(probs, "probs")
    if solver not in _SOLVERS:
        raise ValueError(f"solver={solver!r} is not valid; expected one of {_SOLVERS}")
    if ce not in CES:
        raise ValueError(f"ce={ce!r} is not valid; expected one of {CES}")
    if int(n_iter) < 0:
        raise ValueError(f"n_iter={n_iter} should be >= 0")
    if solver == "em" and (objective != "eq11" or ce != "collision"):
        raise ValueError(
            f"solver='em' minimizes eq. 11 with collision CE; got objective={objective!r}, ce={ce!r} (use solver='pgd')"
        )
    if solver == "exact":
        if ce != "collision":
            raise ValueError(f"solver='exact' minimizes eq. 10/11 with collision CE; got ce={ce!r}")
        iterates: list[np.ndarray] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = exact(
                sig,
                lam,
                objective=objective,
                prior=prior,
                max_iter=max(int(n_iter), 1),
                callback=lambda y: iterates.append(np.array(y, dtype=np.float64)),
            )
        # the record holds the best certified labels so far: up to where the returned ones were found
        end = int(np.argmax(np.asarray(res.gaps) <= res.gaps[-1])) + 1
        return Trajectory(iterates[:end], [float(h) for h in res.history[:end]])
    y = sig.copy() if init is None else _to_numpy(init, "init")
    if solver == "pgd" and lr is None:
        lr = default_pgd_lr(lam, sig.shape[1])

    def step(y: np.ndarray, iters: int) -> Any:
        if solver == "em":
            return em(sig, lam, prior=prior, init=y, max_iter=iters, tol=0.0)
        assert lr is not None  # defaulted above for pgd
        return pgd(sig, lam, objective=objective, ce=ce, lr=float(lr), prior=prior, init=y, max_iter=iters, tol=0.0)

    # The first call validates the problem and evaluates the objective at Y⁰.
    first = step(y, 1)
    iterates, history = [y / y.sum(1, keepdims=True)], [first.history[0]]
    if int(n_iter) >= 1:
        iterates.append(np.asarray(first.labels, dtype=np.float64))
        history.append(first.history[1])
    for _ in range(int(n_iter) - 1):
        res = step(iterates[-1], 1)
        iterates.append(np.asarray(res.labels, dtype=np.float64))
        history.append(res.history[1])
    return Trajectory(iterates, [float(h) for h in history])
