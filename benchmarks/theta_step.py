"""The θ-step's per-batch time with the loss input checks on (before) and off (after, the trainer's
hot path since the checks moved to the public edge), measured in one run, interleaved.

    python benchmarks/theta_step.py [--device cpu|cuda] [--batch 250] [--k 10] [--repeats 7] [--block 0.5]

One θ-step = forward ``f(x)`` → ``network_loss`` (collision CE against soft pseudo-labels, ours'
θ-step; plus the self-augmentation term when ``--beta`` > 0) → backward → SGD step. ``validate=True``
runs the loss functions' checks (finite logits, targets on the simplex — on CUDA each forces a host
synchronization); ``validate=False`` is what :class:`~ccel_core.training.Trainer` now runs.
Prints the median per-batch time of each and their ratio, per model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ccel_core.models import build_model
from ccel_core.objectives import make_objective


def _step_time(model, opt, objective, x, y, n_steps: int, device: torch.device) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    sync()
    t0 = time.perf_counter()
    for _ in range(n_steps):
        loss = objective.network_loss(model(x), None, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return (time.perf_counter() - t0) / n_steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--block", type=float, default=0.5, help="seconds per timed block (steps chosen to fit)")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved blocks per setting (median)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"θ-step per batch, device={device}, batch={args.batch}, K={args.k}, torch {torch.__version__}")
    for model_name, shape in (("linear", (64,)), ("mlp", (64,)), ("vgg4-grey28", (1, 28, 28))):
        model = build_model(model_name, shape, args.k).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(args.batch, *shape, device=device)
        y = torch.softmax(torch.randn(args.batch, args.k, device=device), 1)
        objective, _ = make_objective("ccel", args.k)
        times: dict[bool, list[float]] = {True: [], False: []}
        for validate in (True, False):  # warm-up (kernels, allocator)
            objective.validate = validate
            one = _step_time(model, opt, objective, x, y, 3, device)
        steps = max(3, int(args.block / one))
        for _ in range(args.repeats):
            for validate in (True, False):
                objective.validate = validate
                times[validate].append(_step_time(model, opt, objective, x, y, steps, device))
        before, after = statistics.median(times[True]), statistics.median(times[False])
        print(
            f"  {model_name:12s} checks on {before * 1e6:8.1f} µs   checks off {after * 1e6:8.1f} µs   "
            f"off/on = {after / before:.3f}   ({steps} steps × {args.repeats} blocks each)"
        )


if __name__ == "__main__":
    main()
