"""Pseudo-label evolution experiments (explorer page 3).

* :func:`em_trajectory` — every iterate ``Y⁰ … Y^T`` of a y-step solver for fixed predictions σ,
  with the objective after each one. EM (paper section 4) minimizes eq. 11,
  ``L(Y) = mean_i H₂(y_i, σ_i) + λ KL(u‖ȳ)``, ``H₂(y, σ) = −ln σ·y``, and never increases it
  (Property 1); PGD (``Y ← Proj_Δ(Y − η N∇L)``) solves eq. 10 or eq. 11 (or MIADM's Shannon
  eq. 10) for comparison. Both solvers are memoryless, so one ``max_iter=1`` call per step
  started at the previous iterate reproduces the solver's own iterates exactly.
* :func:`toy_self_labeling` — self-labeled clustering of 2-D data (or scikit-learn digits shown
  on their PCA plane) by :class:`ccel_core.training.Trainer` (alternating y-steps and θ-steps),
  with per-epoch snapshots of the
  pseudo-labels y, the predictions σ, the decision regions over the plane and the cluster sizes.
  ``ce="collision"`` is ours (eq. 11 by the trainer's default y-step, the exact solver; network loss collision CE); ``ce="shannon"`` is
  MIADM-like (Shannon CE + λ KL(ȳ‖u), eq. 5, solved by PGD; network loss Shannon CE).
  The same ``seed`` gives both the same data and the same initial network.
* :func:`pca_plane` — the 2-D PCA projection (scikit-learn) used to put digits on the plane.

The package, one idea per module (every name importable from here): :mod:`.iterates` (solver
trajectories), :mod:`.snapshots` (the result types of a self-labeling run), :mod:`.toy` (running it)
and :mod:`.compare` (ours vs MIADM over seeds).
"""

from __future__ import annotations

from .compare import PAIRED as PAIRED
from .compare import (
    ROBUST_AGREEMENT,
    SCORES,
    compare_self_labeling,
    difference_summary,
    final_scores,
    mean_label_entropy,
    region_disagreement,
)
from .iterates import Trajectory, default_pgd_lr, em_trajectory
from .snapshots import SelfLabelingSnapshot, ToySelfLabelingResult
from .toy import class_counts, pca_plane, single_threaded_torch, toy_self_labeling

__all__ = [
    "Trajectory",
    "mean_label_entropy",
    "em_trajectory",
    "pca_plane",
    "SelfLabelingSnapshot",
    "ToySelfLabelingResult",
    "toy_self_labeling",
    "class_counts",
    "compare_self_labeling",
    "difference_summary",
    "final_scores",
    "region_disagreement",
    "ROBUST_AGREEMENT",
    "SCORES",
    "default_pgd_lr",
    "single_threaded_torch",
]
