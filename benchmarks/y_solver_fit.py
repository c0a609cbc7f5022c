"""Ours with each y-solver (em = the default, exact) and MIGD: 10-epoch fits, ACC mean ± std and seconds.

    python benchmarks/y_solver_fit.py [DATA] [N_SEEDS] [ROOT]
"""

import sys
import time
import warnings

import numpy as np

from ccel_core.training import TrainConfig, Trainer
warnings.simplefilter("ignore")
data = sys.argv[1] if len(sys.argv) > 1 else "digits"
opts = {"root": sys.argv[3]} if len(sys.argv) > 3 else {}  # e.g. mnist-test N FOLDER_OF_IDX_FILES
for ys, extra in (("em", {}), ("exact", {}), ("em", {"method": "migd"})):
    accs, ts = [], []
    for seed in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
        cfg = TrainConfig(data=data, method=extra.get("method", "ccel"), model="linear", epochs=10, seed=seed, y_solver=ys, device="cpu", **opts)
        t = time.perf_counter()
        tr = Trainer(cfg)
        last = None
        for m in tr.fit():
            last = m
        ts.append(time.perf_counter() - t); accs.append(last["acc"])
    print(extra.get("method", "ccel"), ys, f"ACC {100*np.mean(accs):.2f} ± {100*np.std(accs, ddof=1):.2f}", f"time {np.mean(ts):.2f} s", flush=True)
