"""The app's edges, with Streamlit's AppTest: a library error is shown as ``st.error`` and the page
goes on, never an uncaught exception — a hand-edited ``report.json`` on the Reproduction page, an
upload with a very long name and a runs folder nested too deep or named too long on the Clustering
runs page; an upload's stored name stays short (≤ 100 bytes), keeps its extension and stays unique.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FORMS_OPEN, errors, npz, ok, open_page  # tests/ is on sys.path

pytest.importorskip("streamlit")
from test_reproduce import synthetic_report  # noqa: E402  (tests/ is on sys.path)

from ccel_core.runs import RunStore  # noqa: E402
from explorer import launcher  # noqa: E402


# --------------------------------------------------------------------------------------------------
# the Reproduction page: a report that loads renders; one that does not is an error naming the part
# --------------------------------------------------------------------------------------------------
def _edit(raw: dict[str, Any], change: Any) -> str:
    out = copy.deepcopy(raw)
    change(out)
    return json.dumps(out)


def test_the_reproduction_page_shows_a_bad_report_as_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    valid = json.loads(synthetic_report().to_json())
    path = tmp_path / "report.json"
    monkeypatch.setenv("CCEL_REPRODUCTION_DIR", str(tmp_path))
    bad = {
        "meta.seconds": _edit(valid, lambda r: r["meta"].update(seconds="12")),
        "sections[0].blocks[0]": _edit(valid, lambda r: r["sections"][0]["blocks"][0].append("x")),
        "sections[0].title": _edit(valid, lambda r: r["sections"][0].pop("title")),
        "nested": "[" * 100_000 + "]" * 100_000,
    }
    path.write_text(json.dumps(valid))
    at = open_page("reproduction")
    ok(at)
    assert not errors(at) and len(at.tabs) == 1
    for where, text in bad.items():
        path.write_text(text)
        at.run()
        ok(at)
        assert any("is not a ccel reproduction report" in e and where in e and str(path) in e for e in errors(at)), (
            where,
            errors(at),
        )
        assert not at.tabs and not at.metric  # nothing else is drawn


def test_the_reproduction_page_renders_odd_but_valid_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    valid = json.loads(synthetic_report().to_json())
    twice = _edit(valid, lambda r: r["sections"].append(copy.deepcopy(r["sections"][0])))  # the same key twice
    untitled = _edit(valid, lambda r: r["sections"][0].update(title=""))
    empty = _edit(valid, lambda r: r.update(sections=[]))
    path = tmp_path / "report.json"
    monkeypatch.setenv("CCEL_REPRODUCTION_DIR", str(tmp_path))
    path.write_text(twice)
    at = open_page("reproduction")
    ok(at)
    # the sections' tabs are drawn on demand: one figure per open tab; a repeated title gets its position
    assert not errors(at) and len(at.tabs) == 2 and len(at.get("plotly_chart")) == 1
    assert [t.label for t in at.tabs][1].endswith("(2)")
    at.session_state["rp.section"] = at.tabs[1].label
    at.run()
    ok(at)
    assert not errors(at) and len(at.get("plotly_chart")) == 1
    path.write_text(untitled)
    at.run()
    ok(at)
    assert not errors(at) and len(at.tabs) == 1
    path.write_text(empty)
    at.run()
    ok(at)
    assert not errors(at) and not at.tabs and any("no sections" in c.value for c in at.caption)
    # a report that does not say which code made it says so; one from other sources says that
    assert any("does not record which code made it" in i.value for i in at.info)
    path.write_text(_edit(valid, lambda r: r["meta"].update(source="0" * 64, commit="abc123", load=2.5, threads=2)))
    at.run()
    ok(at)
    assert any("Made by other ccel_core sources" in i.value and "abc123" in i.value for i in at.info)
    assert any("load average 2.5; the run's own torch threads: 2" in m.value for m in at.markdown)
    path.write_text(_edit(valid, lambda r: r["meta"].update(load="high")))  # a hand-edited report
    at.run()
    ok(at)
    assert any("meta.load" in e for e in errors(at)), errors(at)


# --------------------------------------------------------------------------------------------------
# the Clustering runs page: uploads with long names, deep or long runs folders
# --------------------------------------------------------------------------------------------------
def _random_npz(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return npz(x=rng.normal(size=(30, 3)), y=np.arange(30) % 3)


def test_a_long_upload_name_is_saved_under_a_short_unique_name(store: RunStore) -> None:
    at = open_page("clustering_runs", state=FORMS_OPEN)
    long_names = ["f" * 300 + "-first.npz", "f" * 300 + "-second.npz", "é" * 240 + ".npz"]
    for i, name in enumerate(long_names):
        at.file_uploader(key="cr.upload").set_value((name, _random_npz(i), "application/octet-stream"))
        at.run()
        ok(at)
        assert not errors(at), errors(at)
        assert any("30 × 3" in s.value for s in at.success)
    saved = sorted((store.root / "_features").glob("*.npz"))
    assert len(saved) == 3
    for path in saved:
        assert len(path.name.encode()) <= 100 and path.with_suffix(".json").is_file()
    originals = {json.loads(p.with_suffix(".json").read_text())["original"] for p in saved}
    assert originals == set(long_names)


def test_the_stored_name_keeps_its_extension_and_stays_unique(tmp_path: Path) -> None:
    a, b = "x" * 500 + "a.csv", "x" * 500 + "b.csv"
    stem_a, stem_b = launcher.stored_stem(a), launcher.stored_stem(b)
    assert stem_a != stem_b and len(stem_a) <= launcher.MAX_STEM and stem_a.startswith("x" * 40)
    assert launcher.stored_stem("mine.npz") == "mine"  # short names are kept as they were
    rows = "\n".join(f"{i},{i % 3}" for i in range(30))
    path, _ = launcher.save_features(tmp_path, a, f"f,label\n{rows}\n".encode(), label_column="label")
    assert path.suffix == ".npz" and len(path.name.encode()) <= 100 and path.name.startswith(stem_a)


def test_a_runs_folder_of_2000_levels_is_an_error_not_a_crash(store: RunStore) -> None:
    at = open_page("clustering_runs")
    at.text_input(key="cr.folder").input("a/" * 2000).run()
    ok(at)  # main: RecursionError, uncaught
    assert any("2000 levels" in e and "more than" in e for e in errors(at)), errors(at)
    assert not (store.root / "a").exists() and not at.table and not at.dataframe


def test_a_runs_folder_too_deep_or_too_long_is_an_error_naming_the_limit(store: RunStore) -> None:
    at = open_page("clustering_runs")
    refused = {
        "a/" * (launcher.MAX_FOLDER_DEPTH + 1): f"more than {launcher.MAX_FOLDER_DEPTH} levels",
        "b" * 300: f"longer than {launcher.MAX_FOLDER_NAME} characters",
        "ok/" + "c" * (launcher.MAX_FOLDER_NAME + 1): f"longer than {launcher.MAX_FOLDER_NAME} characters",
    }
    for value, why in refused.items():
        at.text_input(key="cr.folder").input(value).run()
        ok(at)
        assert any(why in e for e in errors(at)), (why, errors(at))
        assert not at.table and not at.dataframe
    assert not (store.root / "a").exists()
    deepest = "/".join(["d"] * launcher.MAX_FOLDER_DEPTH)
    at.text_input(key="cr.folder").input(deepest).run()
    ok(at)
    assert not errors(at) and (store.root.joinpath(*deepest.split("/")) / "index.sqlite").exists()


def test_a_hand_edited_upload_description_falls_back_to_the_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "_features"
    folder.mkdir()
    for name, text in {"a-1": "[1, 2]", "b-2": "[" * 100_000, "c-3": "{", "d-4": '{"original": "d.csv"}'}.items():
        (folder / f"{name}.npz").write_bytes(b"")
        (folder / f"{name}.json").write_text(text)
    found = {Path(p).name: info for p, info in launcher.saved_features(tmp_path).items()}
    assert found == {
        "a-1.npz": {"original": "a-1.npz"},
        "b-2.npz": {"original": "b-2.npz"},
        "c-3.npz": {"original": "c-3.npz"},
        "d-4.npz": {"original": "d.csv"},
    }


def test_tab_labels_are_unique_whatever_a_hand_edited_report_names_its_sections() -> None:
    from explorer.elements import tab_labels

    assert tab_labels(["Fig. 1", "Fig. 2", "Fig. 1"]) == ["Fig. 1", "Fig. 2", "Fig. 1 (3)"]
    assert tab_labels(["x (3)", "x", "x"]) == ["x (3)", "x", "x (4)"]
    assert tab_labels(["", ""]) == ["", " (2)"] and tab_labels([]) == []
