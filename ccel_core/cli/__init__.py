"""The ``ccel`` command (``ccel …`` or ``python -m ccel_core.cli …``).

* ``ccel fit`` — train a method, one run per seed, written to the run store (:mod:`.fit`).
* ``ccel runs list | show | export | delete | cancel`` — the run store (:mod:`.runs`).
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

from ._common import EXIT_FAILED, EXIT_USAGE, CLIError, Parser, err

__all__ = ["main", "build_parser"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ccel")
    except Exception:  # not installed: the package's own
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    from . import bench, features, fit, reproduce, runs

    parser = Parser(
        prog="ccel", description="Collision cross-entropy and self-labeled clustering: train, inspect runs, benchmark."
    )
    parser.add_argument("--version", action="version", version=f"ccel {_version()}")
    sub = parser.add_subparsers(
        dest="command", metavar="{fit,runs,bench,features,reproduce}", required=True, parser_class=Parser
    )
    fit.add_parser(sub)
    runs.add_parser(sub)
    bench.add_parser(sub)
    features.add_parser(sub)
    reproduce.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ccel`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    A ``torchrun`` worker exits here instead of returning (see
    :func:`ccel_core.distributed.exit_after_group`).
    """
    from ..distributed import exit_after_group

    return exit_after_group(_run(argv))


def _run(argv: Optional[Sequence[str]]) -> int:
    parser = build_parser()
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
        return 130
    except Exception as exc:  # noqa: BLE001 - report, don't dump a traceback on users
        if os.environ.get("CCEL_DEBUG"):
            traceback.print_exc()
        err(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
