"""The exact y-step on the real batches of a training run: per-batch time and certified gap.

10-epoch fits of ours (Table 2 protocol, linear head; ``--batch-seeds`` seeds: the batches of late
epochs, where σ is sharp, are the hard ones, and some seeds have many more of them) record the σ of
every batch their y-step solves; each is then solved again by :func:`ccel_core.solvers.exact` at
``--tol`` (kernels loaded first), and the script prints the median / mean / 90th percentile / max
milliseconds per batch, the iteration count, and how many returned label matrices a fresh
certificate proves within ``tol`` (every batch should be). ``--fit`` also times whole fits of ours and MIGD in the same process
(one torch thread) and prints ours / MIGD, the y-step's share of ours' fit, and ours with a solver that does no
arithmetic (one-hot argmax labels) / MIGD: what ours costs beyond MIGD before its y-step.

    python benchmarks/y_step_batches.py --data mnist-test --root FOLDER [--tol 1e-8] [--batch-seeds 3] [--fit] [--seeds 6]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from ccel_core import objectives
from ccel_core.objectives import y_step
from ccel_core.solvers import SolverResult, certified_gap, exact
from ccel_core.training import TrainConfig, Trainer


def record_batches(data: str, root: str | None, seed: int) -> list[np.ndarray]:
    """σ of every y-step batch of one 10-epoch fit of ours (float64, as the solver gets it)."""
    seen: list[np.ndarray] = []
    solve = objectives.Solver.__call__

    def spy(self, probs, init=None, all_reduce=None):  # type: ignore[no-untyped-def]
        seen.append(probs.detach().double().cpu().numpy().copy())
        return solve(self, probs, init, all_reduce)

    objectives.Solver.__call__ = spy  # type: ignore[method-assign]
    try:
        Trainer(_config(data, root, "ccel", seed)).run()
    finally:
        objectives.Solver.__call__ = solve  # type: ignore[method-assign]
    return seen


def _config(data: str, root: str | None, method: str, seed: int) -> TrainConfig:
    return TrainConfig(data=data, root=root, method=method, model="linear", epochs=10, device="cpu", seed=seed)


def _no_arithmetic(probs: np.ndarray, lam: float = 100.0, **_: object) -> SolverResult:
    """A stand-in for ``exact`` with no y-step arithmetic: one-hot labels of argmax σ (the trainer's
    bookkeeping around the y-step runs as usual), for ours' fit less its solver."""
    k = probs.shape[1]
    return SolverResult(np.eye(k)[probs.argmax(1)], 0, True, [0.0], [0.0], [0.0], np.zeros(k), "converged", "stub")


def time_fits(data: str, root: str | None, seeds: int) -> None:
    """Fits of MIGD, ours, and ours with :func:`_no_arithmetic` as its solver ("ccel-0": what ours costs
    beyond MIGD before any y-step arithmetic), one after the other per seed."""
    times: dict[str, list[float]] = {"ccel": [], "migd": [], "ccel-0": []}
    accs: dict[str, list[float]] = {"ccel": [], "migd": []}
    y_share = []
    for seed in range(seeds):
        for method in ("migd", "ccel", "ccel-0"):
            trainer = Trainer(_config(data, root, method.removesuffix("-0"), seed))
            solver = y_step.exact
            y_step.exact = _no_arithmetic if method == "ccel-0" else solver  # type: ignore[assignment]
            try:
                start = time.perf_counter()
                last = trainer.run()
                seconds = time.perf_counter() - start
            finally:
                y_step.exact = solver
            times[method].append(seconds)
            if method == "ccel-0":
                continue
            accs[method].append(100 * float(last.get("acc", float("nan"))))
            if method == "ccel":
                y_share.append(sum(m["y_step_seconds"] for m in trainer.history) / seconds)
    for method in accs:
        a = np.array(accs[method])
        print(
            f"{method:5s} s/fit median {statistics.median(times[method]):.3f}  "
            f"ACC {a.mean():.2f} ± {a.std(ddof=1) if len(a) > 1 else 0:.2f} ({len(a)} seeds)"
        )
    ratio = [c / m for c, m in zip(times["ccel"], times["migd"])]
    print(f"ours / MIGD time per fit: median {statistics.median(ratio):.2f}x (per seed {[f'{r:.2f}' for r in ratio]})")
    print(f"y-step share of ours' fit: median {100 * statistics.median(y_share):.0f} %")
    bare = [c / m for c, m in zip(times["ccel-0"], times["migd"])]
    print(f"ours without y-step arithmetic / MIGD: median {statistics.median(bare):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="digits")
    ap.add_argument("--root", default=None)
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--batch-seeds", type=int, default=3, help="fits whose batches are re-solved")
    ap.add_argument("--fit", action="store_true", help="also time whole fits of ours and MIGD")
    ap.add_argument("--seeds", type=int, default=3, help="fits per method with --fit")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    batches = [sig for seed in range(args.batch_seeds) for sig in record_batches(args.data, args.root, seed)]
    for sig in batches[:5]:  # load every kernel outside the clock
        exact(sig, 100.0, tol=args.tol)
    ms, iters, gaps = [], [], []
    for sig in batches:
        start = time.perf_counter()
        res = exact(sig, 100.0, tol=args.tol, validate=False)  # as the trainer calls it
        ms.append(1e3 * (time.perf_counter() - start))
        iters.append(res.n_iter)
        gaps.append(certified_gap(sig, res.labels, 100.0, polish=True)[1])  # the returned labels, certified anew
    n, k = batches[0].shape
    print(
        f"{args.data}: {len(batches)} batches of {n} x {k} ({args.batch_seeds} fits), exact y-step at tol "
        f"{args.tol:g}, λ = 100"
    )
    print(
        f"ms per batch: median {np.median(ms):.2f}, mean {np.mean(ms):.2f}, p90 {np.percentile(ms, 90):.2f}, "
        f"max {max(ms):.2f}; iterations mean {np.mean(iters):.1f}; certified gap of the returned labels: "
        f"{sum(g <= args.tol for g in gaps)}/{len(gaps)} batches <= tol, max {max(gaps):.1e}"
    )
    if args.fit:
        time_fits(args.data, args.root, args.seeds)


if __name__ == "__main__":
    main()
