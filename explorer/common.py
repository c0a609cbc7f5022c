"""Shared helpers of the explorer pages: URL state, free-text parsing, errors, chart + download buttons.

Nothing here computes anything a notebook would need: the experiments live in
``ccel_core.experiments`` and the figures in ``ccel_core.plots``. This module only adapts them to
Streamlit:

* **URL state** — :class:`Param` specs per page; :func:`url_state` seeds ``st.session_state`` from
  ``st.query_params`` the first time a page's widgets are drawn (so a shared link opens the same
  view), :func:`write_url` writes the current values back after every run (values equal to the
  default are left out to keep links short). Session keys are ``"<page>.<name>"`` so pages never
  share widget state; URL names are the bare ``<name>``.
* **Charts** — :func:`chart` draws a plotly figure and offers its data as CSV and the figure as a
  standalone HTML file (generated only when the button is clicked).
* Display elements lighter than Streamlit's defaults (logs, tables, lazy tabs and expanders) are in
  :mod:`explorer.elements`.

The cached wrappers around the experiments and the animated figures are in :mod:`explorer.cached`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ccel_core.runs import write_csv

# ----------------------------------------------------------------------------------------------
# URL state
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One view setting kept in the URL.

    ``default`` fixes the type (bool, int, float, str or a tuple of str/float for multi-selects);
    ``lo``/``hi`` bound numbers, ``choices`` restricts strings (or the items of a tuple).
    """

    default: Any
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: Optional[Sequence[Any]] = None

    def parse(self, raw: str) -> Any:
        """The value of the URL text ``raw``; ``ValueError`` when it does not fit this spec."""
        d = self.default
        if isinstance(d, bool):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{raw!r} is not a boolean (use true/false)")
        if isinstance(d, tuple):
            items = [s.strip() for s in raw.split(",") if s.strip()]
            kind = type(d[0]) if d else str
            values = tuple(kind(s) for s in items)
            if self.choices is not None:
                bad = [v for v in values if v not in self.choices]
                if bad:
                    raise ValueError(f"{bad} not among {list(self.choices)}")
            return values
        if isinstance(d, int):
            value: Any = int(raw)
        elif isinstance(d, float):
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(f"{raw!r} is not a finite number")
        else:
            value = str(raw)
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{raw!r} is not one of {list(self.choices)}")
        if self.lo is not None and value < self.lo:
            raise ValueError(f"{raw!r} is below the minimum {self.lo:g}")
        if self.hi is not None and value > self.hi:
            raise ValueError(f"{raw!r} is above the maximum {self.hi:g}")
        return value

    def format(self, value: Any) -> str:
        """URL text of ``value``."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (tuple, list)):
            return ",".join(self.format(v) for v in value)
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


def key(page: str, name: str) -> str:
    """Session-state key of the widget ``name`` on ``page``."""
    return f"{page}.{name}"


def url_state(page: str, specs: dict[str, Param]) -> None:
    """Seed ``st.session_state`` for ``page``'s widgets from the URL (else the defaults).

    Runs only for keys not in the session yet (a fresh load or a return to the page), so it never
    overrides what the user just changed. Invalid URL values fall back to the default with a
    warning naming the parameter.
    """
    for name, spec in specs.items():
        k = key(page, name)
        if k in st.session_state:
            continue
        value = spec.default
        raw = st.query_params.get(name)
        if raw is not None:
            try:
                value = spec.parse(raw)
            except (TypeError, ValueError) as exc:
                st.warning(f"Ignored the link's setting `{name}={raw}`: {exc}. Using {spec.format(spec.default)}.")
        st.session_state[k] = list(value) if isinstance(value, tuple) else value


def page(page: str, specs: dict[str, Param], title: str, caption: str) -> Callable[[str], str]:
    """Open a page: seed its widgets from the URL (:func:`url_state`), show its title and caption,
    and return its widget-key function ``k(name) = key(page, name)``."""
    url_state(page, specs)
    st.title(title)
    st.caption(caption)
    return lambda name: key(page, name)


def value(page: str, name: str) -> Any:
    """The current value of a URL-backed widget."""
    return st.session_state[key(page, name)]


def write_url(page: str, specs: dict[str, Param]) -> None:
    """Put ``page``'s current settings into the URL (defaults left out); drop foreign parameters."""
    wanted: dict[str, str] = {}
    for name, spec in specs.items():
        k = key(page, name)
        if k not in st.session_state:
            continue
        v = st.session_state[k]
        if isinstance(spec.default, tuple):
            v = tuple(v)
        if v != spec.default:
            wanted[name] = spec.format(v)
    current = st.query_params.to_dict()
    for name in list(current):
        if name not in wanted:
            del st.query_params[name]
    changed = {n: s for n, s in wanted.items() if current.get(n) != s}
    if changed:
        st.query_params.update(changed)


# ----------------------------------------------------------------------------------------------
# parsing of free-text inputs
# ----------------------------------------------------------------------------------------------


def _convert(text: str, what: str, kind: Callable[[str], Any], example: str, problem: str) -> list[tuple[str, Any]]:
    """``(item, kind(item))`` for each item of a list typed as text (commas, semicolons or spaces);
    ``ValueError`` naming ``what`` when it is empty or an item does not convert (``problem``)."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if not parts:
        raise ValueError(f"{what}: enter at least one number (e.g. {example})")
    out = []
    for p in parts:
        try:
            out.append((p, kind(p)))
        except ValueError:
            raise ValueError(f"{what}: {p!r} {problem}") from None
    return out


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """Numbers separated by commas or spaces; ``ValueError`` naming ``what`` otherwise."""
    items = _convert(text, what, float, "0, 0.2, 0.4", "is not a number")
    for p, v in items:
        if not math.isfinite(v):
            raise ValueError(f"{what}: {p!r} is not a finite number")
    return tuple(v for _, v in items)


def parse_ints(
    text: str, what: str, lo: Optional[int] = None, hi: Optional[int] = None, max_count: Optional[int] = None
) -> tuple[int, ...]:
    """Whole numbers separated by commas or spaces, in ``[lo, hi]``, at most ``max_count`` distinct.

    Strict: ``"0.5"`` (or ``"1e3"``) is refused with a ``ValueError`` naming ``what`` and the value,
    never truncated to 0.
    """
    items = _convert(text, what, int, "0, 1, 2", "is not a whole number (use integers such as 0, 1, 2)")
    for p, v in items:
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"[{'−∞' if lo is None else lo}, {'∞' if hi is None else hi}]"
            raise ValueError(f"{what}: {p!r} is outside {bounds}")
    values = tuple(v for _, v in items)
    if max_count is not None and len(set(values)) > max_count:
        raise ValueError(f"{what}: {len(set(values))} values given, at most {max_count} allowed")
    return values


@contextmanager
def shown_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Show a library error (``ValueError`` etc.) as ``st.error`` and carry on with the page."""
    kinds = kinds or (ValueError, TypeError, FileNotFoundError)
    try:
        yield
    except kinds as exc:  # type: ignore[misc]
        st.error(f"{exc}")


# ----------------------------------------------------------------------------------------------
# charts and downloads
# ----------------------------------------------------------------------------------------------


def chart(
    fig: go.Figure,
    data: Optional[pd.DataFrame | Callable[[], pd.DataFrame]],
    name: str,
    *,
    key: Optional[str] = None,
    height: Optional[int] = None,
    on_select: Any = "ignore",
) -> Any:
    """Draw ``fig`` and offer its data (CSV) and the figure (standalone HTML) for download.

    ``data`` may be a DataFrame or a zero-argument callable returning one; both files are generated
    only when their button is clicked, and clicking does not rerun the page. ``on_select`` (``"rerun"``
    or a callback) makes a click on a point select it (``selection_mode="points"``); the chart's
    selection event is returned (``None`` without ``on_select``).
    """
    if height is not None and fig.layout.height != height:
        if getattr(fig, "_ccel_frozen", False):  # shared by the sessions (cached.figure): draw a copy
            fig = go.Figure(fig.to_dict())
        fig.update_layout(height=height)
    selecting = {} if on_select == "ignore" else {"on_select": on_select, "selection_mode": "points"}
    # theme=None: the figure as ccel_core.plots drew it (its own template, as in the notebooks and the
    # downloaded HTML), not restyled by Streamlit's theme; measured (benchmarks/app_render.py, both
    # orders): visits 4–35 % and reloads 5–40 % faster on the pages with several charts
    event = st.plotly_chart(fig, key=key, config={"displaylogo": False}, theme=None, **selecting)
    row = st.container(horizontal=True, gap="small")

    def csv() -> bytes:
        frame = data() if callable(data) else data
        return b"" if frame is None else (write_csv(frame) or "").encode()

    # the HTML embeds plotly.js (self-contained: it opens offline, with no request to a CDN)
    downloads = [
        (
            "HTML",
            lambda: fig.to_html(include_plotlyjs=True).encode(),
            "html",
            "text/html",
            ":material/download:",
            "this interactive figure as a standalone page (works offline)",
        )
    ]
    if data is not None:
        downloads.insert(0, ("CSV", csv, "csv", "text/csv", ":material/table:", "the data behind this chart"))
    for label, payload, ext, mime, icon, help in downloads:
        row.download_button(
            label,
            payload,
            file_name=f"{name}.{ext}",
            mime=mime,
            icon=icon,
            on_click="ignore",
            key=f"{ext}-{key or name}",
            help=help,
        )
    return event if selecting else None


def table_download(df: pd.DataFrame, name: str, label: str = "CSV", *, key: Optional[str] = None) -> None:
    """A CSV download button for a table."""
    st.download_button(
        label,
        lambda: (write_csv(df) or "").encode(),  # formula cells neutralized (OWASP CSV injection)
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/table:",
        on_click="ignore",
        key=key or f"csv-{name}",
    )
