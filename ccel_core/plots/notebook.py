"""An offline plotly renderer for the notebooks: ``fig.show()`` with no request beyond the notebook.

plotly's ``notebook_connected`` renderer loads plotly.js from ``cdn.plot.ly``, and every notebook
renderer adds a ``<script src="https://cdnjs.cloudflare.com/…/mathjax/…">`` to each figure's HTML, so
an executed notebook opened offline outside JupyterLab (nbconvert HTML, VS Code, nbviewer copies)
shows blank charts and reaches out to two CDNs. :data:`OFFLINE_RENDERER` is plotly's own
``notebook`` renderer — plotly.js embedded once, when the renderer is activated — with every remote
``<script src=…>`` removed from the figures' HTML (our figures use no LaTeX, so MathJax is not
needed), plus JupyterLab's plotly mimetype. Importing :mod:`ccel_core.plots` in a notebook kernel
(IPython loaded) registers it; elsewhere call :func:`register_offline_renderer` — plotly's renderers
import nbformat and jsonschema, ~5 s here, which the explorer's server must not wait for.
"""

from __future__ import annotations

import re
import sys
from typing import Any

__all__ = ["OFFLINE_RENDERER", "REMOTE_SCRIPT", "register_offline_renderer"]

# any <script> (or other element) whose src is an absolute http(s) or protocol-relative URL
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_NAME = "ccel_notebook"
OFFLINE_RENDERER = f"plotly_mimetype+{_NAME}"


def register_offline_renderer() -> str:
    """Register :data:`OFFLINE_RENDERER`'s HTML part with plotly (once); returns the renderer string
    for ``pio.renderers.default`` / ``fig.show(renderer=…)``."""
    import plotly.io as pio
    from plotly.io.base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        """plotly's ``notebook`` renderer (plotly.js embedded, not connected) without remote scripts."""

        def to_mimebundle(self, fig_dict: Any) -> dict:
            bundle = super().to_mimebundle(fig_dict)
            bundle["text/html"] = REMOTE_SCRIPT.sub("", bundle["text/html"])
            return bundle

    if _NAME not in pio.renderers:
        pio.renderers[_NAME] = OfflineNotebookRenderer()
    return OFFLINE_RENDERER


if "IPython" in sys.modules:  # a notebook kernel: the notebooks set it as plotly's default right away
    register_offline_renderer()
