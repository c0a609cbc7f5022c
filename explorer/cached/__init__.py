"""Cached wrappers around the experiments of ``ccel_core.experiments`` and the pages' slow figures:
the stores shared by every session of a server, one module each, all importable from here.

``st.cache_data`` for results (keyed by their hashable arguments, copied on a hit),
``st.cache_resource`` for the animated plotly figures (validating every point of every frame is the
slow part of building them; they are not copied, so callers only set their height). Also the long
tables behind the animated charts (their CSV downloads) and :func:`precompute_default_views`, which
the app runs in a background thread on a fresh server.

- :mod:`~explorer.cached.reports`: reproduction reports, checked once per file version
- :mod:`~explorer.cached.curves`: the loss-curve page's results, defaults and views
- :mod:`~explorer.cached.races`: the solver race's finished races and the views derived from them
- :mod:`~explorer.cached.noisy`: the noisy-label page's finished experiments
- :mod:`~explorer.cached.pseudo_labels`: the pseudo-label page's runs, summaries over seeds, y-steps
- :mod:`~explorer.cached.figures`: figures built once per server, shared read only
- :mod:`~explorer.cached.tables`: the long tables behind the animated charts
- :mod:`~explorer.cached.warmup`: the default views computed ahead of time
- :mod:`~explorer.cached.shared`: what the caches have in common (hashing builders, frozen figures)
- :mod:`~explorer.cached.disk`: finished races, trainings and summaries kept on disk across restarts
"""

from __future__ import annotations

from explorer.cached.curves import (
    LOSS_CURVE_DEFAULTS,
    LOSS_CURVE_TABS,
    binary_target,
    fig1_view,
    gradient_view,
    gradient_vs_certainty,
    loss_curve_orders,
    loss_curves,
    precompute_loss_curve_views,
    simplex_gradient_field,
    simplex_loss_grid,
    simplex_target,
    simplex_view,
)
from explorer.cached.figures import PL_METHOD_NAMES, epoch_figures, epoch_history, figure, ystep_figure
from explorer.cached.noisy import corrupted_targets, noisy_label_experiment, noisy_results
from explorer.cached.pseudo_labels import (
    PL_FIELDS,
    PL_SEEDS,
    PL_Y_ITER,
    PSEUDO_LABEL_DEFAULTS,
    PSEUDO_LABEL_K3,
    cluster_names,
    em_trajectory,
    pseudo_label_args,
    seed_comparison,
    seed_summary,
    toy_run,
    toy_self_labeling,
)
from explorer.cached.races import (
    RACE_DEFAULTS,
    finished_race,
    of_races,
    race_default_keys,
    race_key,
    run_race,
    solver_race,
)
from explorer.cached.reports import report
from explorer.cached.shared import frozen, function_key
from explorer.cached.tables import labels_frame, regions_frame
from explorer.cached.warmup import precompute_default_views

__all__ = [
    "LOSS_CURVE_DEFAULTS",
    "LOSS_CURVE_TABS",
    "PL_FIELDS",
    "PL_METHOD_NAMES",
    "PL_SEEDS",
    "PL_Y_ITER",
    "PSEUDO_LABEL_DEFAULTS",
    "PSEUDO_LABEL_K3",
    "RACE_DEFAULTS",
    "binary_target",
    "cluster_names",
    "corrupted_targets",
    "em_trajectory",
    "epoch_figures",
    "epoch_history",
    "fig1_view",
    "figure",
    "finished_race",
    "frozen",
    "function_key",
    "gradient_view",
    "gradient_vs_certainty",
    "labels_frame",
    "loss_curve_orders",
    "loss_curves",
    "noisy_label_experiment",
    "noisy_results",
    "of_races",
    "precompute_default_views",
    "precompute_loss_curve_views",
    "pseudo_label_args",
    "race_default_keys",
    "race_key",
    "regions_frame",
    "report",
    "run_race",
    "seed_comparison",
    "seed_summary",
    "simplex_gradient_field",
    "simplex_loss_grid",
    "simplex_target",
    "simplex_view",
    "solver_race",
    "toy_run",
    "toy_self_labeling",
    "ystep_figure",
]
