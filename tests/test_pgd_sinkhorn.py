"""PGD (projection, both objectives, both CEs) and Sinkhorn against POT."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ccel_core.solvers import ConvergenceWarning, eq10_loss, eq11_loss, pgd, project_simplex, sinkhorn


def softmax_rows(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def brute_force_projection(v: np.ndarray) -> np.ndarray:
    """Enumerate supports S: x_S = v_S − θ with θ = (Σ v_S − 1)/|S|; keep the feasible closest."""
    k = len(v)
    best, best_d = None, np.inf
    for r in range(1, k + 1):
        for s in itertools.combinations(range(k), r):
            s = list(s)
            theta = (v[s].sum() - 1) / r
            x = np.zeros(k)
            x[s] = v[s] - theta
            if (x[s] >= -1e-12).all():
                d = np.sum((x - v) ** 2)
                if d < best_d:
                    best, best_d = np.maximum(x, 0), d
    return best


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=st.floats(-5, 5)))
def test_projection_matches_brute_force(v):
    ours = project_simplex(v)
    ref = np.stack([brute_force_projection(row) for row in v])
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    np.testing.assert_allclose(project_simplex(torch.from_numpy(v)).numpy(), ref, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=st.integers(-5, 5)),
    st.sampled_from([1e150, 1e290]),
    st.sampled_from([0.0, 0.5]),
)
def test_projection_of_huge_entries_stays_on_the_simplex(v, scale, shift):
    """A divergent step hands the projection entries near the float range. Entries that differ by
    ≥ 1e150 project onto the largest ones, shared equally among exact ties."""
    big = (v + shift) * scale
    top = v == v.max(1, keepdims=True)
    ref = top / top.sum(1, keepdims=True)
    for out in (project_simplex(big), project_simplex(torch.from_numpy(big)).numpy()):
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_pgd_with_a_divergent_step_keeps_labels_on_the_simplex():
    probs = softmax_rows(np.random.default_rng(1).normal(size=(500, 40)) * 3)
    for x in (probs, torch.from_numpy(probs)):
        r = pgd(x, 100.0, lr=0.05, max_iter=20, tol=0)  # 20× the stable step 1/(λK)
        y = np.asarray(r.labels)
        assert np.isfinite(y).all() and (y >= 0).all()
        np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-12)


@pytest.mark.parametrize("objective", ["eq10", "eq11"])
@pytest.mark.parametrize("ce", ["collision", "shannon"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_objectives_decrease(objective, ce, backend):
    probs = softmax_rows(np.random.default_rng(0).normal(size=(400, 6)) * 2)
    x = torch.from_numpy(probs) if backend == "torch" else probs
    r = pgd(x, 10.0, objective=objective, ce=ce, lr=0.01, max_iter=300, tol=0)
    h = np.array(r.history)
    assert np.all(np.diff(h) <= 1e-12), np.diff(h).max()
    assert h[-1] < h[0] - 0.05
    y = r.labels.numpy() if backend == "torch" else r.labels
    assert (y >= 0).all() and np.allclose(y.sum(1), 1)
    if ce == "collision":
        fn = eq10_loss if objective == "eq10" else eq11_loss
        assert h[-1] == pytest.approx(fn(probs, y, 10.0, np.full(6, 1 / 6)), rel=1e-10)


def test_pgd_and_em_reach_the_same_eq11_optimum():
    from ccel_core.solvers import em

    probs = softmax_rows(np.random.default_rng(1).normal(size=(100, 3)) * 2)
    a = pgd(probs, 1.0, lr=0.1, max_iter=3000, tol=1e-13)
    b = em(probs, 1.0, max_iter=3000, tol=1e-13)
    assert a.converged and b.converged
    assert a.loss == pytest.approx(b.loss, rel=1e-7)


def test_pgd_bad_input_and_warning():
    probs = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="objective='eq12' is not valid"):
        pgd(probs, 1.0, objective="eq12")
    with pytest.raises(ValueError, match="ce='renyi' is not valid"):
        pgd(probs, 1.0, ce="renyi")
    with pytest.raises(ValueError, match="lr=0 is not valid"):
        pgd(probs, 1.0, lr=0)
    with pytest.raises(ValueError, match="strictly positive prior"):
        pgd(probs, 1.0, objective="eq10", prior=[1.0, 0.0])
    with pytest.warns(ConvergenceWarning, match="pgd did not converge"):
        pgd(softmax_rows(np.random.default_rng(0).normal(size=(20, 3))), 1.0, lr=1e-4, max_iter=3)


# ------------------------------------------------------------------------------------------
# Sinkhorn against POT
# ------------------------------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.parametrize("n, k, lam, skew", [(50, 3, 25.0, False), (200, 10, 25.0, True), (120, 40, 5.0, False)])
def test_sinkhorn_equals_pot(n, k, lam, skew):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(n + k)
    probs = softmax_rows(rng.normal(size=(n, k)) * 1.5)
    prior = rng.dirichlet(np.ones(k) * 5) if skew else np.full(k, 1 / k)
    ours = sinkhorn(probs, lam=lam, prior=prior, hard=False, max_iter=5000, tol=1e-13)
    assert ours.converged
    plan = ours.labels / n
    ref, log = ot.sinkhorn(
        np.full(n, 1 / n), prior, -np.log(probs), reg=1 / lam, numItermax=100000, stopThr=1e-14, log=True
    )
    # POT's own accuracy: the marginal violation it reports (the plan is exp(f + g − C)/reg-scaled, so an
    # entry's relative error is of the order of the scaling error); compare to a bound well above it
    err = float(log["err"][-1])
    if not err <= 1e-12:
        pytest.skip(f"POT stopped at a marginal error {err:.1e}: not a reference to 1e-10")
    np.testing.assert_allclose(plan, ref, atol=1e-10, rtol=1e-6)
    np.testing.assert_allclose(plan.sum(1), np.full(n, 1 / n), atol=1e-12)
    np.testing.assert_allclose(plan.sum(0), prior, atol=1e-12)
    # torch path gives the same plan
    t = sinkhorn(torch.from_numpy(probs), lam=lam, prior=prior, hard=False, max_iter=5000, tol=1e-13)
    np.testing.assert_allclose(t.labels.numpy(), ours.labels, atol=1e-10)


def test_sinkhorn_hard_labels_balanced_and_argmax():
    probs = softmax_rows(np.random.default_rng(3).normal(size=(300, 3)) * 3)
    soft = sinkhorn(probs, lam=25.0, hard=False)
    hard = sinkhorn(probs, lam=25.0)
    assert set(np.unique(hard.labels)) <= {0.0, 1.0} and np.all(hard.labels.sum(1) == 1)
    np.testing.assert_array_equal(hard.labels.argmax(1), soft.labels.argmax(1))
    counts = hard.labels.sum(0)
    assert counts.min() > 0.8 * 100 and counts.max() < 1.2 * 100  # equipartition, roughly
    # optimality: no worse than the feasible plan that gives every point the prior (q_i = u)
    u = np.full(3, 1 / 3)
    feasible = float(np.mean(-(u * np.log(probs)).sum(1)) - (-(u * np.log(u)).sum()) / 25.0)
    assert soft.loss <= feasible


def test_sinkhorn_extreme_power_does_not_underflow():
    """Confident σ (entries < 1e-13) make σ^25 underflow float64; the log domain does not care."""
    probs = softmax_rows(np.random.default_rng(0).normal(size=(300, 3)) * 12)
    assert (probs**25 == 0).sum() > 10
    r = sinkhorn(probs, lam=25.0, hard=False, max_iter=20000, tol=1e-8)
    assert r.converged and np.isfinite(r.labels).all()
    np.testing.assert_allclose(r.labels.sum(1), 1, atol=1e-12)
    np.testing.assert_allclose(r.labels.mean(0), np.full(3, 1 / 3), atol=1e-8)


def test_sinkhorn_bad_input():
    probs = np.full((4, 2), 0.5)
    for lam in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="lam="):
            sinkhorn(probs, lam=lam)
    dead = np.array([[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"class 1 has probability 0 at every point"):
        sinkhorn(dead)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(dead, prior=[1.0, 0.0])  # feasible: class 1 is not wanted
