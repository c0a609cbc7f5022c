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
# # 4 · Clustering runs: the trainer, the run store and `CollisionClustering`
#
# The notebook version of the app page **Clustering runs**. The page launches `ccel fit` in the
# background; `ccel fit` builds a `TrainConfig`, creates a run in a `RunStore` (a SQLite index plus one
# folder per run: config, per-epoch metrics, checkpoints, final assignments) and drives a `Trainer`,
# which alternates y-steps and network steps and logs every epoch to the run. Here we make the same
# calls in-process, in a **temporary run store**, then use the scikit-learn style estimator.
#
# Default protocol (paper Table 2, fixed features): a linear head on the features (Kaiming init, zero
# bias), SGD with learning rate 0.1, batch 250, weight decay 0.001, $\lambda = 100$; for `ccel` the
# pseudo-labels of eq. 11, $\frac1N\sum_i H_2(y_i,\sigma_i) + \lambda\,\mathrm{KL}(u\|\bar y)$, are solved per
# batch by the certified exact y-step (EM, notebook 3, with `y_solver="em"`) and the network step minimizes $\frac1{|B|}\sum_{i\in B} H_2(y_i,\sigma_i)$.

# %% tags=["parameters"]
DATA = "digits"  # a built-in set, a torchvision set (needs its files) or a feature file
RUN_METHODS = ("ccel", "miadm", "sela", "kmeans")
SEEDS = (0, 1)
EPOCHS = 10
MODEL = "linear"
DEVICE = "cpu"  # "cuda" on a GPU box ("auto": CUDA when available)
RUNS_DIR = ""  # blank: a temporary run store, removed at the end
RENDERER = "plotly_mimetype+ccel_notebook"  # fig.show(): JupyterLab's plotly mimetype + offline HTML (plotly.js embedded, no CDN; ccel_core.plots.OFFLINE_RENDERER)

# %%
import tempfile

import numpy as np
import pandas as pd
import plotly.io as pio
from sklearn.datasets import load_digits

from ccel_core.data import DATASETS, load_dataset
from ccel_core.estimator import CollisionClustering
from ccel_core.metrics import confusion_matrix, evaluate
from ccel_core.models import MODELS
from ccel_core.objectives import METHODS
from ccel_core.plots import confusion_figure, run_curves_figure
from ccel_core.runs import RunStore
from ccel_core.summary import summarize_frame
from ccel_core.training import TrainConfig, Trainer

pio.renderers.default = RENDERER

tmp = None if RUNS_DIR else tempfile.TemporaryDirectory(prefix="ccel-runs-")
store = RunStore(RUNS_DIR or tmp.name)
print(store, "—", len(store.list()), "run(s)")  # list() reports runs whose process died as failed
print("data sets:", ", ".join(DATASETS))
print("methods:  ", ", ".join(METHODS))
print("models:   ", ", ".join(MODELS))

# %% [markdown]
# ## One run, by hand
#
# `TrainConfig` validates every setting (errors name the value); `RunStore.create` writes the config and
# an index row (status `created`); `Trainer(config, run=run).fit()` is a generator that marks the run
# `running`, yields the metrics of every epoch (also logged and checkpointed), and finally saves the
# assignments and marks it `finished`.

# %%
config = TrainConfig(data=DATA, method="ccel", model=MODEL, epochs=EPOCHS, seed=0, device=DEVICE)
run = store.create(config.to_dict(), group="by-hand", name="ccel seed 0")
trainer = Trainer(config, run=run)
for metrics in trainer.fit():
    print(
        f"epoch {metrics['epoch']:2d}  loss {metrics['loss']:.4f}  y-objective {metrics['label_loss']:.4f}  "
        f"ACC {metrics['acc']:.3f}  NMI {metrics['nmi']:.3f}"
    )
info = store.get(run.run_id)
print(
    info.run_id,
    info.status,
    f"epoch {info.epoch}/{info.epochs}",
    {k: round(info.final[k], 4) for k in ("acc", "nmi", "ari")},
)

# %%
store.metrics(run.run_id).drop(columns=["cluster_sizes"], errors="ignore").round(4).tail()

# %% [markdown]
# ## Compare methods over seeds
#
# One run per (method, seed), as the page's *Launch* form does with several seeds. `kmeans` is
# scikit-learn's k-means on the same features (one shot, no network); `miadm` and `sela` are the
# paper's Shannon-CE baselines (eq. 5 by projected gradient, eq. 4 by Sinkhorn–Knopp).

# %%
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

# %%
runs = store.to_frame(store.list())
runs = runs[runs["run_id"].isin(list(ids))]
summary = summarize_frame(runs, ["method"], ["acc", "nmi", "ari"]).round(4)  # mean, std (ddof = 1), n per method
summary

# %% [markdown]
# For context, the paper's Table 2 (ImageNet ResNet-50 features of the image sets + a linear head,
# ACC % over 6 seeds; not these digits):
#
# | | STL10 | CIFAR10 | CIFAR100-20 | MNIST |
# |---|---|---|---|---|
# | K-means | 85.20 | 67.78 | 42.99 | 47.62 |
# | MIGD | 89.56 | 72.32 | 43.59 | 52.92 |
# | SeLa | 90.33 | 63.31 | 40.74 | 52.38 |
# | MIADM | 88.64 | 60.57 | 41.2 | 50.61 |
# | **Ours** | **92.33** | **73.51** | **43.72** | **58.4** |
#
# On raw digit pixels with a linear head and a few epochs, k-means is a strong baseline; the
# paper's comparison uses pretrained features (`.venv/bin/ccel bench features` runs the Table 2
# protocol on feature files).

# %% [markdown]
# ### Classes × clusters of the best run (the matched clusters on the diagonal)

# %%
best = runs.sort_values("acc", ascending=False).iloc[0]
assignments, probs = store.open(best["run_id"]).load_assignments()
y_true = load_dataset(DATA).y.numpy()
matrix, classes, clusters = confusion_matrix(y_true, assignments)
confusion_figure(matrix, classes, clusters, title=f"{ids[best['run_id']]}: classes × clusters").show()
evaluate(y_true, assignments)

# %% [markdown]
# ## Cancel and resume
#
# The page's *Cancel* button calls `run.request_cancel()`; the trainer checks between batches and ends the
# run as `cancelled`. Stopping the `fit()` generator early does the same. *Resume* builds a trainer for
# the stored run — it loads the last checkpoint (model, optimizer, pseudo-labels, epoch, metric history)
# and continues; every epoch reseeds its own random numbers, so on a CPU the resumed run repeats the
# uninterrupted one bit for bit.

# %%
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

# %% [markdown]
# ## The scikit-learn estimator
#
# `CollisionClustering` wraps the same trainer in scikit-learn's clustering API (`fit`, `predict`,
# `predict_proba`, `fit_predict`, `labels_`); its defaults are the protocol above. The network
# predicts clusters of new points too.

# %%
X, y = load_digits(return_X_y=True)
X = X / 16.0
train, test = np.arange(len(X)) % 5 != 0, np.arange(len(X)) % 5 == 0
model = CollisionClustering(n_clusters=10, epochs=EPOCHS, random_state=0, device=DEVICE).fit(X[train])
print("train:", {k: round(v, 3) for k, v in evaluate(y[train], model.labels_).items()})
print("test: ", {k: round(v, 3) for k, v in evaluate(y[test], model.predict(X[test])).items()})
print("predict_proba rows sum to 1:", np.allclose(model.predict_proba(X[test]).sum(1), 1.0))
print("pseudo-labels Y:", model.pseudo_labels_.shape, " epochs run:", model.n_iter_)

# %% [markdown]
# ### Try this: the fairness weight λ
#
# `lam` weighs the balance term $\mathrm{KL}(u\|\bar y)$. Smaller values let clusters grow unequal (or
# empty); the paper uses 100. The final cluster sizes are in the trainer's metrics (`history_`):

# %%
rows = []
for lam in (1.0, 10.0, 100.0):
    est = CollisionClustering(n_clusters=10, lam=lam, epochs=EPOCHS, random_state=0, device=DEVICE).fit(X)
    rows.append(
        {
            "λ": lam,
            **{k: round(v, 3) for k, v in evaluate(y, est.labels_).items()},
            "cluster sizes": est.history_[-1]["cluster_sizes"],
        }
    )
pd.DataFrame(rows)

# %% [markdown]
# ## The same from the shell
#
# `ccel fit` runs one training per seed into the run store (`--runs-dir`, default `$CCEL_RUNS_DIR`,
# else `./runs`); the app's *Clustering runs* page polls the same store, so runs started here appear
# there live. Not executed in this notebook:
#
# ```bash
# # three seeds of ours on digits, then the Shannon baseline
# .venv/bin/ccel fit --data digits --method ccel --epochs 10 --seeds 0 1 2 --runs-dir runs
# .venv/bin/ccel fit --data digits --method miadm --epochs 10 --seeds 0 1 2 --runs-dir runs
#
# # inspect, export, cancel, resume
# .venv/bin/ccel runs list --runs-dir runs
# .venv/bin/ccel runs show RUN_ID --runs-dir runs
# .venv/bin/ccel runs export runs.csv --runs-dir runs
# .venv/bin/ccel runs cancel RUN_ID --runs-dir runs
# .venv/bin/ccel fit --resume RUN_ID --epochs 20 --runs-dir runs   # raise the total and continue
#
# # on a GPU box: a real data set (files under $CCEL_DATA) and a VGG4 from scratch with self-augmentation
# .venv/bin/ccel fit --data cifar10 --model vgg4 --method ccel --optimizer adam --lr 1e-4 --beta 0.2 \
#     --epochs 50 --device cuda --runs-dir runs
# # several GPUs (torch.distributed, one process per GPU)
# .venv/bin/torchrun --nproc-per-node 4 -m ccel_core.cli fit --data cifar10 --model vgg4 --device cuda --runs-dir runs
#
# # watch them in the app (page "Clustering runs")
# CCEL_RUNS_DIR=runs .venv/bin/streamlit run explorer/app.py
# ```

# %%
if tmp is not None:
    tmp.cleanup()  # the temporary run store goes away; set RUNS_DIR to keep the runs
