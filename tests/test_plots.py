"""plotly figure builders: trace/frame counts, the data they carry, styles, JSON export."""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ccel_core import plots as P
from ccel_core.experiments.curves import gradient_vs_certainty, loss_curves, simplex_loss_grid, simplex_xy


def _check(fig: go.Figure, n_traces: int, n_frames: int = 0) -> dict:
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == n_traces
    assert len(fig.frames) == n_frames
    assert fig.layout.template.layout.paper_bgcolor is not None  # a template is applied
    out = json.loads(fig.to_json())
    assert len(out["data"]) == n_traces
    return out


def test_core_never_imports_streamlit():
    import ccel_core.experiments.curves as curves
    import ccel_core.experiments.trajectories as trajectories

    files = glob.glob(os.path.join(os.path.dirname(P.__file__), "**", "*.py"), recursive=True)  # with subpackages
    for package in (curves, trajectories):  # packages
        files += glob.glob(os.path.join(os.path.dirname(package.__file__), "*.py"))
    for path in files:
        with open(path, encoding="utf-8") as fh:
            assert not re.search(r"^\s*(import|from)\s+streamlit", fh.read(), re.M), path


def test_the_figures_load_without_the_solvers() -> None:
    """The explorer's home page draws Fig. 1 with ``ccel_core.plots`` and the loss curves: neither loads the
    solvers' numba kernels nor scikit-learn (~2 s of a fresh server's first page here), until a race is drawn."""
    import subprocess
    import sys

    code = (
        "import sys\nimport ccel_core.plots, ccel_core.experiments.curves\n"
        "print(sorted(m for m in ('numba', 'sklearn', 'ccel_core.solvers') if m in sys.modules))\n"
        "from ccel_core.experiments.race import solver_race\n"  # the control: a race does load them
        "print(sorted(m for m in ('numba', 'sklearn', 'ccel_core.solvers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.stdout.splitlines() == ["[]", "['ccel_core.solvers', 'numba', 'sklearn']"], (
        out.stdout + out.stderr[-2000:]
    )


def test_loss_curves_figure_styles_and_data():
    df = loss_curves(n_points=21)
    fig = P.loss_curves_figure(df)
    _check(fig, 8)
    assert fig.layout.template.layout.to_plotly_json() == pio.templates["plotly_white"].layout.to_plotly_json()
    first = df[(df["y"] == "(1, 0)") & (df["kind"] == "shannon")]
    np.testing.assert_allclose(fig.data[0].x, first["p"])
    np.testing.assert_allclose(fig.data[0].y, first["loss"])
    dashes = {t.name: t.line.dash for t in fig.data}
    assert all(d == "dash" for n, d in dashes.items() if n.startswith("H(y,σ)"))
    assert all(d == "solid" for n, d in dashes.items() if n.startswith("H₂(y,σ)"))
    # same target, same color
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert "p" in fig.layout.xaxis.title.text


def test_simplex_heatmap_figure():
    df = simplex_loss_grid((0.6, 0.3, 0.1), alpha=1.0, resolution=12)
    fig = P.simplex_heatmap_figure(df)
    _check(fig, 4)
    heat, picks, target, best = fig.data
    assert isinstance(heat, go.Heatmap)
    # the raster holds every grid value twice (a cell is two columns wide), at the cell whose centre
    # is the point's place in the triangle, and nothing else
    z, xs, ys = np.asarray(heat.z, dtype=float), np.asarray(heat.x), np.asarray(heat.y)
    assert np.isfinite(z).sum() == 2 * len(df)
    px, py = simplex_xy(df[["s1", "s2", "s3"]].to_numpy())
    for x, y, v in zip(px, py, df["loss"]):
        row = int(np.argmin(np.abs(ys - y)))
        cols = np.argsort(np.abs(xs - x))[:2]
        assert abs(ys[row] - y) < 1e-12 and np.allclose(np.abs(xs[cols] - x), (xs[1] - xs[0]) / 2)
        np.testing.assert_array_equal(z[row, cols], [v, v])
    # a σ₁ = 1 corner at the top, σ₂ bottom left, σ₃ bottom right
    assert np.allclose(simplex_xy([1, 0, 0]), [[0.5], [np.sqrt(3) / 2]])
    assert np.allclose(simplex_xy([0, 0, 1]), [[1.0], [0.0]])
    # clickable points carry their σ, a subset of the grid's
    grid_points = {tuple(np.round(r, 12)) for r in df[["s1", "s2", "s3"]].to_numpy()}
    assert 0 < len(picks.x) <= len(df) and all(tuple(np.round(c, 12)) in grid_points for c in picks.customdata)
    assert tuple(target.customdata[0]) == pytest.approx((0.6, 0.3, 0.1))
    assert best.customdata[0][0] == pytest.approx(df.loc[df["loss"].idxmin(), "s1"])


def test_gradient_figure():
    df = gradient_vs_certainty(n_points=11)
    fig = P.gradient_figure(df)
    _check(fig, 2)
    by_name = {t.name: t for t in fig.data}
    col = by_name["H₂(y,σ)"]
    assert col.line.dash == "solid" and by_name["H(y,σ)"].line.dash == "dash"
    assert col.line.color == P.COLLISION_COLOR and by_name["H(y,σ)"].line.color == P.SHANNON_COLOR
    # x = certainty sorted ascending: certainty 0 (uniform y) first, where CCE's gradient is 0
    assert col.x[0] == 0 and col.y[0] < 1e-12
    assert P.gradient_figure(df, x="eps").data[0].x[0] == 0


def test_ternary_labels_figure_frames():
    rng = np.random.default_rng(0)
    frames = [rng.dirichlet(np.ones(3), size=15) for _ in range(4)]
    sigma = rng.dirichlet(np.ones(3), size=15)
    fig = P.ternary_labels_figure(frames, sigma, labels=np.arange(15) % 3)
    out = _check(fig, 2, 4)
    np.testing.assert_allclose(fig.data[1].a, frames[0][:, 0])
    np.testing.assert_allclose(fig.frames[3].data[1].b, frames[3][:, 1])
    np.testing.assert_allclose(fig.frames[2].data[0].c, sigma[:, 2])
    assert len(out["layout"]["sliders"][0]["steps"]) == 4
    for axis in ("aaxis", "baxis", "caxis"):  # no tick label at a corner, where the labels y end up
        assert out["layout"]["ternary"][axis]["tickvals"] == [0.2, 0.4, 0.6, 0.8]
    single = P.ternary_labels_figure(frames[0])
    _check(single, 1, 0)
    assert not single.layout.sliders
    with pytest.raises(ValueError, match="K = 3"):
        P.ternary_labels_figure(np.full((5, 4), 0.25))
    with pytest.raises(ValueError, match="frames"):
        P.ternary_labels_figure(frames, [sigma, sigma])


def test_decision_regions_figure():
    gx, gy = np.linspace(-1, 1, 5), np.linspace(-2, 2, 4)
    rng = np.random.default_rng(1)
    grids = [rng.dirichlet(np.ones(3), size=(4, 5)) for _ in range(3)]
    pts = rng.normal(size=(10, 2))
    labels = [rng.integers(0, 3, 10) for _ in range(3)]
    fig = P.decision_regions_figure(gx, gy, grids, pts, labels, y_true=np.arange(10) % 2)
    _check(fig, 2, 3)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), grids[0].argmax(-1))
    np.testing.assert_array_equal(np.asarray(fig.frames[2].data[0].z), grids[2].argmax(-1))
    np.testing.assert_allclose(fig.data[1].x, pts[:, 0])
    marker = fig.frames[1].data[1].marker
    np.testing.assert_array_equal(np.asarray(marker.color), labels[1])  # ids on a step colorscale
    k = int(round(marker.cmax + 0.5))
    scale = [tuple(step) for step in marker.colorscale]
    for c in range(k):  # id c sits in [c/k, (c+1)/k] of the scale, painted in cluster c's color
        assert scale[2 * c][1].lower() == scale[2 * c + 1][1].lower() == P.cluster_color(c).lower()
    _check(P.decision_regions_figure(gx, gy, grids[0]), 1, 0)
    with pytest.raises(ValueError, match="expected"):
        P.decision_regions_figure(gx, gy, np.ones((5, 4, 3)) / 3)


def test_cluster_sizes_and_loss_history_figures():
    sizes = pd.DataFrame(
        [
            (e, c, 10 + e * (c - 1), float(10 + e * (c - 1)), m)
            for m in ("CCE (eq. 11, EM)", "Shannon CE (MIADM, PGD)")
            for e in range(4)
            for c in range(3)
        ],
        columns=["epoch", "cluster", "size", "label_mass", "method"],
    )
    fig = P.cluster_sizes_figure(sizes)
    _check(fig, 6)
    np.testing.assert_array_equal(fig.data[2].y, [10, 11, 12, 13])
    assert fig.data[0].line.dash == "solid" and fig.data[3].line.dash == "dash"
    assert fig.layout.shapes[0].y0 == pytest.approx(10.0)  # N/K line

    hist = P.loss_history_figure([3.0, 2.0, 1.5])
    _check(hist, 1)
    np.testing.assert_array_equal(hist.data[0].x, [0, 1, 2])
    np.testing.assert_array_equal(hist.data[0].y, [3.0, 2.0, 1.5])
    multi = P.loss_history_figure({"EM": [2, 1], "PGD η=0.001": [2, 1.5, 1.2]}, log_y=True)
    _check(multi, 2)
    assert multi.layout.yaxis.type == "log"
    frame = pd.DataFrame(
        {
            "epoch": [1, 2, 1, 2],
            "loss": [1, 0.5, 1.2, 0.9],
            "acc": [0.5, 0.8, 0.4, 0.6],
            "method": ["ccel", "ccel", "miadm", "miadm"],
        }
    )
    both = P.loss_history_figure(frame, y=["loss", "acc"])
    _check(both, 4)
    assert both.data[0].name == "ccel: loss"
    np.testing.assert_array_equal(both.data[3].y, [0.4, 0.6])


def test_solver_race_figure():
    it = np.arange(5)
    df = pd.concat(
        [
            pd.DataFrame({"method": m, "iteration": it, "seconds": it * s, "loss": 1 + g, "gap": g})
            for m, s, g in (("EM", 0.01, 10.0**-it), ("PGD η=0.001", 0.002, 10.0 ** (-it / 2)))
        ]
    )
    fig = P.solver_race_figure(df)
    _check(fig, 2)
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, 10.0**-it)
    assert fig.data[0].line.color == P.COLLISION_COLOR
    assert fig.data[1].line.color not in (P.COLLISION_COLOR, P.SHANNON_COLOR)
    by_time = P.solver_race_figure(df, x="seconds")
    np.testing.assert_allclose(by_time.data[1].x, it * 0.002)
    zero = df.assign(gap=np.where(df["iteration"] == 4, 0.0, df["gap"]))
    assert np.isnan(P.solver_race_figure(zero).data[0].y[-1])
    with pytest.raises(ValueError, match="x="):
        P.solver_race_figure(df, x="epoch")


def test_noisy_labels_figure_mean_and_std():
    rows = [
        (loss, level, seed, acc)
        for loss, base in (("collision", 0.9), ("shannon", 0.8))
        for level in (0.0, 0.5)
        for seed, acc in enumerate((base - level / 10, base - level / 10 + 0.02))
    ]
    df = pd.DataFrame(rows, columns=["loss", "level", "seed", "test_acc"])
    fig = P.noisy_labels_figure(df)
    _check(fig, 2)
    col = fig.data[0]
    np.testing.assert_allclose(col.x, [0.0, 0.5])
    np.testing.assert_allclose(col.y, [0.91, 0.86])
    np.testing.assert_allclose(col.error_y.array, [0.02 / np.sqrt(2)] * 2)  # sample std (ddof 1) of two seeds
    assert col.line.dash == "solid" and fig.data[1].line.dash == "dash"
    two = pd.concat([df.assign(noise="mix"), df.assign(noise="random-soft", test_acc=df["test_acc"] - 0.1)])
    fig2 = P.noisy_labels_figure(two)
    _check(fig2, 4)
    np.testing.assert_allclose(fig2.data[1].y, [0.81, 0.76])
    assert fig2.data[1].name.endswith("random-soft")


def test_run_curves_and_confusion_figures():
    frames = {
        "r1": pd.DataFrame({"epoch": [1, 2, 3], "acc": [0.3, 0.6, 0.9]}),
        "r2": pd.DataFrame({"epoch": [1, 2], "acc": [0.2, None]}),
        "r3": pd.DataFrame({"epoch": [1], "loss": [1.0]}),
    }
    fig = P.run_curves_figure(frames, "acc", labels={"r1": "ccel seed 0"})
    _check(fig, 2)
    assert fig.data[0].name == "ccel seed 0"
    np.testing.assert_allclose(fig.data[0].y, [0.3, 0.6, 0.9])
    np.testing.assert_array_equal(fig.data[1].x, [1])  # missing values dropped
    with pytest.raises(ValueError, match="nmi"):
        P.run_curves_figure(frames, "nmi")

    m = np.array([[5, 1], [0, 4], [2, 2]])
    conf = P.confusion_figure(m, [0, 1, 2], [1, 0])
    _check(conf, 1)
    np.testing.assert_array_equal(np.asarray(conf.data[0].z), m)
    assert list(conf.data[0].x) == ["cluster 1", "cluster 0"]
    norm = P.confusion_figure(m, [0, 1, 2], [1, 0], normalize=True)
    np.testing.assert_allclose(np.asarray(norm.data[0].z).sum(1), 1.0)
    with pytest.raises(ValueError, match="shape"):
        P.confusion_figure(m, [0, 1], [0, 1])


def test_method_styles():
    styles = P.method_styles(["CCE (eq. 11, EM)", "Shannon CE (MIADM, PGD)", "SeLa", "PGD η=1", "PGD η=2"])
    assert styles["CCE (eq. 11, EM)"] == (P.COLLISION_COLOR, "solid")
    assert styles["Shannon CE (MIADM, PGD)"] == (P.SHANNON_COLOR, "dash")
    assert styles["PGD η=1"][0] != styles["PGD η=2"][0]
    assert len({c for c, _ in styles.values()}) == 5


def test_simplex_heatmap_figure_refuses_a_partial_grid():
    df = simplex_loss_grid((0.6, 0.3, 0.1), alpha=2.0, resolution=6)
    with pytest.raises(ValueError, match=r"full grid of simplex_loss_grid; got 27 rows"):
        P.simplex_heatmap_figure(df.iloc[:-1])
    with pytest.raises(ValueError, match=r"missing \['loss'\]"):
        P.simplex_heatmap_figure(df.drop(columns="loss"))
    moved = df.copy()
    moved.loc[3, "s1"] += 0.01  # a hand-edited point off the grid
    moved.loc[3, "s2"] -= 0.01
    for bad in (moved, df.assign(s1=np.nan)):
        with pytest.raises(ValueError, match=r"needs the points of simplex_loss_grid.*28 rows"):
            P.simplex_heatmap_figure(bad)


def test_method_scores_marks_the_papers_numbers_with_what_the_paper_measured():
    """Bars: mean ± std (ddof = 1) over seeds per group and method; the paper's diamonds carry the legend
    name the caller gives (the paper's data and input, which differ from ours), else "paper (<group>)"."""
    df = pd.DataFrame(
        {"method": ["Our"] * 3 + ["MIGD"] * 3, "data": "mnist-test", "acc": [0.5, 0.6, 0.7, 0.4, 0.4, 0.4]}
    )
    paper = {("mnist-test", "Our"): 95.0}
    fig = P.method_scores_figure(df, paper=paper, paper_names={"mnist-test": "paper (MNIST, ResNet-50 features)"})
    out = _check(fig, 2)
    bars, marks = out["data"]
    assert list(bars["x"]) == ["Our", "MIGD"]
    assert np.allclose(np.asarray(fig.data[0].y), [60.0, 40.0]) and np.allclose(fig.data[0].error_y.array, [10.0, 0.0])
    assert marks["name"] == "paper (MNIST, ResNet-50 features)" and list(marks["x"]) == ["Our"]
    assert P.method_scores_figure(df, paper=paper).data[1].name == "paper (mnist-test)"
