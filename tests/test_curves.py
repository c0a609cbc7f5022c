"""Loss-curve experiments (page 1) against the closed forms of docs/math.md §2."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ccel_core.experiments.curves import (
    binary_loss,
    curve_minimizers,
    exact_minimizers,
    gradient_vs_certainty,
    loss_and_gradients,
    loss_curves,
    near_minimum,
    simplex_gradient_field,
    simplex_grid,
    simplex_loss_grid,
)
from ccel_core.plots import simplex_heatmap_figure


def _curve(df: pd.DataFrame, y: str, kind: str) -> pd.DataFrame:
    part = df[(df["y"] == y) & (df["kind"] == kind)]
    assert len(part), (y, kind)
    return part


def test_loss_curves_layout():
    df = loss_curves(n_points=51)
    assert list(df.columns) == ["p", "y", "y1", "alpha", "kind", "name", "loss"]
    assert len(df) == 4 * 2 * 51
    assert set(df["y"]) == {"(1, 0)", "(0.9, 0.1)", "(0.7, 0.3)", "(0.5, 0.5)"}
    assert set(df["kind"]) == {"shannon", "collision"}
    assert df["p"].between(0, 1, inclusive="neither").all()
    assert np.isfinite(df["loss"]).all()


def test_fig1_values_match_formulas():
    df = loss_curves(alphas=(1.0, 2.0, 1.5), n_points=101)
    # Uniform target: collision CE is ln 2 for every p; Shannon CE is −½ ln(p(1−p)) ≥ ln 2.
    half = _curve(df, "(0.5, 0.5)", "collision")
    np.testing.assert_allclose(half["loss"], math.log(2), atol=1e-12)
    sh = _curve(df, "(0.5, 0.5)", "shannon")
    np.testing.assert_allclose(sh["loss"], -0.5 * np.log(sh["p"] * (1 - sh["p"])), rtol=1e-10)
    # One-hot target: every order is −ln p.
    for kind in ("shannon", "collision", "renyi"):
        part = _curve(df, "(1, 0)", kind)
        np.testing.assert_allclose(part["loss"], -np.log(part["p"]), rtol=1e-9)
    # (0.9, 0.1) against the closed forms at every p.
    p = _curve(df, "(0.9, 0.1)", "shannon")["p"].to_numpy()
    np.testing.assert_allclose(
        _curve(df, "(0.9, 0.1)", "shannon")["loss"], -(0.9 * np.log(p) + 0.1 * np.log(1 - p)), rtol=1e-10
    )
    np.testing.assert_allclose(
        _curve(df, "(0.9, 0.1)", "collision")["loss"], -np.log(0.9 * p + 0.1 * (1 - p)), rtol=1e-10
    )
    renyi = np.log(0.9 * p**0.5 + 0.1 * (1 - p) ** 0.5) / (1 - 1.5)
    np.testing.assert_allclose(_curve(df, "(0.9, 0.1)", "renyi")["loss"], renyi, rtol=1e-9)


def test_collision_never_exceeds_shannon():
    df = loss_curves(y_values=((0.8, 0.2), (0.6, 0.4), (0.3, 0.7)), n_points=64)
    sh = df[df["kind"] == "shannon"]["loss"].to_numpy()
    co = df[df["kind"] == "collision"]["loss"].to_numpy()
    assert np.all(co <= sh + 1e-12)


def test_loss_curves_rejects_bad_targets():
    with pytest.raises(ValueError, match="probability"):
        loss_curves(y_values=((0.6, 0.6),))
    with pytest.raises(ValueError, match="shape"):
        loss_curves(y_values=((0.2, 0.3, 0.5),))
    with pytest.raises(ValueError, match="alpha"):
        loss_curves(alphas=(0.0,))


def test_simplex_grid_is_interior_and_symmetric():
    g = simplex_grid(9)
    assert g.shape == (10 * 11 // 2, 3)
    np.testing.assert_allclose(g.sum(1), 1.0)
    assert g.min() > 0
    assert np.isclose(g, 1 / 3).all(1).any()  # centre present for R ≡ 0 mod 3
    # permutation symmetric
    key = {tuple(np.round(r, 12)) for r in g}
    assert key == {tuple(np.round(r[[2, 0, 1]], 12)) for r in g}


def test_simplex_minimum_locations():
    y = (0.6, 0.3, 0.1)
    res = 30
    shannon = simplex_loss_grid(y, alpha=1.0, resolution=res)
    assert len(shannon) == (res + 1) * (res + 2) // 2
    assert {"s1", "s2", "s3", "x", "y_cart", "loss", "alpha", "kind"} <= set(shannon.columns)
    best = shannon.loc[shannon["loss"].idxmin(), ["s1", "s2", "s3"]].to_numpy(float)
    # Gibbs: Shannon CE is minimized at σ = y (up to the grid spacing)
    assert np.abs(best - np.array(y)).max() <= 1.0 / (res + 1) + 1e-12
    collision = simplex_loss_grid(y, alpha=2.0, resolution=res)
    best = collision.loc[collision["loss"].idxmin(), ["s1", "s2", "s3"]].to_numpy(float)
    # −ln(y·σ) is minimized where y·σ is largest: the vertex of the largest y_k
    assert best.argmax() == 0 and best[0] == collision["s1"].max()
    np.testing.assert_allclose(
        collision["loss"], -np.log(collision[["s1", "s2", "s3"]].to_numpy() @ np.array(y)), rtol=1e-10
    )
    assert collision.attrs["target"] == pytest.approx(list(y))
    # positions in the drawn triangle: e₁ at the top (½, √3/2), e₂ at (0, 0), e₃ at (1, 0)
    np.testing.assert_allclose(collision["x"], collision["s3"] + collision["s1"] / 2)
    np.testing.assert_allclose(collision["y_cart"], np.sqrt(3) / 2 * collision["s1"])


def test_gradient_vanishes_for_uniform_targets_only_with_collision():
    logits = (1.0, 0.0, -1.0)
    df = gradient_vs_certainty(logits, n_points=11)
    assert {"eps", "certainty", "target_entropy", "alpha", "kind", "loss", "grad_norm"} <= set(df.columns)
    sigma = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0).numpy()
    col = df[df["kind"] == "collision"].set_index("eps")
    sha = df[df["kind"] == "shannon"].set_index("eps")
    assert col.loc[1.0, "grad_norm"] < 1e-12
    np.testing.assert_allclose(col.loc[1.0, "loss"], math.log(3), rtol=1e-12)
    np.testing.assert_allclose(sha.loc[1.0, "grad_norm"], np.linalg.norm(sigma - 1 / 3), rtol=1e-10)
    assert sha.loc[1.0, "grad_norm"] > 0.1
    # one-hot: both are σ − e_c
    e0 = np.array([1.0, 0, 0])
    np.testing.assert_allclose(col.loc[0.0, "grad_norm"], np.linalg.norm(sigma - e0), rtol=1e-10)
    np.testing.assert_allclose(sha.loc[0.0, "grad_norm"], col.loc[0.0, "grad_norm"], rtol=1e-12)
    # in between: collision's gradient is σ − (y ⊙ σ)/(y·σ)
    eps = 0.4
    y = (1 - eps) * e0 + eps / 3
    expected = sigma - y * sigma / (y @ sigma)
    np.testing.assert_allclose(col.loc[eps, "grad_norm"], np.linalg.norm(expected), rtol=1e-9)
    np.testing.assert_allclose(col["target_entropy"].iloc[-1], math.log(3), rtol=1e-12)


def test_gradient_vs_certainty_validates():
    with pytest.raises(ValueError, match="label"):
        gradient_vs_certainty((0.0, 1.0), label=2)
    with pytest.raises(ValueError, match="logits"):
        gradient_vs_certainty((1.0,))


# --- minimizers as a set: flat curves and ties (the page's argmin readout) -------------------------


def _minimizers(y: tuple[float, float], alpha: float):
    df = loss_curves((y,), (alpha,))
    return curve_minimizers(df["p"], df["loss"])


def test_flat_collision_curve_has_no_argmin():
    flat = _minimizers((0.5, 0.5), 2.0)  # H₂ = −ln(½p + ½(1 − p)) = ln 2 for every p
    assert flat.flat and not flat.unique
    assert flat.value == pytest.approx(math.log(2), rel=1e-12) and flat.spread < 1e-12
    assert flat.describe("p") == "flat: every p"
    # a hair away from (½, ½) the curve is no longer flat: the minimizer is the end p → 1
    tilted = _minimizers((0.51, 0.49), 2.0)
    assert not tilted.flat and tilted.unique and tilted.describe() == "p = 0.995"


def test_unique_and_tied_minimizers():
    assert _minimizers((0.9, 0.1), 1.0).describe() == "p = 0.900"  # Shannon: σ = y
    assert _minimizers((0.5, 0.5), 1.0).describe() == "p = 0.500"
    # Rényi α = 3 at y = (½, ½): ln(½p² + ½(1 − p)²)/(−2) is smallest at both ends, equally
    tied = _minimizers((0.5, 0.5), 3.0)
    assert not tied.flat and not tied.unique
    assert tied.describe() == "p = 0.005 or 0.995"
    # a plateau in the middle is one interval
    x = np.linspace(0, 1, 11)
    plateau = curve_minimizers(x, np.maximum(np.abs(x - 0.5), 0.2))
    assert plateau.intervals == ((pytest.approx(0.3), pytest.approx(0.7)),)
    assert plateau.describe() == "p ∈ [0.300, 0.700]"


@settings(max_examples=60, deadline=None)
@given(y1=st.floats(0.0, 1.0), alpha=st.sampled_from([1.0, 1.3, 1.5, 1.8, 2.0, 2.2, 2.5, 3.0]))
def test_exact_minimizers_agree_with_scipy(y1, alpha):
    """The closed-form argmin over p ∈ [0, 1] against scipy's bounded scalar minimizer (xatol 1e-10),
    judged by the loss: no point of [0, 1] scipy finds is lower than ours, and ours is no worse."""
    from scipy.optimize import minimize_scalar

    exact = exact_minimizers((y1, 1.0 - y1), alpha)

    def f(p):
        return float(binary_loss(y1, alpha, p))

    ref = minimize_scalar(f, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    candidates = [ref.fun, f(0.0), f(1.0)]  # bounded Brent never evaluates the ends themselves
    best = min(c for c in candidates if np.isfinite(c))
    assert exact.value <= best + 1e-9 * max(1.0, abs(best))
    for lo, hi in exact.intervals:
        assert lo == hi or exact.flat
        assert f(lo) == pytest.approx(exact.value, abs=1e-12)
    assert np.isfinite(exact.value) and exact.value >= 0 and not np.signbit(exact.value)


def test_exact_minimizers_closed_forms():
    assert exact_minimizers((0.9, 0.1), 1.0).describe() == "p = 0.900"  # Shannon: σ = y
    assert exact_minimizers((0.7, 0.3), 1.0).intervals == ((0.7, 0.7),)
    assert exact_minimizers((0.9, 0.1), 2.0).describe() == "p = 1.000"  # collision: the likelier class's end
    assert exact_minimizers((0.3, 0.7), 2.0).intervals == ((0.0, 0.0),)
    flat = exact_minimizers((0.5, 0.5), 2.0)
    assert flat.flat and flat.describe() == "flat: every p" and flat.value == pytest.approx(math.log(2))
    assert exact_minimizers((0.5, 0.5), 3.0).describe() == "p = 0.000 or 1.000"
    # Rényi α = 1.5: p* = y₁² / (y₁² + y₂²)
    assert exact_minimizers((0.7, 0.3), 1.5).intervals[0][0] == pytest.approx(0.49 / 0.58, rel=1e-12)
    # a one-hot target costs nothing at its vertex (0 · ln 0 = 0), never −0.0
    one_hot = exact_minimizers((1.0, 0.0), 2.0)
    assert one_hot.value == 0.0 and not np.signbit(one_hot.value)
    assert exact_minimizers((0.7, 0.3), 1.0).spread == math.inf  # Shannon is unbounded at the ends


def test_near_minimum_ignores_rounding_and_infinities():
    v = np.array([np.inf, 1.0 + 1e-13, 1.0, 1.5, np.nan])
    assert near_minimum(v).tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="no finite value"):
        near_minimum([np.inf, np.nan])
    with pytest.raises(ValueError, match="same length"):
        curve_minimizers([0.0, 1.0], [1.0])


# --- gradients at one point and over the simplex ---------------------------------------------------


def test_loss_and_gradients_match_the_closed_forms():
    y, logits = np.array([0.5, 0.3, 0.2]), (2.0, 0.5, -1.0)
    df = loss_and_gradients(tuple(y), logits, (1.0, 2.0))
    sigma = np.exp(logits) / np.exp(logits).sum()
    assert df.attrs["sigma"] == pytest.approx(sigma.tolist())
    grads = {r["kind"]: np.array([r["grad_1"], r["grad_2"], r["grad_3"]]) for _, r in df.iterrows()}
    losses = dict(zip(df["kind"], df["loss"]))
    np.testing.assert_allclose(grads["shannon"], sigma - y, atol=1e-12)
    np.testing.assert_allclose(grads["collision"], sigma - y * sigma / (y @ sigma), atol=1e-12)
    assert losses["shannon"] == pytest.approx(-(y * np.log(sigma)).sum(), rel=1e-12)
    assert losses["collision"] == pytest.approx(-np.log(y @ sigma), rel=1e-12)
    np.testing.assert_allclose(df["grad_norm"], [np.linalg.norm(grads["shannon"]), np.linalg.norm(grads["collision"])])


def test_gradient_field_flows_to_y_for_shannon_and_stops_for_uniform_collision():
    y = np.array([0.6, 0.3, 0.1])
    field = simplex_gradient_field(tuple(y), 1.0, resolution=6)
    sig = field[["s1", "s2", "s3"]].to_numpy()
    d = field[["d1", "d2", "d3"]].to_numpy()
    np.testing.assert_allclose(d.sum(1), 0.0, atol=1e-12)  # σ stays on the simplex
    # Shannon: dσ = −J(σ)(σ − y), J = diag σ − σσᵀ
    jac = sig[:, :, None] * np.eye(3) - sig[:, :, None] * sig[:, None, :]
    np.testing.assert_allclose(d, -np.einsum("nij,nj->ni", jac, sig - y), atol=1e-12)
    assert (np.einsum("ni,ni->n", d, y - sig) >= -1e-12).all()  # a descent step never moves away from y
    uniform = simplex_gradient_field((1 / 3, 1 / 3, 1 / 3), 2.0, resolution=6)
    assert uniform["speed"].max() < 1e-12 and uniform["grad_norm"].max() < 1e-12
    assert simplex_gradient_field((1 / 3, 1 / 3, 1 / 3), 1.0, resolution=6)["speed"].max() > 0.05


# --- the simplex figure: colour range, flat losses, ties, markers not clipped -----------------------


def test_simplex_figure_colour_scale_has_a_minimum_range_and_shows_the_range():
    grid = simplex_loss_grid((0.34, 0.33, 0.33), 2.0, resolution=15)
    lo, hi = grid["loss"].min(), grid["loss"].max()
    assert hi - lo < 0.1  # nearly flat
    fig = simplex_heatmap_figure(grid)
    heat = fig.data[0]
    assert heat.zmin == pytest.approx(lo) and heat.zmax - heat.zmin == pytest.approx(0.5)
    assert f"{lo:.3g} to {hi:.3g} nats" in fig.layout.title.text
    steep = simplex_loss_grid((0.7, 0.2, 0.1), 2.0, resolution=15)
    top = simplex_heatmap_figure(steep).data[0]
    assert top.zmax == pytest.approx(np.percentile(steep["loss"], 95))  # a wide range is left alone
    # the colours saturate below the loss's maximum there: the subtitle says where, not only the range
    assert f"colours stop at {top.zmax:.3g} (95th percentile)" in simplex_heatmap_figure(steep).layout.title.text
    assert "colours stop" not in fig.layout.title.text  # the nearly flat one spans its whole range


def test_simplex_figure_flat_loss_has_no_minimum_marker_and_ties_are_all_marked():
    flat = simplex_loss_grid((1 / 3, 1 / 3, 1 / 3), 2.0, resolution=12)  # ln 3 everywhere
    fig = simplex_heatmap_figure(flat)
    assert len(fig.data[-1].x) == 0
    assert "flat" in fig.layout.title.text and f"{math.log(3):.4f}" in fig.layout.title.text
    # y on the edge between e₁ and e₂: every σ with the smallest σ₃ minimizes −ln(½(σ₁ + σ₂))
    edge = simplex_loss_grid((0.5, 0.5, 0.0), 2.0, resolution=12)
    crosses = simplex_heatmap_figure(edge).data[-1]
    assert len(crosses.x) == 13 and np.allclose(np.asarray(crosses.customdata)[:, 2], edge["s3"].min())
    assert crosses.name == "grid minima (tied, 13)"


def test_simplex_figure_markers_are_not_clipped_and_arrows_follow_the_field():
    y = (1.0, 0.0, 0.0)  # minimum and star in the corner e₁
    grid = simplex_loss_grid(y, 2.0, resolution=12)
    field = simplex_gradient_field(y, 2.0, resolution=4)
    fig = simplex_heatmap_figure(grid, field=field)
    heat, arrows, picks, star, best = fig.data
    assert star.cliponaxis is False and best.cliponaxis is False and arrows.cliponaxis is False
    assert best.customdata[0][0] == pytest.approx(grid["s1"].max())
    tips = np.asarray(arrows.customdata)[1::3]
    starts = field[["s1", "s2", "s3"]].to_numpy()
    assert (tips.min(1) > 0).all()  # arrows stay inside the triangle
    moved = tips - starts
    assert (moved[:, 0] > 0).all()  # collision CE of y = e₁ pushes every σ towards e₁
