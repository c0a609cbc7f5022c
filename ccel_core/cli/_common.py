"""Shared pieces of the ``ccel`` command: the argument parser class, errors and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_CANCELLED",
    "CLIError",
    "Parser",
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


def add_group(sub: Any, name: str, help: str, description: str, commands: str) -> tuple[Any, Any]:
    """A command with sub-commands (``ccel runs list``): ``(parser, subparsers)``, ``dest`` =
    ``<name>_command``, the listed ``commands`` (e.g. ``"list,show"``) as the metavar, one required."""
    p = sub.add_parser(name, help=help, description=description)
    return p, p.add_subparsers(dest=f"{name}_command", metavar="{" + commands + "}", required=True)


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir", metavar="DIR", default=None, help="the run store (default: $CCEL_RUNS_DIR, else ./runs)"
    )


def runs_dir(value: str | None) -> str:
    """The run-store folder: ``--runs-dir``, else ``$CCEL_RUNS_DIR``, else ``./runs`` (absolute)."""
    return os.path.abspath(os.path.expanduser(value or os.environ.get("CCEL_RUNS_DIR") or "runs"))


def err(message: str) -> None:
    """``ccel: error: message`` on stderr."""
    print(f"ccel: error: {message}", file=sys.stderr, flush=True)
