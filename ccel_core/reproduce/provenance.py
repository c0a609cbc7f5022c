"""Which code made a report, and how busy its machine was: recorded in ``meta``, checked when shown.

A report's numbers depend on the code that ran (a changed gradient moves a test accuracy in its last
digit) and its times on what else the machine did. :func:`record` gives ``meta`` the digest of the
ccel_core sources that ran (:func:`ccel_core.sources.source_digest`), the git commit when the run came
from a checkout, and the 1-minute load average sampled at each section's end
(:class:`LoadSampler`); :func:`describe` tells a reader whether the report was made by the code now
installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Mapping, Optional

from ..sources import source_digest

__all__ = ["LoadSampler", "describe", "git_commit", "record"]

SAME, OTHER, UNKNOWN = "same", "other", "unknown"


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


_PACKAGE = Path(__file__).resolve().parents[1]  # ccel_core


def git_commit(folder: Path = _PACKAGE) -> Optional[str]:
    """``git describe --always --dirty --abbrev=12`` of the checkout holding ``folder`` (ccel_core),
    or None outside a git checkout or without git."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and text else None


def record(loads: LoadSampler) -> dict[str, Any]:
    """The provenance keys of a report's ``meta``: ``source`` (digest of the ccel_core that ran),
    ``commit`` (or None) and ``load`` (mean 1-minute load average over the sections, or None)."""
    return {"source": source_digest(), "commit": git_commit(), "load": loads.mean}


def describe(meta: Mapping[str, Any]) -> tuple[str, str]:
    """``(status, text)`` for a reader of the report: :data:`SAME` when the installed ccel_core's
    sources are the ones that made it, :data:`OTHER` when they differ, :data:`UNKNOWN` for a report
    that did not record them (made before reports did)."""
    made = meta.get("source")
    commit = meta.get("commit")
    at = f" (commit `{commit}`)" if commit else ""
    if not isinstance(made, str) or not made:
        return UNKNOWN, "This report does not record which code made it (reports before 2026-12-07 did not)."
    if made == source_digest():
        return SAME, f"Made by the ccel_core installed here{at}."
    return OTHER, (
        f"Made by other ccel_core sources than the ones installed here{at}: a fresh `ccel reproduce` with the same "
        "budget may differ (numbers by their last digits where the code changed what they compute)."
    )
