"""``ccel bench solvers`` (paper Table 1, EM vs PGD) and ``ccel bench features`` (paper Table 2
protocol on fixed features: digits and MNIST-test)."""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

from ._common import EXIT_OK, add_group

__all__ = ["add_parser"]


HELP = "benchmarks: the y-step solver race, fixed-feature clustering"
DESCRIPTION = "Benchmarks that print their tables and ratios."


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p, bs = add_group(sub, "bench", HELP, DESCRIPTION, "solvers,features")

    q = bs.add_parser("solvers", help="EM vs PGD on the pseudo-labels of eq. 11 (paper Table 1)")
    q.add_argument("--n", type=int, default=None, help="points N (default 10000; --quick 2000)")
    q.add_argument("--ks", type=int, nargs="+", default=[2, 20, 200], metavar="K", help="class counts")
    q.add_argument("--lam", type=float, default=100.0, help="λ (default 100)")
    q.add_argument("--em-iters", type=int, default=None, help="EM iteration cap (default 2000; --quick 300)")
    q.add_argument("--pgd-iters", type=int, default=None, help="PGD iteration cap (default 20000; --quick 600)")
    q.add_argument(
        "--pgd-seconds-factor",
        type=float,
        default=None,
        help="PGD time budget in multiples of EM's time (default 40; --quick 5)",
    )
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-timing", action="store_true", help="skip the per-iteration kernel timing")
    q.add_argument("--quick", action="store_true", help="a smoke run: N=2000, short budgets, no kernel timing")
    q.set_defaults(func=cmd_solvers)

    q = bs.add_parser(
        "features", help="K-means, MIGD, SeLa, MIADM, IMSAT and ours on fixed features (paper Table 2 protocol)"
    )
    from ..experiments.fixed_features import add_arguments

    add_arguments(q)
    q.set_defaults(func=cmd_features)
    return p


def _header() -> str:
    import numba
    import torch

    return (
        f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.processor() or platform.machine()} · "
        f"{numba.config.NUMBA_NUM_THREADS} numba threads · torch {torch.__version__} "  # type: ignore[attr-defined]  # numba.config sets its options at import
        f"({torch.get_num_threads()} threads)"
    )


def cmd_solvers(args: argparse.Namespace) -> int:
    from ..experiments.race import table1_report

    quick = args.quick
    n = args.n or (2000 if quick else 10_000)
    em_iters = args.em_iters or (300 if quick else 2000)
    pgd_iters = args.pgd_iters or (600 if quick else 20_000)
    factor = args.pgd_seconds_factor or (5.0 if quick else 40.0)
    print(_header(), flush=True)
    table1_report(
        n,
        args.ks,
        args.lam,
        em_iters=em_iters,
        pgd_iters=pgd_iters,
        pgd_seconds_factor=factor,
        seed=args.seed,
        timing=not (quick or args.no_timing),
        echo=lambda s: print(s, flush=True),
    )
    return EXIT_OK


def cmd_features(args: argparse.Namespace) -> int:
    from ..experiments.fixed_features import run_from_args

    print(_header(), flush=True)
    run_from_args(args, echo=lambda s: print(s, flush=True))
    return EXIT_OK
