"""``ccel bench solvers`` (paper Table 1, EM vs PGD) and ``ccel bench features`` (paper Table 2
protocol on fixed features: digits and MNIST-test)."""

from __future__ import annotations

import argparse
import inspect
import platform
import time
from typing import Any

from ._common import EXIT_OK, Number, add_group, nonneg_float, nonneg_int, positive_float, positive_int
from .flags import field_type

__all__ = ["add_parser"]


HELP = "benchmarks: the y-step solver race, fixed-feature clustering"
DESCRIPTION = "Benchmarks that print their tables and ratios."


# --quick's budgets; without it the defaults are table1_report's own
QUICK: dict[str, Any] = {"n": 2000, "em_iters": 300, "pgd_iters": 600, "pgd_seconds_factor": 5.0}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..experiments.race import table1_report

    p, bs = add_group(sub, "bench", HELP, DESCRIPTION, "solvers,features")
    full = {k: v.default for k, v in inspect.signature(table1_report).parameters.items()}

    def default(key: str) -> str:
        return f"default {full[key]:g}; --quick {QUICK[key]:g}"

    q = bs.add_parser("solvers", help="EM vs PGD on the pseudo-labels of eq. 11 (paper Table 1)")
    q.add_argument("--n", type=positive_int, metavar="N", help=f"points N ({default('n')})")
    q.add_argument(
        "--ks", type=Number(int, 2), nargs="+", default=list(full["ks"]), metavar="K", help="class counts K >= 2"
    )
    q.add_argument("--lam", type=nonneg_float, default=full["lam"], help=f"λ (default {full['lam']:g})")
    q.add_argument("--em-iters", type=positive_int, metavar="N", help=f"EM iteration cap ({default('em_iters')})")
    q.add_argument("--pgd-iters", type=positive_int, metavar="N", help=f"PGD iteration cap ({default('pgd_iters')})")
    q.add_argument(
        "--pgd-seconds-factor",
        type=positive_float,
        metavar="F",
        help=f"PGD time budget in multiples of EM's time ({default('pgd_seconds_factor')})",
    )
    q.add_argument("--seed", type=nonneg_int, default=full["seed"])
    q.add_argument("--no-timing", action="store_true", help="skip the per-iteration kernel timing")
    q.add_argument("--quick", action="store_true", help=f"a smoke run: N={QUICK['n']}, short budgets, no kernel timing")
    q.set_defaults(func=cmd_solvers)

    q = bs.add_parser(
        "features", help="K-means, MIGD, SeLa, MIADM, IMSAT and ours on fixed features (paper Table 2 protocol)"
    )
    from ..experiments.fixed_features import add_arguments

    add_arguments(q)
    # --epochs and --weight-decay are the protocol's TrainConfig fields: TrainConfig's constraints
    _constrain(
        q, seeds=positive_int, epochs=field_type("epochs"), weight_decay=field_type("weight_decay"), threads=nonneg_int
    )
    q.set_defaults(func=cmd_features)
    return p


def _constrain(parser: argparse.ArgumentParser, **types: Number) -> None:
    """Declare the constraints of flags another module added (``experiments.fixed_features``,
    shared with ``benchmarks/fixed_features.py``): their ``type=`` by ``dest``."""
    actions = {a.dest: a for a in parser._actions}
    for dest, kind in types.items():
        action = actions[dest]
        if isinstance(action.type, Number):
            continue  # declared where the flag is
        if action.type is not kind.kind:
            raise ValueError(f"{action.option_strings[0]} is not a {kind.kind.__name__} flag")
        action.type = kind


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

    given = {key: getattr(args, key) for key in QUICK if getattr(args, key) is not None}
    budget = {**QUICK, **given} if args.quick else given  # left out: table1_report's defaults
    print(_header(), flush=True)
    table1_report(
        ks=args.ks,
        lam=args.lam,
        seed=args.seed,
        timing=not (args.quick or args.no_timing),
        echo=lambda s: print(s, flush=True),
        **budget,
    )
    return EXIT_OK


def cmd_features(args: argparse.Namespace) -> int:
    from ..experiments.fixed_features import run_from_args

    print(_header(), flush=True)
    run_from_args(args, echo=lambda s: print(s, flush=True))
    return EXIT_OK
