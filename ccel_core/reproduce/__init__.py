"""``ccel reproduce``: the paper's figures and tables rerun on this machine, one report with the
paper's numbers beside ours and a verdict per claim.

* :func:`reproduce` runs the sections (:data:`SECTIONS`: Fig. 1, Fig. 2, Tables 1, 2, 3, 5) at a
  :class:`Budget` (``quick``: :data:`QUICK_TIME`, ``full``: the paper's protocols, a GPU box;
  ``tiny``: the test suite's smoke run) and writes ``report.md``, ``report.html`` (self-contained)
  and ``report.json`` (read by the explorer's Reproduction page, :func:`load_report`).
* :mod:`.stats` holds the one significance rule behind every verdict (Welch / paired t, one-sided
  at α = 0.05 in each direction: holds, does not hold, within noise; not measurable here: needs …; failed: the section raised).
* The paper's numbers live in :mod:`ccel_core.experiments.paper`.
"""

from .budget import BUDGETS, QUICK_TIME, Budget, budget
from .provenance import describe as describe_provenance
from .report import CLAIM_COLUMNS, REPORT_FILES, REPORT_JSON, Claim, Report, Section, claims_table, load_report
from .run import SECTIONS, machine_description, reproduce
from .stats import (
    ALPHA,
    DOES_NOT_HOLD,
    FAILED,
    HOLDS,
    NOT_MEASURABLE,
    VERDICTS,
    WITHIN_NOISE,
    TestResult,
    computed,
    failed,
    not_measurable,
    one_sample_test,
    welch_test,
)

__all__ = [
    "ALPHA",
    "BUDGETS",
    "Budget",
    "CLAIM_COLUMNS",
    "QUICK_TIME",
    "budget",
    "describe_provenance",
    "Claim",
    "claims_table",
    "DOES_NOT_HOLD",
    "FAILED",
    "HOLDS",
    "NOT_MEASURABLE",
    "REPORT_FILES",
    "REPORT_JSON",
    "Report",
    "SECTIONS",
    "Section",
    "TestResult",
    "VERDICTS",
    "WITHIN_NOISE",
    "computed",
    "failed",
    "load_report",
    "machine_description",
    "not_measurable",
    "one_sample_test",
    "reproduce",
    "welch_test",
]
