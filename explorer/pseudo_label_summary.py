"""What the pseudo-label page says of its comparison over seeds — ours (collision CE) vs MIADM
(Shannon CE) at the page's settings: the table of each score's mean ± std and paired difference, and
the verdict in words with its numbers. Both read the output of
:func:`ccel_core.experiments.trajectories.difference_summary` on the scores in :data:`ROWS`; no
Streamlit here (the page draws them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ccel_core.experiments.trajectories import ROBUST_AGREEMENT, SCORES
from ccel_core.reproduce.stats import ALPHA
from ccel_core.summary import SeedSummary

# the significance rule of every verdict (the Reproduction page's): a paired t test, one-sided each way
RULE = f"a paired t test at α = {ALPHA:g} each way"

# the two methods compared (the page's titles; the summary's columns "<method> mean" / "<method> std")
METHODS = {
    "collision": "Ours — collision CE (eq. 11, exact y-step)",
    "shannon": "MIADM — Shannon CE (eq. 5, PGD y-step)",
}
ROWS = {  # the summary table: score → row name
    "acc": "ACC",
    "nmi": "NMI",
    "label_entropy": "pseudo-label entropy mean H(y_i)",
    "pred_entropy": "prediction entropy mean H(σ_i)",
    "smallest": "smallest cluster / N",
    "empty": "empty clusters",
    "region_disagreement": "decision regions differ (fraction of the plane)",
}


def fmt(s: SeedSummary, digits: int = 3) -> str:
    """``mean ± std`` of a summary over seeds."""
    return s.format(digits)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per score: ours, MIADM (mean ± std over seeds), their difference and the seeds agreeing
    on its sign (blank for the paired-only score, the decision regions' disagreement)."""
    rows = []
    for _, r in table.iterrows():
        n = int(r["n"])
        d = SeedSummary(r["diff mean"], r["diff std"], n)
        paired = r["score"] == "region_disagreement"
        agree = "" if paired or not np.isfinite(r["sign_agreement"]) else f"{round(r['sign_agreement'] * n)} / {n}"
        rows.append(
            {
                "": ROWS.get(r["score"], SCORES.get(r["score"], r["score"])),
                "ours": "" if paired else fmt(SeedSummary(r["collision mean"], r["collision std"], n)),
                "MIADM": "" if paired else fmt(SeedSummary(r["shannon mean"], r["shannon std"], n)),
                "ours − MIADM": fmt(d),
                "seeds agreeing": agree,
            }
        )
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame) -> str:
    """What the summary says, in words, with its numbers."""
    t = table.set_index("score")
    robust = [s for s in ("acc", "nmi") if t.loc[s, "robust"]]
    n = int(t.loc["acc", "n"])
    acc = SeedSummary(t.loc["acc", "diff mean"], t.loc["acc", "diff std"], n)
    agree = float(t.loc["acc", "sign_agreement"])  # NaN when no seed's ACC differs between the methods
    sign = (
        (f"same sign in {round(agree * n)} / {n} seeds" if np.isfinite(agree) else "equal on every seed") if n else ""
    )
    if robust:
        better = "higher" if t.loc[robust[0], "diff mean"] > 0 else "lower"
        names = " and ".join(s.upper() for s in robust)
        text = (
            f"**The methods differ here.** Over {n} seeds ours' {names} {'are' if len(robust) > 1 else 'is'} {better} "
            f"(ACC difference {fmt(acc)}, {sign}; beyond seed noise: {RULE} and ≥ "
            f"{ROBUST_AGREEMENT:.0%} of the seeds agreeing). "
        )
    else:
        text = (
            f"**No robust difference in ACC / NMI at these settings** (ACC difference {fmt(acc)} over {n} seeds, "
            f"{sign}; robust would need {RULE}, |t| ≥ {t.loc['acc', 't_crit']:.2f}, and ≥ "
            f"{ROBUST_AGREEMENT:.0%} of the seeds agreeing). "
        )
    h_ours, h_miadm = t.loc["label_entropy", "collision mean"], t.loc["label_entropy", "shannon mean"]
    if max(h_ours, h_miadm) < 0.05:
        text += (
            f"Both y-steps return near one-hot labels (mean H(y) {h_ours:.3f} vs {h_miadm:.3f} nats), and for one-hot "
            "labels collision CE *is* Shannon CE, H₂(e_c, σ) = H(e_c, σ) = −ln σ_c (docs/math.md §2.3 (b)): the "
            "network steps coincide, so the methods can only differ through a few soft labels. "
            "The preset (K = 5 clusters on C = 3 blobs, λ = 3) is a setting where they do differ."
        )
    elif h_ours > h_miadm:
        small = {ce: t.loc["smallest", f"{ce} mean"] for ce in METHODS}
        empty = {ce: t.loc["empty", f"{ce} mean"] for ce in METHODS}
        text += (
            "Why: when the fairness term asks for clusters the data does not support (e.g. K > C), ours' y-step "
            f"answers with soft labels (mean H(y) {h_ours:.2f} nats) and collision CE trains σ towards each label's "
            "most likely cluster instead of copying its uncertainty (docs/math.md §2.3), so surplus clusters can "
            f"shrink or empty; MIADM's Shannon y-step is linear in y, its labels are near one-hot ({h_miadm:.2f} nats) "
            "and its network is trained to fill every cluster. Smallest cluster: ours "
            f"{small['collision']:.3f} N vs MIADM {small['shannon']:.3f} N; empty clusters {empty['collision']:.1f} vs "
            f"{empty['shannon']:.1f} on average."
        )
    return text
