"""The noisy-labels and loss-curves pages with Streamlit's AppTest: the headline's uncertainty, the
level's name (ρ / ε), strict seeds, honest verdicts; flat curves without a bogus argmin, unclipped
markers, a colour scale that does not exaggerate, and the losses and gradients at the chosen y.

(Selecting y by clicking the simplex needs a browser: tests/test_browser_noisy_curves.py.)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import arr, figures, metric, ok, open_page  # tests/ is on sys.path

pytest.importorskip("streamlit")

from explorer import cached  # noqa: E402

PM = r"[+-]?\d\.\d{3} ± \d\.\d{3}"  # "mean ± std" with three decimals
FAST = {"levels": "0,0.5", "seeds": "0,1", "epochs": "2", "model": "linear"}


def run_noisy(query: dict[str, str]):
    at = open_page("noisy_labels", query)
    ok(at)
    (button,) = [b for b in at.button if b.label.startswith("Run the experiment")]
    button.click().run()
    ok(at)
    return at


# --------------------------------------------------------------------------------------------------
# noisy labels
# --------------------------------------------------------------------------------------------------


def test_noisy_headline_is_the_mean_over_levels_with_its_std_over_seeds() -> None:
    at = run_noisy(FAST)
    headline = metric(at, "CCE − CE")
    assert re.fullmatch(PM, headline), headline
    # the same numbers by hand from the runs the page made (kept by explorer.cached, by settings):
    # per seed, the mean over the noisy levels (ρ > 0) of the paired difference; then mean ± sample std (ddof = 1)
    df = cached.noisy_results(("digits", "linear", "random-soft", (0.0, 0.5), (0, 1), 2))
    assert df is not None and len(df) == 2 * 2 * 2
    wide = df[df["level"] > 0].pivot_table(index=["seed", "level"], columns="loss", values="test_acc")
    per_seed = (wide["collision"] - wide["shannon"]).groupby("seed").mean().to_numpy()
    assert "CCE − CE, mean over ρ > 0 (1 level)" in [m.label for m in at.metric]
    mean, std = per_seed.mean(), per_seed.std(ddof=1)
    assert headline == f"{'+' if mean >= 0 else ''}{mean:.3f} ± {std:.3f}"
    # each loss at the top level, with its std too
    for name in ("collision CE at ρ = 0.5", "Shannon CE at ρ = 0.5"):
        assert re.fullmatch(PM, metric(at, name)), metric(at, name)
    table = at.table[0].value
    assert list(table.columns) == [
        "ρ",
        "collision CE",
        "Shannon CE",
        "collision − Shannon",
        "90% interval ±",
        "verdict",
    ]
    assert table["verdict"].iloc[0] == "identical"  # ρ = 0: one-hot targets, the same function
    assert all(re.fullmatch(PM, v) for v in table["collision − Shannon"])


def test_noisy_axes_name_rho_and_epsilon() -> None:
    at = run_noisy(FAST)
    preview, result = figures(at)
    for fig in (preview, result):
        assert fig["layout"]["xaxis"]["title"]["text"] == "ρ — fraction of corrupted targets"
    at.radio(key="nl.noise").set_value("mix").run()
    ok(at)
    (preview,) = figures(at)  # new settings: not run yet
    assert preview["layout"]["xaxis"]["title"]["text"] == "ε — mixing weight"
    assert all("noise level" != f["layout"]["xaxis"]["title"]["text"] for f in figures(at))


def test_noisy_mix_says_where_each_loss_is_ahead_with_the_numbers() -> None:
    at = run_noisy({**FAST, "noise": "mix"})
    _, result = figures(at)
    assert result["layout"]["xaxis"]["title"]["text"].startswith("ε")
    text = " ".join(m.value for m in at.markdown)
    assert "Identical at ε = 0" in text
    # ε = 0.5 gets a verdict sentence with its mean ± std (whichever way it goes)
    assert re.search(r"at ε = 0\.5 \([+-]\d\.\d{3} ± \d\.\d{3}\)", text), text
    verdict = at.table[0].value.set_index("ε").loc["0.5", "verdict"]
    sentence = {
        "collision ahead": "Collision CE is ahead beyond seed noise",
        "Shannon ahead": "Shannon CE is ahead beyond seed noise",
        "within noise": "Within seed noise",
    }[verdict]
    assert sentence in text


@pytest.mark.parametrize(
    "seeds, shown",
    [("0.5", "'0.5'"), ("0, 1.5", "'1.5'"), ("1e3", "'1e3'"), ("two", "'two'"), ("-1", "'-1'")],
)
def test_noisy_seeds_must_be_whole_numbers(seeds: str, shown: str) -> None:
    at = open_page("noisy_labels")
    at.text_input(key="nl.seeds").input(seeds).run()
    ok(at)
    errors = [e.value for e in at.error]
    assert any(e.startswith("seeds:") and shown in e for e in errors), errors
    assert not [b for b in at.button if b.label.startswith("Run the experiment")]  # nothing to run
    at.text_input(key="nl.seeds").input("1, 1, 4").run()
    assert not at.error
    assert [b.label for b in at.button if b.label.startswith("Run")] == ["Run the experiment (20 trainings)"]


def test_noisy_seeds_from_the_link_are_checked_too() -> None:
    at = open_page("noisy_labels", {"seeds": "0.5"})
    ok(at)
    assert any("'0.5' is not a whole number" in e.value for e in at.error)
    many = open_page("noisy_labels", {"seeds": ",".join(map(str, range(11)))})
    assert any("at most 10" in e.value for e in many.error)


def test_noisy_one_seed_shows_no_spread_and_says_so() -> None:
    at = run_noisy({**FAST, "seeds": "3"})
    assert metric(at, "CCE − CE").endswith("(1 seed)")
    assert "One seed at ρ = 0.5" in " ".join(m.value for m in at.markdown)


# --------------------------------------------------------------------------------------------------
# loss curves
# --------------------------------------------------------------------------------------------------


FIG1, SIMPLEX, GRADIENT = cached.LOSS_CURVE_TABS


def test_loss_curves_flat_target_has_no_argmin() -> None:
    at = open_page("loss_curves", {"y1": "0.5"})
    ok(at)
    assert metric(at, "argmin_p H₂(y,σ)") == "flat: every p"
    assert metric(at, "argmin_p H(y,σ)") == "p = 0.500"
    captions = " ".join(c.value for c in at.caption)
    assert "H₂(y,σ) = 0.6931 nats for every p" in captions
    # Rényi α = 3 at y = (½, ½): two equal minima at the ends, both named
    at.slider(key="lc.alpha").set_value(3.0).run()
    assert metric(at, "argmin_p H_3(y,σ)") == "not unique"
    assert "smallest at p = 0.000 or 1.000" in " ".join(c.value for c in at.caption)
    # and a curve that is not flat keeps its argmin
    at.slider(key="lc.y1").set_value(0.51).run()
    assert metric(at, "argmin_p H₂(y,σ)") == "p = 1.000"


def test_loss_curves_simplex_markers_are_not_clipped() -> None:
    at = open_page("loss_curves", {"t1": "1", "t2": "0", "alpha": "3", "view": SIMPLEX})
    ok(at)
    simplex = figures(at)
    assert len(simplex) == 3
    for fig in simplex:
        markers = {t["name"]: t for t in fig["data"] if t.get("name") in ("target y", "grid minimum")}
        assert set(markers) == {"target y", "grid minimum"}
        assert all(t["cliponaxis"] is False for t in markers.values())
        assert "<br>" in fig["layout"]["title"]["text"]  # the title is two short lines, not one cut-off line


def test_loss_curves_nearly_flat_loss_keeps_a_sensible_colour_range() -> None:
    at = open_page("loss_curves", {"t1": "0.34", "t2": "0.33", "view": SIMPLEX})
    ok(at)
    collision = figures(at)[1]
    heat = collision["data"][0]
    assert heat["zmax"] - heat["zmin"] == pytest.approx(0.5)  # the loss itself spans < 0.05 nats
    assert re.search(r"1\.0\d to 1\.1\d nats", collision["layout"]["title"]["text"])


def _table(at) -> pd.DataFrame:
    return at.table[0].value.set_index("loss")


def test_loss_curves_losses_and_gradients_follow_the_chosen_y() -> None:
    at = open_page("loss_curves", {"view": SIMPLEX})
    ok(at)
    sigma = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()  # s = 1

    def check(y: np.ndarray) -> None:
        tab = _table(at)
        grads = {n: tab.loc[n, ["∂/∂l₁", "∂/∂l₂", "∂/∂l₃"]].astype(float).to_numpy() for n in ("H(y,σ)", "H₂(y,σ)")}
        np.testing.assert_allclose(grads["H(y,σ)"], sigma - y, atol=1e-4)  # Shannon: σ − y
        np.testing.assert_allclose(grads["H₂(y,σ)"], sigma - y * sigma / (y @ sigma), atol=1e-4)
        assert float(tab.loc["H₂(y,σ)", "value (nats)"]) == pytest.approx(-np.log(y @ sigma), abs=1e-4)

    check(np.array([0.7, 0.2, 0.1]))
    at.slider(key="lc.t1").set_value(0.2).run()
    at.slider(key="lc.t2").set_value(0.5).run()
    ok(at)
    check(np.array([0.2, 0.5, 0.3]))
    star = [t for t in figures(at)[0]["data"] if t.get("name") == "target y"][0]
    assert arr(star["customdata"]).reshape(-1).tolist() == [0.2, 0.5, pytest.approx(0.3)]
    # s, set on the gradient tab, is the table's prediction confidence
    at = open_page("loss_curves", {"view": SIMPLEX, "scale": "0"})
    ok(at)
    np.testing.assert_allclose(
        _table(at).loc["H₂(y,σ)", ["∂/∂l₁", "∂/∂l₂", "∂/∂l₃"]].astype(float),
        1 / 3 - np.array([0.7, 0.2, 0.1]),  # σ uniform: ∂H₂/∂l = σ − y σ/(y·σ) = 1/3 − y
        atol=1e-4,
    )


def test_loss_curves_gradient_arrows_toggle() -> None:
    at = open_page("loss_curves", {"view": SIMPLEX})
    names = [t.get("name") for t in figures(at)[1]["data"]]
    assert names == ["H₂(y,σ)", "a gradient step on the logits moves σ", "pick σ", "target y", "grid minimum"]
    at.toggle(key="lc.arrows").set_value(False).run()
    ok(at)
    assert [t.get("name") for t in figures(at)[1]["data"]] == ["H₂(y,σ)", "pick σ", "target y", "grid minimum"]
    assert at.query_params["arrows"] == "false"


def test_loss_curves_gradient_caption_follows_the_confidence() -> None:
    """The caption under the gradient chart states its numbers at the uniform target: collision CE's 0
    and Shannon's pull at s > 0; at s = 0 (σ uniform too) every gradient is 0, and it says so."""
    at = open_page("loss_curves", {"view": GRADIENT})
    ok(at)

    def caption() -> str:
        return next(c.value for c in at.caption if "Gradient norm at the uniform target" in c.value)

    text = caption()
    shannon = float(re.search(r"H\(y,σ\) ([0-9.e+-]+)", text).group(1))
    collision = float(re.search(r"H₂\(y,σ\) ([0-9.e+-]+)", text).group(1))
    assert collision < 1e-6 < shannon and "still pulls σ towards uniform" in text
    at.slider(key="lc.scale").set_value(0.0).run()
    ok(at)
    text = caption()
    assert float(re.search(r"H\(y,σ\) ([0-9.e+-]+)", text).group(1)) < 1e-6 and "gradient vanishes there" in text
