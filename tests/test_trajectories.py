"""Pseudo-label evolution experiments (page 3): solver trajectories and toy self-labeling."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


# --------------------------------------------------------------------------------------------------
# data shape (classes vs K, imbalance), renumbered clusters, progress and the comparison over seeds
# --------------------------------------------------------------------------------------------------


def test_class_counts_and_unbalanced_data():
    from ccel_core.experiments.trajectories import class_counts

    counts = class_counts(300, 3, 4.0)
    assert counts.sum() == 300 and counts[0] / counts[-1] == pytest.approx(4.0, rel=0.05)
    assert np.all(np.diff(counts) < 0)
    np.testing.assert_array_equal(class_counts(9, 3), [3, 3, 3])
    with pytest.raises(ValueError, match="imbalance"):
        class_counts(10, 2, 0.5)
    res = toy_self_labeling("blobs", k=4, epochs=1, n_classes=3, imbalance=4.0, grid_resolution=5)
    np.testing.assert_array_equal(np.bincount(res.y_true), class_counts(300, 3, 4.0))
    assert res.n_clusters == 4 and res.snapshots[-1].probs.shape == (300, 4)
    assert res.config["n_classes"] == 3
    moons = toy_self_labeling("moons", k=3, epochs=1, n_classes=2, n_samples=60, grid_resolution=5)
    assert moons.n_clusters == 3 and set(np.unique(moons.y_true)) == {0, 1}
    with pytest.raises(ValueError, match="digits"):
        toy_self_labeling("digits", k=3, epochs=1, n_classes=3)


def test_relabeled_numbers_clusters_by_their_classes():
    res = toy_self_labeling("blobs", k=5, epochs=6, n_classes=3, lam=3.0, seed=1, grid_resolution=8)
    out = res.relabeled()
    order = out.config["cluster_order"]
    assert sorted(order) == list(range(5))
    assert out.config["matched_class"][:3] == [0, 1, 2] and out.config["matched_class"][3:] == [None, None]
    for a, b in zip(res.snapshots, out.snapshots):  # one permutation of the columns, in every snapshot
        np.testing.assert_array_equal(b.probs, a.probs[:, order])
        np.testing.assert_array_equal(b.grid_probs, a.grid_probs[..., order])
        np.testing.assert_array_equal(b.sizes, a.sizes[order])
        assert b.acc == a.acc
    pred = out.snapshots[-1].probs.argmax(1)
    # cluster c is matched to class c: ACC is the plain agreement of the renumbered ids
    assert np.mean(pred == out.y_true) == pytest.approx(out.snapshots[-1].acc)
    np.testing.assert_array_equal(out.class_colors(), [0, 1, 2])
    # fewer clusters than classes: matched clusters in class order, unmatched classes get spare colors
    few = toy_self_labeling("blobs", k=2, epochs=2, n_classes=4, grid_resolution=5).relabeled()
    matched = few.config["matched_class"]
    assert None not in matched and matched == sorted(matched)
    colors = few.class_colors()
    assert sorted(colors.tolist()) == [0, 1, 2, 3] and [colors[c] for c in matched] == [0, 1]


def test_progress_is_called_per_epoch_and_can_stop_the_run():
    calls = []
    toy_self_labeling("blobs", epochs=3, n_samples=40, grid_resolution=5, progress=lambda e, n: calls.append((e, n)))
    assert calls == [(1, 3), (2, 3), (3, 3)]

    class Stop(Exception):
        pass

    def stop(e: int, n: int) -> None:
        if e == 2:
            raise Stop

    before = torch.get_num_threads()
    with pytest.raises(Stop):
        toy_self_labeling("blobs", epochs=10, n_samples=40, grid_resolution=5, progress=stop)
    assert torch.get_num_threads() == before


def test_region_disagreement_ignores_renaming_and_sees_changes(blob_runs):
    from ccel_core.experiments.trajectories import region_disagreement

    ours, shannon = blob_runs
    assert region_disagreement(ours, ours) == 0.0
    assert region_disagreement(ours, ours.relabeled()) == 0.0
    flipped = ours.relabeled()
    s = flipped.snapshots[-1]
    s.grid_probs = s.grid_probs.copy()
    s.grid_probs[:10] = s.grid_probs[:10, :, ::-1]  # half the plane's cells get another cluster
    assert 0.0 < region_disagreement(ours, flipped) <= 0.5 + 1e-9


def test_difference_summary_is_paired_with_ddof_1():
    from ccel_core.experiments.trajectories import difference_summary

    frame = pd.DataFrame(
        {
            "seed": [0, 0, 1, 1, 2, 2],
            "ce": ["collision", "shannon"] * 3,
            "acc": [0.9, 0.8, 0.7, 0.7, 0.6, 0.4],
            "region_disagreement": [0.1, 0.1, 0.3, 0.3, 0.2, 0.2],
        }
    )
    t = difference_summary(frame).set_index("score")
    d = np.array([0.1, 0.0, 0.2])
    assert t.loc["acc", "diff mean"] == pytest.approx(d.mean())
    assert t.loc["acc", "diff std"] == pytest.approx(d.std(ddof=1))
    assert t.loc["acc", "t"] == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(3)))
    assert t.loc["acc", "collision std"] == pytest.approx(np.std([0.9, 0.7, 0.6], ddof=1))
    assert t.loc["acc", "sign_agreement"] == pytest.approx(2 / 3)  # the tie counts against
    assert t.loc["acc", "t_crit"] == pytest.approx(2.919986, rel=1e-6)  # Student's t₀.₉₅(2): α = 0.05 each way
    assert not t.loc["acc", "robust"]
    strong = frame.assign(acc=frame["acc"] + np.where(frame["ce"] == "collision", [0.0, 0, 0.12, 0, -0.09, 0], 0))
    s = difference_summary(strong).set_index("score").loc["acc"]  # differences 0.1, 0.12, 0.11
    assert s["sign_agreement"] == 1.0 and s["t"] > s["t_crit"] and s["robust"]
    assert t.loc["region_disagreement", "diff mean"] == pytest.approx(0.2)
    assert np.isnan(t.loc["region_disagreement", "collision mean"])


# The page's preset (explorer/cached/pseudo_labels.py PSEUDO_LABEL_DEFAULTS; benchmarks/evolution_preset.py): K = 5
# clusters on C = 3 blobs, λ = 3. A small budget of the benchmark's measurement: 6 seeds, coarse grid.
PRESET = dict(data="blobs", k=5, n_classes=3, noise=1.0, lam=3.0, epochs=15, y_step="full", y_iter=1000)


@pytest.fixture(scope="module")
def preset_runs():
    from ccel_core.experiments.trajectories import compare_self_labeling, difference_summary

    frame = compare_self_labeling(range(6), grid_resolution=12, **PRESET)
    control = compare_self_labeling(range(4), grid_resolution=12, **{**PRESET, "k": 3})
    return difference_summary(frame).set_index("score"), difference_summary(control).set_index("score")


def test_preset_ours_and_miadm_differ_beyond_seed_noise(preset_runs):
    """Beyond seed noise: every one of the 6 seeds gives the difference the same sign (a sign test,
    p = 2 · 2⁻⁶ ≈ 0.03), and the paired t exceeds the one rule's critical value t₀.₉₅(5) = 2.015 (α = 0.05
    each way); it exceeds the stricter two-sided 95% value t₀.₉₇₅(5) = 2.571 too."""
    t, _ = preset_runs
    assert (t["n"] == 6).all()
    # the mechanism: ours' labels stay soft while its predictions get decisive; MIADM's labels are one-hot
    assert t.loc["label_entropy", "diff mean"] > 0.1 and t.loc["label_entropy", "shannon mean"] < 0.05
    assert t.loc["pred_entropy", "diff mean"] < -0.05
    # the result: ours leaves surplus clusters small or empty, and clusters better
    assert t.loc["smallest", "diff mean"] < -0.03
    assert t.loc["acc", "diff mean"] > 0.03 and t.loc["nmi", "diff mean"] > 0.02
    for score in ("acc", "label_entropy", "pred_entropy", "smallest"):
        assert t.loc[score, "sign_agreement"] == 1.0, score
    for score in ("acc", "nmi", "label_entropy"):
        assert t.loc[score, "t_crit"] == pytest.approx(2.0150, rel=1e-4)
        assert abs(t.loc[score, "t"]) > 2.5706 and t.loc[score, "robust"], score
    assert t.loc["region_disagreement", "diff mean"] > 0.05


def test_with_as_many_clusters_as_classes_the_methods_nearly_coincide(preset_runs):
    """K = C: both y-steps return near one-hot labels, and H₂(e_c, σ) = H(e_c, σ) (docs/math.md §2.3 (b))."""
    _, t = preset_runs
    assert t.loc["label_entropy", "collision mean"] < 0.05 and t.loc["label_entropy", "shannon mean"] < 0.05
    assert abs(t.loc["acc", "diff mean"]) < 0.03
    assert t.loc["region_disagreement", "diff mean"] < 0.05


# --------------------------------------------------------------------------------------------------
# the page's new figures: legends readable at K = 10, separate axes for different quantities
# --------------------------------------------------------------------------------------------------


def _legend_names(fig) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False and t.name]


def test_sizes_panels_have_one_legend_entry_per_cluster_at_k10():
    from ccel_core.plots.trajectories import COMPACT_LEGEND, cluster_sizes_panels, mark_step

    rows = [
        (e, c, 30 + c, 30.0, m)
        for m in ("ours (collision CE)", "MIADM (Shannon CE)")
        for e in range(4)
        for c in range(10)
    ]
    df = pd.DataFrame(rows, columns=["epoch", "cluster", "size", "label_mass", "method"])
    fig = mark_step(cluster_sizes_panels(df), 2)
    names = _legend_names(fig)
    assert names == [f"cluster {c}" for c in range(10)] + ["points per argmax σ", "label mass Σ_i y_ik"]
    assert fig.layout.legend.orientation == COMPACT_LEGEND["orientation"] == "h"
    assert len(fig.data) == 2 * 2 * 10 + 2  # sizes and label mass per method and cluster, two style keys
    assert [s.x0 for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1] == [2.0, 2.0]  # both panels


def test_method_panels_put_each_method_on_its_own_axis():
    from ccel_core.plots.trajectories import method_panels

    h = pd.DataFrame(
        {"epoch": [0, 1, 2] * 2, "loss": [np.nan, 1.0, 0.5, np.nan, 2.0, 1.5], "method": ["a"] * 3 + ["b"] * 3}
    )
    fig = method_panels(h, "loss", yaxes={"a": "H₂", "b": "H"})
    assert [t.yaxis for t in fig.data] == ["y", "y2"]
    assert fig.layout.yaxis.title.text == "H₂" and fig.layout.yaxis2.title.text == "H"
    assert fig.layout.yaxis2.matches is None
    np.testing.assert_array_equal(fig.data[1].y, [2.0, 1.5])


def test_regions_with_misclustered_points_and_a_compact_legend():
    from ccel_core.plots import decision_regions_figure

    gx, gy = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    grid = np.random.default_rng(0).dirichlet(np.ones(10), size=(4, 5))
    pts = np.random.default_rng(1).normal(size=(20, 2))
    pred, truth = np.arange(20) % 10, (np.arange(20) + (np.arange(20) % 4 == 0)) % 10
    names = [f"cluster {c}" for c in range(10)]
    fig = decision_regions_figure(
        gx, gy, grid, pts, pred, misclustered=pred != truth, true_colors=truth, cluster_names=names
    )
    heat, ok, bad = fig.data[:3]
    assert len(ok.x) == int((pred == truth).sum()) and len(bad.x) == int((pred != truth).sum())
    assert bad.marker.symbol == "x"
    np.testing.assert_array_equal(np.asarray(bad.marker.color), truth[pred != truth])  # ✕ in the true class's color
    assert _legend_names(fig) == names + ["misclustered"]
    assert fig.layout.legend.orientation == "h" and not fig.frames
    with pytest.raises(ValueError, match="misclustered"):
        decision_regions_figure(gx, gy, grid, misclustered=pred != truth)
