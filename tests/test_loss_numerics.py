"""Loss numerics: every loss of ``ccel_core.losses`` against a high-precision reference, for extreme
logits and every floating-point dtype (float16, bfloat16, float32, float64).

The reference is computed with Python's ``decimal`` module at 60 significant digits (standard
library, no mpmath) from exactly the values handed to the loss: the logits and targets in their
dtype, converted to ``Decimal`` without rounding. It shares no code with torch and is exact far
below float64 rounding (so it also judges float64 inputs), and is rounded to a Python float at the end.

Tolerance rule, one for every loss, dtype and target::

    |out − ref| ≤ C · ε · (|ref| + A · (1 + ln K + ℓ)),    C = 8

ε = ``torch.finfo(dtype).eps`` of the input dtype (a half-type loss is computed in float32 and
rounded to the input dtype, so ε of the input dtype still bounds it), K the number of classes,
ℓ = max ln(1/y_k) over the classes the target supports (0 for one-hot targets and class indices)
and A = max(1, 1/|α − 1|) for Rényi of order α ≠ 1, A = 1 otherwise. The loss is a sum of a
few terms each of magnitude at most |ref| + A·(ln K + ℓ) (the log-sum-exp reduction, ``ln y``
rounded to ε·|ln y|, the 1/(α − 1) of Rényi), each rounded a few times. Gradients (bounded by 1
in magnitude for every loss here) must be within C · ε · A · (1 + ln K + ℓ), absolutely.

(For Rényi of order 1 ± 1e-7, A = 1e7: a real bound in float64, little more than finiteness in
the half types and float32, where the closed form's 0/0 near α = 1 costs that much.)

Logits range over ``logit_limit(dtype)``: ±finfo.max/2 for float32, float64 and bfloat16 (so that
every difference of two logits is finite in the dtype the loss is computed in), ±finfo.max for
float16 (computed in float32). Where the true value overflows the dtype the loss may be +inf;
everywhere else it must be finite, never NaN. One test goes on to ±finfo.max for every dtype:
there a loss may be +inf although its true value is finite, but never NaN, and its finite values
and its logit gradients obey the same rule.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ccel_core.losses import (
    collision_cross_entropy,
    collision_entropy,
    entropy,
    kl_divergence,
    renyi_cross_entropy,
    shannon_cross_entropy,
)

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
HALF = (torch.float16, torch.bfloat16)
ALPHAS = (0.5, 1.0 - 1e-7, 1.0, 1.0 + 1e-7, 1.5, 2.0, 3.0, 4.0)
C = 8.0

# --------------------------------------------------------------------------------------------
# the 60-digit reference
# --------------------------------------------------------------------------------------------
_CTX = decimal.Context(prec=60, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
_CUT = Decimal(-1000)  # e^-1000 is below 60 digits relative to the largest term: drop the term
Row = list[float]  # a row of Python floats (exactly the tensor's values)


def _lse(xs: list[Decimal | None]) -> Decimal | None:
    """``ln Σ exp(x)`` over the finite entries (``None`` is −∞); ``None`` when there are none."""
    finite = [x for x in xs if x is not None]
    if not finite:
        return None
    m = max(finite)
    return m + sum(((x - m).exp() for x in finite if x - m > _CUT), Decimal(0)).ln()


def _exp(x: Decimal | None) -> Decimal:
    return Decimal(0) if x is None or x < _CUT else x.exp()


def _log_softmax(logits: Row) -> list[Decimal]:
    """``ln σ_k = (l_k − m) − ln Σ_j e^{l_j − m}``: each difference rounded relative to itself."""
    d = [Decimal(v) for v in logits]
    m = max(d)
    diff = [x - m for x in d]
    total = _lse(diff)  # in [0, ln K]
    assert total is not None
    return [x - total for x in diff]


def _posterior(logits: Row, y: Row, e: Decimal) -> list[Decimal]:
    """``w_k = y_k σ_k^e / Σ_j y_j σ_j^e`` from logit differences to the supported class with the
    largest e·l (exact however large the logits are)."""
    d = [Decimal(v) for v in logits]
    j = max((k for k, v in enumerate(y) if v > 0), key=lambda k: e * d[k])
    terms = [Decimal(v) * _exp(e * (d[k] - d[j])) if v > 0 else Decimal(0) for k, v in enumerate(y)]
    total = sum(terms, Decimal(0))
    return [t / total for t in terms]


def _renyi_weights(logits: Row, y: Row, alpha: float) -> tuple[list[Decimal], Decimal]:
    """(ŷ = y/Σy, H_α(ŷ, σ)) — the Rényi form normalizes its target, as the loss does."""
    ls = _log_softmax(logits)
    total = sum((Decimal(v) for v in y), Decimal(0))
    yn = [Decimal(v) / total for v in y]
    if alpha == 1.0:
        return yn, -sum((w * s for w, s in zip(yn, ls) if w > 0), Decimal(0))
    e = Decimal(alpha) - 1
    lse = _lse([e * s + w.ln() if w > 0 else None for w, s in zip(yn, ls)])
    assert lse is not None
    return yn, -lse / e


def ref_collision(logits: Row, y: Row) -> float:
    """H₂(y, σ) = −ln Σ_k y_k σ_k."""
    with decimal.localcontext(_CTX):
        ls = _log_softmax(logits)
        lse = _lse([s + Decimal(v).ln() if v > 0 else None for s, v in zip(ls, y)])
        assert lse is not None
        return float(-lse)


def ref_shannon(logits: Row, y: Row) -> float:
    """H(y, σ) = −Σ_k y_k ln σ_k."""
    with decimal.localcontext(_CTX):
        ls = _log_softmax(logits)
        return float(-sum((Decimal(v) * s for v, s in zip(y, ls) if v > 0), Decimal(0)))


def ref_renyi(alpha: float):
    def ref(logits: Row, y: Row) -> float:
        """H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α), y normalized."""
        with decimal.localcontext(_CTX):
            return float(_renyi_weights(logits, y, alpha)[1])

    return ref


def ref_index(logits: Row, c: int) -> float:
    """−ln σ_c."""
    with decimal.localcontext(_CTX):
        return float(-_log_softmax(logits)[c])


def grad_collision(logits: Row, y: Row) -> list[float]:
    """∂H₂/∂l_k = σ_k − y_k σ_k / Σ_j y_j σ_j."""
    with decimal.localcontext(_CTX):
        ls = _log_softmax(logits)
        return [float(_exp(s) - w) for s, w in zip(ls, _posterior(logits, y, Decimal(1)))]


def grad_shannon(logits: Row, y: Row) -> list[float]:
    """∂H/∂l_k = σ_k Σ_j y_j − y_k."""
    with decimal.localcontext(_CTX):
        ls = _log_softmax(logits)
        total = sum((Decimal(v) for v in y), Decimal(0))
        return [float(_exp(s) * total - Decimal(v)) for s, v in zip(ls, y)]


def grad_renyi(alpha: float):
    def grad(logits: Row, y: Row) -> list[float]:
        """∂H_α/∂l_k = σ_k − ŷ_k σ_k^{α−1} / Σ_j ŷ_j σ_j^{α−1}."""
        with decimal.localcontext(_CTX):
            ls = _log_softmax(logits)
            yn, _ = _renyi_weights(logits, y, alpha)
            if alpha == 1.0:
                return [float(_exp(s) - w) for s, w in zip(ls, yn)]
            return [float(_exp(s) - w) for s, w in zip(ls, _posterior(logits, y, Decimal(alpha) - 1))]

    return grad


# --------------------------------------------------------------------------------------------
# the tolerance rule
# --------------------------------------------------------------------------------------------
def amplification(alpha: float | None) -> float:
    return 1.0 if alpha is None or alpha == 1.0 else max(1.0, 1.0 / abs(alpha - 1.0))


def log_spread(y: Row) -> float:
    """ℓ = max ln(1/y_k) over the supported classes."""
    return max(-math.log(v) for v in y if v > 0)


def overflows(value: float, dtype: torch.dtype) -> bool:
    return bool(torch.isinf(torch.tensor(value, dtype=torch.float64).to(dtype)))


def assert_value(got: float, want: float, dtype: torch.dtype, k: int, ell: float, amp: float, what: str) -> None:
    tol = C * torch.finfo(dtype).eps * (abs(want) + amp * (1 + math.log(k) + ell))
    assert not math.isnan(got), f"{what}: NaN, expected {want!r}"
    if overflows(want, dtype) and got == math.copysign(math.inf, want):
        return
    assert math.isfinite(got), f"{what}: {got!r}, expected the finite {want!r}"
    assert abs(got - want) <= tol, f"{what}: {got!r}, expected {want!r} ± {tol:.3g} (error {abs(got - want):.3g})"


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------
def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in HALF else dtype


def logit_limit(dtype: torch.dtype) -> float:
    """Largest |logit| drawn: every difference of two logits stays finite in the compute dtype."""
    return min(torch.finfo(dtype).max, torch.finfo(compute_dtype(dtype)).max / 2)


SCALES = (1.0, 30.0, 6e4, 1e8, 1e38, 1e300, math.inf)  # clipped to the dtype's limit


@st.composite
def logits_of(draw, dtype: torch.dtype, n: int, k: int, limit: float | None = None) -> torch.Tensor:
    limit = logit_limit(dtype) if limit is None else limit
    size = n * k
    unit = st.lists(st.floats(-1.0, 1.0), min_size=size, max_size=size)
    mode = draw(st.sampled_from(("free", "scaled", "clustered")))
    if mode == "free":  # anywhere in the range, hypothesis' own choice of nasty floats
        values = draw(st.lists(st.floats(-limit, limit), min_size=size, max_size=size))
    elif mode == "scaled":
        scale = min(draw(st.sampled_from(SCALES)), limit)
        values = [scale * u for u in draw(unit)]
    else:  # close to one large value: −ln σ of the top classes is small, the cancellation case
        center = draw(st.floats(-limit / 2, limit / 2))
        spread = draw(st.sampled_from((0.0, 1.0, 16.0, 1024.0)))
        values = [center + spread * u for u in draw(unit)]
    # clamped again after the cast: rounding may step past the limit (finfo.max/2 is exact in the dtype)
    return torch.tensor(values, dtype=torch.float64).clamp(-limit, limit).reshape(n, k).to(dtype).clamp(-limit, limit)


@st.composite
def targets_of(draw, dtype: torch.dtype, n: int, k: int) -> torch.Tensor:
    kind = draw(st.sampled_from(("soft", "sparse", "one-hot", "uniform", "tiny")))
    rows = []
    for _ in range(n):
        c = draw(st.integers(0, k - 1))
        if kind == "one-hot":
            row = [0.0] * k
            row[c] = 1.0
        elif kind == "uniform":
            row = [1.0 / k] * k
        elif kind == "tiny":  # mass on c, the rest tiny but positive (in float64)
            t = draw(st.sampled_from((1e-30, 1e-12, 1e-6, 1e-3)))
            row = [t] * k
            row[c] = 1.0 - (k - 1) * t
        else:
            w = draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k))
            if kind == "sparse":
                keep = draw(st.lists(st.booleans(), min_size=k, max_size=k))
                w = [v if on else 0.0 for v, on in zip(w, keep)]
            w[c] += 0.1
            row = [v / sum(w) for v in w]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).to(dtype)


@st.composite
def soft_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(1, 8))
    n = draw(st.integers(1, 3))
    return draw(logits_of(dtype, n, k)), draw(targets_of(dtype, n, k))


@st.composite
def index_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(1, 8))
    n = draw(st.integers(1, 4))
    index = draw(st.lists(st.one_of(st.integers(0, k - 1), st.just(-100)), min_size=n, max_size=n))
    return draw(logits_of(dtype, n, k)), torch.tensor(index)


SOFT_LOSSES = [
    ("collision", collision_cross_entropy, ref_collision, grad_collision, None),
    ("shannon", shannon_cross_entropy, ref_shannon, grad_shannon, None),
] + [
    (
        f"renyi(alpha={a})",
        lambda x, t, r, a=a: renyi_cross_entropy(x, t, a, r),
        ref_renyi(a),
        grad_renyi(a),
        a,
    )
    for a in ALPHAS
]


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(soft_cases())
def test_soft_targets_match_the_reference_for_every_dtype(case):
    x, y = case
    n, k = x.shape
    rows_x, rows_y = x.double().tolist(), y.double().tolist()
    for name, fn, ref, _, alpha in SOFT_LOSSES:
        amp = amplification(alpha)
        out = fn(x, y, "none")
        assert out.dtype == x.dtype and out.shape == (n,)
        want = [ref(lx, ly) for lx, ly in zip(rows_x, rows_y)]
        ells = [log_spread(ly) for ly in rows_y]
        for i, (got, w) in enumerate(zip(out.double().tolist(), want)):
            what = f"{name} {x.dtype} row {i}: logits={rows_x[i]} y={rows_y[i]}"
            assert_value(got, w, x.dtype, k, ells[i], amp, what)
        with decimal.localcontext(_CTX):
            total = sum((Decimal(w) for w in want), Decimal(0))
        for reduction, agg in (("sum", float(total)), ("mean", float(total / n))):
            got = fn(x, y, reduction)
            assert got.dtype == x.dtype
            scale = n if reduction == "sum" else 1  # the tolerance of a sum is the sum of tolerances
            assert_value(float(got), agg, x.dtype, k, max(ells), amp * scale, f"{name} {reduction}")


@settings(max_examples=100, deadline=None)
@given(soft_cases())
def test_soft_target_gradients_match_the_reference_for_every_dtype(case):
    x, y = case
    k = x.shape[1]
    rows_x, rows_y = x.double().tolist(), y.double().tolist()
    eps = torch.finfo(x.dtype).eps
    for name, fn, _, grad_ref, alpha in SOFT_LOSSES:
        a = x.clone().requires_grad_(True)
        # the gradient of the sum is the row gradients, also where a row's value overflows the dtype
        (g,) = torch.autograd.grad(fn(a, y, "sum"), a)
        assert g.dtype == x.dtype
        for i, (got_row, lx, ly) in enumerate(zip(g.double().tolist(), rows_x, rows_y)):
            tol = C * eps * amplification(alpha) * (1 + math.log(k) + log_spread(ly))
            want_row = grad_ref(lx, ly)
            for j, (got, want) in enumerate(zip(got_row, want_row)):
                assert math.isfinite(got), f"{name} {x.dtype} grad[{i},{j}] = {got}: logits={lx} y={ly}"
                assert abs(got - want) <= tol, (
                    f"{name} {x.dtype} grad[{i},{j}] = {got!r}, expected {want!r} ± {tol:.3g}: logits={lx} y={ly}"
                )


@settings(max_examples=100, deadline=None)
@given(index_cases())
def test_class_indices_match_the_reference_for_every_dtype(case):
    x, t = case
    k = x.shape[1]
    rows_x = x.double().tolist()
    want = [0.0 if c == -100 else ref_index(lx, c) for lx, c in zip(rows_x, t.tolist())]
    for fn in (collision_cross_entropy, shannon_cross_entropy, lambda a, b, r: renyi_cross_entropy(a, b, 1.5, r)):
        out = fn(x, t, "none")
        assert out.dtype == x.dtype
        for i, (got, w) in enumerate(zip(out.double().tolist(), want)):
            assert_value(got, w, x.dtype, k, 0.0, 1.0, f"{x.dtype} index {t[i]} logits={rows_x[i]}")
    # as F.cross_entropy (class indices reduce through log_softmax); half types: in float32, rounded
    ours = collision_cross_entropy(x, t, "none")
    theirs = F.cross_entropy(x.to(compute_dtype(x.dtype)), t, reduction="none").to(x.dtype)
    assert torch.equal(ours, theirs)


@settings(max_examples=100, deadline=None)
@given(soft_cases())
def test_one_hot_targets_equal_cross_entropy_and_uniform_targets_give_ln_k(case):
    x, _ = case
    n, k = x.shape
    idx = torch.arange(n) % k
    onehot = F.one_hot(idx, k).to(x.dtype)
    expected = F.cross_entropy(x.to(compute_dtype(x.dtype)), idx, reduction="none").to(x.dtype)
    for _, fn, _, _, _ in SOFT_LOSSES:
        assert torch.equal(fn(x, onehot, "none"), expected)
    # uniform targets: collision CE (Rényi α = 2) is ln K whatever σ, with zero gradient
    uniform = torch.full_like(x, 1.0 / k)
    a = x.clone().requires_grad_(True)
    tol = C * torch.finfo(x.dtype).eps * (1 + math.log(k))
    for fn in (collision_cross_entropy, lambda a, b, r: renyi_cross_entropy(a, b, 2.0, r)):
        loss = fn(a, uniform, "none")
        # ln K up to the rounding of 1/K in the dtype (the loss takes y as given)
        assert (loss.double() - math.log(k)).abs().max() <= tol, (x, loss)
        (g,) = torch.autograd.grad(loss.sum(), a)
        assert g.abs().max() <= tol, (x, g)


@st.composite
def full_range_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(1, 8))
    n = draw(st.integers(1, 3))
    return draw(logits_of(dtype, n, k, limit=torch.finfo(dtype).max)), draw(targets_of(dtype, n, k))


@settings(max_examples=100, deadline=None)
@given(full_range_cases())
def test_logits_over_the_whole_finite_range_never_give_nan(case):
    """Up to ±finfo.max, beyond the accuracy range: where two logits differ by more than the computed
    dtype holds, a loss may be +inf although its true value is finite, but it is never NaN, and the
    logit gradients stay finite and within the tolerance rule."""
    x, y = case
    n, k = x.shape
    rows_x, rows_y = x.double().tolist(), y.double().tolist()
    eps = torch.finfo(x.dtype).eps
    for name, fn, ref, grad_ref, alpha in SOFT_LOSSES:
        amp = amplification(alpha)
        a = x.clone().requires_grad_(True)
        out = fn(a, y, "none")
        (g,) = torch.autograd.grad(out.sum(), a)
        for i, (got, lx, ly) in enumerate(zip(out.double().tolist(), rows_x, rows_y)):
            if got != math.inf:
                assert_value(got, ref(lx, ly), x.dtype, k, log_spread(ly), amp, f"{name} {x.dtype} {lx} {ly}")
            tol = C * eps * amp * (1 + math.log(k) + log_spread(ly))
            for got_g, want_g in zip(g[i].double().tolist(), grad_ref(lx, ly)):
                assert math.isfinite(got_g) and abs(got_g - want_g) <= tol, (name, x.dtype, lx, ly, got_g, want_g)
        for reduction in ("mean", "sum"):
            assert not torch.isnan(fn(x, y, reduction)), (name, reduction)
    for t in (torch.arange(n) % k, torch.full((n,), -100)):
        for name, fn, _, _, _ in SOFT_LOSSES:
            out = fn(x, t, "none")
            assert not torch.isnan(out).any(), (name, x, t, out)


@settings(max_examples=60, deadline=None)
@given(full_range_cases())
def test_target_gradients_are_never_nan(case):
    """Learning the targets (collision CE is symmetric): at extreme logits ∂/∂y may overflow to +inf
    (its true value is huge), but neither gradient is NaN and ∂/∂l stays finite. (Rényi CE's target
    gradient goes through y/Σy, where a ∂/∂y_k that overflows meets inf − inf: not covered.)"""
    x, y = case
    for name, fn, _, _, _ in SOFT_LOSSES[:2]:
        a, b = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        loss = fn(a, b, "sum")
        if not torch.isfinite(loss):
            continue
        gl, gy = torch.autograd.grad(loss, (a, b))
        assert torch.isfinite(gl).all(), (name, x, y, gl)
        assert not torch.isnan(gy).any(), (name, x, y, gy)


# entropies take probabilities: the same dtypes, probabilities down to 1e-30, and half types in float32
@st.composite
def probability_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(1, 8))
    n = draw(st.integers(1, 3))
    return draw(targets_of(dtype, n, k)), draw(targets_of(dtype, n, k))


def _entropy_refs(p: Row, q: Row) -> tuple[float, float, float, float]:
    """(H(p), H₂(p), KL(p‖q), H(p) + H(p, q) — the magnitudes KL subtracts)."""
    with decimal.localcontext(_CTX):
        dp, dq = [Decimal(v) for v in p], [Decimal(v) for v in q]
        h = -sum((v * v.ln() for v in dp if v > 0), Decimal(0))
        h2 = -sum((v * v for v in dp), Decimal(0)).ln()
        if any(a > 0 and b == 0 for a, b in zip(dp, dq)):
            return float(h), float(h2), math.inf, math.inf
        cross = -sum((a * b.ln() for a, b in zip(dp, dq) if a > 0), Decimal(0))
        return float(h), float(h2), float(cross - h), float(h + cross)


@settings(max_examples=100, deadline=None)
@given(probability_cases())
def test_entropies_match_the_reference_for_every_dtype(case):
    p, q = case
    k = p.shape[1]
    eps = torch.finfo(p.dtype).eps
    got_h, got_h2, got_kl = entropy(p), collision_entropy(p), kl_divergence(p, q)
    assert got_h.dtype == got_h2.dtype == got_kl.dtype == p.dtype
    for i, (rp, rq) in enumerate(zip(p.double().tolist(), q.double().tolist())):
        h, h2, kl, scale = _entropy_refs(rp, rq)
        assert abs(float(got_h[i]) - h) <= C * eps * (h + 1), (p.dtype, rp, float(got_h[i]), h)
        assert abs(float(got_h2[i]) - h2) <= C * eps * (h2 + 1), (p.dtype, rp, float(got_h2[i]), h2)
        if math.isinf(kl):
            assert float(got_kl[i]) == math.inf
        else:
            assert abs(float(got_kl[i]) - kl) <= C * eps * (scale + math.log(k) + 1), (
                p.dtype,
                rp,
                rq,
                float(got_kl[i]),
                kl,
            )


# --------------------------------------------------------------------------------------------
# the reference itself, against a plain float64 formula on tame inputs
# --------------------------------------------------------------------------------------------
def test_reference_agrees_with_float64_on_tame_inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 6, generator=g, dtype=torch.float64)
    y = torch.softmax(torch.randn(20, 6, generator=g, dtype=torch.float64), 1)
    sigma = torch.softmax(x, 1)
    direct = {
        "collision": -torch.log((y * sigma).sum(1)),
        "shannon": -(y * torch.log(sigma)).sum(1),
        "renyi": torch.log((y * sigma**2).sum(1)) / (1 - 3.0),
    }
    refs = {"collision": ref_collision, "shannon": ref_shannon, "renyi": ref_renyi(3.0)}
    for name, ref in refs.items():
        want = torch.tensor([ref(a, b) for a, b in zip(x.tolist(), y.tolist())], dtype=torch.float64)
        torch.testing.assert_close(want, direct[name], rtol=1e-12, atol=1e-12)
    grads = torch.tensor([grad_collision(a, b) for a, b in zip(x.tolist(), y.tolist())], dtype=torch.float64)
    torch.testing.assert_close(grads, sigma - y * sigma / (y * sigma).sum(1, keepdim=True), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# the examples of issue 20, as regular tests
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dtype, big, y, expected",
    [
        (torch.float32, 1e8, (0.5, 0.5), math.log(2)),  # was 0.0
        (torch.float16, 6e4, (0.5, 0.5), math.log(2)),  # was 0.0
        (torch.float16, 6e4, (0.3, 0.7), -math.log(0.2998046875)),  # 0.3 in float16; was 0.0
        (torch.bfloat16, 1e38, (0.3, 0.7), -math.log(0.30078125)),  # 0.3 in bfloat16; was 0.0
        (torch.float64, 1e300, (0.3, 0.7), -math.log(0.3)),  # was 0.0
    ],
)
def test_issue_20_collision_of_two_extreme_logits(dtype, big, y, expected):
    """H₂(y, σ) with σ = (1, 0) up to e^{−2·big} is −ln y_0: no cancellation between two huge logsumexps."""
    x = torch.tensor([[big, -big]], dtype=dtype)
    out = collision_cross_entropy(x, torch.tensor([y], dtype=dtype), "none")
    assert out.dtype == dtype
    assert abs(float(out) - expected) <= 2 * torch.finfo(dtype).eps * expected


def test_issue_20_shannon_in_float16_stays_finite():
    """−½ ln σ_1 = ½ · 1.2e5 = 6e4 fits float16 although 1.2e5 does not: computed in float32
    (F.cross_entropy in float16 gives inf here)."""
    x = torch.tensor([[6e4, -6e4]], dtype=torch.float16)
    out = shannon_cross_entropy(x, torch.tensor([[0.5, 0.5]], dtype=torch.float16), "none")
    assert out.dtype == torch.float16 and float(out) == 6e4  # was inf


def test_issue_20_class_index_close_to_a_huge_logit():
    """−ln σ_0 for logits (1e8, 1e8 − 8) is ln(1 + e^{−8}) = 3.354e-4 (was logsumexp − l_0 = 0.0),
    to the tolerance rule's C·ε·(1 + ln K) absolute (log_softmax takes the log of a sum near 1)."""
    x = torch.tensor([[1e8, 1e8 - 8]], dtype=torch.float32)
    want = math.log1p(math.exp(-8))
    tol = C * torch.finfo(torch.float32).eps * (1 + math.log(2))
    for fn in (collision_cross_entropy, shannon_cross_entropy, lambda a, b, r: renyi_cross_entropy(a, b, 3.0, r)):
        assert abs(float(fn(x, torch.tensor([0]), "none")) - want) <= tol
        assert abs(float(fn(x, torch.tensor([[1.0, 0.0]]), "none")) - want) <= tol  # the one-hot target too
    assert abs(float(F.cross_entropy(x, torch.tensor([0]))) - want) <= tol


def test_issue_20_renyi_of_high_order_does_not_overflow():
    """H₄((0, 1), σ) = −ln σ_1 = 2e38 in float32 (was inf: (α − 1)·ln σ_1 = −6e38 overflowed)."""
    x = torch.tensor([[1e38, -1e38]], dtype=torch.float32)
    out = renyi_cross_entropy(x, torch.tensor([[0.0, 1.0]]), 4.0, "none")
    assert float(out) == pytest.approx(2e38, rel=1e-6)


def test_entropy_of_one_hot_rows_a_rounding_above_one_is_zero_not_negative():
    """A solver's one-hot rows can hold 1 + 1e-15: −x ln x is then a hair below 0 ("−0.000" on a page)."""
    from ccel_core.losses import entropy

    p = torch.tensor([[1 + 4e-16, 0.0, 0.0], [0.0, 1.0 + 2e-16, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    h = entropy(p, validate=False)
    assert (h >= 0).all() and not torch.signbit(h).any(), h
