"""A digest of source files: which code computed a stored result.

:func:`source_digest` hashes the ``*.py`` files of ccel_core **once per process**, at its first call,
and keeps the answer: a long-running process (the explorer's server) that later re-imports its own
modules still reports the ccel_core it loaded, not files edited since. :func:`folder_digest` hashes any
folder the same way (the explorer hashes its own).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["folder_digest", "source_digest"]


def folder_digest(folder: Path) -> str:
    """SHA-256 over the relative path and bytes of every ``*.py`` file under ``folder`` (sorted).

    Hidden files (editor locks such as ``.#name.py``), anything that is not a regular file, and files
    that vanish or cannot be read while hashing are left out: the digest never raises for them."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


@functools.cache
def source_digest() -> str:
    """:func:`folder_digest` of the ccel_core package, taken at the first call in this process."""
    return folder_digest(Path(__file__).resolve().parent)
