# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6 · Reproduction: does each claim of the paper hold here?
#
# The notebook version of the app page **Reproduction**. `ccel reproduce` reruns the paper's Fig. 1,
# Fig. 2 and Tables 1, 2, 3 and 5 at a budget (`quick`: see `QUICK_TIME` below; `full`: the paper's
# protocols, a GPU box) and writes one report — `report.md`, a self-contained `report.html` and
# `report.json` — with, per claim, the paper's number, ours (mean ± std over seeds) and a verdict.
#
# This notebook shows the one rule behind every verdict on synthetic numbers, runs a small
# reproduction, and reads the report committed in `docs/reproduction/`.

# %% tags=["parameters"]
BUDGET = "tiny"  # tiny (seconds: the numbers mean nothing), quick (QUICK_TIME), full (a GPU box)
SECTIONS = ["fig1", "table1"]  # any of fig1, fig2, table1, table2, table3, table5
SEEDS = 3  # seeds per experiment (>= 2: a verdict needs a spread)
OUT = None  # output folder of the run below (None: a temporary folder)
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
from scipy import stats

import ccel_core
import ccel_core.plots  # noqa: F401 (registers the offline notebook renderer, ccel_core.plots.OFFLINE_RENDERER)
from ccel_core.reproduce import (
    QUICK_TIME,
    claims_table,
    describe_provenance,
    load_report,
    one_sample_test,
    reproduce,
    welch_test,
)

print(f"the quick budget: {QUICK_TIME}")

pio.renderers.default = RENDERER

# %% [markdown]
# ## The verdict rule
#
# A claim such as "ours beats the best baseline" compares two samples over seeds. Welch's t test
# (unequal variances) gives
#
# $$t = \frac{\bar a - \bar b}{\sqrt{s_a^2/n_a + s_b^2/n_b}}, \qquad
#   \nu = \frac{(s_a^2/n_a + s_b^2/n_b)^2}{\frac{(s_a^2/n_a)^2}{n_a-1} + \frac{(s_b^2/n_b)^2}{n_b-1}}.$$
#
# The verdict tests both directions at α = 0.05: **holds** when $P(T \ge t) < α$, **does not hold**
# when $P(T \le t) < α$, **within noise** otherwise; with fewer than two seeds a side it is **not
# measurable**. Paired quantities (collision − Shannon accuracy per seed, PGD / EM step ratios per
# problem) use the one-sample t test of their mean. Checked here against scipy:

# %%
rng = np.random.default_rng(0)
ours, baseline = rng.normal(0.60, 0.03, 6), rng.normal(0.55, 0.04, 6)
got = welch_test(ours, baseline)
ref = stats.ttest_ind(ours, baseline, equal_var=False, alternative="greater")
print(f"ccel: t = {got.t:.4f}, p = {got.p:.4g} → {got.verdict}")
print(f"scipy: t = {ref.statistic:.4f}, p = {ref.pvalue:.4g}")
print(
    "reversed:", welch_test(baseline, ours).verdict, "· three seeds each:", welch_test(ours[:3], baseline[:3]).verdict
)
print(
    "paired differences +0.02 ± 0.01:", one_sample_test(rng.normal(0.02, 0.01, 5)).describe(scale=100, unit=" points")
)

# %% [markdown]
# ## A small reproduction
#
# `reproduce` runs the chosen sections and writes the three files into a folder (the command:
# `ccel reproduce --budget tiny --sections fig1 table1 --out DIR`). Fig. 1's claims are properties of
# the formulas, checked numerically; Table 1's are timed on random problems, one per seed.

# %%
out = Path(OUT) if OUT else Path(tempfile.mkdtemp(prefix="ccel-reproduction-"))
report = reproduce(BUDGET, out, sections=SECTIONS, seeds=SEEDS, echo=lambda line: None)
print(report.counts())
verdicts = claims_table(report.claims, ["section", "claim", "measured here", "verdict"])
verdicts

# %%
print(out, sorted(p.name for p in out.iterdir()))
section = report.sections[-1]
figure = next(content for kind, content in section.blocks if kind == "figure")
pio.from_json(figure).show()

# %% [markdown]
# ## The committed quick report
#
# `docs/reproduction/` holds the `quick` report of the project's 2-core CPU machine (date and machine
# in its header). Its verdicts, read back from `report.json` — the page **Reproduction** shows the same:

# %%
committed = Path(ccel_core.__file__).resolve().parents[1] / "docs" / "reproduction" / "report.json"
if committed.is_file():
    quick = load_report(committed)
    print(quick.meta["date"], "·", quick.meta["machine"], "·", quick.counts())
    print(describe_provenance(quick.meta)[1])  # made by the ccel_core installed here, or by other sources
    table = claims_table(quick.claims, ["section", "claim", "scope", "verdict"])
else:
    table = pd.DataFrame()
    print("no committed report (an installed copy of ccel without the repository)")
table

# %% [markdown]
# **Try this.** Run `SECTIONS = ["fig2"]` with `BUDGET = "quick"`: the noisy-label claims per data set,
# model and noise model, in a few minutes. Or `ccel reproduce --quick` in a terminal for the whole report.
