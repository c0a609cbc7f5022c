"""Shared pieces of the ``ccel`` command: the argument parser class, errors, exit codes and the
declared constraints of numeric flags (:class:`Number`)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, Optional

from ..runs import DEFAULT_ROOT_TEXT, default_root

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_CANCELLED",
    "CLIError",
    "Parser",
    "Number",
    "positive_int",
    "nonneg_int",
    "positive_float",
    "nonneg_float",
    "probability",
    "add_runs_dir",
    "runs_dir",
    "err",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class CLIError(Exception):
    """An error the command reports as ``ccel: error: <message>`` and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """``argparse`` that reports every usage error as ``ccel: error: …`` (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"ccel: error: {message}\n")


class Number:
    """The one declared constraint of a numeric flag, used as its argparse ``type=``: the text is
    parsed as ``kind`` (``int`` or ``float``; a float must be finite), then checked against the
    bounds and ``check`` (a callable raising ``ValueError`` with its reason, e.g. a config's own
    validation). Argparse turns a refusal into exit 2 with ``ccel: error: argument --flag: …``
    before the command runs, so a refused value never starts any work.

    ``low`` / ``high`` are inclusive unless ``low_open`` / ``high_open``.
    """

    def __init__(
        self,
        kind: type,
        low: Optional[float] = None,
        high: Optional[float] = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
        check: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        if kind not in (int, float):
            raise ValueError(f"kind={kind!r} should be int or float")
        self.kind, self.low, self.high = kind, low, high
        self.low_open, self.high_open, self.check = low_open, high_open, check

    @property
    def expected(self) -> str:
        """What the flag takes, e.g. ``"an integer >= 1"`` or ``"a finite number in [0, 1]"``."""
        what = "an integer" if self.kind is int else "a finite number"
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            return f"{what} in {'(' if self.low_open else '['}{lo:g}, {hi:g}{')' if self.high_open else ']'}"
        if lo is not None:
            return f"{what} {'>' if self.low_open else '>='} {lo:g}"
        if hi is not None:
            return f"{what} {'<' if self.high_open else '<='} {hi:g}"
        return what

    def accepts(self, value: float) -> bool:
        """Whether a parsed ``value`` lies within the bounds."""
        lo, hi = self.low, self.high
        if lo is not None and (value < lo or (self.low_open and value == lo)):
            return False
        return hi is None or not (value > hi or (self.high_open and value == hi))

    def __call__(self, text: str) -> Any:
        refused = argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}")
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise refused from None
        if not math.isfinite(value) or not self.accepts(value):
            raise refused
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    def __repr__(self) -> str:  # argparse names the type in some messages
        return f"Number({self.expected})"


positive_int = Number(int, 1)
nonneg_int = Number(int, 0)
positive_float = Number(float, 0, low_open=True)
nonneg_float = Number(float, 0)
probability = Number(float, 0, 1)


def add_group(sub: Any, name: str, help: str, description: str, commands: str) -> tuple[Any, Any]:
    """A command with sub-commands (``ccel runs list``): ``(parser, subparsers)``, ``dest`` =
    ``<name>_command``, the listed ``commands`` (e.g. ``"list,show"``) as the metavar, one required."""
    p = sub.add_parser(name, help=help, description=description)
    return p, p.add_subparsers(dest=f"{name}_command", metavar="{" + commands + "}", required=True)


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", metavar="DIR", default=None, help=f"the run store (default: {DEFAULT_ROOT_TEXT})")


def runs_dir(value: str | None) -> str:
    """The run-store folder: ``--runs-dir``, else :func:`~ccel_core.runs.default_root` (absolute)."""
    return os.path.abspath(os.path.expanduser(value or default_root()))


def err(message: str) -> None:
    """``ccel: error: message`` on stderr."""
    print(f"ccel: error: {message}", file=sys.stderr, flush=True)
