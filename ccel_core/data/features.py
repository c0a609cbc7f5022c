"""User feature files: ``.npy``, ``.npz`` and ``.csv`` (always loaded with ``allow_pickle=False``).

``.npy`` files and ``.npz`` members are read by :func:`read_npy` / :func:`read_npz`: the size their
header declares (shape × item size) is compared with the bytes the file or zip member really holds
before anything is allocated, so a header that lies (a truncated file, a header claiming 72 TiB)
gives a ``ValueError`` naming the file (and member) and what was expected, not a ``MemoryError``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .arrays import NpzReader, read_npy
from .dataset import Dataset

FEATURE_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".csv")
_X_KEYS = ("x", "X", "features")
# what an unlabeled feature file needs, in the words of each place that can give it
NO_LABELS = (
    "has no labels: give K, the number of clusters to find (n_clusters=K in Python, --n-clusters K on the "
    'command line, "K if unlabeled" in the explorer)'
)
_Y_KEYS = ("y", "labels")


def is_feature_file(name: str | os.PathLike) -> bool:
    """True when ``name`` designates a user feature file (``file:`` prefix or a known suffix)."""
    text = os.fspath(name)
    return text.startswith("file:") or text.lower().endswith(FEATURE_SUFFIXES)


def _numeric(arr: np.ndarray, path: Path, what: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} must be numeric, got dtype {arr.dtype}")
    return arr


def _scan_csv(path: Path, delimiter: str) -> tuple[list[str] | None, list[int]]:
    """The first non-blank row and the line number where each non-blank row starts.

    Raises ``ValueError`` naming the file and the line for a ragged table (a row whose number of
    fields differs from the first row's), which pandas would otherwise pad with NaN or refuse
    without naming the file. Blank lines are skipped, as pandas does.
    """
    first: list[str] | None = None
    lines: list[int] = []
    end = 0  # the line where the previous record ended
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # as pandas: a BOM is no data
            reader = csv.reader(f, delimiter=delimiter)
            for row in reader:
                start, end = end + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if first is None:
                    first = row
                elif len(row) != len(first):
                    raise ValueError(
                        f"{path}: ragged CSV: line {start} has {len(row)} field{'s' * (len(row) != 1)} but "
                        f"line {lines[0]} has {len(first)}; expected the same number of fields "
                        f"(delimiter {delimiter!r}) on every row"
                    )
                lines.append(start)
    except csv.Error as err:
        raise ValueError(f"{path}: malformed CSV near line {end + 1}: {err}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a UTF-8 text CSV file ({err})") from err
    return first, lines


def _read_csv(path: Path, delimiter: str) -> tuple[np.ndarray, list[str] | None]:
    """A numeric table and its header (None when the first row is numeric)."""
    import pandas as pd

    first, lines = _scan_csv(path, delimiter)
    if first is None:
        raise ValueError(f"{path}: empty CSV file")
    try:
        [float(c) for c in first]
        header = None
    except ValueError:
        header = [c.strip() for c in first]
    try:
        frame = pd.read_csv(path, sep=delimiter, header=0 if header is not None else None, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: cannot be parsed as a CSV table: {err}".rstrip()) from err
    data_lines = lines[1:] if header is not None else lines
    for j, column in enumerate(frame.columns):
        raw = frame[column]
        if raw.dtype.kind in "biuf":
            continue
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            line = data_lines[i] if i < len(data_lines) else i + 1 + (header is not None)
            raise ValueError(f"{path}: non-numeric value {raw.iloc[i]!r} at line {line}, column {j + 1}")
        frame[column] = values
    table = frame.to_numpy(dtype=np.float64)
    return table, header


def _column_index(label_column: int | str, header: list[str] | None, n_columns: int, path: Path) -> int:
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if header is None or label_column not in header:
            raise ValueError(f"{path}: label_column={label_column!r} is not in the header {header}")
        return header.index(label_column)
    j = int(label_column)
    if not -n_columns <= j < n_columns:
        raise ValueError(f"{path}: label_column={j} out of range for {n_columns} columns")
    return j % n_columns


def _read_labels(labels: Any, delimiter: str) -> tuple[np.ndarray, str]:
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"labels file {path} not found")
        if path.suffix.lower() == ".npy":
            return read_npy(path), str(path)
        table, _ = _read_csv(path, delimiter)
        if table.shape[1] != 1:
            raise ValueError(f"{path}: a labels file should have one column, found {table.shape[1]}")
        return table[:, 0], str(path)
    return np.asarray(labels), "labels"


def _check_features(x: np.ndarray, path: Path) -> np.ndarray:
    x = _numeric(np.asarray(x), path, "features")
    if x.ndim != 2:
        raise ValueError(f"{path}: features must be a 2-D array (n_samples, n_features), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{path}: features are empty, shape {x.shape}")
    x = x.astype(np.float64, copy=False)
    for label, mask in (("NaN", np.isnan(x)), ("Inf", np.isinf(x))):
        if mask.any():
            rows = np.flatnonzero(mask.any(axis=1))
            shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
            raise ValueError(f"{path}: features contain {int(mask.sum())} {label} values at rows [{shown}]")
    if np.abs(x).max() > np.finfo(np.float32).max:
        raise ValueError(f"{path}: features exceed the float32 range (max |x| = {np.abs(x).max():.3g})")
    return x


def _check_labels(y: np.ndarray, n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated labels remapped to 0..C-1, and the original label values."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{where}: labels must be 1-D, got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"{where}: {len(y)} labels for {n} feature rows")
    y = _numeric(y, Path(where), "labels")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{where}: labels must be integers; {int(bad.sum())} are not, e.g. {y[i].item()!r} at row {i}"
            )
    values, codes = np.unique(y.astype(np.int64), return_inverse=True)
    return codes.astype(np.int64), values


def load_feature_file(
    name: str | os.PathLike,
    *,
    labels: str | os.PathLike | np.ndarray | None = None,
    label_column: int | str | None = None,
    n_clusters: int | None = None,
    delimiter: str = ",",
    standardize: bool = False,
) -> Dataset:
    """Load a user feature matrix as a ``kind="features"`` :class:`Dataset`.

    Args:
        name: ``/path/f.npy``, ``.npz`` or ``.csv``, optionally prefixed by ``file:``.
        labels: Labels for any format: a ``.npy`` / one-column ``.csv`` path or an array.
        label_column: For ``.csv``: the label column (index, negative allowed, or header name).
        n_clusters: Required when there are no labels; becomes ``n_classes``.
        delimiter: CSV delimiter.
        standardize: Scale each feature to zero mean, unit variance (off by default: values as stored).

    ``.npz`` files hold features under ``x``, ``X`` or ``features`` and labels under ``y`` or ``labels``.
    Labels must be integers (integral floats accepted); they are remapped to ``0..C-1`` and the original
    values are the ``class_names``. Every validation failure raises ``ValueError`` naming the file.
    """
    text = os.fspath(name)
    path = Path(text[5:] if text.startswith("file:") else text).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"feature file {path} not found")
    suffix = path.suffix.lower()
    y_raw: np.ndarray | None = None
    y_where = str(path)
    if suffix == ".npy":
        x = read_npy(path)
    elif suffix == ".npz":
        with NpzReader(path) as archive:
            keys = list(archive.members)
            xkey = next((k for k in _X_KEYS if k in keys), None)
            if xkey is None:
                raise ValueError(f"{path}: no features array; expected one of the keys {_X_KEYS}, found {keys}")
            x = archive[xkey]
            ykey = next((k for k in _Y_KEYS if k in keys), None)
            y_raw = None if ykey is None else archive[ykey]
    elif suffix == ".csv":
        table, header = _read_csv(path, delimiter)
        x = table
        if label_column is not None:
            j = _column_index(label_column, header, table.shape[1], path)
            y_raw, x = table[:, j], np.delete(table, j, axis=1)
    else:
        raise ValueError(f"{path}: unsupported feature file suffix {suffix!r}; use one of {FEATURE_SUFFIXES}")
    if label_column is not None and suffix != ".csv":
        raise ValueError(f"{path}: label_column applies to .csv files only")
    if labels is not None:
        if y_raw is not None:
            raise ValueError(f"{path}: labels given twice (in the file and by labels=)")
        y_raw, y_where = _read_labels(labels, delimiter)
    x = _check_features(x, path)
    meta: dict[str, Any] = {"source": str(path), "format": suffix[1:], "split": "all"}
    if y_raw is None:
        if n_clusters is None:
            raise ValueError(f"{path} {NO_LABELS}")
        y, n_classes, class_names = None, int(n_clusters), None
    else:
        codes, values = _check_labels(y_raw, len(x), y_where)
        y, n_classes, class_names = torch.from_numpy(codes), len(values), [str(v) for v in values]
        if n_clusters is not None:
            meta["n_clusters"] = int(n_clusters)
    if n_classes < 1:
        raise ValueError(f"n_clusters={n_classes} should be >= 1")
    if standardize:
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
        meta["normalization"] = "standardized per feature (zero mean, unit variance)"
    else:
        meta["normalization"] = "none (values as stored)"
    meta.update(n_samples=int(x.shape[0]), shape=list(x.shape))
    return Dataset(text, torch.from_numpy(x.astype(np.float32)), y, n_classes, "features", class_names, meta)
