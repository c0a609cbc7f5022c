"""``ccel features``: frozen-backbone features of an image data set, written to a ``.npz`` file
that ``ccel fit --data FILE.npz`` loads (:mod:`ccel_core.backbones`).

Everything is checked before the backbone runs (the backbone name, ``--out``, ``--weights FILE``,
the data), and the file is written through a temporary file renamed into place, so an error or
Ctrl-C leaves no partial output.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EXIT_OK, CLIError, nonneg_int, positive_int

__all__ = ["add_parser", "cmd_features"]


HELP = "extract frozen ImageNet-backbone features of an image data set to a .npz file"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..backbones import BACKBONES
    from ..data.vision import SPLITS

    names = ", ".join(f"{name} (D={dim})" for name, dim in BACKBONES.items())
    p = sub.add_parser(
        "features",
        help=HELP,
        description="Run the images of a data set through a frozen torchvision backbone (eval mode, its "
        "weights' own resize / crop / normalization) and write the pooled penultimate features as FILE.npz "
        "(x float32 N×D, y int64 labels, meta JSON): the input of `ccel fit --data FILE.npz`.",
        epilog="Exit codes: 0 written; 1 a runtime error (e.g. the weights cannot be downloaded); "
        "2 bad arguments or data (nothing written); 130 interrupted (nothing written).",
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        required=True,
        metavar="NAME|DIR",
        help="an image data set (mnist, fashion-mnist, cifar10, cifar100-20, stl10, mnist-test, digits) "
        "or a folder of images (one sub-folder per class; images directly in it: unlabeled)",
    )
    g.add_argument("--root", metavar="DIR", help="folder of the image data sets (default $CCEL_DATA, else ./data)")
    g.add_argument("--split", choices=SPLITS, default="train", help="split of the torchvision sets (default train)")
    g.add_argument("--download", action="store_true", help="let torchvision download missing data files")
    g.add_argument(
        "--n-samples", type=positive_int, metavar="N", help="a deterministic (stratified) subsample of N images"
    )
    g.add_argument("--seed", type=nonneg_int, default=0, help="seed of --n-samples (and of --no-pretrained's init)")
    g.add_argument(
        "--data-option", action="append", default=[], metavar="KEY=VALUE", help="a load_dataset option; repeatable"
    )
    g = p.add_argument_group("backbone")
    g.add_argument("--backbone", default="resnet50", metavar="NAME", help=f"{names} (default resnet50)")
    w = g.add_mutually_exclusive_group()
    w.add_argument(
        "--weights",
        default="imagenet",
        metavar="NAME|FILE",
        help="imagenet (the backbone's torchvision ImageNet weights, downloaded on first use; resnet50: "
        "IMAGENET1K_V1), a weights-enum name such as IMAGENET1K_V2, or a local state-dict FILE (no download)",
    )
    w.add_argument("--no-pretrained", action="store_true", help="random init (seeded by --seed): for tests")
    g = p.add_argument_group("inference")
    g.add_argument(
        "--batch-size", type=positive_int, default=64, metavar="B", help="images per forward pass (default 64)"
    )
    g.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    g.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="float16 autocast on CUDA (default on with CUDA; ignored on CPU)",
    )
    g.add_argument("--num-workers", type=nonneg_int, default=0, metavar="W", help="workers decoding image files")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the feature file to write")
    p.set_defaults(func=cmd_features)
    return p


def _options(data: str, items: list[str]) -> dict[str, Any]:
    """The ``--data-option`` items as a dict, checked by name and type when ``data`` is a data set
    name or a feature file (a folder of images takes none: :func:`extract_features` says so)."""
    from .flags import check_data_options, parse_option_value

    pairs = [item.partition("=") for item in items]
    bad = [item for item, (key, sep, _) in zip(items, pairs) if not sep or not key.strip()]
    if bad:
        raise CLIError(f"--data-option {bad[0]!r} should look like KEY=VALUE")
    options = {key.strip(): parse_option_value(text) for key, _, text in pairs}
    try:
        check_data_options(data, options, items)
    except ValueError:  # not a data set name: a folder of images
        pass
    return options


def cmd_features(args: argparse.Namespace) -> int:
    """``ccel features``: extract, then write ``--out`` atomically; print one summary line."""
    from ..backbones import check_output_path, extract_features, save_features

    out = check_output_path(args.out)
    same = ("root", "split", "download", "n_samples", "seed", "batch_size", "device", "amp", "num_workers")
    features = extract_features(
        args.data,
        args.backbone,
        weights=None if args.no_pretrained else args.weights,
        data_options=_options(args.data, args.data_option),
        progress=not args.no_progress and sys.stderr.isatty(),
        **{key: getattr(args, key) for key in same},  # the flags named as the keywords
    )
    save_features(features, out)
    m = features.meta
    n, d = features.x.shape
    labels = "labeled" if features.y is not None else "unlabeled: pass --n-clusters K to ccel fit"
    print(
        f"wrote {out}: {n}×{d} {m['backbone']} features ({m['weights']}) of {m['data']}, {labels}; "
        f"{m['seconds']:.1f} s, {m['images_per_second']} images/s on {m['device']}" + (" (amp)" * m["amp"]),
        flush=True,
    )
    return EXIT_OK
