"""The reproduction report: its parts (claims, sections, blocks) and its three renderings.

One :class:`Report` is written as ``report.json`` (the explorer's Reproduction page reads it, no
recomputation), ``report.md`` (figures named, tables as pipe tables) and ``report.html``
(self-contained: the markdown rendered by markdown-it-py, plotly.js embedded once, no request
beyond the file itself). All three come from the same blocks, so they cannot disagree.
:func:`load_report` checks a ``report.json`` once against these dataclasses (:mod:`.schema`), so a
report that loads also renders.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal, Mapping, Optional, Sequence, TypedDict

from .provenance import load_text
from .schema import SchemaError, load_json, parse
from .stats import FAILED, NOT_MEASURABLE, VERDICTS, TestResult

__all__ = [
    "Claim",
    "Section",
    "Report",
    "ReportMeta",
    "markdown_table",
    "verdict_table",
    "claims_table",
    "CLAIM_COLUMNS",
    "load_report",
    "REPORT_FILES",
    "REPORT_JSON",
]

REPORT_FILES = ("report.md", "report.html", "report.json")
REPORT_JSON = REPORT_FILES[2]  # the one the app and load_report read
_BADGE = {
    "holds": "#1a7f37",
    "does not hold": "#cf222e",
    "within noise": "#9a6700",
    NOT_MEASURABLE: "#57606a",
    FAILED: "#8250df",
}


def _known_verdict(test: TestResult, where: str) -> None:
    if test.verdict not in VERDICTS:
        raise SchemaError(f"{where}.verdict", f"expected one of {', '.join(map(repr, VERDICTS))}, got {test.verdict!r}")


def _figures_build(blocks: Sequence[tuple[str, str]], where: str) -> None:
    """Every figure block is a figure plotly builds (what both renderings and the page do with it)."""
    import plotly.io as pio

    for i, (kind, content) in enumerate(blocks):
        if kind == "figure":
            try:
                load_json(content)  # nesting bounded before plotly parses it
                pio.from_json(content)
            except Exception as exc:  # noqa: BLE001 - whatever plotly refuses, the renderers would too
                why = " ".join(str(exc).split())
                raise SchemaError(f"{where}[{i}][1]", f"not a plotly figure ({why[:200]})") from None


class ReportProvenance(TypedDict, total=False):
    """Which code made a report and how busy the machine was (:mod:`.provenance`; reports before
    2026-12-07 lack these keys)."""

    source: str
    commit: Optional[str]
    load: Optional[float]
    threads: int


class ReportMeta(ReportProvenance):
    """What a report's ``meta`` must hold (the renderers use these; other keys are kept as they are)."""

    command: str
    date: str
    machine: str
    budget: str
    seeds: int
    seconds: float
    ccel: str
    torch: str
    alpha: float


@dataclass
class Claim:
    """One claim of the paper and what this run found: ``text`` (the claim), ``scope`` (the
    paper's protocol, or how this test differs from it), ``paper`` (its number), ``measured``
    (ours, mean ± std) and the :class:`~ccel_core.reproduce.stats.TestResult` deciding it."""

    section: str
    text: str
    scope: str
    paper: str
    measured: str
    test: TestResult = field(metadata={"check": _known_verdict})
    scale: float = 1.0
    unit: str = ""

    @property
    def test_text(self) -> str:
        """The test in words (differences × ``scale`` in ``unit``); "—" when nothing was tested."""
        if self.test.verdict in (NOT_MEASURABLE, FAILED):
            return "—"
        return self.test.describe(scale=self.scale, unit=self.unit)

    @property
    def verdict(self) -> str:
        if self.test.verdict == NOT_MEASURABLE and self.test.needs:
            return f"{NOT_MEASURABLE}: needs {self.test.needs}"
        if self.test.verdict == FAILED:
            return f"{FAILED}: {self.test.needs}"
        return self.test.verdict


@dataclass
class Section:
    """One figure or table of the paper: ``blocks`` are ``("markdown", text)`` or ``("figure", plotly
    JSON)`` in reading order; ``error`` is set when the section failed (its claims then say so)."""

    key: str
    title: str
    blocks: list[tuple[Literal["markdown", "figure"], str]] = field(
        default_factory=list, metadata={"check": _figures_build}
    )
    claims: list[Claim] = field(default_factory=list)
    seconds: float = 0.0
    error: Optional[str] = None

    def text(self, markdown: str) -> None:
        self.blocks.append(("markdown", markdown.strip()))

    def table(self, frame: Any, caption: Optional[str] = None) -> None:
        self.text((f"{caption}\n\n" if caption else "") + markdown_table(frame))

    def figure(self, fig: Any) -> None:
        self.blocks.append(("figure", fig.to_json()))

    @property
    def short(self) -> str:
        """``"Table 2"`` of ``"Table 2 — clustering …"``."""
        return self.title.split(" — ")[0]

    def claim(
        self, text: str, scope: str, paper: str, measured: str, test: TestResult, *, scale: float = 1.0, unit: str = ""
    ) -> Claim:
        """Add a claim; ``scale``/``unit`` say how the test's differences read (e.g. 100, " points")."""
        c = Claim(self.short, text, scope, paper, measured, test, scale, unit)
        self.claims.append(c)
        return c


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: Any) -> str:
    """A pandas DataFrame as a GitHub pipe table (index dropped)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(_cell(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


CLAIM_COLUMNS = {  # the claims table's columns (title: what each claim gives), in reading order
    "section": lambda c: c.section,
    "claim": lambda c: c.text,
    "scope": lambda c: c.scope,
    "paper": lambda c: c.paper,
    "measured here": lambda c: c.measured,
    "test": lambda c: c.test_text,
    "verdict": lambda c: c.verdict,
}


def claims_table(claims: Sequence[Claim], columns: Optional[Sequence[str]] = None) -> Any:
    """The claims as a pandas DataFrame, one row per claim, with :data:`CLAIM_COLUMNS` (or the
    ``columns`` named, in that order): the report's verdict table, the app's Reproduction page and
    notebook 06 all show this table."""
    import pandas as pd

    names = list(CLAIM_COLUMNS) if columns is None else list(columns)
    unknown = [n for n in names if n not in CLAIM_COLUMNS]
    if unknown:
        raise ValueError(f"columns={unknown!r} are not claim columns; expected some of {list(CLAIM_COLUMNS)}")
    return pd.DataFrame([[CLAIM_COLUMNS[n](c) for n in names] for c in claims], columns=names)


def verdict_table(claims: Sequence[Claim]) -> str:
    """The per-claim summary (:func:`claims_table`) as a markdown table, the verdicts in bold."""
    table = claims_table(claims)
    table["verdict"] = [f"**{v}**" for v in table["verdict"]]
    return markdown_table(table)


@dataclass
class Report:
    """A whole reproduction run: ``meta`` (date, machine, budget, versions, seconds; see
    :class:`ReportMeta`) and sections."""

    meta: dict[str, Any] = field(metadata={"schema": ReportMeta})
    sections: list[Section]

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims]

    def counts(self) -> dict[str, int]:
        """How many claims got each verdict."""
        return {v: sum(c.test.verdict == v for c in self.claims) for v in VERDICTS}

    def _head(self) -> str:
        m = self.meta
        counts = ", ".join(f"{n} {v}" for v, n in self.counts().items() if n)
        return (
            f"# Reproduction report: Collision Cross-entropy for Soft Class Labels and Deep Clustering\n\n"
            f"Generated by `{m['command']}` on {m['date']} · machine: {m['machine']} · budget **{m['budget']}** "
            f"({m['seeds']} seeds per experiment) · {m['seconds']:.0f} s in all{_load_text(m)} · ccel {m['ccel']}, "
            f"torch {m['torch']}{_source_text(m)}.\n\nVerdicts: a one-sided test at α = {m['alpha']} in each direction (Welch's t for "
            f"independent runs, a paired t for per-seed differences): **holds** when the claimed direction is "
            f"significant, **does not hold** when the opposite one is, **within noise** otherwise; **not "
            f"measurable here** says what it needs; **failed**: its section raised (the error is shown). "
            f"Claims: {counts}.\n\n## Verdicts\n\n{verdict_table(self.claims)}"
        )

    def markdown(self) -> str:
        parts = [self._head()]
        for s in self.sections:
            parts.append(f"## {s.title}\n\n_{s.seconds:.0f} s_")
            figures = 0
            for kind, content in s.blocks:
                if kind == "figure":
                    figures += 1
                    parts.append(f"*Figure {s.key}.{figures}: {_figure_title(content)}* (interactive in report.html)")
                else:
                    parts.append(content)
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        import plotly.io as pio
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": False}).enable("table")  # text from files stays text

        def render(text: str) -> str:
            out = md.render(text)
            for verdict, color in _BADGE.items():
                out = out.replace(f"<strong>{verdict}", f'<strong style="color:{color}">{verdict}')
            return out

        body, first = [render(self._head())], True
        for s in self.sections:
            body.append(render(f"## {s.title}\n\n_{s.seconds:.0f} s_"))
            for kind, content in s.blocks:
                if kind == "figure":
                    fig = pio.from_json(content)
                    body.append(fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False}))
                    first = False
                else:
                    body.append(render(content))
        style = (
            "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
            "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #d0d7de;"
            "padding:4px 8px;vertical-align:top}th{background:#f6f8fa}code{background:#f6f8fa;padding:0 3px}"
        )
        title = html.escape(f"ccel reproduction report ({self.meta['budget']}, {self.meta['date']})")
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )

    def to_json(self) -> str:
        sections = []
        for s in self.sections:
            claims = [dict(asdict(c), verdict=c.verdict) for c in s.claims]
            sections.append(
                dict(key=s.key, title=s.title, blocks=s.blocks, claims=claims, seconds=s.seconds, error=s.error)
            )
        return json.dumps(_plain({"meta": self.meta, "sections": sections}), allow_nan=False)

    def write(self, out: Path) -> list[Path]:
        """Write report.md, report.html and report.json into ``out`` (each atomically)."""
        from ..runs import atomic_write

        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in zip(REPORT_FILES, (self.markdown(), self.html(), self.to_json())):
            path = out / name
            atomic_write(path, partial(_write_bytes, text.encode("utf-8")))
            paths.append(path)
        return paths


def _figure_title(content: str) -> str:
    """The title of a figure's JSON: ``layout.title.text``, or a plain ``layout.title`` ('' when none)."""
    figure = json.loads(content)
    layout = figure.get("layout") if isinstance(figure, dict) else None
    title = layout.get("title") if isinstance(layout, dict) else None
    if isinstance(title, dict):
        title = title.get("text")
    return "" if title is None else str(title)


def _plain(value: Any) -> Any:
    """JSON-ready: NaN/inf → None (strict JSON), numpy scalars → Python, tuples → lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_bytes(data: bytes, f: IO[bytes]) -> None:
    f.write(data)


def load_report(path: Path) -> Report:
    """Read a ``report.json`` back into a :class:`Report`, checked once against the report's own
    dataclasses (:func:`~ccel_core.reproduce.schema.parse`; ``meta`` against :class:`ReportMeta`,
    figures built by plotly), so that a report that loads also renders. ``ValueError`` naming the
    file and the bad part (``sections[2].blocks[0]: expected a list of 2 items, got 3 items``) when
    it is not one, nesting too deep included."""
    try:
        raw = load_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a ccel reproduction report ({type(exc).__name__}: {exc})") from exc
    try:
        report: Report = parse(raw, Report)
    except SchemaError as exc:
        raise ValueError(f"{path} is not a ccel reproduction report: {exc}") from exc
    return report


def _load_text(meta: Mapping[str, Any]) -> str:
    """`` (load average 2.3; …)``: :func:`~.provenance.load_text`, when recorded."""
    text = load_text(meta)
    return f" ({text})" if text else ""


def _source_text(meta: Mapping[str, Any]) -> str:
    """`` · source 1a2b3c4d5e6f (commit …)``: which ccel_core made the report, when recorded."""
    source, commit = meta.get("source"), meta.get("commit")
    if not isinstance(source, str):
        return ""
    return f" · source `{source[:12]}`" + (f" (commit `{commit}`)" if commit else "")
