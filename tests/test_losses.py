"""The CE family against docs/math.md §2 properties (a)–(e), torch references and gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ccel_core.losses import (
    CollisionCrossEntropyLoss,
    RenyiCrossEntropyLoss,
    ShannonCrossEntropyLoss,
    collision_cross_entropy,
    collision_entropy,
    entropy,
    kl_divergence,
    renyi_cross_entropy,
    shannon_cross_entropy,
)

DTYPES = [torch.float32, torch.float64]


@st.composite
def problems(draw, soft=True):
    """(logits, target probabilities) with K in 2..50, float32 or float64."""
    k = draw(st.integers(2, 50))
    n = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    sparsity = draw(st.sampled_from([0.0, 0.5]))
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, k, generator=g, dtype=torch.float64) * scale).to(dtype)
    raw = torch.rand(n, k, generator=g, dtype=torch.float64)
    raw = torch.where(torch.rand(n, k, generator=g, dtype=torch.float64) < sparsity, 0.0, raw)
    raw[torch.arange(n), torch.randint(k, (n,), generator=g)] += 0.1  # no all-zero row
    target = (raw / raw.sum(1, keepdim=True)).to(dtype)
    return logits, target


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


def direct_collision(logits, target):
    """Independent reference straight from the definition −ln Σ_k y_k σ_k (float64)."""
    sigma = torch.softmax(logits.double(), 1)
    return -torch.log((target.double() * sigma).sum(1))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_matches_definition(p):
    logits, y = p
    out = collision_cross_entropy(logits, y, reduction="none")
    assert out.dtype == logits.dtype
    torch.testing.assert_close(out.double(), direct_collision(logits, y), **tol(logits.dtype))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_a_symmetric(p):
    """(a) H₂(y, σ) = H₂(σ, y): swap roles by feeding log y as logits and σ as target."""
    logits, y = p
    y = y.double() * 0.98 + 0.02 / y.shape[1]  # strictly positive so ln y is finite
    y = y / y.sum(1, keepdim=True)  # exactly on the simplex in float64, so softmax(ln y) = y
    sigma = torch.softmax(logits.double(), 1)
    forward = collision_cross_entropy(logits.double(), y, reduction="none")
    swapped = collision_cross_entropy(torch.log(y), sigma, reduction="none")
    torch.testing.assert_close(forward, swapped, rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_b_one_hot_equals_shannon_and_torch(p):
    logits, _ = p
    n, k = logits.shape
    idx = torch.arange(n) % k
    onehot = F.one_hot(idx, k).to(logits.dtype)
    ref = F.cross_entropy(logits, idx, reduction="none")
    for target in (onehot, idx):
        torch.testing.assert_close(collision_cross_entropy(logits, target, reduction="none"), ref, **tol(logits.dtype))
        torch.testing.assert_close(shannon_cross_entropy(logits, target, reduction="none"), ref, **tol(logits.dtype))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_c_uniform_target_constant_and_zero_gradient(p):
    logits, _ = p
    logits = logits.clone().requires_grad_(True)
    k = logits.shape[1]
    y = torch.full_like(logits, 1.0 / k)
    loss = collision_cross_entropy(logits, y, reduction="none")
    torch.testing.assert_close(loss.detach(), torch.full_like(loss, math.log(k)), **tol(logits.dtype))
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    assert grad.abs().max() <= (1e-5 if logits.dtype == torch.float32 else 1e-12)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_d_decomposition_and_nonnegative(p):
    """(d) H₂(y,σ) = −ln cos∠(y,σ) + ½H₂(y) + ½H₂(σ) >= 0."""
    logits, y = p
    logits, y = logits.double(), y.double()
    sigma = torch.softmax(logits, 1)
    cos = (y * sigma).sum(1) / (y.norm(dim=1) * sigma.norm(dim=1))
    rhs = -torch.log(cos) + 0.5 * collision_entropy(y) + 0.5 * collision_entropy(sigma)
    lhs = collision_cross_entropy(logits, y, reduction="none")
    torch.testing.assert_close(lhs, rhs, rtol=1e-9, atol=1e-9)
    assert (lhs >= -1e-12).all()


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_e_below_shannon(p):
    logits, y = p
    h2 = collision_cross_entropy(logits, y, reduction="none")
    h = shannon_cross_entropy(logits, y, reduction="none")
    slack = 1e-4 if logits.dtype == torch.float32 else 1e-10
    assert (h2 <= h + slack).all()


@settings(max_examples=40, deadline=None)
@given(problems())
def test_renyi_limits(p):
    logits, y = p
    logits, y = logits.double(), y.double()
    y = y / y.sum(1, keepdim=True)
    torch.testing.assert_close(
        renyi_cross_entropy(logits, y, alpha=2.0, reduction="none"),
        collision_cross_entropy(logits, y, reduction="none"),
        rtol=1e-10,
        atol=1e-10,
    )
    shannon = shannon_cross_entropy(logits, y, reduction="none")
    # H_α = H − (α−1)/2 · Var_y[ln σ] + O((α−1)²): the gap must shrink linearly with |α − 1|.
    log_sigma = torch.log_softmax(logits, 1)
    var = (y * (log_sigma - (y * log_sigma).sum(1, keepdim=True)) ** 2).sum(1)
    for eps in (1e-3, 1e-5, 1e-7, 1e-9):
        for alpha in (1 - eps, 1 + eps):
            near = renyi_cross_entropy(logits, y, alpha=alpha, reduction="none")
            bound = eps * (0.5 * var + 1) * 1.5 + 1e-9
            assert ((near - shannon).abs() <= bound).all(), (alpha, near, shannon)
    torch.testing.assert_close(renyi_cross_entropy(logits, y, alpha=1.0, reduction="none"), shannon)


def test_renyi_monotone_in_alpha():
    """Rényi CE is non-increasing in α (power-mean inequality)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(20, 7, generator=g, dtype=torch.float64)
    y = torch.softmax(torch.randn(20, 7, generator=g, dtype=torch.float64), 1)
    vals = torch.stack([renyi_cross_entropy(logits, y, a, reduction="none") for a in (0.5, 1.0, 1.5, 2.0, 3.0)])
    assert (vals[:-1] - vals[1:] >= -1e-12).all()


def test_gradcheck():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), 1)
    y[0] = torch.tensor([0.0, 0.3, 0.7, 0.0, 0.0], dtype=torch.float64)
    y.requires_grad_(True)
    for fn in (collision_cross_entropy, shannon_cross_entropy):
        assert torch.autograd.gradcheck(lambda a, fn=fn: fn(a, y.detach(), "sum"), (logits,))
    assert torch.autograd.gradcheck(lambda a: renyi_cross_entropy(a, y.detach(), 3.0, "sum"), (logits,))
    # Gradient w.r.t. a strictly positive target (collision CE is symmetric, so y can be learned too).
    ypos = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: collision_cross_entropy(logits.detach(), t, "sum"), (ypos,), eps=1e-7)
    # ... jointly through the custom backward, and twice.
    assert torch.autograd.gradcheck(lambda a, t: collision_cross_entropy(a, t, "sum"), (logits, ypos), eps=1e-7)
    assert torch.autograd.gradgradcheck(lambda a, t: collision_cross_entropy(a, t, "sum"), (logits, ypos), eps=1e-7)
    # Targets without a gradient (the θ-step's pseudo-labels, a zero entry in row 0) take the one-node
    # path (_CollisionRows): its second derivative too, and both paths give one gradient.
    assert torch.autograd.gradgradcheck(lambda a: collision_cross_entropy(a, y.detach(), "sum"), (logits,))
    composite = torch.autograd.grad(collision_cross_entropy(logits, y, "sum"), logits)[0]
    for create_graph in (False, True):  # the saved terms, and the logits' differentiable recomputation
        fused = torch.autograd.grad(
            collision_cross_entropy(logits, y.detach(), "sum"), logits, create_graph=create_graph
        )
        torch.testing.assert_close(fused[0], composite, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("logits", [[1.0, 1.0, 0.5, 2.0], [0.0, 0.0, 0.0, 0.0]], ids=["tie", "zero-init"])
def test_second_derivative_at_tied_logits(logits):
    """Tied logits on the target's support (e.g. a zero-initialized head): the one-node path's double
    backward is the composite form's, whose clamp does not cut the tied class's derivative."""
    x = torch.tensor([logits], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0.3, 0.5, 0.2, 0.0]], dtype=torch.float64)
    assert torch.autograd.gradgradcheck(lambda a: collision_cross_entropy(a, y, "sum"), (x,))


def test_subnormal_top_of_support_keeps_the_value():
    """float32: the class with the highest logit carries a subnormal target mass and the real mass lies far
    below it in logit, so every term of Σ_k y_k e^{l_k − l_j} is subnormal in float32; the value and gradient
    stay at float32 accuracy against a float64 evaluation of −ln(σ·y)."""
    logits = torch.tensor([[0.0, -35.0, -200.0]], requires_grad=True)
    y = torch.tensor([[1.5e-45, 1e-30, 1.0]])
    loss = collision_cross_entropy(logits, y, "sum", validate=False)
    l64, y64 = logits.detach().double().requires_grad_(True), y.double()  # the float32 values, exactly
    ref = -torch.log((torch.softmax(l64, 1) * y64).sum())
    torch.testing.assert_close(loss.double(), ref.detach(), rtol=1e-6, atol=0.0)
    (g,) = torch.autograd.grad(loss, logits)
    (g64,) = torch.autograd.grad(ref, l64)
    torch.testing.assert_close(g.double(), g64, rtol=1e-5, atol=1e-6)


def test_target_changed_in_place_after_the_forward():
    """The one-node path keeps what its backward needs: a target overwritten after the forward (a label buffer
    reused) changes neither the gradient nor raises."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(torch.randn(5, 4, generator=g, dtype=torch.float64), 1)
    (want,) = torch.autograd.grad(collision_cross_entropy(x, y.clone()), x)
    loss = collision_cross_entropy(x, y)
    y.copy_(torch.eye(4, dtype=torch.float64)[torch.arange(5) % 4])
    (got,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(got, want, rtol=1e-14, atol=0.0)


def test_zero_target_entries_give_finite_gradients():
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 1.0]], dtype=torch.float64, requires_grad=True)
    loss = collision_cross_entropy(logits, y)
    gl, gy = torch.autograd.grad(loss, (logits, y))
    assert torch.isfinite(gl).all() and torch.isfinite(gy).all()
    # d/dy_k of −ln(σ·y)/N is −σ_k/(N σ·y), also where y_k = 0.
    sigma = torch.softmax(logits, 1)
    expected = -sigma / (3 * (sigma * y).sum(1, keepdim=True))
    torch.testing.assert_close(gy, expected.detach())


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_reductions_and_modules(reduction):
    logits = torch.randn(6, 3, dtype=torch.float64)
    y = torch.softmax(torch.randn(6, 3, dtype=torch.float64), 1)
    per = collision_cross_entropy(logits, y, reduction="none")
    expect = {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]
    torch.testing.assert_close(collision_cross_entropy(logits, y, reduction=reduction), expect)
    torch.testing.assert_close(CollisionCrossEntropyLoss(reduction)(logits, y), expect)
    torch.testing.assert_close(
        ShannonCrossEntropyLoss(reduction)(logits, y), shannon_cross_entropy(logits, y, reduction)
    )
    torch.testing.assert_close(RenyiCrossEntropyLoss(2.0, reduction)(logits, y), expect)


def test_entropy_helpers_against_scipy():
    from scipy.stats import entropy as sp_entropy

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=5)
    q = rng.dirichlet(np.ones(6), size=5)
    p[0, :3] = [0.5, 0.5, 0.0]
    p[0, 3:] = 0.0
    pt, qt = torch.from_numpy(p), torch.from_numpy(q)
    np.testing.assert_allclose(entropy(pt).numpy(), sp_entropy(p, axis=1), rtol=1e-12)
    np.testing.assert_allclose(kl_divergence(pt, qt).numpy(), sp_entropy(p, q, axis=1), rtol=1e-12)
    np.testing.assert_allclose(collision_entropy(pt).numpy(), -np.log((p**2).sum(1)), rtol=1e-12)
    assert torch.isinf(kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])))


# ------------------------------------------------------------------------------------------
# extreme but valid inputs
# ------------------------------------------------------------------------------------------
def test_extreme_inputs_finite():
    # logits ±100 in float32, targets concentrated on the least likely class
    logits = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, -100.0]], dtype=torch.float32, requires_grad=True)
    y = torch.tensor([[0.0, 1.0, 0.0], [1e-30, 0.0, 1.0 - 1e-30]], dtype=torch.float32)
    for fn in (collision_cross_entropy, shannon_cross_entropy, lambda a, b, r: renyi_cross_entropy(a, b, 3.0, r)):
        loss = fn(logits, y, "sum")
        (g,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(g).all()
    torch.testing.assert_close(collision_cross_entropy(logits, y, "none")[0], torch.tensor(200.0))
    # K = 1000, N = 1, probabilities 1e-30
    k = 1000
    logits = torch.randn(1, k, dtype=torch.float64)
    y = torch.full((1, k), 1e-30, dtype=torch.float64)
    y[0, 0] = 1 - 1e-30 * (k - 1)
    torch.testing.assert_close(collision_cross_entropy(logits, y, "none"), direct_collision(logits, y))
    assert torch.isfinite(renyi_cross_entropy(logits, y, 1 + 1e-9))


def test_k_equals_one():
    logits = torch.randn(3, 1)
    assert torch.equal(collision_cross_entropy(logits, torch.ones(3, 1), "none"), torch.zeros(3))
    assert torch.equal(collision_cross_entropy(logits, torch.zeros(3, dtype=torch.long), "none"), torch.zeros(3))


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "logits, target, match",
    [
        (torch.randn(3, 4), torch.full((3, 5), 0.2), r"shape=\(3, 5\) does not match input shape=\(3, 4\)"),
        (torch.randn(3, 0), torch.zeros(3, 0), r"K=0 should be >= 1"),
        (torch.tensor([[float("nan"), 0.0]]), torch.tensor([[0.5, 0.5]]), r"1 NaN/Inf logits"),
        (torch.tensor([[0.0, 0.0]]), torch.tensor([[float("inf"), 0.5]]), r"target contains 1 NaN/Inf"),
        (torch.zeros(1, 2), torch.tensor([[1.5, -0.5]]), r"negative probabilities \(min=-0.5\)"),
        (torch.zeros(2, 2), torch.tensor([[0.5, 0.5], [0.6, 0.6]]), r"row 1 sums to 1.2"),
        (torch.zeros(2, 3), torch.tensor([0, 3]), r"class index 3 is out of range; expected 0 <= index < K=3"),
        (torch.zeros(2, 3), torch.tensor([-1, 0]), r"class index -1 is out of range"),
        (torch.zeros(2, 3), torch.tensor([True, False]), r"got dtype=torch.bool"),
        (torch.zeros(2, 3), torch.tensor([0, 1, 2]), r"shape \(2,\), got shape=\(3,\)"),
        (torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1]), r"floating-point logits"),
        (torch.zeros(6), torch.tensor([0, 1]), r"shape \(N, K\)"),
    ],
)
def test_bad_input_raises(logits, target, match):
    with pytest.raises(ValueError, match=match):
        collision_cross_entropy(logits, target)


def test_bad_reduction_and_alpha():
    with pytest.raises(ValueError, match="reduction='avg' is not valid"):
        collision_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), reduction="avg")
    with pytest.raises(ValueError, match="reduction='x'"):
        CollisionCrossEntropyLoss("x")
    for alpha in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="alpha="):
            renyi_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), alpha=alpha)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_mixed_devices_rejected():
    logits = torch.randn(8, 5, dtype=torch.float64)
    y = torch.softmax(torch.randn(8, 5, dtype=torch.float64), 1)
    torch.testing.assert_close(
        collision_cross_entropy(logits.cuda(), y.cuda()).cpu(), collision_cross_entropy(logits, y)
    )
    with pytest.raises(ValueError, match="one device"):
        collision_cross_entropy(logits.cuda(), y)


# ------------------------------------------------------------------------------------------
# extra dimensions and ignore_index, against torch.nn.functional.cross_entropy
# ------------------------------------------------------------------------------------------
LOSSES = [collision_cross_entropy, shannon_cross_entropy, lambda x, t, **kw: renyi_cross_entropy(x, t, 1.5, **kw)]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("fn", LOSSES)
def test_spatial_class_indices_with_ignore_index_equal_torch(fn, reduction):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, 6, generator=g, dtype=torch.float64)
    t = torch.randint(0, 5, (3, 4, 6), generator=g)
    t[0, 0, :3] = 255
    ours = fn(x, t, reduction=reduction, ignore_index=255)
    ref = F.cross_entropy(x, t, reduction=reduction, ignore_index=255)
    torch.testing.assert_close(ours, ref)


def test_spatial_soft_targets_equal_the_row_form_and_torch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(2 * torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64), 1)
    rows_x, rows_y = x.movedim(1, -1).reshape(-1, 4), y.movedim(1, -1).reshape(-1, 4)
    per_pixel = collision_cross_entropy(x, y, "none")
    assert per_pixel.shape == (2, 3, 5)
    torch.testing.assert_close(per_pixel.reshape(-1), collision_cross_entropy(rows_x, rows_y, "none"))
    torch.testing.assert_close(shannon_cross_entropy(x, y), F.cross_entropy(x, y))
    assert torch.autograd.gradcheck(lambda a: collision_cross_entropy(a, y), (x,))


def test_everything_ignored_gives_zero_not_nan():
    x = torch.randn(4, 3, requires_grad=True)
    t = torch.full((4,), -100)
    for fn in LOSSES:
        loss = fn(x, t)
        loss.backward()
        assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros_like(x))
        x.grad = None


def test_modules_pass_ignore_index_and_validate_it():
    x, t = torch.randn(3, 4), torch.tensor([1, 7, 2])
    torch.testing.assert_close(CollisionCrossEntropyLoss(ignore_index=7)(x, t), F.cross_entropy(x, t, ignore_index=7))
    assert "ignore_index=7" in repr(RenyiCrossEntropyLoss(1.5, ignore_index=7))
    with pytest.raises(ValueError, match=r"ignore_index=1.5 is not valid"):
        CollisionCrossEntropyLoss(ignore_index=1.5)
    with pytest.raises(ValueError, match=r"class index 7 is out of range.*ignore_index=-100"):
        collision_cross_entropy(x, t)
    with pytest.raises(ValueError, match=r"class-index target must have shape \(3, 2\), got shape=\(3, 3\)"):
        collision_cross_entropy(torch.randn(3, 4, 2), torch.zeros(3, 3, dtype=torch.long))


# ------------------------------------------------------------------------------------------
# entropies: input validation and dim
# ------------------------------------------------------------------------------------------
def _kl_p(p):
    return kl_divergence(p, torch.full_like(p, 1.0 / p.shape[-1]))


def _kl_q(q):
    return kl_divergence(torch.full_like(q, 1.0 / q.shape[-1]), q)


BAD_PROBABILITIES = [  # (probabilities, message pattern for the argument NAME)
    (
        torch.tensor([[0.5, 0.5], [1.5, -0.5]]),
        r"^NAME has negative probabilities \(min=-0.5\); expected every entry >= 0$",
    ),
    (torch.tensor([[0.5, 0.5], [0.6, 0.6]]), r"^rows of NAME must sum to 1 \(tolerance 0.00035\); row 1 sums to 1.2"),
    (torch.tensor([[2.0, 3.0]]), r"^rows of NAME must sum to 1 .*; row 0 sums to 5$"),
    (torch.tensor([[float("nan"), 1.0]]), r"^NAME contains 1 NaN/Inf values; expected finite probabilities$"),
    (torch.tensor([[float("inf"), 0.0]]), r"^NAME contains 1 NaN/Inf values"),
]


@pytest.mark.parametrize("p, match", BAD_PROBABILITIES)
@pytest.mark.parametrize("fn, name", [(entropy, "p"), (collision_entropy, "p"), (_kl_p, "p"), (_kl_q, "q")])
def test_entropies_reject_bad_probabilities_naming_the_argument(fn, name, p, match):
    with pytest.raises(ValueError, match=match.replace("NAME", name)):
        fn(p)


def test_entropies_reject_non_tensors_bad_dtype_and_bad_dim():
    with pytest.raises(ValueError, match=r"p must be a torch.Tensor of probabilities, got list"):
        entropy([0.5, 0.5])
    with pytest.raises(ValueError, match=r"p must be a floating-point tensor.*torch.int64"):
        collision_entropy(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"q must be a floating-point tensor"):
        kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([1, 0]))
    with pytest.raises(
        ValueError, match=r"dim=2 is not valid for p of shape=\(3, 2\); expected an integer in \[-2, 1\]"
    ):
        entropy(torch.full((3, 2), 0.5), dim=2)
    with pytest.raises(ValueError, match=r"dim=0.5 is not valid"):
        entropy(torch.full((3, 2), 0.5), dim=0.5)
    with pytest.raises(ValueError, match=r"p must have a class dimension K >= 1 \(dim=-1\), got shape=\(3, 0\)"):
        entropy(torch.zeros(3, 0))
    with pytest.raises(ValueError, match=r"p shape=\(2,\) does not match q shape=\(3,\)"):
        kl_divergence(torch.tensor([0.5, 0.5]), torch.full((3,), 1 / 3))


def test_entropies_keep_zero_log_zero_and_infinite_kl():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(entropy(p), torch.tensor([0.0, math.log(2)], dtype=torch.float64))
    torch.testing.assert_close(collision_entropy(p), torch.tensor([0.0, math.log(2)], dtype=torch.float64))
    kl = kl_divergence(p, torch.tensor([[0.0, 1.0], [0.5, 0.5]], dtype=torch.float64))
    assert math.isinf(kl[0]) and kl[0] > 0 and kl[1] == 0
    # q_k = 0 where p_k = 0 is fine (0 ln 0/0 = 0), and tiny but valid probabilities give no NaN
    assert kl_divergence(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0])) == 0
    tiny = torch.tensor([1 - 1e-30, 1e-30], dtype=torch.float64)
    for value in (entropy(tiny), collision_entropy(tiny), kl_divergence(tiny, tiny.flip(0))):
        assert torch.isfinite(value)


def test_entropies_along_dim():
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(torch.randn(4, 5, 3, generator=g, dtype=torch.float64), dim=1)  # classes along dim 1
    q = torch.softmax(torch.randn(4, 5, 3, generator=g, dtype=torch.float64), dim=1)
    last_p, last_q = p.movedim(1, -1), q.movedim(1, -1)
    for dim in (1, -2):
        torch.testing.assert_close(entropy(p, dim=dim), entropy(last_p), rtol=0, atol=0)
        torch.testing.assert_close(collision_entropy(p, dim=dim), collision_entropy(last_p), rtol=0, atol=0)
        torch.testing.assert_close(kl_divergence(p, q, dim=dim), kl_divergence(last_p, last_q), rtol=0, atol=0)
    # rows along dim 1 sum to 1 but those along the last dim do not: the check follows dim
    with pytest.raises(ValueError, match=r"rows of p must sum to 1"):
        entropy(p)
    with pytest.raises(ValueError, match=r"rows of q must sum to 1"):
        kl_divergence(torch.softmax(q, -1), q)  # p is fine along the last dim, q is not
    bad = p.clone()
    bad[2, :, 1] *= 2
    with pytest.raises(ValueError, match=r"rows of p along dim=1 must sum to 1 .*; row \(2, 1\) sums to 2"):
        collision_entropy(bad, dim=1)


# ------------------------------------------------------------------------------------------
# validate=False
# ------------------------------------------------------------------------------------------
def _validate_cases():
    """(name, call(validate) -> (value, grads)) on valid input: soft, indices + ignore_index, (N, K, d)."""
    g = torch.Generator().manual_seed(7)
    x2 = torch.randn(6, 4, generator=g, dtype=torch.float32)
    y2 = torch.softmax(3 * torch.randn(6, 4, generator=g), 1)
    y2[0] = torch.tensor([0.0, 1.0, 0.0, 0.0])
    x3 = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    y3 = torch.softmax(torch.randn(3, 4, 5, generator=g, dtype=torch.float64), 1)
    t2 = torch.tensor([0, 3, -100, 2, 1, -100])
    t3 = torch.randint(0, 4, (3, 5), generator=g)
    t3[1, 2:] = 9
    fns = {
        "collision": lambda a, b, **kw: collision_cross_entropy(a, b, **kw),
        "shannon": lambda a, b, **kw: shannon_cross_entropy(a, b, **kw),
        "renyi": lambda a, b, **kw: renyi_cross_entropy(a, b, 1.5, **kw),
        "renyi~1": lambda a, b, **kw: renyi_cross_entropy(a, b, 1 + 1e-8, **kw),
    }
    cases = []
    for fname, fn in fns.items():
        for reduction in ("none", "mean", "sum"):
            for xname, x, t, ignore in (
                ("soft", x2, y2, -100),
                ("soft-d", x3, y3, -100),
                ("index", x2, t2, -100),
                ("index-d", x3, t3, 9),
            ):
                cases.append(
                    (f"{fname}-{xname}-{reduction}", fn, x, t, {"reduction": reduction, "ignore_index": ignore})
                )
    return cases


@pytest.mark.parametrize("case", _validate_cases(), ids=lambda c: c[0])
def test_validate_false_gives_identical_values_and_gradients(case):
    _, fn, x, t, kw = case
    results = []
    for validate in (True, False):
        a = x.clone().requires_grad_(True)
        b = t.clone().requires_grad_(True) if t.is_floating_point() else t
        loss = fn(a, b, validate=validate, **kw)
        grads = torch.autograd.grad(loss.sum(), [a] + ([b] if t.is_floating_point() else []))
        results.append((loss.detach(), grads))
    (l1, g1), (l2, g2) = results
    assert torch.equal(l1, l2)
    assert all(torch.equal(u, v) for u, v in zip(g1, g2))
    assert torch.isfinite(l1).all() and all(torch.isfinite(u).all() for u in g1)


def test_validate_false_modules_and_entropies_identical():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(5, 3, generator=g)
    y = torch.softmax(torch.randn(5, 3, generator=g), 1)
    for cls, args in ((CollisionCrossEntropyLoss, ()), (ShannonCrossEntropyLoss, ()), (RenyiCrossEntropyLoss, (0.5,))):
        fast = cls(*args, "sum", validate=False)
        assert fast.validate is False and cls(*args).validate is True
        assert "validate=False" in repr(fast) and "validate" not in repr(cls(*args))
        assert torch.equal(fast(x, y), cls(*args, "sum")(x, y))
    p = torch.softmax(torch.randn(4, 6, 2, generator=g, dtype=torch.float64), 1)
    q = torch.softmax(torch.randn(4, 6, 2, generator=g, dtype=torch.float64), 1)
    assert torch.equal(entropy(p, 1, validate=False), entropy(p, 1))
    assert torch.equal(collision_entropy(p, dim=1, validate=False), collision_entropy(p, dim=1))
    assert torch.equal(kl_divergence(p, q, 1, validate=False), kl_divergence(p, q, 1))


def _all_calls(validate):
    """Every public functional and module on valid input, with the given ``validate``."""
    g = torch.Generator().manual_seed(9)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.randn(4, 3, 2, generator=g).to(device).requires_grad_(True)
    y = torch.softmax(torch.randn(4, 3, 2, generator=g), 1).to(device)
    t = torch.tensor([[0, 2], [1, -100], [2, 2], [0, 1]], device=device)
    out = []
    for target in (y, t):
        out += [
            collision_cross_entropy(x, target, validate=validate),
            shannon_cross_entropy(x, target, validate=validate),
            renyi_cross_entropy(x, target, 3.0, validate=validate),
            CollisionCrossEntropyLoss(validate=validate)(x, target),
            ShannonCrossEntropyLoss(validate=validate)(x, target),
            RenyiCrossEntropyLoss(0.5, validate=validate)(x, target),
        ]
    torch.stack(out).sum().backward()
    p = y.movedim(1, -1)
    out += [
        entropy(y, 1, validate=validate),
        collision_entropy(p, validate=validate),
        kl_divergence(p, p.flip(-1), validate=validate),
    ]
    return out


def test_validate_false_calls_no_checking_helper(monkeypatch):
    from ccel_core.losses import cross_entropy, entropies

    def boom(*args, **kwargs):
        raise AssertionError("a value check ran although validate=False")

    # patched where they are looked up: the functionals' and the entropies' modules
    monkeypatch.setattr(entropies, "check_probabilities", boom)
    monkeypatch.setattr(cross_entropy, "check_pair", boom)
    _all_calls(validate=False)
    with pytest.raises(AssertionError, match="value check ran"):  # the patch is effective
        collision_cross_entropy(torch.zeros(1, 2), torch.tensor([0]))
    with pytest.raises(AssertionError, match="value check ran"):
        entropy(torch.tensor([0.5, 0.5]))


def test_validate_false_skips_value_checks_but_keeps_structural_ones():
    # value checks are skipped: an out-of-simplex target goes through (garbage in, garbage out) ...
    assert torch.isfinite(shannon_cross_entropy(torch.zeros(1, 2), torch.tensor([[2.0, 0.0]]), validate=False))
    assert torch.isfinite(entropy(torch.tensor([0.2, 0.2]), validate=False))
    # ... while shapes, dtypes, devices, options and dim are still checked
    with pytest.raises(ValueError, match=r"does not match input shape"):
        collision_cross_entropy(torch.zeros(3, 4), torch.full((3, 5), 0.2), validate=False)
    with pytest.raises(ValueError, match=r"class-index target must have shape"):
        collision_cross_entropy(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), validate=False)
    with pytest.raises(ValueError, match=r"reduction='avg' is not valid"):
        collision_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), reduction="avg", validate=False)
    with pytest.raises(ValueError, match=r"alpha="):
        renyi_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), alpha=-1.0, validate=False)
    with pytest.raises(ValueError, match=r"dim=3 is not valid"):
        entropy(torch.full((2,), 0.5), dim=3, validate=False)
    with pytest.raises(ValueError, match=r"p shape=\(2,\) does not match q shape=\(3,\)"):
        kl_divergence(torch.tensor([0.5, 0.5]), torch.full((3,), 1 / 3), validate=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_validate_false_never_synchronizes_on_cuda():
    _all_calls(validate=False)  # warm up (lazy CUDA init may synchronize)
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        _all_calls(validate=False)
        with pytest.raises(RuntimeError, match="synchroniz"):  # the validating path does synchronize
            entropy(torch.full((2, 2), 0.5, device="cuda"))
    finally:
        torch.cuda.set_sync_debug_mode(previous)
