"""The run store's tables: the runs for display, their configs, seed groups, the settings that
differ and the final metrics over seeds."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ccel_core.names import METHOD, SUPERVISED
from ccel_core.runs import Run, RunInfo, RunStore
from ccel_core.summary import summarize

# TrainConfig fields that do not define "the same experiment" across seeds.
NOT_CONFIG = ("seed", "device", "eval_every", "root", "amp")
SUMMARY_METRICS = ("acc", "nmi", "ari", "test_acc", "loss")
# metrics logged on the scale of each method's own objective (the network loss, the y-step objective):
# compared only between runs of one objective (:func:`objective_of`)
OWN_SCALE = ("loss", "label_loss")


def runs_table(store: RunStore, infos: Sequence[RunInfo]) -> pd.DataFrame:
    """The runs ``infos`` (one snapshot of the store) for display: id, status, progress, data,
    method, model, seed, final metrics."""
    df = store.to_frame(list(infos))
    if df.empty:
        return pd.DataFrame(
            columns=[
                "run_id",
                "status",
                "progress",
                "data",
                "method",
                "model",
                "seed",
                "epoch",
                "epochs",
                "acc",
                "nmi",
                "ari",
                "group",
                "created",
            ]
        )
    df["data"] = df["data"].map(lambda d: Path(d).name if isinstance(d, str) and os.sep in d else d)
    epochs = pd.to_numeric(df["epochs"], errors="coerce")
    df["progress"] = (pd.to_numeric(df["epoch"], errors="coerce") / epochs.where(epochs > 0)).clip(0, 1).fillna(0.0)
    df["created"] = df["created"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    cols = ["run_id", "status", "progress", "data", "method", "model", "seed", "epoch", "epochs"]
    cols += [m for m in ("acc", "nmi", "ari", "test_acc") if m in df.columns] + ["group", "created", "error"]
    return df[[c for c in cols if c in df.columns]]


def run_config(store: RunStore, info: RunInfo) -> dict:
    """The run's stored config (``{}`` when unreadable, e.g. a run being deleted)."""
    try:
        return Run(store, info.run_id).config
    except ValueError:
        return {}


def _text(key: str, value: Any) -> str:
    """A config value as comparable, displayable text (the data file as its name; other paths, e.g.
    two weights files of the same name in different folders, stay whole so they stay apart)."""
    if isinstance(value, str):
        return Path(value).name if key == "data" and os.sep in value else value
    return "default" if value is None else json.dumps(value, sort_keys=True)


def _experiments(configs: Mapping[str, dict]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``run_id → settings`` without ``NOT_CONFIG`` (as text), and the settings other than method,
    data and model that differ between them."""
    exps = {rid: {k: _text(k, v) for k, v in cfg.items() if k not in NOT_CONFIG} for rid, cfg in configs.items()}
    keys = sorted({k for e in exps.values() for k in e} - {"method", "data", "model"})
    return exps, [k for k in keys if len({e.get(k, "default") for e in exps.values()}) > 1]


def config_groups(configs: Mapping[str, dict]) -> dict[str, str]:
    """``run_id → label`` of its experiment: runs whose configs differ only in the seed (and in
    ``NOT_CONFIG``: device, evaluation schedule, data root, amp) share a label. The label names
    method · data · model and every other setting that differs between the runs."""
    exps, varying = _experiments(configs)
    return {
        rid: " · ".join(
            [e.get("method", "?"), e.get("data", "?"), e.get("model", "?")]
            + [f"{k}={e.get(k, 'default')}" for k in varying]
        )
        for rid, e in exps.items()
    }


def config_diff(configs: Mapping[str, dict]) -> pd.DataFrame:
    """The settings that differ between the runs ``configs`` (``run_id → config``): one row per run,
    ``run_id`` then one column per differing setting (as text); no setting columns when they agree."""
    texts = {rid: {k: _text(k, v) for k, v in cfg.items()} for rid, cfg in configs.items()}
    keys = list(dict.fromkeys(k for t in texts.values() for k in t))
    differ = [k for k in keys if len({t.get(k, "—") for t in texts.values()}) > 1]
    return pd.DataFrame(
        [{"run_id": rid, **{k: t.get(k, "—") for k in differ}} for rid, t in texts.items()],
        columns=["run_id", *differ],
    )


# the symbols of a method's objective weights (``Method.params``, TrainConfig's fields)
_WEIGHTS = {"lam": "λ", "gamma": "γ", "mu": "μ"}


def _weight(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):  # a hand-edited config: shown as written, still one objective per value
        return str(value)


def objective_of(config: Mapping[str, Any]) -> str:
    """What a run's logged ``loss`` and ``label_loss`` measure: its method's own training objective with
    its weights (collision CE + λ KL(u‖ȳ) for ccel, Shannon CE + λ KL for miadm, mean H(σ) − γ H(σ̄) for
    migd, …, β and the strength of T(x) when an augmentation term is trained; for supervised runs the CE).
    λ, γ, μ, β and that strength rescale or reshape these numbers, so runs that differ in them train
    different objectives, whose losses are not on one scale and are never compared."""
    method = str(config.get("method", "?"))
    if method == SUPERVISED:
        return f"{method} ({config.get('loss') or 'collision'} CE)"
    spec = METHOD.get(method)
    if spec is None:
        return method
    weights = [
        f"{_WEIGHTS.get(name, name)} {_weight(default if config.get(name) is None else config.get(name))}"
        for name, default in spec.params.items()
    ]
    beta = config.get("beta")
    augmented = spec.augmentation or (spec.pseudo_labels and beta is not None and _weight(beta) != "0")
    if spec.pseudo_labels and augmented:
        weights.append(f"β {_weight(beta)}")
    if augmented and config.get("augment") is not None:  # the strength of T(x) shapes the augmentation term
        weights.append(f"T(x) strength {_weight(config.get('augment'))}")
    return f"{method} ({spec.loss}{'; ' + ', '.join(weights) if weights else ''})"


def seed_summary(infos: Sequence[RunInfo], configs: Mapping[str, dict]) -> pd.DataFrame:
    """Final metrics mean ± std over seeds (ddof = 1, :func:`ccel_core.summary.summarize`), one row
    per configuration (:func:`config_groups`): data, method, model and the settings that differ,
    ``runs``, ``seeds``, then ``<metric>`` (formatted), ``<metric> mean`` and ``<metric> std``."""
    if not infos:
        return pd.DataFrame()
    chosen = {i.run_id: configs.get(i.run_id, {}) for i in infos}
    groups, (exps, varying) = config_groups(chosen), _experiments(chosen)
    metrics = [m for m in SUMMARY_METRICS if summarize(i.final.get(m) for i in infos).n]
    out = []
    for label in dict.fromkeys(groups.values()):
        part = [i for i in infos if groups[i.run_id] == label]
        row: dict[str, Any] = {k: exps[part[0].run_id].get(k, "default") for k in ["data", "method", "model", *varying]}
        row["runs"] = len(part)
        row["seeds"] = " ".join(str(s) for s in sorted(i.seed for i in part if i.seed is not None))
        for m in metrics:
            summary = summarize(i.final.get(m) for i in part)
            row[f"{m} mean"], row[f"{m} std"], row[m] = summary.mean, summary.std, summary.format()
        out.append(row)
    return pd.DataFrame(out)
