"""The method table (:data:`ccel_core.names.METHOD_TABLE`) is the one declaration of the methods: every
list of method names, every method default and every per-method fact offered elsewhere equals it —
``make_objective``'s objectives and solvers, TrainConfig's validation, the ``ccel`` command's help,
the app's launch form, the paper tables' names, the docs' method table and what a run's loss means.
A method added to the table but not wired in somewhere fails one of these."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccel_core.cli import build_parser
from ccel_core.experiments.paper import PAPER_METHOD_NAMES
from ccel_core.names import DEFAULTS, METHOD, METHOD_TABLE, METHODS, SUPERVISED
from ccel_core.objectives import SelfLabeling, make_objective
from ccel_core.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ALL = [m.name for m in METHOD_TABLE]


def test_the_names_and_defaults_are_the_tables() -> None:
    assert (*METHODS, SUPERVISED) == tuple(ALL) and len(set(ALL)) == len(ALL)
    assert DEFAULTS == {m.name: dict(m.params) for m in METHOD_TABLE}


@pytest.mark.parametrize("name", ALL)
def test_make_objective_builds_what_the_table_declares(name: str) -> None:
    spec = METHOD[name]
    objective, solver = make_objective(name, 3)
    assert objective.name == name and objective.needs_augmentation == spec.augmentation
    assert isinstance(objective, SelfLabeling) == (spec.pseudo_labels or name == SUPERVISED)  # Supervised is one
    if spec.pseudo_labels:
        assert (objective.ce, objective.fairness, objective.lam) == (spec.ce, spec.fairness, spec.params["lam"])
        assert solver is not None and (solver.kind == "exact") == spec.exact
        if spec.exact:
            assert solver.params["objective"] == spec.fairness
    else:
        assert solver is None
    for param, value in spec.params.items():  # a parameter the method does not take is refused
        others = [m for m in ALL if param not in METHOD[m].params]
        if others:
            with pytest.raises(ValueError, match=f"is not used by method='{others[0]}'"):
                make_objective(others[0], 3, **{param: value})


def test_every_list_of_method_names_is_the_tables() -> None:
    with pytest.raises(ValueError) as err:
        TrainConfig(method="no-such-method")
    assert re.findall(r"known methods: (.*)", str(err.value))[0].split(", ") == ALL
    fit = next(a for a in build_parser("fit")._subparsers._group_actions[0].choices.values())  # type: ignore[union-attr]
    method_help = " ".join(next(a.help for a in fit._actions if "--method" in a.option_strings).split())
    assert all(name in method_help for name in ALL), method_help  # `ccel fit --help`
    assert {m: PAPER_METHOD_NAMES[m] for m in ALL} == {m.name: m.paper for m in METHOD_TABLE}


def test_the_docs_method_table_lists_every_self_labeling_method() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "math.md").read_text(encoding="utf-8"), re.M)
    assert [r for r in rows if r in ALL] == list(METHODS)


def test_the_launch_form_offers_the_tables_methods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))  # the page writes nowhere else
    at = AppTest.from_file(str(ROOT / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at = at.switch_page("views/clustering_runs.py").run()
    assert not at.exception, [e.message for e in at.exception]
    form = at.selectbox(key="cr.method")
    assert list(form.options) == list(METHODS) and all(METHOD[m].summary in form.help for m in METHODS)


def test_a_runs_loss_is_named_by_its_method() -> None:
    from explorer.launcher import objective_of

    assert {objective_of({"method": m}) for m in METHODS} == {f"{m} ({METHOD[m].loss})" for m in METHODS}
    assert objective_of({"method": SUPERVISED, "loss": "shannon"}) == "supervised (shannon CE)"
