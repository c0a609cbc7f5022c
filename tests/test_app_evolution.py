"""The pseudo-label evolution page (explorer/views/pseudo_labels.py) with Streamlit's AppTest.

One epoch scrubber drives every panel of both methods (no per-chart animation controls), plots and
metrics show the same epoch (the last by default), the colours and legends are explained and stay
compact at K = 10, the two network losses get their own axes, the default view states the measured
difference over seeds with its spread, and cancelled work stays cancelled until asked for again.
Small budgets (few epochs, two seeds) except for the default-view test.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pytest
from conftest import arr, errors, figures, ok, open_page  # tests/ is on sys.path

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

FAST = {"epochs": "5", "seeds": "2"}
HISTORY = "Over the epochs"  # the tab of the charts over epochs (cluster sizes, network loss, ACC)


def clean(at: AppTest) -> AppTest:
    """:func:`conftest.ok`, and no ``st.error`` either (every view here is a valid one); ``at``."""
    ok(at)
    assert not errors(at), errors(at)
    return at


def open_evolution(query: Optional[dict[str, str]] = None, session: Optional[dict[str, Any]] = None) -> AppTest:
    """The pseudo-label page with URL parameters ``query`` (``session`` state set first), :func:`clean`."""
    return clean(open_page("pseudo_labels", query, state=session, timeout=300))


def titled(at: AppTest, start: str) -> list[dict[str, Any]]:
    return [f for f in figures(at) if (f["layout"].get("title") or {}).get("text", "").startswith(start)]


def metrics(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def vlines(fig: dict[str, Any]) -> list[float]:
    return [s["x0"] for s in fig["layout"].get("shapes", []) if s.get("type") == "line" and s["x0"] == s["x1"]]


def legend_names(fig: dict[str, Any]) -> list[str]:
    return [t["name"] for t in fig["data"] if t.get("showlegend", True) is not False and t.get("name")]


def page_runs(args: tuple) -> dict[str, Any]:
    """The page's own two runs, from the explorer's run store (this process serves the AppTest)."""
    from explorer import cached

    return {ce: cached.toy_run(args, ce) for ce in ("collision", "shannon")}


def page_args(query: dict[str, str]) -> tuple:
    from explorer import cached

    d = cached.PSEUDO_LABEL_DEFAULTS
    return cached.pseudo_label_args(**{**d, **{k: type(d[k])(v) for k, v in query.items() if k in d}})


def test_default_view_states_the_measured_difference_over_seeds() -> None:
    at = open_evolution()
    text = " ".join(m.value for m in at.markdown)
    assert "The methods differ here" in text, text[:600]
    assert "over seeds 0–9" in text and "ddof = 1" in text
    (table,) = [t.value for t in at.table]
    acc = table.loc["ACC"]
    for col in ("ours", "MIADM", "ours − MIADM"):
        assert "±" in acc[col], acc
    assert float(acc["ours − MIADM"].split("±")[0]) > 0 and acc["seeds agreeing"].endswith("/ 10")
    assert at.slider(key="pl.shown").value == 15  # the last epoch
    assert [m for m in at.metric if m.label == "ACC"]
    assert not at.query_params  # the defaults stay out of the URL


def test_one_scrubber_drives_every_panel_and_the_metrics() -> None:
    at = open_evolution(FAST)
    ref = page_runs(page_args(FAST))
    assert all(r is not None and len(r.snapshots) == 6 for r in ref.values())
    for f in figures(at):  # no animation: no frames and no per-chart play controls
        assert not f.get("frames") and not f["layout"].get("sliders") and not f["layout"].get("updatemenus")
    epoch_sliders = [s.key for s in at.slider if s.key in ("pl.shown", "pl.epoch")]
    assert epoch_sliders == ["pl.shown"]

    def check(epoch: int) -> None:
        regions = titled(at, "Decision regions")
        assert [f["layout"]["title"]["text"] for f in regions] == [f"Decision regions argmax σ at epoch {epoch}"] * 2
        for f, ce in zip(regions, ("collision", "shannon")):
            snap = ref[ce].snapshots[epoch]
            np.testing.assert_array_equal(arr(f["data"][0]["z"]), snap.grid_probs.argmax(-1))
        acc = metrics(at, "ACC")
        assert acc == [f"{ref[ce].snapshots[epoch].acc:.3f}" for ce in ("collision", "shannon")]
        assert metrics(at, "NMI") == [f"{ref[ce].snapshots[epoch].nmi:.3f}" for ce in ("collision", "shannon")]
        assert [c.value for c in at.caption if c.value.startswith("epoch ")] == [f"epoch {epoch} of 5"] * 2
        assert not titled(at, "Cluster sizes")  # the charts over epochs are drawn in their own tab, on demand
        at.session_state["pl.view"] = HISTORY
        clean(at.run())
        assert not titled(at, "Decision regions") and not metrics(at, "ACC")
        for start in ("Cluster sizes", "Network loss", "ACC per epoch"):
            (f,) = titled(at, start)
            assert vlines(f) and set(vlines(f)) == {epoch}, start
        (acc_curve,) = titled(at, "ACC per epoch")  # the metric is the curve's value at the marked epoch
        assert acc == [f"{arr(t['y'])[list(arr(t['x'])).index(epoch)]:.3f}" for t in acc_curve["data"]]
        at.session_state["pl.view"] = "Training epochs"
        clean(at.run())

    assert at.slider(key="pl.shown").value == 5
    check(5)
    at.slider(key="pl.shown").set_value(2).run()
    clean(at)
    check(2)
    assert at.query_params["epoch"] == "2"
    at.slider(key="pl.shown").set_value(0).run()
    check(0)


def test_the_scrubber_follows_the_last_epoch_until_moved() -> None:
    at = open_evolution(FAST)
    assert at.slider(key="pl.shown").value == 5
    at.slider(key="pl.epochs").set_value(3).run()
    assert clean(at).slider(key="pl.shown").value == 3 and "epoch" not in at.query_params
    at.slider(key="pl.shown").set_value(1).run()
    at.slider(key="pl.epochs").set_value(4).run()
    assert clean(at).slider(key="pl.shown").value == 1
    assert at.query_params["epoch"] == "1"
    linked = open_evolution({**FAST, "epoch": "2"})
    assert linked.slider(key="pl.shown").value == 2
    assert titled(linked, "Decision regions")[0]["layout"]["title"]["text"].endswith("epoch 2")


def test_colours_are_explained_and_legends_stay_compact_at_k10() -> None:
    at = open_evolution({"k": "10", "epochs": "2", "seeds": "2"})
    key = [m.value for m in at.markdown if m.value.startswith("**Colours**")]
    assert key, [m.value[:40] for m in at.markdown]
    assert "predicted cluster" in key[0] and "true class" in key[0] and key[0].count("■") == 10
    assert "cluster 3 (no class)" in key[0]  # 3 blobs: clusters 3 … 9 match no class
    regions = titled(at, "Decision regions")
    assert len(regions) == 2
    for f in regions:
        names = legend_names(f)
        assert len(names) == 11 and names[:3] == ["cluster 0", "cluster 1", "cluster 2"]  # one per cluster, + ✕
        assert names[-1] == "misclustered"
        assert f["layout"]["legend"]["orientation"] == "h"
    at = open_evolution({"k": "10", "epochs": "2", "seeds": "2", "view": HISTORY})
    (sizes,) = titled(at, "Cluster sizes")
    names = legend_names(sizes)
    assert len(names) == 12 and len(set(names)) == 12  # 10 clusters + 2 line styles, not 2 × K entries
    assert sizes["layout"]["legend"]["orientation"] == "h"
    assert not any("class 1" in n or "cluster 10" in n for n in names)  # one naming, 0-based


def test_network_losses_are_on_separate_axes() -> None:
    at = open_evolution({**FAST, "view": HISTORY})
    (loss,) = titled(at, "Network loss")
    assert [t.get("yaxis", "y") for t in loss["data"]] == ["y", "y2"]
    assert "H₂" in loss["layout"]["yaxis"]["title"]["text"]
    assert "H(" in loss["layout"]["yaxis2"]["title"]["text"] and "H₂" not in loss["layout"]["yaxis2"]["title"]["text"]
    assert "matches" not in loss["layout"]["yaxis2"]


def test_ystep_tab_follows_the_epoch_scrubber_and_one_iteration_slider() -> None:
    at = open_evolution({"k": "3", "epochs": "3", "seeds": "2", "view": "One y-step", "iters": "12"})
    tern = [f for f in figures(at) if f["data"] and f["data"][0]["type"] == "scatterternary"]
    assert len(tern) == 3 and not any(f.get("frames") for f in tern)
    assert tern[1]["layout"]["title"]["text"] == "y after 12 iterations (σ fixed: rings)"  # EM runs them all
    assert tern[0]["layout"]["ternary"]["aaxis"]["title"]["text"] == "cluster 0"
    objective = [f for f in figures(at) if (f["layout"].get("title") or {}).get("text") == "Objective per iteration"]
    assert len(objective) == 3 and set(vlines(objective[1])) == {12}
    sigma_last = arr(tern[1]["data"][0]["a"])
    at.slider(key="pl.iters").set_value(5).run()
    tern = [f for f in figures(clean(at)) if f["data"] and f["data"][0]["type"] == "scatterternary"]
    assert tern[1]["layout"]["title"]["text"] == "y after 5 iterations (σ fixed: rings)"
    at.slider(key="pl.shown").set_value(1).run()
    assert any("after epoch 1" in c.value for c in clean(at).caption)
    tern = [f for f in figures(at) if f["data"] and f["data"][0]["type"] == "scatterternary"]
    assert not np.allclose(arr(tern[1]["data"][0]["a"]), sigma_last)  # σ of epoch 1, not of the last epoch


def test_cancelled_training_stays_cancelled_until_compute_is_pressed() -> None:
    args = page_args({"epochs": "4", "seed": "77"})  # settings no other test computes
    at = open_evolution({"epochs": "4", "seeds": "2", "seed": "77"}, session={"pl.cancelled": ("runs", args)})
    assert any("cancelled" in w.value for w in at.warning)
    assert not at.get("plotly_chart")
    (again,) = [b for b in at.button if b.label == "Compute"]
    again.click().run()
    clean(at)
    assert not at.warning and titled(at, "Decision regions")


def test_moons_with_more_clusters_than_its_two_classes() -> None:
    at = open_evolution({"data": "moons", "k": "3", "epochs": "3", "seeds": "2"})
    assert at.number_input(key="pl.classes").disabled
    regions = titled(at, "Decision regions")
    assert len(regions) == 2 and len(legend_names(regions[0])) == 3 + 1


def test_a_preset_shows_the_simplex_views_hidden_at_the_default_k() -> None:
    """The default K = 5 hides the simplex views; the page says so and its K = 3 preset shows them."""
    at = open_evolution(FAST)
    assert at.number_input(key="pl.k").value == 5
    assert any("needs K = 3 clusters" in i.value for i in at.info)
    assert not titled(at, "Pseudo-labels y (dots) and σ (rings)")
    at.button(key="pl.k3-y and σ").click().run()
    clean(at)
    assert at.number_input(key="pl.k").value == 3 and at.number_input(key="pl.classes").value == 3
    assert len(titled(at, "Pseudo-labels y (dots) and σ (rings)")) == 2  # ours and MIADM
    assert not any("needs K = 3 clusters" in i.value for i in at.info)
    assert at.query_params["k"] in ("3", ["3"])
