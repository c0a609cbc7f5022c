"""Run the tests marked ``reference`` (comparisons with external optimizers) with the numerics varied.

A reference optimizer's last digits depend on the processor's vector kernels and on its tolerances,
so a test that leans on them passes on one machine and fails on another. This reruns those tests
under each variation below in a fresh process and fails if any variation fails — the machine
differences CI could meet, tried here first (``make test-numerics``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

# numpy 2.x dispatch groups above its x86-64-v2 baseline; OpenBLAS kernels by name; numba's target
_NO_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR"
VARIATIONS: dict[str, dict[str, str]] = {
    "as installed": {},
    "numpy without AVX-512": {"NPY_DISABLE_CPU_FEATURES": _NO_AVX512},
    "numpy SSE4.2 only": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 " + _NO_AVX512},
    "OpenBLAS Haswell kernels": {"OPENBLAS_CORETYPE": "Haswell"},
    "OpenBLAS Prescott kernels": {"OPENBLAS_CORETYPE": "Prescott"},
    "numba generic CPU": {"NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": ""},
    "reference tolerance loosened (1e-6)": {"CCEL_REFERENCE_TOL": "1e-6"},
    "reference tolerance tightened (1e-14)": {"CCEL_REFERENCE_TOL": "1e-14"},
}


def main() -> int:
    failed = []
    for name, env in VARIATIONS.items():
        if "NUMBA_CACHE_DIR" in env:  # a private cache: numba must compile for the generic CPU
            env = {**env, "NUMBA_CACHE_DIR": os.path.join(os.getcwd(), ".pytest_cache", "numba-generic")}
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "pytest", "-q", "-m", "reference", "-p", "no:cacheprovider", "tests"]
        proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
        summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"{name:40s} exit {proc.returncode}  {time.perf_counter() - start:6.1f} s  {summary}", flush=True)
        if proc.returncode != 0:
            failed.append(name)
            print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    print(
        f"{len(VARIATIONS) - len(failed)} of {len(VARIATIONS)} variations passed"
        + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
