"""What the clustering sections share: method names as the paper prints them, the "ours beats the
best other method" claim, the paper's best-baseline cell, and one training run."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..experiments.paper import PAPER_METHOD_NAMES, TABLE3_PROTOCOL, best_baseline
from .report import Section
from .stats import TestResult, one_sample_test, welch_test

__all__ = [
    "DEEP_SETTINGS",
    "deep_settings_text",
    "method_name",
    "ours_vs_best",
    "paper_best",
    "paper_table",
    "train_once",
]


# The networks of Tables 3 and 5: the paper's Table 3 protocol with our learning rate (the paper's was lost).
DEEP_SETTINGS: dict[str, Any] = {**TABLE3_PROTOCOL, "lr": 1e-3}


def deep_settings_text() -> str:
    """``"Adam lr 0.001 (the paper's value was lost), batch 250, weight decay 0.01"``."""
    s = DEEP_SETTINGS
    return (
        f"{str(s['optimizer']).title()} lr {s['lr']:g} (the paper's value was lost), batch {s['batch_size']}, "
        f"weight decay {s['weight_decay']:g}"
    )


def method_name(method: str) -> str:
    """The paper's name of a ccel method (``"ccel"`` → ``"Our"``, ``"seeds"`` → ``"Only seeds"``)."""
    return PAPER_METHOD_NAMES.get(method, method)


def ours_vs_best(
    sec: Section,
    frame: Any,
    claim: str,
    scope: str,
    paper: str,
    *,
    value: str = "acc",
    among: Optional[Sequence[str]] = None,
    paired: bool = False,
    override: Optional[TestResult] = None,
) -> None:
    """The claim "ours beats the best other method" on ``frame`` (one row per run: method, seed,
    value), against the best by mean of ``among`` (default every other method). ``paired``: the
    runs of one seed share their randomness (Table 5's labeled rows): a t test of the per-seed
    differences; otherwise Welch's test of two independent samples. ``override``: the verdict to
    give instead (the numbers are still reported)."""
    means = frame.groupby("method")[value].mean()
    others = means.drop("ccel")
    if among is not None:
        others = others[others.index.isin(among)]
    best = str(others.idxmax())
    ours, theirs = (frame[frame["method"] == m].set_index("seed")[value] for m in ("ccel", best))
    measured = (
        f"ours {100 * ours.mean():.2f} ± {100 * ours.std(ddof=1):.2f} vs {method_name(best)} "
        f"{100 * theirs.mean():.2f} ± {100 * theirs.std(ddof=1):.2f}"
    )
    test = one_sample_test((ours - theirs).dropna()) if paired else welch_test(ours, theirs)
    test = override or test
    sec.claim(claim, scope, paper, measured, test, scale=100, unit=" points")


def paper_best(table: dict, column: Any) -> str:
    """``"ours 58.4 vs MIGD 52.92"``: the paper's ours and best other method in ``column`` of ``table``."""
    best, value = best_baseline(table, column)
    ours = table["ccel"][column]
    return f"ours {ours[0] if isinstance(ours, tuple) else ours} vs {method_name(best)} {value}"


def paper_table(table: dict[str, dict[str, tuple[float, Any]]]) -> Any:
    """The paper's table (method → data set → (mean, std)) as printed: one row per method, "m (s)" cells."""
    import pandas as pd

    return pd.DataFrame(
        [{"method": method_name(m), **{c: f"{v[0]} ({v[1]})" for c, v in row.items()}} for m, row in table.items()]
    )


def train_once(cfg: Any, ds: Any, test: Any = None) -> dict[str, float]:
    """Train ``cfg`` on ``ds``; its final ACC / NMI / ARI, and ``test_acc`` on ``test`` without cluster matching."""
    import warnings

    from ..solvers import ConvergenceWarning
    from ..training import Trainer

    trainer = Trainer(cfg, dataset=ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        final = trainer.run()
    out: dict[str, float] = {k: float(final[k]) for k in ("acc", "nmi", "ari") if k in final}
    if test is not None:  # weak supervision: the labeled rows fix the classes, so no matching
        out["test_acc"] = float((trainer.predict_proba(test.x).argmax(1).cpu() == test.y).double().mean())
    return out
