"""Loss-curve experiments (page 1) against the closed forms of docs/math.md §2."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ccel_core.experiments.curves import gradient_vs_certainty, loss_curves, simplex_grid, simplex_loss_grid


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
    # Cartesian coordinates: vertex e₁ at (0, 0), e₂ at (1, 0), e₃ at (½, √3/2)
    np.testing.assert_allclose(collision["x"], collision["s2"] + collision["s3"] / 2)


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
