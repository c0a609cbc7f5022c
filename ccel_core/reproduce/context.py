"""What a reproduction run works with: its budget, where MNIST-test and feature files are, the
device, and where its progress lines go."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Optional

from .budget import Budget

__all__ = ["Context", "default_mnist_root", "MNIST_NEEDS"]

MNIST_ROOT_DEFAULT = "$CCEL_MNIST_ROOT, else the data folder: $CCEL_DATA, else ./data"
MNIST_NEEDS = (
    "the MNIST test split (t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], 2 MB) in --mnist-root "
    f"(default {MNIST_ROOT_DEFAULT}): rerun with --download to fetch it"
)


def default_mnist_root() -> Path:
    """``$CCEL_MNIST_ROOT``, else the folder every data set uses (:func:`~ccel_core.data.default_root`:
    ``$CCEL_DATA``, else ``./data``), where ``--download`` puts it."""
    env = os.environ.get("CCEL_MNIST_ROOT")
    if env:
        return Path(env).expanduser()
    from ..data.registry import default_root

    return default_root()


@dataclass
class Context:
    """A run's settings beside its :class:`~ccel_core.reproduce.budget.Budget`."""

    budget: Budget
    mnist_root: Path = field(default_factory=default_mnist_root)
    features: tuple[Path, ...] = ()
    device: str = "cpu"
    download: bool = False
    echo: Callable[[str], Any] = print

    @property
    def seeds(self) -> list[int]:
        return list(range(self.budget.seeds))

    def mnist(self, rows: Optional[int] = None, *, flatten: bool = False) -> Any:
        """MNIST-test as images (or flattened pixels), optionally a stratified subsample of ``rows``.
        ``FileNotFoundError`` (naming what is missing) when the files are not there."""
        from ..data import load_dataset
        from ..experiments.fixed_features import feature_dataset

        options: dict[str, Any] = {"download": self.download, **({"n_samples": int(rows)} if rows else {})}
        if flatten:
            return feature_dataset("mnist-test", root=str(self.mnist_root), **options)
        return load_dataset("mnist-test", self.mnist_root, **options)

    @cached_property
    def has_mnist(self) -> bool:
        """Whether MNIST-test loads (checked once per run)."""
        try:
            self.mnist(rows=20)
        except FileNotFoundError:
            return False
        return True
