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
# # ccel — collision cross-entropy for soft labels and deep clustering
#
# Teaching notebooks for **ccel**, after Zhang & Boykov, *Collision Cross-entropy for Soft Class Labels
# and Deep Clustering*. Each notebook is the long-form version of one page of the explorer app
# (`streamlit run explorer/app.py`) and makes the same `ccel_core` calls:
#
# | notebook | app page | what it shows |
# |---|---|---|
# | `01_loss_curves` | Loss curves | paper Fig. 1, the loss over the simplex, gradient vs label certainty |
# | `02_noisy_labels` | Noisy labels | CE vs CCE trained on corrupted soft targets (paper Fig. 2) |
# | `03_pseudo_label_evolution` | Pseudo-label evolution | self-labeling on the plane, the EM algorithm step by step |
# | `04_clustering_runs` | Clustering runs | the trainer, the run store, resume, `CollisionClustering` |
# | `05_solver_race` | Solver race | EM vs projected gradient on the pseudo-labels (paper Table 1), the certificate and the exact y-step |
#
# Notation: $K$ classes, a prediction $\sigma = \operatorname{softmax}(l) \in \Delta_K$ from logits $l$,
# a (soft) label $y \in \Delta_K$, $\ln$ the natural log.

# %% tags=["parameters"]
DEVICE = "cpu"  # "cuda" on a GPU box
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import math

import plotly.io as pio
import torch

from ccel_core.experiments.curves import FIG1_TARGETS, loss_curves
from ccel_core.losses import (
    CollisionCrossEntropyLoss,
    collision_cross_entropy,
    collision_entropy,
    shannon_cross_entropy,
)
from ccel_core.plots import loss_curves_figure

pio.renderers.default = RENDERER

# %% [markdown]
# ## The loss
#
# Shannon's cross-entropy and the **collision cross-entropy** (paper eq. 9) are
#
# $$H(y,\sigma) = -\sum_k y_k \ln \sigma_k, \qquad H_2(y,\sigma) = -\ln \sum_k y_k\,\sigma_k .$$
#
# $\sum_k y_k \sigma_k$ is the probability that two independent draws — a class $C \sim \sigma$ and a
# label $T \sim y$ — *collide*, $C = T$; $H_2$ is minus its log. In code the input is logits (as in
# `torch.nn.functional.cross_entropy`) and the loss is computed stably as
# $H_2(y, \operatorname{softmax}(l)) = \operatorname{logsumexp}(l) - \operatorname{logsumexp}(l + \ln y)$.
# The target is either probabilities ($N\times K$) or class indices ($N$).

# %%
torch.manual_seed(0)
K = 5
logits = torch.randn(4, K, dtype=torch.float64, device=DEVICE)
sigma = logits.softmax(1)
soft = torch.distributions.Dirichlet(torch.ones(K, dtype=torch.float64)).sample((4,)).to(DEVICE)

print("H₂(y, σ) per row:", collision_cross_entropy(logits, soft, reduction="none").cpu().numpy().round(4))
print("H(y, σ)  per row:", shannon_cross_entropy(logits, soft, reduction="none").cpu().numpy().round(4))
print("mean, module form:", float(CollisionCrossEntropyLoss()(logits, soft)))

# %% [markdown]
# ## Its properties (docs/math.md §2), checked numerically
#
# * (a) **symmetric** in $y$ and $\sigma$;
# * (b) a **one-hot** label $y = e_c$ gives $-\ln\sigma_c$, the same as Shannon's CE;
# * (c) a **uniform** label gives $\ln K$ for every $\sigma$: zero gradient, the network learns nothing
#   from a label that says nothing;
# * (d) $H_2(y,\sigma) = -\ln\cos\angle(y,\sigma) + \tfrac12 H_2(y) + \tfrac12 H_2(\sigma) \ge 0$, with the
#   collision entropy $H_2(p) = -\ln\sum_k p_k^2 = -\ln\lVert p\rVert^2$ (so $y\cdot\sigma = \lVert y\rVert\,\lVert\sigma\rVert\cos\angle$);
# * (e) $H_2(y,\sigma) \le H(y,\sigma)$, by Jensen's inequality for the convex $-\ln$.

# %%
h2 = collision_cross_entropy(logits, soft, reduction="none")

# (a) swap the roles: logits ln y and target σ
assert torch.allclose(h2, collision_cross_entropy(soft.log(), sigma, reduction="none"))

# (b) class indices = one-hot targets = Shannon CE = −ln σ_c
c = torch.tensor([0, 3, 1, 4], device=DEVICE)
one_hot = torch.nn.functional.one_hot(c, K).double()
assert torch.allclose(
    collision_cross_entropy(logits, c, reduction="none"), -sigma.log()[torch.arange(4, device=DEVICE), c]
)
assert torch.allclose(
    collision_cross_entropy(logits, one_hot, reduction="none"), shannon_cross_entropy(logits, one_hot, reduction="none")
)

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

# %% [markdown]
# ## Paper Fig. 1
#
# $K = 2$, $\sigma = (p, 1-p)$: Shannon's CE (dashed) and collision CE (solid) against $p$ for four labels.
# For $y = (.9, .1)$ Shannon's CE is minimized at $p = 0.9$ — it trains the network to *copy* the
# label's uncertainty — while collision CE is minimized at $p = 1$. For $y = (.5, .5)$ collision CE is
# flat at $\ln 2$. The same call as the app's home page:

# %%
df = loss_curves(FIG1_TARGETS, (1.0, 2.0))
fig = loss_curves_figure(df, title="Shannon CE (dashed) vs collision CE (solid), K = 2 — paper Fig. 1")
fig.show()

# %% [markdown]
# ### Try this
#
# Pick your own label and add a Rényi order: `alphas = (1.0, 2.0, 3.0)` draws
# $H_\alpha(y,\sigma) = \ln\big(\sum_k y_k\sigma_k^{\alpha-1}\big)/(1-\alpha)$ dotted
# ($\alpha \to 1$ is Shannon's CE, $\alpha = 2$ collision). Notebook `01_loss_curves` goes further.

# %%
my_label = (0.6, 0.4)
loss_curves_figure(loss_curves((my_label,), (1.0, 2.0, 3.0)), title=f"y = {my_label}").show()
