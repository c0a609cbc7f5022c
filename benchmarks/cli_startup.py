"""Start-up time of `ccel` commands that do not train (they must not import torch), beside the import
of torch itself, each the median of a few fresh processes measured in this one run.

    python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "ccel --help": [sys.executable, "-m", "ccel_core.cli", "--help"],
    "ccel runs list": [sys.executable, "-m", "ccel_core.cli", "runs", "list"],
    "ccel fit --help": [sys.executable, "-m", "ccel_core.cli", "fit", "--help"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as runs:
        env_runs = ["--runs-dir", runs]
        times: dict[str, float] = {}
        for name, cmd in COMMANDS.items():
            cmd = cmd + (env_runs if name == "ccel runs list" else [])
            samples = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                subprocess.run(cmd, capture_output=True, check=True)
                samples.append(time.perf_counter() - start)
            times[name] = statistics.median(samples)
            print(f"{name:28s} {times[name]:6.2f} s (median of {args.repeat})", flush=True)
    base = times["python -c 'import torch'"]
    for name in ("ccel --help", "ccel runs list"):
        print(f"{name} / import torch = {times[name] / base:.2f}")


if __name__ == "__main__":
    main()
