"""The ``ccel fit`` flags are generated from TrainConfig: one flag per field, and back again."""

from __future__ import annotations

import dataclasses

import pytest

from ccel_core.cli import build_parser
from ccel_core.cli.fit import build_configs
from ccel_core.cli.flags import FIELDS, config_argv, flag_name
from ccel_core.training import TrainConfig

# Every flag `ccel fit --help` listed before the flags were generated: none may go.
FLAGS_BEFORE = (
    "--data --root --download --split --n-samples --data-option --method --model --n-clusters --hidden --weights "
    "--lam --gamma --mu --beta --augment --loss --y-step --solver-max-iter --solver-tol --accelerate "
    "--no-accelerate --y-solver --y-init --labeled-fraction --epochs --batch-size --optimizer --lr --momentum "
    "--weight-decay --amp --no-amp --precision --device --eval-every --seed --seeds --config --runs-dir --run-id "
    "--group --name --resume --no-progress"
).split()


def _fit_parser():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices["fit"]


def test_every_field_has_exactly_one_flag_and_no_flag_is_lost() -> None:
    fit = _fit_parser()
    by_dest: dict[str, list[str]] = {}
    for action in fit._actions:
        by_dest.setdefault(action.dest, []).extend(action.option_strings)
    for name in FIELDS:
        assert name in by_dest, f"TrainConfig.{name} has no ccel fit flag"
        positive = [o for o in by_dest[name] if not o.startswith("--no-")]
        assert positive == [flag_name(name)], (name, by_dest[name])
    options = {o for opts in by_dest.values() for o in opts}
    assert not set(FLAGS_BEFORE) - options, sorted(set(FLAGS_BEFORE) - options)


def test_help_shows_each_default_from_the_config() -> None:
    text = _fit_parser().format_help()
    assert "(default 250)" in text and "(default exact)" in text and "(default 0.001)" in text
    assert "kmeans" in text and "stl10" in text and "resnet18" in text  # {methods}, {datasets}, {models}


def _rebuild(config: TrainConfig) -> TrainConfig:
    args = build_parser().parse_args(["fit", *config_argv(config)])
    (rebuilt,) = build_configs(args)
    return rebuilt


def test_default_config_needs_no_flags() -> None:
    assert config_argv(TrainConfig()) == []
    assert _rebuild(TrainConfig()) == TrainConfig()


@pytest.mark.parametrize(
    "changes",
    [
        {"data": "blobs", "n_samples": 300, "split": "test", "data_options": {"noise": 0.25, "standardize": True}},
        {
            "method": "ccel",
            "lam": 12.5,
            "beta": 0.5,
            "augment": 0.3,
            "y_step": "full",
            "solver_max_iter": 7,
            "solver_tol": 1e-7,
            "accelerate": False,
            "y_solver": "em",
            "y_init": "predictions",
        },
        {"method": "supervised", "loss": "shannon", "model": "mlp", "hidden": 32, "n_clusters": 4},
        {"method": "migd", "gamma": 2.0, "optimizer": "adam", "lr": 0.003, "momentum": 0.5, "weight_decay": 0.0},
        {
            "method": "imsat",
            "lam": 0.2,
            "mu": 3.0,
            "epochs": 3,
            "batch_size": 64,
            "seed": 9,
            "device": "cpu",
            "amp": True,
            "precision": "float64",
            "eval_every": 2,
            "labeled_fraction": 0.0,
        },
        {"method": "ccel", "labeled_fraction": 0.1},
    ],
)
def test_config_round_trips_through_the_generated_flags(changes: dict) -> None:
    config = TrainConfig(**changes)
    assert _rebuild(config) == config


def test_the_round_trip_covers_every_field() -> None:
    """The cases above change every field at least once (so each flag's type is exercised)."""
    cases = test_config_round_trips_through_the_generated_flags.pytestmark[0].args[1]
    changed = {k for case in cases for k in case if case[k] != dataclasses.asdict(TrainConfig())[k]}
    missing = set(FIELDS) - changed - {"root", "weights"}  # paths: made absolute, tested below
    assert not missing, sorted(missing)


def test_paths_round_trip_absolute(tmp_path) -> None:
    config = TrainConfig(root=str(tmp_path / "data"))
    assert _rebuild(config) == config


def test_an_option_value_that_would_parse_differently_is_refused() -> None:
    with pytest.raises(ValueError, match="data_options"):
        config_argv(TrainConfig(data_options={"labels": "1"}))


def test_resume_accepts_exactly_the_resumable_keys(tmp_path, capsys) -> None:
    from ccel_core.cli import main

    assert main(["fit", "--resume", "r1", "--lr", "0.5", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--lr" in err and "--eval-every" in err and "--epochs" in err


def test_ensure_valid_rechecks_a_changed_config_even_when_it_compares_equal() -> None:
    cfg = TrainConfig(epochs=3)
    cfg.epochs = 3.0  # == 3, but not what validation leaves behind
    cfg.ensure_valid()
    assert type(cfg.epochs) is int
    cfg.amp = 0  # == False, but not a bool
    with pytest.raises(ValueError, match="amp=0"):
        cfg.ensure_valid()
