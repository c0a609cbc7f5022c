"""Ours with each y-step (the default EM, EM started from σ to its tol, the exact y-step) beside
MIGD and SeLa: 10-epoch fits (paper Table 2 protocol, linear head), ACC mean ± std over seeds, seconds.

    python benchmarks/y_solver_fit.py [--data digits] [--seeds 6] [--root FOLDER]

(``--data mnist-test --root FOLDER`` with the MNIST test IDX files.) Standard deviations use ddof = 1.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from ccel_core.training import TrainConfig, Trainer

VARIANTS = {
    "ours · exact y-step (default)": {"y_solver": "exact"},
    "ours · EM, stored start, ≤ 100 steps (before)": {"y_solver": "em"},
    "ours · EM from σ, ≤ 1000 steps": {"y_solver": "em", "y_init": "predictions", "solver_max_iter": 1000},
    "MIGD": {"method": "migd"},
    "SeLa": {"method": "sela"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="digits")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--root", default=None)
    ap.add_argument("--only", nargs="*", default=None, help="variant names (substrings) to run")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"{args.data}, {args.seeds} seeds, 10 epochs, linear head")
    for extra in VARIANTS.values():  # load every kernel (numba caches) outside the clock
        Trainer(
            TrainConfig(
                **{
                    "data": args.data,
                    "root": args.root,
                    "method": "ccel",
                    "model": "linear",
                    "epochs": 1,
                    "device": "cpu",
                    **extra,
                }
            )
        ).run()
    for name, extra in VARIANTS.items():
        if args.only and not any(s in name for s in args.only):
            continue
        accs, secs = [], []
        for seed in range(args.seeds):
            cfg = TrainConfig(
                **{
                    "data": args.data,
                    "root": args.root,
                    "method": "ccel",
                    "model": "linear",
                    "epochs": 10,
                    "seed": seed,
                    "device": "cpu",
                    **extra,
                }
            )
            start = time.perf_counter()
            *_, last = Trainer(cfg).fit()
            secs.append(time.perf_counter() - start)
            accs.append(100 * last["acc"])
        print(
            f"  {name:48s} ACC {np.mean(accs):6.2f} ± {np.std(accs, ddof=1):5.2f}   {np.mean(secs):7.3f} s / fit",
            flush=True,
        )


if __name__ == "__main__":
    main()
