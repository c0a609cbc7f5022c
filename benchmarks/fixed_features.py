"""Paper Table 2 protocol on fixed features: K-means, MIGD, SeLa, MIADM, IMSAT and ours (ccel).

Usage: python benchmarks/fixed_features.py [--data digits mnist-test] [--seeds 6] [--mnist-root DIR]
       [--methods ...] [--no-variants] [--csv rows.csv]
(the same report as `ccel bench features`; the code is ccel_core.experiments.fixed_features).
Prints ACC / NMI / ARI mean ± std and wall time per method on each data set, and the 10-epoch
wall-time ratio ours / MIGD (target <= 1.5) with K-means' time beside it. MNIST-test is read from
--mnist-root, else $CCEL_MNIST_ROOT, else $CCEL_DATA, else ./data (skipped with a message when
absent). Record the output with the date and machine in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numba
import torch

from ccel_core.experiments.fixed_features import add_arguments, run_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.processor() or platform.machine()} · "
        f"{numba.config.NUMBA_NUM_THREADS} numba threads · torch {torch.__version__} ({torch.get_num_threads()} threads)",
        flush=True,
    )
    run_from_args(args, echo=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
