"""No text of the explorer is cut or covered, in a real browser (fixtures ``app_url``, ``browser``,
``page``: tests/conftest.py), at the viewport of the other browser tests (1400 × 1000):

* no element that ends its text with an ellipsis is overflowing (page links, labels, captions);
* every input's placeholder fits its box (it is drawn clipped, with no ellipsis);
* every text of every chart lies inside the chart (axis titles of a ternary's corners), and no
  legend covers an axis title.

Each check was seen failing on main before the explorer pass (5ec458f): the home page's last link
("…with a verdict pe"), the λ placeholder ("paper defau"), the ternary corner title ("clust") and
the legend over the top corner's title.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest

from explorer.cached import LOSS_CURVE_TABS
from explorer.headless import EXCEPTION, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# One JavaScript task: every problem on the page as a list of strings (empty: nothing cut).
CUT = """() => {
  const out = [];
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const e of document.querySelectorAll("[data-testid='stMain'] *, [data-testid='stSidebar'] *")) {
    const s = getComputedStyle(e);
    if (s.textOverflow === "ellipsis" && e.scrollWidth > e.clientWidth + 1 && visible(e))
      out.push(`ellipsis: "${e.innerText.trim().slice(0, 80)}"`);
  }
  const ctx = document.createElement("canvas").getContext("2d");
  for (const e of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (!e.placeholder || e.value || !visible(e)) continue;
    const s = getComputedStyle(e);
    ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (ctx.measureText(e.placeholder).width > room + 1) out.push(`placeholder: "${e.placeholder}"`);
  }
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  const overlap = (a, b) => a.left < b.right - 2 && b.left < a.right - 2 && a.top < b.bottom - 2 && b.top < a.bottom - 2;
  for (const plot of document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot")) {
    const box = plot.getBoundingClientRect();
    const texts = [...plot.querySelectorAll("svg text")].filter((t) => t.textContent.trim() && visible(t));
    for (const t of texts) {
      if (!inside(t.getBoundingClientRect(), box)) out.push(`chart text outside its chart: "${t.textContent.trim()}"`);
    }
    const titles = texts.filter((t) => /(^|\\s)(g?x|g?y|a|b|c)?title/.test(t.getAttribute("class") || ""));
    for (const bg of plot.querySelectorAll(".legend rect.bg")) {
      const r = bg.getBoundingClientRect();
      for (const t of titles) {
        if (overlap(r, t.getBoundingClientRect())) out.push(`legend covers the title "${t.textContent.trim()}"`);
      }
    }
  }
  return out;
}"""

# path (with query) → what the page must show before it is checked
PAGES = {
    "": "Collision cross-entropy",
    "loss_curves": "Loss curves",
    f"loss_curves?view={quote_plus(LOSS_CURVE_TABS[1])}": "K = 3: the loss over the simplex",
    "pseudo_labels?k=3&epochs=3&seeds=2": "Pseudo-label evolution",
    "clustering_runs": "Clustering runs",
}


def problems(page: Any) -> list[str]:
    return sorted(set(page.evaluate(CUT)))


@pytest.mark.parametrize("path", list(PAGES))
def test_no_text_is_cut_or_covered(app_url: str, page: Any, path: str) -> None:
    page.goto(f"{app_url}/{path}")
    wait_ready(page, timeout=180_000)
    page.get_by_role("heading", name=PAGES[path]).first.wait_for(timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    page.wait_for_timeout(500)  # plotly lays out its legends after the first draw
    assert problems(page) == [], path


def test_the_checks_see_cut_text(app_url: str, page: Any) -> None:
    """The detectors themselves: a label longer than its ellipsized box and a placeholder wider than
    its input are each reported (the chart checks failed on 5ec458f's ternary titles and legends)."""
    page.goto(f"{app_url}/clustering_runs")
    wait_ready(page, timeout=120_000)
    page.get_by_role("heading", name="Clustering runs").first.wait_for(timeout=60_000)
    assert problems(page) == []
    page.evaluate(
        """() => {
      const e = document.createElement("input");
      e.style.width = "90px";
      e.placeholder = "paper default value";
      document.querySelector("[data-testid='stMain'] h1").after(e);
      const p = document.createElement("p");
      p.style.cssText = "width: 60px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis";
      p.innerText = "a label longer than its box";
      document.querySelector("[data-testid='stMain'] h1").after(p);
    }"""
    )
    found = problems(page)
    assert any(f.startswith("placeholder:") for f in found), found
    assert any(f.startswith('ellipsis: "a label longer') for f in found), found
