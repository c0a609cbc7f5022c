"""``ccel reproduce``: the verdict rule against scipy's t tests on synthetic numbers, the report's
renderings and round trip, and a ``tiny`` run end to end (every section present, with the paper's
numbers and a verdict; the HTML opens in headless Chromium without a network request; the explorer's
Reproduction page renders it). MNIST-test is a small IDX set the test writes (digits upscaled)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from ccel_core.cli import main
from ccel_core.data import write_idx
from ccel_core.reproduce import (
    CLAIM_COLUMNS,
    DOES_NOT_HOLD,
    FAILED,
    HOLDS,
    NOT_MEASURABLE,
    SECTIONS,
    VERDICTS,
    WITHIN_NOISE,
    Report,
    Section,
    claims_table,
    computed,
    load_report,
    not_measurable,
    one_sample_test,
    reproduce,
    welch_test,
)

REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=", re.I)


# ----------------------------------------------------------------------------- the verdict rule


def test_welch_matches_scipy_and_decides_each_direction() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.60, 0.02, 6), rng.normal(0.50, 0.05, 5)
    got = welch_test(a, b)
    ref = scipy_stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert got.t == pytest.approx(ref.statistic, rel=1e-12) and got.p == pytest.approx(ref.pvalue, rel=1e-10)
    assert got.verdict == HOLDS and got.low < got.difference < got.high
    assert welch_test(b, a).verdict == DOES_NOT_HOLD
    # overlapping samples: no direction is significant
    c = a - 0.1 + rng.normal(0, 0.001, 6)
    assert welch_test(c, b).verdict == WITHIN_NOISE


def test_the_interval_is_the_two_one_sided_tests() -> None:
    a, b = np.array([0.61, 0.58, 0.66, 0.63]), np.array([0.55, 0.60, 0.52])
    got = welch_test(a, b)
    # at the interval's lower end the one-sided p equals alpha exactly
    shifted = scipy_stats.ttest_ind(a - got.low, b, equal_var=False, alternative="greater")
    assert shifted.pvalue == pytest.approx(0.05, abs=1e-9)


def test_one_sample_matches_scipy() -> None:
    d = np.array([0.03, 0.01, 0.025, 0.04])
    got = one_sample_test(d)
    ref = scipy_stats.ttest_1samp(d, 0.0, alternative="greater")
    assert got.t == pytest.approx(ref.statistic) and got.p == pytest.approx(ref.pvalue) and got.verdict == HOLDS
    assert one_sample_test(-d).verdict == DOES_NOT_HOLD
    assert one_sample_test([0.01, -0.012, 0.004]).verdict == WITHIN_NOISE
    assert one_sample_test(np.log([2.0, 2.5, 3.0]), reference=math.log(2.4)).verdict == WITHIN_NOISE


def test_no_spread_decides_by_sign_and_too_few_values_are_not_measurable() -> None:
    assert welch_test([3, 3, 3], [2, 2]).verdict == HOLDS  # iteration counts: load-independent
    assert welch_test([2, 2], [3, 3, 3]).verdict == DOES_NOT_HOLD
    assert one_sample_test([0.0, 0.0, 0.0]).verdict == WITHIN_NOISE
    assert one_sample_test([0.25, np.nextafter(0.25, 1.0), 0.25]).verdict == HOLDS  # rounding is no spread
    lone = welch_test([0.9], [0.1, 0.2])
    assert lone.verdict == NOT_MEASURABLE and "2 seeds" in lone.needs
    assert one_sample_test([np.nan, 1.0]).verdict == NOT_MEASURABLE  # non-finite values are dropped
    assert computed(True, "x").verdict == HOLDS and computed(False, "x").verdict == DOES_NOT_HOLD
    assert "computed" in computed(True, "max gap 1e-16").describe()


# ----------------------------------------------------------------------------- the report


def synthetic_report() -> Report:
    import pandas as pd
    import plotly.graph_objects as go

    s = Section("table2", "Table 2 — synthetic")
    s.text("Some *text* with a | pipe.")
    s.table(pd.DataFrame({"method": ["ours", "MIGD"], "ACC": ["58.4 ± 3.2", "52.9 ± 3.0"]}))
    s.figure(go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": {"text": "bars"}}))
    s.claim(
        "ours wins",
        "synthetic",
        "ours 58.4 vs MIGD 52.92",
        "ours 60",
        welch_test([0.6, 0.61, 0.62], [0.5, 0.52, 0.51]),
        scale=100,
        unit=" points",
    )
    s.claim("needs a GPU", "paper", "—", "—", not_measurable("a GPU"))
    meta = dict(command="ccel reproduce --budget tiny", date="2026-12-01 00:00 UTC", machine="test", budget="tiny")
    meta.update(seeds=3, seconds=1.0, ccel="0", torch="0", alpha=0.05, device="cpu", sections=["table2"])
    return Report(meta, [s])


def test_report_renders_and_round_trips(tmp_path: Path) -> None:
    report = synthetic_report()
    md = report.markdown()
    assert "## Verdicts" in md and "| Table 2 | ours wins |" in md and "**holds**" in md
    assert "**not measurable here: needs a GPU**" in md and "*Figure table2.1: bars*" in md
    assert "Some *text* with a | pipe." in md and re.search(r"difference \+10\.00 \[\+[0-9.]+, \+[0-9.]+\] points", md)
    html = report.html()
    assert html.count("Plotly.newPlot") == 1 and len(html) > 1_000_000 and not REMOTE_SCRIPT.search(html)
    assert '<strong style="color:#1a7f37">holds' in html
    paths = report.write(tmp_path)
    assert [p.name for p in paths] == ["report.md", "report.html", "report.json"]
    json.loads((tmp_path / "report.json").read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN
    back = load_report(tmp_path / "report.json")
    assert back.markdown() == md and back.counts() == report.counts() == {
        HOLDS: 1,
        DOES_NOT_HOLD: 0,
        WITHIN_NOISE: 0,
        NOT_MEASURABLE: 1,
        FAILED: 0,
    }
    assert not list(tmp_path.glob(".*.tmp"))


def test_one_claims_table_behind_the_report_page_and_notebook() -> None:
    """The report's verdict table, the Reproduction page and notebook 06 show :func:`claims_table`'s
    columns: one row per claim, each cell the claim's own value, any subset in any order."""
    report = synthetic_report()
    table = claims_table(report.claims)
    assert list(table.columns) == list(CLAIM_COLUMNS) and len(table) == len(report.claims) == 2
    first = table.iloc[0]
    claim = report.claims[0]
    assert (first["claim"], first["measured here"], first["test"]) == (claim.text, claim.measured, claim.test_text)
    assert table.iloc[1]["verdict"] == "not measurable here: needs a GPU"
    picked = claims_table(report.claims, ["verdict", "section"])
    assert list(picked.columns) == ["verdict", "section"] and picked["verdict"].tolist() == table["verdict"].tolist()
    for row in table.itertuples(index=False):  # every cell of every row is in the markdown report
        assert all(str(v).replace("|", "\\|") in report.markdown() for v in row)
    with pytest.raises(ValueError, match=r"\['measured'\] are not claim columns"):
        claims_table(report.claims, ["section", "measured"])


def test_a_broken_report_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"report\.json is not a ccel reproduction report"):
        load_report(bad)


def test_bad_arguments_stop_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    for argv, message in (
        (["--sections", "table4"], "unknown section(s) ['table4']"),
        (["--features", str(tmp_path / "none.npz")], "no such file"),
        (["--out", str(tmp_path / "file")], "is a file"),
        (["--seeds", "1"], "seeds=1 should be >= 2"),
        (["--budget", "huge"], "invalid choice"),
    ):
        assert main(["reproduce", *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "reproduction").exists()


def test_missing_mnist_is_not_measurable_with_what_it_needs(tmp_path: Path) -> None:
    report = reproduce(
        "tiny", tmp_path / "out", sections=["table3", "table5"], mnist_root=tmp_path, echo=lambda s: None
    )
    assert [s.key for s in report.sections] == ["table3", "table5"]
    for claim in report.claims:
        assert claim.verdict.startswith("not measurable here: needs the MNIST test split"), claim.verdict
        assert "rerun with --download" in claim.verdict  # what to do about it


def test_default_data_folders_are_the_users_not_the_development_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone has no ../shared: MNIST-test defaults to the data folder every data set uses
    ($CCEL_DATA, else ./data), where --download puts it; $CCEL_MNIST_ROOT still overrides."""
    from ccel_core.data import default_root
    from ccel_core.experiments.fixed_features import _mnist_root
    from ccel_core.reproduce.context import default_mnist_root

    monkeypatch.delenv("CCEL_MNIST_ROOT", raising=False)
    monkeypatch.setenv("CCEL_DATA", str(tmp_path / "data"))
    assert default_mnist_root() == default_root() == tmp_path / "data" == _mnist_root(None)
    monkeypatch.delenv("CCEL_DATA")
    assert default_mnist_root() == Path("data")
    monkeypatch.setenv("CCEL_MNIST_ROOT", str(tmp_path / "m"))
    assert default_mnist_root() == tmp_path / "m"
    # no default of the product points into the development machine's ../shared
    for path in (Path(__file__).resolve().parents[1] / "ccel_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"shared"' not in text and "shared/data" not in text, path


def test_a_failing_section_is_reported_as_failed_and_the_rest_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ccel_core.reproduce import run

    def broken(ctx: object, sec: Section) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setitem(run.SECTIONS, "table3", ("Table 3 — VGG4", broken))
    assert main(["reproduce", "--budget", "tiny", "--sections", "fig1", "table3", "--out", str(tmp_path)]) == 1
    assert "table3: RuntimeError: out of memory" in capsys.readouterr().err
    report = load_report(tmp_path / "report.json")
    fig1, table3 = report.sections
    assert fig1.error is None and {c.verdict for c in fig1.claims} == {HOLDS}
    assert table3.error == "RuntimeError: out of memory"
    assert [c.verdict for c in table3.claims] == ["failed: the section raised RuntimeError: out of memory"]
    assert report.counts()[FAILED] == 1 and report.counts()[NOT_MEASURABLE] == 0
    assert "**This section failed:** `RuntimeError: out of memory`" in (tmp_path / "report.md").read_text()


def test_table1_ratios_keep_their_bounds() -> None:
    from ccel_core.experiments.race import Ratio
    from ccel_core.reproduce.solvers import _Ratios

    exact = _Ratios()
    for seed, value in enumerate((2.0, 2.2, 2.4)):
        exact.add(seed, Ratio(value, "="))
    assert exact.text.startswith("2.19× (×/÷ 1.10)") and exact.exceeds_one().verdict == HOLDS
    bounded = _Ratios()
    for seed in range(3):
        bounded.add(seed, Ratio(4.0, ">", "PGD did not reach it within its budget"))
    assert bounded.text.startswith("≥ 4.00×") and "3 of 3 seeds a lower bound" in bounded.text
    assert bounded.exceeds_one().verdict == HOLDS  # a lower bound above 1 is enough
    against = _Ratios()
    against.add(0, Ratio(3.0, "="))
    against.add(1, Ratio(0.5, "<", "EM did not reach it within its budget"))
    against.add(2, Ratio(float("nan"), "?", "neither reached it"))
    got = against.exceeds_one()
    assert got.verdict == NOT_MEASURABLE and "seed 1" in got.needs and "seed 2" in got.needs  # never dropped


def test_an_interrupted_run_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ccel_core.reproduce import run

    def stop(ctx: object, sec: Section) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(run.SECTIONS, "table1", ("Table 1", stop))
    with pytest.raises(KeyboardInterrupt):
        reproduce("tiny", tmp_path / "out", sections=["fig1", "table1"], echo=lambda s: None)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- a tiny run end to end


def fake_mnist(folder: Path, n: int = 1500) -> Path:
    """An MNIST-format test split: the first ``n`` digits images upscaled to 28 × 28."""
    import torch
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.nn.functional.interpolate(torch.tensor(d.images[:n], dtype=torch.float32)[:, None], size=(28, 28))
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "t10k-images-idx3-ubyte", (images[:, 0] / 16 * 255).round().numpy().astype(np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", d.target[:n].astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ccel reproduce --budget tiny`` with a features file for Table 2; its output folder."""
    import torch

    from ccel_core.backbones import Features, save_features

    base = tmp_path_factory.mktemp("reproduce")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = (rng.normal(size=(120, 16)) + 3 * np.eye(16)[y]).astype(np.float32)
    meta = {"backbone": "resnet50", "weights": "random (test)", "data": "mnist-test"}
    features = base / "feats.npz"
    save_features(Features(torch.from_numpy(x), torch.from_numpy(y), None, meta), features)
    argv = [
        "reproduce",
        "--budget",
        "tiny",
        "--out",
        str(base / "out"),
        "--mnist-root",
        str(fake_mnist(base / "mnist")),
    ]
    assert main([*argv, "--features", str(features), "--device", "cpu"]) == 0
    return base / "out"


@pytest.mark.slow
def test_every_section_ran_with_paper_numbers_and_a_verdict(tiny: Path) -> None:
    report = load_report(tiny / "report.json")
    assert [s.key for s in report.sections] == list(SECTIONS)
    md = (tiny / "report.md").read_text()
    for section in report.sections:
        assert section.error is None, (section.key, section.error)
        assert section.claims, section.key
        assert f"## {section.title}" in md
        assert any(kind == "figure" for kind, _ in section.blocks), section.key
        for claim in section.claims:
            assert claim.verdict.split(":")[0] in VERDICTS
            assert claim.paper and claim.scope and claim.measured
    table2 = next(s for s in report.sections if s.key == "table2")
    assert any("feats.npz: resnet50 features" in c.scope for c in table2.claims)  # the --features file ran
    assert not any("ResNet-50 features of MNIST" in c.text for c in table2.claims)  # so it is not "needed"
    # the paper's numbers are in the report
    for cell in (
        "| EM | 25 | 53 | 71 | 0.04 | 0.09 | 0.36 |",  # Table 1, as printed in the paper
        "| K-means | 2 | ",  # (our K-means row of Table 2 ...)
        "| 47.62 ± 2.1 |",  # ... beside the paper's MNIST cell
        "MNIST: ours 58.4 vs MIGD 52.92",  # Table 2's claim
        "MNIST: ours 95.11 vs IMSAT 92.9",  # Table 3's
        "STL10: ours 47.79 vs IMSAT 47.39 (ours best); CIFAR10: ours 66.17 vs IIC 66.5 (IIC best)",  # Table 5 at 0.1
    ):
        assert cell in md, cell
    assert "budget **tiny**" in md and report.meta["machine"] in md
    # which code made it and how busy the machine was: recorded, and checked against the code installed
    from ccel_core.reproduce import describe_provenance
    from ccel_core.sources import source_digest

    assert report.meta["source"] == source_digest() and f"source `{source_digest()[:12]}`" in md
    assert report.meta["load"] is None or (report.meta["load"] >= 0 and "load average" in md)
    assert report.meta["threads"] >= 1 and "torch threads" in md
    assert describe_provenance(report.meta)[0] == "same"
    assert describe_provenance({**report.meta, "source": "0" * 64})[0] == "other"
    assert describe_provenance({k: v for k, v in report.meta.items() if k != "source"})[0] == "unknown"


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_html_opens_offline_in_chromium(tiny: Path) -> None:
    from explorer.headless import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    report = load_report(tiny / "report.json")
    figures = sum(kind == "figure" for s in report.sections for kind, _ in s.blocks)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        urls: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: urls.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tiny / "report.html").as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}", timeout=60_000
        )
        assert page.locator("table").count() >= len(report.sections)
        assert page.get_by_text("Verdicts", exact=True).count() == 1
        browser.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "blob:")) for u in urls), [u for u in urls if not u.startswith("file:")]


@pytest.mark.slow
def test_the_reproduction_page_renders_the_report(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    (tiny / "report.json").touch()  # the newest report: the page's default
    monkeypatch.setenv("CCEL_REPRODUCTION_DIR", str(tiny))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/reproduction.py").run()
    assert not at.exception, [e.message for e in at.exception]
    report = load_report(tiny / "report.json")
    assert at.selectbox[0].value == tiny.resolve()
    shown = {m.label: m.value for m in at.metric}
    assert {k: int(v) for k, v in shown.items()} == report.counts()
    assert len(at.tabs) == len(report.sections)
    assert len(at.dataframe[0].value) == len(report.claims)
    at.multiselect[0].set_value([HOLDS]).run()
    assert set(at.dataframe[0].value["verdict"]) <= {HOLDS}
    (tiny / "report.json").write_text("{broken")
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "explorer" / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("views/reproduction.py").run()
        assert any("is not a ccel reproduction report" in e.value for e in at.error)
    finally:
        (tiny / "report.json").write_text(report.to_json())


def test_the_commit_is_only_taken_from_ccel_s_own_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed ccel inside some other git repository must not report that repository's commit."""
    from ccel_core.reproduce import provenance

    answers = {"rev-parse": "/somewhere/else", "describe": "deadbeef"}
    monkeypatch.setattr(provenance, "_git", lambda *args: answers[args[0]])
    assert provenance.git_commit() is None
    answers["rev-parse"] = str(provenance._REPO)
    assert provenance.git_commit() == "deadbeef"
    monkeypatch.setattr(provenance, "_git", lambda *args: None)  # no git, or one that hung
    assert provenance.git_commit() is None
