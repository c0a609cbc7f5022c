"""Reading a JSON file back into dataclasses, checked once at the edge.

The schema is not a second copy of the structure: :func:`parse` reads the type hints of the target
dataclass (and of the dataclasses and ``TypedDict`` s inside it) and checks a JSON value against
them — ``str``, ``int``, ``float`` (a JSON number, or ``null`` for NaN: strict JSON has no NaN),
``bool``, ``Literal[...]``, ``Optional[...]``, ``list[...]``, ``tuple[X, ...]`` and fixed-length
``tuple[X, Y]`` (JSON lists), ``dict[str, ...]``, ``Any``. A dataclass field without a default is
required; unknown keys are ignored. A field's ``metadata`` may add ``"schema"`` (the hint to check
instead of the annotation, e.g. a ``TypedDict`` for a ``dict[str, Any]``) and ``"check"``
(``check(value, where)``, a rule on the converted value that types cannot say).

Every error is a :class:`SchemaError` naming the JSON path of the bad part
(``sections[2].blocks[0]``); :func:`load_json` refuses nesting deeper than ``max_depth`` before
parsing, so a file of 100,000 brackets is a ``ValueError``, never a ``RecursionError``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

__all__ = ["MAX_DEPTH", "SchemaError", "load_json", "parse"]

MAX_DEPTH = 64
# a JSON string (skipped whole: brackets inside it are text) or a bracket
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class SchemaError(ValueError):
    """A JSON value that does not fit the schema: ``where`` (a JSON path) and ``problem``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{where or 'the top level'}: {problem}")


def load_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)`` after checking that lists and objects nest at most ``max_depth`` levels
    (``ValueError`` otherwise, as for text that is not JSON)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(f"lists and objects nested more than {max_depth} levels deep")
        elif char in "]}":
            depth -= 1
    return json.loads(text)


def parse(value: Any, hint: Any, where: str = "") -> Any:
    """``value`` (parsed JSON) checked against the type ``hint`` and converted: dataclasses built,
    JSON lists turned into tuples where the hint says so, ``null`` into NaN for ``float``.
    ``SchemaError`` naming the part (``where`` is the path of ``value`` itself)."""
    if hint is Any:
        return value
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]  # only Optional[X] is used
        if not _fits(value, inner):
            raise SchemaError(where, f"expected {_describe(hint)}, got {_got(value)}")
        return parse(value, inner, where)
    if not _fits(value, hint):
        raise SchemaError(where, f"expected {_describe(hint)}, got {_got(value)}")
    if hint is float:
        if value is None:
            return math.nan
        if isinstance(value, int):
            try:
                float(value)
            except OverflowError:
                raise SchemaError(where, f"{_got(value)} is too large for a number") from None
        return value
    if origin is list:
        return [parse(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SchemaError(where, f"expected {_describe(hint)}, got {len(value)} items")
        return tuple(parse(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        return {k: parse(v, args[1], _key(where, k)) for k, v in value.items()}
    if is_typeddict(hint):
        out = dict(value)  # keys the type does not name are kept as they are
        for name, field_hint in _hints(hint).items():
            if name in value:
                out[name] = parse(value[name], field_hint, _key(where, name))
            elif name in hint.__required_keys__:
                raise SchemaError(_key(where, name), "is missing")
        return out
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        kwargs = {}
        for f in _fields(hint):
            path = _key(where, f.name)
            if f.name not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise SchemaError(path, "is missing")
                continue
            kwargs[f.name] = parse(value[f.name], f.metadata.get("schema", _hints(hint)[f.name]), path)
            if "check" in f.metadata:
                f.metadata["check"](kwargs[f.name], path)
        return hint(**kwargs)
    return value  # str, int, bool, Literal: checked by _fits


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the JSON type of ``hint`` (the top level only)."""
    origin = get_origin(hint) or hint
    if origin is float:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in get_args(hint))
    if origin in (list, tuple):
        return isinstance(value, list)
    if origin is dict or is_typeddict(hint) or dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    return isinstance(value, origin)


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None)) + " or null"
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return f"a list of {len(args)} items"
    if origin in (list, tuple):
        return "a list"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(hint, "an object")


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@lru_cache(maxsize=None)
def _hints(cls: Any) -> dict[str, Any]:
    return get_type_hints(cls)


@lru_cache(maxsize=None)
def _fields(cls: Any) -> tuple[dataclasses.Field, ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init)
