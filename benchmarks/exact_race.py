"""Certified y-step race: seconds and steps to certified relative gaps for exact, EM, EM + SQUAREM.

Every number is a certified gap (P(Y) − D(c(Y)))/P(Y) from the dual of eq. 11, no reference optimum;
EM's seconds come from a second, uncertified run of the same (deterministic) iterates.
Prints, per problem, the first time and iteration at which each solver's certificate falls below
1e-2, 1e-3, 1e-6, 1e-9 ("—": not within its budget), and the per-batch ratio
exact(1e-8) / the EM per-batch y-step of before (SQUAREM EM, ≤ 100 steps) over random batches and
over the real batches of a training run (every batch's σ of a 10-epoch ``ccel`` fit).

    python benchmarks/exact_race.py [--sizes 10000x2 10000x20 10000x200] [--batches 1000]
                                    [--real digits] [--real-root FOLDER]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from ccel_core.solvers import ConvergenceWarning, certified_gap, em, exact

TARGETS = (1e-2, 1e-3, 1e-6, 1e-9)


def problem(n: int, k: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(size=(n, k)) * 3
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def first_below(res, target: float) -> str:
    for i, (g, t) in enumerate(zip(res.gaps, res.times)):
        if g <= target:
            return f"{t:7.3f} s /{i:5d}"
    return f"{'—':>15}"


def race(n: int, k: int, lam: float, em_budget: int) -> None:
    sig = problem(n, k, seed=0)
    with warnings.catch_warnings():  # load every kernel (interior and face phases) outside the clock
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact(problem(300, k, seed=1), lam, tol=1e-14, max_iter=40)
        em(problem(300, k, seed=1), lam, max_iter=3, tol=0, accelerate=True, certify=True)

    def em_timed(accelerate: bool):
        """EM's gaps from a certified run, its times from an uncertified run of the same iterates."""
        gaps = em(sig, lam, max_iter=em_budget, tol=0, accelerate=accelerate, certify=True).gaps
        res = em(sig, lam, max_iter=em_budget, tol=0, accelerate=accelerate)
        res.gaps = gaps
        return res

    runs = {
        "exact": lambda: exact(sig, lam, tol=1e-10),
        "EM + SQUAREM": lambda: em_timed(True),
        "EM": lambda: em_timed(False),
    }
    print(f"\nN = {n}, K = {k}, λ = {lam:g}  (EM budget {em_budget} steps; EM timed without the certificate)")
    print(f"{'solver':14s}" + "".join(f"{'gap ≤ ' + format(t, 'g'):>17s}" for t in TARGETS) + "   best gap")
    for name, fn in runs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = fn()
        print(f"{name:14s}" + "".join(f"{first_below(res, t):>17s}" for t in TARGETS) + f"   {min(res.gaps):.1e}")


def batches(k: int, count: int, lam: float) -> None:
    """Per-batch y-steps on random 250 × K problems."""
    per_batch([problem(250, k, 10_000 + seed) for seed in range(count)], lam, f"random 250 × {k}")


def real_batches(data: str, root: str | None, lam: float) -> None:
    """Per-batch y-steps on the σ of every batch of a 10-epoch ``ccel`` fit (linear head)."""
    from ccel_core.objectives import y_step  # the Solver looks exact up there
    from ccel_core.training import TrainConfig, Trainer

    seen: list[np.ndarray] = []
    solve = y_step.exact

    def spy(p, **kw):
        seen.append(np.array(p))
        return solve(p, **kw)

    y_step.exact = spy
    try:
        Trainer(TrainConfig(data=data, root=root, method="ccel", epochs=10, seed=0, device="cpu")).run()
    finally:
        y_step.exact = solve
    per_batch(seen, lam, f"real batches of a {data} fit ({seen[0].shape[0]} × {seen[0].shape[1]})")


def per_batch(problems: list, lam: float, label: str) -> None:
    """exact to a certified 1e-8 vs SQUAREM EM ≤ 100 steps from σ (the EM per-batch y-step)."""
    t_exact = t_em = 0.0
    worst, em_gaps, iters, solved = 0.0, [], [], []
    k = problems[0].shape[1]
    exact(problems[0], lam)  # compile
    em(problems[0], lam, max_iter=100, accelerate=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for sig in problems:
            t = time.perf_counter()
            r = exact(sig, lam, tol=1e-8)
            t_exact += time.perf_counter() - t
            worst = max(worst, r.gaps[-1])
            iters.append(r.n_iter)
            solved.append(r.converged)
            t = time.perf_counter()
            e = em(sig, lam, max_iter=100, accelerate=True)
            t_em += time.perf_counter() - t
            em_gaps.append(certified_gap(sig, e.labels, lam, np.full(k, 1 / k))[1])
    count = len(problems)
    print(
        f"\n{count} {label}: exact (tol 1e-8) {1e3 * t_exact / count:.2f} ms, {np.median(iters):.0f} iterations "
        f"(max {max(iters)}), worst certified gap {worst:.1e}, {np.mean(solved) * 100:.1f} % certified to 1e-8; "
        f"SQUAREM EM ≤ 100 steps {1e3 * t_em / count:.2f} ms, median certified gap {np.median(em_gaps):.1e}; "
        f"ratio exact/EM = {t_exact / t_em:.2f} (target ≤ 0.2)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["10000x2", "10000x20", "10000x200"])
    ap.add_argument("--lam", type=float, default=100.0)
    ap.add_argument("--em-budget", type=int, default=600)
    ap.add_argument("--batches", type=int, default=1000)
    ap.add_argument("--real", nargs="*", default=["digits"], help="data sets whose training batches to race")
    ap.add_argument("--real-root", default=None, help="--root of the --real data sets (e.g. the MNIST IDX folder)")
    args = ap.parse_args()
    for size in args.sizes:
        n, k = (int(v) for v in size.split("x"))
        race(n, k, args.lam, args.em_budget)
    for k in (10, 100) if args.batches else ():
        batches(k, args.batches, args.lam)
    for data in args.real:
        real_batches(data, args.real_root, args.lam)


if __name__ == "__main__":
    main()
