"""The one "did you mean …?" rule for names a user typed (methods, config keys, run ids)."""

from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["suggest", "describe_unknown"]


def suggest(word: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest known name (difflib, cutoff 0.6), else ``""``."""
    close = difflib.get_close_matches(str(word), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe_unknown(unknown: Iterable[str], known: Iterable[str]) -> str:
    """``"'lamb' (did you mean 'lam'?), 'zzz'"``: each unknown name with its hint."""
    names = list(known)
    return ", ".join(f"{k!r}{suggest(k, names)}" for k in sorted(unknown))
