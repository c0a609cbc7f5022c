"""EM for eq. 11: monotone, on the simplex, kernels agree, M-step = a generic solver, optimum."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from ccel_core.solvers import ConvergenceWarning, certified_gap, em, eq11_loss, exact, m_step, pgd
from ccel_core.solvers._common import STALL_GAP
from ccel_core.solvers._em_kernels import NEWTON_MAX, m_step_numba
from ccel_core.solvers._m_step import m_step_torch
from tests.references import clarabel_reference


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def random_problem(n: int, k: int, seed: int, scale: float = 3.0) -> np.ndarray:
    return softmax_rows(np.random.default_rng(seed).normal(size=(n, k)) * scale)


def adversarial_weights(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """σ of every sharpness with weights spanning 1e-300 … 1e3 and exact zeros."""
    rng = np.random.default_rng(seed)
    sig = softmax_rows(rng.normal(size=(n, k)) * rng.choice([0.1, 1.0, 10.0, 30.0], size=(n, 1)))
    w = 10.0 ** rng.uniform(-300, 3, size=(n, k))
    w[rng.random((n, k)) < 0.2] = 0.0
    w *= 10.0 ** rng.uniform(-5, 5, size=(n, 1))
    return sig, w


# ------------------------------------------------------------------------------------------
# the EM iteration
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "k, lam, prior_kind", [(2, 100.0, "uniform"), (7, 100.0, "skewed"), (20, 5.0, "zero"), (50, 1000.0, "uniform")]
)
def test_loss_never_increases_and_labels_on_simplex(k, lam, prior_kind):
    probs = random_problem(300, k, seed=k)
    prior = {"uniform": None, "skewed": np.linspace(1, 3, k) / np.linspace(1, 3, k).sum()}.get(prior_kind)
    if prior_kind == "zero":
        prior = np.r_[0.0, np.full(k - 1, 1.0 / (k - 1))]
    res = em(probs, lam, prior=prior, max_iter=150, tol=0)
    h = np.array(res.history)
    assert len(h) == res.n_iter + 1 == 151
    assert np.all(np.isfinite(h))
    assert np.all(np.diff(h) <= 1e-12 * np.abs(h[:-1])), np.diff(h).max()
    assert h[-1] < h[0]
    y = res.labels
    assert y.shape == probs.shape and y.dtype == probs.dtype
    assert (y >= 0).all() and np.allclose(y.sum(1), 1, atol=1e-12)
    # the history is eq. 11 of the returned labels
    u = np.full(k, 1 / k) if prior is None else prior
    assert h[-1] == pytest.approx(eq11_loss(probs, y, lam, u), rel=1e-12)


def test_positive_start_stays_positive():
    """Paper Property 1: started strictly positive, every iterate stays strictly positive."""
    probs = random_problem(200, 10, seed=3)
    y = probs.copy()
    for _ in range(30):
        y = em(probs, 100.0, init=y, max_iter=1, tol=0).labels
        assert (y > 0).all()


@pytest.mark.parametrize("accelerate", [False, True])
def test_default_start_reaches_a_class_that_sigma_never_predicts(accelerate):
    """σ = 0 for one class at every point (float32 softmax underflow): the default start is
    floored, so EM fills that class and reaches a finite loss below the uniform-label loss;
    an explicit start with the class at 0 keeps it empty (Property 1)."""
    probs = random_problem(120, 4, seed=5)
    probs[:, 3] = 0.0
    probs /= probs.sum(1, keepdims=True)
    r = em(probs, 100.0, max_iter=300, tol=0, accelerate=accelerate)
    assert np.isfinite(r.history[-1]) and r.labels[:, 3].mean() > 0.1
    assert r.history[-1] < eq11_loss(probs, np.full_like(probs, 0.25), 100.0, np.full(4, 0.25))
    assert np.all(np.diff(r.history) <= 1e-12)
    stuck = em(probs, 100.0, init=probs, max_iter=20, tol=0)
    assert (stuck.labels[:, 3] == 0).all() and stuck.history[-1] == np.inf


def test_numba_and_torch_kernels_agree():
    for seed in range(4):
        sig, w = adversarial_weights(2000, [2, 5, 50, 300][seed], seed)
        a = m_step(sig, w)
        b = m_step(torch.from_numpy(sig), torch.from_numpy(w)).numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
        assert np.isfinite(a).all() and (a >= 0).all() and np.allclose(a.sum(1), 1, atol=1e-12)
    probs = random_problem(500, 12, seed=9)
    r_np = em(probs, 100.0, max_iter=40, tol=0)
    r_t = em(torch.from_numpy(probs), 100.0, max_iter=40, tol=0)
    assert isinstance(r_t.labels, torch.Tensor) and r_t.labels.dtype == torch.float64
    np.testing.assert_allclose(r_np.labels, r_t.labels.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(r_np.history, r_t.history, rtol=1e-12)


@pytest.mark.parametrize("accelerate", [False, True])
def test_fused_small_problem_step_equals_the_general_path(monkeypatch, accelerate):
    """Below the parallel threshold a whole EM iteration is one numba call; it must give what
    the general path (M-step kernel + numpy bookkeeping) gives, zero prior entries included."""
    kernels = importlib.import_module("ccel_core.solvers._em_kernels")  # decides fused vs general

    probs = random_problem(300, 9, seed=4)
    prior = np.array([0.0, 0.05, 0.05, 0.1, 0.1, 0.15, 0.15, 0.2, 0.2])
    fused = em(probs, 100.0, prior=prior, max_iter=45, tol=0, accelerate=accelerate)
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ENTRIES", 0)  # every size takes the general path
    general = em(probs, 100.0, prior=prior, max_iter=45, tol=0, accelerate=accelerate)
    np.testing.assert_allclose(fused.labels, general.labels, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fused.history, general.history, rtol=1e-11)
    assert fused.n_iter == general.n_iter == 45


def test_warm_start_gives_the_cold_answer():
    """A root guess from anywhere (left or right of the root) changes nothing but the speed."""
    sig, w = adversarial_weights(3000, 30, seed=11)
    cold = m_step(sig, w)
    rng = np.random.default_rng(0)
    for guesses in (rng.uniform(0, 1, len(sig)), 10.0 ** rng.uniform(-300, 3, len(sig))):
        out = np.empty_like(sig)
        roots = guesses.copy()
        m_step_numba(sig, w, np.ones(30), out, np.empty(len(sig)), roots)
        np.testing.assert_allclose(out, cold, rtol=1e-9, atol=1e-300)
        roots_t = torch.from_numpy(guesses.copy())
        warm_t = m_step_torch(torch.from_numpy(sig), torch.from_numpy(w), roots_t).numpy()
        np.testing.assert_allclose(warm_t, cold, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(roots_t.numpy(), roots, rtol=1e-9)
    # EM with roots carried across iterations equals EM restarted cold every iteration
    probs = random_problem(400, 8, seed=12)
    warm = em(probs, 100.0, max_iter=25, tol=0).labels
    y = probs
    for _ in range(25):
        y = em(probs, 100.0, init=y, max_iter=1, tol=0).labels
    np.testing.assert_allclose(warm, y, rtol=1e-11, atol=1e-300)


def test_newton_steps_bounded_on_adversarial_inputs():
    worst = 0
    for seed in range(6):
        sig, w = adversarial_weights(3000, [2, 3, 20, 200, 1000, 7][seed], 100 + seed)
        out = np.empty_like(sig)
        worst = max(worst, m_step_numba(sig, w, np.ones(sig.shape[1]), out, np.empty(len(sig)), np.zeros(len(sig))))
        assert np.isfinite(out).all()
    # the cap is a safety net, never the stopping reason
    assert worst < NEWTON_MAX // 2


# ------------------------------------------------------------------------------------------
# the M-step against a generic constrained solver
# ------------------------------------------------------------------------------------------
def m_step_objective(y: np.ndarray, sig: np.ndarray, w: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        logs = np.where(w > 0, np.log(np.maximum(y, 1e-300)), 0.0)
    return float(-np.log(sig @ y) - w @ logs)


def scipy_m_step(sig: np.ndarray, w: np.ndarray) -> np.ndarray:
    """SLSQP on the simplex, started from several points; the best result."""
    k = len(sig)
    best = None

    def f(y):
        return m_step_objective(y, sig, w)

    def grad(y):
        return -sig / (sig @ y) - np.where(w > 0, w / np.maximum(y, 1e-300), 0.0)

    starts = [np.full(k, 1 / k), sig, np.eye(k)[np.argmax(sig)] * 0.9 + 0.1 / k]
    for y0 in starts:
        r = minimize(
            f,
            y0,
            jac=grad,
            method="SLSQP",
            bounds=[(1e-15, 1.0)] * k,
            constraints=[{"type": "eq", "fun": lambda y: y.sum() - 1.0, "jac": lambda y: np.ones(k)}],
            options={"ftol": 1e-15, "maxiter": 1000},
        )
        if best is None or r.fun < best.fun:
            best = r
    return best.x


def tie_groups(sig: np.ndarray, w: np.ndarray, negligible: float = 1e-100) -> list[np.ndarray]:
    """Classes whose mass the M-step objective does not identify one by one.

    The objective depends on ``y_k`` through ``σ·y`` and ``w_k ln y_k``; classes with equal σ and
    (numerically) zero weight enter only through their total mass, so any split of it is optimal
    to double precision. Each such group is returned; every other class is a group of its own.
    """
    groups: list[np.ndarray] = []
    free = np.abs(w) < negligible
    for k in range(len(sig)):
        if any(k in g for g in groups):
            continue
        same = np.flatnonzero(free & (sig == sig[k])) if free[k] else np.array([k])
        groups.append(same)
    return groups


def assert_m_step_optimal(y: np.ndarray, ref: np.ndarray, sig: np.ndarray, w: np.ndarray, atol: float = 2e-5) -> None:
    """``y`` solves the M-step as well as the reference point ``ref`` does, in what is defined.

    On the simplex; objective no worse than the reference's; and equal to it in the identified
    quantities: the total mass of each tie group of :func:`tie_groups` (single classes where the
    optimum is unique, so there the points themselves must agree) — compared only where SLSQP reached
    our objective to 1e-10, since an optimizer's point is a reference only to its own accuracy.
    """
    assert np.isfinite(y).all() and y.sum() == pytest.approx(1.0, abs=1e-12) and (y >= 0).all(), y
    f_y, f_ref = m_step_objective(y, sig, w), m_step_objective(ref, sig, w)
    assert f_y <= f_ref + 1e-9, (y, ref, f_y, f_ref)
    if f_ref > f_y + 1e-10:
        return  # SLSQP stopped short of ours: its point is no reference for ours (only its value was)
    for g in tie_groups(sig, w):
        assert y[g].sum() == pytest.approx(ref[g].sum(), abs=atol), (g, y, ref)


@pytest.mark.parametrize(
    "sig, w",
    [
        ([0.5, 0.3, 0.2], [2.0, 1.0, 3.0]),
        ([0.5, 0.3, 0.2], [1e-300, 0.1, 0.1]),  # largest-σ weight ~1e-300, rest small: y_0 ≈ 0.65
        ([0.5, 0.3, 0.2], [1e-300, 2.0, 3.0]),  # largest-σ weight ~1e-300, rest large: y_0 ≈ 0
        ([0.6, 0.25, 0.1, 0.05], [0.0, 0.2, 0.0, 0.3]),  # exact zeros incl. the largest σ (pinned)
        ([0.25, 0.6, 0.1, 0.05], [0.0, 0.2, 0.0, 0.3]),  # zeros, the largest σ has weight
        ([0.4, 0.4, 0.2], [1e-300, 1e-300, 0.05]),  # tie at the top, both tiny
        ([1.0 - 2e-30, 1e-30, 1e-30], [5.0, 5.0, 5.0]),  # probabilities 1e-30
        ([0.2, 0.2, 0.2, 0.2, 0.2], [10.0, 0.0, 0.0, 0.0, 0.0]),
        ([0.7, 0.2, 0.1], [0.0, 0.0, 0.0]),  # no weight at all: y = e_argmax
    ],
)
@pytest.mark.reference
def test_m_step_matches_scipy(sig, w):
    sig, w = np.array(sig), np.array(w)
    ours = m_step(sig[None], w[None])[0]
    assert_m_step_optimal(ours, scipy_m_step(sig, w), sig, w)
    torch_ours = m_step(torch.from_numpy(sig[None]), torch.from_numpy(w[None])).numpy()[0]
    np.testing.assert_allclose(torch_ours, ours, atol=1e-12)


def test_m_step_optimality_check_rejects_wrong_answers():
    """The check above fails on a y that moves mass between a tied class and an untied one (its
    objective is above the reference's) and on a different point of a non-degenerate case."""
    sig, w = np.array([0.4, 0.4, 0.2]), np.array([1e-300, 1e-300, 0.05])
    ref = m_step(sig[None], w[None])[0]
    assert_m_step_optimal(np.array([ref[0] + ref[1] - 1e-3, 1e-3, ref[2]]), ref, sig, w)  # another split: fine
    moved = ref + np.array([0.01, 0.0, -0.01])  # mass from the untied class to a tied one
    with pytest.raises(AssertionError, match="<="):  # its objective is above the bound
        assert_m_step_optimal(moved, ref, sig, w)
    # a reference worse than ours says nothing about ours' point: only its value is a bound
    assert_m_step_optimal(ref, moved, sig, w)
    sig, w = np.array([0.5, 0.3, 0.2]), np.array([2.0, 1.0, 3.0])
    ref = m_step(sig[None], w[None])[0]
    with pytest.raises(AssertionError):
        assert_m_step_optimal(ref + np.array([1e-4, -1e-4, 0.0]), ref, sig, w, atol=1e-5)


def test_m_step_tiny_top_weight_closed_form():
    """w_0 = 1e-300 on the top class: the root t* ≈ w_0σ_0/(1 − g_rest) underflows naive Newton."""
    sig = np.array([0.5, 0.3, 0.2])
    w = np.array([1e-300, 0.1, 0.1])
    y = m_step(sig[None], w[None])[0]
    # z → σ_0: y_k = (w_k/β)·σ_0/(σ_0 − σ_k) for k > 0 and the rest on class 0
    beta = 1 + w.sum()
    expect_rest = w[1:] / beta * sig[0] / (sig[0] - sig[1:])
    np.testing.assert_allclose(y[1:], expect_rest, rtol=1e-12)
    assert y[0] == pytest.approx(1 - expect_rest.sum(), rel=1e-12)


# ------------------------------------------------------------------------------------------
# the EM end point against a high-precision solver
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.reference
def test_em_approaches_interior_point_optimum():
    n, k, lam = 120, 4, 100.0
    probs = random_problem(n, k, seed=5)
    u = np.full(k, 1 / k)
    ref = clarabel_reference(probs, lam, u)  # its point's value, certified to ref.gap: P* ≥ value·(1 − gap)
    floor = ref.value * (1 - ref.gap)
    gaps = []
    for iters in (10, 100, 1000, 10000):
        loss = em(probs, lam, max_iter=iters, tol=0).loss
        assert loss >= floor - 1e-12  # no method beats the optimum
        gaps.append((loss - ref.value) / ref.value)
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 1e-4, gaps


# ------------------------------------------------------------------------------------------
# API contract, warnings, extremes, bad input
# ------------------------------------------------------------------------------------------
def test_convergence_flag_and_warning():
    probs = random_problem(100, 3, seed=1)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        r = em(probs, 100.0, max_iter=2, tol=1e-12)
    assert not r.converged and r.n_iter == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = em(probs, 100.0, max_iter=3, tol=0)  # tol=0: a fixed budget, no warning
        assert r.n_iter == 3 and not r.converged
        r = em(probs, 0.0, max_iter=50, tol=1e-8)  # λ = 0: one step to argmax σ
        assert r.converged
    np.testing.assert_array_equal(r.labels.argmax(1), probs.argmax(1))
    assert np.allclose(r.labels.max(1), 1.0)


def test_float32_in_float32_out_and_warm_start():
    probs = random_problem(50, 5, seed=2).astype(np.float32)
    r1 = em(probs, 100.0, max_iter=10, tol=0)
    assert r1.labels.dtype == np.float32
    r2 = em(probs, 100.0, init=r1.labels, max_iter=10, tol=0)
    r20 = em(probs, 100.0, max_iter=20, tol=0)
    np.testing.assert_allclose(r2.labels, r20.labels, atol=1e-6)


def test_extreme_inputs_finite():
    # N = 1, K = 1000, probabilities down to 1e-30
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(1000, 0.05), size=1)
    p = np.maximum(p, 1e-30)
    p /= p.sum()
    r = em(p, 100.0, max_iter=20, tol=0)
    assert np.isfinite(r.labels).all() and np.isfinite(r.history).all()
    # one-hot predictions (exact zeros in σ) and an init with zero columns
    probs = np.eye(4)[rng.integers(0, 4, 40)]
    init = np.eye(4)[np.zeros(40, dtype=int)]
    r = em(probs, 100.0, init=init, max_iter=30, tol=0)
    assert np.isfinite(r.labels).all() and np.allclose(r.labels.sum(1), 1)
    assert np.isfinite(r.history[-1])
    # float32 logits ±100 through softmax
    logits = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, -100.0], [0.0, 0.0, 100.0]])
    r = em(torch.softmax(logits, 1), 100.0, max_iter=20, tol=0)
    assert torch.isfinite(r.labels).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(probs=np.ones((3, 2)) / 2, lam=-1.0), r"lam=-1.0 is not valid; expected a finite number >= 0"),
        (dict(probs=np.ones((3, 2)) / 2, lam=float("nan")), r"lam=nan"),
        (dict(probs=np.ones((3, 0))), r"K=0 should be >= 1"),
        (dict(probs=np.ones(3) / 3), r"shape \(N, K\)"),
        (dict(probs=np.array([[0.5, np.nan]])), r"1 NaN/Inf"),
        (dict(probs=np.array([[1.5, -0.5]])), r"negative probabilities \(min=-0.5\)"),
        (dict(probs=np.array([[0.5, 0.5], [0.6, 0.6]])), r"probs row 1 sums to 1.2"),
        (dict(probs=np.ones((3, 2), dtype=int)), r"floating-point"),
        (dict(probs=np.ones((3, 2)) / 2, prior=[0.7, 0.7]), r"prior sums to 1.4"),
        (dict(probs=np.ones((3, 2)) / 2, prior=[1.0, 0.0, 0.0]), r"prior has shape=\(3,\); expected \(2,\)"),
        (dict(probs=np.ones((3, 2)) / 2, prior=[1.2, -0.2]), r"prior has negative"),
        (dict(probs=np.ones((3, 2)) / 2, init=np.ones((2, 2)) / 2), r"init has shape=\(2, 2\); expected \(3, 2\)"),
        (
            dict(probs=np.ones((3, 2)) / 2, init=torch.ones(3, 2) / 2),
            r"init is a torch.Tensor but probs is a numpy array",
        ),
        (dict(probs=np.ones((3, 2)) / 2, max_iter=0), r"max_iter=0 is not valid"),
        (dict(probs=np.ones((3, 2)) / 2, tol=-1.0), r"tol=-1.0 is not valid"),
        (dict(probs=[[0.5, 0.5]]), r"numpy array or torch tensor, got list"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        em(**kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_rejects_mixed_devices():
    probs = random_problem(300, 8, seed=4)
    cpu = em(probs, 100.0, max_iter=30, tol=0).labels
    gpu = em(torch.from_numpy(probs).cuda(), 100.0, max_iter=30, tol=0).labels
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu, atol=1e-10)
    with pytest.raises(ValueError, match="one device"):
        em(torch.from_numpy(probs).cuda(), 100.0, init=torch.from_numpy(probs))


# ------------------------------------------------------------------------------------------
# SQUAREM acceleration
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 7, 30])
def test_accelerated_em_monotone_and_faster_to_the_same_optimum(k):
    probs = random_problem(400, k, seed=20 + k)
    plain = em(probs, 100.0, max_iter=6000, tol=0)
    same_budget = em(probs, 100.0, max_iter=600, tol=0)
    fast = em(probs, 100.0, max_iter=600, tol=0, accelerate=True)
    h = np.array(fast.history)
    assert len(h) == fast.n_iter + 1 == 601
    assert np.all(np.diff(h) <= 1e-12 * np.abs(h[:-1]))  # still never increases
    assert (fast.labels >= 0).all() and np.allclose(fast.labels.sum(1), 1)
    assert fast.loss < same_budget.loss  # lower than plain EM with the same number of EM steps
    best = min(plain.loss, fast.loss)
    first = lambda hist: int(np.argmax((np.asarray(hist) - best) / best <= 1e-2))  # noqa: E731
    assert first(fast.history) * 4 < first(plain.history)


def test_accelerated_em_torch_matches_numpy_and_respects_tol():
    probs = random_problem(300, 6, seed=31)
    a = em(probs, 100.0, max_iter=90, tol=0, accelerate=True)
    b = em(torch.from_numpy(probs), 100.0, max_iter=90, tol=0, accelerate=True)
    # the extrapolation amplifies the kernels' 1e-16 differences a little
    np.testing.assert_allclose(b.labels.numpy(), a.labels, atol=1e-6)
    np.testing.assert_allclose(b.history, a.history, rtol=1e-7)
    c = em(probs, 100.0, max_iter=5000, tol=1e-7, accelerate=True)
    assert c.converged and c.n_iter < 5000


# ------------------------------------------------------------------------------------------
# `converged` means what it says (issue 20, class 2)
# ------------------------------------------------------------------------------------------
def test_em_does_not_claim_convergence_on_a_stuck_iterate():
    """One-hot σ, λ = 100: the floored start pins every label near its σ (Property 1), the loss does not
    move, and the change rule fires after one step at 18.35 — the optimum is 0.343. Not converged."""
    probs = np.eye(4)[[0] * 10 + [1] * 5 + [2] * 3 + [3] * 2]
    with pytest.warns(ConvergenceWarning, match="em stalled.*certified gap"):
        r = em(probs, 100.0)
    assert not r.converged and r.status == "stalled" and "not optimal" in r.message
    assert r.loss > 10 * exact(probs, 100.0).loss  # it really is stuck
    # the same with torch, and with the certificate recorded along the way
    with pytest.warns(ConvergenceWarning, match="stalled"):
        t = em(torch.from_numpy(probs), 100.0, certify=True)
    assert not t.converged and t.status == "stalled"


@pytest.mark.parametrize("tol", [1e-5, 1e-8])
def test_em_converged_is_backed_by_the_certificate(tol):
    probs = random_problem(250, 10, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a real convergence: no warning
        r = em(probs, 100.0, tol=tol, max_iter=100_000)
    assert r.converged and r.status == "converged" and "certified gap" in r.message
    u = np.full(10, 0.1)
    assert certified_gap(probs, r.labels, 100.0, u)[1] <= STALL_GAP
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        short = em(probs, 100.0, tol=tol, max_iter=3)
    assert (short.converged, short.status) == (False, "max_iter")
    fixed = em(probs, 100.0, tol=0, max_iter=3)
    assert (fixed.converged, fixed.status) == (False, "budget")


def test_pgd_change_rule_is_checked_against_the_certificate():
    probs = np.eye(3)[[0] * 6 + [1] * 3 + [2]]  # starts at Y = σ, far from balanced; a tiny step moves nothing
    with pytest.warns(ConvergenceWarning, match="pgd stalled"):
        r = pgd(probs, 100.0, lr=1e-12, tol=1e-5)
    assert not r.converged and r.status == "stalled"
