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
# Not plotly's drawing code: an off-screen figure of every trace kind drawn here once made every later
# first visit slower, not faster (benchmarks/RESULTS.md, 2026-12-07 session 32).
# Not the code viewer (StreamlitSyntaxHighlighter, 1.5 MB): no page draws ``st.code`` (a run's log is
# a plain <pre>, explorer.elements.preformatted), and running it cost 0.45 s of the main thread.
_SESSION_FLAG = "_ccel_prefetched"


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
  }})();
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
