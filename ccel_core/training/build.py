"""Building a training run from its :class:`TrainConfig`: the device, the data, the objective and
its y-step solver, and the network with its optimizer, augmentation and data-parallel wrapper.

Everything here is decided before the first epoch; :class:`~ccel_core.training.Trainer` runs the
loop. The network is initialized inside ``torch.random.fork_rng`` from ``manual_seed(seed)``, so
building leaves the caller's random state untouched and a config always gives the same θ⁰.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor, nn

from ..data import Dataset, load_dataset
from ..distributed import Dist
from ..models import build_model
from ..objectives import Objective, Solver, make_objective
from .config import TrainConfig

__all__ = ["resolve_device", "load_config_data", "build_objective", "Network", "build_network"]


def resolve_device(name: str) -> torch.device:
    """ "auto" → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_config_data(cfg: TrainConfig, *, download: bool = False) -> Dataset:
    """The config's data set (``data_options["seed"]``, default 0, seeds the data, not the training)."""
    options = dict(cfg.data_options)
    return load_dataset(
        cfg.data,
        cfg.root,
        download=download,
        split=cfg.split,
        n_samples=cfg.n_samples,
        seed=int(options.pop("seed", 0)),
        **options,
    )


def build_objective(cfg: TrainConfig, n_clusters: int) -> tuple[Objective, Optional[Solver]]:
    """``make_objective`` with the config's method parameters and y-step settings, the input checks
    of its losses and solver off (``validate=False``): the trainer's targets come from its own
    y-steps and their σ from outputs its divergence guard checked — validation stays at the edge."""
    objective, solver = make_objective(
        cfg.method,
        n_clusters,
        lam=cfg.lam,
        gamma=cfg.gamma,
        mu=cfg.mu,
        beta=cfg.beta,
        loss=cfg.loss,
        max_iter=cfg.solver_iterations(),
        tol=cfg.solver_tol,
        accelerate=cfg.accelerate,
        y_solver=cfg.y_solver,
        y_init=cfg.y_init,
    )
    objective.validate = False
    if solver is not None and cfg.y_step == "batch":  # σ of each batch: outputs the divergence guard checked
        solver.validate = False  # (a full-data y-step's eval-mode σ are not: its solver keeps its checks)
    return objective, solver


@dataclass
class Network:
    """The trained module, its optimizer, the module the θ-step calls (DDP-wrapped when
    data-parallel, else the module itself) and the augmentation ``T`` (None unless needed)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    net: nn.Module
    augment: Optional[Callable[[Tensor], Tensor]]


def build_network(
    cfg: TrainConfig,
    dataset: Dataset,
    n_clusters: int,
    device: torch.device,
    dtype: torch.dtype,
    dist: Dist,
    needs_augmentation: bool,
) -> Network:
    """θ⁰ from ``manual_seed(cfg.seed)`` (``cfg.weights`` loaded on top), SGD or Adam, ``T(x)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, dataset.input_shape, n_clusters, hidden=cfg.hidden, weights=cfg.weights)
    model.to(device, dtype)
    optimizer: torch.optim.Optimizer
    if cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    augment = dataset.augmentation(cfg.augment) if needs_augmentation else None
    net: nn.Module = model
    if dist.active:  # DDP averages gradients over processes (the same module)
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    return Network(model, optimizer, net, augment)
