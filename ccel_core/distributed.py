"""Data-parallel helpers over ``torch.distributed`` (``torchrun``); one code path for 1 and N processes.

A run with world size W shards the data set **by index**: process ``r`` owns the points
``i ≡ r (mod W)`` — their pseudo-labels live only there — and every batch of the shared, seeded
permutation is split by that ownership. The only cross-point quantity of the paper's EM is the K
column sums ``Σ_j y_jk``, so a y-step costs one all-reduce per EM iteration (docs/math.md §4).

:func:`current` describes the running process group (``rank 0 of 1`` without one);
:func:`init_from_env` starts one from ``torchrun``'s environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) with NCCL on CUDA and Gloo on the CPU.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["Dist", "current", "init_from_env", "shutdown", "exit_after_group", "env_world_size"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the group, and the few collectives the trainer needs."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def owned(self, n: int, device: Any = None) -> Tensor:
        """Indices of the points this process owns: ``rank, rank + W, rank + 2W, …``."""
        return torch.arange(self.rank, n, self.world, device=device)

    def local_positions(self, idx: Tensor) -> Tensor:
        """Rows in this process's label shard of owned global indices ``idx`` (``i // W``; ``idx`` itself for
        one process)."""
        return idx // self.world if self.active else idx

    def all_reduce(self, tensor: Tensor) -> Tensor:
        """Sum ``tensor`` over processes, in place (a no-op for one process)."""
        if self.active:
            dist.all_reduce(tensor)
        return tensor

    def any(self, flag: bool, device: Any = None) -> bool:
        """Whether ``flag`` is true on any process."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t)
        return bool(t.item() > 0)

    def gather_owned(self, local: Tensor, n: int) -> Tensor:
        """Reassemble a tensor whose rows are the owned points of every process into all N rows.

        ``local`` holds this process's rows in owned order (global index ``rank + W·j``).
        """
        if not self.active:
            return local
        size = -(-n // self.world)  # ceil: the largest shard
        padded = local.new_zeros((size, *local.shape[1:]))
        padded[: len(local)] = local
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        out = local.new_empty((n, *local.shape[1:]))
        for r, part in enumerate(parts):
            count = len(range(r, n, self.world))
            out[r :: self.world] = part[:count]
        return out

    def gather_rows(self, local: Tensor) -> tuple[Tensor, list[int]]:
        """Concatenate every process's rows (any counts) in rank order; returns (all, counts)."""
        if not self.active:
            return local, [len(local)]
        count = torch.tensor([len(local)], device=local.device)
        counts = [torch.empty_like(count) for _ in range(self.world)]
        dist.all_gather(counts, count)
        sizes = [int(c) for c in counts]
        padded = local.new_zeros((max(sizes), *local.shape[1:]))
        padded[: len(local)] = local
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        return torch.cat([p[:s] for p, s in zip(parts, sizes)]), sizes

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def current() -> Dist:
    """The running process group, or a single process."""
    if dist.is_available() and dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size())
    return Dist()


def env_world_size() -> int:
    """``WORLD_SIZE`` set by ``torchrun`` (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def init_from_env(device: str = "auto") -> Dist:
    """Join the process group ``torchrun`` describes (a no-op without ``torchrun``).

    NCCL when the run's device is CUDA (this process then uses ``cuda:LOCAL_RANK``, made the
    current device), Gloo on the CPU. Call :func:`shutdown` at the end.
    """
    if env_world_size() <= 1 or (dist.is_available() and dist.is_initialized()):
        return current()
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return current()


_left_group = False  # set once shutdown() has destroyed a process group in this process


def shutdown() -> None:
    """Leave the process group, if one was joined, after every process got here (a process that
    tears its transport down while another still talks to it makes that one abort)."""
    global _left_group
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
            _left_group = True


def exit_after_group(code: int) -> int:
    """``code`` — except in a ``torchrun`` worker that has left its group: there, flush and
    ``os._exit(code)``. The interpreter's teardown after Gloo sometimes aborts the process
    (SIGABRT, "terminate called without an active exception"; 1 in 12–16 two-process runs
    measured, 0 in 24 with this exit), which ``torchrun`` would report as a failed worker after a
    finished run."""
    if not (_left_group and env_world_size() > 1):
        return code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
