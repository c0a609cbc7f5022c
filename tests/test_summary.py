"""One summary rule over seeds: mean ± sample std (ddof = 1), checked against the standard library."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ccel_core.summary import summarize, summarize_frame


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30))
def test_summarize_matches_statistics(values: list[float]) -> None:
    s = summarize(values)
    assert s.n == len(values)
    assert math.isclose(s.mean, statistics.fmean(values), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(s.std, statistics.stdev(values), rel_tol=1e-6, abs_tol=1e-6)


def test_missing_and_single_values() -> None:
    assert summarize([0.5, None, float("nan"), "x", 0.7]).n == 2
    one = summarize([0.8])
    assert one.n == 1 and math.isnan(one.std) and one.format() == "0.8000 (1 seed)"
    none = summarize([])
    assert none.n == 0 and none.format() == "—"
    assert summarize([0.5, 0.7]).format(2, scale=100) == "60.00 ± 14.14"


def test_summarize_frame_agrees_with_pandas_sample_std() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"loss": np.repeat(["a", "b"], 6), "level": np.tile([0.0, 0.5], 6), "acc": rng.random(12)})
    out = summarize_frame(df, ["loss", "level"], ["acc"])
    ref = df.groupby(["loss", "level"], sort=False)["acc"].agg(["mean", "std", "count"]).reset_index()
    np.testing.assert_allclose(out["acc mean"], ref["mean"])
    np.testing.assert_allclose(out["acc std"], ref["std"])  # pandas' default ddof is 1
    assert list(out["acc n"]) == list(ref["count"])


def test_a_mean_that_rounds_to_zero_has_no_sign():
    """MIADM's mean H(y) of 1e-17 below zero (rounding) read "-0.000" on the evolution page."""
    assert summarize([-1e-17, -3e-17]).format(3) == "0.000 ± 0.000"
    assert summarize([-0.0004]).format(3) == "0.000 (1 seed)"
    assert summarize([-0.0006, -0.0006]).format(3) == "-0.001 ± 0.000"  # a real negative keeps its sign
