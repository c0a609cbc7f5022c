"""The certificate (dual of eq. 10/11) and the exact y-step, against brute force and CVXPY + Clarabel."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from ccel_core.solvers import STATUSES, ConvergenceWarning, certified_gap, dual_value, em, eq11_loss, exact, pgd
from ccel_core.solvers.certificate import (
    _h_all,
    _h_support,
    class_multipliers,
    labels_from_duals,
    polished_multipliers,
    slope_order,
)
from tests.references import assert_not_worse_than_reference, clarabel_reference, objective_value


def softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def problem(n: int, k: int, seed: int, scale: float = 3.0) -> np.ndarray:
    return softmax_rows(np.random.default_rng(seed).normal(size=(n, k)) * scale)


def brute_h(sig: np.ndarray, c: np.ndarray) -> float:
    """min over the vertices and every edge of −ln(σ·y) − c·y: a fine grid of each edge, then
    scipy's bounded scalar minimizer in the best grid cell (an upper bound on h, tight to ~1e-10)."""
    best = np.inf
    t = np.linspace(0.0, 1.0, 4001)
    for j in range(len(sig)):
        for k in range(j, len(sig)):

            def f(s: float, j: int = j, k: int = k) -> float:
                a = s * sig[j] + (1 - s) * sig[k]
                return np.inf if a <= 0 else float(-np.log(a) - (s * c[j] + (1 - s) * c[k]))

            with np.errstate(divide="ignore"):
                v = -np.log(t * sig[j] + (1 - t) * sig[k]) - (t * c[j] + (1 - t) * c[k])
            i = int(np.argmin(v))
            best = min(best, float(v[i]))
            lo, hi = t[max(i - 1, 0)], t[min(i + 1, len(t) - 1)]
            if hi > lo:
                best = min(
                    best, float(minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).fun)
                )
    return best


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.sampled_from([0.1, 1.0, 10.0]), st.booleans())
def test_envelope_h_matches_brute_force(k, seed, cscale, zero):
    rng = np.random.default_rng(seed)
    sig = rng.dirichlet(np.ones(k))
    if zero and k > 1:
        sig[rng.integers(k)] = 0.0
        sig /= sig.sum()
    c = rng.normal(size=k) * cscale
    h = np.empty(1)
    _h_all(sig[None].copy(), c, slope_order(sig[None]), h, np.empty((0, k)))
    ref = brute_h(sig, c)
    assert h[0] <= ref + 1e-12  # h is a minimum: no grid point is below it
    assert h[0] >= ref - 1e-8  # and the refined grid comes close to it


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 8),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.1, 1.0, 10.0]),
    st.sampled_from(["smooth", "coarse", "zeros"]),
    st.sampled_from(["optimum", "vertex", "edge", "random"]),
)
def test_envelope_checked_at_the_label_supports_is_the_scan(k, seed, cscale, probs, labels):
    """``h_i(c)`` read off a point's label support (vertex or edge, checked in O(K)) equals the envelope
    scan's — when the support is the optimum (then the check passes for the points), when it is any other
    vertex or edge (the check must fail and fall back), with ties (coarse σ and c), σ with zeros, and
    with three or more nonzeros."""
    rng = np.random.default_rng(seed)
    n = 40
    sig = rng.dirichlet(np.ones(k), size=n)
    c = rng.normal(size=k) * cscale
    if probs == "coarse":  # equal slopes, equal intercepts and breakpoints where three lines meet
        sig = np.round(sig, 1) + 1e-3
        sig /= sig.sum(1, keepdims=True)
        c = np.round(c)
    elif probs == "zeros":
        sig[np.arange(n), rng.integers(k, size=n)] = 0.0
        sig /= sig.sum(1, keepdims=True)
    order = slope_order(sig)
    scan = np.empty(n)
    _h_all(sig, c, order, scan, np.empty((0, k)))
    y = np.zeros((n, k))
    rows = np.arange(n)
    if labels == "optimum":  # each point's minimizer (vertex or edge) from the scan's active lines
        y = labels_from_duals(sig, c, order)
    elif labels == "vertex":
        y[rows, rng.integers(k, size=n)] = 1.0
    elif labels == "edge":
        j, i = rng.integers(k, size=n), rng.integers(k, size=n)
        y[rows, j] = 0.5
        y[rows, i] += 0.5
    else:
        y = rng.random((n, k)) * (rng.random((n, k)) < 0.5)
        y[rows, rng.integers(k, size=n)] += 0.1
        y /= y.sum(1, keepdims=True)
    got = np.empty(n)
    _h_all(sig, c, order, got, y)
    np.testing.assert_allclose(got, scan, rtol=1e-12, atol=1e-12)
    if labels == "optimum" and probs == "smooth":  # the O(K) check, not the scan, gave these
        assert sum(_h_support(sig, c, y, i)[1] for i in range(n)) >= 0.9 * n


CLARABEL_CASES = [
    (60, 2, 100.0, "eq11"),
    (80, 4, 1.0, "eq11"),
    (120, 5, 100.0, "eq11"),
    (50, 3, 1000.0, "eq11"),
    (80, 4, 1.0, "eq10"),
    (100, 5, 10.0, "eq10"),
]


@pytest.mark.reference
@pytest.mark.parametrize("n, k, lam, objective", CLARABEL_CASES)
def test_exact_matches_clarabel(n, k, lam, objective):
    sig = problem(n, k, seed=n + k)
    u = np.full(k, 1 / k)
    ref = clarabel_reference(sig, lam, u, objective)
    r = exact(sig, lam, objective=objective, tol=1e-8)
    assert r.converged and r.gaps[-1] <= 1e-8
    loss = objective_value(sig, r.labels, lam, u, objective)
    assert loss == pytest.approx(r.history[-1], rel=1e-12)
    # never worse than the interior point's (feasible) point beyond tol, equal to what both certify
    assert_not_worse_than_reference(sig, r.labels, lam, u, objective, ref, tol=1e-8)
    # the certificate bounds the true gap of Clarabel's point (≥ its distance to ours, an upper bound on P*)
    gap_ref = certified_gap(sig, ref.labels, lam, u, objective)[0]
    assert gap_ref >= ref.value - loss - 1e-12


@pytest.mark.reference
def test_reference_assertion_rejects_a_label_matrix_1e6_above_the_optimum():
    """The fixed assertion is not vacuous: labels 1e-6 (relative) above the optimum fail it."""
    n, k, lam, objective = CLARABEL_CASES[2]
    sig = problem(n, k, seed=n + k)
    u = np.full(k, 1 / k)
    ref = clarabel_reference(sig, lam, u, objective)
    best = exact(sig, lam, objective=objective, tol=1e-11)
    opt = best.history[-1]
    # move along the segment toward σ until the objective is 1e-6·P* above the optimum (P is convex on it)
    lo, hi = 0.0, 1.0
    for _ in range(200):
        t = 0.5 * (lo + hi)
        excess = objective_value(sig, (1 - t) * best.labels + t * sig, lam, u, objective) - opt
        lo, hi = (t, hi) if excess < 1e-6 * opt else (lo, t)
    wrong = (1 - hi) * best.labels + hi * sig
    assert objective_value(sig, wrong, lam, u, objective) - opt == pytest.approx(1e-6 * opt, rel=1e-3)
    assert_not_worse_than_reference(sig, best.labels, lam, u, objective, ref, tol=1e-8)  # the optimum passes …
    with pytest.raises(AssertionError, match="worse than the reference"):
        assert_not_worse_than_reference(sig, wrong, lam, u, objective, ref, tol=1e-8)  # … 1e-6 above fails


def test_certificate_bounds_the_true_gap_and_vanishes_along_em():
    sig = problem(120, 4, seed=5)
    u = np.full(4, 0.25)
    opt = exact(sig, 100.0, tol=1e-11).history[-1]
    r = em(sig, 100.0, max_iter=1500, tol=0, certify=True, accelerate=True)
    gaps = np.array(r.gaps)
    true = (np.array(r.history) - opt) / np.array(r.history)
    assert len(gaps) == len(r.history)
    assert (gaps >= -1e-12).all()
    assert (gaps >= true - 1e-10).all()  # a certificate never under-states the gap
    assert gaps[-1] < 1e-3 < gaps[10]
    assert gaps[-1] < gaps[0] / 1e4
    p = pgd(sig, 100.0, max_iter=200, tol=0, certify=True)  # the default step is stable
    assert np.isfinite(p.gaps).all() and (np.array(p.gaps) >= -1e-12).all() and p.gaps[-1] < p.gaps[0]
    # the dual value at the returned multipliers is a lower bound: P(Y) ≥ D(c) for every iterate
    c = class_multipliers(r.labels.mean(0), 100.0, u) + 3.0
    assert dual_value(sig, c, 100.0, u) <= min(r.history) + 1e-12


def test_em_and_pgd_stop_on_a_certified_gap():
    sig = problem(200, 4, seed=8)
    r = em(sig, 100.0, tol=0, gap_tol=1e-3, accelerate=True, max_iter=3000)
    assert r.converged and r.gaps[-1] <= 1e-3 < max(r.gaps[-4:-1])  # stopped at the first cycle below it
    p = pgd(sig, 100.0, tol=0, gap_tol=0.05, max_iter=5000)
    assert p.converged and p.gaps[-1] <= 0.05 < p.gaps[-2]
    with pytest.warns(ConvergenceWarning, match="gap_tol=1e-12"):
        em(sig, 100.0, tol=0, gap_tol=1e-12, max_iter=5)
    with pytest.raises(ValueError, match="gap_tol=-1"):
        em(sig, 100.0, gap_tol=-1.0)


@pytest.mark.slow
@pytest.mark.parametrize("k", [10, 100])
def test_exact_certifies_many_batch_problems(k):
    """1000 random 250 × K batches (σ = softmax(3z)): the certificate meets the tolerance 1e-8 with
    bounded iterations (K = 100: ≥ 99 % of them, every one ≤ 1e-6 — measured 998 of 1000 at 1e-8, the
    other two cycling at 1.5e-7 and 7.6e-7 in the face end-game's active set); nearly every row has
    at most two nonzeros."""
    count, tol = 1000, 1e-8
    rows_over_two, missed = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(count):
            sig = problem(250, k, seed=1000 + seed)
            r = exact(sig, 100.0, tol=tol)
            assert r.n_iter <= 60 and r.gaps[-1] <= (tol if k == 10 else 1e-6), (seed, r.gaps[-5:])
            if not r.converged:
                missed.append(seed)
            if (r.labels == 0).any():  # labels on a face: count the rows with 3+ nonzeros
                rows_over_two.append(int(((r.labels > 0).sum(1) > 2).sum()))
    assert len(missed) <= count // 100, missed
    # most batches end on the optimal face (an interior iterate can certify first), where all but a
    # few degenerate rows (≈ K at most) have one or two nonzeros
    assert len(rows_over_two) >= count // 2 and np.median(rows_over_two) <= k


@pytest.mark.parametrize("case", ["ties", "zero-class", "tiny", "one-hot", "N=1", "K=1", "prior-zero"])
@pytest.mark.parametrize("lam", [0.0, 1.0, 100.0])
def test_exact_hard_inputs_never_nan(case, lam):
    rng = np.random.default_rng(0)
    prior = None
    if case == "ties":
        sig = np.tile([[0.4, 0.4, 0.2]], (30, 1))
    elif case in ("zero-class", "tiny"):
        sig = problem(40, 5, seed=1)
        sig[:, 0] = 0.0 if case == "zero-class" else 1e-300
        sig /= sig.sum(1, keepdims=True)
    elif case == "one-hot":
        sig = np.eye(4)[rng.integers(0, 4, 50)]
    elif case == "N=1":
        sig = problem(1, 4, seed=2)
    elif case == "K=1":
        sig = np.ones((10, 1))
    else:
        sig, prior = problem(60, 4, seed=3), np.array([0.5, 0.5, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = exact(sig, lam, prior=prior)
    assert np.isfinite(r.labels).all() and (r.labels >= 0).all()
    np.testing.assert_allclose(r.labels.sum(1), 1.0, atol=1e-9)
    assert np.isfinite(r.history[-1]) and min(r.gaps) >= -1e-9
    assert r.gaps[-1] <= 1e-5  # certified near-optimal even where the tolerance is not met


def test_exact_torch_matches_numpy_and_float32():
    sig = problem(80, 5, seed=4)
    a = exact(sig, 100.0)
    b = exact(torch.from_numpy(sig), 100.0)
    assert isinstance(b.labels, torch.Tensor) and b.labels.dtype == torch.float64
    assert b.history[-1] == pytest.approx(a.history[-1], rel=1e-10)
    # numba kernel vs vectorized torch: both certified to 1e-9, i.e. the labels are pinned down to
    # ~sqrt(1e-9) in P's flattest directions (a point's small mass on an edge)
    assert a.converged and b.converged
    np.testing.assert_allclose(b.labels.numpy(), a.labels, atol=1e-4)
    f = exact(sig.astype(np.float32), 100.0)
    assert f.labels.dtype == np.float32 and f.converged


def test_exact_start_does_not_change_the_optimum():
    sig = problem(150, 6, seed=6)
    base = exact(sig, 100.0, tol=1e-10)
    onehot = np.eye(6)[np.random.default_rng(0).integers(0, 6, 150)]
    for kw in ({"init": onehot}, {"duals": base.duals}):
        r = exact(sig, 100.0, tol=1e-10, **kw)
        assert r.converged
        assert r.history[-1] == pytest.approx(base.history[-1], rel=1e-9)
    # the multipliers of a solved problem warm-start it, and a slightly changed one, in fewer steps
    warm = exact(sig, 100.0, tol=1e-10, duals=base.duals)
    assert warm.n_iter < base.n_iter / 3
    z = np.log(sig) + 1e-4 * np.random.default_rng(1).normal(size=sig.shape)
    near = softmax_rows(z)
    cold, warm = exact(near, 100.0, tol=1e-10), exact(near, 100.0, tol=1e-10, duals=base.duals)
    assert warm.converged and warm.n_iter < cold.n_iter / 3
    assert warm.history[-1] == pytest.approx(cold.history[-1], rel=1e-9)


def test_certified_gap_validates_its_input():
    sig = problem(10, 3, seed=0)
    with pytest.raises(ValueError, match="labels row 0 sums to 1.5"):
        certified_gap(sig, np.full((10, 3), 0.5), 100.0)  # rows summing to 1.5
    with pytest.raises(ValueError, match="objective='eq9'"):
        certified_gap(sig, sig, 100.0, objective="eq9")
    gap, rel = certified_gap(torch.from_numpy(sig), torch.from_numpy(sig), 100.0)  # torch accepted
    assert gap >= 0 and rel == pytest.approx(gap / eq11_loss(sig, sig, 100.0, np.full(3, 1 / 3)))


def test_exact_bad_input():
    sig = problem(10, 3, seed=0)
    with pytest.raises(ValueError, match="objective='eq12'"):
        exact(sig, 1.0, objective="eq12")
    with pytest.raises(ValueError, match="strictly positive prior"):
        exact(sig, 1.0, objective="eq10", prior=[0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match="duals must be 3 finite numbers"):
        exact(sig, 1.0, duals=[1.0, 2.0])
    with pytest.raises(ValueError, match="lam=-1"):
        exact(sig, -1.0)
    with pytest.raises(ValueError, match="max_iter=0"):
        exact(sig, 1.0, max_iter=0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n, k", [(300, 2), (250, 10), (250, 40)])
def test_exact_trace_is_honest(seed, n, k):
    """The trace records the best certified iterate so far: gaps ≥ 0 and never rising, the loss that of
    the returned labels at the end; the end-game's trial points never make it climb (issue 20)."""
    from ccel_core.experiments.race import race_problem

    sig = race_problem(n, k, seed=seed)
    r = exact(sig, 100.0, tol=1e-10)
    gaps = np.asarray(r.gaps)
    assert len(gaps) == len(r.history) == len(r.times) == r.n_iter + 1
    assert (gaps >= 0).all() and (np.diff(gaps) <= 0).all(), gaps
    assert r.history[-1] == pytest.approx(eq11_loss(sig, r.labels, 100.0, np.full(k, 1 / k)), rel=1e-12)
    assert r.converged == (gaps[-1] <= 1e-10)
    assert r.status == "converged" if r.converged else r.status in ("max_iter", "stalled")
    assert r.status in STATUSES and r.message


def test_gap_text_never_negative():
    from ccel_core.solvers._common import format_gap

    assert format_gap(-5.1e-13) == format_gap(0.0) == "< 1e-12"
    assert format_gap(3.5e-3) == "3.5e-03" and format_gap(float("nan")) == "diverged"


def test_certificate_clips_a_rounding_negative_gap_once_for_every_solver(monkeypatch):
    """P − D < 0 is rounding (the race once printed −5.1e-13): `certify`, which every solver's trace and
    `certified_gap` go through, reports 0 instead."""
    from ccel_core.solvers import certificate

    sig = problem(50, 3, seed=1)
    best = exact(sig, 100.0, tol=1e-10)
    monkeypatch.setattr(certificate, "loss_and_gap", lambda *args: (best.loss, -5.1e-13))
    assert certified_gap(sig, best.labels, 100.0) == (0.0, 0.0)
    traced = em(sig, 100.0, max_iter=3, tol=0, certify=True)
    assert traced.gaps == [0.0] * 4


def test_certified_gap_of_eq10_needs_a_positive_prior():
    sig = problem(5, 3, seed=0)
    with pytest.raises(ValueError, match=r"objective='eq10' needs a strictly positive prior.*min\(prior\)=0"):
        certified_gap(sig, sig, 100.0, np.array([0.5, 0.5, 0.0]), "eq10")


def test_exact_certifies_real_late_epoch_batches():
    """12 real y-step batches (σ of a linear head on MNIST-test, epochs 6–10 of ours' 10-epoch fits,
    seeds 4 and 5; float32) — among the hardest of those fits: with the face step's proximal
    ε = 1e-6 none of them was certified to 1e-8 (the end-game gave up at 1e-8…1e-6). Every returned
    label matrix is certified anew from scratch; the solver's own last gap is that certificate."""
    path = Path(__file__).parent / "data" / "mnist_late_batches.npz"
    batches = np.load(path)["probs"].astype(np.float64)
    certified = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for sig in batches:
            sig /= sig.sum(1, keepdims=True)
            r = exact(sig, 100.0, tol=1e-8)
            gap = certified_gap(sig, r.labels, 100.0, polish=True)[1]
            assert gap <= 1e-7 and gap <= r.gaps[-1] + 1e-11  # P − D of P ≈ 2: rounding
            if r.converged:  # then the solver reports the tighter of both bounds, as certified_gap does
                assert gap == pytest.approx(r.gaps[-1], abs=1e-11)
            certified += gap <= 1e-8 and r.converged
    assert certified >= 10, certified  # measured 11 of 12 (the other at 1.1e-8); 12 of 12 since e43a7eb's kernels


def test_interior_iterates_certify_on_the_face_they_identify(monkeypatch):
    """Without the end-game (no face tries, no final face Newton), the interior phase alone certifies
    the 12 real late batches to ≤ 4.2e-8 (measured; 4 of 12 ≤ 1e-8): an iterate under the gate is
    certified as its projection on the face ``y > z`` with multipliers fitted to that face. The
    iterates' own plain bound ``D(c(m(Y)))`` had stalled at 2e-7 … 6e-6 on the same batches (measured),
    so this fails with the old certificate. The returned labels lie on a face and a fresh certificate
    of them gives the solver's own last gap."""
    import importlib

    from ccel_core.solvers import _interior

    exact_module = importlib.import_module("ccel_core.solvers.exact")  # the package exports the function
    monkeypatch.setattr(_interior, "_TRY_FACE", 0.0)
    for module in (_interior, exact_module):
        monkeypatch.setattr(module, "face_newton", lambda *args, **kwargs: None)
    batches = np.load(Path(__file__).parent / "data" / "mnist_late_batches.npz")["probs"].astype(np.float64)
    gaps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for sig in batches:
            sig /= sig.sum(1, keepdims=True)
            r = exact(sig, 100.0, tol=1e-8)
            gaps.append(r.gaps[-1])
            assert (r.labels == 0).mean() > 0.5  # on a face: most entries exactly 0
            fresh = certified_gap(sig, r.labels, 100.0, polish=True)[1]  # also the plain bound: never looser
            assert fresh <= r.gaps[-1] + 1e-12
            if r.converged:  # a certified answer reports the tighter of the two bounds, as certified_gap does
                assert fresh == pytest.approx(r.gaps[-1], abs=1e-12)
    assert max(gaps) <= 1e-7, gaps


def test_the_polished_bound_at_lambda_zero_is_a_lower_bound():
    """At λ = 0 the bound is ``mean_i h_i(c) + min_k c_k`` (ȳ on the simplex): multipliers fitted to a face
    need not have their minimum at 0, and without that term the polished certificate had reported a gap
    of 0 for labels 0.85 (relative) above the optimum — and ``exact`` had claimed convergence (review)."""
    sig = np.tile([[0.9, 0.1]], (20, 1))
    labels = np.full((20, 2), 0.5)
    p, p_star = -np.log(0.5), -np.log(0.9)
    for objective in ("eq11", "eq10"):
        gap, rel = certified_gap(sig, labels, 0.0, objective=objective, polish=True)
        assert gap >= p - p_star - 1e-12 and rel == pytest.approx((p - p_star) / p, rel=1e-9)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(20):  # near ties: rows repeated and two classes equal, where the fitted c is used
            s = problem(40, 4, seed=int(rng.integers(1 << 30)), scale=2.0)
            s[:5] = s[5]
            s[5:8, 0] = s[5:8, 1]
            s /= s.sum(1, keepdims=True)
            r = exact(s, 0.0, tol=1e-9)
            true = (r.history[-1] - np.mean(-np.log(s.max(1)))) / r.history[-1]  # P* at λ = 0: each point's top σ
            assert true <= r.gaps[-1] + 1e-12


def test_certify_skips_only_the_bound_that_cannot_matter():
    """With a solver's ``tol`` the plain bound is computed only where the polished one certifies (then the
    tighter of the two is reported), fails, P ≤ 0, or a prior is 0; P itself is the plain certificate's, bit
    for bit."""
    from ccel_core.solvers.certificate import certify

    rng = np.random.default_rng(3)
    for trial in range(30):
        sig = problem(60, 5, seed=trial)
        y = exact(sig, 100.0, tol=1e-6 if trial % 2 else 1e-3).labels  # face labels
        order = slope_order(sig)
        prior = np.full(5, 0.2) if trial % 3 else np.array([0.25, 0.25, 0.25, 0.25, 0.0])
        both = certify(sig, y, 100.0, prior, "eq11", order, polish=True)  # tol = inf: both bounds
        plain = certify(sig, y, 100.0, prior, "eq11", order)
        assert both[0] == plain[0]  # the same P, bit for bit
        assert both[1] <= plain[1]
        for tol in (1e-12, float(rng.uniform(1e-8, 1e-2)), 1.0):
            got = certify(sig, y, 100.0, prior, "eq11", order, polish=True, tol=tol)
            assert got[0] == both[0]
            if got[2] <= tol or prior.min() == 0:
                assert got[1:] == both[1:]  # a certified (or prior-0) answer has the tighter bound
            else:
                assert got[1] >= both[1]  # only the polished one: never tighter than both


def test_a_face_without_a_class_certifies_at_lambda_zero():
    """At λ = 0 the fairness term is 0 whatever ȳ is: labels that leave a class empty have a finite
    loss and certificate (the numba form had returned +inf, unlike the Python form)."""
    sig = np.tile([[0.4, 0.4, 0.2]], (30, 1))
    labels = np.tile([[0.5, 0.5, 0.0]], (30, 1))
    gap, rel = certified_gap(sig, labels, 0.0, polish=True)
    assert gap == pytest.approx(0.0, abs=1e-12) and rel == pytest.approx(0.0, abs=1e-12)
    r = exact(sig, 0.0)
    assert r.converged and r.history[-1] == pytest.approx(-np.log(0.4), rel=1e-12)


@pytest.mark.parametrize("objective", ["eq11", "eq10"])
@pytest.mark.parametrize("lam", [1e6, 1e10, 1e307])
def test_exact_at_huge_lambda_answers_honestly(lam, objective):
    """λ up to float64's limit: a result, never an exception from inside a kernel (λ = 1e307 raised
    ZeroDivisionError / LinAlgError); finite labels on the simplex and a certificate that says how
    far they are."""
    sig = problem(250, 10, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        r = exact(sig, lam, objective=objective, tol=1e-8)
    assert np.isfinite(r.labels).all() and (r.labels >= 0).all()
    np.testing.assert_allclose(r.labels.sum(1), 1.0, atol=1e-9)
    gap = certified_gap(sig, r.labels, lam, objective=objective, polish=True)[1]
    assert np.isfinite(gap) and np.isfinite(r.gaps[-1])  # two valid bounds (fresh: polished)
    c = polished_multipliers(sig, r.labels, lam, np.full(10, 0.1), objective)  # public: IEEE values, no raise
    assert c.shape == (10,)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert r.converged != warned  # not certified to tol: said so (λ = 1e6 is at float64's edge: either)
    if lam > 1e6:
        assert not r.converged


_SAME_ANSWER = """
import hashlib, sys, warnings
import numpy as np
from ccel_core.solvers import exact
warnings.simplefilter("ignore")
z = np.random.default_rng(0).normal(size=(250, 10)) * 3
sig = np.exp(z - z.max(1, keepdims=True)); sig /= sig.sum(1, keepdims=True)
if sys.argv[1] == "fortran-first":  # compiles the kernels for another array layout first
    exact(np.asfortranarray(sig[:40] / sig[:40].sum(1, keepdims=True)), 100.0)
r = exact(sig, 1e6, tol=1e-8)
print(r.status, hashlib.sha256(r.labels.tobytes()).hexdigest())
"""


def test_exact_answer_does_not_depend_on_what_the_process_solved_before():
    """Bit for bit, whatever the process compiled first: numba reuses a compiled specialization
    that the arguments convert to (C → any layout), and the fastmath kernels round differently per
    layout; strict kernels round the same for every layout (a fastmath build had broken
    resume-bit-for-bit in a test process that had solved other problems before)."""
    import subprocess
    import sys

    out = [
        subprocess.run(
            [sys.executable, "-c", _SAME_ANSWER, order], capture_output=True, text=True, timeout=600, check=True
        ).stdout
        for order in ("fresh", "fortran-first")
    ]
    assert out[0] == out[1], out


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 31), seed=st.integers(0, 2**31 - 1))
def test_the_small_system_inverse_matches_lapack(k: int, seed: int) -> None:
    """The interior step's K×K inverse (Gauss-Jordan, K < 32) against LAPACK's, to the accuracy
    the condition number allows; an exactly singular or NaN matrix raises LinAlgError as LAPACK's does."""
    from ccel_core.solvers._schur import small_inverse

    rng = np.random.default_rng(seed)
    a = np.eye(k) + rng.normal(size=(k, k)) * rng.uniform(0.01, 3.0)
    ref = np.linalg.inv(a)
    got = small_inverse(a.copy())
    assert np.abs(got - ref).max() <= 1e-12 * np.linalg.cond(a) * max(1.0, np.abs(ref).max())
    for bad in (np.zeros((k, k)), np.full((k, k), np.nan)):
        with pytest.raises(np.linalg.LinAlgError):
            small_inverse(bad)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_the_step_length_is_the_largest_step_that_stays_feasible(n: int, k: int, seed: int) -> None:
    """The face step's ``_max_step`` (a select and a four-lane minimum, no branch) against its definition:
    ``min(1, min over dx < 0 of x/(−dx))`` — exactly, as a minimum does not depend on the order."""
    from ccel_core.solvers._exact_kernels import _max_step

    rng = np.random.default_rng(seed)
    x = rng.random((n, k)) * rng.choice([1e-12, 1e-3, 1.0])
    dx = rng.normal(size=(n, k)) * rng.choice([1e-6, 1.0, 1e3])
    dx[rng.random((n, k)) < 0.2] = 0.0
    neg = dx < 0
    ref = min(1.0, float((x[neg] / -dx[neg]).min())) if neg.any() else 1.0
    assert _max_step(x, dx) == ref
    assert (x + _max_step(x, dx) * dx >= -1e-12 * np.abs(x).max()).all()
