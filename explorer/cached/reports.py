"""Reproduction reports, checked once per file version (the schema check builds every figure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st


@st.cache_data(show_spinner=False, max_entries=16)
def _report(path: str, version: tuple[int, int]) -> Any:
    from ccel_core.reproduce import load_report

    return load_report(Path(path))


def report(path: Path) -> Any:
    """:func:`ccel_core.reproduce.load_report`, cached per file version (mtime, size); ``ValueError``
    naming the file when it is not a report (or is gone)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the report ({exc.strerror or exc})") from exc
    return _report(str(path), (stat.st_mtime_ns, stat.st_size))
