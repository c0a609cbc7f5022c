"""User data files whose headers lie: ``.npy`` / ``.npz`` / IDX sizes are checked against the bytes
the file really holds before anything is allocated, and every error names the file (and the
``.npz`` member) and says what was expected (issue 20)."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ccel_core.cli import main
from ccel_core.data import load_dataset, read_idx, write_idx


def _npy_bytes(shape: tuple[int, ...], dtype: str = "<f8", payload: bytes = b"\0" * 64) -> bytes:
    """A ``.npy`` file whose header declares ``shape`` / ``dtype``, followed by ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def _npz(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return path


def _good_npy(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def test_a_npy_header_claiming_72_tib_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_bytes((10**13,)))  # 8e13 bytes = 72.8 TiB declared, 64 bytes present
    with pytest.raises(ValueError, match=r"huge\.npy: .*declares shape \(10000000000000,\) float64.*72\.8 TiB") as e:
        load_dataset(str(path), n_clusters=2)
    assert str(path) in str(e.value) and "64 bytes" in str(e.value)
    from ccel_core.data.arrays import read_npy

    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_npy(path)


def test_a_npy_header_whose_size_overflows_int64_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "overflow.npy"
    path.write_bytes(_npy_bytes((2**40, 2**40, 2**40)))  # 2^120 elements: int64 arithmetic would wrap
    with pytest.raises(ValueError, match=r"overflow\.npy: .*declares shape"):
        load_dataset(str(path), n_clusters=2)


def test_npz_member_claiming_2_gib_names_the_file_and_the_member(tmp_path: Path) -> None:
    path = _npz(tmp_path / "big.npz", x=_npy_bytes((2**28,)), y=_good_npy(np.zeros(3, np.int64)))
    with pytest.raises(ValueError) as e:
        load_dataset(str(path), n_clusters=2)
    text = str(e.value)
    assert text.startswith(f"{path}: ") and "'x.npy'" in text and "2.0 GiB" in text and "EOF" not in text, text


def test_truncated_npy_data_and_header(tmp_path: Path) -> None:
    good = _good_npy(np.arange(12.0).reshape(4, 3))
    cases = {
        "data.npy": (good[:-8], r"data\.npy: .*declares shape \(4, 3\) float64.*96 bytes.*88"),
        "header.npy": (good[:20], r"header\.npy: not a valid \.npy file"),
        "magic.npy": (good[:5], r"magic\.npy: not a \.npy file"),
        "extra.npy": (good + b"junk", r"extra\.npy: .*4 bytes after the array data"),
    }
    for name, (content, pattern) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=pattern):
            load_dataset(str(tmp_path / name), n_clusters=2)


def test_truncated_and_corrupt_npz(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    good = tmp_path / "good.npz"
    np.savez(good, x=x, y=np.arange(20) % 2)
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz: not a valid \.npz file"):
        load_dataset(str(cut))
    short = _npz(tmp_path / "short.npz", x=_good_npy(x)[:-16])
    with pytest.raises(ValueError, match=r"short\.npz: .*'x\.npy'.*declares shape \(20, 3\) float64"):
        load_dataset(str(short), n_clusters=2)
    garbled = _npz(tmp_path / "garbled.npz", x=b"not an array at all")
    with pytest.raises(ValueError, match=r"garbled\.npz: .*'x\.npy'.*not a valid \.npy"):
        load_dataset(str(garbled), n_clusters=2)
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, x=x, y=np.arange(20) % 2)
    assert load_dataset(str(compressed)).x.shape == (20, 3)
    from ccel_core.data.arrays import read_npz

    assert set(read_npz(good)) == {"x", "y"} and np.array_equal(read_npz(good)["x"], x)


def test_npz_with_a_corrupt_compressed_member_names_the_member(tmp_path: Path) -> None:
    path = tmp_path / "crc.npz"
    np.savez_compressed(path, x=np.random.default_rng(1).normal(size=(200, 5)))
    data = bytearray(path.read_bytes())
    start = data.find(b"x.npy") + len(b"x.npy") + 40  # inside the deflate stream of x.npy
    data[start : start + 20] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"crc\.npz: .*'x\.npy'"):
        load_dataset(str(path), n_clusters=2)


def test_a_labels_npy_with_a_lying_header_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    (tmp_path / "y.npy").write_bytes(_npy_bytes((10**12,), "<i8"))
    with pytest.raises(ValueError, match=r"y\.npy: .*declares shape \(1000000000000,\) int64"):
        load_dataset(str(tmp_path / "x.npy"), labels=tmp_path / "y.npy")


def test_idx_header_claiming_more_than_the_file_holds(tmp_path: Path) -> None:
    huge = tmp_path / "huge.idx"
    huge.write_bytes(bytes([0, 0, 0x08, 3]) + b"".join((2**32 - 1).to_bytes(4, "big") for _ in range(3)) + b"\0" * 16)
    with pytest.raises(ValueError, match=r"huge\.idx: truncated IDX data: dims 4294967295 x 4294967295 x 4294967295"):
        read_idx(huge)
    gz = tmp_path / "huge.idx.gz"
    gz.write_bytes(gzip.compress(huge.read_bytes()))
    with pytest.raises(ValueError, match=r"huge\.idx\.gz: truncated IDX data"):
        read_idx(gz)
    # 4 dims of 2^32-1 bytes: int64 arithmetic would wrap around
    wrap = tmp_path / "wrap.idx"
    wrap.write_bytes(bytes([0, 0, 0x0E, 4]) + b"".join((2**32 - 1).to_bytes(4, "big") for _ in range(4)))
    with pytest.raises(ValueError, match=r"wrap\.idx: truncated IDX data"):
        read_idx(wrap)


def test_truncated_gzip_idx_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.idx.gz"
    write_idx(path, np.arange(600, dtype=np.uint8).reshape(6, 10, 10))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"a\.idx\.gz: corrupted or truncated gzip stream"):
        read_idx(path)


def test_fit_on_a_lying_file_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_bytes((10**13,)))
    runs = tmp_path / "runs"
    code = main(["fit", "--data", str(path), "--n-clusters", "2", "--runs-dir", str(runs), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "72.8 TiB" in err, err
    assert not runs.exists()


def test_labels_given_as_any_array_like(tmp_path: Path) -> None:
    """``labels=`` takes what np.asarray takes (a list, a tuple, a tensor), as documented; a dict is refused."""
    import torch

    from ccel_core.data import load_dataset

    path = tmp_path / "f.npy"
    np.save(path, np.random.default_rng(0).normal(size=(4, 2)))
    for labels in ([0, 1, 0, 1], (0, 1, 0, 1), np.array([0, 1, 0, 1]), torch.tensor([0, 1, 0, 1])):
        assert load_dataset(str(path), labels=labels).y.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="option labels="):
        load_dataset(str(path), labels={"a": 1})
