"""Slow work on a page: a progress bar and a button that cancels it — the one way the pages compute
something that takes a while (the pseudo-label runs and seed summary, the solver races, the noisy-label
experiment).

:func:`cancellable` draws the button and the bar, runs ``work(progress)`` and clears both once the
work is done. ``progress(fraction, text)`` moves the bar (``fraction`` clamped to [0, 1]) and shows
``text``. A click on the button records ``mark()`` under ``flag`` in ``st.session_state``: the
button's callback runs before the rerun the click asks for, and that rerun stops the work (Streamlit
raises its rerun exception at the work's next ``progress``, so the stores keep nothing half done).
On that rerun the page reads ``flag`` and says, in its own words, that the work was cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")
Progress = Callable[[float, str], None]


def cancellable(
    work: Callable[[Progress], T],
    text: str,
    *,
    flag: str,
    mark: Callable[[], Any],
    key: str,
    label: str = "Cancel",
) -> T:
    """``work(progress)`` behind the button ``label`` (widget ``key``) and a progress bar that starts
    at 0 with ``text``; the button records ``mark()`` (evaluated at the click) under ``flag``.

    The button sits above the bar, where it stays while the bar's text changes. Both are cleared when
    ``work`` returns; an exception from ``work`` (not a cancel: its rerun replaces the page) leaves
    them, at its last progress, above the page's error.
    """

    def cancel() -> None:  # runs before the rerun the click asks for, which stops the work
        st.session_state[flag] = mark()

    slot = st.empty()
    with slot.container():
        st.button(label, icon=":material/stop:", key=key, on_click=cancel)
        bar = st.progress(0.0, text=text)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    result = work(progress)
    slot.empty()
    return result
