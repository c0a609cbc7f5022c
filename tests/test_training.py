"""Tests of ccel_core.training: config validation, every method end to end, pseudo-label state,
reproducibility, checkpoint/resume equivalence, cancel, supervised and weakly supervised modes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest
import torch

from ccel_core.data import load_dataset
from ccel_core.metrics import evaluate
from ccel_core.objectives import METHODS, SelfLabeling
from ccel_core.runs import RunStore
from ccel_core.solvers import em
from ccel_core.training import TrainConfig, Trainer, TrainingDivergedError

TIMING = ("seconds", "y_step_seconds")
# Small settings that train every method in about a second on two CPU cores.
FAST = {
    "digits": dict(data="digits", optimizer="adam", lr=0.01, weight_decay=0.0, epochs=5, solver_max_iter=30),
    "blobs": dict(data="blobs", n_samples=300, optimizer="sgd", lr=1.0, epochs=5, solver_max_iter=30),
}


def _cfg(**kw: Any) -> TrainConfig:
    base = dict(FAST["blobs"], epochs=3)
    base.update(kw)
    return TrainConfig(**base)


def _strip(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMING}


def _params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _same_params(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------
def test_config_defaults_and_json_round_trip() -> None:
    cfg = TrainConfig()
    assert (
        cfg.data,
        cfg.method,
        cfg.model,
        cfg.batch_size,
        cfg.optimizer,
        cfg.lr,
        cfg.momentum,
        cfg.weight_decay,
        cfg.y_step,
        cfg.beta,
        cfg.labeled_fraction,
        cfg.device,
        cfg.amp,
    ) == ("digits", "ccel", "linear", 250, "sgd", 0.1, 0.0, 0.001, "batch", 0.0, 0.0, "auto", False)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d) == cfg
    other = cfg.replace(method="migd", gamma=2.0, data_options={"as_images": True})
    assert TrainConfig.from_dict(json.loads(json.dumps(other.to_dict()))) == other


def test_config_from_dict_names_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"'epoch' \(did you mean 'epochs'\?\), 'lrr'"):
        TrainConfig.from_dict({"epoch": 3, "lrr": 0.1, "method": "ccel"})


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"epochs": 0}, r"epochs=0 should be >= 1"),
        ({"epochs": 2.5}, r"epochs=2.5 should be an integer >= 1"),
        ({"batch_size": 1}, r"batch_size=1 should be >= 2"),
        ({"lr": 0.0}, r"lr=0.0 should be > 0"),
        ({"lr": float("nan")}, r"lr=nan should be a finite number"),
        ({"momentum": 1.0}, r"momentum=1.0 should be < 1"),
        ({"weight_decay": -1.0}, r"weight_decay=-1.0 should be >= 0"),
        ({"optimizer": "rmsprop"}, r"optimizer='rmsprop' should be one of \('sgd', 'adam'\)"),
        (
            {"method": "ours"},
            r"unknown method='ours'; known methods: ccel, ccel-eq10, miadm, sela, migd, imsat, iic, kmeans",
        ),
        ({"model": "resnet50"}, r"unknown model='resnet50'; known models: linear, mlp"),
        ({"data": "imagenet"}, r"unknown data set data='imagenet'; known names: blobs"),
        ({"y_step": "epoch"}, r"y_step='epoch' should be one of \('batch', 'full'\)"),
        ({"gamma": 2.0}, r"gamma=2.0 is not used by method='ccel' \(only by migd\)"),
        ({"method": "migd", "beta": 0.5}, r"beta=0.5 .* method='migd' takes none"),
        ({"loss": "shannon"}, r"loss='shannon' is only for method='supervised'"),
        ({"labeled_fraction": 1.5}, r"labeled_fraction=1.5 should be in \[0, 1\]"),
        ({"method": "kmeans", "labeled_fraction": 0.1}, r"not supported by method='kmeans'"),
        ({"eval_every": 0}, r"eval_every=0 should be >= 1"),
        ({"seed": -1}, r"seed=-1 should be >= 0"),
        ({"seed": 2**70}, r"seed=1180591620717411303424 should be < 9223372036854775808 \(2\*\*63\)"),
        ({"amp": "yes"}, r"amp='yes' should be True or False"),
        ({"device": "tpu"}, r"device='tpu' should be one of"),
        ({"solver_max_iter": 0}, r"solver_max_iter=0 should be >= 1"),
        ({"data_options": [1]}, r"data_options=\[1\] should be a dict"),
        ({"data_options": {"n_samples": 5}}, r"data_options\['n_samples'\] duplicates the TrainConfig field n_samples"),
    ],
)
def test_config_errors_name_the_value(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_config_cuda_without_cuda() -> None:
    with pytest.raises(ValueError, match=r"device='cuda' but torch.cuda.is_available\(\) is False"):
        TrainConfig(device="cuda")


def test_trainer_errors_need_the_data() -> None:
    with pytest.raises(ValueError, match=r"n_clusters=5000 should be <= n_samples=1797"):
        Trainer(TrainConfig(n_clusters=5000))
    with pytest.raises(ValueError, match=r"needs n_clusters == n_classes=10, got 5"):
        Trainer(TrainConfig(n_clusters=5, labeled_fraction=0.1))
    with pytest.raises(ValueError, match=r"targets= is only for method='supervised'"):
        Trainer(_cfg(), targets=np.eye(3)[np.zeros(300, dtype=int)])
    with pytest.raises(ValueError, match=r"targets shape=\(10, 3\) should be \(n_samples, n_clusters\)=\(300, 3\)"):
        Trainer(_cfg(method="supervised"), targets=np.ones((10, 3)) / 3)
    with pytest.raises(ValueError, match=r"targets rows should be finite, >= 0 and sum to 1"):
        Trainer(_cfg(method="supervised"), targets=np.ones((300, 3)))


# ------------------------------------------------------------------------------------------
# every method, end to end
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("data, chance, floor", [("digits", 0.1, 0.3), ("blobs", 1 / 3, 0.55)], ids=["digits", "blobs"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_beats_chance(method: str, data: str, chance: float, floor: float) -> None:
    trainer = Trainer(TrainConfig(method=method, **FAST[data]))
    history = list(trainer.fit())
    final = history[-1]
    assert final["acc"] >= floor, f"{method} on {data}: ACC={final['acc']:.3f} (chance {chance:.2f})"
    assert len(history) == (1 if method == "kmeans" else 5)
    assert sum(final["cluster_sizes"]) == len(trainer.dataset)
    assert all(math.isfinite(m["loss"]) for m in history)
    if method in ("ccel", "ccel-eq10", "miadm", "sela"):
        assert all(math.isfinite(m["label_loss"]) for m in history)
        assert 0 <= final["pseudo_entropy"] <= math.log(trainer.n_clusters) + 1e-9
    elif method != "kmeans":
        assert final["label_loss"] is None and final["pseudo_entropy"] is None


def test_metrics_labels_and_eval_every() -> None:
    trainer = Trainer(_cfg(eval_every=2))
    history = list(trainer.fit())
    assert [m["epoch"] for m in history] == [1, 2, 3]
    assert "acc" not in history[0] and "acc" in history[1] and "acc" in history[2]  # last epoch always scored
    m = history[-1]
    assert {
        "epoch",
        "loss",
        "label_loss",
        "acc",
        "nmi",
        "ari",
        "pseudo_entropy",
        "cluster_sizes",
        "seconds",
        "y_step_seconds",
        "solver_iters",
    } <= m.keys()
    assert 0 < m["y_step_seconds"] < m["seconds"]
    assert 1 <= m["solver_iters"] <= 30
    probs = trainer.predict_proba(trainer.dataset.x)
    assert evaluate(trainer.dataset.y, probs.argmax(1)) == {k: m[k] for k in ("acc", "nmi", "ari")}
    assert m["cluster_sizes"] == torch.bincount(probs.argmax(1), minlength=3).tolist()
    y = trainer.labels
    assert y.shape == (300, 3) and y.dtype == torch.float64
    assert torch.allclose(y.sum(1), torch.ones(300, dtype=torch.float64)) and float(y.min()) >= 0
    assert m["pseudo_entropy"] == pytest.approx(float(-(torch.xlogy(y, y)).sum(1).mean()))
    as_np = trainer.predict_proba(trainer.dataset.x.numpy())
    assert isinstance(as_np, np.ndarray) and np.allclose(as_np, probs.numpy())
    assert torch.equal(trainer.predict(trainer.dataset.x), probs.argmax(1))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_full_y_step_lowers_the_label_loss() -> None:
    trainer = Trainer(_cfg(y_step="full", epochs=6, solver_max_iter=300))
    history = list(trainer.fit())
    losses = [m["label_loss"] for m in history]
    assert losses[-1] < losses[0] - 0.05, losses
    assert history[-1]["acc"] > 0.55


class _ShiftSolver:
    """Spy y-step (any callable ``(probs, init) -> labels`` is a solver): labels ← one-hot of
    (argmax(init) + 1) mod K, recording the batch sizes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, probs: torch.Tensor, init: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.sizes.append(len(probs))
        k = probs.shape[1]
        return torch.eye(k, dtype=torch.float64)[(init.argmax(1) + 1) % k]


@pytest.mark.parametrize("y_step", ["batch", "full"])
def test_pseudo_labels_are_per_sample_state_warm_started_across_epochs(y_step: str) -> None:
    """Every sample gets one y-step per epoch, initialized with its own stored label."""
    cfg = _cfg(y_step=y_step, epochs=3, batch_size=64)
    spy = _ShiftSolver()
    trainer = Trainer(cfg, objective=SelfLabeling("ccel", "collision", "eq11", 100.0), solver=spy)
    first = Trainer(cfg).predict_proba(trainer.dataset.x)  # same seed: the initial network
    trainer.run()
    expected = (first.argmax(1) + 3) % 3
    assert torch.equal(trainer.labels.argmax(1), expected)
    assert sum(spy.sizes) == 3 * 300
    if y_step == "full":
        assert spy.sizes == [300] * 3
    else:
        assert len(spy.sizes) == 3 * 5 and max(spy.sizes) - min(spy.sizes) <= 1  # ceil(300/64) equal parts


class _RecordingSolver:
    """Spy y-step that keeps a copy of every σ it is given and returns the labels of the paper's EM."""

    def __init__(self) -> None:
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __call__(self, probs: torch.Tensor, init: Optional[torch.Tensor] = None) -> torch.Tensor:
        sig = probs.detach().clone()
        labels = torch.as_tensor(em(sig.numpy(), 100.0, max_iter=20).labels)
        self.seen.append((sig, labels.clone()))
        return labels


@pytest.mark.parametrize("y_step", ["batch", "full"])
def test_label_loss_is_the_objective_of_the_sigma_the_y_step_saw(y_step: str) -> None:
    """The reported label loss is the y-step objective of the σ the solver was given, even where that σ is the
    evaluator's cached tensor and the first labels were made from it (float64, y_step="full": the stored labels
    had shared its storage, and writing the new labels first changed σ under the loss)."""
    cfg = _cfg(y_step=y_step, epochs=1, precision="float64", batch_size=300)
    obj = SelfLabeling("ccel", "collision", "eq11", 100.0)
    spy = _RecordingSolver()
    trainer = Trainer(cfg, objective=obj, solver=spy)
    metrics = next(trainer.fit())
    assert len(spy.seen) == 1
    sig, labels = spy.seen[0]
    assert metrics["label_loss"] == pytest.approx(obj.label_loss(sig, labels), rel=1e-12)
    assert not torch.equal(sig, labels)  # the loss would not tell them apart otherwise


# ------------------------------------------------------------------------------------------
# reproducibility, checkpoints, resume, cancel
# ------------------------------------------------------------------------------------------
REPRO = dict(
    data="digits",
    model="mlp",
    hidden=32,
    method="ccel",
    beta=0.5,
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    epochs=4,
    batch_size=300,
    solver_max_iter=10,
    seed=3,
)


def test_same_seed_same_run_bit_for_bit() -> None:
    a, b = Trainer(TrainConfig(**REPRO)), Trainer(TrainConfig(**REPRO))
    torch.manual_seed(123)  # the caller's global RNG must not matter
    ha = [_strip(m) for m in a.fit()]
    torch.rand(7)
    hb = [_strip(m) for m in b.fit()]
    assert ha == hb
    assert _same_params(_params(a), _params(b)) and torch.equal(a.labels, b.labels)
    c = Trainer(TrainConfig(**{**REPRO, "seed": 4}))
    c.run()
    assert not _same_params(_params(a), _params(c))


def test_fit_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    Trainer(_cfg(method="imsat", epochs=1)).run()
    assert torch.equal(torch.rand(3), want)


@pytest.mark.slow
def test_resume_after_interrupt_equals_uninterrupted_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    cfg = TrainConfig(**REPRO)
    full_run = store.create(cfg.to_dict())
    full = Trainer(cfg, run=full_run)
    full_hist = [_strip(m) for m in full.fit()]

    run = store.create(cfg.to_dict())
    first = Trainer(cfg, run=run)
    gen = first.fit()
    part = [_strip(next(gen)) for _ in range(2)]
    gen.close()  # interrupted after epoch 2
    assert store.get(run.run_id).status == "cancelled" and store.get(run.run_id).epoch == 2

    resumed = Trainer(TrainConfig(**REPRO), run=run)
    assert resumed.epoch == 2
    rest = [_strip(m) for m in resumed.fit()]
    assert part + rest == full_hist
    assert _same_params(_params(resumed), _params(full))
    assert torch.equal(resumed.labels, full.labels)
    assert [_strip(m) for m in resumed.history] == full_hist
    info = store.get(run.run_id)
    assert info.status == "finished" and info.epoch == 4
    assert store.metrics(run.run_id)["epoch"].tolist() == [1, 2, 3, 4]
    labels, probs = run.load_assignments()
    assert np.array_equal(labels, full.predict(full.dataset.x).numpy()) and probs.shape == (1797, 10)

    # more epochs may be added to a finished run; any other change is refused, naming the keys
    longer = Trainer(TrainConfig(**{**REPRO, "epochs": 5}), run=run)
    assert [m["epoch"] for m in longer.fit()] == [5]
    with pytest.raises(ValueError, match=r"different config: lr: 0.1 \(checkpoint\) vs 0.2 \(now\); momentum"):
        Trainer(TrainConfig(**{**REPRO, "lr": 0.2, "momentum": 0.5}), run=run)
    again = Trainer.from_run(run)  # config.json has epochs=4, the checkpoint 5: nothing left to do
    assert list(again.fit()) == [] and again.epoch == 5


def test_cancel_request_stops_cleanly(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    cfg = _cfg(epochs=5)
    run = store.create(cfg.to_dict())
    trainer = Trainer(cfg, run=run)
    final = trainer.run(callback=lambda m: run.request_cancel() if m["epoch"] == 2 else None)
    assert trainer.cancelled and final["epoch"] == 2
    info = store.get(run.run_id)
    assert (info.status, info.epoch) == ("cancelled", 2)
    assert run.load_checkpoint()["epoch"] == 2


def test_failure_marks_the_run_failed(tmp_path: Path) -> None:
    class Broken(SelfLabeling):
        def network_loss(self, logits, logits_aug=None, targets=None):
            raise RuntimeError("boom")

    store = RunStore(tmp_path / "runs")
    run = store.create(_cfg().to_dict())
    trainer = Trainer(_cfg(), objective=Broken("ccel", "collision", "eq11", 100.0), run=run)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.run()
    info = store.get(run.run_id)
    assert info.status == "failed" and "RuntimeError: boom" in info.error


@pytest.mark.parametrize("method", ["ccel", "migd", "imsat"])
def test_divergence_stops_with_a_clear_error_and_a_failed_run(tmp_path: Path, method: str) -> None:
    """A step size that blows the network up ends the run with an error naming the lr, instead of
    NaN metrics (MIGD, IMSAT) or a solver's complaint about its input (ours)."""
    cfg = TrainConfig(
        data="digits", method=method, model="linear", optimizer="sgd", lr=1e6, weight_decay=1e-3, epochs=3
    )
    store = RunStore(tmp_path / "runs")
    run = store.create(cfg.to_dict())
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch \d+, batch \d+.*lr=1e\+06"):
        Trainer(cfg, run=run).run()
    info = store.get(run.run_id)
    assert info.status == "failed" and "TrainingDivergedError" in info.error


@pytest.mark.parametrize("method", ["ccel", "migd"])
def test_no_run_finishes_with_non_finite_predictions(tmp_path: Path, method: str) -> None:
    """lr = 1e30 on a linear head: the training-mode batches can stay finite while the eval-mode
    predictions overflow (measured: `ccel fit --lr 1e30` finished with all-NaN probs.npy and ACC 0.333).
    Every prediction the trainer scores or saves is checked: the run fails, naming cause and remedy."""
    cfg = TrainConfig(data="blobs", n_samples=60, method=method, model="linear", lr=1e30, epochs=2)
    store = RunStore(tmp_path / "runs")
    run = store.create(cfg.to_dict())
    with pytest.raises(TrainingDivergedError, match=r"not finite .*lower the learning rate"):
        Trainer(cfg, run=run).run()
    info = store.get(run.run_id)
    assert info.status == "failed" and "TrainingDivergedError" in info.error
    assert not (run.path / "probs.npy").exists() or np.isfinite(np.load(run.path / "probs.npy")).all()


def test_seed_range_is_checked_at_the_edge() -> None:
    from ccel_core.estimator import CollisionClustering

    x = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=r"random_state=1180591620717411303424 should be >= 0 and < 2\*\*63"):
        CollisionClustering(3, random_state=2**70).fit(x)
    TrainConfig(seed=2**63 - 1)  # the largest seed is accepted …
    with pytest.raises(ValueError, match="seed=9223372036854775808 should be < "):
        TrainConfig(seed=2**63)  # … and one more is not


def test_kmeans_through_the_trainer_writes_a_run(tmp_path: Path) -> None:
    from sklearn.cluster import KMeans

    store = RunStore(tmp_path / "runs")
    cfg = TrainConfig(data="digits", method="kmeans", seed=2)
    run = store.create(cfg.to_dict())
    trainer = Trainer(cfg, run=run)
    final = trainer.run()
    ds = trainer.dataset
    ref = KMeans(10, n_init=10, random_state=2).fit(ds.x.double().numpy())
    assert final["acc"] == pytest.approx(evaluate(ds.y, ref.labels_)["acc"])
    assert final["acc"] > 0.7 and trainer.model is None
    assert store.get(run.run_id).status == "finished"
    labels, _ = run.load_assignments()
    assert np.array_equal(labels, ref.labels_)
    assert np.array_equal(trainer.predict(ds.x).numpy(), ref.labels_)
    assert list(Trainer(cfg, run=run).fit()) == []  # resumed: already done


# ------------------------------------------------------------------------------------------
# supervised and weakly supervised
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["collision", "shannon"])
def test_supervised_soft_targets_with_test_split(loss: str) -> None:
    ds = load_dataset("digits")
    idx = np.random.default_rng(0).permutation(len(ds))
    train, test = ds.subset(idx[:1200]), ds.subset(idx[1200:])
    targets = torch.nn.functional.one_hot(train.y, 10).float()
    cfg = TrainConfig(
        method="supervised", loss=loss, optimizer="adam", lr=0.01, weight_decay=0.0, epochs=8, batch_size=128
    )
    trainer = Trainer(cfg, dataset=train, targets=targets, eval_dataset=test)
    history = list(trainer.fit())
    final = history[-1]
    assert final["test_acc"] > 0.85 and final["acc"] > 0.85
    pred = trainer.predict(test.x)
    assert final["test_acc"] == pytest.approx(float((pred == test.y).double().mean()))  # plain accuracy
    assert all("test_acc" in m for m in history)
    assert torch.equal(trainer.labels, targets.double())  # targets are never re-estimated


def test_weak_supervision_keeps_true_labels_on_the_labeled_rows() -> None:
    cfg = TrainConfig(**{**FAST["digits"], "labeled_fraction": 0.1, "epochs": 5})
    trainer = Trainer(cfg)
    final = trainer.run()
    mask = trainer._labeled
    assert int(mask.sum()) == round(0.1 * 1797)
    onehot = torch.nn.functional.one_hot(trainer.dataset.y, 10).double()
    assert torch.equal(trainer.labels[mask], onehot[mask])
    unsup = Trainer(TrainConfig(**{**FAST["digits"], "epochs": 5})).run()
    assert final["acc"] > 0.7 and final["acc"] > unsup["acc"] + 0.1


def test_amp_is_a_no_op_on_cpu() -> None:
    a, b = Trainer(_cfg(device="cpu")), Trainer(_cfg(device="cpu", amp=True))
    assert [_strip(m) for m in a.fit()] == [_strip(m) for m in b.fit()]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_with_amp() -> None:
    trainer = Trainer(TrainConfig(**{**FAST["digits"], "device": "cuda", "amp": True, "beta": 0.2}))
    final = trainer.run()
    assert trainer.labels.device.type == "cuda" and final["acc"] > 0.3
    probs = trainer.predict_proba(trainer.dataset.x)
    assert probs.device.type == "cpu" and torch.isfinite(probs).all()


@pytest.mark.slow
def test_exact_y_step_trains_and_resumes_bit_exactly(tmp_path: Path) -> None:
    """y_solver="exact": every batch's labels are certified optimal for that batch's eq. 11, and a
    resume continues bit-exactly."""
    store = RunStore(tmp_path / "runs")
    cfg = TrainConfig(**{**REPRO, "y_solver": "exact", "epochs": 3, "solver_max_iter": None})
    full = Trainer(cfg, run=store.create(cfg.to_dict()))
    full_hist = [_strip(m) for m in full.fit()]
    assert full.solver.kind == "exact" and full.solver.last.gaps[-1] <= 1e-8
    run = store.create(cfg.to_dict())
    gen = Trainer(cfg, run=run).fit()
    part = [_strip(next(gen))]
    gen.close()
    resumed = Trainer(TrainConfig(**{**REPRO, "y_solver": "exact", "epochs": 3, "solver_max_iter": None}), run=run)
    assert part + [_strip(m) for m in resumed.fit()] == full_hist
    assert torch.equal(resumed.labels, full.labels)
