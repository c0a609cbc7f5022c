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
# # 1 · Loss curves: Shannon CE vs collision CE
#
# The notebook version of the app page **Loss curves**. Three views of the cross-entropy family for a
# prediction $\sigma = \operatorname{softmax}(l)$ and a soft label $y$:
#
# * Shannon: $H(y,\sigma) = -\sum_k y_k\ln\sigma_k = \mathrm{KL}(y\,\|\,\sigma) + H(y)$ (order $\alpha = 1$);
# * collision (paper eq. 9): $H_2(y,\sigma) = -\ln\sum_k y_k\sigma_k$ (order $\alpha = 2$);
# * Rényi of order $\alpha$ (the "shifted" form): $H_\alpha(y,\sigma) = \dfrac{\ln\big(\sum_k y_k\,\sigma_k^{\alpha-1}\big)}{1-\alpha}$,
#   which tends to Shannon's CE as $\alpha \to 1$ (l'Hôpital) and is collision CE at $\alpha = 2$.
#
# All values come from `ccel_core.losses` through `ccel_core.experiments.curves`; the figures from
# `ccel_core.plots`.

# %% tags=["parameters"]
Y1 = 0.9  # your K = 2 label y = (Y1, 1 − Y1)
SHOW_PAPER = True  # add Fig. 1's four labels
ALPHA = 2.0  # an extra Rényi order in [1, 3] (1 and 2 are always drawn)
TARGET = (0.7, 0.2, 0.1)  # K = 3 label
RESOLUTION = 45  # simplex grid subdivisions
SCALE = 1.0  # prediction confidence: logits SCALE · (1, 0, −1)
X_AXIS = "certainty"  # "certainty" | "eps" | "target_entropy"
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import pandas as pd
import plotly.io as pio
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

pio.renderers.default = RENDERER

alphas = tuple(dict.fromkeys((1.0, 2.0, round(ALPHA, 4))))  # the page's choice of orders

# %% [markdown]
# ## K = 2: paper Fig. 1
#
# With $\sigma = (p, 1-p)$ and $y = (y_1, 1-y_1)$:
#
# $$H(y,\sigma) = -y_1\ln p - (1-y_1)\ln(1-p), \qquad H_2(y,\sigma) = -\ln\big(y_1 p + (1-y_1)(1-p)\big).$$
#
# Shannon's CE is minimized at $p = y_1$ (Gibbs' inequality: $\mathrm{KL}(y\|\sigma) \ge 0$). Collision CE is
# minus the log of a *linear* function of $p$, so it is minimized at an end: $p = 1$ when $y_1 > \tfrac12$ —
# the label's most likely class, with full confidence. At $y = (\tfrac12, \tfrac12)$ it is the constant $\ln 2$.

# %%
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
    rows.append(
        {"loss": loss_name(a), "alpha": a, "argmin p": round(float(best["p"]), 3), "min loss": float(best["loss"])}
    )
pd.DataFrame(rows)

# %% [markdown]
# ## K = 3: the loss over the simplex
#
# For a fixed label $y \in \Delta_3$, the loss as a function of $\sigma$ over the whole simplex (a ternary
# heatmap; white star: $y$, red cross: the grid minimum). Shannon's minimum is $\sigma = y$ itself.
# Collision CE is $-\ln(y\cdot\sigma)$ and $y\cdot\sigma$ is linear in $\sigma$, so its minimum over the
# simplex is at the vertex $e_{\arg\max_k y_k}$, with value $-\ln\max_k y_k$: the network is asked to be
# *confident* in the label's best class, not to reproduce the label.

# %%
for a in alphas:
    grid = simplex_loss_grid(TARGET, a, RESOLUTION)
    best = grid.loc[grid["loss"].idxmin()]
    print(f"{loss_name(a)}: minimum {best['loss']:.4f} at σ = ({best['s1']:.3f}, {best['s2']:.3f}, {best['s3']:.3f})")
    simplex_heatmap_figure(grid).show()

# %% [markdown]
# ## Gradient size vs label certainty
#
# Differentiating with respect to the logits ($\partial\sigma_j/\partial l_k = \sigma_j(\delta_{jk} - \sigma_k)$):
#
# $$\frac{\partial H(y,\sigma)}{\partial l} = \sigma - y, \qquad
#   \frac{\partial H_2(y,\sigma)}{\partial l} = \sigma - \tilde y, \quad \tilde y_k = \frac{y_k\,\sigma_k}{\sum_j y_j\sigma_j}.$$
#
# Collision CE pulls $\sigma$ towards $\tilde y$, the label *reweighted by the prediction* (a Bayes update of
# the prior $\sigma$ by the likelihood $y$). For labels that lose certainty,
# $y(\varepsilon) = (1-\varepsilon)\,e_c + \tfrac{\varepsilon}{K}\mathbf 1$, at $\varepsilon = 1$ (uniform $y$)
# $\tilde y = \sigma$ and the collision gradient vanishes, while Shannon's $\sigma - u$ still pulls the
# prediction towards uniform. At $\varepsilon = 0$ (one-hot) both gradients are $\sigma - e_c$.

# %%
grads = gradient_vs_certainty((SCALE, 0.0, -SCALE), alphas)
gradient_figure(grads, x=X_AXIS).show()
ends = grads[grads["eps"].isin([0.0, 1.0])].pivot_table(index="name", columns="eps", values="grad_norm")
ends.columns = ["‖∇‖ one-hot (ε = 0)", "‖∇‖ uniform (ε = 1)"]
ends

# %% [markdown]
# The closed forms above agree with autograd through `ccel_core.losses`:

# %%
torch.manual_seed(1)
logits = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
y = torch.distributions.Dirichlet(torch.ones(4, dtype=torch.float64)).sample((6,))
s = logits.softmax(1).detach()
(g2,) = torch.autograd.grad(collision_cross_entropy(logits, y, reduction="sum"), logits)
(g1,) = torch.autograd.grad(shannon_cross_entropy(logits, y, reduction="sum"), logits)
y_tilde = y * s / (y * s).sum(1, keepdim=True)
assert torch.allclose(g2, s - y_tilde) and torch.allclose(g1, s - y)
print("∂H₂/∂l = σ − ỹ and ∂H/∂l = σ − y: checked")

# %% [markdown]
# ### Try this: Rényi orders between Shannon and collision
#
# Orders $1 < \alpha < 2$ interpolate: change the tuple and watch the minimizer of $y = (.9, .1)$ move
# from $p = 0.9$ ($\alpha = 1$) to $p = 1$ ($\alpha = 2$). Orders above 2 are even more decisive.

# %%
orders = (1.0, 1.25, 1.5, 2.0, 3.0)
sweep = loss_curves(((0.9, 0.1),), orders)
loss_curves_figure(sweep, title="y = (0.9, 0.1) for several Rényi orders").show()
sweep.loc[sweep.groupby("alpha")["loss"].idxmin(), ["name", "p", "loss"]].round(4)

# %% [markdown]
# ### Try this: confident vs unsure predictions
#
# The Shannon gradient at a uniform label is $\lVert\sigma - u\rVert$, so it grows with the prediction's
# confidence; the collision gradient stays exactly 0. Vary the scale of the logits:

# %%
rows = []
for scale in (0.0, 1.0, 3.0, 5.0):
    g = gradient_vs_certainty((scale, 0.0, -scale), (1.0, 2.0))
    at_uniform = g[g["eps"] == 1.0].set_index("kind")["grad_norm"]
    rows.append(
        {
            "scale": scale,
            "max σ": max(g.attrs["sigma"]),
            "Shannon ‖∇‖ at uniform y": at_uniform["shannon"],
            "collision ‖∇‖ at uniform y": at_uniform["collision"],
        }
    )
pd.DataFrame(rows).round(6)

# %% [markdown]
# ### Try this: labels near the centre of the simplex
#
# Move the K = 3 label towards uniform: collision CE keeps its minimum at the vertex of the largest
# entry but its range over the simplex shrinks (less to learn from an unsure label), while Shannon's
# minimum follows the label.

# %%
rows = []
for target in ((0.7, 0.2, 0.1), (0.5, 0.3, 0.2), (0.4, 0.33, 0.27), (1 / 3, 1 / 3, 1 / 3)):
    for a in (1.0, 2.0):
        g = simplex_loss_grid(target, a, 30)
        best = g.loc[g["loss"].idxmin()]
        rows.append(
            {
                "y": tuple(round(v, 2) for v in target),
                "loss": loss_name(a),
                "argmin σ": (round(best["s1"], 2), round(best["s2"], 2), round(best["s3"], 2)),
                "loss range over Δ": float(g["loss"].max() - g["loss"].min()),
            }
        )
pd.DataFrame(rows)
