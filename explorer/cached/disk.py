"""Finished experiments kept on disk, so that a restarted server shows its default views at once.

The stores of :mod:`~explorer.cached.races` and :mod:`~explorer.cached.pseudo_labels` live in the
server's memory; a new ``make explore`` used to recompute everything its warm-up draws (≈ 35 s on two
cores: 20 self-labeling trainings and three solver races), and a page visited meanwhile waited for
it. They now also write each finished result here and read it back when memory has none.

Where: ``$CCEL_CACHE/explorer`` when ``CCEL_CACHE`` is set (``off`` turns this store off), else the
user's cache folder (``platformdirs.user_cache_dir("ccel")``: ``~/.cache/ccel`` on Linux).

What a file holds is only trusted when it was written by this very code: its name is a hash of the
result's kind and key *and* of a fingerprint of every source file of ``ccel_core`` and ``explorer`` and
of the versions of the libraries that compute the results (torch, numpy, numba, scikit-learn, scipy,
Python), and the file repeats kind, key and fingerprint, checked on reading. A file that cannot be
read back (truncated by a killed process, edited by hand, of another type than asked) is removed and
counts as missing: the result is computed again. Writes go to a temporary file in the same folder,
renamed into place when complete (a killed writer leaves no half file under a result's name). The
store keeps at most :data:`MOST_FILES` results and :data:`MOST_BYTES` bytes, dropping the least
recently used. (A result is read with ``pickle``: only a file in the user's own cache folder is ever
read, with the trust given to Streamlit's own disk cache there.) Any error of the file system (read-only, full) only turns the store off for that call,
with one warning in the server's log: the app works without it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Hashable
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, TypeVar

__all__ = ["MOST_BYTES", "MOST_FILES", "cache_dir", "fingerprint", "load", "save"]

T = TypeVar("T")
FORMAT = 1  # the layout of a file; bump when it changes
MOST_FILES = 256
MOST_BYTES = 512 * 2**20
_LIBRARIES = ("torch", "numpy", "numba", "scikit-learn", "scipy", "pandas")
_STALE_TMP = 3600.0  # seconds after which a leftover temporary file (a killed writer's) is removed
_log = logging.getLogger(__name__)
_warned: set[str] = set()


def cache_dir() -> Optional[Path]:
    """The folder of this store, or None when ``CCEL_CACHE=off``."""
    root = os.environ.get("CCEL_CACHE", "").strip()
    if root.lower() == "off":
        return None
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("ccel", appauthor=False)
    return Path(root).expanduser() / "explorer"


@functools.cache
def fingerprint() -> str:
    """A hash of what computes the stored results: the bytes of every ``*.py`` of ``ccel_core`` and
    ``explorer`` (this checkout) and the versions of Python and of the numerical libraries."""
    import ccel_core

    digest = hashlib.sha256()
    for package in (Path(ccel_core.__file__).resolve().parent, Path(__file__).resolve().parents[1]):
        for path in sorted(package.rglob("*.py")):
            digest.update(f"{package.name}/{path.relative_to(package).as_posix()}".encode())
            digest.update(path.read_bytes())
    versions = [sys.version]
    for name in _LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} -")
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()


def _path(folder: Path, kind: str, key: Hashable) -> Path:
    name = hashlib.sha256(repr((FORMAT, fingerprint(), kind, key)).encode()).hexdigest()[:40]
    return folder / f"{kind}-{name}.pkl"


def _warn_once(what: str, error: BaseException) -> None:
    if what not in _warned:
        _warned.add(what)
        _log.warning("ccel's store of finished results (%s): %s: %s", what, type(error).__name__, error)


def load(kind: str, key: Hashable, expected: type[T]) -> Optional[T]:
    """The stored result of ``kind`` for ``key`` if this code wrote it and it is an ``expected``, else
    None (a file that does not pass is removed)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = _path(folder, kind, key)
    try:
        with open(path, "rb") as f:
            stored = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as error:  # truncated, edited, unreadable: recompute
        _warn_once(f"unreadable {path.name}, removed", error)
        _remove(path)
        return None
    ok = (
        isinstance(stored, dict)
        and stored.get("kind") == kind
        and stored.get("key") == repr(key)
        and stored.get("fingerprint") == fingerprint()
        and isinstance(stored.get("value"), expected)
    )
    if not ok:
        _remove(path)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return stored["value"]


def save(kind: str, key: Hashable, value: Any) -> None:
    """Store ``value`` as the result of ``kind`` for ``key`` (atomically: a complete file or none)."""
    folder = cache_dir()
    if folder is None:
        return
    record = {"kind": kind, "key": repr(key), "fingerprint": fingerprint(), "value": value}
    tmp_name = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{kind}-", suffix=".tmp", delete=False) as f:
            tmp_name = f.name
            pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp_name, _path(folder, kind, key))
        tmp_name = None
        _prune(folder)
    except Exception as error:  # full disk, read-only folder, an unpicklable value: run without the store
        _warn_once(f"not saved in {folder}", error)
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
            stat = path.stat()
        except OSError:
            continue
        if path.name.endswith(".tmp"):
            if now - stat.st_mtime > _STALE_TMP:
                _remove(path)
        elif path.suffix == ".pkl":
            entries.append((stat.st_mtime, stat.st_size, path))
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
