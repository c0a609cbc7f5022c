"""``load_report`` checks a ``report.json`` once, against the report's own dataclasses: a hand-edited
file either loads and then renders (markdown, HTML) or is refused with a ``ValueError`` naming the
file and the JSON path of the bad part (``sections[0].blocks[0]``); nesting deeper than the limit is
refused the same way, never a ``RecursionError``. The property test mutates every part of a valid
report to values of the wrong type and shape (and deletes every key) and checks exactly that."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reproduce import synthetic_report  # tests/ is on sys.path

from ccel_core.reproduce import load_report

REFUSED = r"report\.json is not a ccel reproduction report"


@pytest.fixture(scope="module")
def valid() -> dict[str, Any]:
    """A valid report as plain JSON (one section: text, a table, a figure, two claims)."""
    return json.loads(synthetic_report().to_json())


def write(folder: Path, raw: Any) -> Path:
    path = folder / "report.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw), encoding="utf-8")
    return path


def refused(folder: Path, raw: Any, where: str) -> str:
    """The message of the ``ValueError`` that loading ``raw`` raises; it names the file and ``where``."""
    path = write(folder, raw)
    with pytest.raises(ValueError, match=REFUSED) as info:
        load_report(path)
    message = str(info.value)
    assert str(path) in message and where in message, message
    return message


def edited(valid: dict[str, Any], path: tuple[Any, ...], value: Any = ...) -> dict[str, Any]:
    """``valid`` with the part at ``path`` replaced by ``value`` (``...``: deleted)."""
    out = copy.deepcopy(valid)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


# ----------------------------------------------------------------------------- the named errors


def test_a_string_meta_seconds_is_refused_by_name(valid: dict[str, Any], tmp_path: Path) -> None:
    message = refused(tmp_path, edited(valid, ("meta", "seconds"), "12"), "meta.seconds")
    assert "expected a number, got str '12'" in message


def test_a_three_item_block_is_refused_by_name(valid: dict[str, Any], tmp_path: Path) -> None:
    bad = edited(valid, ("sections", 0, "blocks", 0), ["markdown", "text", "extra"])
    message = refused(tmp_path, bad, "sections[0].blocks[0]")
    assert "2 items" in message and "got 3" in message


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("meta",), "meta"),
        (("sections",), "sections"),
        (("meta", "command"), "meta.command"),
        (("meta", "budget"), "meta.budget"),
        (("sections", 0, "key"), "sections[0].key"),
        (("sections", 0, "title"), "sections[0].title"),
        (("sections", 0, "claims", 1, "text"), "sections[0].claims[1].text"),
        (("sections", 0, "claims", 0, "test"), "sections[0].claims[0].test"),
        (("sections", 0, "claims", 0, "test", "verdict"), "sections[0].claims[0].test.verdict"),
    ],
)
def test_a_missing_field_is_refused_by_name(
    path: tuple[Any, ...], where: str, valid: dict[str, Any], tmp_path: Path
) -> None:
    assert "is missing" in refused(tmp_path, edited(valid, path), where)


@pytest.mark.parametrize(
    ("path", "value", "where", "why"),
    [
        (("sections",), {"a": 1}, "sections", "expected a list"),
        (("sections", 0, "blocks", 0, 0), "picture", "sections[0].blocks[0][0]", "'markdown' or 'figure'"),
        (("sections", 0, "blocks", 2, 1), "[1, 2]", "sections[0].blocks[2][1]", "not a plotly figure"),
        (("sections", 0, "blocks", 2, 1), "{not json", "sections[0].blocks[2][1]", "not a plotly figure"),
        (("sections", 0, "claims", 0, "test", "n"), [3, "3"], "sections[0].claims[0].test.n[1]", "integer"),
        (("sections", 0, "claims", 0, "test", "verdict"), "maybe", "sections[0].claims[0].test.verdict", "holds"),
        (("sections", 0, "claims", 0, "scale"), True, "sections[0].claims[0].scale", "got bool"),
        (("sections", 0, "error"), 3, "sections[0].error", "expected a string or null"),
        (("meta", "seeds"), 2.5, "meta.seeds", "expected an integer"),
    ],
)
def test_a_wrong_type_or_value_is_refused_by_name(
    path: tuple[Any, ...], value: Any, where: str, why: str, valid: dict[str, Any], tmp_path: Path
) -> None:
    assert why in refused(tmp_path, edited(valid, path, value), where)


def test_a_report_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    assert "expected an object, got a list" in refused(tmp_path, [1, 2], "report")


def test_deep_nesting_is_a_value_error_naming_the_file(tmp_path: Path) -> None:
    message = refused(tmp_path, "[" * 100_000 + "]" * 100_000, "nested")
    assert "more than" in message and "levels" in message


def test_deep_nesting_inside_a_figure_or_meta_is_refused(valid: dict[str, Any], tmp_path: Path) -> None:
    deep = "[" * 5_000 + "]" * 5_000
    refused(tmp_path, edited(valid, ("sections", 0, "blocks", 2, 1), deep), "sections[0].blocks[2][1]")
    nested: Any = 0
    for _ in range(200):
        nested = [nested]
    refused(tmp_path, edited(valid, ("meta", "extra"), nested), "nested")


def test_brackets_inside_strings_are_not_nesting(valid: dict[str, Any], tmp_path: Path) -> None:
    text = "[[[{{ " * 200 + ' \\" ]]]'
    report = load_report(write(tmp_path, edited(valid, ("sections", 0, "blocks", 0, 1), text)))
    assert report.sections[0].blocks[0] == ("markdown", text)
    assert text in report.markdown()


def test_nulls_are_nan_and_lists_are_tuples_as_written(valid: dict[str, Any], tmp_path: Path) -> None:
    report = load_report(write(tmp_path, valid))
    test = report.sections[0].claims[1].test  # not measurable: its numbers are NaN, written as null
    assert test.difference != test.difference and isinstance(test.n, tuple)
    assert report.to_json() == synthetic_report().to_json()


def test_a_plotly_string_title_renders(valid: dict[str, Any], tmp_path: Path) -> None:
    figure = json.dumps({"data": [{"type": "bar", "x": [1], "y": [2]}], "layout": {"title": "plain"}})
    report = load_report(write(tmp_path, edited(valid, ("sections", 0, "blocks", 2, 1), figure)))
    assert "*Figure table2.1: plain*" in report.markdown()


def test_the_committed_report_loads() -> None:
    committed = Path(__file__).resolve().parents[1] / "docs" / "reproduction" / "report.json"
    report = load_report(committed)
    assert report.sections and report.claims and report.markdown().startswith("# Reproduction report")


# ----------------------------------------------------------------------------- render after load


WRONG = ("text", "12", 3, 2.5, -1, True, None, [], ["a", "b", "c"], {}, {"text": 1}, [[[[1]]]])


def parts(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every part of a JSON value (containers and leaves), the root excluded."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*path, key)
        yield from parts(child, (*path, key))


def loads_then_renders(folder: Path, raw: Any) -> bool:
    """The property: either load raises the clear error, or the loaded report renders. True: it loaded."""
    path = write(folder, raw)
    try:
        report = load_report(path)
    except ValueError as exc:
        assert re.search(REFUSED, str(exc)) and str(path) in str(exc), exc
        return False
    assert report.markdown().startswith("# Reproduction report")
    assert report.html().rstrip().endswith("</html>")
    report.counts()
    for claim in report.claims:
        assert isinstance(claim.verdict, str) and isinstance(claim.test_text, str)
    return True


def test_every_part_mutated_either_refused_or_rendered(valid: dict[str, Any], tmp_path: Path) -> None:
    plain = edited(valid, ("sections", 0, "blocks", 2))  # without its figure: a fast HTML (the next test has it)
    paths = list(parts(plain))
    loaded = 0
    for path in paths:
        loaded += loads_then_renders(tmp_path, edited(plain, path))  # deleted
        for value in WRONG:
            loaded += loads_then_renders(tmp_path, edited(plain, path, value))
    assert len(paths) > 50 and 0 < loaded < len(paths) * (len(WRONG) + 1)


FIGURES = (
    "{}",
    '{"data": []}',
    '{"layout": {"title": "plain"}}',
    '{"layout": {"title": 5}}',
    '{"layout": null}',
    '{"data": [{"type": "bar", "x": [1], "y": [2]}], "layout": {"title": {"text": 3}}}',
    '{"data": 5}',
    '{"data": [{"type": "nope"}]}',
    '{"layout": {"xaxis": {"range": "x"}}}',
    '{"frames": 7}',
    "[]",
    "null",
    "",
)


def test_every_part_of_a_figure_block_mutated_either_refused_or_rendered(valid: dict[str, Any], tmp_path: Path) -> None:
    block = ("sections", 0, "blocks", 2)
    loaded = 0
    for path in [block, (*block, 0), (*block, 1)]:
        loaded += loads_then_renders(tmp_path, edited(valid, path))
        for value in WRONG:
            loaded += loads_then_renders(tmp_path, edited(valid, path, value))
    for content in FIGURES:
        loaded += loads_then_renders(tmp_path, edited(valid, (*block, 1), content))
    assert 3 < loaded < len(FIGURES)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_values_anywhere_either_refused_or_rendered(data: Any, valid: dict[str, Any], tmp_path: Path) -> None:
    paths = list(parts(valid))
    raw = valid
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(paths), label="path")
        try:
            raw = edited(raw, path, data.draw(JSON, label="value"))
        except (KeyError, IndexError, TypeError):  # an earlier edit removed the parent
            continue
    loads_then_renders(tmp_path, raw)
