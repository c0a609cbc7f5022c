"""Tests of ccel_core.objectives: formulas against hand-written float64 references, the y-step
solvers' monotonicity, finiteness on degenerate batches, and the factory's errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy
from ccel_core.objectives import (
    IIC,
    IMSAT,
    METHODS,
    KMeansClustering,
    MutualInformation,
    SelfLabeling,
    Solver,
    Supervised,
    make_objective,
)
from ccel_core.solvers import ConvergenceWarning, em, eq10_loss, eq11_loss


def _batch(n: int = 64, k: int = 5, seed: int = 0, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    aug = logits + 0.5 * torch.randn(n, k, generator=g, dtype=torch.float64)
    return logits, aug


def _probs(n: int = 200, k: int = 6, seed: int = 0, scale: float = 2.0) -> torch.Tensor:
    logits, _ = _batch(n, k, seed, scale)
    return torch.softmax(logits, 1)


# ------------------------------------------------------------------------------------------
# factory
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_make_objective_flags(method: str) -> None:
    obj, solver = make_objective(method, 4)
    assert obj.name == method
    pseudo = method in ("ccel", "ccel-eq10", "miadm", "sela")
    assert obj.uses_pseudo_labels is pseudo
    assert (solver is not None) is pseudo
    assert obj.needs_augmentation is (method in ("imsat", "iic"))
    assert obj.trains_network is (method != "kmeans")


def test_make_objective_binds_paper_defaults() -> None:
    obj, solver = make_objective("ccel", 10)
    assert (solver.kind, solver.params["lam"], obj.ce, obj.fairness) == ("exact", 100.0, "collision", "eq11")
    assert solver.params["objective"] == "eq11" and solver.params["tol"] == 1e-8
    obj, solver = make_objective("ccel-eq10", 10)
    assert (solver.kind, solver.params["objective"]) == ("exact", "eq10")
    obj, solver = make_objective("ccel", 10, y_solver="em", y_init="predictions")
    assert (solver.kind, solver.params["lam"], solver.start, solver.uses_init) == ("em", 100.0, "predictions", False)
    obj, solver = make_objective("ccel-eq10", 10, y_solver="em")
    assert (solver.kind, solver.params["objective"], solver.params["ce"]) == ("pgd", "eq10", "collision")
    assert solver.params["lr"] == pytest.approx(1 / (100 * 10))
    obj, solver = make_objective("miadm", 10, lam=20.0)
    assert (solver.kind, solver.params["ce"], obj.ce, obj.lam) == ("pgd", "shannon", "shannon", 20.0)
    obj, solver = make_objective("sela", 10)
    assert (solver.kind, solver.params["lam"], solver.params["hard"], obj.ce) == ("sinkhorn", 25.0, True, "shannon")
    assert make_objective("migd", 3)[0].gamma == 1.3
    imsat = make_objective("imsat", 3)[0]
    assert (imsat.lam, imsat.mu) == (0.1, 4.0)
    obj, _ = make_objective("ccel", 10, beta=0.5)
    assert obj.needs_augmentation and obj.beta == 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "ours"}, r"unknown method 'ours'.*ccel, ccel-eq10, miadm, sela, migd, imsat, iic, kmeans"),
        ({"method": "ccell"}, r"did you mean 'ccel'"),
        ({"method": "ccel", "gamma": 2.0}, r"gamma=2.0 is not used by method='ccel' \(only by migd\)"),
        ({"method": "migd", "lam": 1.0}, r"lam=1.0 is not used by method='migd'"),
        ({"method": "ccel", "lam": -1.0}, r"lam=-1.0 should be a finite number >= 0"),
        ({"method": "migd", "beta": 0.5}, r"beta=0.5 .* method='migd' takes none"),
        ({"method": "ccel", "loss": "shannon"}, r"loss='shannon' is only for method='supervised'"),
        ({"method": "supervised", "loss": "kl"}, r"loss='kl' should be one of"),
        ({"method": "sela", "lam": 0.0}, r"should be > 0 for sela"),
        ({"method": "ccel", "n_clusters": 0}, r"n_clusters=0 should be an integer >= 1"),
    ],
)
def test_make_objective_errors(kwargs: dict, match: str) -> None:
    kwargs = {"n_clusters": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_objective(kwargs.pop("method"), kwargs.pop("n_clusters"), **kwargs)


# ------------------------------------------------------------------------------------------
# network losses against references
# ------------------------------------------------------------------------------------------
def test_self_labeling_network_loss_is_the_method_ce_plus_beta_term() -> None:
    logits, aug = _batch()
    y = torch.softmax(torch.randn(64, 5, dtype=torch.float64), 1)
    ccel, _ = make_objective("ccel", 5, beta=0.3)
    want = collision_cross_entropy(logits, y) + 0.3 * collision_cross_entropy(aug, y)
    assert torch.allclose(ccel.network_loss(logits, aug, y), want)
    # H₂(y, σ) = −ln Σ_k y_k σ_k, by hand
    manual = -(torch.softmax(logits, 1) * y).sum(1).log().mean()
    assert torch.allclose(make_objective("ccel", 5)[0].network_loss(logits, None, y), manual)
    sela, _ = make_objective("sela", 5)
    assert torch.allclose(sela.network_loss(logits, None, y), shannon_cross_entropy(logits, y))
    with pytest.raises(ValueError, match="needs targets"):
        sela.network_loss(logits)
    with pytest.raises(ValueError, match="needs logits_aug"):
        ccel.network_loss(logits, None, y)


def test_mutual_information_matches_formula() -> None:
    logits, _ = _batch()
    p = torch.softmax(logits, 1).numpy()
    pbar = p.mean(0)
    want = -(p * np.log(p)).sum(1).mean() - 1.3 * -(pbar * np.log(pbar)).sum()
    assert float(MutualInformation(1.3).network_loss(logits)) == pytest.approx(want, rel=1e-10)


def test_imsat_value_and_detached_first_argument() -> None:
    logits, aug = _batch()
    p, q = torch.softmax(logits, 1).numpy(), torch.softmax(aug, 1).numpy()
    pbar = p.mean(0)
    r_sat = (p * np.log(p / q)).sum(1).mean()
    want = r_sat + 0.1 * (-(p * np.log(p)).sum(1).mean() - 4.0 * -(pbar * np.log(pbar)).sum())
    assert float(IMSAT().network_loss(logits, aug)) == pytest.approx(want, rel=1e-10)
    # with λ = 0 only R_SAT is left, and its first argument carries no gradient
    l1, l2 = logits.clone().requires_grad_(), aug.clone().requires_grad_()
    IMSAT(lam=0.0).network_loss(l1, l2).backward()
    assert l1.grad is None or float(l1.grad.abs().max()) == 0.0
    assert float(l2.grad.abs().max()) > 0


def test_iic_is_minus_mutual_information_of_symmetrized_joint() -> None:
    logits, aug = _batch()
    p, q = torch.softmax(logits, 1).numpy(), torch.softmax(aug, 1).numpy()
    joint = p.T @ q / len(p)
    joint = (joint + joint.T) / 2
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    want = -(joint * (np.log(joint) - np.log(pa) - np.log(pb))).sum()
    assert float(IIC().network_loss(logits, aug)) == pytest.approx(want, rel=1e-10)
    # perfect, balanced, paired assignments reach the minimum −ln K
    k = 4
    hard = torch.eye(k, dtype=torch.float64).repeat(8, 1) * 40.0
    assert float(IIC().network_loss(hard, hard)) == pytest.approx(-math.log(k), abs=1e-6)


@pytest.mark.parametrize("objective", [IIC(), IMSAT(), MutualInformation()], ids=["iic", "imsat", "migd"])
@pytest.mark.parametrize("kind", ["identical", "saturated"])
def test_mi_losses_finite_on_degenerate_batches(objective, kind: str) -> None:
    """All-identical predictions (collapsed network) and saturated one-hot softmax (σ exactly 0
    in float32) must give a finite loss and finite gradients."""
    if kind == "identical":
        logits = torch.tensor([[0.3, -1.0, 2.0, 0.0]]).repeat(32, 1)
    else:
        logits = torch.tensor([[200.0, -200.0, 0.0, -200.0]]).repeat(32, 1)
    l1, l2 = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    loss = objective.network_loss(l1, l2)
    loss.backward()
    assert torch.isfinite(loss)
    for g in (l1.grad, l2.grad):
        assert g is None or bool(torch.isfinite(g).all())


# ------------------------------------------------------------------------------------------
# y-steps: solvers decrease the label loss
# ------------------------------------------------------------------------------------------
def test_label_loss_formulas() -> None:
    probs = _probs()
    y = torch.softmax(torch.randn(200, 6, dtype=torch.float64), 1)
    u = torch.full((6,), 1 / 6, dtype=torch.float64)
    assert make_objective("ccel", 6)[0].label_loss(probs, y) == pytest.approx(eq11_loss(probs, y, 100.0, u))
    assert make_objective("ccel-eq10", 6)[0].label_loss(probs, y) == pytest.approx(eq10_loss(probs, y, 100.0, u))
    ybar = y.mean(0).numpy()
    miadm = -(y * probs.log()).sum(1).mean().item() + 100.0 * (ybar * np.log(ybar * 6)).sum()
    assert make_objective("miadm", 6)[0].label_loss(probs, y) == pytest.approx(miadm)
    assert make_objective("sela", 6)[0].label_loss(probs, y) == pytest.approx(-(y * probs.log()).sum(1).mean().item())
    assert math.isnan(make_objective("migd", 6)[0].label_loss(probs, y))


@pytest.mark.parametrize("method", ["ccel", "ccel-eq10", "miadm"])
def test_y_step_never_increases_the_label_loss(method: str) -> None:
    probs = _probs(seed=1)
    init = torch.softmax(torch.randn(200, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64), 1)
    obj, solver = make_objective(method, 6, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = solver(probs, init)
    hist = solver.last.history
    assert all(b <= a + 1e-9 * abs(a) for a, b in zip(hist, hist[1:])), "monotone y-step"
    assert obj.label_loss(probs, labels) < obj.label_loss(probs, init) - 1e-3
    assert obj.label_loss(probs, labels) == pytest.approx(hist[-1], rel=1e-9)
    # the trainer takes the exact solver's own P(Y) instead of a second evaluation: the same number
    if solver.kind == "exact":
        assert solver.objective_value == pytest.approx(obj.label_loss(probs, labels), rel=1e-12)
    else:
        assert solver.objective_value is None
    assert labels.dtype == torch.float64 and labels.shape == probs.shape
    assert torch.allclose(labels.sum(1), torch.ones(200, dtype=torch.float64))
    assert float(labels.min()) >= 0


def test_sela_labels_are_balanced_one_hot_and_beat_random_balanced_labels() -> None:
    probs = _probs(n=300, k=6, seed=3)
    obj, solver = make_objective("sela", 6)
    labels = solver(probs)
    assert set(labels.unique().tolist()) == {0.0, 1.0} and torch.all(labels.sum(1) == 1)
    counts = labels.sum(0)
    assert float(counts.min()) >= 40 and float(counts.max()) <= 60  # N/K = 50
    rand = torch.eye(6, dtype=torch.float64)[torch.randperm(300, generator=torch.Generator().manual_seed(0)) % 6]
    assert obj.label_loss(probs, labels) < obj.label_loss(probs, rand)


def test_em_warm_start_with_zeros_keeps_every_class_reachable() -> None:
    """EM's multiplicative updates keep y_ik = 0 at 0; the solver floors warm starts so a
    one-hot init on the wrong class can still move to the predicted class."""
    probs = torch.softmax(
        torch.tensor([[4.0, 0.0, 0.0]] * 30 + [[0.0, 4.0, 0.0]] * 30 + [[0.0, 0.0, 4.0]] * 30, dtype=torch.float64), 1
    )
    init = torch.eye(3, dtype=torch.float64)[torch.tensor([1] * 30 + [2] * 30 + [0] * 30)]  # all wrong
    _, solver = make_objective("ccel", 3, max_iter=1000, tol=0.0)
    labels = solver(probs, init)
    assert (labels.argmax(1) == probs.argmax(1)).all()
    assert torch.isfinite(labels).all()
    stuck = em(probs, 100.0, init=init, max_iter=1000, tol=0.0).labels  # the raw solver cannot leave zeros
    assert (stuck.argmax(1) == init.argmax(1)).all()


def test_solver_keeps_the_device_and_returns_float64() -> None:
    probs = _probs().float()
    _, solver = make_objective("ccel", 6, max_iter=5, tol=0.0, y_solver="em")
    labels = solver(probs)
    assert labels.device == probs.device and labels.dtype == torch.float64
    assert solver.last.n_iter == 5
    assert isinstance(solver, Solver) and solver.uses_init
    _, solver = make_objective("ccel", 6)  # the exact y-step: certified, and it ignores stored labels
    labels = solver(probs, torch.full_like(probs, 1 / 6))
    assert labels.device == probs.device and labels.dtype == torch.float64 and not solver.uses_init
    assert solver.last.gaps[-1] <= 1e-8


def test_solver_on_cpu_tensors_uses_the_numpy_kernels_at_any_size() -> None:
    probs = _probs()
    solver = Solver("em", {"lam": 100.0, "max_iter": 3, "tol": 0.0}, device_min_entries=0)
    labels = solver(probs)
    assert isinstance(solver.last.labels, np.ndarray) and labels.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(
    "kind, params", [("em", {"lam": 100.0}), ("pgd", {"lam": 100.0, "lr": 1e-3}), ("sinkhorn", {"lam": 25.0})]
)
def test_large_y_steps_run_on_the_gpu_and_match_the_cpu(kind: str, params: dict) -> None:
    probs = torch.softmax(3 * torch.randn(3000, 100, generator=torch.Generator().manual_seed(0)), 1).double()
    on_cpu = Solver(kind, {**params, "max_iter": 30, "tol": 0.0})
    on_gpu = Solver(kind, {**params, "max_iter": 30, "tol": 0.0}, device_min_entries=100_000)
    small = Solver(kind, {**params, "max_iter": 30, "tol": 0.0}, device_min_entries=10**9)
    a, b, c = on_cpu(probs), on_gpu(probs.cuda()), small(probs.cuda())
    assert isinstance(on_gpu.last.labels, torch.Tensor) and on_gpu.last.labels.is_cuda
    assert isinstance(small.last.labels, np.ndarray) and b.is_cuda and c.is_cuda
    torch.testing.assert_close(b.cpu(), a, rtol=0, atol=1e-8)
    torch.testing.assert_close(c.cpu(), a, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------
# supervised and k-means
# ------------------------------------------------------------------------------------------
def test_supervised_objective() -> None:
    logits, _ = _batch()
    y = torch.softmax(torch.randn(64, 5, dtype=torch.float64), 1)
    for ce, fn in (("collision", collision_cross_entropy), ("shannon", shannon_cross_entropy)):
        obj, solver = make_objective("supervised", 5, loss=ce)
        assert isinstance(obj, Supervised) and obj.supervised and solver is None
        assert torch.allclose(obj.network_loss(logits, None, y), fn(logits, y))
        assert obj.label_loss(torch.softmax(logits, 1), y) == pytest.approx(float(fn(logits, y)), rel=1e-9)
    assert make_objective("supervised", 5)[0].ce == "collision"


def test_kmeans_matches_scikit_learn() -> None:
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(300, centers=4, random_state=0)
    km = KMeansClustering(4)
    onehot = km.fit_predict(torch.tensor(x, dtype=torch.float32), seed=3)
    ref = KMeans(4, n_init=10, random_state=3).fit(x.astype(np.float32).astype(np.float64))
    assert (onehot.argmax(1).numpy() == ref.labels_).all()
    assert km.inertia == pytest.approx(ref.inertia_)
    assert torch.equal(km.predict_proba(torch.tensor(x, dtype=torch.float32)), onehot)
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeansClustering(2).predict_proba(torch.zeros(3, 2))


def test_self_labeling_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="ce='kl'"):
        SelfLabeling("x", "kl", "eq11", 1.0)
    with pytest.raises(ValueError, match="fairness='eq12'"):
        SelfLabeling("x", "collision", "eq12", 1.0)
