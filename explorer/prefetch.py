"""Load the browser side of the pages' widgets while the visitor reads the first page.

Streamlit's frontend loads the code of each kind of element (sliders, tables, data frames, the JSON
viewer …) the first time a page shows one: JavaScript modules of up to 1.5 MB, fetched,
compiled and run on the browser's main thread. Measured (headless Chromium, this 2-core box, caches
of the server warm): a page's *first* visit by the sidebar took 1.6–2.9 s, its second 0.8–1.5 s, and
the difference was exactly the modules it loaded. :func:`prefetch_elements` asks the browser, once
per session and when it is idle, to import the modules of the elements this app uses, so a later
first visit finds them loaded. The modules come from this server (no request beyond it); a
Streamlit release that renames them only makes first visits slower again (nothing is imported).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import streamlit as st

# The frontend modules of the elements the pages use, by their name before the content hash
# (static/js/<name>.<hash>.js in Streamlit's package); their own imports come with them.
ELEMENTS: tuple[str, ...] = (
    "Slider",
    "Checkbox",
    "Radio",
    "Selectbox",
    "Multiselect",
    "NumberInput",
    "TextInput",
    "Button",
    "FileUploader",
    "Metric",
    "Progress",
    "Table",
    "DataFrame",
    "Json",
    "rehype-raw",
    "remark-emoji",  # Markdown with :shortcodes: (the runs page's status icons)
)
# Not the code viewer (StreamlitSyntaxHighlighter, 1.5 MB): no page draws ``st.code`` (a run's log is
# a plain <pre>, explorer.common.preformatted), and running it cost 0.45 s of the main thread.
_SESSION_FLAG = "_ccel_prefetched"
# One small figure with the SVG trace kinds and layout parts the pages draw (ccel_core.plots): a heatmap
# with its colour bar, lines, filled bands, markers with text, bars, a box plot, a ternary scatter, a
# log axis, a second subplot, annotations, a subtitle and a horizontal legend. Drawn once off screen, it
# moves plotly's first-use compilation from a page's first visit to the first page's idle time. Left out:
# the WebGL scatter of a finished run's points (a WebGL context per session for one detail view) and
# animation frames (the evolution page's play button).
_WARM_TRACES = [
    {"type": "heatmap", "z": [[0, 1, 2], [1, 2, 3], [2, 3, 4]], "colorscale": "Viridis"},
    {"type": "scatter", "x": [0, 1, 2], "y": [0, 1, 0], "mode": "lines+markers", "fill": "toself", "name": "a"},
    {"type": "scatter", "x": [0, 1, 2], "y": [1, 2, 1], "mode": "markers+text", "text": ["a", "b", "c"],
     "xaxis": "x2", "yaxis": "y2"},
    {"type": "bar", "x": [0, 1], "y": [1, 2], "xaxis": "x2", "yaxis": "y2"},
    {"type": "box", "y": [1, 2, 3, 4], "xaxis": "x2", "yaxis": "y2"},
    {"type": "scatterternary", "a": [0.2, 0.5], "b": [0.3, 0.2], "c": [0.5, 0.3], "mode": "markers"},
]  # fmt: skip
_WARM_LAYOUT = {
    "xaxis": {"domain": [0, 0.45]},
    "xaxis2": {"domain": [0.55, 1], "anchor": "y2"},
    "yaxis2": {"anchor": "x2", "type": "log"},
    "ternary": {"domain": {"x": [0, 0.3], "y": [0.7, 1]}},
    "annotations": [{"text": "a", "x": 0, "y": 0, "showarrow": True}],
    "title": {"text": "t", "subtitle": {"text": "s"}},
    "legend": {"orientation": "h"},
}


@functools.cache
def element_modules(folder: Path | None = None) -> tuple[str, ...]:
    """The file names of :data:`ELEMENTS`' modules in Streamlit's static ``js`` folder (``folder``: that
    folder, for tests), sorted; names that are not there are left out."""
    js = folder if folder is not None else Path(st.__file__).parent / "static" / "static" / "js"
    pattern = re.compile(r"^(?:" + "|".join(map(re.escape, ELEMENTS)) + r")\.[\w-]{8}\.js$")
    try:
        return tuple(sorted(p.name for p in js.iterdir() if pattern.match(p.name)))
    except OSError:  # not a Streamlit install laid out as expected: nothing to prefetch
        return ()


def prefetch_script(files: tuple[str, ...]) -> str:
    """A ``<script>`` that imports ``files`` (names in the folder of the page's own ``index.*.js``),
    3 s after the page was drawn (a reload draws it anew: first), one after another when the browser is
    idle; a failed import is ignored (the element then loads its module on first use, as without this).
    Then, when idle again, it draws one off-screen figure of the trace kinds the pages use (``_WARM_TRACES``)
    with the page's plotly (``window.Plotly``, there once a chart was drawn; nothing when it is not) and removes it.
    No "<" in the script: Streamlit's sanitizer drops a script whose text has one (a tag-like "<x")."""
    return f"""<script>
(() => {{
  const files = {json.dumps(list(files))};
  const own = [...document.querySelectorAll("script[src]")].map(s => s.src)
    .find(src => /\\/static\\/js\\/index\\.[\\w-]+\\.js$/.test(src));
  if (!own) return;
  const base = own.replace(/[^/]+$/, "");
  const idle = () => new Promise(done => ("requestIdleCallback" in window)
    ? requestIdleCallback(done, {{timeout: 2000}}) : setTimeout(done, 200));
  (async () => {{
    await new Promise(done => setTimeout(done, 3000));
    for (const f of files) {{
      await idle();
      try {{ await import(base + f); }} catch (e) {{}}
    }}
    await idle();
    warmPlotly();
  }})();
  /* plotly.js (loaded by the first page's chart) compiles a trace type's code the first time it draws
     one: draw each kind the pages use once, off screen, then remove it */
  function warmPlotly() {{
    const P = window.Plotly;
    if (!P || !P.newPlot || !P.purge) return;
    const div = document.createElement("div");
    div.style.cssText = "position:fixed;left:-5000px;top:0;width:600px;height:400px;visibility:hidden";
    document.body.appendChild(div);
    const end = (how) => () => {{
      try {{ P.purge(div); }} catch (e) {{}}
      div.remove();
      document.documentElement.dataset.ccelPlotlyWarm = how;  /* for the browser test */
    }};
    try {{
      P.newPlot(div, {json.dumps(_WARM_TRACES)}, {json.dumps(_WARM_LAYOUT)}, {{displaylogo: false}})
        .then(end("done"), end("failed"));
    }} catch (e) {{ end("failed")(); }}
  }}
}})();
</script>"""


def prefetch_elements() -> None:
    """Once per browser session (after the first page has run): the script of
    :func:`prefetch_script` for :func:`element_modules`, as an invisible element."""
    if st.session_state.get(_SESSION_FLAG):
        return
    st.session_state[_SESSION_FLAG] = True
    files = element_modules()
    if files:
        st.html(prefetch_script(files), unsafe_allow_javascript=True)
