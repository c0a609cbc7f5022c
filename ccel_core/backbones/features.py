"""Extracted features and their file: :class:`Features` (``x`` float32 N×D, ``y``, provenance) and
the ``.npz`` file ``ccel fit --data FILE.npz`` loads: ``x`` (float32 N×D), ``y`` (int64, when
labeled) and ``meta`` (a JSON string: backbone, weights, data, n, …), written atomically by
:func:`save_features` and read back by :func:`feature_file_meta`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import Dataset
from ..data.arrays import NpzReader
from ..data.features import NO_LABELS
from ..runs import atomic_write

__all__ = ["Features", "check_output_path", "feature_file_meta", "save_features"]


@dataclass
class Features:
    """Extracted features: ``x`` float32 ``(N, D)``, ``y`` int64 ``(N,)`` or None, provenance in ``meta``."""

    x: torch.Tensor
    y: torch.Tensor | None
    class_names: list[str] | None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dataset(self, *, n_clusters: int | None = None) -> Dataset:
        """A ``kind="features"`` :class:`Dataset` (unlabeled features need ``n_clusters``)."""
        if n_clusters is not None:
            k = int(n_clusters)
        elif self.y is None:
            raise ValueError(f"these features {NO_LABELS}")
        else:
            k = len(self.class_names) if self.class_names else int(self.y.max()) + 1
        names = self.class_names if self.y is not None and len(self.class_names or ()) == k else None
        name = f"{self.meta.get('data')}:{self.meta.get('backbone')}"
        return Dataset(name, self.x, self.y, k, "features", names, self.meta)


def check_output_path(path: str | os.PathLike) -> Path:
    """``path`` as an absolute Path, once it ends in ``.npz`` and its folder exists and is writable."""
    out = Path(path).expanduser().absolute()
    if out.suffix.lower() != ".npz":
        raise ValueError(f"output {out} should end in .npz (the feature-file format ccel fit loads)")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise ValueError(f"output folder {out.parent} is not writable")
    return out


def save_features(features: Features, path: str | os.PathLike) -> Path:
    """Write ``features`` to the ``.npz`` file ``path`` (``x``, ``y`` when labeled, ``meta`` as JSON)
    through a temporary file renamed into place: an error or Ctrl-C leaves no partial file."""
    out = check_output_path(path)
    arrays = {"x": features.x.numpy().astype(np.float32, copy=False)}
    if features.y is not None:
        arrays["y"] = features.y.numpy().astype(np.int64, copy=False)
    arrays["meta"] = np.array(json.dumps(features.meta, default=str))
    atomic_write(out, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
    return out


def feature_file_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``meta`` dict of a file written by :func:`save_features` (``{}`` for a file without one)."""
    with NpzReader(Path(path).expanduser()) as archive:  # sizes checked, errors naming the file
        return json.loads(str(archive["meta"])) if "meta" in archive.members else {}
