"""User feature files: ``.npy``, ``.npz`` and ``.csv`` (always loaded with ``allow_pickle=False``).

``.npy`` files and ``.npz`` members are read by :func:`read_npy` / :func:`read_npz`: the size their
header declares (shape × item size) is compared with the bytes the file or zip member really holds
before anything is allocated, so a header that lies (a truncated file, a header claiming 72 TiB)
gives a ``ValueError`` naming the file (and member) and what was expected, not a ``MemoryError``.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from .dataset import Dataset

FEATURE_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".csv")
_X_KEYS = ("x", "X", "features")
_Y_KEYS = ("y", "labels")


def is_feature_file(name: str | os.PathLike) -> bool:
    """True when ``name`` designates a user feature file (``file:`` prefix or a known suffix)."""
    text = os.fspath(name)
    return text.startswith("file:") or text.lower().endswith(FEATURE_SUFFIXES)


def _numeric(arr: np.ndarray, path: Path, what: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} must be numeric, got dtype {arr.dtype}")
    return arr


def _bytes(n: int) -> str:
    """``n`` bytes, with a binary unit when large: ``80000000000000 bytes (72.8 TiB)``."""
    k = min((n.bit_length() - 1) // 10, 6)  # 1024**k <= n, exactly
    return f"{n} bytes" if k < 1 else f"{n} bytes ({n / 1024**k:.1f} {'KMGTPE'[k - 1]}iB)"


def _in(member: str | None) -> str:
    return "" if member is None else f" (member {member!r})"


def _npy_header(fp: IO[bytes], path: Path, member: str | None = None) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype declared by the ``.npy`` header at ``fp``'s position (read past it)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}; numpy.save writes (1, 0) or (2, 0)")
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        what = "not a valid .npy file" if member is None else f"member {member!r} is not a valid .npy array"
        raise ValueError(f"{path}: {what} (bad header: {err})") from err
    return tuple(int(d) for d in shape), np.dtype(dtype)


def _check_size(shape: tuple[int, ...], dtype: np.dtype, found: int, path: Path, member: str | None = None) -> None:
    """``found`` bytes after the header must be what ``shape`` × ``dtype`` need (exact integers)."""
    if dtype.hasobject:
        raise ValueError(
            f"{path}: holds a pickled object array{_in(member)}; only numeric arrays are loaded (allow_pickle=False)"
        )
    need = math.prod(shape) * dtype.itemsize
    if found == need:
        return
    what = ".npy file" if member is None else f"member {member!r}"
    declared = f"its header declares shape {shape} {dtype} = {_bytes(need)} of array data"
    if found < need:
        raise ValueError(f"{path}: truncated or corrupt {what}: {declared}, but only {found} bytes follow the header")
    raise ValueError(
        f"{path}: {what} size mismatch: {declared}, but found {found - need} bytes after the array data "
        f"(expected exactly {need} bytes after the header)"
    )


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """The array of a ``.npy`` file (``allow_pickle=False``). Its magic and header are checked first,
    so that the error says what is wrong: not a ``.npy`` file at all, an object dtype (a pickled
    object array, never unpickled), a header numpy cannot read, or a data size that differs from
    what the header declares (nothing is allocated for a header that lies)."""
    path = Path(path)
    magic = np.lib.format.MAGIC_PREFIX
    with open(path, "rb") as f:
        start = f.read(len(magic))
        if start != magic:
            raise ValueError(
                f"{path}: not a .npy file (bad magic / header): it starts with {start!r}, not {magic!r} "
                "(save arrays with numpy.save)"
            )
        f.seek(0)
        shape, dtype = _npy_header(f, path)
        _check_size(shape, dtype, os.fstat(f.fileno()).st_size - f.tell(), path)
        f.seek(0)
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, EOFError, OSError) as err:
            raise ValueError(f"{path}: not a valid .npy file (bad data: {err})") from err


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data by more (zlib's technical notes)


def _check_member(info: zipfile.ZipInfo, archive_size: int, path: Path) -> None:
    """The member's sizes in the zip directory must fit the archive: its compressed bytes inside the
    file, and an uncompressed size its compression can produce."""
    name = info.filename
    if info.header_offset + info.compress_size > archive_size:
        raise ValueError(
            f"{path}: truncated .npz file: member {name!r} needs {info.compress_size} bytes from offset "
            f"{info.header_offset}, but the file has {archive_size} bytes"
        )
    stored = info.compress_type == zipfile.ZIP_STORED
    if (stored and info.file_size != info.compress_size) or (
        info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024
    ):
        raise ValueError(
            f"{path}: corrupt .npz file: member {name!r} claims {_bytes(info.file_size)} uncompressed from "
            f"{info.compress_size} bytes {'stored' if stored else 'deflated'}, more than its compression can hold"
        )


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, archive_size: int) -> np.ndarray:
    """One ``.npy`` member, its declared size checked against the zip's before reading it."""
    _check_member(info, archive_size, path)
    name = info.filename
    try:
        with zf.open(info) as fp:
            shape, dtype = _npy_header(fp, path, name)
            header = fp.tell()
    except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path}: cannot read member {name!r} ({err})") from err
    _check_size(shape, dtype, info.file_size - header, path, name)
    try:
        with zf.open(info) as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"{path}: cannot read member {name!r} (corrupt or truncated data: {err})") from err


class _Npz:
    """The ``.npy`` members of an ``.npz`` file by name (without ``.npy``), read one at a time."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            start = f.read(4)
        if start != b"PK\x03\x04" and start != b"PK\x05\x06":  # a zip archive (empty: end record only)
            raise ValueError(
                f"{path}: not a .npz file (not a zip archive): it starts with {start!r} (save arrays with numpy.savez)"
            )
        self.path, self.size = path, path.stat().st_size
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise ValueError(f"{path}: not a valid .npz file (a truncated or corrupt zip archive: {err})") from err
        self.members = {i.filename[:-4]: i for i in self.zip.infolist() if i.filename.endswith(".npy")}

    def __enter__(self) -> "_Npz":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.zip.close()

    def __getitem__(self, key: str) -> np.ndarray:
        return _read_member(self.zip, self.members[key], self.path, self.size)


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name (``allow_pickle=False``); each member's declared size
    is checked against the zip's before it is read, and every error names the file and member."""
    with _Npz(Path(path)) as npz:
        return {key: npz[key] for key in npz.members}


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
        with _Npz(path) as archive:
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
            raise ValueError(f"{path} has no labels: pass n_clusters=K, the number of clusters to find")
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
