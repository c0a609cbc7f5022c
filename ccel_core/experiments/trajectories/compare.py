"""Ours vs MIADM over seeds: does the choice of cross-entropy change the result? Per-run scores
(:func:`final_scores`), both methods on the same data per seed (:func:`compare_self_labeling`) and
their paired differences (:func:`difference_summary`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from .iterates import CES
from .snapshots import ToySelfLabelingResult
from .toy import toy_self_labeling

__all__ = [
    "PAIRED",
    "ROBUST_AGREEMENT",
    "SCORES",
    "compare_self_labeling",
    "difference_summary",
    "final_scores",
    "mean_label_entropy",
    "region_disagreement",
]


# Per-run scores of :func:`final_scores` and the paired ones of :func:`compare_self_labeling`.
SCORES: dict[str, str] = {
    "acc": "ACC",
    "nmi": "NMI",
    "label_entropy": "pseudo-label entropy mean_i H(y_i) (nats)",
    "pred_entropy": "prediction entropy mean_i H(σ_i) (nats)",
    "smallest": "smallest cluster #{i : argmax σ_i = k} / N",
    "empty": "empty clusters (no point has argmax σ_i = k)",
    "region_disagreement": "plane where the two methods' decision regions differ (fraction, ids matched)",
}
PAIRED = ("region_disagreement",)
ROBUST_AGREEMENT = 0.8  # a robust difference has the same sign in at least this fraction of the seeds


def mean_label_entropy(p: np.ndarray) -> float:  # also of predictions σ (any rows on the simplex)
    """``mean_i H(y_i)`` of pseudo-labels (N×K rows on the simplex), in nats: :func:`ccel_core.losses.entropy`."""
    from ...losses import entropy

    return float(entropy(torch.as_tensor(np.asarray(p, dtype=np.float64)), validate=False).mean())


def final_scores(result: ToySelfLabelingResult, epoch: int = -1) -> dict[str, float]:
    """The scores of one run at ``epoch`` (default the last): ACC, NMI, the mean entropy of the
    pseudo-labels y and of the predictions σ, the smallest cluster (fraction of N) and the number of
    empty clusters (both by ``argmax σ``)."""
    s = result.snapshots[epoch]
    n = max(len(s.probs), 1)
    return {
        "acc": float(s.acc),
        "nmi": float(s.nmi),
        "label_entropy": mean_label_entropy(s.labels),
        "pred_entropy": mean_label_entropy(s.probs),
        "smallest": float(s.sizes.min()) / n,
        "empty": float((s.sizes == 0).sum()),
    }


def region_disagreement(a: ToySelfLabelingResult, b: ToySelfLabelingResult, epoch: int = -1) -> float:
    """The fraction of the plane grid where ``argmax σ`` of two runs differ, after matching their
    cluster ids one-to-one (Hungarian, most agreeing cells), so a mere renaming of clusters is no
    difference. Both runs must share the grid (same data and ``grid_resolution``)."""
    from scipy.optimize import linear_sum_assignment

    ga = a.snapshots[epoch].grid_probs.argmax(-1).ravel()
    gb = b.snapshots[epoch].grid_probs.argmax(-1).ravel()
    if ga.shape != gb.shape:
        raise ValueError(f"the runs have different grids ({ga.size} vs {gb.size} cells)")
    k = max(a.n_clusters, b.n_clusters)
    counts = np.zeros((k, k))
    np.add.at(counts, (ga, gb), 1.0)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(1.0 - counts[rows, cols].sum() / max(ga.size, 1))


def compare_self_labeling(
    seeds: Sequence[int],
    *,
    progress: Optional[Callable[[int, int], Any]] = None,
    run: Optional[Callable[..., ToySelfLabelingResult]] = None,
    **settings: Any,
) -> pd.DataFrame:
    """Ours (``ce="collision"``) and MIADM (``ce="shannon"``) on the same data and network, per seed.

    ``settings`` are :func:`toy_self_labeling` keywords (``data``, ``k``, ``epochs``, ``lam``, …;
    not ``ce``/``seed``). Returns one row per (seed, ce): ``seed, ce`` and the :func:`final_scores`,
    plus the paired ``region_disagreement`` of that seed (the same on both of its rows).
    ``progress(done, total)`` is called after every run (``total = 2·len(seeds)``); ``run``
    replaces :func:`toy_self_labeling` (called with the same keywords, e.g. a cached version).
    """
    if "ce" in settings or "seed" in settings:
        raise ValueError("compare_self_labeling runs both ce and every seed itself; pass them as `seeds`")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; expected at least one seed")
    rows: list[dict[str, Any]] = []
    done = 0
    for seed in seeds:
        runs = {}
        for ce in CES:
            runs[ce] = (run or toy_self_labeling)(ce=ce, seed=seed, **settings)
            done += 1
            if progress is not None:
                progress(done, 2 * len(seeds))
        disagreement = region_disagreement(runs["collision"], runs["shannon"])
        for ce, res in runs.items():
            rows.append({"seed": seed, "ce": ce, **final_scores(res), "region_disagreement": disagreement})
    return pd.DataFrame(rows)


def difference_summary(frame: pd.DataFrame, scores: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per score: each method's mean ± std over seeds and the paired difference ours − MIADM.

    ``frame`` from :func:`compare_self_labeling`. Columns ``score, collision mean, collision std,
    shannon mean, shannon std, diff mean, diff std, n, t, t_crit, sign_agreement, robust``: std with
    ddof = 1 (:mod:`ccel_core.summary`); ``t = diff mean / (diff std / √n)`` (paired t statistic; inf
    when every seed gives the same non-zero difference); ``t_crit`` the critical value ``t_{1−α}(n − 1)``
    of Student's t at the report's one rule (``ccel_core.reproduce.stats``: α = ``ALPHA`` = 0.05 each way,
    ``t₀.₉₅``); ``sign_agreement`` the fraction of seeds whose difference has the
    sign of the mean; ``robust``: ``|t| ≥ t_crit`` and ``sign_agreement ≥`` :data:`ROBUST_AGREEMENT`
    (the difference is beyond seed noise and not carried by a few seeds). Paired scores
    (``region_disagreement``) report their own mean ± std as the "diff" (0 would mean identical
    regions); their per-method columns are NaN.
    """
    from scipy.stats import t as student

    from ccel_core.reproduce.stats import ALPHA
    from ccel_core.summary import summarize

    wanted = list(scores) if scores is not None else [s for s in SCORES if s in frame.columns]
    wide = frame.pivot(index="seed", columns="ce")
    out = []
    for score in wanted:
        if score in PAIRED:
            d = wide[score]["collision"].to_numpy(dtype=float)
            a = b = summarize([])
        else:
            x = wide[score]["collision"].to_numpy(dtype=float)
            y = wide[score]["shannon"].to_numpy(dtype=float)
            d = x - y
            a, b = summarize(x), summarize(y)
        s = summarize(d)
        if s.n >= 2 and s.std > 0:
            t = s.mean / (s.std / np.sqrt(s.n))
        else:
            t = float("nan") if s.n < 2 or s.mean == 0 else float(np.sign(s.mean)) * float("inf")
        finite = d[np.isfinite(d)]
        agree = float(np.mean(np.sign(finite) == np.sign(s.mean))) if finite.size and s.mean != 0 else float("nan")
        t_crit = float(student.ppf(1 - ALPHA, s.n - 1)) if s.n >= 2 else float("nan")
        out.append(
            {
                "score": score,
                "collision mean": a.mean,
                "collision std": a.std,
                "shannon mean": b.mean,
                "shannon std": b.std,
                "diff mean": s.mean,
                "diff std": s.std,
                "n": s.n,
                "t": t,
                "t_crit": t_crit,
                "sign_agreement": agree,
                "robust": bool(abs(t) >= t_crit and agree >= ROBUST_AGREEMENT),
            }
        )
    return pd.DataFrame(out)
