"""Build the teaching notebooks of ``notebooks/`` from the cell sources in this file.

    python notebooks/build.py           # (re)write every notebook
    python notebooks/build.py --check   # exit 1 if a notebook differs from what this file builds

The notebooks are stored **without outputs** (small diffs, no stale results); open one and run it
(``.venv/bin/jupyter lab notebooks/``), or execute it headless with nbclient as
``tests/test_notebooks.py`` does. Edit the cells here, not in Jupyter, then rebuild.

Every notebook has one code cell tagged ``parameters`` (papermill style) whose values can also be
set from the environment: a parameter ``X`` reads ``CCEL_NB_X`` (e.g. ``CCEL_NB_EPOCHS=50``), the
device reads ``CCEL_DEVICE`` and the plotly renderer ``CCEL_PLOTLY_RENDERER``. The defaults are
small (each notebook runs in seconds on a laptop CPU); raise them on a GPU box.

The notebooks make the same ``ccel_core`` calls as the explorer pages (``explorer/views/``):
``ccel_core.experiments.*`` for the results, ``ccel_core.plots`` for the figures; they import
only public names (no ``_``-prefixed module or name).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
Cell = tuple[str, str]  # (kind, source), kind in {"markdown", "code", "parameters"}


def md(text: str) -> Cell:
    return ("markdown", text)


def code(text: str) -> Cell:
    return ("code", text)


def params(text: str) -> Cell:
    return ("parameters", text)


RENDERER_LINE = ('RENDERER = os.environ.get("CCEL_PLOTLY_RENDERER", "plotly_mimetype+notebook_connected")'
                 "  # fig.show(): JupyterLab's plotly mimetype + HTML for other front ends (never a browser)")

SETUP_PLOTLY = """\
import plotly.io as pio

pio.renderers.default = RENDERER"""

# ==============================================================================================
# 00 — overview
# ==============================================================================================
NB00: list[Cell] = [
    md(r"""
# ccel — collision cross-entropy for soft labels and deep clustering

Teaching notebooks for **ccel**, after Zhang & Boykov, *Collision Cross-entropy for Soft Class Labels
and Deep Clustering*. Each notebook is the long-form version of one page of the explorer app
(`streamlit run explorer/app.py`) and makes the same `ccel_core` calls:

| notebook | app page | what it shows |
|---|---|---|
| `01_loss_curves` | Loss curves | paper Fig. 1, the loss over the simplex, gradient vs label certainty |
| `02_noisy_labels` | Noisy labels | CE vs CCE trained on corrupted soft targets (paper Fig. 2) |
| `03_pseudo_label_evolution` | Pseudo-label evolution | self-labeling on the plane, the EM algorithm step by step |
| `04_clustering_runs` | Clustering runs | the trainer, the run store, resume, `CollisionClustering` |
| `05_solver_race` | Solver race | EM vs projected gradient on the pseudo-labels (paper Table 1), the certificate and the exact y-step |

Notation: $K$ classes, a prediction $\sigma = \operatorname{softmax}(l) \in \Delta_K$ from logits $l$,
a (soft) label $y \in \Delta_K$, $\ln$ the natural log.
"""),
    params(f"""
import os

DEVICE = os.environ.get("CCEL_DEVICE", "cpu")  # "cuda" on a GPU box
{RENDERER_LINE}
"""),
    code(f"""
import math

import torch

from ccel_core.experiments.curves import FIG1_TARGETS, loss_curves
from ccel_core.losses import (
    CollisionCrossEntropyLoss,
    collision_cross_entropy,
    collision_entropy,
    shannon_cross_entropy,
)
from ccel_core.plots import loss_curves_figure

{SETUP_PLOTLY}
"""),
    md(r"""
## The loss

Shannon's cross-entropy and the **collision cross-entropy** (paper eq. 9) are

$$H(y,\sigma) = -\sum_k y_k \ln \sigma_k, \qquad H_2(y,\sigma) = -\ln \sum_k y_k\,\sigma_k .$$

$\sum_k y_k \sigma_k$ is the probability that two independent draws — a class $C \sim \sigma$ and a
label $T \sim y$ — *collide*, $C = T$; $H_2$ is minus its log. In code the input is logits (as in
`torch.nn.functional.cross_entropy`) and the loss is computed stably as
$H_2(y, \operatorname{softmax}(l)) = \operatorname{logsumexp}(l) - \operatorname{logsumexp}(l + \ln y)$.
The target is either probabilities ($N\times K$) or class indices ($N$).
"""),
    code("""
torch.manual_seed(0)
K = 5
logits = torch.randn(4, K, dtype=torch.float64, device=DEVICE)
sigma = logits.softmax(1)
soft = torch.distributions.Dirichlet(torch.ones(K, dtype=torch.float64)).sample((4,)).to(DEVICE)

print("H₂(y, σ) per row:", collision_cross_entropy(logits, soft, reduction="none").cpu().numpy().round(4))
print("H(y, σ)  per row:", shannon_cross_entropy(logits, soft, reduction="none").cpu().numpy().round(4))
print("mean, module form:", float(CollisionCrossEntropyLoss()(logits, soft)))
"""),
    md(r"""
## Its properties (DESIGN §2), checked numerically

* (a) **symmetric** in $y$ and $\sigma$;
* (b) a **one-hot** label $y = e_c$ gives $-\ln\sigma_c$, the same as Shannon's CE;
* (c) a **uniform** label gives $\ln K$ for every $\sigma$: zero gradient, the network learns nothing
  from a label that says nothing;
* (d) $H_2(y,\sigma) = -\ln\cos\angle(y,\sigma) + \tfrac12 H_2(y) + \tfrac12 H_2(\sigma) \ge 0$, with the
  collision entropy $H_2(p) = -\ln\sum_k p_k^2 = -\ln\lVert p\rVert^2$ (so $y\cdot\sigma = \lVert y\rVert\,\lVert\sigma\rVert\cos\angle$);
* (e) $H_2(y,\sigma) \le H(y,\sigma)$, by Jensen's inequality for the convex $-\ln$.
"""),
    code("""
h2 = collision_cross_entropy(logits, soft, reduction="none")

# (a) swap the roles: logits ln y and target σ
assert torch.allclose(h2, collision_cross_entropy(soft.log(), sigma, reduction="none"))

# (b) class indices = one-hot targets = Shannon CE = −ln σ_c
c = torch.tensor([0, 3, 1, 4], device=DEVICE)
one_hot = torch.nn.functional.one_hot(c, K).double()
assert torch.allclose(collision_cross_entropy(logits, c, reduction="none"), -sigma.log()[torch.arange(4, device=DEVICE), c])
assert torch.allclose(collision_cross_entropy(logits, one_hot, reduction="none"),
                      shannon_cross_entropy(logits, one_hot, reduction="none"))

# (c) uniform label: value ln K, gradient 0
lg = logits.clone().requires_grad_(True)
uniform = torch.full_like(soft, 1 / K)
loss = collision_cross_entropy(lg, uniform)
loss.backward()
loss = loss.detach()
assert math.isclose(loss.item(), math.log(K)) and lg.grad.abs().max().item() < 1e-12

# (d) the angle decomposition
cos = (soft * sigma).sum(1) / (soft.norm(dim=1) * sigma.norm(dim=1))
assert torch.allclose(h2, -cos.log() + 0.5 * collision_entropy(soft) + 0.5 * collision_entropy(sigma))

# (e) never above Shannon's CE
assert bool((h2 <= shannon_cross_entropy(logits, soft, reduction="none") + 1e-12).all())
print("properties (a)–(e) hold on this batch")
"""),
    md(r"""
## Paper Fig. 1

$K = 2$, $\sigma = (p, 1-p)$: Shannon's CE (dashed) and collision CE (solid) against $p$ for four labels.
For $y = (.9, .1)$ Shannon's CE is minimized at $p = 0.9$ — it trains the network to *copy* the
label's uncertainty — while collision CE is minimized at $p = 1$. For $y = (.5, .5)$ collision CE is
flat at $\ln 2$. The same call as the app's home page:
"""),
    code("""
df = loss_curves(FIG1_TARGETS, (1.0, 2.0))
fig = loss_curves_figure(df, title="Shannon CE (dashed) vs collision CE (solid), K = 2 — paper Fig. 1")
fig.show()
"""),
    md("""
### Try this

Pick your own label and add a Rényi order: `alphas = (1.0, 2.0, 3.0)` draws
$H_\\alpha(y,\\sigma) = \\ln\\big(\\sum_k y_k\\sigma_k^{\\alpha-1}\\big)/(1-\\alpha)$ dotted
($\\alpha \\to 1$ is Shannon's CE, $\\alpha = 2$ collision). Notebook `01_loss_curves` goes further.
"""),
    code("""
my_label = (0.6, 0.4)
loss_curves_figure(loss_curves((my_label,), (1.0, 2.0, 3.0)), title=f"y = {my_label}").show()
"""),
]

# ==============================================================================================
# 01 — loss curves (page explorer/views/loss_curves.py)
# ==============================================================================================
NB01: list[Cell] = [
    md(r"""
# 1 · Loss curves: Shannon CE vs collision CE

The notebook version of the app page **Loss curves**. Three views of the cross-entropy family for a
prediction $\sigma = \operatorname{softmax}(l)$ and a soft label $y$:

* Shannon: $H(y,\sigma) = -\sum_k y_k\ln\sigma_k = \mathrm{KL}(y\,\|\,\sigma) + H(y)$ (order $\alpha = 1$);
* collision (paper eq. 9): $H_2(y,\sigma) = -\ln\sum_k y_k\sigma_k$ (order $\alpha = 2$);
* Rényi of order $\alpha$ (the "shifted" form): $H_\alpha(y,\sigma) = \dfrac{\ln\big(\sum_k y_k\,\sigma_k^{\alpha-1}\big)}{1-\alpha}$,
  which tends to Shannon's CE as $\alpha \to 1$ (l'Hôpital) and is collision CE at $\alpha = 2$.

All values come from `ccel_core.losses` through `ccel_core.experiments.curves`; the figures from
`ccel_core.plots`.
"""),
    params(f"""
import os

Y1 = float(os.environ.get("CCEL_NB_Y1", 0.9))  # your K = 2 label y = (Y1, 1 − Y1)
SHOW_PAPER = os.environ.get("CCEL_NB_SHOW_PAPER", "true").lower() in ("1", "true", "yes")  # add Fig. 1's four labels
ALPHA = float(os.environ.get("CCEL_NB_ALPHA", 2.0))  # an extra Rényi order in [1, 3] (1 and 2 are always drawn)
TARGET = tuple(float(v) for v in os.environ.get("CCEL_NB_TARGET", "0.7,0.2,0.1").split(","))  # K = 3 label
RESOLUTION = int(os.environ.get("CCEL_NB_RESOLUTION", 45))  # simplex grid subdivisions
SCALE = float(os.environ.get("CCEL_NB_SCALE", 1.0))  # prediction confidence: logits SCALE · (1, 0, −1)
X_AXIS = os.environ.get("CCEL_NB_X_AXIS", "certainty")  # "certainty" | "eps" | "target_entropy"
{RENDERER_LINE}
"""),
    code(f"""
import numpy as np
import pandas as pd
import torch

from ccel_core.experiments.curves import (
    FIG1_TARGETS,
    gradient_vs_certainty,
    loss_curves,
    loss_name,
    simplex_loss_grid,
)
from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy
from ccel_core.plots import gradient_figure, loss_curves_figure, simplex_heatmap_figure

{SETUP_PLOTLY}

alphas = tuple(dict.fromkeys((1.0, 2.0, round(ALPHA, 4))))  # the page's choice of orders
"""),
    md(r"""
## K = 2: paper Fig. 1

With $\sigma = (p, 1-p)$ and $y = (y_1, 1-y_1)$:

$$H(y,\sigma) = -y_1\ln p - (1-y_1)\ln(1-p), \qquad H_2(y,\sigma) = -\ln\big(y_1 p + (1-y_1)(1-p)\big).$$

Shannon's CE is minimized at $p = y_1$ (Gibbs' inequality: $\mathrm{KL}(y\|\sigma) \ge 0$). Collision CE is
minus the log of a *linear* function of $p$, so it is minimized at an end: $p = 1$ when $y_1 > \tfrac12$ —
the label's most likely class, with full confidence. At $y = (\tfrac12, \tfrac12)$ it is the constant $\ln 2$.
"""),
    code("""
mine = (round(Y1, 4), round(1.0 - Y1, 4))
targets = tuple(dict.fromkeys((*FIG1_TARGETS, mine))) if SHOW_PAPER else (mine,)
curves = loss_curves(targets, alphas)
loss_curves_figure(curves).show()

# where each loss puts σ for your label (the page's metrics)
label = f"({mine[0]:g}, {mine[1]:g})"
rows = []
for a in alphas:
    part = curves[(curves["y"] == label) & (curves["alpha"] == a)]
    best = part.loc[part["loss"].idxmin()]
    rows.append({"loss": loss_name(a), "alpha": a, "argmin p": round(float(best["p"]), 3), "min loss": float(best["loss"])})
pd.DataFrame(rows)
"""),
    md(r"""
## K = 3: the loss over the simplex

For a fixed label $y \in \Delta_3$, the loss as a function of $\sigma$ over the whole simplex (a ternary
heatmap; white star: $y$, red cross: the grid minimum). Shannon's minimum is $\sigma = y$ itself.
Collision CE is $-\ln(y\cdot\sigma)$ and $y\cdot\sigma$ is linear in $\sigma$, so its minimum over the
simplex is at the vertex $e_{\arg\max_k y_k}$, with value $-\ln\max_k y_k$: the network is asked to be
*confident* in the label's best class, not to reproduce the label.
"""),
    code("""
for a in alphas:
    grid = simplex_loss_grid(TARGET, a, RESOLUTION)
    best = grid.loc[grid["loss"].idxmin()]
    print(f"{loss_name(a)}: minimum {best['loss']:.4f} at σ = ({best['s1']:.3f}, {best['s2']:.3f}, {best['s3']:.3f})")
    simplex_heatmap_figure(grid).show()
"""),
    md(r"""
## Gradient size vs label certainty

Differentiating with respect to the logits ($\partial\sigma_j/\partial l_k = \sigma_j(\delta_{jk} - \sigma_k)$):

$$\frac{\partial H(y,\sigma)}{\partial l} = \sigma - y, \qquad
  \frac{\partial H_2(y,\sigma)}{\partial l} = \sigma - \tilde y, \quad \tilde y_k = \frac{y_k\,\sigma_k}{\sum_j y_j\sigma_j}.$$

Collision CE pulls $\sigma$ towards $\tilde y$, the label *reweighted by the prediction* (a Bayes update of
the prior $\sigma$ by the likelihood $y$). For labels that lose certainty,
$y(\varepsilon) = (1-\varepsilon)\,e_c + \tfrac{\varepsilon}{K}\mathbf 1$, at $\varepsilon = 1$ (uniform $y$)
$\tilde y = \sigma$ and the collision gradient vanishes, while Shannon's $\sigma - u$ still pulls the
prediction towards uniform. At $\varepsilon = 0$ (one-hot) both gradients are $\sigma - e_c$.
"""),
    code("""
grads = gradient_vs_certainty((SCALE, 0.0, -SCALE), alphas)
gradient_figure(grads, x=X_AXIS).show()
ends = grads[grads["eps"].isin([0.0, 1.0])].pivot_table(index="name", columns="eps", values="grad_norm")
ends.columns = ["‖∇‖ one-hot (ε = 0)", "‖∇‖ uniform (ε = 1)"]
ends
"""),
    md("The closed forms above agree with autograd through `ccel_core.losses`:"),
    code("""
torch.manual_seed(1)
l = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
y = torch.distributions.Dirichlet(torch.ones(4, dtype=torch.float64)).sample((6,))
s = l.softmax(1).detach()
(g2,) = torch.autograd.grad(collision_cross_entropy(l, y, reduction="sum"), l)
(g1,) = torch.autograd.grad(shannon_cross_entropy(l, y, reduction="sum"), l)
y_tilde = y * s / (y * s).sum(1, keepdim=True)
assert torch.allclose(g2, s - y_tilde) and torch.allclose(g1, s - y)
print("∂H₂/∂l = σ − ỹ and ∂H/∂l = σ − y: checked")
"""),
    md("""
### Try this: Rényi orders between Shannon and collision

Orders $1 < \\alpha < 2$ interpolate: change the tuple and watch the minimizer of $y = (.9, .1)$ move
from $p = 0.9$ ($\\alpha = 1$) to $p = 1$ ($\\alpha = 2$). Orders above 2 are even more decisive.
"""),
    code("""
orders = (1.0, 1.25, 1.5, 2.0, 3.0)
sweep = loss_curves(((0.9, 0.1),), orders)
loss_curves_figure(sweep, title="y = (0.9, 0.1) for several Rényi orders").show()
sweep.loc[sweep.groupby("alpha")["loss"].idxmin(), ["name", "p", "loss"]].round(4)
"""),
    md("""
### Try this: confident vs unsure predictions

The Shannon gradient at a uniform label is $\\lVert\\sigma - u\\rVert$, so it grows with the prediction's
confidence; the collision gradient stays exactly 0. Vary the scale of the logits:
"""),
    code("""
rows = []
for scale in (0.0, 1.0, 3.0, 5.0):
    g = gradient_vs_certainty((scale, 0.0, -scale), (1.0, 2.0))
    at_uniform = g[g["eps"] == 1.0].set_index("kind")["grad_norm"]
    rows.append({"scale": scale, "max σ": max(g.attrs["sigma"]), "Shannon ‖∇‖ at uniform y": at_uniform["shannon"],
                 "collision ‖∇‖ at uniform y": at_uniform["collision"]})
pd.DataFrame(rows).round(6)
"""),
    md("""
### Try this: labels near the centre of the simplex

Move the K = 3 label towards uniform: collision CE keeps its minimum at the vertex of the largest
entry but its range over the simplex shrinks (less to learn from an unsure label), while Shannon's
minimum follows the label.
"""),
    code("""
rows = []
for target in ((0.7, 0.2, 0.1), (0.5, 0.3, 0.2), (0.4, 0.33, 0.27), (1 / 3, 1 / 3, 1 / 3)):
    for a in (1.0, 2.0):
        g = simplex_loss_grid(target, a, 30)
        best = g.loc[g["loss"].idxmin()]
        rows.append({"y": tuple(round(v, 2) for v in target), "loss": loss_name(a),
                     "argmin σ": (round(best["s1"], 2), round(best["s2"], 2), round(best["s3"], 2)),
                     "loss range over Δ": float(g["loss"].max() - g["loss"].min())})
pd.DataFrame(rows)
"""),
]

# ==============================================================================================
# 02 — noisy labels (page explorer/views/noisy_labels.py)
# ==============================================================================================
NB02: list[Cell] = [
    md(r"""
# 2 · Noisy labels: Shannon CE vs collision CE (paper Fig. 2)

The notebook version of the app page **Noisy labels**. A network is trained *supervised* from
corrupted soft targets and tested on clean labels, once with Shannon's CE and once with collision
CE. Both losses see the same targets, the same train/test split and the same initial network (a
paired comparison; `ccel_core.experiments.noisy`). Noise models, for a true class $c_i$ and
$d_i \sim \mathrm{Dirichlet}(1,\dots,1)$:

* `random-soft`: a fraction $\rho$ of the targets is replaced by $d_i$; the rest stay one-hot $e_{c_i}$;
* `mix`: every target becomes $y_i = (1-\varepsilon)\,e_{c_i} + \varepsilon\, d_i$.

The paper's claim (Fig. 2): as the corruption grows, CCE degrades less than CE.
"""),
    params(f"""
import os

DATA = os.environ.get("CCEL_NB_DATA", "digits")  # digits | blobs | anisotropic | moons | circles
MODEL = os.environ.get("CCEL_NB_MODEL", "linear")  # linear | mlp
NOISE = os.environ.get("CCEL_NB_NOISE", "random-soft")  # random-soft | mix
LEVELS = tuple(float(v) for v in os.environ.get("CCEL_NB_LEVELS", "0,0.2,0.4,0.6,0.8").split(","))  # ρ or ε
SEEDS = int(os.environ.get("CCEL_NB_SEEDS", 2))  # seeds 0 … SEEDS−1 (the app's default is 3)
EPOCHS = int(os.environ.get("CCEL_NB_EPOCHS", 10))  # the app's default is 15
DEVICE = os.environ.get("CCEL_DEVICE", "cpu")
{RENDERER_LINE}
"""),
    code(f"""
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from ccel_core.data import load_dataset
from ccel_core.experiments.noisy import NOISE_MODELS, corrupt_targets, noisy_label_experiment
from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy
from ccel_core.plots import SHANNON_COLOR, noisy_labels_figure

{SETUP_PLOTLY}

print("noise models:", NOISE_MODELS)
"""),
    md(r"""
## What the corruption does to the targets

The weight $y_{i,c_i}$ that a corrupted target still puts on the true class, per noise level (the box
plot of the page, built from `corrupt_targets` on the data set's labels). The random numbers are
drawn once per seed, so the corrupted sets are nested as the level grows.
"""),
    code("""
ds = load_dataset(DATA)
labels = ds.y.numpy()
frames = []
for level in LEVELS:
    t = corrupt_targets(labels, ds.n_classes, model=NOISE, level=level, seed=0).numpy()
    frames.append(pd.DataFrame({"level": level, "true_class_weight": t[np.arange(len(labels)), labels]}))
weights = pd.concat(frames, ignore_index=True)

fig = go.Figure()
for level, part in weights.groupby("level"):
    fig.add_trace(go.Box(y=part["true_class_weight"], name=f"{level:g}", marker_color=SHANNON_COLOR,
                         boxpoints=False, showlegend=False))
fig.update_layout(template="plotly_white", title="The corrupted targets: weight y_c on the true class",
                  xaxis_title="noise level", yaxis_title="y_c", yaxis_range=[0, 1.02])
fig.show()
print(f"{DATA}: N = {len(ds)}, K = {ds.n_classes}")
"""),
    md(r"""
## Why collision CE resists noisy soft targets

With respect to the logits, Shannon's CE has gradient $\sigma - y$: it pulls the prediction onto the
(random) target. Collision CE has gradient $\sigma - \tilde y$ with $\tilde y_k \propto y_k\sigma_k$: the
target is first *reweighted by the network's own prediction*. A corrupted target $d$ that is spread out
barely moves a confident, correct prediction; a one-hot target still gives the full Shannon gradient.
One example, $K = 4$, a prediction confident in class 0 and a Dirichlet draw as its target:
"""),
    code("""
sigma = torch.tensor([[0.85, 0.05, 0.05, 0.05]], dtype=torch.float64)
d = torch.tensor([[0.20, 0.45, 0.25, 0.10]], dtype=torch.float64)  # a corrupted (Dirichlet-like) target
logits = sigma.log().requires_grad_(True)
(g_shannon,) = torch.autograd.grad(shannon_cross_entropy(logits, d), logits)
(g_collision,) = torch.autograd.grad(collision_cross_entropy(logits, d), logits)
y_tilde = d * sigma / (d * sigma).sum()
pd.DataFrame({"σ": sigma[0], "target d": d[0], "ỹ ∝ d⊙σ": y_tilde[0],
              "−∇ Shannon (= d − σ)": -g_shannon[0], "−∇ collision (= ỹ − σ)": -g_collision[0]}).round(3)
"""),
    md(r"""
## The experiment

For each seed: a stratified train/test split (30 % held out); for each level the train targets are
corrupted and a fresh model (same initialization for both losses) is trained for `EPOCHS` epochs with
Adam; accuracy is measured on the clean test labels. Mean ± std over seeds.
"""),
    code("""
def progress(done: int, total: int) -> None:
    if done == total or done % max(total // 4, 1) == 0:
        print(f"  trained {done} / {total}")

start = time.perf_counter()
results = noisy_label_experiment(DATA, MODEL, NOISE, LEVELS, tuple(range(SEEDS)), EPOCHS, progress=progress,
                                 device=DEVICE)
print(f"{len(results)} trainings in {time.perf_counter() - start:.1f} s")
noisy_labels_figure(results).show()
"""),
    code("""
stats = results.groupby(["loss", "level"])["test_acc"].agg(["mean", lambda s: float(np.std(s))]).reset_index()
stats.columns = ["loss", "level", "mean", "std"]
table = stats.pivot(index="level", columns="loss", values="mean")
table["CCE − CE"] = table["collision"] - table["shannon"]
table.round(4)
"""),
    md("""
### Try this: the other noise model

`mix` corrupts *every* target a little instead of some targets completely. Both noise models on one
figure (`noisy_labels_figure` draws one trace per loss and noise model):
"""),
    code("""
other = next(m for m in NOISE_MODELS if m != NOISE)
both = pd.concat([results, noisy_label_experiment(DATA, MODEL, other, LEVELS, tuple(range(SEEDS)), EPOCHS,
                                                  device=DEVICE)], ignore_index=True)
noisy_labels_figure(both, title=f"{NOISE} vs {other}").show()
"""),
    md("""
### Try this: a bigger network

A bigger network can memorize more of the noise. Compare both losses with an MLP at the two extreme
levels (one seed here: raise the seeds and `EPOCHS` on a faster machine before drawing conclusions):
"""),
    code("""
mlp = noisy_label_experiment(DATA, "mlp", NOISE, (min(LEVELS), max(LEVELS)), (0,), EPOCHS, device=DEVICE)
mlp.pivot(index="level", columns="loss", values="test_acc").round(4)
"""),
]

# ==============================================================================================
# 03 — pseudo-label evolution (page explorer/views/pseudo_labels.py)
# ==============================================================================================
NB03: list[Cell] = [
    md(r"""
# 3 · Pseudo-label evolution: self-labeling and the EM algorithm

The notebook version of the app page **Pseudo-label evolution**. Self-labeled clustering trains a
network $\sigma_i = \operatorname{softmax}(f_\theta(x_i))$ without labels by alternating

* a **y-step**: pseudo-labels $Y = (y_i)$ for the current predictions, and
* a **network step**: $\min_\theta\ \operatorname{mean}_i \mathrm{CE}(y_i, \sigma_\theta(x_i))$.

Two methods, the same data and initial network, differing only in the cross-entropy and its y-step:

* **ours** (paper eq. 11): $\displaystyle L(Y) = \frac1N\sum_i H_2(y_i,\sigma_i) + \lambda\,\mathrm{KL}(u\,\|\,\bar y)$,
  solved by **EM**, network loss collision CE;
* **MIADM** (eq. 5): $\displaystyle \frac1N\sum_i H(y_i,\sigma_i) + \lambda\,\mathrm{KL}(\bar y\,\|\,u)$, solved by
  projected gradient, network loss Shannon CE.

$\bar y = \frac1N\sum_i y_i$ and $u$ is the prior (uniform): the KL term keeps the clusters balanced
("fairness"), $\lambda$ its weight (paper: 100). Everything runs on the CPU (tiny models).
"""),
    params(f"""
import os

DATA = os.environ.get("CCEL_NB_DATA", "blobs")  # blobs | anisotropic | moons | circles | digits
K = int(os.environ.get("CCEL_NB_K", 3))  # clusters (the simplex views need K = 3)
EPOCHS = int(os.environ.get("CCEL_NB_EPOCHS", 15))
SEED = int(os.environ.get("CCEL_NB_SEED", 0))
LAM = float(os.environ.get("CCEL_NB_LAM", 100.0))  # fairness weight λ
Y_STEP = os.environ.get("CCEL_NB_Y_STEP", "full")  # full: once per epoch; batch: per batch (the paper's protocol)
MODEL = os.environ.get("CCEL_NB_MODEL", "linear")  # linear | mlp
EPOCH = int(os.environ.get("CCEL_NB_EPOCH", 0))  # the y-step section uses σ after this epoch (0 = untrained)
ITERS = int(os.environ.get("CCEL_NB_ITERS", 30))  # y-step iterations to record
MAX_POINTS = int(os.environ.get("CCEL_NB_MAX_POINTS", 300))  # points drawn in the animations
{RENDERER_LINE}
"""),
    code(f"""
import numpy as np
import pandas as pd

from ccel_core.experiments.trajectories import em_trajectory, toy_self_labeling
from ccel_core.plots import (
    cluster_sizes_figure,
    decision_regions_figure,
    loss_history_figure,
    ternary_labels_figure,
)
from ccel_core.solvers import em, m_step

{SETUP_PLOTLY}

METHODS = {{"collision": "Collision CE — ours (eq. 11, exact y-step)", "shannon": "Shannon CE — MIADM (eq. 5, PGD)"}}
"""),
    md("## Training both self-labelers"),
    code("""
results = {ce: toy_self_labeling(DATA, K, ce, EPOCHS, SEED, lam=LAM, y_step=Y_STEP, model=MODEL) for ce in METHODS}

summary = []
for ce, res in results.items():
    last = res.snapshots[-1]
    summary.append({"method": METHODS[ce], "ACC": last.acc, "NMI": last.nmi,
                    "smallest cluster": f"{int(last.sizes.min())} / {len(res.points)}"})
pd.DataFrame(summary).round(3)
"""),
    md(r"""
## Epoch by epoch

Per method: the pseudo-labels $y_i$ (dots) and predictions $\sigma_i$ (rings) on the simplex (K = 3
only), and the decision regions $\arg\max_k\sigma_k$ over the plane (digits: its 2-D PCA plane). Press
▶ or drag the slider. Epoch 0 is the untrained network, whose labels are $\sigma$ itself.
"""),
    code("""
rng = np.random.default_rng(0)
n_points = len(results["collision"].points)
idx = np.arange(n_points) if n_points <= MAX_POINTS else np.sort(rng.choice(n_points, MAX_POINTS, replace=False))

for ce, res in results.items():
    epochs = [s.epoch for s in res.snapshots]
    if res.n_clusters == 3:
        fig = ternary_labels_figure([s.labels[idx] for s in res.snapshots], [s.probs[idx] for s in res.snapshots],
                                    frame_names=epochs, title=f"{METHODS[ce]}: y (dots) and σ (rings) per epoch")
        fig.show()
    fig = decision_regions_figure(
        res.grid_x, res.grid_y, [s.grid_probs for s in res.snapshots], res.points[idx],
        [s.probs[idx].argmax(1) for s in res.snapshots],
        y_true=None if res.y_true is None else res.y_true[idx], frame_names=epochs,
        axis_titles=("PC 1", "PC 2") if DATA == "digits" else ("x₁", "x₂"),
        title=f"{METHODS[ce]}: decision regions per epoch (marker = true class)")
    fig.show()
"""),
    code("""
sizes = pd.concat([res.sizes_frame() for res in results.values()], ignore_index=True)
history = pd.concat([res.history_frame() for res in results.values()], ignore_index=True)
cluster_sizes_figure(sizes, title="Cluster sizes (points per argmax σ)").show()
loss_history_figure(history.dropna(subset=["loss"]), y="loss", title="Network loss mean_i CE(y_i, σ_i)",
                    yaxis="loss (nats)").show()
"""),
    md(r"""
## One y-step: the EM algorithm (paper section 4)

Fix the predictions $\sigma$ and minimize eq. 11 over the labels,
$L(Y) = -\frac1N\sum_i \ln(\sigma_i\cdot y_i) + \lambda\sum_k u_k\ln\frac{u_k}{\bar y_k}$. The only
coupling between points is $-\ln\bar y_k$. Jensen's inequality with weights $S_{ik}$
($\sum_i S_{ik} = 1$) bounds it,
$-\ln\sum_i y_{ik} \le -\sum_i S_{ik}\ln\frac{y_{ik}}{S_{ik}}$, with equality at the **E-step**

$$S_{ik} = \frac{y_{ik}}{\sum_j y_{jk}} .$$

The bound separates over points. **M-step**, for each point independently, with
$w_{ik} = \lambda N u_k S_{ik}$:

$$\min_{y\in\Delta_K}\ -\ln(\sigma_i\cdot y) - \sum_k w_{ik}\ln y_k .$$

Stationarity, $-\sigma_k/(\sigma\cdot y) - w_k/y_k + \beta = 0$, times $y_k$ and summed, gives
$\beta_i = 1 + \sum_k w_{ik}$; with $z_i = \beta_i\,\sigma_i\cdot y_i$ the solution is

$$y_{ik} = \frac{w_{ik}}{\beta_i}\cdot\frac{z_i}{z_i - \sigma_{ik}}, \qquad
  z_i > \max_k\sigma_{ik}\ \text{ the unique root of }\ g_i(z) = \sum_k\frac{w_{ik}\,\sigma_{ik}}{z - \sigma_{ik}} = 1 .$$

$g_i$ is positive, convex and decreasing on $(\max_k\sigma_{ik}, \infty)$; at
$z_0 = \sigma_{im}(1 + w_{im})$, $m = \arg\max_k\sigma_{ik}$, $g_i(z_0) \ge 1$ (paper Lemma 1), so Newton
from $z_0$ climbs monotonically to the root without overshooting. Each EM iteration minimizes an upper
bound that touches $L$ at the current $Y$, so **$L$ never increases** (Property 1), and iterates started
strictly positive (e.g. $Y^0 = \sigma$) stay strictly positive. The only cross-point quantities are the
$K$ column sums $\sum_j y_{jk}$ — one all-reduce per iteration in a distributed run.

Below: the iterates of EM and, for comparison, of PGD on MIADM's Shannon objective (step $1/(\lambda K)$),
on the predictions of the collision-CE network after epoch `EPOCH` (the page's "One y-step" tab).
"""),
    code("""
res = results["collision"]
sigma = res.snapshots[min(EPOCH, len(res.snapshots) - 1)].probs
trajectories = {
    "EM on eq. 11 (collision CE)": em_trajectory(sigma, LAM, n_iter=ITERS),
    "PGD on eq. 5 (Shannon CE, MIADM)": em_trajectory(sigma, LAM, n_iter=ITERS, solver="pgd", objective="eq10",
                                                      ce="shannon"),
}
for name, traj in trajectories.items():
    if sigma.shape[1] == 3:
        ternary_labels_figure([y[idx] for y in traj.iterates], sigma[idx], frame_names=list(range(len(traj.iterates))),
                              title=f"{name}: y per iteration (σ fixed, rings)").show()
    h = traj.history
    print(f"{name}: objective {h[0]:.4f} → {h[-1]:.4f} (−{h[0] - h[-1]:.4f}) in {ITERS} iterations")
loss_history_figure({name: traj.history for name, traj in trajectories.items()},
                    title="Objective per iteration (each its own objective)", yaxis="objective").show()

em_history = np.asarray(trajectories["EM on eq. 11 (collision CE)"].history)
assert np.all(np.diff(em_history) <= 1e-12 * np.abs(em_history[:-1])), "EM increased eq. 11"
print("Property 1: the EM objective never increased")
"""),
    md(r"""
## EM by hand

The E-step and M-step above in a few lines of numpy (vectorized Newton on $g_i$ for all points at
once), checked against the library's M-step kernel `ccel_core.solvers.m_step` and one iteration of
`ccel_core.solvers.em` (whose kernels add a safeguarded, cancellation-free Newton and the zero-weight
case of the paper's supplement).
"""),
    code("""
def em_iteration_by_hand(sigma: np.ndarray, y: np.ndarray, lam: float, newton_steps: int = 60) -> np.ndarray:
    n, k = sigma.shape
    u = np.full(k, 1.0 / k)
    s = y / y.sum(0)                                   # E-step: S_ik = y_ik / Σ_j y_jk
    w = lam * n * u * s                                # M-step weights w_ik = λ N u_k S_ik
    rows, m = np.arange(n), sigma.argmax(1)
    z = sigma[rows, m] * (1.0 + w[rows, m])            # z₀, where g(z₀) ≥ 1
    for _ in range(newton_steps):                      # Newton on g(z) = 1 from the left
        gap = z[:, None] - sigma
        g = (w * sigma / gap).sum(1)
        dg = -(w * sigma / gap**2).sum(1)
        z = z - (g - 1.0) / dg
    beta = 1.0 + w.sum(1)
    return (w / beta[:, None]) * z[:, None] / (z[:, None] - sigma)

y1 = em_iteration_by_hand(sigma, sigma, LAM)
w = LAM * len(sigma) * (1.0 / K) * sigma / sigma.sum(0)
print("rows on the simplex:        ", np.allclose(y1.sum(1), 1.0) and bool((y1 > 0).all()))
print("max |by hand − m_step|:      ", float(np.abs(y1 - m_step(sigma, w)).max()))
print("max |by hand − em(1 iter)|:  ", float(np.abs(y1 - em(sigma, LAM, max_iter=1, tol=0).labels).max()))
"""),
    md(r"""
### Try this: no fairness term

With $\lambda = 0$ the y-step has nothing to balance: EM returns the one-hot labels
$e_{\arg\max\sigma_i}$, and self-labeling can merge or empty clusters. Compare the smallest cluster
and the accuracy for a few values of $\lambda$:
"""),
    code("""
rows = []
for lam in (0.0, 1.0, LAM):
    r = toy_self_labeling(DATA, K, "collision", EPOCHS, SEED, lam=lam, y_step=Y_STEP, model=MODEL)
    last = r.snapshots[-1]
    rows.append({"λ": lam, "ACC": round(last.acc, 3), "cluster sizes": last.sizes.tolist(),
                 "label mass Σ_i y_ik": np.round(last.label_mass, 1).tolist()})
pd.DataFrame(rows)
"""),
    md("""
### Try this: another data set, or the paper's per-batch y-step

Change the parameters cell (`DATA = "anisotropic"`, `"moons"` with `K = 2`, `"digits"` with `K = 10`;
`Y_STEP = "batch"`) and rerun the notebook, or compare both y-step schedules here:
"""),
    code("""
rows = []
for y_step in ("full", "batch"):
    for ce in METHODS:
        r = toy_self_labeling("anisotropic", 3, ce, EPOCHS, SEED, lam=LAM, y_step=y_step, model=MODEL)
        rows.append({"y-step": y_step, "method": METHODS[ce], "ACC": round(r.snapshots[-1].acc, 3),
                     "cluster sizes": r.snapshots[-1].sizes.tolist()})
pd.DataFrame(rows)
"""),
]

# ==============================================================================================
# 04 — clustering runs (page explorer/views/clustering_runs.py)
# ==============================================================================================
NB04: list[Cell] = [
    md(r"""
# 4 · Clustering runs: the trainer, the run store and `CollisionClustering`

The notebook version of the app page **Clustering runs**. The page launches `ccel fit` in the
background; `ccel fit` builds a `TrainConfig`, creates a run in a `RunStore` (a SQLite index plus one
folder per run: config, per-epoch metrics, checkpoints, final assignments) and drives a `Trainer`,
which alternates y-steps and network steps and logs every epoch to the run. Here we make the same
calls in-process, in a **temporary run store**, then use the scikit-learn style estimator.

Default protocol (paper Table 2, fixed features): a linear head on the features (Kaiming init, zero
bias), SGD with learning rate 0.1, batch 250, weight decay 0.001, $\lambda = 100$; for `ccel` the
pseudo-labels of eq. 11, $\frac1N\sum_i H_2(y_i,\sigma_i) + \lambda\,\mathrm{KL}(u\|\bar y)$, are solved per
batch by EM (notebook 3) and the network step minimizes $\frac1{|B|}\sum_{i\in B} H_2(y_i,\sigma_i)$.
"""),
    params(f"""
import os

DATA = os.environ.get("CCEL_NB_DATA", "digits")  # a built-in set, a torchvision set (needs its files) or a feature file
RUN_METHODS = tuple(os.environ.get("CCEL_NB_RUN_METHODS", "ccel,miadm,sela,kmeans").split(","))
SEEDS = tuple(int(s) for s in os.environ.get("CCEL_NB_SEEDS", "0,1").split(","))
EPOCHS = int(os.environ.get("CCEL_NB_EPOCHS", 10))
MODEL = os.environ.get("CCEL_NB_MODEL", "linear")
DEVICE = os.environ.get("CCEL_DEVICE", "cpu")  # "cuda" on a GPU box ("auto": CUDA when available)
RUNS_DIR = os.environ.get("CCEL_NB_RUNS_DIR", "")  # blank: a temporary run store, removed at the end
{RENDERER_LINE}
"""),
    code(f"""
import tempfile

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from ccel_core.data import DATASETS, load_dataset
from ccel_core.estimator import CollisionClustering
from ccel_core.metrics import confusion_matrix, evaluate
from ccel_core.models import MODELS
from ccel_core.objectives import METHODS
from ccel_core.plots import confusion_figure, run_curves_figure
from ccel_core.runs import RunStore
from ccel_core.training import TrainConfig, Trainer

{SETUP_PLOTLY}

tmp = None if RUNS_DIR else tempfile.TemporaryDirectory(prefix="ccel-runs-")
store = RunStore(RUNS_DIR or tmp.name)
store.mark_stale()  # runs whose process died are marked failed (the page does this on every poll)
print(store, "—", len(store.list()), "run(s)")
print("data sets:", ", ".join(DATASETS))
print("methods:  ", ", ".join(METHODS))
print("models:   ", ", ".join(MODELS))
"""),
    md(r"""
## One run, by hand

`TrainConfig` validates every setting (errors name the value); `RunStore.create` writes the config and
an index row (status `created`); `Trainer(config, run=run).fit()` is a generator that marks the run
`running`, yields the metrics of every epoch (also logged and checkpointed), and finally saves the
assignments and marks it `finished`.
"""),
    code("""
config = TrainConfig(data=DATA, method="ccel", model=MODEL, epochs=EPOCHS, seed=0, device=DEVICE)
run = store.create(config.to_dict(), group="by-hand", name="ccel seed 0")
trainer = Trainer(config, run=run)
for metrics in trainer.fit():
    print(f"epoch {metrics['epoch']:2d}  loss {metrics['loss']:.4f}  y-objective {metrics['label_loss']:.4f}  "
          f"ACC {metrics['acc']:.3f}  NMI {metrics['nmi']:.3f}")
info = store.get(run.run_id)
print(info.run_id, info.status, f"epoch {info.epoch}/{info.epochs}", {k: round(info.final[k], 4) for k in ("acc", "nmi", "ari")})
"""),
    code("""
store.metrics(run.run_id).drop(columns=["cluster_sizes"], errors="ignore").round(4).tail()
"""),
    md(r"""
## Compare methods over seeds

One run per (method, seed), as the page's *Launch* form does with several seeds. `kmeans` is
scikit-learn's k-means on the same features (one shot, no network); `miadm` and `sela` are the
paper's Shannon-CE baselines (eq. 5 by projected gradient, eq. 4 by Sinkhorn–Knopp).
"""),
    code("""
ids = {}
for method in RUN_METHODS:
    for seed in SEEDS:
        cfg = TrainConfig(data=DATA, method=method, model=MODEL, epochs=EPOCHS, seed=seed, device=DEVICE)
        r = store.create(cfg.to_dict(), group=f"compare-{method}")
        final = Trainer(cfg, run=r).run()
        ids[r.run_id] = f"{method} · seed {seed}"
        print(f"{r.run_id}  {method:7s} seed {seed}  ACC {final['acc']:.3f}  NMI {final['nmi']:.3f}")

frames = {rid: store.metrics(rid) for rid in ids}
run_curves_figure(frames, "acc", labels=ids, title=f"ACC per epoch on {DATA}").show()
"""),
    code("""
runs = store.to_frame(store.list())
runs = runs[runs["run_id"].isin(list(ids))]
summary = runs.groupby("method")[["acc", "nmi", "ari"]].agg(["mean", "std"]).round(4)
summary
"""),
    md(r"""
For context, the paper's Table 2 (ImageNet ResNet-50 features of the image sets + a linear head,
ACC % over 6 seeds; not these digits):

| | STL10 | CIFAR10 | CIFAR100-20 | MNIST |
|---|---|---|---|---|
| K-means | 85.20 | 67.78 | 42.99 | 47.62 |
| MIGD | 89.56 | 72.32 | 43.59 | 52.92 |
| SeLa | 90.33 | 63.31 | 40.74 | 52.38 |
| MIADM | 88.64 | 60.57 | 41.2 | 50.61 |
| **Ours** | **92.33** | **73.51** | **43.72** | **58.4** |

On raw digit pixels with a linear head and a few epochs, k-means is a strong baseline; the
paper's comparison uses pretrained features (`.venv/bin/ccel bench features` runs the Table 2
protocol on feature files).
"""),
    md("### Classes × clusters of the best run (the matched clusters on the diagonal)"),
    code("""
best = runs.sort_values("acc", ascending=False).iloc[0]
assignments, probs = store.open(best["run_id"]).load_assignments()
y_true = load_dataset(DATA).y.numpy()
matrix, classes, clusters = confusion_matrix(y_true, assignments)
confusion_figure(matrix, classes, clusters, title=f"{ids[best['run_id']]}: classes × clusters").show()
evaluate(y_true, assignments)
"""),
    md(r"""
## Cancel and resume

The page's *Cancel* button calls `run.request_cancel()`; the trainer checks between batches and ends the
run as `cancelled`. Stopping the `fit()` generator early does the same. *Resume* builds a trainer for
the stored run — it loads the last checkpoint (model, optimizer, pseudo-labels, epoch, metric history)
and continues; every epoch reseeds its own random numbers, so on a CPU the resumed run repeats the
uninterrupted one bit for bit.
"""),
    code("""
interrupted = store.create(config.to_dict(), group="resume", name="ccel seed 0, interrupted")
steps = Trainer(config, run=interrupted).fit()
for _ in range(min(3, EPOCHS - 1)):
    next(steps)
steps.close()  # stop after a few epochs
print("after stopping:", store.get(interrupted.run_id).status, "at epoch", store.get(interrupted.run_id).epoch)

resumed = Trainer.from_run(store.open(interrupted.run_id))
print("resumes at epoch", resumed.epoch)
final = resumed.run()
print("after resuming:", store.get(interrupted.run_id).status, "at epoch", store.get(interrupted.run_id).epoch)
print(f"ACC resumed {final['acc']:.6f} vs uninterrupted {info.final['acc']:.6f}")
"""),
    md(r"""
## The scikit-learn estimator

`CollisionClustering` wraps the same trainer in scikit-learn's clustering API (`fit`, `predict`,
`predict_proba`, `fit_predict`, `labels_`); its defaults are the protocol above. The network
predicts clusters of new points too.
"""),
    code("""
X, y = load_digits(return_X_y=True)
X = X / 16.0
train, test = np.arange(len(X)) % 5 != 0, np.arange(len(X)) % 5 == 0
model = CollisionClustering(n_clusters=10, epochs=EPOCHS, random_state=0, device=DEVICE).fit(X[train])
print("train:", {k: round(v, 3) for k, v in evaluate(y[train], model.labels_).items()})
print("test: ", {k: round(v, 3) for k, v in evaluate(y[test], model.predict(X[test])).items()})
print("predict_proba rows sum to 1:", np.allclose(model.predict_proba(X[test]).sum(1), 1.0))
print("pseudo-labels Y:", model.pseudo_labels_.shape, " epochs run:", model.n_iter_)
"""),
    md("""
### Try this: the fairness weight λ

`lam` weighs the balance term $\\mathrm{KL}(u\\|\\bar y)$. Smaller values let clusters grow unequal (or
empty); the paper uses 100. The final cluster sizes are in the trainer's metrics (`history_`):
"""),
    code("""
rows = []
for lam in (1.0, 10.0, 100.0):
    est = CollisionClustering(n_clusters=10, lam=lam, epochs=EPOCHS, random_state=0, device=DEVICE).fit(X)
    rows.append({"λ": lam, **{k: round(v, 3) for k, v in evaluate(y, est.labels_).items()},
                 "cluster sizes": est.history_[-1]["cluster_sizes"]})
pd.DataFrame(rows)
"""),
    md("""
## The same from the shell

`ccel fit` runs one training per seed into the run store (`--runs-dir`, default `$CCEL_RUNS_DIR`,
else `./runs`); the app's *Clustering runs* page polls the same store, so runs started here appear
there live. Not executed in this notebook:

```bash
# three seeds of ours on digits, then the Shannon baseline
.venv/bin/ccel fit --data digits --method ccel --epochs 10 --seeds 0 1 2 --runs-dir runs
.venv/bin/ccel fit --data digits --method miadm --epochs 10 --seeds 0 1 2 --runs-dir runs

# inspect, export, cancel, resume
.venv/bin/ccel runs list --runs-dir runs
.venv/bin/ccel runs show RUN_ID --runs-dir runs
.venv/bin/ccel runs export runs.csv --runs-dir runs
.venv/bin/ccel runs cancel RUN_ID --runs-dir runs
.venv/bin/ccel fit --resume RUN_ID --epochs 20 --runs-dir runs   # raise the total and continue

# on a GPU box: a real data set (files under $CCEL_DATA) and a VGG4 from scratch with self-augmentation
.venv/bin/ccel fit --data cifar10 --model vgg4 --method ccel --optimizer adam --lr 1e-4 --beta 0.2 \\
    --epochs 50 --device cuda --runs-dir runs
# several GPUs (torch.distributed, one process per GPU)
.venv/bin/torchrun --nproc-per-node 4 -m ccel_core.cli fit --data cifar10 --model vgg4 --device cuda --runs-dir runs

# watch them in the app (page "Clustering runs")
CCEL_RUNS_DIR=runs .venv/bin/streamlit run explorer/app.py
```
"""),
    code("""
if tmp is not None:
    tmp.cleanup()  # the temporary run store goes away; set CCEL_NB_RUNS_DIR to keep the runs
"""),
]

# ==============================================================================================
# 05 — solver race (page explorer/views/solver_race.py)
# ==============================================================================================
NB05: list[Cell] = [
    md(r"""
# 5 · Solver race: EM vs projected gradient (paper Table 1), and a certified exact y-step

The notebook version of the app page **Solver race**. The y-step of eq. 11,

$$\min_{Y}\ L(Y) = -\frac1N\sum_i\ln(\sigma_i\cdot y_i) + \lambda\,\mathrm{KL}(u\,\|\,\bar y), \qquad y_i\in\Delta_K,$$

for fixed predictions $\sigma = \operatorname{softmax}(3z)$, $z\sim\mathcal N(0,1)^{N\times K}$. $L$ is convex in
$Y$. The paper's EM (notebook 3) races projected gradient descent at several step sizes, all from
$Y^0 = \sigma$, and ccel's exact y-step (an interior-point method) runs beside them. Every gap here is
**certified**: an upper bound on $(L(Y^t) - L^*)/L(Y^t)$ computed from $Y^t$ alone, through the dual of
the y-step (next section) — no reference optimum needed.
"""),
    params(f"""
import os

N = int(os.environ.get("CCEL_NB_N", 2000))  # points (the paper: 10 000)
K = int(os.environ.get("CCEL_NB_K", 20))  # classes (the paper: 2, 20, 200)
LAM = float(os.environ.get("CCEL_NB_LAM", 100.0))
MAX_ITER = int(os.environ.get("CCEL_NB_MAX_ITER", 400))  # iterations per solver
LRS = tuple(float(v) for v in os.environ["CCEL_NB_LRS"].split(",")) if os.environ.get("CCEL_NB_LRS") else None  # None: 0.5, 1, 2 × 1/(λK)
SEED = int(os.environ.get("CCEL_NB_SEED", 0))
INTERIOR_POINT = os.environ.get("CCEL_NB_INTERIOR_POINT", "false").lower() in ("1", "true", "yes")  # CVXPY + Clarabel reference, N·K ≤ 60 000
DEVICE = os.environ.get("CCEL_DEVICE", "cpu")  # cpu: numpy + the numba EM kernel; cuda: the torch kernels on the GPU
{RENDERER_LINE}
"""),
    code(f"""
import math

import numpy as np
import pandas as pd
import torch

from ccel_core.experiments.race import default_pgd_lrs, race_problem, solver_race
from ccel_core.plots import solver_race_figure
from ccel_core.solvers import eq11_loss, pgd, project_simplex

{SETUP_PLOTLY}

def on_device(probs: np.ndarray):
    \"\"\"numpy on the CPU (numba kernel), else a torch tensor on DEVICE (torch kernels).\"\"\"
    return probs if DEVICE == "cpu" else torch.from_numpy(probs).to(DEVICE)
"""),
    md(r"""
## Projected gradient descent

PGD steps along the gradient of the summed loss $N\cdot L$ (so the step size $\eta$ does not depend on
$N$) and projects every row back onto the simplex:

$$Y \leftarrow \operatorname{Proj}_\Delta\big(Y - \eta\,N\nabla L(Y)\big), \qquad
  N\frac{\partial L}{\partial y_i} = -\frac{\sigma_i}{\sigma_i\cdot y_i} - \lambda\,\frac{u}{\bar y}\quad\text{(eq. 11)},$$

(eq. 10, $\lambda\,\mathrm{KL}(\bar y\|u)$, has $+\lambda(\ln(\bar y/u) + 1)$ instead). The Euclidean projection
of a row $v$ is sort-based (Held et al. 1974; Duchi et al. 2008; Chen & Ye 2011): with $\mu$ the row sorted
decreasingly, $\rho = \max\{j : \mu_j > (\sum_{r\le j}\mu_r - 1)/j\}$ and
$\theta = (\sum_{r\le\rho}\mu_r - 1)/\rho$, $\operatorname{Proj}_\Delta(v) = \max(v - \theta, 0)$.

Step size: near $\bar y \approx u$ the fairness term moves all rows together with curvature about
$\lambda K$ (from $\lambda u_k/\bar y_k^2$); when it dominates (large $\lambda$) fixed steps beyond
$\approx 2/(\lambda K)$ oscillate. The race tries $\{0.5, 1, 2\}/(\lambda K)$. EM has no step size at all.

One PGD step by hand, checked against `ccel_core.solvers.pgd`:
"""),
    code("""
sigma = race_problem(500, 5, seed=1)
u = np.full(5, 1 / 5)
lr = 1 / (LAM * 5)
y = sigma.copy()
grad = -sigma / (sigma * y).sum(1, keepdims=True) - LAM * u / y.mean(0)
y_next = project_simplex(y - lr * grad)
step = pgd(sigma, LAM, objective="eq11", lr=lr, max_iter=1, tol=0)
print("max |by hand − pgd|:", float(np.abs(y_next - step.labels).max()))
print(f"eq. 11: {eq11_loss(sigma, y, LAM, u):.6f} → {eq11_loss(sigma, y_next, LAM, u):.6f}  (history {step.history})")
print("projection of (0.8, 0.6, −0.2):", project_simplex(np.array([0.8, 0.6, -0.2])))
"""),
    md(r"""
## The certificate: the dual of the y-step

Write $-\lambda\sum_k u_k\ln\bar y_k = \max_{c>0}\,[-c\cdot\bar y + \lambda\sum_k u_k\ln c_k + \lambda - \lambda\ln\lambda]$
(one multiplier $c_k$ per class; the maximum is at $c = \lambda u/\bar y$). Swapping min and max gives,
for **every** $c > 0$ and every feasible $Y$, $L(Y) \ge L^* \ge D(c)$ with

$$D(c) = \frac1N\sum_i h_i(c) + \lambda\sum_k u_k\ln c_k + \lambda - \lambda\ln\lambda, \qquad
  h_i(c) = \min_{y\in\Delta_K} -\ln(\sigma_i\cdot y) - c\cdot y = \max_{p>0}\Big[1 + \ln p - \max_k(\sigma_{ik}\,p + c_k)\Big].$$

The last form is the **envelope picture**: $h_i$ is decided by the upper envelope of $K$ lines
$\ell_k(p) = \sigma_{ik}p + c_k$; the best $p$ is where $p$ times the envelope's slope equals 1 — inside a
segment of line $k$ ($y_i = e_k$, a one-hot label) or at a breakpoint of lines $j, k$ ($y_i$ on the edge
$(j,k)$, two nonzeros). So optimal pseudo-labels are mostly one-hot, on the *boundary* of the simplex, where
EM's strictly positive iterates arrive only slowly. With $c = \lambda u/\bar y(Y)$ the gap
$L(Y) - D(c)$ is a certificate for any solver's $Y$, and it tends to 0 as $Y$ approaches the optimum.

One point's envelope, and the bound along EM's iterates:
"""),
    code("""
from ccel_core.solvers import certified_gap, dual_value, em, exact

sig_i, c = np.array([0.6, 0.3, 0.1]), np.array([0.0, 0.5, 0.9])
p = np.linspace(0.05, 6, 400)
lines = sig_i[:, None] * p + c[:, None]
h_by_grid = (1 + np.log(p) - lines.max(0)).max()
print(f"h_i(c) on a grid of p: {h_by_grid:.6f}; best p ≈ {p[(1 + np.log(p) - lines.max(0)).argmax()]:.3f}; "
      f"active line at that p: {lines[:, (1 + np.log(p) - lines.max(0)).argmax()].argmax()}")

sigma = race_problem(400, 5, seed=2)
u5 = np.full(5, 1 / 5)
run = em(sigma, LAM, max_iter=300, tol=0, accelerate=True, certify=True)
best = exact(sigma, LAM)
print(f"exact: L = {best.loss:.10f}, certified gap {best.gaps[-1]:.1e} after {best.n_iter} iterations")
for t in (0, 3, 30, 300):
    print(f"EM + SQUAREM step {t:3d}: L = {run.history[t]:.8f}, certified gap {run.gaps[t]:.2e}, "
          f"true gap {(run.history[t] - best.loss) / run.history[t]:.2e}")
print("D(c) ≤ L(Y) for an arbitrary c > 0:", dual_value(sigma, np.full(5, 80.0), LAM, u5) <= run.history[-1])
"""),
    md("## The race"),
    code("""
probs = race_problem(N, K, seed=SEED)
shown = LRS if LRS is not None else default_pgd_lrs(K, LAM)
print(f"N = {N}, K = {K}, λ = {LAM:g}; PGD step sizes", ", ".join(f"{v:.3g}" for v in shown))
race = solver_race(on_device(probs), LAM, pgd_lrs=LRS, max_iter=MAX_ITER, use_interior_point=INTERIOR_POINT)
print(f"reference L* = {race.reference:.8g} ({race.reference_source})")

solver_race_figure(race.trace, "iteration", y="certified", title="Certified gap per iteration").show()
solver_race_figure(race.trace, "seconds", y="certified", title="Certified gap per second").show()
solver_race_figure(race.trace, "iteration", y="loss", title="Objective L(Yᵗ) per iteration", y_title="L(Yᵗ)").show()
"""),
    md(r"""
Iterations and seconds until the certified gap is below each level (NaN: not reached within the budget)
and the paper-style stop (relative change below $10^{-5}$), with the certified gap there. Compare with the
paper's numbers below, and see the last *Try this* for how the iteration counts depend on $\lambda$.
"""),
    code("""
summary = race.summary
em_row = summary[summary["method"] == "EM"].iloc[0]
pgd_rows = summary[summary["method"].str.startswith("PGD")]
level = 0.01
col = f"sec@{level:g}"
if np.isfinite(em_row[col]) and pgd_rows[col].notna().any():
    print(f"to gap {level:g}: EM {em_row[col]:.3f} s, best PGD {pgd_rows[col].min():.3f} s "
          f"→ PGD/EM × {pgd_rows[col].min() / em_row[col]:.1f}")
elif np.isfinite(em_row[col]):
    budget = race.trace[race.trace["method"].str.startswith("PGD")].groupby("method")["seconds"].max().max()
    print(f"to gap {level:g}: EM {em_row[col]:.3f} s; no PGD step size reached it in {budget:.3f} s (× > {budget / em_row[col]:.1f})")
ex_row = summary[summary["method"] == "exact"].iloc[0]
sq_row = summary[summary["method"] == "EM + SQUAREM"].iloc[0]
print(f"exact to a certified 1e-9: {ex_row['sec@1e-09']:.3f} s ({ex_row['iters@1e-09']:.0f} iterations); "
      f"EM + SQUAREM to 1e-2: {sq_row['sec@0.01']:.3f} s")
summary.round(5)
"""),
    md("""
The paper's Table 1 ($N$ = 10 000; iterations, then seconds, to convergence for three $K$):

| solver | iterations | seconds |
|---|---|---|
| PGD η₁ | 326 / 742 / 540 | 0.25 / 2.20 / 36.25 |
| PGD η₂ | 101 / 468 / 344 | 0.09 / 1.55 / 23.35 |
| PGD η₃ | 24 / 202 / 180 | 0.02 / 0.65 / 12.60 |
| **EM** | **25 / 53 / 71** | **0.04 / 0.09 / 0.36** |

The full benchmark, with these sizes: `.venv/bin/ccel bench solvers` (or `make bench`).
"""),
    md("""
### Try this: more classes

The paper's sweep over $K$ at a smaller size ($N$ = 1000, 300 iterations each): iterations to a certified
1 % gap (NaN: not reached) and the certified gap after the budget, for EM and for the best of the three PGD
step sizes, and the exact y-step's iterations to a certified $10^{-9}$.
"""),
    code("""
rows = []
for k in (2, 20, 200):
    r = solver_race(on_device(race_problem(1000, k, seed=SEED)), LAM, max_iter=300, use_interior_point=False)
    s = r.summary.set_index("method")
    rows.append({"K": k, "EM iters to 1e-2": s.loc["EM", "iters@0.01"], "EM final gap": s.loc["EM", "final_gap"],
                 "EM + SQUAREM iters to 1e-2": s.loc["EM + SQUAREM", "iters@0.01"],
                 "best PGD iters to 1e-2": s[s.index.str.startswith("PGD")]["iters@0.01"].min(),
                 "best PGD final gap": s[s.index.str.startswith("PGD")]["final_gap"].min(),
                 "exact iters to 1e-9": s.loc["exact", "iters@1e-09"]})
pd.DataFrame(rows)
"""),
    md("""
### Try this: an independent check, the weight λ and a step that is too long

On a small problem a generic interior-point solver (CVXPY + Clarabel) solves the y-step too; its value is
printed beside the exact y-step's certified optimum. For three values of $\\lambda$: iterations to a $10^{-3}$ gap for EM, for PGD at
$1/(\\lambda K)$ and at $3/(\\lambda K)$ — beyond the limit $2/(\\lambda K)$ of the fairness term, which matters
once that term dominates. Both solvers need more iterations as $\\lambda$ grows: each EM iteration moves a
label only roughly $1/\\lambda$ of the way, since the M-step weights $w_{ik} \\approx \\lambda\\, y_{ik}\\, u_k/\\bar y_k$
outweigh the data term $-\\ln(\\sigma_i\\cdot y)$ by a factor $\\lambda$.
"""),
    code("""
small_k = 5
small = race_problem(300, small_k, seed=SEED)
rows, races = [], {}
for lam in (1.0, 10.0, LAM):
    steps = (1 / (lam * small_k), 3 / (lam * small_k))
    races[lam] = r = solver_race(small, lam, pgd_lrs=steps, max_iter=3000, use_interior_point=True)
    s = r.summary.set_index("method")
    names = [m for m in s.index if m.startswith("PGD")]
    rows.append({"λ": lam, "L*": f"{r.reference:.8g} ({r.reference_source})",
                 "EM iters to 1e-3": s.loc["EM", "iters@0.001"],
                 "EM + SQUAREM iters to 1e-3": s.loc["EM + SQUAREM", "iters@0.001"],
                 "PGD 1/(λK) iters to 1e-3": s.loc[names[0], "iters@0.001"],
                 "PGD 3/(λK) iters to 1e-3": s.loc[names[1], "iters@0.001"],
                 "PGD 3/(λK) final gap": s.loc[names[1], "final_gap"]})
solver_race_figure(races[LAM].trace, "iteration", title=f"N = 300, K = {small_k}, λ = {LAM:g}: gaps to the certified optimum").show()
pd.DataFrame(rows)
"""),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "00_overview.ipynb": NB00,
    "01_loss_curves.ipynb": NB01,
    "02_noisy_labels.ipynb": NB02,
    "03_pseudo_label_evolution.ipynb": NB03,
    "04_clustering_runs.ipynb": NB04,
    "05_solver_race.ipynb": NB05,
}

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    """A v4 notebook without outputs; cell ids are stable (``cell-00``, …) so rebuilds give no diff."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    for i, (kind, text) in enumerate(cells):
        source = textwrap.dedent(text).strip("\n")
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    """The file text of notebook ``name``."""
    return nbformat.writes(build(NOTEBOOKS[name])) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a notebook differs from this file")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if args.check and stale:
        print(f"out of date (run python notebooks/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    if not stale:
        print("notebooks are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
