"""A validating reader for the IDX format of MNIST / Fashion-MNIST (plain or gzip-compressed).

Layout: a 4-byte magic number ``0x0000TTNN`` (two zero bytes, type code TT, number of dims NN),
then NN big-endian uint32 dimension sizes, then the data in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: corrupted or truncated gzip stream ({err})") from err


def read_idx(path: str | os.PathLike, *, ndim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes) into a native-endian numpy array.

    Args:
        path: The file.
        ndim: If given, the number of dimensions the file must declare (3 for images, 1 for labels).
        dtype: If given, the element type the file must declare (e.g. ``"uint8"``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad magic number, unexpected dims or type, truncated header or data, or trailing
            bytes; the message names the file and what was expected.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(data)} bytes, expected at least a 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    code, nd = data[2], data[3]
    if data[:2] != b"\x00\x00" or code not in IDX_TYPES or nd < 1:
        raise ValueError(
            f"{path}: bad IDX magic number {magic} (0x{magic:08x}); expected 0x0000TTNN with type TT in "
            f"{{08,09,0b,0c,0d,0e}} and NN >= 1 dims, e.g. 2049 for labels or 2051 for images"
        )
    if ndim is not None and nd != ndim:
        raise ValueError(
            f"{path}: IDX file declares {nd} dims (magic {magic}); expected {ndim} dims (magic {0x800 + ndim})"
        )
    file_dtype = IDX_TYPES[code]
    if dtype is not None and file_dtype.newbyteorder("=") != np.dtype(dtype):
        raise ValueError(f"{path}: IDX element type is {file_dtype.newbyteorder('=')}, expected {np.dtype(dtype)}")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {len(data)} bytes, expected {header} for {nd} dims")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd))
    expected = int(np.prod(dims, dtype=np.int64)) * file_dtype.itemsize
    found = len(data) - header
    shape_txt = " x ".join(map(str, dims))
    if found < expected:
        raise ValueError(f"{path}: truncated IDX data: dims {shape_txt} need {expected} bytes, found {found}")
    if found > expected:
        raise ValueError(
            f"{path}: IDX size mismatch: dims {shape_txt} need {expected} bytes, found {found} ({found - expected} extra)"
        )
    arr = np.frombuffer(data, dtype=file_dtype, offset=header).reshape(dims)
    return arr.astype(file_dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``). Used by tests and tools."""
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, codes[native], array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(IDX_TYPES[codes[native]]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
