"""GPU check: EM kernel throughput GPU vs CPU, VGG4 epochs per second, and paper Table 3 on MNIST.

Run on a machine with CUDA (prints the card's name and every ratio; record the output in
benchmarks/RESULTS.md):

    python benchmarks/gpu_check.py --mnist-root data_local/mnist [--epochs 50] [--skip-table3]

1. One EM iteration (eq. 11, λ = 100) at N = 10^6, K = 100: the torch kernel on the GPU vs the
   numba kernel on the CPU (and the torch kernel on the CPU), float64, σ = softmax(3·z); and the
   exact y-step to a certified 1e-9 at N = 10^5, K = 100 on the GPU (vectorized torch; the
   certificate's envelope scan runs on the CPU) vs the CPU (fused numba steps), with the gap each
   reached.
2. Epochs per second of VGG4 (grey 28×28) on the MNIST test split (10,000 images), ours, batch
   250, with and without bfloat16 autocast.
3. Paper Table 3's MNIST protocol on the MNIST test split: VGG4 from scratch, self-augmentation
   (β), Adam, batch 250, weight decay 0.01, 50 epochs; ACC / NMI / ARI at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch

from ccel_core.data import load_dataset
from ccel_core.experiments.race import race_problem
from ccel_core.solvers import ConvergenceWarning, em, exact
from ccel_core.training import TrainConfig, Trainer


def _time(fn, repeats: int, sync: bool) -> float:
    best = float("inf")
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def em_throughput(n: int, k: int, repeats: int = 3) -> dict[str, float]:
    """Seconds per EM iteration (difference of 3- and 1-iteration runs), best of ``repeats``."""
    probs = race_problem(n, k)
    warnings.simplefilter("ignore", ConvergenceWarning)
    out: dict[str, float] = {}
    em(probs[:1000], 100.0, max_iter=2, tol=0)  # compile the numba kernels
    one = _time(lambda: em(probs, 100.0, max_iter=1, tol=0), repeats, False)
    three = _time(lambda: em(probs, 100.0, max_iter=3, tol=0), repeats, False)
    out["cpu_numba"] = (three - one) / 2
    pt = torch.from_numpy(probs)
    one = _time(lambda: em(pt, 100.0, max_iter=1, tol=0), 1, False)
    three = _time(lambda: em(pt, 100.0, max_iter=3, tol=0), 1, False)
    out["cpu_torch"] = (three - one) / 2
    if torch.cuda.is_available():
        pg = pt.cuda()
        em(pg, 100.0, max_iter=2, tol=0)
        one = _time(lambda: em(pg, 100.0, max_iter=1, tol=0), repeats, True)
        three = _time(lambda: em(pg, 100.0, max_iter=3, tol=0), repeats, True)
        out["gpu_torch"] = (three - one) / 2
    return out


def exact_throughput(n: int, k: int) -> dict[str, tuple[float, float, int]]:
    """``(seconds, certified gap, iterations)`` of the exact y-step on the CPU and, if present, the GPU."""
    probs = race_problem(n, k)
    warnings.simplefilter("ignore", ConvergenceWarning)
    exact(probs[:500], 100.0)  # compile
    out = {}
    t0 = time.perf_counter()
    r = exact(probs, 100.0, tol=1e-9)
    out["cpu_numba"] = (time.perf_counter() - t0, r.gaps[-1], r.n_iter)
    if torch.cuda.is_available():
        pg = torch.from_numpy(probs).cuda()
        exact(pg[:500], 100.0)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        r = exact(pg, 100.0, tol=1e-9)
        torch.cuda.synchronize()
        out["gpu_torch"] = (time.perf_counter() - t0, r.gaps[-1], r.n_iter)
    return out


def vgg4_speed(dataset, device: str, epochs: int = 3) -> dict[str, float]:
    """Epochs per second of ours with VGG4 (after one warm-up epoch), fp32 and bf16 autocast."""
    out = {}
    for amp in (False, True):
        if amp and not device.startswith("cuda"):
            continue
        cfg = TrainConfig(
            data="mnist-test",
            method="ccel",
            model="vgg4",
            epochs=epochs + 1,
            batch_size=250,
            optimizer="adam",
            lr=1e-3,
            weight_decay=0.01,
            device=device,
            amp=amp,
            eval_every=epochs + 1,
        )
        trainer = Trainer(cfg, dataset=dataset)
        times = [m["seconds"] for m in trainer.fit()]
        out["bf16" if amp else "fp32"] = 1.0 / float(np.mean(times[1:]))
    return out


def table3_mnist(dataset, device: str, epochs: int, beta: float, seed: int) -> dict[str, float]:
    cfg = TrainConfig(
        data="mnist-test",
        method="ccel",
        model="vgg4",
        epochs=epochs,
        batch_size=250,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.01,
        beta=beta,
        device=device,
        seed=seed,
        eval_every=max(1, epochs // 5),
    )
    start = time.perf_counter()
    last = {}
    for metrics in Trainer(cfg, dataset=dataset).fit():
        last = metrics
        if "acc" in metrics:
            print(
                f"  epoch {metrics['epoch']:3d}: acc {metrics['acc']:.4f} nmi {metrics['nmi']:.4f} "
                f"loss {metrics['loss']:.4f} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    return {
        "acc": last.get("acc", float("nan")),
        "nmi": last.get("nmi", float("nan")),
        "ari": last.get("ari", float("nan")),
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-root", default=os.environ.get("CCEL_MNIST_ROOT", "data_local/mnist"))
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--beta", type=float, default=0.2, help="self-augmentation weight (paper: 0.2 CIFAR10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-table3", action="store_true")
    args = parser.parse_args(argv)

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    name = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    print(f"# gpu_check {time.strftime('%Y-%m-%d %H:%M')} · {name} · torch {torch.__version__}", flush=True)

    t = em_throughput(args.n, args.k)
    print(f"\n## EM iteration, N={args.n}, K={args.k}, float64")
    for key, value in t.items():
        print(f"{key:>10}: {value * 1e3:10.1f} ms")
    if "gpu_torch" in t:
        print(
            f"GPU torch vs CPU numba: {t['cpu_numba'] / t['gpu_torch']:.1f}x faster; "
            f"vs CPU torch: {t['cpu_torch'] / t['gpu_torch']:.1f}x"
        )

    x = exact_throughput(max(args.n // 10, 1000), args.k)
    print(f"\n## exact y-step to a certified 1e-9, N={max(args.n // 10, 1000)}, K={args.k}, float64")
    for key, (sec, gap, iters) in x.items():
        print(f"{key:>10}: {sec:8.2f} s, {iters} iterations, certified gap {gap:.1e}")

    try:
        data = load_dataset("mnist-test", args.mnist_root)
    except (FileNotFoundError, ValueError) as exc:
        print(f"\nMNIST test split not available ({exc}); skipping the VGG4 checks")
        return 0
    speed = vgg4_speed(data, device)
    print("\n## VGG4 (grey 28×28) on MNIST-test, ours, batch 250: epochs per second")
    for key, value in speed.items():
        print(f"{key:>6}: {value:.2f} epochs/s ({1 / value:.2f} s/epoch)")
    if not args.skip_table3:
        print(f"\n## Table 3 protocol on MNIST-test: VGG4, β={args.beta}, Adam 1e-3, wd 0.01, {args.epochs} epochs")
        res = table3_mnist(data, device, args.epochs, args.beta, args.seed)
        print(
            f"ACC {res['acc']:.4f}  NMI {res['nmi']:.4f}  ARI {res['ari']:.4f}  ({res['seconds']:.0f} s; paper: 95.11 ACC "
            "on the full MNIST)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
