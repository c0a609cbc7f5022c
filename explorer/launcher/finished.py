"""A finished run: its data (shared by the sessions), saved assignments and example images."""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np
import streamlit as st

from ccel_core.runs import Run, RunInfo, RunStore
from ccel_core.training import TrainConfig


@st.cache_resource(max_entries=4, show_spinner="Loading the run's data…")
def _run_data(config_text: str) -> Any:
    """The data set of a stored config (shared by the sessions; a few kept)."""
    from ccel_core.training.build import load_config_data

    return load_config_data(TrainConfig.from_dict(json.loads(config_text)))


def finished_run(store: RunStore, info: RunInfo) -> tuple[Any, np.ndarray, Optional[np.ndarray]]:
    """``(dataset, assignments, probs or None)`` of a finished run; ``FileNotFoundError`` without
    saved assignments, ``ValueError`` when its data cannot be loaded or does not match them."""
    run = Run(store, info.run_id)
    labels, probs = run.load_assignments()
    data = _run_data(json.dumps(run.config, sort_keys=True))
    if len(data) != len(labels):
        raise ValueError(f"run {info.run_id}: {len(labels)} saved assignments for the {len(data)} points of its data")
    return data, labels, probs


def example_images(data: Any) -> Optional[Any]:
    """The images of a data set for :func:`~ccel_core.plots.runs.cluster_examples_figure`
    (``(N, C, H, W)``; digits' 64 features as 8 × 8), or None for other features."""
    if data.kind == "images":
        return data.x
    if data.name == "digits" and tuple(data.x.shape[1:]) == (64,):
        return data.x.reshape(-1, 8, 8)
    return None
