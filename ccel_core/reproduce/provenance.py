"""Which code made a report, and how busy its machine was: recorded in ``meta``, checked when shown.

A report's numbers depend on the code that ran (a gradient computed differently changed the Fig. 2
accuracies by up to about a point: training amplifies rounding) and its times on what else the machine did. :func:`record`, called when a run *starts*, gives
``meta`` the digest of the ccel_core sources that run (:func:`ccel_core.sources.source_digest`) and the
git commit when they are ccel's own checkout; :class:`LoadSampler` adds the 1-minute load average
sampled at the start and after each section, beside the run's own torch threads (a busy run alone
shows a load near its thread count). :func:`describe` tells a reader whether the report was made by
the code now installed; :func:`load_text` words the load.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Mapping, Optional

from ..sources import source_digest

__all__ = ["LoadSampler", "OTHER", "SAME", "UNKNOWN", "describe", "git_commit", "load_text", "record"]

SAME, OTHER, UNKNOWN = "same", "other", "unknown"
_REPO = Path(__file__).resolve().parents[2]  # the folder holding ccel_core (a checkout, or site-packages)


class LoadSampler:
    """The 1-minute load average, sampled on each call of :meth:`sample`; :attr:`mean` over them
    (None where the platform has no load average, or nothing was sampled)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def sample(self) -> None:
        try:
            self.values.append(float(os.getloadavg()[0]))
        except (OSError, AttributeError):  # Windows: no load average
            pass

    @property
    def mean(self) -> Optional[float]:
        return sum(self.values) / len(self.values) if self.values else None


def _git(*args: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and text else None


def git_commit() -> Optional[str]:
    """``git describe --always --dirty --abbrev=12`` when ccel_core is its own git checkout's
    ``ccel_core`` folder (a clone or an editable install), else None (an installed copy inside some
    other repository must not report that repository's commit; no git; a git that hangs > 10 s)."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != _REPO:
        return None
    return _git("describe", "--always", "--dirty", "--abbrev=12")


def record() -> dict[str, Any]:
    """The provenance keys of a report's ``meta`` known at the start of a run: ``source`` (digest of
    the ccel_core about to run) and ``commit`` (or None)."""
    return {"source": source_digest(), "commit": git_commit()}


def load_text(meta: Mapping[str, Any]) -> str:
    """``"load average 2.3; the run's own torch threads: 2 — …"`` ("" when not recorded)."""
    load, threads = meta.get("load"), meta.get("threads")
    if not isinstance(load, (int, float)) or isinstance(load, bool):
        return ""
    text = f"load average {load:.1f}"
    if isinstance(threads, int) and not isinstance(threads, bool):
        text += f"; the run's own torch threads: {threads} — a load above them is other work that shared the machine"
    return text


def describe(meta: Mapping[str, Any]) -> tuple[str, str]:
    """``(status, text)`` for a reader of the report: :data:`SAME` when the installed ccel_core's
    sources are the ones that made it, :data:`OTHER` when they differ, :data:`UNKNOWN` for a report
    that did not record them (made before reports did)."""
    made = meta.get("source")
    commit = meta.get("commit")
    at = f" (commit `{commit}`)" if isinstance(commit, str) and commit else ""
    if not isinstance(made, str) or not made:
        return UNKNOWN, "This report does not record which code made it (reports before 2026-12-07 did not)."
    if made == source_digest():
        return SAME, f"Made by the ccel_core installed here{at}."
    return OTHER, (
        f"Made by other ccel_core sources than the ones installed here{at}: a fresh `ccel reproduce` with the same "
        "budget may differ (a changed computation can move trained accuracies by a point or more, and verdicts "
        "near the noise with them)."
    )
