"""A validating reader for the IDX format of MNIST / Fashion-MNIST (plain or gzip-compressed).

Layout: a 4-byte magic number ``0x0000TTNN`` (two zero bytes, type code TT, number of dims NN),
then NN big-endian uint32 dimension sizes, then the data in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import IO

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


_CHUNK = 1 << 20


def _read(stream: IO[bytes], size: int, path: Path) -> bytes:
    """Up to ``size`` bytes, read in chunks: memory grows with the bytes really there, never with
    a size a header claims."""
    chunks, left = [], size
    try:
        while left > 0:
            chunk = stream.read(min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except (OSError, EOFError, zlib.error) as err:
        what = "corrupted or truncated gzip stream" if isinstance(stream, gzip.GzipFile) else "cannot be read"
        raise ValueError(f"{path}: {what} ({err})") from err
    return b"".join(chunks)


def _rest(stream: IO[bytes], path: Path) -> int:
    """How many bytes are left (read and dropped, chunk by chunk)."""
    n = 0
    while chunk := _read(stream, _CHUNK, path):
        n += len(chunk)
    return n


def read_idx(path: str | os.PathLike, *, ndim: int | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes) into a native-endian numpy array.

    The data size the header's dims declare is compared with the bytes the file holds before the
    data is read (a plain file: its size; a gzip file: read in chunks up to that size), so a header
    that lies never allocates what it claims.

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
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
        head = _read(stream, 4, path)
        if len(head) < 4:
            raise ValueError(f"{path}: truncated IDX file: {len(head)} bytes, expected at least a 4-byte magic number")
        magic = int.from_bytes(head, "big")
        code, nd = head[2], head[3]
        if head[:2] != b"\x00\x00" or code not in IDX_TYPES or nd < 1:
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
        sizes = _read(stream, 4 * nd, path)
        if len(sizes) < 4 * nd:
            raise ValueError(f"{path}: truncated IDX header: {4 + len(sizes)} bytes, expected {header} for {nd} dims")
        dims = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(nd))
        expected = math.prod(dims) * file_dtype.itemsize  # Python ints: no overflow
        shape_txt = " x ".join(map(str, dims))
        # a plain file: its size says it before reading; a gzip stream: read up to the size declared
        found = os.fstat(raw.fileno()).st_size - header if not compressed else None
        if found is None or found == expected:
            data = _read(stream, expected, path)
            found = len(data) + (_rest(stream, path) if len(data) == expected else 0)
    if found < expected:
        raise ValueError(f"{path}: truncated IDX data: dims {shape_txt} need {expected} bytes, found {found}")
    if found > expected:
        raise ValueError(
            f"{path}: IDX size mismatch: dims {shape_txt} need {expected} bytes, found {found} ({found - expected} extra)"
        )
    arr = np.frombuffer(data, dtype=file_dtype).reshape(dims)
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
