"""How much of each paper experiment ``ccel reproduce`` runs: the ``quick``, ``full`` and ``tiny`` budgets.

``quick`` (≥ 3 seeds) is sized to finish in :data:`QUICK_TIME` (measured: see
benchmarks/RESULTS.md; a busy machine takes longer, and the report records its load); ``full`` (6 seeds, the paper's protocols) is for a GPU box; ``tiny`` is the
test suite's smoke run (every section runs, its numbers mean nothing). One field per setting, so
the report can say exactly how a run differs from the paper's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..experiments.paper import TABLE3_EPOCHS

__all__ = ["Budget", "BUDGETS", "QUICK_TIME", "budget"]

QUICK_TIME = "about 25 min on a 2-core CPU"  # the quick budget's wall time, measured (RESULTS.md); CLI, app, notebook say it from here


@dataclass(frozen=True)
class Budget:
    """The settings of one reproduction run (see :data:`BUDGETS`)."""

    name: str
    seeds: int
    # Fig. 2: supervised training from corrupted soft targets
    fig2_data: tuple[str, ...] = ("digits", "mnist-test")
    fig2_models: tuple[str, ...] = ("linear", "mlp")
    fig2_noises: tuple[str, ...] = ("random-soft", "mix")
    fig2_levels: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8)
    fig2_mnist_levels: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8)
    fig2_epochs: int = 15
    fig2_rows: Optional[int] = None  # subsample each data set to this many rows (None: all)
    # Table 1: the y-step race, one problem per seed and K
    table1_n: int = 300
    table1_ks: tuple[int, ...] = (2, 20, 200)
    table1_em_iters: int = 1200
    # Table 2: fixed features + a linear head (the paper's protocol: 10 epochs)
    table2_data: tuple[str, ...] = ("digits", "mnist-test")
    table2_epochs: int = 10
    table2_rows: Optional[int] = None
    # Table 3: VGG4 from scratch + self-augmentation on MNIST-test (the paper: MNIST, its epochs)
    table3_rows: Optional[int] = None
    table3_epochs: int = TABLE3_EPOCHS
    table3_beta: float = 0.2
    # Table 5: weak supervision on a train/test split of MNIST-test
    table5_model: str = "vgg4"
    table5_train_rows: Optional[int] = None  # None: 80 % of the data set
    table5_test_rows: Optional[int] = None  # None: the other 20 %
    table5_epochs: int = TABLE3_EPOCHS  # the paper's Table 3 protocol

    def with_seeds(self, seeds: Optional[int]) -> "Budget":
        """This budget with ``seeds`` seeds (unchanged for None)."""
        if seeds is None:
            return self
        if int(seeds) < 2:
            raise ValueError(f"seeds={seeds!r} should be >= 2: a verdict needs a spread over seeds")
        return replace(self, seeds=int(seeds))


BUDGETS: dict[str, Budget] = {
    "full": Budget("full", seeds=6, table1_n=2000, table1_em_iters=2000),
    "quick": Budget(
        "quick",
        seeds=3,
        fig2_mnist_levels=(0.0, 0.4, 0.8),
        table3_rows=1000,
        table3_epochs=3,
        table5_model="mlp",
        table5_train_rows=3000,
        table5_test_rows=1000,
        table5_epochs=8,
    ),
    "tiny": Budget(
        "tiny",
        seeds=2,
        fig2_models=("linear",),
        fig2_noises=("mix",),
        fig2_levels=(0.0, 0.8),
        fig2_mnist_levels=(0.0, 0.8),
        fig2_epochs=2,
        fig2_rows=300,
        table1_n=100,
        table1_ks=(2, 20),
        table2_epochs=2,
        table2_rows=300,
        table3_rows=60,
        table3_epochs=1,
        table5_model="linear",
        table5_train_rows=1000,
        table5_test_rows=200,
        table5_epochs=2,
    ),
}


def budget(name: str, seeds: Optional[int] = None) -> Budget:
    """The budget called ``name`` (``quick``, ``full`` or ``tiny``), optionally with ``seeds`` seeds."""
    if name not in BUDGETS:
        raise ValueError(f"unknown budget {name!r}; known: {', '.join(BUDGETS)}")
    return BUDGETS[name].with_seeds(seeds)
