"""Uploaded feature files: validated, then stored in the run store as ``_features/<name>-<hash>.npz``
(``x``, and ``y`` when labeled) with a ``.json`` of what the upload held."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ccel_core.runs import atomic_write

FEATURE_DIR = "_features"
MAX_UPLOAD_MB = 50  # the largest feature file save_features takes (ask for server.maxUploadSize = 50 as well)
MAX_STEM = 80  # an upload is stored as <stem>-<8 hex>.npz/.json: at most 94 bytes, far below NAME_MAX (255)


def save_features(
    root: Path,
    file_name: str,
    content: bytes,
    *,
    label_column: Optional[str] = None,
    n_clusters: Optional[int] = None,
    standardize: bool = False,
) -> tuple[Path, dict]:
    """Validate an uploaded ``.npy/.npz/.csv`` with :func:`ccel_core.data.load_feature_file`, then
    save it atomically as ``_features/<name>-<hash>.npz`` (``x``, and ``y`` when labeled).

    Nothing is stored when validation fails (the library's ``ValueError`` propagates); the upload is
    read from a temporary file that is always removed. Returns ``(path, info)``.
    """
    from ccel_core.data import load_feature_file
    from ccel_core.data.features import FEATURE_SUFFIXES

    suffix = Path(file_name).suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise ValueError(
            f"{file_name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(FEATURE_SUFFIXES)}"
        )
    if len(content) > MAX_UPLOAD_MB * 2**20:
        raise ValueError(
            f"{file_name}: {len(content) / 2**20:.1f} MB is more than the {MAX_UPLOAD_MB} MB an upload may hold"
        )
    folder = root / FEATURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{secrets.token_hex(4)}{suffix}"
    try:
        tmp.write_bytes(content)
        column: Any = None
        if label_column:
            column = int(label_column) if label_column.lstrip("-").isdigit() else label_column
        ds = load_feature_file(tmp, label_column=column, n_clusters=n_clusters, standardize=standardize)
    except ValueError as exc:  # name the user's file, not the temporary one
        raise ValueError(str(exc).replace(str(tmp), file_name)) from None
    finally:
        tmp.unlink(missing_ok=True)
    arrays = {"x": ds.x.reshape(len(ds.x), -1).numpy().astype(np.float32)}
    if ds.y is not None:
        arrays["y"] = ds.y.numpy().astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    path = folder / f"{stored_stem(file_name)}-{hashlib.sha256(data).hexdigest()[:8]}.npz"
    info = {
        "original": file_name,
        "rows": int(arrays["x"].shape[0]),
        "columns": int(arrays["x"].shape[1]),
        "labeled": ds.y is not None,
        "n_classes": int(ds.n_classes),
        "standardized": bool(standardize),
    }
    for target, payload in ((path.with_suffix(".json"), json.dumps(info, indent=2).encode()), (path, data)):
        atomic_write(target, lambda f: f.write(payload))  # noqa: B023 - called at once, inside the loop
    return path, info


def stored_stem(file_name: str) -> str:
    """The stem an upload is stored under: its name's stem in letters, digits and ``. _ -``
    (``features`` when nothing is left). A stem longer than ``MAX_STEM`` characters is cut and ends
    in a hash of the whole name instead, so that two long names stay apart."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).stem).strip("._-") or "features"
    if len(stem) > MAX_STEM:
        digest = hashlib.sha256(file_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = stem[: MAX_STEM - len(digest) - 1].rstrip("._-") + "-" + digest
    return stem


def csv_columns(content: bytes, delimiter: str = ",") -> dict[str, str]:
    """The label-column choices of an uploaded CSV, ``{shown name: label_column value}``: the header
    names, or ``column 1 … n`` (values ``"0" … "n-1"``) when the first row is numeric. ``{}`` when
    the start of the file is not a readable CSV (saving it then reports why)."""
    try:
        text = content[:65_536].decode("utf-8-sig")
        first = next((row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return {}
    try:
        [float(c) for c in first]
    except ValueError:
        names = [c.strip() for c in first]
        return {name: name for name in names if name}
    return {f"column {j + 1}": str(j) for j in range(len(first))}


def saved_features(root: Path) -> dict[str, dict]:
    """Saved feature files of this store: ``{path: info}`` (newest first)."""
    folder = root / FEATURE_DIR
    out = {}
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []:
        try:
            info = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError, RecursionError):  # a missing, broken or hand-edited description
            info = None
        out[str(path)] = info if isinstance(info, dict) else {"original": path.name}
    return out
