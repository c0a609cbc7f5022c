"""Display elements of the explorer pages that cost the browser less than Streamlit's defaults: text as
written (a log without the code viewer, a table without a Markdown renderer per cell) and expanders and tabs
whose content is drawn only while open. The measurements behind each are in benchmarks/RESULTS.md."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Optional

import pandas as pd
import streamlit as st

__all__ = ["lazy_expander", "lazy_tabs", "preformatted", "tab_labels", "text_table"]

_PRE_STYLE = (
    "font-family: 'Source Code Pro', ui-monospace, monospace; font-size: 0.8rem; line-height: 1.45; "
    "white-space: pre; overflow: auto; margin: 0; padding: 0.75rem 1rem; border-radius: 0.5rem; "
    "background: rgba(128, 128, 128, 0.08); max-height: {height}px"
)


def preformatted(text: str, *, height: int = 360) -> None:
    """``text`` (a run's log) in monospace, as written, scrolling beyond ``height`` pixels: a plain,
    escaped ``<pre>`` instead of ``st.code``, whose syntax highlighter (1.5 MB of JavaScript, loaded
    anew by every browser session) was 0.45 s of the main thread in a reload of the runs page
    (Chrome CPU profile)."""
    st.html(f'<pre class="ccel-pre" style="{_PRE_STYLE.format(height=int(height))}">{html.escape(text)}</pre>')


_TABLE_STYLE = (
    ".ccel-table {border-collapse: collapse; font-size: 0.875rem; white-space: nowrap; min-width: 100%} "
    ".ccel-table td, .ccel-table th {border: 1px solid rgba(128, 128, 128, 0.2); padding: 0.25rem 0.375rem; "
    "text-align: left; font-weight: 400; vertical-align: middle} "
    ".ccel-table th {opacity: 0.7}"
)


def text_table(df: pd.DataFrame) -> None:
    """``df`` (its index as the first column) as one escaped HTML table, each cell as plain text on one
    line (the table scrolls sideways); a missing value (None, NaN, NA, NaT) is an empty cell.

    ``st.table`` renders every cell as its own Markdown component (and reads a leading ``>`` as a quote):
    for the runs table's 24 × 13 cells that renderer took 216 ms of a reload's main thread, 73 ms after
    (Chrome CPU profile)."""
    shown = df.reset_index()
    shown = shown.astype(object).where(shown.notna(), "")
    body = shown.to_html(index=False, escape=True, border=0, classes="ccel-table")
    st.html(f'<style>{_TABLE_STYLE}</style><div style="overflow-x: auto">{body}</div>')


def lazy_expander(label: str, key: str, *, expanded: bool = False, icon: Optional[str] = None) -> Any:
    """An expander whose content a page draws only while it is open (``st.expander(key=…,
    on_change="rerun")``; the caller tests ``.open``); ``expanded`` is its state when the session first
    draws it (it is not passed to Streamlit, whose widget id includes it: a changing ``expanded`` would
    make a new expander, closed). Streamlit sends and mounts a closed expander's content too: on the runs
    page the closed launch form, upload form and run config were 1,342 of the page's 2,420 DOM nodes and
    ≈ 0.4 s of the browser's main thread per reload. Closing one forgets what was typed in it."""
    if key not in st.session_state:
        st.session_state[key] = bool(expanded)
    return st.expander(label, key=key, icon=icon, on_change="rerun")


def tab_labels(names: Sequence[str]) -> list[str]:
    """``names`` made unique for tabs: a repeated name gets its position appended, or the next free number
    (``["x (2)", "x", "x"]`` → ``["x (2)", "x", "x (3)"]``)."""
    labels: list[str] = []
    for j, name in enumerate(names):
        label, n = name, j + 1
        while label in labels:
            label, n = f"{name} ({n})", n + 1
        labels.append(label)
    return labels


def lazy_tabs(names: Sequence[str], key: str) -> list[Any]:
    """Tabs whose content is drawn on demand: ``st.tabs(key=…, on_change="rerun")``, so a page draws only
    the tab whose ``.open`` is true (drawing every tab's charts at once was most of a page's time in the
    browser; benchmarks/RESULTS.md). Labels from :func:`tab_labels` (a hand-edited report may repeat a
    section); no names, no tabs; a remembered tab that is no longer among the labels (other sections,
    other Ks) gives way to the first."""
    labels = tab_labels(names)
    if not labels:  # st.tabs needs at least one
        return []
    if st.session_state.get(key) not in labels:
        st.session_state.pop(key, None)
    return list(st.tabs(labels, key=key, on_change="rerun"))
