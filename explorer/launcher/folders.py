"""The confined runs folder: the page only ever writes under one root, chosen when the server starts
(``$CCEL_RUNS_DIR``, else ``./runs``); :func:`runs_folder` turns the folder typed on the page into a
sub-folder of it or refuses it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ccel_core.runs import default_root, is_run_folder

MAX_FOLDER_DEPTH, MAX_FOLDER_NAME = 16, 64  # a runs sub-folder: levels, characters per folder name
_FOLDER_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def default_runs_dir() -> str:
    """``$CCEL_RUNS_DIR``, else ``./runs``: the run store's own default (:func:`ccel_core.runs.default_root`)."""
    return default_root()


def runs_base() -> Path:
    """The root the page may write under: ``$CCEL_RUNS_DIR`` (else ``./runs``) of the server process."""
    return Path(default_runs_dir()).expanduser().absolute()


def shorten(text: str, limit: int = 120) -> str:
    """``text`` for a message: whole up to ``limit`` characters, else its start and ``…``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runs_folder(base: Path, name: str) -> Path:
    """The run-store folder ``name`` inside ``base``: ``""`` is ``base`` itself, else a relative
    path of at most ``MAX_FOLDER_DEPTH`` plain names (letters, digits, ``. _ -``, each starting with
    a letter or digit, at most ``MAX_FOLDER_NAME`` characters).

    ``ValueError`` naming the value (and the limit) for an absolute path, ``~``, ``.``/``..``, other
    characters, too many levels, too long a name, a folder that a symbolic link leads outside
    ``base``, or the folder of a run. Returns the resolved path (links inside ``base`` followed).
    """
    text = str(name or "").strip()
    if not text:
        return base
    shown = shorten(text)
    hint = f"give a sub-folder of {base} as a relative name, e.g. experiments/week1"
    if text.startswith(("/", "~", "\\")) or os.path.isabs(text) or re.match(r"[A-Za-z]:", text):
        raise ValueError(f"runs folder {shown!r} is an absolute path; {hint}")
    parts = [p for p in re.split(r"[/\\]", text) if p]
    if len(parts) > MAX_FOLDER_DEPTH:
        raise ValueError(
            f"runs folder {shown!r} has {len(parts)} levels, more than {MAX_FOLDER_DEPTH} levels of folders; {hint}"
        )
    for part in parts:
        if part in (".", ".."):
            raise ValueError(f"runs folder {shown!r}: {part!r} is not allowed; {hint}")
        if len(part) > MAX_FOLDER_NAME:
            raise ValueError(
                f"runs folder {shown!r}: the folder name {shorten(part, 40)!r} ({len(part)} characters) is longer "
                f"than {MAX_FOLDER_NAME} characters; {hint}"
            )
        if not _FOLDER_PART.fullmatch(part):
            raise ValueError(
                f"runs folder {shown!r}: {part!r} is not a plain folder name (letters, digits, '.', '_' and '-', "
                f"starting with a letter or digit); {hint}"
            )
    real_base, folder = base.resolve(), base.joinpath(*parts).resolve()
    if folder != real_base and real_base not in folder.parents:
        raise ValueError(f"runs folder {shown!r} leads outside {base} (to {folder}, through a symbolic link); {hint}")
    for above in [folder, *folder.parents]:
        if above == real_base:
            break
        if is_run_folder(above):
            raise ValueError(f"runs folder {shown!r} is (inside) the folder of the run {above.name}; {hint}")
    return folder
