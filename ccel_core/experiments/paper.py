"""The paper's reported numbers (Zhang & Boykov, "Collision Cross-entropy for Soft Class Labels and
Deep Clustering"), written once: the reproduction report, the fixed-features benchmark and the
docs read them from here.

ACC values are in %, ``(mean, std)`` over the paper's 6 runs (``std`` None where the paper gives
none). Method keys are ccel's method names (``"ccel"`` is the paper's "Our").
"""

from __future__ import annotations

from typing import Any, Optional

from ..names import METHOD_TABLE

__all__ = [
    "TABLE1_KS",
    "TABLE1",
    "TABLE2",
    "TABLE2_WEIGHT_DECAY",
    "TABLE3",
    "TABLE3_PROTOCOL",
    "TABLE3_EPOCHS",
    "TABLE5",
    "TABLE5_FRACTIONS",
    "PAPER_METHOD_NAMES",
    "best_baseline",
]

Cell = tuple[float, Optional[float]]

# the methods' names in the paper's tables (the method table's), and Table 5's seeds-only row
PAPER_METHOD_NAMES = {**{m.name: m.paper for m in METHOD_TABLE}, "seeds": "Only seeds"}

# Table 1: y-step solvers at three K (the column heads were lost with the formulas; K = 2, 20, 200
# as in docs/math.md §11). Rows: (iterations to convergence per K, seconds to convergence per K);
# PGD step sizes η1 > η2 > η3 (their values were lost too).
TABLE1_KS: tuple[int, ...] = (2, 20, 200)
TABLE1: dict[str, tuple[tuple[int, int, int], tuple[float, float, float]]] = {
    "PGD η1": ((326, 742, 540), (0.25, 2.20, 36.25)),
    "PGD η2": ((101, 468, 344), (0.09, 1.55, 23.35)),
    "PGD η3": ((24, 202, 180), (0.02, 0.65, 12.60)),
    "EM": ((25, 53, 71), (0.04, 0.09, 0.36)),
}

# Table 2: fixed ImageNet ResNet-50 features + a linear head (K-means: cluster centres).
TABLE2: dict[str, dict[str, Cell]] = {
    "kmeans": {"STL10": (85.20, 5.9), "CIFAR10": (67.78, 4.6), "CIFAR100-20": (42.99, 1.3), "MNIST": (47.62, 2.1)},
    "migd": {"STL10": (89.56, 6.4), "CIFAR10": (72.32, 5.8), "CIFAR100-20": (43.59, 1.1), "MNIST": (52.92, 3.0)},
    "sela": {"STL10": (90.33, 4.8), "CIFAR10": (63.31, 3.7), "CIFAR100-20": (40.74, 1.1), "MNIST": (52.38, 5.2)},
    "miadm": {"STL10": (88.64, 7.1), "CIFAR10": (60.57, 3.3), "CIFAR100-20": (41.2, 1.4), "MNIST": (50.61, 1.3)},
    "ccel": {"STL10": (92.33, 6.4), "CIFAR10": (73.51, 6.3), "CIFAR100-20": (43.72, 1.1), "MNIST": (58.4, 3.2)},
}
# the weight decay of Table 2's linear head per data set (supplementary material)
TABLE2_WEIGHT_DECAY = {"MNIST": 0.001, "CIFAR10": 0.02, "CIFAR100-20": 0.009, "STL10": 0.02}

# Table 3: VGG4 from scratch + self-augmentation (Adam, batch 250, 50 epochs, weight decay 0.01).
TABLE3: dict[str, dict[str, Cell]] = {
    "imsat": {"STL10": (25.28, 0.5), "CIFAR10": (21.4, 0.5), "CIFAR100-20": (14.39, 0.7), "MNIST": (92.90, 6.3)},
    "iic": {"STL10": (24.12, 1.7), "CIFAR10": (21.3, 1.4), "CIFAR100-20": (12.58, 0.6), "MNIST": (82.51, 2.3)},
    "sela": {"STL10": (23.99, 0.9), "CIFAR10": (24.16, 1.5), "CIFAR100-20": (15.34, 0.3), "MNIST": (52.86, 1.9)},
    "miadm": {"STL10": (23.37, 0.9), "CIFAR10": (23.26, 0.6), "CIFAR100-20": (14.02, 0.5), "MNIST": (78.88, 3.3)},
    "ccel": {"STL10": (25.98, 1.1), "CIFAR10": (24.26, 0.8), "CIFAR100-20": (15.14, 0.5), "MNIST": (95.11, 4.3)},
}

# Table 3's training protocol (supplementary material; MNIST's batch size, the learning rate was lost)
TABLE3_PROTOCOL: dict[str, Any] = {"optimizer": "adam", "batch_size": 250, "weight_decay": 0.01}
TABLE3_EPOCHS = 50

# Table 5: weak supervision, Shannon CE on a labeled fraction plus each self-labeling loss.
TABLE5_FRACTIONS: tuple[float, ...] = (0.1, 0.05, 0.01)
TABLE5: dict[str, dict[tuple[float, str], float]] = {
    "seeds": {(0.1, "STL10"): 40.27, (0.1, "CIFAR10"): 58.77, (0.05, "STL10"): 36.26, (0.05, "CIFAR10"): 54.27,
              (0.01, "STL10"): 26.1, (0.01, "CIFAR10"): 39.01},
    "imsat": {(0.1, "STL10"): 47.39, (0.1, "CIFAR10"): 65.54, (0.05, "STL10"): 40.73, (0.05, "CIFAR10"): 61.4,
              (0.01, "STL10"): 26.54, (0.01, "CIFAR10"): 46.97},
    "iic": {(0.1, "STL10"): 44.73, (0.1, "CIFAR10"): 66.5, (0.05, "STL10"): 33.6, (0.05, "CIFAR10"): 61.17,
            (0.01, "STL10"): 26.17, (0.01, "CIFAR10"): 47.21},
    "sela": {(0.1, "STL10"): 44.84, (0.1, "CIFAR10"): 61.5, (0.05, "STL10"): 36.4, (0.05, "CIFAR10"): 58.35,
             (0.01, "STL10"): 25.08, (0.01, "CIFAR10"): 47.19},
    "miadm": {(0.1, "STL10"): 45.83, (0.1, "CIFAR10"): 62.51, (0.05, "STL10"): 40.41, (0.05, "CIFAR10"): 57.05,
              (0.01, "STL10"): 25.79, (0.01, "CIFAR10"): 45.91},
    "ccel": {(0.1, "STL10"): 47.79, (0.1, "CIFAR10"): 66.17, (0.05, "STL10"): 41.71, (0.05, "CIFAR10"): 61.59,
             (0.01, "STL10"): 27.18, (0.01, "CIFAR10"): 47.22},
}  # fmt: skip


def best_baseline(table: dict[str, dict], column: object) -> tuple[str, float]:
    """The paper's best method other than ours in ``column`` of ``table``, and its ACC."""
    cells = {m: row[column] for m, row in table.items() if m != "ccel" and column in row}
    best = max(cells, key=lambda m: cells[m][0] if isinstance(cells[m], tuple) else cells[m])
    value = cells[best]
    return best, float(value[0] if isinstance(value, tuple) else value)
