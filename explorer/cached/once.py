"""One computation per key at a time, whoever asks (a page in any session, or the warm-up thread).

A fresh server fills the default views in a background thread (:mod:`explorer.cached.warmup`). A page
visited meanwhile used to start the same training beside it (the self-labeling runs had no such guard,
only the solver race did): on two cores both took twice as long — the first visit of Pseudo-label
evolution took 45–48 s. Now the second caller waits for the first, showing the first one's progress,
and then reads its stored result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Optional, TypeVar

__all__ = ["Once"]

T = TypeVar("T")
_POLL = 0.25  # seconds between a waiting caller's progress updates


class Once:
    """Per-key locks and the last progress of the computations in flight (one instance per server)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._progress: dict[Hashable, tuple[Any, ...]] = {}

    def run(
        self,
        key: Hashable,
        find: Callable[[], Optional[T]],
        compute: Callable[[Callable[..., None]], T],
        progress: Optional[Callable[..., Any]] = None,
        waiting: Optional[Callable[..., tuple[Any, ...]]] = None,
        start: Optional[tuple[Any, ...]] = None,
    ) -> T:
        """``find()`` (the stored result) or else ``compute(relay)``, which must store what it returns.

        ``relay(*args)`` passes the computation's progress to ``progress`` and keeps it for callers
        that wait on the same key; those call ``progress(*waiting(*args))`` (default ``progress(*args)``)
        every 0.25 s until the lock is theirs (with ``start`` until the first one has reported), so an
        exception from ``progress`` (Streamlit's rerun on a Cancel click) ends the wait. A computation
        that raises stores nothing; the next caller computes.
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        while not lock.acquire(timeout=_POLL):
            last = self._progress.get(key, start)
            if progress is not None and last is not None:
                progress(*(waiting(*last) if waiting is not None else last))
        try:
            found = find()
            if found is not None:
                return found

            def relay(*args: Any) -> None:
                self._progress[key] = args
                if progress is not None:
                    progress(*args)

            return compute(relay)
        finally:
            self._progress.pop(key, None)
            lock.release()
