"""``ccel reproduce``: rerun the paper's figures and tables and write one report
(:mod:`ccel_core.reproduce`). Arguments are checked before anything runs (``--out`` included: it
must be a folder that can be created and written, or the hours of work would be lost at the end);
the report is written only when every section has run, so Ctrl-C leaves the previous report in
place."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from ._common import EXIT_FAILED, EXIT_OK, CLIError, Number, err

__all__ = ["add_parser", "cmd_reproduce"]


HELP = "rerun the paper's figures and tables; write report.md / report.html with a verdict per claim"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..reproduce import BUDGETS, SECTIONS
    from ..reproduce.budget import QUICK_TIME
    from ..reproduce.context import MNIST_ROOT_DEFAULT

    p = sub.add_parser(
        "reproduce",
        help=HELP,
        description="Run Fig. 1, Fig. 2 and Tables 1, 2, 3 and 5 of the paper at a budget and write "
        "OUT/report.md, OUT/report.html (self-contained) and OUT/report.json: per figure/table the paper's "
        "numbers, ours (mean ± std over seeds) and a verdict per claim from a one-sided Welch / paired t test.",
        epilog=f"Budgets: quick (3 seeds, {QUICK_TIME}), full (6 seeds, the paper's protocols: a GPU "
        "box), tiny (a smoke test: every section runs, the numbers mean nothing). Exit codes: 0 written; "
        "1 written, but a section failed (its error is in the report); 2 bad arguments (nothing run); "
        "130 interrupted (nothing written).",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="budget", action="store_const", const="quick", help="the quick budget (default)")
    mode.add_argument("--full", dest="budget", action="store_const", const="full", help="the paper's protocols (GPU)")
    mode.add_argument("--budget", dest="budget", choices=list(BUDGETS), help="a budget by name")
    p.set_defaults(budget="quick")
    p.add_argument("--out", default="reproduction", metavar="DIR", help="output folder (default ./reproduction)")
    p.add_argument(
        "--seeds",
        type=Number(int, check=BUDGETS["quick"].with_seeds),  # the budgets' own rule (>= 2)
        metavar="N",
        help="seeds per experiment (default: the budget's; >= 2)",
    )
    p.add_argument(
        "--sections", nargs="+", metavar="NAME", help=f"run only these sections ({', '.join(SECTIONS)}; default all)"
    )
    p.add_argument(
        "--features",
        action="append",
        default=[],
        metavar="FILE.npz",
        help="a `ccel features` file for Table 2 (e.g. ImageNet ResNet-50 features of mnist-test); repeatable",
    )
    p.add_argument(
        "--mnist-root",
        metavar="DIR",
        help=f"folder of the MNIST test split's t10k IDX files (default {MNIST_ROOT_DEFAULT})",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download MNIST-test (2 MB) into --mnist-root when missing",
    )
    p.add_argument(
        "--device", choices=("cpu", "cuda", "auto"), default="auto", help="device of the networks (default auto)"
    )
    p.set_defaults(func=cmd_reproduce)
    return p


def _check_out(out: str) -> None:
    """``CLIError`` (exit 2) unless folder ``out`` can be created and a file written in it; a probe
    file is written and removed, and the folders created for it are removed again."""
    path = Path(out).expanduser().absolute()
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} is a file")
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".ccel-probe-", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CLIError(
            f"--out {out}: cannot create or write this folder ({reason}); expected a writable folder "
            "for report.md / report.html / report.json"
        ) from None
    finally:
        for folder in created:  # deepest first; only those this probe made
            try:
                folder.rmdir()
            except OSError:
                break


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..reproduce import reproduce

    _check_out(args.out)
    parts = ["ccel reproduce", f"--budget {args.budget}"]
    parts += [f"--seeds {args.seeds}"] if args.seeds is not None else []
    parts += [f"--sections {' '.join(args.sections)}"] if args.sections else []
    parts += [f"--features {f}" for f in args.features]
    parts += [f"--mnist-root {args.mnist_root}"] if args.mnist_root else []
    command = " ".join([*parts, f"--device {args.device}"])
    report = reproduce(
        args.budget,
        args.out,
        seeds=args.seeds,
        sections=args.sections,
        mnist_root=args.mnist_root,
        features=args.features,
        device=args.device,
        download=args.download,
        echo=lambda s: print(s, flush=True),
        command=command,
    )
    counts = ", ".join(f"{n} {v}" for v, n in report.counts().items() if n)
    print(f"{len(report.claims)} claims: {counts}")
    print(f"wrote {args.out}/report.md, report.html, report.json ({report.meta['seconds']:.0f} s)")
    broken = [f"{s.key}: {s.error}" for s in report.sections if s.error]
    if broken:
        err("section(s) failed (the report says so): " + "; ".join(broken))
        return EXIT_FAILED
    return EXIT_OK
