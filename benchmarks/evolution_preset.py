"""Where do ours (collision CE, eq. 11) and MIADM (Shannon CE, eq. 5) self-labeling differ on the plane?

Usage: python benchmarks/evolution_preset.py [--seeds 10] [--epochs 15] [--y-iter 1000] [--quick]
       [--only blobs] [--preset-only] [--csv rows.csv]

Searches the built-in 2-D sets (``ccel_core.data``: blobs, anisotropic, moons) over the generator
noise, the number of true classes C versus the network's K (K > C: more clusters than modes),
class imbalance (largest / smallest class), the fairness weight λ and the y-step's iteration cap,
running both methods on the same data and initial network for every seed
(:func:`ccel_core.experiments.trajectories.compare_self_labeling`). For each setting it prints,
per score, ours and MIADM as mean ± std over seeds (ddof = 1, :mod:`ccel_core.summary`), the
paired difference ours − MIADM with its t statistic, and how many seeds agree on its sign; the
settings are ranked by the strongest robust difference in ACC / NMI / smallest cluster.

First the page's preset (explorer/cached/pseudo_labels.py ``PSEUDO_LABEL_DEFAULTS``, on the page's 50 × 50 grid)
and two controls: the same setting with K = C = 3 (both y-steps give near one-hot labels, and for
one-hot labels collision CE equals Shannon CE, so the methods nearly coincide) and with the y-step
capped at 50 iterations (MIADM's PGD is then unconverged: a difference of the solver, not the loss).
Then the search. Record the output with the date and machine in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import time
from typing import Any

import pandas as pd
import torch

from ccel_core.experiments.trajectories import compare_self_labeling, difference_summary
from ccel_core.summary import SeedSummary

# The page's default (explorer/cached/pseudo_labels.py PSEUDO_LABEL_DEFAULTS, in toy_self_labeling keywords).
PRESET: dict[str, Any] = {
    "data": "blobs",
    "k": 5,
    "n_classes": 3,
    "imbalance": 1.0,
    "noise": 1.0,
    "lam": 3.0,
    "epochs": 15,
    "y_step": "full",
    "y_iter": 1000,
    "model": "linear",
}
# Scores that say the *clustering* differs (not just how soft the labels are).
HEADLINE = ("acc", "nmi", "smallest")


def grid(quick: bool) -> list[dict[str, Any]]:
    """The searched settings (``toy_self_labeling`` keywords, without seed / ce / epochs / y_iter)."""
    out: list[dict[str, Any]] = []
    sets = [("blobs", 1.0), ("blobs", 2.0), ("anisotropic", 1.0)] if not quick else [("blobs", 1.0)]
    lams = (1.0, 3.0, 10.0, 100.0) if not quick else (3.0, 100.0)
    pairs = [(3, 3), (3, 4), (3, 5), (3, 6)] if not quick else [(3, 3), (3, 5)]
    for (data, noise), (c, k), imb, lam in itertools.product(sets, pairs, (1.0, 5.0), lams):
        out.append(dict(data=data, noise=noise, n_classes=c, k=k, imbalance=imb, lam=lam))
    if not quick:
        for (c, k), lam in itertools.product([(2, 2), (2, 3), (2, 4)], lams):
            out.append(dict(data="moons", noise=0.1, n_classes=c, k=k, imbalance=1.0, lam=lam))
    return out


def describe(s: dict[str, Any]) -> str:
    return (
        f"{s['data']:<11} noise={s['noise']:<4g} C={s['n_classes']} K={s['k']:<2} imb={s['imbalance']:<3g} "
        f"λ={s['lam']:<5g} y_iter={s.get('y_iter', '-')}"
    )


def strength(table: pd.DataFrame) -> float:
    """The largest |t| among the headline scores whose difference is robust (a paired t test at α = 0.05 each way
    and at least 80% of the seeds agreeing on its sign: ``difference_summary``'s ``robust``); 0 if none."""
    rows = table[table["score"].isin(HEADLINE) & table["robust"]]
    return float(rows["t"].abs().replace(float("inf"), 1e9).max()) if len(rows) else 0.0


def report(settings: dict[str, Any], seeds: list[int], echo: Any, grid: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    t0 = time.perf_counter()
    frame = compare_self_labeling(seeds, grid_resolution=grid, **settings)
    table = difference_summary(frame)
    parts = []
    for _, r in table.iterrows():
        d = SeedSummary(r["diff mean"], r["diff std"], int(r["n"]))
        if r["score"] == "region_disagreement":
            parts.append(f"regions differ {d.format(3)}")
            continue
        a = SeedSummary(r["collision mean"], r["collision std"], int(r["n"]))
        b = SeedSummary(r["shannon mean"], r["shannon std"], int(r["n"]))
        parts.append(
            f"{r['score']} {a.format(3)} vs {b.format(3)} Δ={d.format(3)} t={r['t']:+.1f} ({r['sign_agreement']:.0%})"
            + (" robust" if r["robust"] else "")
        )
    echo(f"{describe(settings)} [{time.perf_counter() - t0:.0f}s] strength={strength(table):.1f}")
    for p in parts:
        echo(f"    {p}")
    frame = frame.assign(**{k: v for k, v in settings.items()})
    return frame, table.assign(setting=describe(settings), strength=strength(table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 … n−1 (the page's summary uses 10)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--y-iter", type=int, nargs="+", default=[1000], help="y-step iteration caps to try")
    parser.add_argument("--quick", action="store_true", help="a small grid (blobs, λ = 100)")
    parser.add_argument("--only", default=None, help="only settings of this data set")
    parser.add_argument("--preset-only", action="store_true", help="only the page's preset")
    parser.add_argument("--csv", default=None, help="write every run's scores here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    echo = lambda s: print(s, flush=True)  # noqa: E731
    echo(
        f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.processor() or platform.machine()} · torch {torch.__version__}"
    )
    seeds = list(range(args.seeds))
    echo(f"# seeds {seeds}, {args.epochs} epochs, full y-step, linear model; mean ± std over seeds (ddof = 1)")
    frames, tables = [], []
    preset = {**PRESET, "epochs": args.epochs}
    for head, setting in (
        ("## preset (the page's default)", preset),
        ("## control: K = C = 3 (near one-hot labels: the methods should coincide)", {**preset, "k": 3}),
        ("## control: the y-step capped at 50 iterations (MIADM's PGD unconverged)", {**preset, "y_iter": 50}),
    ):
        echo(head)
        f, t = report(setting, seeds, echo, grid=50)
        frames.append(f)
        tables.append(t)
    if not args.preset_only:
        echo("## search")
        for y_iter in args.y_iter:
            for s in grid(args.quick):
                if args.only and s["data"] != args.only:
                    continue
                f, t = report({**s, "epochs": args.epochs, "y_step": "full", "y_iter": y_iter}, seeds, echo)
                frames.append(f)
                tables.append(t)
        ranked = pd.concat(tables).drop_duplicates("setting").sort_values("strength", ascending=False)
        echo("## ranked by the strongest robust headline difference (|t| of a robust ACC / NMI / smallest-cluster Δ)")
        for _, r in ranked.head(12).iterrows():
            echo(f"  {r['strength']:6.1f}  {r['setting']}")
    if args.csv:
        pd.concat(frames, ignore_index=True).to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
