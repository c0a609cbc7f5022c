"""The ``ccel`` command (``ccel …`` or ``python -m ccel_core.cli …``).

* ``ccel fit`` — train a method, one run per seed, written to the run store (:mod:`.fit`).
* ``ccel runs list | show | export | delete | cancel | reindex`` — the run store (:mod:`.runs`).
* ``ccel bench solvers | features`` — paper Table 1 and the Table 2 protocol (:mod:`.bench`).
* ``ccel features`` — frozen-backbone (ResNet-50, …) features of an image set to a ``.npz`` file (:mod:`.features`).
* ``ccel reproduce`` — the paper's figures and tables rerun, one report with a verdict per claim (:mod:`.reproduce`).

Exit codes: 0 success; 1 a run failed (it is marked failed in the store) or another runtime
error; 2 usage or validation error (``ccel: error: …`` on stderr; nothing written); 130 a run
was cancelled (Ctrl-C, SIGTERM or ``ccel runs cancel``). ``CCEL_DEBUG=1`` prints tracebacks.
Every numeric flag declares its constraint once, as its argparse ``type=`` (a
:class:`~._common.Number`), so a bad value exits 2 naming the flag before any work starts.

``main(argv)`` returns the exit code instead of exiting, so it can be called in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Optional, Sequence

from ._common import EXIT_CANCELLED, EXIT_FAILED, EXIT_USAGE, CLIError, Parser, err

__all__ = ["main", "build_parser", "EXIT_CANCELLED"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ccel")
    except Exception:  # not installed: the package's own
        from .. import __version__

        return __version__


COMMANDS = ("fit", "runs", "bench", "features", "reproduce")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The ``ccel`` parser. ``command``: build only that command's arguments (``""``: none); the
    others get their one-line help only, enough for ``ccel --help`` and an "invalid choice" error.
    Building a command's arguments imports what it describes (torch for ``fit``, ``bench``,
    ``features``, ``reproduce``), so ``ccel --help`` and ``ccel runs …`` start without torch.
    Default: every command in full (tests, documentation)."""
    import importlib

    parser = Parser(
        prog="ccel", description="Collision cross-entropy and self-labeled clustering: train, inspect runs, benchmark."
    )
    parser.add_argument("--version", action="version", version=f"ccel {_version()}")
    sub = parser.add_subparsers(
        dest="command", metavar="{fit,runs,bench,features,reproduce}", required=True, parser_class=Parser
    )
    for name in COMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        if command is None or command == name:
            module.add_parser(sub)
        else:
            sub.add_parser(name, help=module.HELP)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ccel`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    A ``torchrun`` worker exits here instead of returning (see
    :func:`ccel_core.distributed.exit_after_group`).
    """
    code = _run(argv)
    if "torch.distributed" not in sys.modules:  # no process group can exist: nothing to leave
        return code
    from ..distributed import exit_after_group

    return exit_after_group(code)


def _run(argv: Optional[Sequence[str]]) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_in if not a.startswith("-")), "")
    parser = build_parser(first if first in COMMANDS else "")
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    try:
        return int(args.func(args))
    except CLIError as exc:
        err(str(exc))
        return exc.code
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        # validation: bad config values, unknown names, unusable data, a run id not in the store
        if os.environ.get("CCEL_DEBUG"):
            traceback.print_exc()
        err(str(exc) if not isinstance(exc, KeyError) or type(exc) is not KeyError else f"not found: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_CANCELLED
    except BrokenPipeError:  # `ccel runs list | head`: the reader left; say nothing more, like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - report, don't dump a traceback on users
        if os.environ.get("CCEL_DEBUG"):
            traceback.print_exc()
        err(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
