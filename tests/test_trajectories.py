"""Pseudo-label evolution experiments (page 3): solver trajectories and toy self-labeling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ccel_core.experiments.trajectories import em_trajectory, pca_plane, toy_self_labeling
from ccel_core.solvers import em, eq11_loss, pgd


def _probs(n: int = 120, k: int = 3, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.exp(scale * rng.normal(size=(n, k)))
    return s / s.sum(1, keepdims=True)


def test_em_trajectory_monotone_and_equal_to_the_solver():
    sig = _probs()
    traj = em_trajectory(sig, 100.0, n_iter=12)
    iterates, history = traj  # a NamedTuple unpacks
    assert len(iterates) == len(history) == 13
    np.testing.assert_allclose(iterates[0], sig)
    for y in iterates:
        assert y.shape == sig.shape and y.min() > 0
        np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-12)
    assert np.all(np.diff(history) <= 1e-12), "EM must never increase eq. 11 (Property 1)"
    assert history[-1] < history[0]
    # memoryless solver: stepping one iteration at a time reproduces a single run
    ref = em(sig, 100.0, max_iter=12, tol=0.0)
    np.testing.assert_allclose(iterates[-1], ref.labels, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(history, ref.history, rtol=1e-12)
    np.testing.assert_allclose(history[5], eq11_loss(sig, iterates[5], 100.0, np.full(3, 1 / 3)), rtol=1e-12)


def test_pgd_trajectory_and_torch_input():
    sig = _probs(seed=1)
    traj = em_trajectory(torch.from_numpy(sig), 100.0, n_iter=8, solver="pgd", objective="eq10", ce="shannon")
    ref = pgd(sig, 100.0, objective="eq10", ce="shannon", lr=1 / 300, max_iter=8, tol=0.0)
    assert isinstance(traj.iterates[-1], np.ndarray)
    np.testing.assert_allclose(traj.iterates[-1], ref.labels, atol=1e-12)
    np.testing.assert_allclose(traj.history, ref.history, rtol=1e-12)
    assert np.all(np.diff(traj.history) <= 1e-12)


def test_em_trajectory_validates():
    sig = _probs(n=10)
    with pytest.raises(ValueError, match="solver"):
        em_trajectory(sig, solver="newton")
    with pytest.raises(ValueError, match="eq. 11"):
        em_trajectory(sig, solver="em", ce="shannon")
    assert len(em_trajectory(sig, n_iter=0).iterates) == 1


def test_pca_plane_matches_sklearn_convention():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)) * np.array([5.0, 2.0, 0.5, 0.1, 0.1])
    coords, pca = pca_plane(x)
    assert coords.shape == (200, 2)
    np.testing.assert_allclose(coords.mean(0), 0.0, atol=1e-10)
    assert coords[:, 0].var() > coords[:, 1].var()
    np.testing.assert_allclose(pca.transform(x), coords)


@pytest.fixture(scope="module")
def blob_runs():
    kw = dict(k=3, epochs=12, seed=0, noise=0.5, grid_resolution=20)
    return toy_self_labeling("blobs", ce="collision", **kw), toy_self_labeling("blobs", ce="shannon", **kw)


def test_toy_self_labeling_separates_blobs(blob_runs):
    for res in blob_runs:
        last = res.snapshots[-1]
        assert last.acc > 0.9, res.config["method"]
        assert len(res.snapshots) == 13
        assert [s.epoch for s in res.snapshots] == list(range(13))
        n = len(res.points)
        assert res.points.shape == (n, 2) and res.y_true.shape == (n,)
        assert last.labels.shape == last.probs.shape == (n, 3)
        np.testing.assert_allclose(last.labels.sum(1), 1.0, atol=1e-6)
        assert last.grid_probs.shape == (20, 20, 3)
        assert last.sizes.sum() == n
        np.testing.assert_allclose(last.label_mass.sum(), n, rtol=1e-6)
        assert np.isfinite(last.loss) and np.isfinite(last.objective)
        assert np.isnan(res.snapshots[0].loss)


def test_same_seed_gives_both_methods_the_same_start(blob_runs):
    ours, shannon = blob_runs
    np.testing.assert_array_equal(ours.points, shannon.points)
    np.testing.assert_allclose(ours.snapshots[0].probs, shannon.snapshots[0].probs)
    assert ours.config["method_key"] == "ccel" and shannon.config["method_key"] == "miadm"
    assert not np.allclose(ours.snapshots[-1].probs, shannon.snapshots[-1].probs)


def test_result_frames(blob_runs):
    ours, _ = blob_runs
    hist = ours.history_frame()
    assert list(hist.columns) == ["epoch", "loss", "objective", "acc", "nmi", "method"]
    assert len(hist) == 13 and hist["acc"].iloc[-1] == ours.snapshots[-1].acc
    sizes = ours.sizes_frame()
    assert list(sizes.columns) == ["epoch", "cluster", "size", "label_mass", "method"]
    assert len(sizes) == 13 * 3
    assert (sizes.groupby("epoch")["size"].sum() == len(ours.points)).all()


def test_digits_on_the_pca_plane():
    res = toy_self_labeling("digits", k=10, epochs=2, n_samples=200, grid_resolution=12)
    assert res.config["plane"] == "pca"
    assert res.points.shape == (200, 2)
    assert res.snapshots[-1].grid_probs.shape == (12, 12, 10)
    np.testing.assert_allclose(res.snapshots[-1].grid_probs.sum(-1), 1.0, atol=1e-5)
    assert 0.0 <= res.snapshots[-1].acc <= 1.0


def test_toy_self_labeling_restores_torch_threads():
    before = torch.get_num_threads()
    toy_self_labeling("blobs", epochs=1, n_samples=30, grid_resolution=5)
    assert torch.get_num_threads() == before


def test_toy_self_labeling_validates():
    with pytest.raises(ValueError, match="ce"):
        toy_self_labeling("blobs", ce="kl")
