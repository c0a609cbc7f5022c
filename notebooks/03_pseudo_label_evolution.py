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
# # 3 · Pseudo-label evolution: self-labeling and the EM algorithm
#
# The notebook version of the app page **Pseudo-label evolution**. Self-labeled clustering trains a
# network $\sigma_i = \operatorname{softmax}(f_\theta(x_i))$ without labels by alternating
#
# * a **y-step**: pseudo-labels $Y = (y_i)$ for the current predictions, and
# * a **network step**: $\min_\theta\ \operatorname{mean}_i \mathrm{CE}(y_i, \sigma_\theta(x_i))$.
#
# Two methods, the same data and initial network, differing only in the cross-entropy and its y-step:
#
# * **ours** (paper eq. 11): $\displaystyle L(Y) = \frac1N\sum_i H_2(y_i,\sigma_i) + \lambda\,\mathrm{KL}(u\,\|\,\bar y)$,
#   solved by **EM**, network loss collision CE;
# * **MIADM** (eq. 5): $\displaystyle \frac1N\sum_i H(y_i,\sigma_i) + \lambda\,\mathrm{KL}(\bar y\,\|\,u)$, solved by
#   projected gradient, network loss Shannon CE.
#
# $\bar y = \frac1N\sum_i y_i$ and $u$ is the prior (uniform): the KL term keeps the clusters balanced
# ("fairness"), $\lambda$ its weight (paper: 100). Everything runs on the CPU (tiny models).

# %% tags=["parameters"]
DATA = "blobs"  # blobs | anisotropic | moons | circles | digits
K = 3  # clusters (the simplex views need K = 3)
EPOCHS = 15
SEED = 0
LAM = 100.0  # fairness weight λ
Y_STEP = "full"  # full: once per epoch; batch: per batch (the paper's protocol)
MODEL = "linear"  # linear | mlp
EPOCH = 0  # the y-step section uses σ after this epoch (0 = untrained)
ITERS = 30  # y-step iterations to record
MAX_POINTS = 300  # points drawn in the animations
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import numpy as np
import pandas as pd
import plotly.io as pio

from ccel_core.experiments.trajectories import em_trajectory, toy_self_labeling
from ccel_core.plots import (
    cluster_sizes_figure,
    decision_regions_figure,
    loss_history_figure,
    ternary_labels_figure,
)
from ccel_core.solvers import em, m_step

pio.renderers.default = RENDERER

METHODS = {"collision": "Collision CE — ours (eq. 11, exact y-step)", "shannon": "Shannon CE — MIADM (eq. 5, PGD)"}

# %% [markdown]
# ## Training both self-labelers

# %%
results = {ce: toy_self_labeling(DATA, K, ce, EPOCHS, SEED, lam=LAM, y_step=Y_STEP, model=MODEL) for ce in METHODS}

summary = []
for ce, res in results.items():
    last = res.snapshots[-1]
    summary.append(
        {
            "method": METHODS[ce],
            "ACC": last.acc,
            "NMI": last.nmi,
            "smallest cluster": f"{int(last.sizes.min())} / {len(res.points)}",
        }
    )
pd.DataFrame(summary).round(3)

# %% [markdown]
# ## Epoch by epoch
#
# Per method: the pseudo-labels $y_i$ (dots) and predictions $\sigma_i$ (rings) on the simplex (K = 3
# only), and the decision regions $\arg\max_k\sigma_k$ over the plane (digits: its 2-D PCA plane). Press
# ▶ or drag the slider. Epoch 0 is the untrained network, whose labels are $\sigma$ itself.

# %%
rng = np.random.default_rng(0)
n_points = len(results["collision"].points)
idx = np.arange(n_points) if n_points <= MAX_POINTS else np.sort(rng.choice(n_points, MAX_POINTS, replace=False))

for ce, res in results.items():
    epochs = [s.epoch for s in res.snapshots]
    if res.n_clusters == 3:
        fig = ternary_labels_figure(
            [s.labels[idx] for s in res.snapshots],
            [s.probs[idx] for s in res.snapshots],
            frame_names=epochs,
            title=f"{METHODS[ce]}: y (dots) and σ (rings) per epoch",
        )
        fig.show()
    fig = decision_regions_figure(
        res.grid_x,
        res.grid_y,
        [s.grid_probs for s in res.snapshots],
        res.points[idx],
        [s.probs[idx].argmax(1) for s in res.snapshots],
        y_true=None if res.y_true is None else res.y_true[idx],
        frame_names=epochs,
        axis_titles=("PC 1", "PC 2") if DATA == "digits" else ("x₁", "x₂"),
        title=f"{METHODS[ce]}: decision regions per epoch (marker = true class)",
    )
    fig.show()

# %%
sizes = pd.concat([res.sizes_frame() for res in results.values()], ignore_index=True)
history = pd.concat([res.history_frame() for res in results.values()], ignore_index=True)
cluster_sizes_figure(sizes, title="Cluster sizes (points per argmax σ)").show()
loss_history_figure(
    history.dropna(subset=["loss"]), y="loss", title="Network loss mean_i CE(y_i, σ_i)", yaxis="loss (nats)"
).show()

# %% [markdown]
# ## One y-step: the EM algorithm (paper section 4)
#
# Fix the predictions $\sigma$ and minimize eq. 11 over the labels,
# $L(Y) = -\frac1N\sum_i \ln(\sigma_i\cdot y_i) + \lambda\sum_k u_k\ln\frac{u_k}{\bar y_k}$. The only
# coupling between points is $-\ln\bar y_k$. Jensen's inequality with weights $S_{ik}$
# ($\sum_i S_{ik} = 1$) bounds it,
# $-\ln\sum_i y_{ik} \le -\sum_i S_{ik}\ln\frac{y_{ik}}{S_{ik}}$, with equality at the **E-step**
#
# $$S_{ik} = \frac{y_{ik}}{\sum_j y_{jk}} .$$
#
# The bound separates over points. **M-step**, for each point independently, with
# $w_{ik} = \lambda N u_k S_{ik}$:
#
# $$\min_{y\in\Delta_K}\ -\ln(\sigma_i\cdot y) - \sum_k w_{ik}\ln y_k .$$
#
# Stationarity, $-\sigma_k/(\sigma\cdot y) - w_k/y_k + \beta = 0$, times $y_k$ and summed, gives
# $\beta_i = 1 + \sum_k w_{ik}$; with $z_i = \beta_i\,\sigma_i\cdot y_i$ the solution is
#
# $$y_{ik} = \frac{w_{ik}}{\beta_i}\cdot\frac{z_i}{z_i - \sigma_{ik}}, \qquad
#   z_i > \max_k\sigma_{ik}\ \text{ the unique root of }\ g_i(z) = \sum_k\frac{w_{ik}\,\sigma_{ik}}{z - \sigma_{ik}} = 1 .$$
#
# $g_i$ is positive, convex and decreasing on $(\max_k\sigma_{ik}, \infty)$; at
# $z_0 = \sigma_{im}(1 + w_{im})$, $m = \arg\max_k\sigma_{ik}$, $g_i(z_0) \ge 1$ (paper Lemma 1), so Newton
# from $z_0$ climbs monotonically to the root without overshooting. Each EM iteration minimizes an upper
# bound that touches $L$ at the current $Y$, so **$L$ never increases** (Property 1), and iterates started
# strictly positive (e.g. $Y^0 = \sigma$) stay strictly positive. The only cross-point quantities are the
# $K$ column sums $\sum_j y_{jk}$ — one all-reduce per iteration in a distributed run.
#
# Below: the iterates of EM and, for comparison, of PGD on MIADM's Shannon objective (step $1/(\lambda K)$),
# on the predictions of the collision-CE network after epoch `EPOCH` (the page's "One y-step" tab).

# %%
res = results["collision"]
sigma = res.snapshots[min(EPOCH, len(res.snapshots) - 1)].probs
trajectories = {
    "EM on eq. 11 (collision CE)": em_trajectory(sigma, LAM, n_iter=ITERS),
    "PGD on eq. 5 (Shannon CE, MIADM)": em_trajectory(
        sigma, LAM, n_iter=ITERS, solver="pgd", objective="eq10", ce="shannon"
    ),
}
for name, traj in trajectories.items():
    if sigma.shape[1] == 3:
        ternary_labels_figure(
            [y[idx] for y in traj.iterates],
            sigma[idx],
            frame_names=list(range(len(traj.iterates))),
            title=f"{name}: y per iteration (σ fixed, rings)",
        ).show()
    h = traj.history
    print(f"{name}: objective {h[0]:.4f} → {h[-1]:.4f} (−{h[0] - h[-1]:.4f}) in {ITERS} iterations")
loss_history_figure(
    {name: traj.history for name, traj in trajectories.items()},
    title="Objective per iteration (each its own objective)",
    yaxis="objective",
).show()

em_history = np.asarray(trajectories["EM on eq. 11 (collision CE)"].history)
assert np.all(np.diff(em_history) <= 1e-12 * np.abs(em_history[:-1])), "EM increased eq. 11"
print("Property 1: the EM objective never increased")


# %% [markdown]
# ## EM by hand
#
# The E-step and M-step above in a few lines of numpy (vectorized Newton on $g_i$ for all points at
# once), checked against the library's M-step kernel `ccel_core.solvers.m_step` and one iteration of
# `ccel_core.solvers.em` (whose kernels add a safeguarded, cancellation-free Newton and the zero-weight
# case of the paper's supplement).


# %%
def em_iteration_by_hand(sigma: np.ndarray, y: np.ndarray, lam: float, newton_steps: int = 60) -> np.ndarray:
    n, k = sigma.shape
    u = np.full(k, 1.0 / k)
    s = y / y.sum(0)  # E-step: S_ik = y_ik / Σ_j y_jk
    w = lam * n * u * s  # M-step weights w_ik = λ N u_k S_ik
    rows, m = np.arange(n), sigma.argmax(1)
    z = sigma[rows, m] * (1.0 + w[rows, m])  # z₀, where g(z₀) ≥ 1
    for _ in range(newton_steps):  # Newton on g(z) = 1 from the left
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

# %% [markdown]
# ### Try this: no fairness term
#
# With $\lambda = 0$ the y-step has nothing to balance: EM returns the one-hot labels
# $e_{\arg\max\sigma_i}$, and self-labeling can merge or empty clusters. Compare the smallest cluster
# and the accuracy for a few values of $\lambda$:

# %%
rows = []
for lam in (0.0, 1.0, LAM):
    r = toy_self_labeling(DATA, K, "collision", EPOCHS, SEED, lam=lam, y_step=Y_STEP, model=MODEL)
    last = r.snapshots[-1]
    rows.append(
        {
            "λ": lam,
            "ACC": round(last.acc, 3),
            "cluster sizes": last.sizes.tolist(),
            "label mass Σ_i y_ik": np.round(last.label_mass, 1).tolist(),
        }
    )
pd.DataFrame(rows)

# %% [markdown]
# ### Try this: another data set, or the paper's per-batch y-step
#
# Change the parameters cell (`DATA = "anisotropic"`, `"moons"` with `K = 2`, `"digits"` with `K = 10`;
# `Y_STEP = "batch"`) and rerun the notebook, or compare both y-step schedules here:

# %%
rows = []
for y_step in ("full", "batch"):
    for ce in METHODS:
        r = toy_self_labeling("anisotropic", 3, ce, EPOCHS, SEED, lam=LAM, y_step=y_step, model=MODEL)
        rows.append(
            {
                "y-step": y_step,
                "method": METHODS[ce],
                "ACC": round(r.snapshots[-1].acc, 3),
                "cluster sizes": r.snapshots[-1].sizes.tolist(),
            }
        )
pd.DataFrame(rows)
