"""Pseudo-label (y-step) solvers: the paper's EM for eq. 11, PGD for eq. 10/11, Sinkhorn for SeLa.

Every solver validates its input, computes in float64, returns a :class:`SolverResult`
(``labels``, ``n_iter``, ``converged``, ``history``, ``times``) and maps numpy → numpy,
torch → torch on the input's device.
"""

from ._common import ConvergenceWarning, SolverResult, eq10_loss, eq11_loss, kl_prior
from .em import em, m_step
from .pgd import pgd, project_simplex
from .sinkhorn import sinkhorn

__all__ = [
    "ConvergenceWarning",
    "SolverResult",
    "em",
    "m_step",
    "pgd",
    "project_simplex",
    "sinkhorn",
    "eq10_loss",
    "eq11_loss",
    "kl_prior",
]
