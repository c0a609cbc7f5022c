"""Loss-curve experiments (explorer page 1): the CE family as functions of the prediction σ.

All values come from :mod:`ccel_core.losses` evaluated on logits ``l = ln σ`` (so
``softmax(l) = σ``); gradients come from torch autograd. Nothing here re-derives a formula.

* Shannon CE      ``H(y, σ)   = −Σ_k y_k ln σ_k``                       (α = 1)
* Collision CE    ``H₂(y, σ)  = −ln Σ_k y_k σ_k``                       (α = 2, paper eq. 9)
* Rényi CE        ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``

Functions:

* :func:`loss_curves` — the paper's Fig. 1: K = 2, ``σ = (p, 1 − p)``, one curve per target y
  and order α (Shannon dashed, collision solid in :func:`ccel_core.plots.loss_curves_figure`).
* :func:`simplex_loss_grid` — the loss over the K = 3 simplex for a fixed target y (a ternary
  heatmap). Shannon CE is minimized at ``σ = y`` (Gibbs); collision CE is linear in σ inside
  the log, so it is minimized at the vertex ``e_{argmax y}``.
* :func:`gradient_vs_certainty` — ``‖∂CE/∂l‖₂`` as the target goes from one-hot to uniform,
  ``y(ε) = (1 − ε) e_c + (ε/K) 1``. Collision CE's gradient ``σ − (y ⊙ σ)/(y·σ)`` vanishes at
  ``ε = 1`` (uniform y carries no information), Shannon's ``σ − y`` does not.
* :func:`simplex_gradient_field` — where one gradient step on the logits moves σ over Δ₃, and
  :func:`loss_and_gradients` — the losses and logit gradients of one (y, σ) pair.
* :func:`exact_minimizers` — where a K = 2 curve is smallest, in closed form (the pages and the
  report state these); :func:`near_minimum` / :func:`curve_minimizers` — the minimizers of a sampled
  loss *as a set*
  (a flat curve, such as collision CE of y = (½, ½), has no argmin to report).

The package, one idea per module (every name importable from here): :mod:`.family` (the order-α
CE family: names, values, logit gradients, checks), :mod:`.fig1` (the K = 2 curves),
:mod:`.simplex` (the loss and its gradient flow over Δ₃), :mod:`.gradients` (gradient norms) and
:mod:`.minimizers` (where a curve is smallest); :mod:`.threads` runs them with torch on one thread.
"""

from __future__ import annotations

from .family import family_loss, loss_kind, loss_name
from .fig1 import FIG1_TARGETS as FIG1_TARGETS  # not in __all__, as before the split
from .fig1 import loss_curves
from .gradients import gradient_vs_certainty, loss_and_gradients
from .minimizers import Minimizers, binary_loss, curve_minimizers, exact_minimizers, near_minimum
from .simplex import simplex_gradient_field, simplex_grid, simplex_loss_grid, simplex_xy

__all__ = [
    "loss_kind",
    "loss_name",
    "family_loss",
    "loss_curves",
    "simplex_grid",
    "simplex_loss_grid",
    "simplex_xy",
    "gradient_vs_certainty",
    "simplex_gradient_field",
    "loss_and_gradients",
    "near_minimum",
    "curve_minimizers",
    "exact_minimizers",
    "binary_loss",
    "Minimizers",
]
