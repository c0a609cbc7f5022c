"""The training defaults are :class:`TrainConfig`'s wherever they are offered: the estimator's
signature, ``ccel fit`` without flags and the app's launch form. The expectations are generated from
TrainConfig's fields, so these tests guard the derivation: a default restated as a different
literal anywhere fails here. Likewise each numeric setting's constraint (its declared Interval) is
what the config checks and what the launch form's widgets start from."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from ccel_core.cli import build_parser
from ccel_core.cli.fit import build_configs
from ccel_core.estimator import CollisionClustering
from ccel_core.training import TrainConfig

DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
# the estimator's deliberate differences: scikit-learn's K = 8 (TrainConfig: None, the data's class
# count, which an unlabeled array does not have) and the CPU (TrainConfig: "auto")
OWN = {"n_clusters": 8, "device": "cpu"}


def test_the_estimator_offers_trainconfigs_defaults() -> None:
    params = inspect.signature(CollisionClustering.__init__).parameters
    shared = [p for p in params if p in DEFAULTS]
    assert len(shared) >= 12, shared  # the training parameters the estimator exposes
    got = {p: params[p].default for p in shared}
    assert got == {p: OWN.get(p, DEFAULTS[p]) for p in shared}


def test_ccel_fit_without_flags_trains_trainconfigs_defaults() -> None:
    (config,) = build_configs(build_parser("fit").parse_args(["fit"]))
    assert config == TrainConfig()


def test_the_launch_form_offers_trainconfigs_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))  # the page writes nowhere else
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at = at.switch_page("views/clustering_runs.py").run()
    assert not at.exception, [e.message for e in at.exception]
    form = {
        "method": at.selectbox(key="cr.method").value,
        "model": at.selectbox(key="cr.model").value,
        "epochs": at.number_input(key="cr.epochs").value,
        "lr": at.number_input(key="cr.lr").value,
        "batch_size": at.number_input(key="cr.batch").value,
        "weight_decay": at.number_input(key="cr.wd").value,
        "lam": at.number_input(key="cr.lam").value,
    }
    assert form == {name: DEFAULTS[name] for name in form}


BOUNDED = [f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("bounds") is not None]


@pytest.mark.parametrize("name", BOUNDED)
def test_each_numeric_setting_is_checked_by_its_declared_constraint(name: str) -> None:
    bounds = TrainConfig.bounds(name)
    method = {"gamma": "migd", "mu": "imsat"}.get(name, TrainConfig.method)  # the method taking it
    edge = bounds.low if not bounds.low_open else bounds.low + (1 if bounds.integer else 1e-9)
    assert getattr(TrainConfig(method=method, **{name: edge}), name) == edge  # the smallest allowed value
    below = bounds.low - 1 if bounds.integer else bounds.low - 1e-9
    with pytest.raises(ValueError, match=rf"^{name}=.* should be {re.escape(bounds.lower)}$"):
        TrainConfig(method=method, **{name: below if not bounds.low_open else bounds.low})
    if bounds.high is not None:
        with pytest.raises(ValueError, match=rf"^{name}=.* should be {re.escape(bounds.upper)}$"):
            TrainConfig(method=method, **{name: bounds.high * 2})


def test_the_launch_forms_minima_are_the_constraints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))  # the page writes nowhere else
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at = at.switch_page("views/clustering_runs.py").run()
    widgets = {"epochs": "cr.epochs", "batch_size": "cr.batch", "weight_decay": "cr.wd", "lam": "cr.lam"}
    widgets.update(n_clusters="cr.k")
    for name, key in widgets.items():
        assert at.number_input(key=key).min == TrainConfig.bounds(name).low, name
    lr = at.number_input(key="cr.lr").min  # an open bound: the form's smallest step inside it
    assert lr in TrainConfig.bounds("lr") and lr <= 1e-6
