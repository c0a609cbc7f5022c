"""Figures of the pseudo-label page: labels on the simplex, decision regions, cluster sizes, losses.

The package, one idea per module (every name importable from here): :mod:`.ternary` (labels on the
simplex), :mod:`.regions` (decision regions over a plane), :mod:`.histories` (cluster sizes and
losses on one axis), :mod:`.panels` (one panel per method, :func:`mark_step`); :mod:`.frames` (the
animation) and :mod:`.legend` (cluster colours, :data:`COMPACT_LEGEND`) are what they share.
"""

from __future__ import annotations

from .histories import cluster_sizes_figure, loss_history_figure
from .legend import COMPACT_LEGEND
from .panels import cluster_sizes_panels, mark_step, method_panels
from .regions import decision_regions_figure
from .ternary import ternary_labels_figure

__all__ = [
    "ternary_labels_figure",
    "decision_regions_figure",
    "cluster_sizes_figure",
    "loss_history_figure",
    "cluster_sizes_panels",
    "method_panels",
    "mark_step",
    "COMPACT_LEGEND",
]
