"""Clustering fixed features with a linear head: the paper's Table 2 protocol on digits and MNIST-test.

Protocol (paper Table 2): every method trains one linear layer (Kaiming init, zero bias) on fixed
feature vectors with SGD, lr 0.1, batch 250, 10 epochs, weight decay 0.001 (the paper's MNIST
value), each method with its paper parameters (ours eq. 11 and MIADM λ = 100, SeLa λ = 25,
MIGD γ = 1.3, IMSAT λ = 0.1, μ = 4 with feature-noise augmentation); K-means is scikit-learn's
(``n_init=10``) on the same features. 6 seeds per method; ACC / NMI / ARI on the training rows.

Deviations from the paper, by necessity: the features are raw pixels (digits: 64 values / 16;
MNIST-test: the 10,000 test images, 784 normalized pixels, flattened), not ImageNet ResNet-50
features, so the absolute numbers are not comparable to Table 2 (the paper's MNIST column:
:data:`ccel_core.experiments.paper.TABLE2`). Metrics are computed once, after the last
epoch (``eval_every = epochs``). Timings: the mean wall time of one whole fit (trainer set-up and
all epochs), after one warm-up fit of every method (numba, torch and allocator warm-up), with one
torch thread by default (stable on a shared CPU; ``--threads``); the CPU time of the process is
reported beside the wall time, as it is less sensitive to other load on a shared machine.

Used by ``benchmarks/fixed_features.py`` and ``ccel bench features``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

from .paper import TABLE2

__all__ = [
    "TABLE2_METHODS",
    "PAPER_MNIST_ACC",
    "VARIANTS",
    "protocol_config",
    "feature_dataset",
    "run_protocol",
    "summarize",
    "fixed_features_report",
    "add_arguments",
    "run_from_args",
]

TABLE2_METHODS: tuple[str, ...] = ("kmeans", "migd", "sela", "miadm", "imsat", "ccel")
PAPER_MNIST_ACC = {method: row["MNIST"][0] for method, row in TABLE2.items()}
# Variants of ours tried beside the protocol run: label -> (TrainConfig changes, standardize features)
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    "ccel plain EM": ({"accelerate": False}, False),
    "ccel+std": ({}, True),
    "ccel y_step=full": ({"y_step": "full"}, False),
    "ccel lam=10": ({"lam": 10.0}, False),
    "ccel em<=10it": ({"solver_max_iter": 10}, False),
}


def protocol_config(method: str, seed: int, *, epochs: int = 10, weight_decay: float = 0.001, **changes: Any) -> Any:
    """The Table 2 :class:`~ccel_core.training.TrainConfig` of ``method`` (linear head, SGD 0.1,
    batch 250, the method's paper λ/γ/μ, CPU)."""
    from ..training import TrainConfig

    settings = dict(
        data="file:<features>",
        method=method,
        model="linear",
        epochs=epochs,
        batch_size=250,
        optimizer="sgd",
        lr=0.1,
        momentum=0.0,
        weight_decay=weight_decay,
        seed=int(seed),
        device="cpu",
        eval_every=epochs,
    )
    return TrainConfig(**{**settings, **changes})


def feature_dataset(name: str, *, root: Optional[str] = None, standardize: bool = False, **load: Any) -> Any:
    """``load_dataset(name, root, **load)`` flattened to a ``kind="features"`` data set (optionally
    with every feature standardized to zero mean, unit variance)."""
    import torch

    from ..data import Dataset, load_dataset

    ds = load_dataset(name, root, **load)
    x = ds.x.reshape(len(ds), -1)
    if standardize:
        std = x.std(0, unbiased=False)
        x = (x - x.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))
    meta = dict(ds.meta, flattened=True, standardized=bool(standardize))
    return Dataset(ds.name, x.contiguous().float(), ds.y, ds.n_classes, "features", ds.class_names, meta)


def run_protocol(
    dataset: Any,
    methods: Sequence[str],
    seeds: Sequence[int],
    *,
    weight_decay: float = 0.001,
    epochs: int = 10,
    variants: Optional[dict[str, tuple[dict[str, Any], bool]]] = None,
    std_dataset: Any = None,
    echo: Optional[Callable[[str], None]] = None,
) -> Any:
    """Train every method (and variant) with every seed; one row per run: data, method, seed,
    acc, nmi, ari, seconds (wall time of the whole fit)."""
    import pandas as pd
    import torch

    from ..solvers import ConvergenceWarning
    from ..training import Trainer

    plan: list[tuple[str, str, dict[str, Any], Any]] = [(m, m, {}, dataset) for m in methods]
    for label, (changes, standardize) in (variants or {}).items():
        if standardize and std_dataset is None:
            raise ValueError(f"variant {label!r} needs std_dataset=")
        plan.append((label, "ccel", changes, std_dataset if standardize else dataset))
    rows = []
    threads = torch.get_num_threads()
    warm = dataset.subset(slice(0, min(len(dataset), 500)))
    for method in {m for _, m, _, _ in plan}:  # JIT, caches and allocator warm before any timing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Trainer(protocol_config(method, 0, epochs=1), dataset=warm).run()
    for label, method, changes, ds in plan:
        for seed in seeds:
            cfg = protocol_config(method, seed, epochs=epochs, weight_decay=weight_decay, **changes)
            start, cpu = time.perf_counter(), time.process_time()
            trainer = Trainer(cfg, dataset=ds)
            with warnings.catch_warnings():  # full-data y-steps may hit their cap: noted in the report
                warnings.simplefilter("ignore", ConvergenceWarning)
                final = trainer.run()
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            rows.append(
                {
                    "data": dataset.name,
                    "method": label,
                    "seed": seed,
                    "acc": final.get("acc"),
                    "nmi": final.get("nmi"),
                    "ari": final.get("ari"),
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "torch_threads": threads,
                }
            )
            if echo is not None:
                echo(
                    f"  {dataset.name:<10} {label:<18} seed {seed}: acc {final.get('acc', float('nan')):.4f}  "
                    f"nmi {final.get('nmi', float('nan')):.4f}  ari {final.get('ari', float('nan')):.4f}  "
                    f"{seconds:.2f} s (cpu {cpu:.2f} s)"
                )
    return pd.DataFrame(rows)


def summarize(frame: Any) -> Any:
    """Per data set and method: ACC / NMI / ARI mean ± std (in %, std with ddof=1), mean wall and
    CPU seconds of one fit."""
    import pandas as pd

    out = []
    for (data, method), g in frame.groupby(["data", "method"], sort=False):
        row: dict[str, Any] = {"data": data, "method": method, "seeds": len(g)}
        for key in ("acc", "nmi", "ari"):
            v = 100 * g[key].astype(float)
            row[key.upper()] = f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"
        row["seconds"] = round(float(g["seconds"].mean()), 3)
        row["cpu_seconds"] = round(float(g["cpu_seconds"].mean()), 3)
        out.append(row)
    return pd.DataFrame(out)


def _mnist_root(value: Optional[str]) -> Path:
    from ..reproduce.context import default_mnist_root  # one default for every command

    return Path(value).expanduser() if value else default_mnist_root()


def fixed_features_report(
    datasets: Sequence[str] = ("digits", "mnist-test"),
    *,
    seeds: Sequence[int] = range(6),
    methods: Sequence[str] = TABLE2_METHODS,
    epochs: int = 10,
    weight_decay: float = 0.001,
    mnist_root: Optional[str] = None,
    variants: bool = True,
    echo: Optional[Callable[[str], None]] = None,
) -> tuple[str, Any]:
    """Run the protocol on each data set and return ``(report text, per-run DataFrame)``.

    The report has, per data set, ACC / NMI / ARI mean ± std and mean wall time per method, then
    the 10-epoch wall-time ratio ours / MIGD (target <= 1.5) with K-means' time beside it.
    MNIST-test is read from ``mnist_root`` (default ``$CCEL_MNIST_ROOT``, else ``$CCEL_DATA``, else
    ``./data``) and skipped with a message when absent.
    """
    import pandas as pd

    lines: list[str] = []

    def out(text: str = "") -> None:
        lines.append(text)
        if echo is not None:
            echo(text)

    seeds = list(seeds)
    import torch

    out(
        f"# Fixed features + linear head (paper Table 2 protocol): SGD lr 0.1, batch 250, {epochs} epochs, "
        f"weight decay {weight_decay:g}, seeds {seeds}, {torch.get_num_threads()} torch thread(s)"
    )
    frames = []
    for name in datasets:
        root = str(_mnist_root(mnist_root)) if name == "mnist-test" else None
        try:
            ds = feature_dataset(name, root=root)
            std_ds = feature_dataset(name, root=root, standardize=True) if variants else None
        except FileNotFoundError as exc:
            out(f"\n## {name}: skipped ({exc})")
            continue
        out(f"\n## {name}: {len(ds)} x {ds.input_shape[0]} features, K = {ds.n_classes}")
        frame = run_protocol(
            ds,
            methods,
            seeds,
            weight_decay=weight_decay,
            epochs=epochs,
            variants=VARIANTS if variants else None,
            std_dataset=std_ds,
            echo=echo,
        )
        frames.append(frame)
        summary = summarize(frame)
        out(summary.drop(columns="data").to_string(index=False))
        for col, what in (("seconds", "wall time"), ("cpu_seconds", "CPU time")):
            t = frame.groupby("method")[col].mean()
            if "ccel" in t and "migd" in t:
                km = f"; K-means {t['kmeans']:.3f} s" if "kmeans" in t else ""
                out(
                    f"{epochs}-epoch {what}: ours {t['ccel']:.3f} s / MIGD {t['migd']:.3f} s = "
                    f"{t['ccel'] / t['migd']:.2f}x (target <= 1.5){km}"
                )
        if name == "mnist-test":
            out(
                "paper Table 2 MNIST ACC (ResNet-50 features): "
                + ", ".join(f"{k} {v}" for k, v in PAPER_MNIST_ACC.items())
            )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return "\n".join(lines), frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``benchmarks/fixed_features.py`` and ``ccel bench features``."""
    parser.add_argument(
        "--data",
        nargs="+",
        default=["digits", "mnist-test"],
        metavar="NAME",
        help="data sets (default: digits mnist-test)",
    )
    parser.add_argument("--seeds", type=int, default=6, metavar="N", help="seeds 0..N-1 per method (default 6)")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(TABLE2_METHODS),
        metavar="NAME",
        help=f"default: {' '.join(TABLE2_METHODS)}",
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--weight-decay", type=float, default=0.001)
    parser.add_argument(
        "--mnist-root",
        default=None,
        metavar="DIR",
        help="folder of the t10k IDX files (default $CCEL_MNIST_ROOT, else $CCEL_DATA, else ./data)",
    )
    parser.add_argument("--no-variants", action="store_true", help="skip the variants of ours")
    parser.add_argument("--csv", default=None, metavar="FILE", help="also write the per-run rows to FILE")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads (default 1: stable timings on a shared CPU; 0 = torch's default)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-run lines")


def run_from_args(args: argparse.Namespace, echo: Callable[[str], None] = print) -> tuple[str, Any]:
    """Run :func:`fixed_features_report` with the options of :func:`add_arguments`."""
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    text, frame = fixed_features_report(
        args.data,
        seeds=range(args.seeds),
        methods=args.methods,
        epochs=args.epochs,
        weight_decay=args.weight_decay,
        mnist_root=args.mnist_root,
        variants=not args.no_variants,
        echo=(lambda s: echo(s) if not s.startswith("  ") else None) if args.quiet else echo,
    )
    if args.csv:
        frame.to_csv(args.csv, index=False)
        echo(f"wrote {len(frame)} rows to {args.csv}")
    return text, frame
