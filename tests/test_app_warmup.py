"""What a fresh server does before its first visitor asks (explorer/cached/warmup.py, explorer/prefetch.py).

The warm-up fills the caches behind the default view of the slower pages: a first visit then only
draws — no figure of that view is built again (building a plotly figure is made to fail here, so a
rebuilt figure shows up as an exception). The prefetch asks the browser, once per session, to load the code
of the widgets the pages use (the browser side is in tests/test_browser_offline.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ok, open_page  # tests/ is on sys.path
from plotly.basedatatypes import BaseFigure
from streamlit.testing.v1 import AppTest

from explorer import cached, prefetch


def refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("a figure of a precomputed view was built again")


def visit(name: str, query: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Page ``name`` after the home page, with every new plotly figure made to fail."""
    at = ok(open_page())
    monkeypatch.setattr(BaseFigure, "__init__", refuse)
    at.query_params.update(query)
    return at.switch_page(f"views/{name}.py").run(timeout=300)


def test_loss_curves_default_view_is_drawn_from_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    cached.figure.clear()  # (figures are shared by the whole process: other tests' too)
    cached.precompute_loss_curve_views()
    at = ok(visit("loss_curves", {}, monkeypatch))
    assert len(at.get("plotly_chart")) == 1  # Fig. 1 (the first tab) …
    at = ok(visit("loss_curves", {"view": cached.LOSS_CURVE_TABS[1]}, monkeypatch))
    assert len(at.get("plotly_chart")) == 2  # … the simplex at α = 1 and 2 (the default α is 2) …
    at = ok(visit("loss_curves", {"view": cached.LOSS_CURVE_TABS[2]}, monkeypatch))
    assert len(at.get("plotly_chart")) == 1  # … the gradients …
    # … and a setting off the defaults builds its figure (so the builders above were the ones in use)
    at = ok(visit("loss_curves", {"view": cached.LOSS_CURVE_TABS[1]}, monkeypatch))
    at.toggle(key="lc.arrows").set_value(False).run()
    assert at.exception and "built again" in at.exception[0].message


def test_evolution_charts_over_epochs_are_drawn_from_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cached.pseudo_label_args(**cached.PSEUDO_LABEL_DEFAULTS)
    last = int(cached.PSEUDO_LABEL_DEFAULTS["epochs"])
    cached.epoch_figures.clear()
    cached.epoch_history.clear()
    for ce in cached.PL_METHOD_NAMES:  # as the warm-up does
        cached.epoch_figures(args, ce, last)
    cached.epoch_history(args, last)
    at = ok(visit("pseudo_labels", {"seeds": "2"}, monkeypatch))  # the first tab: the regions of both methods
    assert sum(t.startswith("Decision regions") for t in chart_titles(at)) == 2, chart_titles(at)
    at = ok(visit("pseudo_labels", {"seeds": "2", "view": "Over the epochs"}, monkeypatch))
    assert any(t.startswith("Cluster sizes per epoch") for t in chart_titles(at)), chart_titles(at)
    assert any(t.startswith("ACC per epoch") for t in chart_titles(at)), chart_titles(at)


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(el.proto.spec)["layout"].get("title", {}).get("text", "") for el in at.get("plotly_chart")]


def test_prefetch_finds_the_module_of_every_element_in_the_installed_streamlit() -> None:
    found = prefetch.element_modules()
    names = {f.split(".")[0] for f in found}
    # a Streamlit upgrade that renames them fails here (the app still works: first visits are slower)
    assert names == set(prefetch.ELEMENTS), set(prefetch.ELEMENTS) - names


def test_prefetch_reads_only_element_modules(tmp_path: Path) -> None:
    for name in (
        "Slider.WU6er_Bo.js",  # an element's module
        "DataFrame.-f9-1zS0.js",  # hashes may start with a dash
        "DataFrame.DUkanX9_.css",  # its style sheet: loaded by the frontend itself
        "SliderThumb.AAAAAAAA.js",  # another module whose name starts the same
        "Slider.short.js",  # not a content hash
        "index.DormvYxC.js",
    ):
        (tmp_path / name).write_text("")
    assert prefetch.element_modules(tmp_path) == ("DataFrame.-f9-1zS0.js", "Slider.WU6er_Bo.js")
    assert prefetch.element_modules(tmp_path / "missing") == ()


def test_prefetch_script_imports_from_the_apps_own_folder() -> None:
    script = prefetch.prefetch_script(("Slider.WU6er_Bo.js", "Table.CGMoNb2f.js"))
    assert '["Slider.WU6er_Bo.js", "Table.CGMoNb2f.js"]' in script
    assert "http" not in script and "//" not in script  # no address: the page's own server
    assert "<" not in script.removeprefix("<script>").removesuffix("</script>")  # (see prefetch_script)


def test_prefetch_is_sent_once_per_session() -> None:
    at = ok(open_page())
    scripts = [el for el in at.get("html") if "import(base + f)" in el.proto.body]
    assert len(scripts) == 1
    at.run()
    assert not [el for el in at.get("html") if "import(base + f)" in el.proto.body]
