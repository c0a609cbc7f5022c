"""Pure-function experiments behind the explorer pages and the notebooks (no UI, no plotting).

* :mod:`.curves` — the paper's Fig. 1 loss curves, the loss over the K = 3 simplex, gradients.
* :mod:`.noisy` — the supervised noisy-label experiment (paper Fig. 2).
* :mod:`.trajectories` — pseudo-labels over EM iterations and over training epochs.
* :mod:`.race` — the EM vs PGD solver race (paper Table 1); :mod:`.race_sweep` — the race over K.
* :mod:`.fixed_features` — the Table 2 protocol (a linear head on fixed features).
* :mod:`.paper` — the paper's reported numbers (Tables 1, 2, 3, 5), written once.

The whole paper rerun with a verdict per claim: :mod:`ccel_core.reproduce` (``ccel reproduce``).

Import the functions from their modules, e.g. ``from ccel_core.experiments.race import solver_race``.
"""
