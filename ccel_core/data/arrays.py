"""Reading ``.npy`` / ``.npz`` files that may lie: every size a header declares is checked against the
bytes actually there before anything is allocated, and every error names the file (and the member).

numpy's own ``np.load`` trusts the header: a ``.npy`` header claiming 72.8 TiB raises a raw
``MemoryError``, and an ``.npz`` member claiming 2 GiB fails with "EOF: reading array data" without
naming the file. :func:`read_npy` and :func:`read_npz` read the header first (``np.lib.format``),
compare shape × itemsize with the file size (``.npy``) or the zip directory's sizes (``.npz``), and only
then read the data, with ``allow_pickle=False``.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["read_npy", "read_npz", "NpzReader"]


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


class NpzReader:
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

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.zip.close()

    def __getitem__(self, key: str) -> np.ndarray:
        return _read_member(self.zip, self.members[key], self.path, self.size)


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name (``allow_pickle=False``); each member's declared size
    is checked against the zip's before it is read, and every error names the file and member."""
    with NpzReader(Path(path)) as npz:
        return {key: npz[key] for key in npz.members}
