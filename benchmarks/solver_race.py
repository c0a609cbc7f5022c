"""Paper Table 1: EM vs PGD for the pseudo-labels of eq. 11, plus the M-step kernel costs.

Usage: python benchmarks/solver_race.py [--n 10000] [--ks 2 20 200] [--lam 100] [--quick]
(the same report as `ccel bench solvers`). Prints the table and the ratios; record the output
with the date and machine in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numba
import torch

from ccel_core.experiments.race import table1_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 20, 200])
    parser.add_argument("--lam", type=float, default=100.0)
    parser.add_argument("--em-iters", type=int, default=2000)
    parser.add_argument("--pgd-iters", type=int, default=20_000)
    parser.add_argument("--pgd-seconds-factor", type=float, default=40.0)
    parser.add_argument(
        "--pgd-lr-factors",
        type=float,
        nargs="+",
        default=None,
        help="PGD steps as multiples of 1/(λK) (default 0.5 1 2)",
    )
    parser.add_argument("--quick", action="store_true", help="N=2000, 300 EM iterations: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.em_iters, args.pgd_iters = 2000, 300, 600
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.processor() or platform.machine()} · "
        f"{numba.config.NUMBA_NUM_THREADS} numba threads · torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )
    table1_report(
        args.n,
        args.ks,
        args.lam,
        em_iters=args.em_iters,
        pgd_iters=args.pgd_iters,
        pgd_seconds_factor=args.pgd_seconds_factor,
        pgd_lr_factors=args.pgd_lr_factors,
        echo=lambda s: print(s, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
