"""Reproduction: the latest ``ccel reproduce`` report — a verdict per paper claim, then every figure and
table beside the paper's numbers. Reads the report's JSON; nothing is recomputed."""

from __future__ import annotations

import os
from pathlib import Path

import plotly.io as pio
import streamlit as st

from ccel_core.reproduce import QUICK_TIME, REPORT_JSON, VERDICTS, claims_table, describe_provenance
from ccel_core.reproduce.provenance import SAME, load_text
from explorer import cached, elements
from explorer import common as ui

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "reproduction"


def report_folders() -> list[Path]:
    """Folders holding a report.json: ``$CCEL_REPRODUCTION_DIR`` (else ./reproduction, the command's
    default), then the report committed in docs/reproduction; the newest first."""
    local = Path(os.environ.get("CCEL_REPRODUCTION_DIR", "reproduction")).expanduser().resolve()
    found = [p for p in dict.fromkeys([local, COMMITTED.resolve()]) if (p / REPORT_JSON).is_file()]
    return sorted(found, key=lambda p: (p / REPORT_JSON).stat().st_mtime, reverse=True)


def shown_path(path: Path) -> str:
    """``path`` relative to the working folder or the repository when under one of them."""
    for base in (Path.cwd().resolve(), REPO):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


ui.page(
    "rp",
    {},
    "Reproduction",
    "The paper's figures and tables rerun by `ccel reproduce`: the paper's numbers, ours (mean ± std over "
    "seeds) and a verdict per claim. This page shows the newest report it finds; it recomputes nothing.",
)
folders = report_folders()
if not folders:
    st.info(
        f"No report yet. Make one with `ccel reproduce --quick --download` ({QUICK_TIME}; writes ./reproduction) "
        "or point `$CCEL_REPRODUCTION_DIR` at a folder holding report.json."
    )
    st.stop()
folder = st.selectbox(
    "Report",
    folders,
    format_func=lambda p: shown_path(p / REPORT_JSON) + ("  (committed)" if p == COMMITTED.resolve() else ""),
    key="rp.folder",
)
try:
    report = cached.report(folder / REPORT_JSON)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
meta = report.meta
load = load_text(meta)
st.markdown(
    f"`{meta['command']}` · {meta['date']} · {meta['machine']} · budget **{meta['budget']}** "
    f"({meta['seeds']} seeds) · {meta['seconds']:.0f} s" + (f" ({load})" if load else "")
)
made, provenance = describe_provenance(meta)
(st.caption if made == SAME else st.info)(provenance)
counts = report.counts()
for column, verdict in zip(st.columns(len(VERDICTS)), VERDICTS):
    column.metric(verdict, counts[verdict])
row = st.container(horizontal=True, gap="small")
for name, mime in (("report.html", "text/html"), ("report.md", "text/markdown")):
    path = folder / name
    if path.is_file():
        row.download_button(
            name,
            lambda path=path: path.read_bytes(),
            file_name=name,
            mime=mime,
            icon=":material/download:",
            on_click="ignore",
            key=f"rp-{name}",
        )

st.subheader("Verdicts")
shown = st.multiselect("Show verdicts", VERDICTS, default=list(VERDICTS), key="rp.verdicts")
claims = claims_table(
    [c for c in report.claims if c.test.verdict in shown],
    ["section", "verdict", "claim", "scope", "paper", "measured here", "test"],
)
if claims.empty:
    st.caption("No claim with the chosen verdicts.")
else:
    st.dataframe(claims, hide_index=True, width="stretch")
    ui.table_download(claims, "reproduction_verdicts", key="rp-verdicts")

st.subheader("Figures and tables")
if not report.sections:
    st.caption("This report has no sections.")
    st.stop()
# drawn on demand: only the open tab's figures are built and sent (a report holds a dozen charts)
tabs = elements.lazy_tabs([s.short or s.key or f"Section {j + 1}" for j, s in enumerate(report.sections)], "rp.section")
for j, (tab, section) in enumerate(zip(tabs, report.sections)):
    if not tab.open:
        continue
    with tab:
        st.markdown(f"**{section.title}** · {section.seconds:.0f} s")
        if section.error:
            st.error(f"This section failed: {section.error}")
        for i, (kind, content) in enumerate(section.blocks):
            if kind == "figure":
                ui.chart(pio.from_json(content), None, f"reproduction_{section.key}_{i}", key=f"rp-{j}-{i}")
            else:
                st.markdown(content)
