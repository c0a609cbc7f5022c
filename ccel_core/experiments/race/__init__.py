"""The y-step solver race of paper Table 1 — EM vs projected gradient descent on eq. 11 — with the
certified exact y-step beside them, for one K or swept over K.

For predictions ``σ`` (N×K) the pseudo-labels minimize ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``.
Each solver runs from its default start (EM and PGD from ``Y0 = σ``); the race records after every
iteration the loss, the wall time (without the certificate's own cost) and two gaps:

* ``certified`` — the certified relative gap ``(L(Y) − D(c(Y)))/L(Y)`` from the dual of the y-step
  (:func:`ccel_core.solvers.certified_gap`): an upper bound on the true gap that needs no reference;
* ``gap = (L − L*)/|L*|`` against ``L*`` = the exact y-step's certified optimum (within its own
  certified gap, ≤ 1e-10 by default), optionally checked against CVXPY + Clarabel.

The summary gives iterations and seconds until the certified gap is ≤ 1e-2, 1e-3, 1e-6, 1e-9, and
the paper-style stop (the first iteration whose relative loss change is below ``1e-5``) with the
certified gap there.

**Budgets and bounds.** Every solver runs within a budget (iterations, e.g. ``pgd_iters_factor`` ×
the EM steps plain EM needed for a 1e-2 gap, so whether a run gets there does not depend on the
machine's load; PGD optionally also seconds). A level a solver did not reach within its
budget is a *lower bound* on its time (:class:`Reach`: "> 0.8 s"), and a ratio with such a side is a
bound (:class:`Ratio`: "> 12×"); a PGD step whose loss grows or stops being finite is *diverged*.
:func:`budgeted_race` / :func:`race_sweep` run the explorer's K sweep; :func:`sweep_frame`,
:func:`sweep_table`, :func:`sweep_detail` and :func:`race_table` turn races into numbers and text
cells (never ``None``, ``nan`` or ``inf``); :func:`race_warnings` / :func:`sweep_warnings` say what
failed. Pure functions: no printing, no plotting.

The package, one idea per module (every name importable from here): :mod:`.problem` (the names, the
problem, PGD's step sizes, the CVXPY check), :mod:`.result` (:class:`RaceResult` and its summary),
:mod:`.bounds` (:class:`Reach`, :class:`Ratio` and their text), :mod:`.queries` (:func:`reach`,
:func:`best_pgd`, :func:`race_warnings`), :mod:`.table` (:func:`race_table`), :mod:`.chunks` (running
one solver in chunks), :mod:`.runner` (:func:`solver_race`) and :mod:`.report` (the Table 1 benchmark
as text, :func:`kernel_timing`).
"""

from __future__ import annotations

from ...solvers._common import format_gap
from .bounds import Ratio, Reach, format_iterations, format_seconds
from .problem import (
    ACCELERATED,
    EXACT,
    EXACT_LEVEL,
    GAP_LEVELS,
    HEADLINE_LEVEL,
    STEP_LIMIT,
    default_pgd_lrs,
    race_problem,
    reference_optimum,
)
from .problem import OUTCOMES as OUTCOMES
from .problem import PAPER_STOP as PAPER_STOP
from .problem import Progress as Progress
from .queries import best_pgd, race_warnings, reach
from .queries import divergence as divergence
from .report import kernel_timing
from .report import table1_report as table1_report
from .result import RaceResult, summarize_race
from .runner import solver_race
from .table import race_table

__all__ = [
    "ACCELERATED",
    "EXACT",
    "EXACT_LEVEL",
    "GAP_LEVELS",
    "HEADLINE_LEVEL",
    "STEP_LIMIT",
    "Ratio",
    "RaceResult",
    "Reach",
    "best_pgd",
    "default_pgd_lrs",
    "format_gap",
    "format_iterations",
    "format_seconds",
    "kernel_timing",
    "race_problem",
    "race_table",
    "race_warnings",
    "reach",
    "reference_optimum",
    "solver_race",
    "summarize_race",
]
