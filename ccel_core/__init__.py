"""ccel: collision cross-entropy for soft labels and self-labeled deep clustering.

Sub-modules: :mod:`ccel_core.losses` (the CE family), :mod:`ccel_core.solvers` (pseudo-label
solvers), :mod:`ccel_core.metrics` (ACC / NMI / ARI), and the clustering engine built on them.
"""

__version__ = "0.1.0"
