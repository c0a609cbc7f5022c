"""The report's sections for the paper's figures: Fig. 1 (CE vs collision CE curves) and Fig. 2
(supervised training from corrupted soft targets)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .context import MNIST_NEEDS, Context
from .report import Section
from .stats import ALPHA, computed, not_measurable, one_sample_test

__all__ = ["fig1_section", "fig2_section"]

FIG2_PAPER = (
    "Fig. 2 (a figure, no numbers): collision CE's test accuracy stays above Shannon CE's as the corruption grows"
)


def fig1_section(ctx: Context, sec: Section) -> None:
    """Fig. 1 from the formulas: where each loss is minimized for the paper's four targets (in closed
    form, :func:`exact_minimizers`; the plotted grid's argmin is checked against it)."""
    from ..experiments.curves import FIG1_TARGETS, curve_minimizers, exact_minimizers, loss_curves
    from ..plots import loss_curves_figure

    df = loss_curves(FIG1_TARGETS, (1.0, 2.0), 399)
    grid = np.unique(df["p"].to_numpy())
    step, p_max = float(grid[1] - grid[0]), float(grid[-1])
    sec.text(
        "H(y,σ) = −Σ_k y_k ln σ_k (dashed) and H₂(y,σ) = −ln Σ_k y_k σ_k (solid) against p for σ = (p, 1 − p), "
        f"drawn on a grid of {grid.size} points of p ∈ [{grid[0]:g}, {p_max:g}], for the paper's targets y. The "
        "minimizers are over p ∈ [0, 1], in closed form (Shannon: p = y₁; collision: the end of y's likelier class)."
    )
    sec.figure(loss_curves_figure(df))
    rows, minima, agree = [], {}, []
    for (y, kind), part in df.groupby(["y", "kind"], sort=False):
        y1 = float(part["y1"].iloc[0])
        exact = exact_minimizers((y1, 1.0 - y1), float(part["alpha"].iloc[0]))
        sampled = curve_minimizers(part["p"], part["loss"])
        minima[(y, kind)] = (exact, sampled, y1)
        # the sampled curve must put its argmin where the formula says (within a grid step of [0, 1]'s point)
        agree.append(
            exact.flat == sampled.flat
            and all(
                any(abs(np.clip(p, grid[0], p_max) - lo) <= step for lo, _ in sampled.intervals)
                for p, _ in exact.intervals
            )
        )
        rows.append(
            {
                "target y": y,
                "loss": kind,
                "minimized at": exact.describe(),
                "range on the grid (nats)": f"{sampled.spread:.3f}",
            }
        )
    import pandas as pd

    sec.table(pd.DataFrame(rows), "Minimizers of each curve over p ∈ [0, 1] (ties and flat curves reported as sets):")
    one_hot = df[df["y1"] == 1.0].pivot_table(index="p", columns="kind", values="loss")
    gap = float((one_hot["collision"] - one_hot["shannon"]).abs().max())
    sec.claim(
        "For a one-hot target, collision CE and Shannon CE are the same function of σ",
        "the formulas",
        "Fig. 1, y = (1, 0): the two curves coincide",
        f"max |H₂ − H| = {gap:.1e} nats",
        computed(gap < 1e-9, f"max |H₂ − H| over the grid = {gap:.1e} (tolerance 1e-9)"),
    )
    soft = [(y, y1) for (y, kind), (_, _, y1) in minima.items() if kind == "shannon" and 0.5 < y1 < 1.0]
    copies = [minima[(y, "shannon")][0].intervals == ((y1, y1),) for y, y1 in soft]
    picks = [minima[(y, "collision")][0].intervals == ((1.0, 1.0),) for y, _ in soft]
    drawn = f"; the drawn curves' argmin agrees within one grid step ({step:.4f}): {all(agree)}"
    where = ", ".join(f"y₁ = {y1:g}: H at {minima[(y, 'shannon')][0].describe()}" for y, y1 in soft)
    sec.claim(
        "Shannon CE is minimized at σ = y: it trains the prediction to copy the target's uncertainty",
        "the formulas",
        "Fig. 1, dashed curves: minimum at p = y₁",
        where,
        computed(all(copies) and all(agree), f"argmin p = y₁ for every soft target: {all(copies)}{drawn}"),
    )
    sec.claim(
        "Collision CE is minimized by the confident prediction of the target's most likely class",
        "the formulas",
        "Fig. 1, solid curves: decreasing in p for y₁ > ½",
        ", ".join(f"y₁ = {y1:g}: H₂ at {minima[(y, 'collision')][0].describe()}" for y, y1 in soft),
        computed(all(picks) and all(agree), f"argmin p = 1 for every target with y₁ ∈ (½, 1): {all(picks)}{drawn}"),
    )
    uni = [(y, kind) for (y, kind), (_, _, y1) in minima.items() if y1 == 0.5]
    flat = {kind: minima[(y, kind)][1] for y, kind in uni}
    sec.claim(
        "For the uniform target y = (½, ½) collision CE is constant (no training signal); Shannon CE is not",
        "the formulas",
        "Fig. 1, y = (.5, .5): a flat solid line",
        f"H₂ range {flat['collision'].spread:.1e} nats; H range {flat['shannon'].spread:.3f} nats",
        computed(flat["collision"].flat and not flat["shannon"].flat, "H₂ flat on the grid and H not"),
    )


def fig2_section(ctx: Context, sec: Section) -> None:
    """Fig. 2: CE vs CCE on corrupted soft targets, per data set, model and noise model, paired by seed."""
    import pandas as pd

    from ..experiments.noisy import LEVEL_SYMBOLS, noisy_label_experiment, noisy_level_means, paired_differences
    from ..plots import noisy_labels_figure
    from ..summary import SeedSummary, summarize

    b = ctx.budget
    run = {k: v.default for k, v in inspect.signature(noisy_label_experiment).parameters.items()}
    sec.text(
        f"Supervised training from corrupted soft targets (docs/math.md §11): `random-soft` replaces a fraction ρ of "
        f"the targets by Dirichlet(1) draws, `mix` makes every target (1 − ε) e_c + ε d. {run['optimizer'].title()} lr "
        f"{run['lr']:g}, batch {run['batch_size']}, weight decay {run['weight_decay']:g}, {b.fig2_epochs} epochs, a "
        f"stratified {100 * (1 - run['test_fraction']):.0f}/{100 * run['test_fraction']:.0f} train/test split per seed, "
        f"test accuracy on clean labels; the two "
        f"losses see the same targets, split and initial network (paired by seed). Seeds {ctx.seeds}. The paper's "
        f"Fig. 2 trains a ResNet-18; here a linear head and a 1-hidden-layer MLP on digits and MNIST-test pixels."
    )
    table = []
    for data in b.fig2_data:
        options: dict[str, Any] = {"n_samples": b.fig2_rows} if b.fig2_rows else {}
        levels = b.fig2_levels
        if data == "mnist-test":
            if not ctx.has_mnist:
                sec.claim(
                    "Averaged over the noise levels, collision CE's test accuracy is above Shannon CE's (MNIST)",
                    "MNIST-test",
                    FIG2_PAPER,
                    "—",
                    not_measurable(MNIST_NEEDS),
                )
                continue
            options.update(root=str(ctx.mnist_root))
            levels = b.fig2_mnist_levels
        for model in b.fig2_models:
            frames = []
            for noise in b.fig2_noises:
                ctx.echo(f"  fig2: {data} · {model} · {noise}")
                df = noisy_label_experiment(
                    data, model, noise, levels, ctx.seeds, b.fig2_epochs, data_options=options, device=ctx.device
                )
                frames.append(df)
                sym = LEVEL_SYMBOLS[noise]
                ahead: dict[str, list[str]] = {}
                # the per-level rows and verdicts of the Noisy labels page (one rule: one_sample_test)
                for _, row in paired_differences(df).iterrows():
                    level, verdict = row["level"], row["verdict"]
                    if level > 0:  # the claim is about the noisy levels; level 0 is in the table
                        ahead.setdefault(verdict, []).append(f"{level:g}")
                    accs = {
                        loss: SeedSummary(row[f"{loss} mean"], row[f"{loss} std"], int(row["n"]))
                        for loss in ("collision", "shannon")
                    }
                    table.append(
                        {
                            "data": data,
                            "model": model,
                            "noise": f"{noise} ({sym})",
                            "level": level,
                            "collision CE": accs["collision"].format(1, 100),
                            "Shannon CE": accs["shannon"].format(1, 100),
                            "CCE − CE": SeedSummary(row["diff mean"], row["diff std"], int(row["n"])).format(1, 100),
                            f"verdict (paired t, α = {ALPHA:g} each way)": verdict,
                        }
                    )
                per_seed = noisy_level_means(df)
                where = "; ".join(f"{k} at {sym} = {', '.join(v)}" for k, v in ahead.items() if k != "identical")
                sec.claim(
                    "Averaged over the noise levels, collision CE's test accuracy is above Shannon CE's",
                    f"{data}, {model}, {noise} ({sym} ∈ {{{', '.join(f'{v:g}' for v in levels if v > 0)}}})",
                    FIG2_PAPER,
                    f"CCE − CE test ACC, mean over {sym} > 0: {summarize(per_seed).format(2, 100)} points; per level: {where}",
                    one_sample_test(per_seed.to_numpy()),
                    scale=100,
                    unit=" points",
                )
            both = pd.concat(frames, ignore_index=True)
            sec.figure(noisy_labels_figure(both, title=f"{data} · {model}: test accuracy vs corruption"))
    if table:
        sec.table(
            pd.DataFrame(table),
            "Test accuracy in % (mean ± std over seeds, ddof = 1), the paired difference and its verdict per level:",
        )
