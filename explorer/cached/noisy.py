"""The noisy-label page's store: finished experiments by settings (computed with progress), and the
corrupted targets it draws."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Optional

import pandas as pd
import streamlit as st


@st.cache_resource(show_spinner=False)
def _noisy_results() -> OrderedDict:
    """Finished noisy-label experiments of this server process, by settings (newest last)."""
    return OrderedDict()


def noisy_results(settings: tuple) -> Optional[pd.DataFrame]:
    """The cached result of :func:`noisy_label_experiment` for ``settings``, or None."""
    found = _noisy_results().get(settings)
    return None if found is None else found.copy()


def noisy_label_experiment(
    data: str,
    model: str,
    noise: str,
    levels: tuple[float, ...],
    seeds: tuple[int, ...],
    epochs: int,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> pd.DataFrame:
    """:func:`ccel_core.experiments.noisy.noisy_label_experiment`, cached by its settings.

    Not ``st.cache_data``: the progress callback draws on the page, and a cached function must not.
    Runs torch on one thread (the library's :func:`single_threaded_torch`): these networks are tiny
    and extra threads only add contention on a shared CPU.
    """
    from ccel_core.experiments.noisy import noisy_label_experiment as run
    from ccel_core.experiments.trajectories import single_threaded_torch

    settings = (data, model, noise, tuple(levels), tuple(seeds), int(epochs))
    cached = noisy_results(settings)
    if cached is not None:
        return cached
    with single_threaded_torch():
        result = run(data, model, noise, levels, seeds, epochs, progress=progress)
    store = _noisy_results()
    store[settings] = result
    while len(store) > 32:
        store.popitem(last=False)
    return result.copy()


@st.cache_data(show_spinner=False, max_entries=64)
def corrupted_targets(data: str, noise: str, levels: tuple[float, ...], seed: int = 0) -> pd.DataFrame:
    """:func:`ccel_core.experiments.noisy.true_class_weights`, cached."""
    from ccel_core.experiments.noisy import true_class_weights

    return true_class_weights(data, noise, levels, seed=seed)
