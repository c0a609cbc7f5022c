"""The method table (:data:`ccel_core.names.METHOD_TABLE`) is the one declaration of the methods: every
list of method names, every method default and every per-method fact offered elsewhere equals it —
``make_objective``'s objectives and solvers, TrainConfig's validation, the ``ccel`` command's help,
the app's launch form, the paper tables' names, the docs' method table and what a run's loss means.
A method added to the table but not wired in somewhere fails one of these."""

from __future__ import annotations

import os
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

    for m in METHODS:
        assert objective_of({"method": m}).startswith(f"{m} ({METHOD[m].loss}")
    assert objective_of({"method": SUPERVISED, "loss": "shannon"}) == "supervised (shannon CE)"
    assert objective_of({"method": "iic"}) == f"iic ({METHOD['iic'].loss})"  # no weights


def test_runs_whose_weights_differ_train_different_objectives() -> None:
    """λ enters ours' and MIADM's y-step objective (label_loss), γ MIGD's loss, λ and μ IMSAT's, β the
    θ-step's: runs that differ in them are not on one scale. The paper default given or left out is one."""
    from explorer.launcher import objective_of

    ours = objective_of({"method": "ccel"})
    assert ours == "ccel (collision CE to the pseudo-labels; λ 100)"
    assert objective_of({"method": "ccel", "lam": 100}) == ours == objective_of({"method": "ccel", "beta": 0.0})
    assert objective_of({"method": "ccel", "lam": 10.0}) != ours
    assert objective_of({"method": "ccel", "beta": 0.5}) == "ccel (collision CE to the pseudo-labels; λ 100, β 0.5)"
    assert objective_of({"method": "migd", "gamma": 2}) != objective_of({"method": "migd"})
    assert objective_of({"method": "imsat", "mu": 3}) == "imsat (R_SAT + λ (mean H(σ) − μ H(σ̄)); λ 0.1, μ 3)"
    assert objective_of({"method": "miadm", "lam": "a lot"}).endswith("λ a lot)")  # hand-edited: no crash
    assert objective_of({"method": "ccel", "beta": "0"}) == ours  # a hand-edited zero is still no augmentation
    # the strength of T(x) shapes the augmentation term: part of the objective wherever that term is trained
    assert objective_of({"method": "iic", "augment": 2.0}) != objective_of({"method": "iic", "augment": 1.0})
    assert objective_of({"method": "ccel", "augment": 2.0}) == ours  # β = 0: no augmentation term


# A method added to the table (before its last row, supervised) in a fresh process (names.py run with one more row before anything
# derives from it): everything that lists, validates, builds, trains or explains methods takes it.
FAKE = r"""
import __future__, importlib.util, sys, types, json
spec = importlib.util.find_spec("ccel_core.names")
assert "ccel_core.names" not in sys.modules  # nothing derived from the table yet
source = open(spec.origin, encoding="utf-8").read()
head, tail = source.split("\nMETHOD: dict[str, Method] =", 1)
names = types.ModuleType("ccel_core.names")
names.__file__ = spec.origin
sys.modules["ccel_core.names"] = names
flags = __future__.annotations.compiler_flag
exec(compile(head, spec.origin, "exec", flags=flags, dont_inherit=True), names.__dict__)
fake = names.Method("ccel-fake", "Fake", "a fake method of the test", "collision CE to the pseudo-labels",
                    {"lam": 7.0}, "collision", "eq11", exact=True)
names.METHOD_TABLE = (*names.METHOD_TABLE[:-1], fake, names.METHOD_TABLE[-1])
exec(compile("METHOD: dict[str, Method] =" + tail, spec.origin, "exec", flags=flags, dont_inherit=True), names.__dict__)

from ccel_core.cli import build_parser, main
from ccel_core.experiments.paper import PAPER_METHOD_NAMES
from ccel_core.objectives import make_objective
from ccel_core.training import TrainConfig
from ccel_core.estimator import CollisionClustering
import numpy as np
from explorer.launcher import objective_of

objective, solver = make_objective("ccel-fake", 3)
fit = next(iter(build_parser("fit")._subparsers._group_actions[0].choices.values()))
help_text = " ".join(next(a.help for a in fit._actions if "--method" in a.option_strings).split())
TrainConfig(method="ccel-fake")
code = main(["fit", "--data", "blobs", "--method", "ccel-fake", "--model", "linear", "--epochs", "1",
             "--n-samples", "200", "--runs-dir", sys.argv[1], "--run-id", "fake", "--no-progress"])
est = CollisionClustering(n_clusters=3, method="ccel-fake", epochs=1).fit(np.random.default_rng(0).random((60, 2)))
print(json.dumps(dict(
    methods=list(names.METHODS), objective=[objective.name, objective.ce, objective.fairness, objective.lam],
    solver=[solver.kind, solver.params.get("lam"), solver.params.get("objective")], help=help_text,
    paper=PAPER_METHOD_NAMES["ccel-fake"], loss=objective_of({"method": "ccel-fake"}), fit=code,
    estimator=list(est.pseudo_labels_.shape),
)))
"""


def test_a_method_added_to_the_table_is_offered_built_and_trained_everywhere(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FAKE, str(tmp_path / "runs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["methods"] == [*METHODS, "ccel-fake"]
    assert got["objective"] == ["ccel-fake", "collision", "eq11", 7.0]
    assert got["solver"] == ["exact", 7.0, "eq11"] and "ccel-fake" in got["help"] and got["paper"] == "Fake"
    assert got["loss"] == "ccel-fake (collision CE to the pseudo-labels; λ 7)" and got["fit"] == 0
    assert got["estimator"] == [60, 3]  # the estimator trained it, pseudo-labels and all
