"""Supervised training from corrupted soft targets: Shannon CE vs collision CE (paper Fig. 2).

Noise models (docs/math.md §11), for true classes ``c_i`` and ``d_i ~ Dirichlet(1, …, 1)``:

* ``random-soft``: a fraction ρ = ``level`` of the targets is replaced by ``d_i``; the rest stay
  one-hot ``e_{c_i}``.
* ``mix``: every target becomes ``y_i = (1 − ε) e_{c_i} + ε d_i`` with ε = ``level``.

Random numbers are drawn once per seed (a permutation of the rows and one Dirichlet draw per row),
so the corrupted sets are nested as the level grows and both losses see the same targets, the same
train/test split and the same initial network: the comparison is paired.

The comparison of the two losses (:func:`paired_differences`, :func:`mean_difference`,
:func:`describe_differences`) is paired by seed: per level and seed, collision − Shannon test
accuracy; its mean ± sample std over seeds (ddof = 1, :func:`ccel_core.summary.summarize`), and the
report's one significance rule (:func:`ccel_core.reproduce.stats.one_sample_test`: paired t, one-sided at
α = 0.05 each way, i.e. the two-sided 90 % interval excludes 0) tells an advantage from seed noise.

Pure functions: no plotting, no UI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NOISE_MODELS",
    "LEVEL_SYMBOLS",
    "level_axis_title",
    "corrupt_targets",
    "true_class_weights",
    "noisy_label_experiment",
    "paired_differences",
    "mean_difference",
    "noisy_level_means",
    "describe_differences",
    "interval_percent",
]

NOISE_MODELS: tuple[str, ...] = ("random-soft", "mix")
# What the level means in each noise model: ρ, the fraction of corrupted targets; ε, the mixing weight.
LEVEL_SYMBOLS: dict[str, str] = {"random-soft": "ρ", "mix": "ε"}
_LEVEL_MEANINGS = {"random-soft": "fraction of corrupted targets", "mix": "mixing weight"}


def level_axis_title(noise: str) -> str:
    """Axis title of the noise level: ``"ρ — fraction of corrupted targets"`` (random-soft) or
    ``"ε — mixing weight"`` (mix)."""
    if noise not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {noise!r}; known: {', '.join(NOISE_MODELS)}")
    return f"{LEVEL_SYMBOLS[noise]} — {_LEVEL_MEANINGS[noise]}"


def corrupt_targets(
    labels: Union[Tensor, np.ndarray, Sequence[int]],
    n_classes: int,
    *,
    model: str = "random-soft",
    level: float,
    seed: int = 0,
) -> Tensor:
    """Soft targets (N×K float32, rows on the simplex) from true class indices.

    Args:
        labels: class indices ``c_i`` in ``[0, n_classes)``.
        n_classes: K.
        model: ``"random-soft"`` (exactly ``round(level·N)`` rows, chosen at random, become
            Dirichlet(1) draws) or ``"mix"`` (every row ``(1 − level) e_c + level·d``).
        level: ρ or ε in [0, 1].
        seed: seeds the row permutation and the Dirichlet draws.
    """
    y = np.asarray(labels.detach().cpu() if isinstance(labels, Tensor) else labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels should be 1-D integer class indices, got shape={y.shape} dtype={y.dtype}")
    k = int(n_classes)
    if k < 1:
        raise ValueError(f"n_classes={n_classes!r} should be >= 1")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels should lie in [0, {k - 1}], got [{y.min()}, {y.max()}]")
    if model not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {model!r}; known: {', '.join(NOISE_MODELS)}")
    level = float(level)
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level={level!r} should be in [0, 1]")
    n = y.size
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    draws = rng.dirichlet(np.ones(k), size=n)
    onehot = np.eye(k)[y]
    if model == "random-soft":
        out = onehot.copy()
        idx = order[: int(round(level * n))]
        out[idx] = draws[idx]
    else:
        out = (1.0 - level) * onehot + level * draws
    out /= out.sum(1, keepdims=True)
    return torch.from_numpy(out.astype(np.float32))


def _split(ds: Any, test_fraction: float, seed: int) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ds))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=ds.y.numpy())
    return ds.subset(np.sort(train)), ds.subset(np.sort(test))


def noisy_label_experiment(
    data: str = "digits",
    model: str = "linear",
    noise: str = "random-soft",
    levels: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 15,
    losses: Sequence[str] = ("shannon", "collision"),
    progress: Optional[Callable[[int, int], Any]] = None,
    *,
    test_fraction: float = 0.3,
    optimizer: str = "adam",
    lr: float = 0.01,
    batch_size: int = 128,
    weight_decay: float = 0.0,
    data_options: Optional[dict] = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Test accuracy of supervised training on corrupted soft targets, per loss, level and seed.

    For each seed: a stratified train/test split of ``data`` (``test_fraction`` held out, split by
    the seed), then for each level the train targets are corrupted (:func:`corrupt_targets`) and a
    fresh ``model`` (same initialization for both losses) is trained for ``epochs`` with
    ``method="supervised"`` and each loss; accuracy is measured on the clean test labels.

    Returns:
        A DataFrame with columns ``loss, level, seed, test_acc, train_acc, noise`` (one row per run,
        ``len(losses)·len(levels)·len(seeds)`` rows). ``progress(done, total)`` is called after
        every run. The digits defaults finish in roughly 10-20 s on two CPU cores.
    """
    import pandas as pd

    from ..data import load_dataset
    from ..training import TrainConfig, Trainer
    from .trajectories import single_threaded_torch

    for loss in losses:
        if loss not in ("shannon", "collision"):
            raise ValueError(f"loss={loss!r} should be 'shannon' or 'collision'")
    if noise not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {noise!r}; known: {', '.join(NOISE_MODELS)}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction={test_fraction!r} should be in (0, 1)")
    ds = load_dataset(data, **(data_options or {}))
    if ds.y is None:
        raise ValueError(f"data set {data!r} has no labels; the noisy-label experiment needs them")
    total = len(losses) * len(levels) * len(seeds)
    runs = [(int(seed), float(level), loss) for seed in seeds for level in levels for loss in losses]
    rows, splits = [], {}
    # every run's settings but its loss and seed
    shared: dict[str, Any] = {"data": data, "method": "supervised", "model": model, "epochs": int(epochs)}
    shared.update({"batch_size": batch_size, "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay})
    shared.update({"device": device, "eval_every": int(epochs)})
    with single_threaded_torch():  # tiny models: extra intra-op threads only slow them down
        for done, (seed, level, loss) in enumerate(runs, 1):
            if seed not in splits:
                splits[seed] = _split(ds, test_fraction, seed)
            train, test = splits[seed]
            targets = corrupt_targets(train.y, ds.n_classes, model=noise, level=level, seed=seed)
            cfg = TrainConfig(loss=loss, seed=seed, **shared)
            final = Trainer(cfg, dataset=train, targets=targets, eval_dataset=test).run()
            rows.append(
                {
                    "loss": loss,
                    "level": level,
                    "seed": seed,
                    "test_acc": final["test_acc"],
                    "train_acc": final["acc"],
                    "noise": noise,
                }
            )
            if progress is not None:
                progress(done, total)
    return pd.DataFrame(rows, columns=["loss", "level", "seed", "test_acc", "train_acc", "noise"])


def _paired(df: pd.DataFrame) -> pd.DataFrame:
    """``level × seed`` table of collision − Shannon test accuracy (pairs where both ran)."""
    need = {"loss", "level", "seed", "test_acc"}
    if not need <= set(df.columns):
        raise ValueError(f"the results need columns {sorted(need)}; got {list(df.columns)}")
    wide = df.pivot_table(index=["level", "seed"], columns="loss", values="test_acc", aggfunc="mean")
    if not {"collision", "shannon"} <= set(wide.columns):
        raise ValueError(f"the results need both losses 'collision' and 'shannon'; got {sorted(set(df['loss']))}")
    wide = wide.dropna(subset=["collision", "shannon"])
    return (wide["collision"] - wide["shannon"]).rename("diff").reset_index()


def paired_differences(df: pd.DataFrame) -> pd.DataFrame:
    """Per level: each loss's test accuracy and their paired difference, over seeds.

    ``df``: :func:`noisy_label_experiment`'s table. Returns one row per level (sorted) with
    ``collision mean/std``, ``shannon mean/std`` (over seeds, ddof = 1), ``diff mean/std``
    (collision − Shannon, paired by seed), ``n`` (seeds with both losses), ``half_width`` (of the
    two-sided ``1 − 2α`` t interval of the mean difference, ``t_{n−1}(1 − α) · std / √n``; NaN for
    one seed) and ``verdict``, by the report's one rule (``one_sample_test``, α = ``ALPHA`` each way):
    ``"collision ahead"`` / ``"Shannon ahead"`` when that interval excludes 0, ``"identical"`` when
    every seed gives exactly the same accuracy (level 0: one-hot targets make the two losses one
    function), ``"within noise"`` otherwise, ``"one seed"`` when no spread can be estimated.
    """
    import pandas as pd

    from ..reproduce.stats import DOES_NOT_HOLD, HOLDS, one_sample_test
    from ..summary import summarize

    pairs = _paired(df)
    rows = []
    for level, part in pairs.groupby("level", sort=True):
        d = summarize(part["diff"])
        row: dict[str, Any] = {"level": float(level)}
        for loss in ("collision", "shannon"):
            s = summarize(df[(df["loss"] == loss) & (df["level"] == level) & df["seed"].isin(part["seed"])]["test_acc"])
            row.update({f"{loss} mean": s.mean, f"{loss} std": s.std})
        test = one_sample_test(part["diff"])
        half = (test.high - test.low) / 2 if d.n > 1 else np.nan
        if bool((part["diff"] == 0).all()):
            verdict = "identical"
        elif d.n < 2:
            verdict = "one seed"
        else:
            verdict = {HOLDS: "collision ahead", DOES_NOT_HOLD: "Shannon ahead"}.get(test.verdict, "within noise")
        row.update({"diff mean": d.mean, "diff std": d.std, "n": d.n, "half_width": half, "verdict": verdict})
        rows.append(row)
    return pd.DataFrame(rows)


def interval_percent() -> str:
    """The confidence of :func:`paired_differences`' interval, ``"90%"`` for α = 0.05 each way."""
    from ..reproduce.stats import ALPHA

    return f"{100 * (1 - 2 * ALPHA):g}%"


def noisy_level_means(df: pd.DataFrame) -> pd.Series:
    """Per seed, collision − Shannon test accuracy averaged over the *noisy* levels (level > 0: the
    robustness claim of paper Fig. 2 is about them; level 0, one-hot targets, is the control). Seeds
    missing a level or a loss are left out, so every seed's average covers the same levels; empty when
    no level is above 0."""
    pairs = _paired(df)
    pairs = pairs[pairs["level"] > 0]
    return pairs.pivot(index="seed", columns="level", values="diff").dropna().mean(axis=1)


def mean_difference(df: pd.DataFrame) -> Any:
    """:func:`noisy_level_means` summarized over seeds: a :class:`~ccel_core.summary.SeedSummary`
    (mean ± std, ddof = 1; n = 0 when no level is above 0)."""
    from ..summary import summarize

    return summarize(noisy_level_means(df))


def describe_differences(diffs: pd.DataFrame, noise: str) -> str:
    """One markdown sentence per verdict from :func:`paired_differences`: at which levels each loss
    is ahead beyond seed noise (with the numbers), where the two are within noise."""
    sym = LEVEL_SYMBOLS.get(noise, "level")

    def levels(part: pd.DataFrame, numbers: bool) -> str:
        if not numbers:
            return ", ".join(f"{v:g}" for v in part["level"])
        return ", ".join(f"{r['level']:g} ({r['diff mean']:+.3f} ± {r['diff std']:.3f})" for _, r in part.iterrows())

    pct = interval_percent()
    out = []
    for verdict, lead in (("collision ahead", "Collision CE"), ("Shannon ahead", "Shannon CE")):
        part = diffs[diffs["verdict"] == verdict]
        if len(part):
            out.append(
                f"**{lead} is ahead beyond seed noise** at {sym} = {levels(part, True)} "
                f"(collision − Shannon test accuracy, mean ± std over seeds; its {pct} t interval excludes 0)."
            )
    part = diffs[diffs["verdict"] == "within noise"]
    if len(part):
        out.append(f"Within seed noise at {sym} = {levels(part, True)}: no winner at these levels.")
    part = diffs[diffs["verdict"] == "identical"]
    if len(part):
        out.append(f"Identical at {sym} = {levels(part, False)}.")
    if (diffs["level"] == 0).any():
        out.append(
            f"At {sym} = 0 the targets are one-hot, where the two losses are the same function: their gradients "
            "differ only by floating-point rounding (they are computed differently), which training can amplify "
            "into a small difference of accuracy."
        )
    part = diffs[diffs["verdict"] == "one seed"]
    if len(part):
        out.append(f"One seed at {sym} = {levels(part, False)}: add seeds to tell a difference from noise.")
    return " ".join(out)


def true_class_weights(data: str, noise: str, levels: Sequence[float], *, seed: int = 0) -> "pd.DataFrame":
    """What the noise does: the weight ``y_{i,c_i}`` each corrupted target keeps on the true class.

    Long frame ``level, true_class_weight`` (one row per point and level) from
    :func:`corrupt_targets` on the labels of the data set ``data``.
    """
    import pandas as pd

    from ..data import load_dataset

    ds = load_dataset(data)
    if ds.y is None:
        raise ValueError(f"data set {data!r} has no labels; the noisy-label experiment needs them")
    y = ds.y.numpy()
    frames = []
    for level in levels:
        t = corrupt_targets(y, ds.n_classes, model=noise, level=level, seed=seed).numpy()
        frames.append(pd.DataFrame({"level": level, "true_class_weight": t[np.arange(len(y)), y]}))
    return pd.concat(frames, ignore_index=True)
