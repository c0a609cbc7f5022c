"""Self-labeling objectives (docs/math.md §3) behind one small interface, and their y-step solvers.

Notation: logits ``l_i``, predictions ``σ_i = softmax(l_i)``, pseudo-labels ``y_i ∈ Δ_K``,
``σ̄ = mean_i σ_i``, ``ȳ = mean_i y_i``, prior ``u`` (uniform 1/K), ``T(x)`` a random augmentation.

============  =========================================================  ===========================
method        θ-step loss on a batch (``network_loss``)                  y-step (``Solver``)
============  =========================================================  ===========================
ccel          ``mean H₂(y_i,σ_i) [+ β mean H₂(y_i,σ(T x_i))]``           exact eq. 11 (or EM), λ=100
ccel-eq10     same                                                       exact eq. 10 (or PGD), λ=100
miadm         ``mean H(y_i,σ_i) [+ β …]`` (Shannon)                      PGD, Shannon eq. 10
sela          ``mean H(y_i,σ_i) [+ β …]`` (Shannon, one-hot y)           Sinkhorn on σ^λ, λ=25
migd          ``mean H(σ_i) − γ H(σ̄)``, γ=1.3 (MI / RIM, eq. 1)         none
imsat         ``R_SAT + λ (mean H(σ_i) − μ H(σ̄))``, λ=0.1, μ=4          none
iic           ``−Σ_ab P_ab ln(P_ab / (P_a P_b))``                        none
kmeans        scikit-learn ``KMeans(n_init=10)`` on the flattened inputs  (one shot, no network)
supervised    ``mean CE(y_i, σ_i)`` on caller-given soft targets         none (targets fixed)
============  =========================================================  ===========================

``label_loss(σ, Y)`` is the y-step objective (for logging):
eq. 11 ``mean H₂(y_i,σ_i) + λ KL(u‖ȳ)``; eq. 10 ``mean H₂(y_i,σ_i) + λ KL(ȳ‖u)``;
MIADM (eq. 5) ``mean H(y_i,σ_i) + λ KL(ȳ‖u)``; SeLa (eq. 4) ``mean H(y_i,σ_i)`` (ȳ = u is a
constraint); supervised ``mean CE(y_i,σ_i)``. Methods without pseudo-labels return NaN.

Which solver each method's y-step uses, and why (exact by default for ours; PGD for MIADM, solved to
``tol``; its step ``1/(λK)``): :mod:`.y_step`.

Modules: :mod:`.network` (:class:`Objective` and the θ-step objectives), :mod:`.y_step`
(:class:`Solver`, :func:`make_solver`: the y-step dispatch), :mod:`.factory` (:func:`make_objective`).
"""

from __future__ import annotations

from ..names import DEFAULTS, METHODS, SUPERVISED
from .factory import make_objective
from .network import IIC, IMSAT, KMeansClustering, MutualInformation, Objective, SelfLabeling, Supervised
from .y_step import Solver, SolverFn, make_solver

__all__ = [
    "METHODS",
    "SUPERVISED",
    "DEFAULTS",
    "Objective",
    "SelfLabeling",
    "Supervised",
    "MutualInformation",
    "IMSAT",
    "IIC",
    "KMeansClustering",
    "Solver",
    "SolverFn",
    "make_objective",
    "make_solver",
]
