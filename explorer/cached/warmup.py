"""The warm-up of a fresh server: the default views of the slower pages computed ahead of time."""

from __future__ import annotations

from explorer.cached.curves import precompute_loss_curve_views
from explorer.cached.figures import PL_METHOD_NAMES, epoch_figures, epoch_history
from explorer.cached.pseudo_labels import (
    PL_SEEDS,
    PSEUDO_LABEL_DEFAULTS,
    pseudo_label_args,
    seed_comparison,
    toy_self_labeling,
)
from explorer.cached.races import RACE_DEFAULTS, of_races, race_default_keys, run_race


def precompute_default_views() -> None:
    """Fill the caches behind the default view of the pages whose results or figures take time (loss
    curves, pseudo-labels, solver race; the quickest first), so their first visit on a fresh server
    only draws. Meant for a background thread."""
    precompute_loss_curve_views()
    args = pseudo_label_args(**PSEUDO_LABEL_DEFAULTS)
    last = int(PSEUDO_LABEL_DEFAULTS["epochs"])  # the page shows the last epoch by default
    for ce in PL_METHOD_NAMES:
        toy_self_labeling(args, ce)
        epoch_figures(args, ce, last)
    epoch_history(args, last)
    seed_comparison(args, PL_SEEDS)
    for key in race_default_keys():
        run_race(key)
    from explorer import race_view

    r = RACE_DEFAULTS
    of_races(race_view.sweep, tuple(race_default_keys()[: len(r["ks"])]), tuple(r["ks"]))
