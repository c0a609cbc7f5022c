"""The θ-step's loss per batch: ours (collision CE to the pseudo-labels) beside MIGD's and Shannon CE.

Forward + backward of each method's network loss on a training batch of logits (250 × 10 by default,
float32, one torch thread), with the exact y-step's labels as targets; interleaved rounds, medians
in microseconds, and each loss's ratio to MIGD's measured in the same run (issue 21: the part of
ours' fit that is not the y-step).

    python benchmarks/theta_losses.py [--n 250] [--k 10] [--rounds 7] [--reps 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy
from ccel_core.objectives import make_objective
from ccel_core.solvers import exact


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    logits = torch.tensor(3 * rng.normal(size=(args.n, args.k)), dtype=torch.float32)
    y = torch.from_numpy(exact(torch.softmax(logits.double(), 1).numpy(), 100.0, tol=1e-8).labels).float()
    migd, _ = make_objective("migd", args.k)
    ours, _ = make_objective("ccel", args.k)
    ours.validate = False  # as the trainer runs it (training/build.py)
    cases: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "migd (mean H(σ) − γ H(σ̄))": lambda z: migd.network_loss(z, None, None),
        "ours: network_loss (collision CE)": lambda z: ours.network_loss(z, None, y),
        "collision_cross_entropy, validate=False": lambda z: collision_cross_entropy(z, y, validate=False),
        "shannon_cross_entropy, validate=False": lambda z: shannon_cross_entropy(z, y, validate=False),
        "F.cross_entropy (soft targets)": lambda z: F.cross_entropy(z, y),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            z = logits.clone().requires_grad_(True)
            fn(z).backward()  # warm
            start = time.perf_counter()
            for _ in range(args.reps):
                z.grad = None
                fn(z).backward()
            times[name].append((time.perf_counter() - start) / args.reps * 1e6)
    base = statistics.median(times[next(iter(cases))])
    print(f"{args.n} × {args.k} logits, float32, one thread; median of {args.rounds} rounds × {args.reps} (µs)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:42s} {med:8.1f} µs   {med / base:5.2f}× migd")


if __name__ == "__main__":
    main()
