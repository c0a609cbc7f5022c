"""Finished experiments kept on disk, so that a restarted server shows its default views at once.

The stores of :mod:`~explorer.cached.races` and :mod:`~explorer.cached.pseudo_labels` live in the
server's memory; a new ``make explore`` used to recompute everything its warm-up draws (≈ 35 s on two
cores: 20 self-labeling trainings and three solver races), and a page visited meanwhile waited for
it. They now also write each finished result here and read it back when memory has none.

Where: ``$CCEL_CACHE/explorer`` when ``CCEL_CACHE`` is set (``off``, ``0``, ``false`` or ``no`` turn this
store off), else the user's cache folder (``platformdirs.user_cache_dir("ccel")``: ``~/.cache/ccel`` on
Linux). The folder is created private (mode 700); one that another user owns, or that anyone may write
to, is not used (a result is read back with ``pickle``, which runs code: only the user's own files).

A file is only trusted when this very code wrote it: its name hashes the result's kind and key with
:func:`fingerprint` (the ccel_core this process loaded, this explorer, the versions of the libraries in
:data:`LIBRARIES`, Python, and the machine: races store timings), and it starts with a JSON header
that repeats them with the SHA-256 and length of the pickled result, all checked before unpickling. A
file that does not pass (truncated by a killed process, edited by hand, written by other code or for
another type than asked) is removed and counts as missing: the result is computed again. Writes go to
a temporary file in the same folder, renamed into place when complete, so a killed writer leaves no half
file under a result's name. At most :data:`MOST_FILES` results and :data:`MOST_BYTES` bytes are kept,
the least recently used dropped first. No error of this store reaches a page: the store is skipped
for that call, with one warning per kind of problem in the server's log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import platform
import stat
import sys
import tempfile
import time
from collections.abc import Hashable
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, TypeVar

from ccel_core.sources import folder_digest, source_digest

__all__ = ["LIBRARIES", "MOST_BYTES", "MOST_FILES", "cache_dir", "fingerprint", "load", "save"]

T = TypeVar("T")
FORMAT = 2  # the layout of a file (a JSON header line, then the pickle); bump when it changes
MOST_FILES = 256
MOST_BYTES = 512 * 2**20
LIBRARIES = ("torch", "numpy", "numba", "scikit-learn", "scipy", "pandas", "cvxpy", "clarabel")
_OFF = ("off", "0", "false", "no")
_HEADER_MAX = 1 << 16
_STALE_TMP = 3600.0  # seconds after which a leftover temporary file (a killed writer's) is removed
_log = logging.getLogger(__name__)
_warned: set[str] = set()


def _versions() -> str:
    found = [sys.version, platform.node(), platform.machine()]
    for name in LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} -")
    return "\n".join(found)


# Taken when the explorer's modules are imported (Streamlit re-imports them when one changes), with
# ccel_core's digest as of the first call in this process (ccel_core is never re-imported).
_FINGERPRINT = hashlib.sha256(
    "\n".join([source_digest(), folder_digest(Path(__file__).resolve().parents[1]), _versions()]).encode()
).hexdigest()


def fingerprint() -> str:
    """What computed the results of this process (see the module docstring), as a hex digest."""
    return _FINGERPRINT


def cache_dir() -> Optional[Path]:
    """The folder of this store, or None when ``CCEL_CACHE`` turns it off."""
    root = os.environ.get("CCEL_CACHE", "").strip()
    if root.lower() in _OFF:
        return None
    if not root:
        try:
            import platformdirs

            root = platformdirs.user_cache_dir("ccel", appauthor=False)
        except ImportError:  # the app extra not installed: the XDG default
            root = os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "ccel")
    return Path(root).expanduser() / "explorer"


def _warn_once(what: str, error: BaseException) -> None:
    if what not in _warned:
        _warned.add(what)
        _log.warning("ccel's store of finished results (%s): %s: %s", what, type(error).__name__, error)


def _private(folder: Path) -> bool:
    """Whether ``folder`` is the user's own and nobody else may write to it (POSIX; elsewhere: yes)."""
    if not hasattr(os, "getuid"):
        return True
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _folder(create: bool) -> Optional[Path]:
    """The store's folder when it may be used (None: off, missing and not ``create``d, or not private)."""
    folder = cache_dir()
    if folder is None:
        return None
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not folder.is_dir():
        return None
    if not _private(folder):
        raise PermissionError(f"{folder} is not the user's own private folder; not used")
    return folder


def _path(folder: Path, kind: str, key: Hashable) -> Path:
    name = hashlib.sha256(repr((FORMAT, _FINGERPRINT, kind, key)).encode()).hexdigest()[:40]
    return folder / f"{kind}-{name}.pkl"


def load(kind: str, key: Hashable, expected: type[T]) -> Optional[T]:
    """The stored result of ``kind`` for ``key`` if this code wrote it intact and it is an ``expected``,
    else None (a file that does not pass is removed)."""
    path: Optional[Path] = None
    try:
        folder = _folder(create=False)
        if folder is None:
            return None
        path = _path(folder, kind, key)
        with open(path, "rb") as f:
            head = json.loads(f.readline(_HEADER_MAX))
            payload = f.read()
    except FileNotFoundError:
        return None
    except Exception as error:  # a folder not ours, an unreadable or garbled header: recompute
        _warn_once(f"not read: {type(error).__name__}", error)
        if path is not None:
            _remove(path)
        return None
    want = {"format": FORMAT, "kind": kind, "key": repr(key), "fingerprint": _FINGERPRINT, "length": len(payload)}
    intact = (
        isinstance(head, dict)
        and all(head.get(name) == value for name, value in want.items())
        and head.get("sha256") == hashlib.sha256(payload).hexdigest()
    )
    value = None
    if intact:
        try:
            value = pickle.loads(payload)
        except Exception as error:  # written by this code, yet not readable: recompute
            _warn_once(f"unreadable {path.name}", error)
    if not isinstance(value, expected):
        _remove(path)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return value


def save(kind: str, key: Hashable, value: Any) -> None:
    """Store ``value`` as the result of ``kind`` for ``key`` (atomically: a complete file or none)."""
    tmp_name = None
    try:
        folder = _folder(create=True)
        if folder is None:
            return
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        head = {
            "format": FORMAT,
            "kind": kind,
            "key": repr(key),
            "fingerprint": _FINGERPRINT,
            "length": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{kind}-", suffix=".tmp", delete=False) as f:
            tmp_name = f.name
            f.write(json.dumps(head).encode() + b"\n")
            f.write(payload)
        os.replace(tmp_name, _path(folder, kind, key))
        tmp_name = None
        _prune(folder)
    except Exception as error:  # a full disk, a folder not ours, an unpicklable value: run without the store
        _warn_once(f"not saved: {type(error).__name__}", error)
    finally:
        if tmp_name is not None:
            _remove(Path(tmp_name))


def _prune(folder: Path) -> None:
    """Keep the :data:`MOST_FILES` most recently used results within :data:`MOST_BYTES`; remove the
    temporary files of writers killed more than an hour ago."""
    now = time.time()
    entries = []
    for path in folder.iterdir():
        try:
            info = path.stat()
        except OSError:
            continue
        if path.name.endswith(".tmp"):
            if now - info.st_mtime > _STALE_TMP:
                _remove(path)
        elif path.suffix == ".pkl":
            entries.append((info.st_mtime, info.st_size, path))
    entries.sort(reverse=True)
    kept = total = 0
    for _, size, path in entries:
        kept, total = kept + 1, total + size
        if kept > MOST_FILES or total > MOST_BYTES:
            _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
