"""The pieces of a training epoch that are not the loop itself: the epoch's batches and random
key, the divergence guard, the y-step's placement (one process or data-parallel), autocast, the
θ-step loss with weak supervision, and the one-shot epoch of methods without a network.

Random keys: every epoch reseeds torch from ``epoch_seed(seed, epoch, 0)`` and draws its
permutation from ``epoch_seed(seed, epoch, 1)`` (``numpy.random.SeedSequence``), so an epoch is a
function of the state at its start and a resumed run repeats the uninterrupted one bit for bit.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor

from ..distributed import Dist
from ..losses import shannon_cross_entropy
from ..objectives import Objective, SolverFn
from ..solvers import ConvergenceWarning
from .evaluation import TrainingDivergedError

__all__ = [
    "TrainingDivergedError",
    "epoch_seed",
    "epoch_batches",
    "check_finite",
    "solve_labels",
    "forward",
    "autocast",
    "mean_over_points",
    "batch_loss",
    "y_step_rows",
    "one_shot",
]


def epoch_seed(*key: int) -> int:
    """A 32-bit seed from ``SeedSequence(key)`` (independent streams per (seed, epoch, use))."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, device: torch.device) -> list[Tensor]:
    """The epoch's shuffled index batches: ``ceil(N/B)`` nearly equal parts (no tiny tail batch).

    Every process draws the same permutation; the loop keeps each batch's owned points (the
    data-parallel sampler, sharded by index).
    """
    gen = torch.Generator().manual_seed(epoch_seed(seed, epoch, 1))
    order = torch.randperm(n, generator=gen).to(device)
    return list(order.tensor_split(math.ceil(n / batch_size)))


def check_finite(outputs: Tensor, epoch: int, batch: int, trainer: Any) -> None:
    """Raise :class:`TrainingDivergedError` when the network's outputs are no longer finite (too
    large a step), before a solver or a loss meets them; agreed across the trainer's processes."""
    dist, cfg = trainer.dist, trainer.config
    bad = (~torch.isfinite(outputs.detach())).sum().to(torch.float64).reshape(1)
    if dist.active:
        bad = dist.all_reduce(bad)
    if float(bad[0]) > 0:
        raise TrainingDivergedError(
            f"training diverged at epoch {epoch}, batch {batch}: the network produced {int(bad[0])} "
            f"non-finite outputs (optimizer={cfg.optimizer}, lr={cfg.lr:g}); lower the learning rate"
        )


def solve_labels(solver: SolverFn, dist: Dist, probs: Tensor, init: Optional[Tensor], *, bounded: bool) -> Tensor:
    """The y-step ``solver(probs, init)`` for this process's rows.

    Data-parallel: EM all-reduces its K column sums once per iteration (each process passes its
    own rows); other solvers see the whole batch, gathered, and each process keeps its rows.
    Per-batch steps (``bounded``) cap the iterations on purpose (warm starts carry the progress
    across epochs), so their ``ConvergenceWarning`` is silenced; full-data steps warn.
    """
    with warnings.catch_warnings():
        if bounded:
            warnings.simplefilter("ignore", ConvergenceWarning)
        if not dist.active:
            return solver(probs, init)
        if getattr(solver, "kind", None) == "em":
            return solver(probs, init, all_reduce=dist.all_reduce)  # type: ignore[call-arg]
        assert init is not None  # the trainer gathers the stored labels for a data-parallel y-step
        all_probs, sizes = dist.gather_rows(probs)
        all_init, _ = dist.gather_rows(init)
        first = sum(sizes[: dist.rank])
        return solver(all_probs, all_init)[first : first + len(probs)]


def y_step_loss(solver: SolverFn, objective: Any, dist: Dist, probs: Tensor, labels: Tensor, all_reduce: Any) -> float:
    """The y-step objective of ``labels``: the exact solver's own ``P(Y)`` of the labels it just
    returned when it has it (one process), else ``objective.label_loss`` (all-reduced across
    processes) — no second evaluation per batch."""
    known = None if dist.active else getattr(solver, "objective_value", None)
    return objective.label_loss(probs, labels, all_reduce=all_reduce) if known is None else float(known)


def forward(
    net: Any, x: Tensor, augment: Optional[Callable[[Tensor], Tensor]], dtype: torch.dtype
) -> tuple[Tensor, Optional[Tensor]]:
    """``(f(x), f(T x))`` in one pass over the concatenated batch when ``augment`` is set, else
    ``(f(x), None)``; outputs cast to ``dtype``."""
    if augment is None:
        return net(x).to(dtype), None
    both = net(torch.cat([x, augment(x)])).to(dtype)
    return both[: len(x)], both[len(x) :]


def autocast(amp: bool, device: torch.device) -> Any:
    """bfloat16 autocast of the network step on CUDA when ``amp``; otherwise a disabled context."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def mean_over_points(dist: Dist, values: Tensor) -> float:
    """Mean of per-point values over every process's points (NaN for none)."""
    stats = dist.all_reduce(
        torch.stack([values.double().sum(), values.new_tensor(float(len(values)), dtype=torch.float64)])
    )
    return float(stats[0] / stats[1]) if float(stats[1]) else math.nan


def batch_loss(
    objective: Objective,
    logits: Tensor,
    logits_aug: Optional[Tensor],
    targets: Optional[Tensor],
    rows: Tensor,
    labeled: Optional[Tensor],
    y_true: Optional[Tensor],
) -> Tensor:
    """The objective's θ-step loss on the batch's data set rows ``rows``; with weak supervision
    (``labeled``: mask over the data set of rows with known class ``y_true``), ``+ mean H(e_{y_i}, σ_i)``
    over the batch's labeled rows instead."""
    if labeled is None:
        return objective.network_loss(logits, logits_aug, targets)
    assert y_true is not None  # labeled_mask refuses a data set without labels
    lab = labeled[rows]
    unl = ~lab
    loss = logits.new_zeros(())
    if bool(unl.any()):
        loss = loss + objective.network_loss(
            logits[unl], None if logits_aug is None else logits_aug[unl], None if targets is None else targets[unl]
        )
    if bool(lab.any()):
        loss = loss + shannon_cross_entropy(logits[lab], y_true[rows][lab], validate=False)
    return loss


def y_step_rows(rows: Tensor, probs: Tensor, labeled: Optional[Tensor]) -> tuple[Tensor, Tensor, bool]:
    """The batch's data set rows ``rows`` that take the y-step, their σ, and whether that is all of them
    (without weak supervision: no mask, no copies)."""
    if labeled is None:
        return rows, probs, True
    keep = ~labeled[rows]
    return rows[keep], probs[keep], False


def one_shot(objective: Objective, x: Tensor, seed: int, score: Callable[[Tensor], dict]) -> tuple[Tensor, dict]:
    """A method without a network (k-means): one pass over ``x``, reported as epoch 1; returns the
    one-hot assignments (float64, on ``x``'s device) and the epoch's metrics (``loss`` = inertia / N)."""
    start = time.perf_counter()
    full = objective.fit_predict(x, seed=seed).double().to(x.device)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    inertia = getattr(objective, "inertia", math.nan)
    metrics: dict[str, Any] = {
        "epoch": 1,
        "loss": inertia / len(x) if math.isfinite(inertia) else None,
        "label_loss": None,
        **score(full.argmax(1)),
    }
    metrics.update(
        {"pseudo_entropy": 0.0, "solver_iters": None, "y_step_seconds": elapsed, "seconds": time.perf_counter() - start}
    )
    return full, metrics
