"""Pseudo-label (y-step) solvers: the certified exact y-step and the paper's EM for eq. 11, PGD for
eq. 10/11, Sinkhorn for SeLa; a certified optimality gap for any eq. 10/11 labels.

Every solver validates its input, computes in float64, returns a :class:`SolverResult`
(``labels``, ``n_iter``, ``converged``, ``history``, ``times``) and maps numpy → numpy,
torch → torch on the input's device.
"""

from ._common import (
    STATUSES,
    ConvergenceWarning,
    SolverResult,
    eq10_loss,
    eq11_loss,
    fairness,
    kl_prior,
    label_objective,
)
from .certificate import certified_gap, dual_value
from .em import em, m_step, m_step_timings
from .exact import exact
from .pgd import pgd, project_simplex
from .sinkhorn import sinkhorn

__all__ = [
    "ConvergenceWarning",
    "SolverResult",
    "STATUSES",
    "em",
    "exact",
    "certified_gap",
    "dual_value",
    "m_step",
    "m_step_timings",
    "pgd",
    "project_simplex",
    "sinkhorn",
    "eq10_loss",
    "eq11_loss",
    "kl_prior",
    "fairness",
    "label_objective",
]
