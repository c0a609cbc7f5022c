"""Figures of the solver race, the noisy-label experiment and training runs.

The package, one figure family per module (every name importable from here): :mod:`.race` (the
y-step solver race), :mod:`.noisy` (the noisy-label experiment), :mod:`.curves` (training runs'
metric curves) and :mod:`.clusters` (one finished run: confusion table, examples, points);
:mod:`.columns` holds the column check they share.
"""

from __future__ import annotations

from .clusters import cluster_examples_figure, cluster_points_figure, confusion_figure
from .curves import run_curves_figure
from .noisy import corrupted_targets_figure, noisy_labels_figure
from .race import solver_race_figure

__all__ = [
    "solver_race_figure",
    "noisy_labels_figure",
    "corrupted_targets_figure",
    "run_curves_figure",
    "confusion_figure",
    "cluster_examples_figure",
    "cluster_points_figure",
]
