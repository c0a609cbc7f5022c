"""Command-line flags generated from :class:`~ccel_core.training.TrainConfig`'s fields: one flag per
field, its name, type, choices, default and help read from the field and its metadata.

* name: ``--`` + the field name with dashes (``batch_size`` → ``--batch-size``), or the field's
  ``flag`` (``data_options`` → ``--data-option KEY=VALUE``, repeatable);
* type: from the annotation (``int``, ``float``, ``str``; ``Optional[…]`` the same; ``bool`` a
  ``--x/--no-x`` pair); a number is parsed and checked by :func:`field_type`, i.e. by
  TrainConfig's own validation of that field, so a bad value exits 2 naming the flag before
  anything runs;
* help: the field's help (``{datasets}``, ``{methods}``, ``{models}`` expanded) and its default.

Flags left out of a command line parse to None (``[]`` for ``--data-option``) and override
nothing, so settings layer as TrainConfig defaults < ``--config FILE.toml`` < flags.
:func:`config_argv` goes the other way: the flags that rebuild a config (the app's launcher).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, Iterator, Optional, Sequence

from ..names import DATASETS, METHODS, MODELS, SUPERVISED
from ..training.config import TrainConfig
from ._common import CLIError, Number

__all__ = [
    "FIELDS",
    "flag_name",
    "field_type",
    "add_config_flags",
    "config_overrides",
    "config_argv",
    "parse_option_value",
    "check_data_options",
]

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainConfig))
_GROUPS = ("data", "method and model", "optimization")


def flag_name(name: str) -> str:
    """The flag of a TrainConfig field, e.g. ``"--batch-size"``."""
    fld = _field(name)
    return "--" + (fld.metadata.get("flag") or fld.name.replace("_", "-"))


def _field(name: str) -> dataclasses.Field:
    for fld in dataclasses.fields(TrainConfig):
        if fld.name == name:
            return fld
    raise ValueError(f"{name!r} is not a TrainConfig field; fields: {', '.join(FIELDS)}")


def _base_type(name: str) -> Any:
    """``int``/``float``/``str``/``bool``/``dict`` of a field (``Optional`` unwrapped)."""
    hint = typing.get_type_hints(TrainConfig)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def field_type(name: str) -> Number:
    """The argparse ``type=`` of a numeric TrainConfig field: the text parsed as the field's type,
    then checked by TrainConfig's own validation of the field (its constraint is written there
    once). A field another field's value can make unusable (``--mu`` is taken by imsat only) is
    accepted when some method takes the value; the whole config is validated after parsing."""
    kind = _base_type(name)
    if kind not in (int, float):
        raise ValueError(f"{name!r} is a {kind.__name__} field, not a number")
    return Number(kind, check=lambda value: _check_field(name, value))


def _check_field(name: str, value: Any) -> None:
    first: Optional[ValueError] = None
    for method in (TrainConfig.method, *METHODS, SUPERVISED):
        try:
            TrainConfig(**{"method": method, name: value})
            return
        except ValueError as exc:
            first = first or exc
    assert first is not None
    raise first


def _names() -> dict[str, str]:
    return {"datasets": ", ".join(DATASETS), "methods": ", ".join((*METHODS, SUPERVISED)), "models": ", ".join(MODELS)}


def _help(fld: dataclasses.Field, names: dict[str, str]) -> str:
    text = fld.metadata["help"].format(**names)
    default = fld.default
    if default is dataclasses.MISSING or default is None or "default" in text:
        return text
    shown = ("on" if default else "off") if isinstance(default, bool) else default
    return f"{text} (default {shown})"


def _fields_of(group: str) -> Iterator[dataclasses.Field]:
    return (f for f in dataclasses.fields(TrainConfig) if f.metadata["group"] == group)


def add_config_flags(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Add one flag per TrainConfig field, in argument groups "data", "method and model" and
    "optimization"; returns the groups by name (for a command's own flags)."""
    names, groups = _names(), {}
    for group in _GROUPS:
        g = groups[group] = parser.add_argument_group(group)
        for fld in _fields_of(group):
            meta, kind = fld.metadata, _base_type(fld.name)
            kw: dict[str, Any] = {"help": _help(fld, names), "dest": fld.name}
            if kind is bool:
                kw.update(action=argparse.BooleanOptionalAction, default=None)
            elif kind is dict:
                kw.update(action="append", default=[], metavar=meta["metavar"])
            else:
                kind = field_type(fld.name) if kind in (int, float) else kind
                kw.update(type=kind, metavar=meta["metavar"], choices=meta["choices"])
            g.add_argument(flag_name(fld.name), **kw)
    return groups


def parse_option_value(text: str) -> Any:
    """``--data-option`` values: true/false, none/null, int, float, else the text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def check_data_options(
    data: str, options: dict[str, Any], items: Sequence[str] = (), *, source: Optional[str] = None
) -> None:
    """``CLIError`` (exit 2) naming the ``--data-option KEY=VALUE`` item (else the key of ``source``,
    e.g. a TOML file) whose option ``load_dataset(data, **options)`` would refuse, by name or type;
    checked without loading anything. An unknown ``data`` raises ``ValueError``."""
    from ..data.registry import OptionError, UnknownOptionError, check_options

    try:
        check_options(data, options)
    except (OptionError, UnknownOptionError) as exc:
        item = next((i for i in reversed(items) if i.partition("=")[0].strip() == exc.key), None)
        if item is not None:
            where = f"--data-option {item}"
        else:  # from a config file
            where = f"data_options key {exc.key!r}" + (f" in {source}" if source else "")
        raise CLIError(f"{where}: {exc.reason}") from None


def config_overrides(args: argparse.Namespace, base: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """``base`` (e.g. a TOML file's fields) updated with the flags given on the command line;
    ``--data-option KEY=VALUE`` items update ``data_options`` key by key (``ValueError`` for an
    item without ``=``)."""
    merged = dict(base or {})
    for name in FIELDS:
        value = getattr(args, name)
        if _base_type(name) is dict:
            if not value:
                continue
            options = dict(merged.get(name) or {})
            for item in value:
                key, sep, text = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"{flag_name(name)} {item!r} should look like KEY=VALUE")
                options[key.strip()] = parse_option_value(text)
            merged[name] = options
        elif value is not None:
            merged[name] = value
    return merged


def _value_text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def config_argv(config: TrainConfig, *, skip: tuple[str, ...] = ()) -> list[str]:
    """The flags that rebuild ``config`` from TrainConfig's defaults (fields equal to their default,
    and those in ``skip``, are left out): ``parse(config_argv(c))`` gives back ``c``."""
    default = TrainConfig().to_dict()
    argv: list[str] = []
    for name, value in config.to_dict().items():
        if name in skip or value == default[name]:
            continue
        flag = flag_name(name)
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, dict):
            for key, item in value.items():
                if (
                    not isinstance(item, (bool, int, float, str))
                    or item == ""
                    or (isinstance(item, str) and parse_option_value(item) != item)
                ):
                    raise ValueError(f"data_options[{key!r}]={item!r} cannot be written as {flag} KEY=VALUE")
                text = str(item).lower() if isinstance(item, bool) else _value_text(item)
                argv += [flag, f"{key}={text}"]
        elif value is None:
            raise ValueError(f"{name}=None differs from its default {default[name]!r} but has no flag value")
        else:
            argv += [flag, _value_text(value)]
    return argv
