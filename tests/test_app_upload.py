"""The Clustering runs page's feature upload with Streamlit's AppTest: a .npy that is not one (random
bytes, a pickled object array) is diagnosed without unpickling, and a CSV's label column is chosen
from its header (or its numbered columns) and applies at once.

The run store is a temporary ``$CCEL_RUNS_DIR`` (fixture ``store``: tests/conftest.py).
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from conftest import FORMS_OPEN, errors, ok, open_page  # tests/ is on sys.path

pytest.importorskip("streamlit")

from ccel_core.runs import RunStore  # noqa: E402


def test_random_bytes_as_npy_are_not_a_pickled_object_array(store: RunStore) -> None:
    at = open_page("clustering_runs", state=FORMS_OPEN)
    at.file_uploader(key="cr.upload").set_value(("noise.npy", os.urandom(4096), "application/octet-stream"))
    at.run()
    ok(at)
    [message] = errors(at)
    assert "noise.npy: not a .npy file (bad magic / header)" in message and "pickle" not in message
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    at.file_uploader(key="cr.upload").set_value(("objects.npy", buf.getvalue(), "application/octet-stream"))
    at.run()
    assert any("objects.npy: holds a pickled object array" in e for e in errors(at))
    assert not (store.root / "_features").exists() or not list((store.root / "_features").glob("*.npz"))


def test_the_csv_label_column_applies_without_enter(store: RunStore) -> None:
    rng = np.random.default_rng(1)
    rows = "\n".join(f"{a:.3f},{b:.3f},{c}" for (a, b), c in zip(rng.normal(size=(30, 2)), np.arange(30) % 3))
    at = open_page("clustering_runs", state=FORMS_OPEN)
    at.file_uploader(key="cr.upload").set_value(("pts.csv", f"f1,f2,label\n{rows}\n".encode(), "text/csv"))
    at.run()
    ok(at)
    column = at.selectbox(key="cr.label_column")
    assert column.options == ["(none: unlabeled)", "f1", "f2", "label"]
    assert any("has no labels: give K" in e and "K if unlabeled" in e for e in errors(at))  # as read: unlabeled, no K
    column.set_value("label").run()  # a choice applies at once: no Enter, no button
    ok(at)
    assert not errors(at) and any("30 × 2" in s.value and "3 classes" in s.value for s in at.success)
    at.file_uploader(key="cr.upload").set_value(("raw.csv", f"{rows}\n".encode(), "text/csv"))
    at.run()
    assert at.selectbox(key="cr.label_column").options == ["(none: unlabeled)", "column 1", "column 2", "column 3"]
    at.selectbox(key="cr.label_column").set_value("column 3").run()
    assert any("30 × 2" in s.value and "3 classes" in s.value for s in at.success)
