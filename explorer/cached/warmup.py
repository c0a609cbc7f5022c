"""The warm-up of a fresh server: the default views of the slower pages computed ahead of time."""

from __future__ import annotations

from explorer.cached.figures import epoch_figures
from explorer.cached.pseudo_labels import (
    PL_SEEDS,
    PSEUDO_LABEL_DEFAULTS,
    pseudo_label_args,
    seed_comparison,
    toy_self_labeling,
)
from explorer.cached.races import RACE_DEFAULTS, of_races, race_default_keys, run_race


def precompute_default_views() -> None:
    """Fill the caches behind the default view of the slower pages (pseudo-labels, solver race), so
    their first visit on a fresh server draws at once. Meant for a background thread."""
    args = pseudo_label_args(**PSEUDO_LABEL_DEFAULTS)
    seed_comparison(args, PL_SEEDS)
    for ce in ("collision", "shannon"):
        toy_self_labeling(args, ce)
        epoch_figures(args, ce, int(PSEUDO_LABEL_DEFAULTS["epochs"]))
    for key in race_default_keys():
        run_race(key)
    from explorer import race_view

    r = RACE_DEFAULTS
    of_races(race_view.sweep, tuple(race_default_keys()[: len(r["ks"])]), tuple(r["ks"]))
