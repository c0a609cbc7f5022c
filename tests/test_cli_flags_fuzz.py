"""Every numeric flag of every ``ccel`` command has one declared constraint (an argparse ``type=``
from :mod:`ccel_core.cli._common`), checked before any work starts: a value it refuses exits 2
naming the flag and writes nothing (issue 20).

The flags are discovered from :func:`ccel_core.cli.build_parser`, so a new flag is fuzzed (and a
new flag with a bare ``type=int`` fails :func:`test_every_typed_flag_declares_a_constraint`)
without touching this file. Whether a fuzz value is valid for a flag is asked of its declared
constraint, never of a hand list.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccel_core.cli import _common, build_parser, main

VALUES = ("0", "-1", "nan", "inf", "1e308", "abc")
NEVER_VALID = ("nan", "inf", "-inf", "abc", "")  # for any numeric flag
Number: Any = getattr(_common, "Number", ())  # the constraint type (absent before issue 20)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _commands(sub, (*path, name))


def _typed() -> list[tuple[tuple[str, ...], Any, argparse.Action]]:
    return [(path, p, a) for path, p in _commands(build_parser()) for a in p._actions if a.type is not None]


def _is_numeric(action: argparse.Action) -> bool:
    return action.type in (int, float) or isinstance(action.type, Number)


TYPED = _typed()
NUMERIC = [(path, p, a) for path, p, a in TYPED if _is_numeric(a)]


def _id(case: tuple[tuple[str, ...], Any, argparse.Action]) -> str:
    path, _, action = case
    return " ".join((*path, action.option_strings[0] if action.option_strings else action.dest))


def _accepts(action: argparse.Action, value: str) -> bool:
    """What the flag's declared constraint says of ``value``."""
    assert callable(action.type)
    try:
        action.type(value)
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return False
    return True


def test_every_typed_flag_declares_a_constraint() -> None:
    bare = [_id(c) for c in TYPED if c[2].type is not str and not isinstance(c[2].type, Number)]
    assert not bare, f"numeric flags without a declared constraint (use a cli._common type): {bare}"
    commands = {" ".join(path) for path, _, _ in NUMERIC}
    assert {"fit", "bench solvers", "bench features", "features", "reproduce"} <= commands, commands
    assert not [_id(c) for c in NUMERIC if not c[2].option_strings], "a numeric positional: fuzz it too"


@pytest.mark.parametrize("case", NUMERIC, ids=[_id(c) for c in NUMERIC])
def test_invalid_values_exit_2_naming_the_flag_and_write_nothing(
    case: tuple[tuple[str, ...], Any, argparse.Action],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    path, parser, action = case
    flag = action.option_strings[0]
    for value in NEVER_VALID:
        assert not _accepts(action, value), f"{_id(case)} accepts {value!r}"
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CCEL_RUNS_DIR", str(work / "runs"))
    monkeypatch.setenv("CCEL_DATA", str(work / "data"))
    required = [
        item
        for a in parser._actions
        if a.required and a.option_strings and a is not action
        for item in (a.option_strings[0], str(work / a.dest))
    ]
    tried = 0
    for value in VALUES:
        if _accepts(action, value):
            continue  # valid for this flag by its declared constraint
        tried += 1
        argv = [*path, *required, flag, value]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", err), (argv, err)
        assert "ccel: error: " in err and "Traceback" not in err, err
        assert not any(work.iterdir()), (argv, sorted(p.name for p in work.iterdir()))
    assert tried >= 3, f"{_id(case)}: only {tried} of {VALUES} refused"


def test_constraints_agree_with_their_kind() -> None:
    """An integer flag refuses fractions; a float flag's accepted values are finite numbers."""
    for case in NUMERIC:
        action = case[2]
        kind = getattr(action.type, "kind", action.type)
        if kind is int:
            assert not _accepts(action, "2.5") and not _accepts(action, "1e308"), _id(case)
        for text in ("0", "1", "2", "0.5", "1e308", "-1"):
            if _accepts(action, text):
                assert math.isfinite(float(action.type(text))), (_id(case), text)  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# the cases of issue 20, one by one
# ------------------------------------------------------------------------------------------
def test_bench_solvers_passes_given_values_and_derives_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``x or default``: a given value reaches the report as given; left out, the defaults are
    table1_report's own (``--quick``: the quick budgets)."""
    import functools
    import inspect

    from ccel_core.experiments import race

    defaults = inspect.signature(race.table1_report).parameters
    seen: list[dict[str, Any]] = []

    @functools.wraps(race.table1_report)  # the same signature: the help text reads its defaults
    def fake(**kw: Any) -> str:
        seen.append(kw)
        return ""

    monkeypatch.setattr(race, "table1_report", fake)
    assert main(["bench", "solvers", "--quick", "--n", "7", "--em-iters", "1", "--ks", "2"]) == 0
    assert seen[-1]["n"] == 7 and seen[-1]["em_iters"] == 1 and seen[-1]["pgd_iters"] == 600
    assert main(["bench", "solvers", "--ks", "2", "--no-timing"]) == 0
    for key in ("n", "em_iters", "pgd_iters", "pgd_seconds_factor"):
        assert seen[-1].get(key, defaults[key].default) == defaults[key].default, key


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["bench", "solvers", "--n", "0"], "--n"),
        (["bench", "solvers", "--em-iters", "0"], "--em-iters"),
        (["bench", "solvers", "--ks", "1"], "--ks"),
        (["bench", "features", "--threads", "-1"], "--threads"),
        (["bench", "features", "--seeds", "0"], "--seeds"),
        (["reproduce", "--seeds", "1"], "--seeds"),
        (["fit", "--epochs", "0"], "--epochs"),
        (["fit", "--lr", "nan"], "--lr"),
        (["fit", "--seeds", "1", "-1"], "--seeds"),
    ],
)
def test_issue_20_flag_values(
    argv: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CCEL_RUNS_DIR", str(tmp_path / "runs"))
    assert main(argv) == 2
    assert f"argument {flag}:" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["fit", "features"])
def test_data_option_parse_errors_name_the_option(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    base = {
        "fit": ["fit", "--data", "blobs", "--runs-dir", str(tmp_path / "runs")],
        "features": ["features", "--data", "blobs", "--out", str(tmp_path / "f.npz"), "--no-pretrained"],
    }[command]
    assert main([*base, "--data-option", "noise=abc"]) == 2
    err = capsys.readouterr().err
    assert "--data-option noise=abc: expected a" in err and "number" in err, err
    assert main([*base, "--data-option", "n_clusters=2.5"]) == 2
    assert "--data-option n_clusters=2.5: expected an integer" in capsys.readouterr().err
    assert main([*base, "--data-option", "bogus=1"]) == 2
    err = capsys.readouterr().err
    assert "--data-option bogus=1: " in err and "n_clusters" in err, err
    assert not any(tmp_path.iterdir())


def test_data_options_are_checked_by_type_in_load_dataset() -> None:
    from ccel_core.data import load_dataset

    with pytest.raises(ValueError, match=r"noise='abc'.*expected a finite number"):
        load_dataset("blobs", noise="abc")
    with pytest.raises(ValueError, match=r"noise=nan.*expected a finite number"):
        load_dataset("blobs", noise=float("nan"))
    with pytest.raises(ValueError, match=r"as_images='maybe'.*expected a boolean"):
        load_dataset("digits", as_images="maybe")
    assert load_dataset("digits", as_images="yes").x.ndim == 4


@pytest.mark.parametrize("where", ["/proc/ccel-x", "{file}/sub"])
def test_reproduce_refuses_an_unwritable_out_before_computing(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import ccel_core.reproduce as rp

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reproduce() ran although --out cannot be written")

    monkeypatch.setattr(rp, "reproduce", boom)
    (tmp_path / "file").write_text("x")
    out = where.format(file=tmp_path / "file")
    assert main(["reproduce", "--budget", "tiny", "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}" in err and "cannot" in err, err


def test_reproduce_probe_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ccel_core.reproduce as rp

    seen: list[bool] = []

    def fake(budget: str, out: str, **kwargs: Any) -> None:
        seen.append(Path(out).exists())
        raise ValueError("unknown section(s) ['nope']")

    monkeypatch.setattr(rp, "reproduce", fake)
    out = tmp_path / "new" / "deeper"
    assert main(["reproduce", "--budget", "tiny", "--out", str(out)]) == 2
    assert seen == [False] and not (tmp_path / "new").exists()
