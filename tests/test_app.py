"""The explorer app, page by page, with Streamlit's AppTest (no browser, no server).

Every page: renders without an exception; its main widgets change what it draws (the figure JSON,
a metric, a table); a bad input shows ``st.error`` and the page keeps running; settings are read
from and written to the URL. The runs page uses a temporary run store (``CCEL_RUNS_DIR``) filled
through :class:`~ccel_core.runs.RunStore`; no subprocess is launched here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    APP,
    FORMS_OPEN,
    VIEWS,
    arr,
    figures,
    metric,
    npz,
    ok,
    open_page,
    text_tables,
)  # tests/ is on sys.path

pytest.importorskip("streamlit")

from ccel_core.runs import RunStore  # noqa: E402
from ccel_core.training import TrainConfig  # noqa: E402
from explorer import cached  # noqa: E402

# --------------------------------------------------------------------------------------------------
# home and navigation
# --------------------------------------------------------------------------------------------------


def test_home_shows_fig1_and_links_every_page() -> None:
    at = open_page()
    ok(at)
    assert at.title[0].value == "Collision cross-entropy"
    (fig,) = figures(at)
    names = [t["name"] for t in fig["data"]]
    assert len(names) == 8  # four targets × (Shannon, collision)
    assert sum("H₂" in n for n in names) == 4
    links = [el.proto.page for el in at.get("page_link")]
    assert sorted(Path(p).stem for p in links) == sorted(VIEWS)


@pytest.mark.parametrize("name", VIEWS)
def test_every_page_renders(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page(name)
    ok(at)
    assert at.title, "every page has a title"
    assert not at.error, [e.value for e in at.error]
    if name == "clustering_runs":  # an empty run store: nothing to plot, an invitation to launch
        assert any("No runs yet" in i.value for i in at.info)
        return
    assert at.get("plotly_chart")
    buttons = [b.label for b in at.get("download_button")]
    assert buttons.count("CSV") >= 1 and buttons.count("HTML") == len(at.get("plotly_chart"))


# --------------------------------------------------------------------------------------------------
# page 1: loss curves
# --------------------------------------------------------------------------------------------------


FIG1, SIMPLEX, GRADIENT = cached.LOSS_CURVE_TABS


def test_loss_curves_sliders_change_the_figures_and_the_url() -> None:
    at = open_page("loss_curves")
    ok(at)
    (fig1,) = figures(at)  # the Fig. 1 tab only: the others are drawn when opened
    assert len(fig1["data"]) == 8
    assert metric(at, "argmin_p H(y,σ)") == "p = 0.900"
    assert metric(at, "argmin_p H₂(y,σ)") == "p = 1.000"  # exact, not the grid's end 0.995

    at.slider(key="lc.y1").set_value(0.8).run()
    ok(at)
    fig1 = figures(at)[0]
    assert len(fig1["data"]) == 10  # the paper's four targets plus y = (0.8, 0.2)
    assert any("(0.8, 0.2)" in t["name"] for t in fig1["data"])
    assert metric(at, "argmin_p H(y,σ)") == "p = 0.800"
    assert at.query_params["y1"] == "0.8"

    at.slider(key="lc.alpha").set_value(2.5).run()
    ok(at)
    (fig1,) = figures(at)
    assert any(t["name"].startswith("H_2.5") and t["line"]["dash"] == "dot" for t in fig1["data"])
    assert at.query_params["alpha"] == "2.5"

    at.toggle(key="lc.paper").set_value(False).run()
    assert len(figures(at)[0]["data"]) == 3  # only y = (0.8, 0.2): Shannon, collision, order 2.5
    assert at.query_params["paper"] == "false"

    at.session_state["lc.view"] = SIMPLEX
    at.run()
    ok(at)
    assert len(figures(at)) == 3  # one simplex per order: 1, 2, 2.5
    assert at.query_params["view"] == SIMPLEX and at.query_params["y1"] == "0.8"  # the hidden tab's settings stay
    at.session_state["lc.view"] = GRADIENT
    at.run()
    ok(at)
    (grad,) = figures(at)
    assert len(grad["data"]) == 3
    at.session_state["lc.view"] = FIG1
    at.run()
    assert at.slider(key="lc.y1").value == pytest.approx(0.8) and len(figures(at)[0]["data"]) == 3


def test_loss_curves_simplex_target_and_gradient_scale() -> None:
    at = open_page("loss_curves", {"view": SIMPLEX})
    ok(at)
    before = figures(at)
    assert len(before) == 2  # Shannon and collision
    at.slider(key="lc.t1").set_value(0.2).run()
    at.slider(key="lc.t2").set_value(0.1).run()
    ok(at)
    after = figures(at)
    star = [t for t in after[0]["data"] if t.get("name") == "target y"][0]
    assert arr(star["customdata"]).reshape(-1).tolist() == [0.2, 0.1, pytest.approx(0.7)]
    z0, z1 = arr(before[0]["data"][0]["z"]), arr(after[0]["data"][0]["z"])
    assert z0.shape == z1.shape and not np.allclose(z0[np.isfinite(z0)], z1[np.isfinite(z1)])
    grad_page = ok(open_page("loss_curves", {"view": GRADIENT}))
    before = figures(grad_page)[0]
    grad_page.slider(key="lc.scale").set_value(3.0).run()
    grad = figures(grad_page)[0]
    assert not np.allclose(arr(grad["data"][0]["y"]), arr(before["data"][0]["y"]))
    assert grad_page.query_params["scale"] == "3"


def test_loss_curves_off_simplex_target_is_an_error_and_the_page_goes_on() -> None:
    at = open_page("loss_curves", {"view": SIMPLEX})
    at.slider(key="lc.t1").set_value(0.8).run()
    at.slider(key="lc.t2").set_value(0.5).run()
    ok(at)
    assert any("exceeds 1" in e.value for e in at.error)
    assert not figures(at) and at.slider(key="lc.alpha").value == 2.0  # no chart, the page's controls still there
    at.slider(key="lc.t2").set_value(0.1).run()
    assert not at.error and len(figures(at)) == 2


def test_loss_curves_reads_the_url_and_warns_on_bad_values() -> None:
    at = open_page("loss_curves", {"y1": "0.65", "alpha": "1.5", "paper": "false"})
    ok(at)
    assert at.slider(key="lc.y1").value == pytest.approx(0.65)
    assert at.slider(key="lc.alpha").value == pytest.approx(1.5)
    assert len(figures(at)[0]["data"]) == 3
    bad = open_page("loss_curves", {"alpha": "abc", "y1": "7", "view": "K = 4"})
    ok(bad)
    assert len(bad.warning) == 3
    assert bad.slider(key="lc.alpha").value == 2.0 and bad.slider(key="lc.y1").value == 0.9


# --------------------------------------------------------------------------------------------------
# page 2: noisy labels
# --------------------------------------------------------------------------------------------------


def test_noisy_labels_runs_on_the_button_and_caches_by_settings() -> None:
    at = open_page("noisy_labels", {"levels": "0,0.6", "seeds": "1", "epochs": "3"})
    ok(at)
    assert len(figures(at)) == 1  # the preview of the corrupted targets only
    assert any("Press **Run**" in i.value for i in at.info)
    at.button[0].click().run()
    ok(at)
    preview, result = figures(at)
    assert {t["name"].split()[0] for t in result["data"]} == {"collision", "Shannon"}
    assert all(arr(t["x"]).tolist() == [0.0, 0.6] for t in result["data"])
    assert re.fullmatch(r"\d\.\d{3} \(1 seed\)", metric(at, "collision CE at ρ = 0.6"))
    assert metric(at, "CCE − CE").endswith("(1 seed)")
    # the same settings again: cached results shown without pressing the button
    again = open_page("noisy_labels", {"levels": "0,0.6", "seeds": "1", "epochs": "3"})
    assert len(figures(again)) == 2


def test_noisy_labels_preview_follows_the_noise_model() -> None:
    at = open_page("noisy_labels", {"levels": "0,0.5"})
    soft = figures(at)[0]
    at.radio(key="nl.noise").set_value("mix").run()
    ok(at)
    mix = figures(at)[0]
    assert [t["name"] for t in mix["data"]] == ["0", "0.5"]
    assert not np.allclose(arr(soft["data"][1]["y"]), arr(mix["data"][1]["y"]))
    assert at.query_params["noise"] == "mix"


@pytest.mark.parametrize("levels, message", [("0, abc", "is not a number"), ("0, 1.5", "should be in [0, 1]")])
def test_noisy_labels_bad_levels_show_an_error(levels: str, message: str) -> None:
    at = open_page("noisy_labels")
    at.text_input(key="nl.levels").input(levels).run()
    ok(at)
    assert any(message in e.value for e in at.error)
    at.text_input(key="nl.levels").input("0, 0.5").run()
    assert not at.error and len(figures(at)) == 1


# --------------------------------------------------------------------------------------------------
# page 3: pseudo-label evolution
# --------------------------------------------------------------------------------------------------


# the page's default claim, its one epoch scrubber, legends and cancel: tests/test_app_evolution.py and
# tests/test_browser_evolution.py


# --------------------------------------------------------------------------------------------------
# page 5: solver race
# --------------------------------------------------------------------------------------------------


# the race page's runs, tables and warnings: tests/test_app_race.py and tests/test_browser_race.py


@pytest.mark.parametrize("lrs, message", [("0.001, fast", "is not a number"), ("-0.1", "must be > 0")])
def test_solver_race_bad_step_sizes_show_an_error(lrs: str, message: str) -> None:
    at = open_page("solver_race", {"n": "300", "k": "4", "iters": "30", "lrs": lrs})
    ok(at)
    assert any(message in e.value for e in at.error)
    assert not figures(at)


# --------------------------------------------------------------------------------------------------
# page 4: clustering runs (temporary run store; nothing launched)
# --------------------------------------------------------------------------------------------------


def _finished_run(store: RunStore, seed: int, *, method: str = "ccel", acc: float = 0.7, group: str = "g1") -> str:
    cfg = TrainConfig(data="digits", method=method, model="linear", epochs=3, seed=seed, device="cpu")
    run = store.create(cfg.to_dict(), group=group)
    run.start()
    for epoch in (1, 2, 3):
        run.log_epoch(
            epoch,
            {
                "loss": 2.0 / epoch,
                "acc": acc - 0.1 * (3 - epoch) + 0.01 * seed,
                "nmi": 0.5 + 0.05 * epoch,
                "ari": 0.4,
                "seconds": 0.1,
            },
        )
    run.finish()
    return run.run_id


@pytest.fixture
def store(store: RunStore) -> RunStore:
    """The empty run store of tests/conftest.py with two finished runs."""
    _finished_run(store, 0)
    _finished_run(store, 1)
    return store


def test_runs_page_lists_compares_and_summarizes(store: RunStore) -> None:
    at = open_page("clustering_runs")
    ok(at)
    table = text_tables(at)[0]  # the runs table (a static table: drawn with its delta)
    assert len(table) == 2 and set(table["status"]) == {"finished"}
    assert table["progress"].tolist() == ["100%", "100%"]
    (curves,) = figures(at)
    assert len(curves["data"]) == 2 and curves["layout"]["yaxis"]["title"]["text"] == "ACC"
    summary = at.dataframe[0].value
    assert summary["runs"].tolist() == [2] and summary["seeds"].tolist() == ["0 1"]
    assert summary["acc"].tolist() == ["0.7050 ± 0.0071"]  # 0.70, 0.71: sample std (ddof 1)
    at.selectbox(key="cr.metric").set_value("nmi").run()
    ok(at)
    assert figures(at)[0]["layout"]["yaxis"]["title"]["text"] == "NMI"
    assert at.query_params["metric"] == "nmi"
    labels = [b.label for b in at.get("download_button")]
    assert {"Summary CSV", "Per-epoch CSV", "All runs CSV"} <= set(labels)


def test_runs_page_picks_up_new_runs_and_groups_configs(store: RunStore) -> None:
    at = open_page("clustering_runs")
    other = [_finished_run(store, s, method="miadm", acc=0.6, group="g2") for s in (0, 1, 2)]
    at.run()  # a run started elsewhere (the command line) appears on the next poll / rerun
    ok(at)
    assert len(text_tables(at)[0]) == 5
    at.multiselect(key="cr.runs").set_value([i.run_id for i in store.list()]).run()
    summary = at.dataframe[0].value
    assert sorted(summary["runs"].tolist()) == [2, 3]
    assert set(summary["method"]) == {"ccel", "miadm"}
    at.toggle(key="cr.bands").set_value(False).run()  # one trace per run (bands: one band + mean per group)
    ok(at)
    assert len(figures(at)[0]["data"]) == 5
    assert set(other) <= set(at.query_params["runs"].split(","))


def test_runs_page_cancel_and_delete(store: RunStore) -> None:
    cfg = TrainConfig(data="digits", method="ccel", model="linear", epochs=5, seed=7, device="cpu")
    live = store.create(cfg.to_dict(), group="live")
    live.start(pid=os.getpid())  # "running" in a live process (this one), so it is not marked stale
    live.log_epoch(1, {"loss": 1.0, "acc": 0.5, "nmi": 0.4, "ari": 0.3, "seconds": 0.1})
    at = open_page("clustering_runs")
    ok(at)
    assert any("running" in p.proto.text and "1/5" in p.proto.text for p in at.get("progress"))
    assert at.selectbox(key="cr.detail").value == live.run_id
    at.button(key="cr.cancel").click().run()
    ok(at)
    assert live.cancel_requested
    live.finish("cancelled")
    at.run()
    finished = [i.run_id for i in store.list(status="finished")]
    at.selectbox(key="cr.detail").set_value(finished[0]).run()
    at.button(key="cr.delete").click().run()
    ok(at)
    assert finished[0] not in [i.run_id for i in store.list()]
    assert len(text_tables(at)[0]) == 2


def test_runs_page_refuses_an_invalid_launch_without_starting_anything(store: RunStore) -> None:
    at = open_page("clustering_runs", state=FORMS_OPEN)
    at.selectbox(key="cr.method").set_value("migd")
    at.number_input(key="cr.lam").set_value(50.0)
    at.button[0].click().run()  # the form's "Launch"
    ok(at)
    assert any("lam=50.0 is not used by method='migd'" in e.value for e in at.error)
    at.text_input(key="cr.seeds").input("0 0")
    at.number_input(key="cr.lam").set_value(None)
    at.button[0].click().run()
    assert any("repeat a seed" in e.value for e in at.error)
    assert not (store.root / "_launches").exists()  # nothing was launched


def test_runs_page_feature_upload_is_validated_before_it_is_stored(store: RunStore) -> None:
    at = open_page("clustering_runs", state=FORMS_OPEN)
    bad = np.ones((20, 3))
    bad[4, 1] = np.nan
    at.file_uploader(key="cr.upload").set_value(
        ("mine.npz", npz(x=bad, y=np.arange(20) % 2), "application/octet-stream")
    )
    at.run()
    ok(at)
    assert any("NaN" in e.value and "mine.npz" in e.value for e in at.error)
    assert not list((store.root / "_features").glob("*.npz"))  # nothing stored
    at.file_uploader(key="cr.upload").set_value(("bad.csv", b"a,b\n1,x\n", "text/csv"))
    at.run()
    assert any("non-numeric" in e.value for e in at.error)
    assert not list((store.root / "_features").glob("*"))

    rng = np.random.default_rng(0)
    good = rng.normal(size=(40, 5))
    at.file_uploader(key="cr.upload").set_value(
        ("mine.npz", npz(x=good, y=np.arange(40) % 4), "application/octet-stream")
    )
    at.run()
    ok(at)
    assert not at.error
    assert any("40 × 5" in s.value and "4 classes" in s.value for s in at.success)
    (saved,) = (store.root / "_features").glob("*.npz")
    with np.load(saved) as f:
        np.testing.assert_allclose(f["x"], good.astype(np.float32))
        assert f["y"].tolist() == (np.arange(40) % 4).tolist()
    assert f"file: mine.npz ({saved.name})" in at.selectbox(key="cr.data").options


def test_runs_page_bad_runs_directory_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CCEL_RUNS_DIR", str(blocker))
    at = open_page("clustering_runs")
    ok(at)
    assert any("Cannot use" in e.value for e in at.error)  # sub-folders of the root: tests/test_app_runs.py


def test_the_launch_and_resume_commands_parse_with_the_real_cli(tmp_path: Path) -> None:
    """The page builds ``python -m ccel_core.cli fit …``; check it against the CLI's own parser."""
    import sys

    sys.path.insert(0, str(APP.parents[1]))
    from ccel_core.cli import build_parser
    from ccel_core.cli.fit import build_configs
    from ccel_core.training import TrainConfig
    from explorer.launcher import fit_command

    config = TrainConfig(
        data="digits",
        method="ccel",
        model="mlp",
        epochs=2,
        lam=50.0,
        lr=0.05,
        batch_size=100,
        weight_decay=0.0,
        device="cpu",
        n_clusters=10,
    )
    cmd = fit_command(tmp_path, config, [0, 1, 2], group="app-g")
    assert cmd[1:4] == ["-m", "ccel_core.cli", "fit"]
    args = build_parser().parse_args(cmd[3:])
    assert (args.data, args.method, args.model, args.epochs, args.seeds) == (None, None, "mlp", 2, [0, 1, 2])
    assert (args.lam, args.lr, args.batch_size, args.weight_decay, args.n_clusters) == (50.0, 0.05, 100, 0.0, 10)
    assert (args.device, args.group, args.runs_dir, args.no_progress) == ("cpu", "app-g", str(tmp_path), True)
    assert [c.to_dict() for c in build_configs(args)] == [config.replace(seed=s).to_dict() for s in (0, 1, 2)]
    single = build_parser().parse_args(
        fit_command(tmp_path, TrainConfig(data="blobs", method="sela", epochs=1), [4])[3:]
    )
    assert (single.seed, single.seeds, single.lam) == (4, None, None)
