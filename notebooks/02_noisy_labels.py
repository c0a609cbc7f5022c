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
# # 2 · Noisy labels: Shannon CE vs collision CE (paper Fig. 2)
#
# The notebook version of the app page **Noisy labels**. A network is trained *supervised* from
# corrupted soft targets and tested on clean labels, once with Shannon's CE and once with collision
# CE. Both losses see the same targets, the same train/test split and the same initial network (a
# paired comparison; `ccel_core.experiments.noisy`). Noise models, for a true class $c_i$ and
# $d_i \sim \mathrm{Dirichlet}(1,\dots,1)$:
#
# * `random-soft`: a fraction $\rho$ of the targets is replaced by $d_i$; the rest stay one-hot $e_{c_i}$;
# * `mix`: every target becomes $y_i = (1-\varepsilon)\,e_{c_i} + \varepsilon\, d_i$.
#
# The paper's claim (Fig. 2): as the corruption grows, CCE degrades less than CE.

# %% tags=["parameters"]
DATA = "digits"  # digits | blobs | anisotropic | moons | circles
MODEL = "linear"  # linear | mlp
NOISE = "random-soft"  # random-soft | mix
LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8)  # ρ or ε
SEEDS = 2  # seeds 0 … SEEDS−1 (the app's default is 3)
EPOCHS = 10  # the app's default is 15
DEVICE = "cpu"
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import time

import pandas as pd
import plotly.io as pio
import torch

from ccel_core.data import load_dataset
from ccel_core.experiments.noisy import NOISE_MODELS, level_axis_title, noisy_label_experiment, true_class_weights
from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy
from ccel_core.plots import corrupted_targets_figure, noisy_labels_figure
from ccel_core.summary import summarize, summarize_frame

pio.renderers.default = RENDERER

print("noise models:", NOISE_MODELS)

# %% [markdown]
# ## What the corruption does to the targets
#
# The weight $y_{i,c_i}$ that a corrupted target still puts on the true class, per noise level (the box
# plot of the page: `true_class_weights`, i.e. `corrupt_targets` on the data set's labels). The random numbers are
# drawn once per seed, so the corrupted sets are nested as the level grows.

# %%
ds = load_dataset(DATA)
weights = true_class_weights(DATA, NOISE, LEVELS)
fig = corrupted_targets_figure(weights, x_title=level_axis_title(NOISE))
fig.show()
print(f"{DATA}: N = {len(ds)}, K = {ds.n_classes}")

# %% [markdown]
# ## Why collision CE resists noisy soft targets
#
# With respect to the logits, Shannon's CE has gradient $\sigma - y$: it pulls the prediction onto the
# (random) target. Collision CE has gradient $\sigma - \tilde y$ with $\tilde y_k \propto y_k\sigma_k$: the
# target is first *reweighted by the network's own prediction*. A corrupted target $d$ that is spread out
# barely moves a confident, correct prediction; a one-hot target still gives the full Shannon gradient.
# One example, $K = 4$, a prediction confident in class 0 and a Dirichlet draw as its target:

# %%
sigma = torch.tensor([[0.85, 0.05, 0.05, 0.05]], dtype=torch.float64)
d = torch.tensor([[0.20, 0.45, 0.25, 0.10]], dtype=torch.float64)  # a corrupted (Dirichlet-like) target
logits = sigma.log().requires_grad_(True)
(g_shannon,) = torch.autograd.grad(shannon_cross_entropy(logits, d), logits)
(g_collision,) = torch.autograd.grad(collision_cross_entropy(logits, d), logits)
y_tilde = d * sigma / (d * sigma).sum()
pd.DataFrame(
    {
        "σ": sigma[0],
        "target d": d[0],
        "ỹ ∝ d⊙σ": y_tilde[0],
        "−∇ Shannon (= d − σ)": -g_shannon[0],
        "−∇ collision (= ỹ − σ)": -g_collision[0],
    }
).round(3)


# %% [markdown]
# ## The experiment
#
# For each seed: a stratified train/test split (30 % held out); for each level the train targets are
# corrupted and a fresh model (same initialization for both losses) is trained for `EPOCHS` epochs with
# Adam; accuracy is measured on the clean test labels. Mean ± std over seeds.


# %%
def progress(done: int, total: int) -> None:
    if done == total or done % max(total // 4, 1) == 0:
        print(f"  trained {done} / {total}")


start = time.perf_counter()
results = noisy_label_experiment(
    DATA, MODEL, NOISE, LEVELS, tuple(range(SEEDS)), EPOCHS, progress=progress, device=DEVICE
)
print(f"{len(results)} trainings in {time.perf_counter() - start:.1f} s")
noisy_labels_figure(results).show()

# %%
stats = summarize_frame(results, ["loss", "level"], ["test_acc"])  # per loss and level: mean, std (ddof = 1), n
table = stats.pivot(index="level", columns="loss", values="test_acc mean")
table["CCE − CE"] = table["collision"] - table["shannon"]
for (loss, level), part in results.groupby(["loss", "level"]):
    table.loc[level, f"{loss} (mean ± std)"] = summarize(part["test_acc"]).format()
table[["shannon (mean ± std)", "collision (mean ± std)", "CCE − CE"]].round(4)

# %% [markdown]
# ### Try this: the other noise model
#
# `mix` corrupts *every* target a little instead of some targets completely. Both noise models on one
# figure (`noisy_labels_figure` draws one trace per loss and noise model):

# %%
other = next(m for m in NOISE_MODELS if m != NOISE)
both = pd.concat(
    [results, noisy_label_experiment(DATA, MODEL, other, LEVELS, tuple(range(SEEDS)), EPOCHS, device=DEVICE)],
    ignore_index=True,
)
noisy_labels_figure(both, title=f"{NOISE} vs {other}").show()

# %% [markdown]
# ### Try this: a bigger network
#
# A bigger network can memorize more of the noise. Compare both losses with an MLP at the two extreme
# levels (one seed here: raise the seeds and `EPOCHS` on a faster machine before drawing conclusions):

# %%
mlp = noisy_label_experiment(DATA, "mlp", NOISE, (min(LEVELS), max(LEVELS)), (0,), EPOCHS, device=DEVICE)
mlp.pivot(index="level", columns="loss", values="test_acc").round(4)
