"""plotly figure builders shared by the explorer app and the notebooks.

Each builder takes an experiment's result (a DataFrame or arrays, see
:mod:`ccel_core.experiments`) and returns a :class:`plotly.graph_objects.Figure` with
``template="plotly_white"``; show it with ``st.plotly_chart(fig)`` or ``fig.show()``. Styles are
shared (:mod:`ccel_core.plots._style`): collision CE vermillion and solid, Shannon CE blue and
dashed, one palette for cluster ids. No streamlit here.
"""

from ._style import (
    CLUSTER_PALETTE,
    COLLISION_COLOR,
    KIND_COLORS,
    KIND_DASH,
    RENYI_COLOR,
    SHANNON_COLOR,
    TEMPLATE,
    cluster_color,
    method_styles,
)
from .curves import gradient_figure, loss_curves_figure, simplex_heatmap_figure
from .runs import (
    cluster_examples_figure,
    cluster_points_figure,
    confusion_figure,
    noisy_labels_figure,
    run_curves_figure,
    solver_race_figure,
)
from .trajectories import cluster_sizes_figure, decision_regions_figure, loss_history_figure, ternary_labels_figure

__all__ = [
    "loss_curves_figure",
    "simplex_heatmap_figure",
    "gradient_figure",
    "ternary_labels_figure",
    "decision_regions_figure",
    "cluster_sizes_figure",
    "loss_history_figure",
    "solver_race_figure",
    "noisy_labels_figure",
    "run_curves_figure",
    "confusion_figure",
    "cluster_examples_figure",
    "cluster_points_figure",
    "method_styles",
    "cluster_color",
    "TEMPLATE",
    "COLLISION_COLOR",
    "SHANNON_COLOR",
    "RENYI_COLOR",
    "KIND_COLORS",
    "KIND_DASH",
    "CLUSTER_PALETTE",
]
