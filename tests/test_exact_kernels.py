"""The exact y-step's numba kernels (class-major) against the vectorized numpy arithmetic they fuse, and
the fused interior steps against the same steps taken one call at a time."""

from __future__ import annotations

import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccel_core.solvers._backend import Backend
from ccel_core.solvers._exact_kernels import _face_direction, _max_step, _state, _step_from_inverse, workspace
from ccel_core.solvers._interior import _numba_steps
from ccel_core.solvers._ipm import Problem, blocks, newton
from ccel_core.solvers._schur import direction, factor


def _problem(n: int, k: int, seed: int, scale: float, lam: float, objective: str = "eq11") -> Problem:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * scale
    sig = np.exp(z - z.max(1, keepdims=True))
    sig /= sig.sum(1, keepdims=True)
    return Problem(np.ascontiguousarray(sig), lam, np.full(k, 1.0 / k), objective, Backend(sig))


def _start(pb: Problem, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    k = pb.sig.shape[1]
    y = 0.5 * pb.sig + 0.5 / k
    z = (rng.random(y.shape) * 1e-2 + 1e-4) / y
    return y, z


def _newton_residual(e: np.ndarray, r: np.ndarray, curv: np.ndarray, grad: np.ndarray, d: np.ndarray) -> float:
    """How far ``d`` (N × K) is from solving the Newton system it stands for, relative to the gradient:
    per point ``d_i/e_i + r_i (r_i·d_i) + curv∘Σ_j d_j + g_i = ν_i 1`` on the entries with ``e > 0``,
    ``d = 0`` where ``e = 0``, rows summing to 0."""
    s = d.sum(0)
    v = np.where(e > 0, d / np.where(e > 0, e, 1.0), 0.0) + r * (r * d).sum(1, keepdims=True) + curv * s + grad
    on = e > 0
    spread = np.where(on, v, -np.inf).max(1) - np.where(on, v, np.inf).min(1)  # ν_i: one value per point
    scale = float(np.abs(grad).max()) + float(np.abs(np.where(on, v, 0.0)).max())
    off = float(np.abs(np.where(on, 0.0, d)).max())
    rows = float(np.abs(d.sum(1)).max())
    return max(float(spread.max()) / scale, off, rows / max(float(np.abs(d).max()), 1e-300))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    k=st.integers(2, 40),
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([0.5, 3.0, 10.0]),
    lam=st.sampled_from([0.0, 1.0, 100.0]),
    objective=st.sampled_from(["eq11", "eq10"]),
)
def test_the_class_major_direction_solves_the_newton_system(
    n: int, k: int, seed: int, scale: float, lam: float, objective: str
) -> None:
    """The interior step's Newton direction (numba, class-major; K ≥ 32 inverts the K×K
    system) solves its system to rounding, and agrees with ``_ipm.newton``'s dense algebra (the numpy/torch
    path) to the accuracy both have."""
    pb = _problem(n, k, seed, scale, lam, objective)
    y, z = _start(pb, seed)
    a, grad, curv, r = pb.state(y)
    ref = newton(blocks(y / z, r), curv, grad, pb.ops)
    e_t, r_t = np.ascontiguousarray((y / z).T), np.ascontiguousarray(r.T)
    w, rho, b, binv, einv, ainv = factor(e_t, r_t, curv)
    got = np.empty_like(e_t)
    direction(e_t, einv, w, rho, b, binv, ainv, curv, np.ascontiguousarray(-grad.T), got)
    assert _newton_residual(y / z, r, curv, grad, got.T) <= 1e-9
    np.testing.assert_allclose(got.T, ref, rtol=1e-6, atol=1e-9 * float(np.abs(ref).max()))


@numba.njit(cache=False)
def _fresh_face_direction(sig_t, y, support, u, lam, eps):
    """The face kernel's direction with a workspace made in compiled code, as ``face_step`` makes it."""
    ws, gram = workspace(sig_t.shape[0], sig_t.shape[1], 6)
    return _face_direction(sig_t, y, support, u, lam, False, eps, ws, gram).copy()


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 50),
    k=st.integers(2, 12),
    seed=st.integers(0, 2**31 - 1),
    lam=st.sampled_from([1.0, 100.0]),
    eps=st.sampled_from([0.05, 1.0]),
)
def test_the_face_direction_solves_the_face_newton_system(n: int, k: int, seed: int, lam: float, eps: float) -> None:
    """The face kernel's Newton direction (class-major, ``e = 1/ε`` on the support, 0 off it) solves its
    system to rounding; its ``a = σ·y`` and ``G''/N`` are the dense ones. (At the solver's ε = 3e-4 the
    reduction to the K×K system cancels 3–4 digits in ``b = B⁻¹1``, and the residual is ~1e-5 of the
    gradient at λ = 100 — as it was in the point-major kernel before; the certificate, not the
    direction, decides what is returned.)"""
    pb = _problem(n, k, seed, 3.0, lam)
    rng = np.random.default_rng(seed)
    support = rng.random((n, k)) < 0.5
    support[np.arange(n), pb.sig.argmax(1)] = True
    support[np.arange(k) % n, np.arange(k)] = True  # every class keeps mass (G is finite)
    y = np.where(support, pb.sig + 0.1, 0.0)
    y /= y.sum(1, keepdims=True)
    a, grad, curv, r = pb.state(y)
    got = _fresh_face_direction(pb.sig_t, np.ascontiguousarray(y.T), np.ascontiguousarray(support.T), pb.u, lam, eps)
    # λ = 100 with classes of little mass: G''/N up to ~1e4 against e = 1/ε makes the K×K system's condition
    # number ~ N·e·G''/N, and rounding leaves residuals of ~1e-13 of it (1e-8 seen at 2 × 6)
    cond = 1.0 + n * float(curv.max()) / eps
    assert _newton_residual(np.where(support, 1.0 / eps, 0.0), r, curv, grad, got.T) <= max(1e-9, 1e-13 * cond)
    a_t, gp, curv_t = _state(pb.sig_t, np.ascontiguousarray(y.T), pb.u, lam, False)
    np.testing.assert_allclose(a_t, a, rtol=1e-14)
    np.testing.assert_allclose(gp, (grad + r)[0], rtol=1e-12, atol=1e-12 * float(np.abs(grad).max()))  # ∇f = −r + G'
    np.testing.assert_allclose(curv_t, curv, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 80),
    k=st.integers(2, 15),
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([1.0, 5.0, 20.0]),
    limit=st.integers(1, 25),
    gate=st.sampled_from([0.0, 1e-6, 1e-3]),
)
def test_fused_interior_steps_are_the_steps_one_by_one(
    n: int, k: int, seed: int, scale: float, limit: int, gate: float
) -> None:
    """``pd_steps`` with a step limit and a gate returns, bit for bit, the iterate (and the one before it)
    that single steps reach, stopping at the first estimate ``K·μ/P`` at or below the gate."""
    pb = _problem(n, k, seed, scale, 100.0)
    y, z = _start(pb, seed)
    fused = _numba_steps(pb, y, z, gate, limit)
    trail = [(y, z)]
    estimate, failed = np.inf, False
    for _ in range(limit):
        y, z, _, _, steps, last, failed = _numba_steps(pb, y, z, gate, 1)
        if failed:
            break
        trail.append((y, z))
        estimate = last
        if estimate <= gate:
            break
    assert fused[4] == len(trail) - 1
    assert (fused[5], fused[6]) == (estimate, failed)
    np.testing.assert_array_equal(fused[0], trail[-1][0])
    np.testing.assert_array_equal(fused[1], trail[-1][1])
    if len(trail) > 2:  # the iterate before the last one (None when there is none between it and the start)
        np.testing.assert_array_equal(fused[2], trail[-2][0])
        np.testing.assert_array_equal(fused[3], trail[-2][1])
    else:
        assert fused[2] is None and fused[3] is None
    if fused[4] < limit and not fused[6]:  # stopped early without a failure: at the gate
        assert fused[5] <= gate


def test_a_step_float64_cannot_compute_is_not_taken() -> None:
    """λ = 1e308: the first step's K×K system overflows; the fused steps return the start unchanged and
    say so (``exact`` then keeps its best certified iterate and warns)."""
    pb = _problem(30, 5, 0, 3.0, 1e308)
    y, z = _start(pb, 0)
    y_new, z_new, y_prev, _, steps, _, failed = _numba_steps(pb, y, z, -1.0, 50)
    assert failed and steps == 0 and y_prev is None
    np.testing.assert_array_equal(y_new, y)
    np.testing.assert_array_equal(z_new, z)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 12), seed=st.integers(0, 2**31 - 1), p_empty=st.sampled_from([0.0, 0.3]))
def test_the_face_projection_kernel_is_the_vectorized_one(n: int, k: int, seed: int, p_empty: float) -> None:
    """``on_face`` (numba for numpy, vectorized for torch): the same support — a row without one keeps its
    largest entries, ties included — and labels equal to rounding, rows summing to 1."""
    import torch

    from ccel_core.solvers._face import on_face

    rng = np.random.default_rng(seed)
    y = rng.random((n, k))
    y[rng.random((n, k)) < 0.2] = 0.5  # ties for the largest entry
    support = rng.random((n, k)) < 0.5
    support[rng.random(n) < p_empty] = False
    pb = _problem(n, k, seed, 1.0, 1.0)
    got, got_support = on_face(pb, y, support)
    pbt = Problem(torch.from_numpy(pb.sig), 1.0, torch.from_numpy(pb.u), "eq11", Backend(torch.from_numpy(pb.sig)))
    ref, ref_support = on_face(pbt, torch.from_numpy(y), torch.from_numpy(support))
    np.testing.assert_array_equal(got_support, ref_support.numpy())
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-14)
    assert (got[~got_support] == 0).all()


@pytest.mark.parametrize("case", range(8))
def test_exact_with_fused_steps_is_exact_one_step_per_call(monkeypatch: pytest.MonkeyPatch, case: int) -> None:
    """``exact`` with the interior steps fused (the default) returns what it returns with one kernel call per
    step: labels, n_iter, status, and the trace's P and gaps entry by entry — across iteration budgets that
    end inside a fused run, real-like sharp σ, λ = 0 and the λ = 1e308 failure."""
    import ccel_core.solvers._interior as interior
    from ccel_core.solvers import exact

    lam, max_iter, scale = [(100.0, 100, 5.0), (100.0, 1, 5.0), (100.0, 2, 5.0), (100.0, 4, 20.0),
                            (100.0, 7, 20.0), (0.0, 100, 3.0), (1.0, 12, 3.0), (1e308, 20, 3.0)][case]  # fmt: skip
    pb = _problem(120, 10, case, scale, lam)

    def solve() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return exact(pb.sig, lam, max_iter=max_iter, tol=1e-9)

    fused = solve()
    single = interior._numba_steps
    monkeypatch.setattr(interior, "_numba_steps", lambda pb, y, z, gate, limit: single(pb, y, z, gate, 1))
    stepwise = solve()
    np.testing.assert_array_equal(fused.labels, stepwise.labels)
    assert (fused.n_iter, fused.status, fused.converged) == (stepwise.n_iter, stepwise.status, stepwise.converged)
    assert fused.history == stepwise.history and fused.gaps == stepwise.gaps
    assert len(fused.times) == len(stepwise.times) and fused.times == sorted(fused.times)


def test_the_face_projection_kernel_on_rows_it_cannot_rescale() -> None:
    """A row whose support sums to 0 comes back NaN (as numpy's division did: no ZeroDivisionError from the
    kernel), a NaN row's support is emptied, and inf or NaN off the support is set to 0 (documented)."""
    from ccel_core.solvers._face import on_face

    pb = _problem(4, 3, 0, 1.0, 1.0)
    y = np.array([[0.0, 0.0, 1.0], [np.nan, np.nan, np.nan], [0.5, np.inf, 0.5], [0.2, 0.3, np.nan]])
    support = np.array([[True, True, False], [True, True, True], [True, False, True], [True, True, False]])
    got, got_support = on_face(pb, y, support)
    assert np.isnan(got[0]).all() and np.isnan(got[1]).all()
    np.testing.assert_array_equal(got[2], [0.5, 0.0, 0.5])
    np.testing.assert_allclose(got[3], [0.4, 0.6, 0.0], rtol=1e-15)
    np.testing.assert_array_equal(got_support, support)


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 12),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    signs=st.sampled_from(["mixed", "nonnegative"]),
)
def test_the_step_length_from_inverses_is_the_ratio_test(k: int, n: int, seed: int, scale: float, signs: str) -> None:
    """``α = 1/max(−dx/x)`` (from ``1/x``) equals the ratio test ``min(1, min_{dx<0} x/(−dx))`` to a few ulps, in
    every lane and the remainder, and is 1 when nothing decreases or no ratio is below 1."""
    rng = np.random.default_rng(seed)
    x = rng.random((k, n)) + 1e-3
    dx = rng.normal(size=(k, n)) * scale
    if signs == "nonnegative":
        dx = np.abs(dx)
    neg = dx < 0
    want = min(1.0, float((x[neg] / -dx[neg]).min())) if neg.any() else 1.0
    assert _max_step(x, dx) == want
    got = _step_from_inverse(1.0 / x, dx)
    assert got == pytest.approx(want, rel=1e-14, abs=0.0)


def test_the_step_length_from_inverses_at_zeros_infinities_and_nan() -> None:
    """The edge cases of ``_step_from_inverse`` as the ratio test has them: an entry with ``dx ≥ 0`` (also
    ``−0.0``) or a NaN direction limits nothing; ``x = 0`` (``1/x = inf``) going down stops the step; an
    entry at 0 that stays (``dx = 0``) does not; an unbounded ``x`` limits nothing."""
    ones = np.ones(5)
    for x, dx, want in [
        (ones, np.array([0.0, -0.0, 1.0, 2.0, 0.0]), 1.0),
        (ones, np.array([np.nan, -0.5, 0.0, 0.0, 0.0]), 1.0),
        (ones, np.array([np.nan, -4.0, 0.0, 0.0, 0.0]), 0.25),
        (np.array([0.0, 1.0, 1.0, 1.0, 1.0]), np.array([-1.0, 0.0, 0.0, 0.0, 0.0]), 0.0),
        (np.array([0.0, 1.0, 1.0, 1.0, 1.0]), np.array([0.0, -2.0, 0.0, 0.0, 0.0]), 0.5),
        (np.array([np.inf, 1.0, 1.0, 1.0, 1.0]), np.array([-1.0, -0.5, 0.0, 0.0, 0.0]), 1.0),
    ]:
        with np.errstate(divide="ignore"):
            ix = 1.0 / x
        assert _step_from_inverse(ix, dx) == want
        assert _max_step(x, dx) == want
