"""Loss-curve experiments (explorer page 1): the CE family as functions of the prediction σ.

All values come from :mod:`ccel_core.losses` evaluated on logits ``l = ln σ`` (so
``softmax(l) = σ``); gradients come from torch autograd. Nothing here re-derives a formula.

* Shannon CE      ``H(y, σ)   = −Σ_k y_k ln σ_k``                       (α = 1)
* Collision CE    ``H₂(y, σ)  = −ln Σ_k y_k σ_k``                       (α = 2, paper eq. 9)
* Rényi CE        ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``

Functions:

* :func:`loss_curves` — the paper's Fig. 1: K = 2, ``σ = (p, 1 − p)``, one curve per target y
  and order α (Shannon dashed, collision solid in :func:`ccel_core.plots.loss_curves_figure`).
* :func:`simplex_loss_grid` — the loss over the K = 3 simplex for a fixed target y (a ternary
  heatmap). Shannon CE is minimized at ``σ = y`` (Gibbs); collision CE is linear in σ inside
  the log, so it is minimized at the vertex ``e_{argmax y}``.
* :func:`gradient_vs_certainty` — ``‖∂CE/∂l‖₂`` as the target goes from one-hot to uniform,
  ``y(ε) = (1 − ε) e_c + (ε/K) 1``. Collision CE's gradient ``σ − (y ⊙ σ)/(y·σ)`` vanishes at
  ``ε = 1`` (uniform y carries no information), Shannon's ``σ − y`` does not.
* :func:`simplex_gradient_field` — where one gradient step on the logits moves σ over Δ₃, and
  :func:`loss_and_gradients` — the losses and logit gradients of one (y, σ) pair.
* :func:`exact_minimizers` — where a K = 2 curve is smallest, in closed form (the pages and the
  report state these); :func:`near_minimum` / :func:`curve_minimizers` — the minimizers of a sampled
  loss *as a set*
  (a flat curve, such as collision CE of y = (½, ½), has no argmin to report).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from ccel_core.losses import collision_cross_entropy, renyi_cross_entropy, shannon_cross_entropy

__all__ = [
    "loss_kind",
    "loss_name",
    "family_loss",
    "loss_curves",
    "simplex_grid",
    "simplex_loss_grid",
    "gradient_vs_certainty",
    "simplex_gradient_field",
    "loss_and_gradients",
    "near_minimum",
    "curve_minimizers",
    "exact_minimizers",
    "binary_loss",
    "Minimizers",
]

F = TypeVar("F", bound=Callable[..., Any])


def _one_thread(fn: F) -> F:
    """Run ``fn`` with torch on one thread (restored after): these tensors have a few hundred rows,
    and extra threads only add latency, a lot of it when other processes share the CPU."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper  # type: ignore[return-value]


FIG1_TARGETS: tuple[tuple[float, float], ...] = ((1.0, 0.0), (0.9, 0.1), (0.7, 0.3), (0.5, 0.5))


def loss_kind(alpha: float) -> str:
    """``"shannon"`` for α = 1, ``"collision"`` for α = 2, else ``"renyi"``."""
    if float(alpha) == 1.0:
        return "shannon"
    if float(alpha) == 2.0:
        return "collision"
    return "renyi"


def loss_name(alpha: float) -> str:
    """Display name of the order-α cross-entropy: ``H(y,σ)``, ``H₂(y,σ)`` or ``H_α(y,σ)`` with α."""
    kind = loss_kind(alpha)
    if kind == "shannon":
        return "H(y,σ)"
    if kind == "collision":
        return "H₂(y,σ)"
    return f"H_{float(alpha):g}(y,σ)"


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"alpha={alpha!r} is not valid; expected a finite number > 0")
    return a


def family_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Per-row order-α CE from the library: Shannon (α = 1), collision (α = 2), Rényi otherwise."""
    kind = loss_kind(alpha)
    if kind == "shannon":
        return shannon_cross_entropy(logits, target, reduction="none")
    if kind == "collision":
        return collision_cross_entropy(logits, target, reduction="none")
    return renyi_cross_entropy(logits, target, float(alpha), reduction="none")


def _loss_and_logit_grad(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row order-α CE of ``softmax(logits)`` and its gradient w.r.t. the logits (autograd)."""
    lg = logits.detach().clone().requires_grad_(True)
    loss = family_loss(lg, target, alpha)
    (grad,) = torch.autograd.grad(loss.sum(), lg)
    return loss.detach().numpy(), grad.numpy()


def _as_targets(y_values: Sequence[Sequence[float]], k: int | None = None) -> np.ndarray:
    y = np.asarray(y_values, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or (k is not None and y.shape[1] != k):
        want = f"(M, {k})" if k is not None else "(M, K)"
        raise ValueError(f"targets must have shape {want}, got shape={y.shape}")
    if not np.all(np.isfinite(y)) or y.min() < 0 or np.abs(y.sum(1) - 1).max() > 1e-6:
        raise ValueError(f"every target must be a probability vector (entries >= 0 summing to 1), got {y.tolist()}")
    return y / y.sum(1, keepdims=True)


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:g}" for x in v) + ")"


@_one_thread
def loss_curves(
    y_values: Sequence[Sequence[float]] = FIG1_TARGETS,
    alphas: Sequence[float] = (1.0, 2.0),
    n_points: int = 199,
    *,
    p_min: float = 0.005,
) -> pd.DataFrame:
    """Paper Fig. 1: CE of order α against ``p`` for ``σ = (p, 1 − p)``, K = 2.

    Args:
        y_values: targets ``y = (y₁, y₂)`` (default the paper's (1,0), (.9,.1), (.7,.3), (.5,.5)).
        alphas: Rényi orders; 1 = Shannon ``H(y,σ) = −y₁ ln p − y₂ ln(1−p)``, 2 = collision
            ``H₂(y,σ) = −ln(y₁ p + y₂ (1−p))``, other α ``ln(y₁ p^{α−1} + y₂ (1−p)^{α−1})/(1−α)``.
        n_points: grid size for ``p ∈ [p_min, 1 − p_min]`` (Shannon CE is infinite at the ends
            for one-hot y).

    Returns:
        Long DataFrame, one row per (target, α, p), columns
        ``p`` (float), ``y`` (label such as ``"(0.9, 0.1)"``), ``y1`` (float, y₁),
        ``alpha`` (float), ``kind`` (``"shannon" | "collision" | "renyi"``), ``name``
        (``"H(y,σ)"``, ``"H₂(y,σ)"``, ``"H_1.5(y,σ)"``) and ``loss`` (nats).
    """
    if int(n_points) < 2:
        raise ValueError(f"n_points={n_points} should be >= 2")
    if not 0 <= p_min < 0.5:
        raise ValueError(f"p_min={p_min} should lie in [0, 0.5)")
    ys = _as_targets(y_values, 2)
    alphas = [_check_alpha(a) for a in alphas]
    p = np.linspace(p_min, 1 - p_min, int(n_points))
    sigma = np.stack([p, 1 - p], axis=1)
    with np.errstate(divide="ignore"):
        logits = torch.from_numpy(np.log(sigma))
    logits = torch.where(torch.isfinite(logits), logits, torch.full_like(logits, -745.0))
    frames = []
    for y in ys:
        target = torch.from_numpy(np.broadcast_to(y, sigma.shape).copy())
        for a in alphas:
            loss = family_loss(logits, target, a).numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "p": p,
                        "y": _fmt(y),
                        "y1": y[0],
                        "alpha": a,
                        "kind": loss_kind(a),
                        "name": loss_name(a),
                        "loss": loss,
                    }
                )
            )
    return pd.DataFrame(pd.concat(frames, ignore_index=True))


def simplex_grid(resolution: int) -> np.ndarray:
    """Strictly interior barycentric grid of Δ₃: ``σ = (n + 1/3)/(R + 1)`` for integer ``n ≥ 0``,
    ``Σn = R``; ``(R + 1)(R + 2)/2`` points, symmetric under permutations, containing the centre
    when ``R ≡ 0 (mod 3)``."""
    r = int(resolution)
    if r < 1:
        raise ValueError(f"resolution={resolution} should be >= 1")
    i, j = np.meshgrid(np.arange(r + 1), np.arange(r + 1), indexing="ij")
    keep = i + j <= r
    n = np.stack([i[keep], j[keep], r - i[keep] - j[keep]], axis=1).astype(np.float64)
    return (n + 1.0 / 3.0) / (r + 1)


def _over_simplex(
    y: Sequence[float], alpha: float, resolution: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, float]:
    """Order-α CE of the target y over :func:`simplex_grid` ``(resolution)`` and its logit gradient:
    a frame with columns ``s1, s2, s3`` (``attrs["target"]`` = y), then σ, the loss, ∇_l and α."""
    target = _as_targets([y], 3)
    a = _check_alpha(alpha)
    sig = simplex_grid(resolution)
    t = torch.from_numpy(np.broadcast_to(target, sig.shape).copy())
    loss, grad = _loss_and_logit_grad(torch.from_numpy(np.log(sig)), t, a)
    df = pd.DataFrame({"s1": sig[:, 0], "s2": sig[:, 1], "s3": sig[:, 2]})
    df.attrs["target"] = target[0].tolist()
    return df, sig, loss, grad, a


@_one_thread
def simplex_loss_grid(y: Sequence[float] = (0.7, 0.2, 0.1), alpha: float = 2.0, resolution: int = 45) -> pd.DataFrame:
    """Order-α CE ``H_α(y, σ)`` for a fixed target y over a barycentric grid of the simplex Δ₃.

    Args:
        y: target on Δ₃.
        alpha: Rényi order (1 Shannon, 2 collision).
        resolution: grid subdivisions R; ``(R + 1)(R + 2)/2`` interior points (R = 45: 1081).

    Returns:
        DataFrame with columns ``s1, s2, s3`` (σ, barycentric), ``x, y_cart`` (Cartesian position
        in the equilateral triangle with vertices e₁ = (0, 0), e₂ = (1, 0), e₃ = (½, √3/2)),
        ``loss``, ``alpha``, ``kind``. ``df.attrs`` holds ``target`` (the list y).
    """
    df, sig, loss, _, a = _over_simplex(y, alpha, resolution)
    df["x"] = sig[:, 1] + 0.5 * sig[:, 2]
    df["y_cart"] = np.sqrt(3) / 2 * sig[:, 2]
    df["loss"], df["alpha"], df["kind"] = loss, a, loss_kind(a)
    return df


@_one_thread
def gradient_vs_certainty(
    logits: Sequence[float] = (1.0, 0.0, -1.0),
    alphas: Sequence[float] = (1.0, 2.0),
    n_points: int = 101,
    *,
    label: int = 0,
) -> pd.DataFrame:
    """Gradient norm ``‖∂ H_α(y, softmax(l)) / ∂l‖₂`` as the target loses certainty.

    Targets ``y(ε) = (1 − ε) e_c + (ε/K) 1`` for ``ε ∈ [0, 1]`` (c = ``label``): ε = 0 is one-hot,
    where every order gives ``−ln σ_c`` and the same gradient ``σ − e_c``; ε = 1 is uniform, where
    collision CE is the constant ln K (gradient 0) while Shannon's gradient ``σ − u`` is not 0
    (it pulls σ to uniform). Gradients by torch autograd through :mod:`ccel_core.losses`.

    Args:
        logits: fixed logits l of the prediction σ = softmax(l) (K = len(logits)).
        alphas: Rényi orders (1 Shannon, 2 collision).
        n_points: number of ε values.
        label: class c of the one-hot end.

    Returns:
        DataFrame with columns ``eps`` (ε), ``certainty`` (``1 − ε``), ``target_entropy``
        (``H(y)``, nats), ``alpha``, ``kind``, ``name``, ``loss`` and ``grad_norm``.
        ``df.attrs["sigma"]`` is σ.
    """
    l0 = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    if l0.ndim != 1 or l0.numel() < 2:
        raise ValueError(f"logits must be a 1-D sequence of K >= 2 values, got shape={tuple(l0.shape)}")
    k = l0.numel()
    if not 0 <= int(label) < k:
        raise ValueError(f"label={label} is out of range; expected 0 <= label < K={k}")
    if int(n_points) < 2:
        raise ValueError(f"n_points={n_points} should be >= 2")
    eps = np.linspace(0.0, 1.0, int(n_points))
    onehot = np.zeros(k)
    onehot[int(label)] = 1.0
    y = (1 - eps)[:, None] * onehot + eps[:, None] / k
    y = y / y.sum(1, keepdims=True)
    target = torch.from_numpy(y)
    h_y = -(torch.xlogy(target, target)).sum(1).numpy()
    frames = []
    for a in (_check_alpha(a) for a in alphas):
        loss, grad = _loss_and_logit_grad(l0.expand(len(eps), k), target, a)
        frames.append(
            pd.DataFrame(
                {
                    "eps": eps,
                    "certainty": 1 - eps,
                    "target_entropy": h_y + 0.0,
                    "alpha": a,
                    "kind": loss_kind(a),
                    "name": loss_name(a),
                    "loss": loss,
                    "grad_norm": np.linalg.norm(grad, axis=1),
                }
            )
        )
    df = pd.DataFrame(pd.concat(frames, ignore_index=True))
    df.attrs["sigma"] = torch.softmax(l0, 0).tolist()
    return df


@_one_thread
def simplex_gradient_field(
    y: Sequence[float] = (0.7, 0.2, 0.1), alpha: float = 2.0, resolution: int = 8
) -> pd.DataFrame:
    """Where one gradient step on the logits moves the prediction σ, over a coarse grid of Δ₃.

    For ``σ = softmax(l)`` a step ``l ← l − η ∇_l H_α(y, σ)`` moves σ, to first order in η, by
    ``η · dσ`` with ``dσ = −J(σ) ∇_l H_α``, ``J = diag(σ) − σσᵀ`` (the softmax Jacobian). Shannon
    CE flows to σ = y; collision CE flows to the vertex of y's largest entry, and not at all for a
    uniform y (its gradient is 0 there).

    Returns:
        DataFrame with columns ``s1, s2, s3`` (σ on :func:`simplex_grid` ``(resolution)``),
        ``d1, d2, d3`` (dσ; rows sum to 0), ``speed`` (``‖dσ‖₂``), ``grad_norm``
        (``‖∇_l H_α‖₂``), ``loss``, ``alpha`` and ``kind``. ``df.attrs["target"]`` is y.
    """
    df, sig, loss, grad, a = _over_simplex(y, alpha, resolution)
    jac = sig[:, :, None] * np.eye(3)[None] - sig[:, :, None] * sig[:, None, :]
    d = -np.einsum("nij,nj->ni", jac, grad)
    for j in range(3):
        df[f"d{j + 1}"] = d[:, j]
    df["speed"], df["grad_norm"] = np.linalg.norm(d, axis=1), np.linalg.norm(grad, axis=1)
    df["loss"], df["alpha"], df["kind"] = loss, a, loss_kind(a)
    return df


@_one_thread
def loss_and_gradients(
    y: Sequence[float], logits: Sequence[float], alphas: Sequence[float] = (1.0, 2.0)
) -> pd.DataFrame:
    """The order-α CEs of one target y and prediction ``σ = softmax(logits)``, with their logit
    gradients ``∂H_α/∂l`` (Shannon: ``σ − y``; collision: ``σ − (y ⊙ σ)/(y·σ)``).

    Returns:
        One row per α: ``alpha, kind, name, loss, grad_1 … grad_K, grad_norm``;
        ``df.attrs["sigma"]`` is σ.
    """
    l0 = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    if l0.ndim != 1 or l0.numel() < 2:
        raise ValueError(f"logits must be a 1-D sequence of K >= 2 values, got shape={tuple(l0.shape)}")
    k = l0.numel()
    target = torch.from_numpy(_as_targets([y], k))
    rows = []
    for a in (_check_alpha(a) for a in alphas):
        loss, grad = _loss_and_logit_grad(l0[None, :], target, a)
        row: dict[str, Any] = {"alpha": a, "kind": loss_kind(a), "name": loss_name(a), "loss": float(loss[0])}
        row.update({f"grad_{j + 1}": float(grad[0, j]) for j in range(k)})
        row["grad_norm"] = float(np.linalg.norm(grad[0]))
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["sigma"] = torch.softmax(l0, 0).tolist()
    return df


def near_minimum(loss: Sequence[float] | np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Boolean mask of the samples within ``rtol · max(1, |min|)`` of the smallest finite loss:
    the minimizers *as a set* (ties and flat stretches included, rounding noise ignored)."""
    v = np.asarray(loss, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        raise ValueError("the loss has no finite value")
    low = float(v[finite].min())
    return finite & (v <= low + float(rtol) * max(1.0, abs(low)))


@dataclass(frozen=True)
class Minimizers:
    """The minimizers of a loss sampled on a 1-D grid (from :func:`curve_minimizers`).

    ``intervals``: the runs of consecutive minimizing grid points as ``(first, last)`` grid values
    (a single point has ``first == last``); ``flat``: every grid point is a minimizer; ``value``:
    the minimum; ``spread``: max − min of the loss over the grid.
    """

    intervals: tuple[tuple[float, float], ...]
    flat: bool
    value: float
    spread: float

    @property
    def unique(self) -> bool:
        """One minimizing grid point."""
        return len(self.intervals) == 1 and self.intervals[0][0] == self.intervals[0][1]

    def describe(self, var: str = "p", digits: int = 3) -> str:
        """``"p = 0.900"``; ``"p = 0.005 or 0.995"`` (ties); ``"p ∈ [0.2, 0.4]"``; ``"flat: every p"``."""
        if self.flat:
            return f"flat: every {var}"
        parts = [f"{lo:.{digits}f}" if lo == hi else f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi in self.intervals]
        rel = "∈" if any(lo != hi for lo, hi in self.intervals) else "="
        return f"{var} {rel} " + " or ".join(parts)


def curve_minimizers(
    x: Sequence[float] | np.ndarray, loss: Sequence[float] | np.ndarray, rtol: float = 1e-9
) -> Minimizers:
    """Where the sampled curve ``loss(x)`` is smallest (:func:`near_minimum`), as :class:`Minimizers`.

    A flat curve (collision CE of y = (½, ½) is ln 2 for every p) is reported as flat rather than
    by an arbitrary argmin; symmetric ties (Rényi α > 2 at y = (½, ½): both ends) are all listed.
    """
    xs = np.asarray(x, dtype=np.float64)
    v = np.asarray(loss, dtype=np.float64)
    if xs.shape != v.shape or xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"x and loss must be 1-D of the same length, got shapes {xs.shape} and {v.shape}")
    order = np.argsort(xs, kind="stable")
    xs, v = xs[order], v[order]
    mask = near_minimum(v, rtol)
    finite = v[np.isfinite(v)]
    idx = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts, ends = np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]
    return Minimizers(
        intervals=tuple((float(xs[a]), float(xs[b])) for a, b in zip(starts, ends)),
        flat=bool(mask.all()),
        value=float(finite.min()),
        spread=float(finite.max() - finite.min()),
    )


def binary_loss(y1: float, alpha: float, p: np.ndarray | float) -> np.ndarray:
    """The order-α CE of ``y = (y₁, 1 − y₁)`` and ``σ = (p, 1 − p)`` for p on the *closed* interval
    [0, 1], with ``0 · ln 0 = 0`` (a class the target does not support costs nothing):
    ``H = −y₁ ln p − y₂ ln(1 − p)`` (α = 1), else ``ln(y₁ p^{α−1} + y₂ (1 − p)^{α−1}) / (1 − α)``.
    """
    ps = np.asarray(p, dtype=np.float64)
    y = ((float(y1), ps), (1.0 - float(y1), 1.0 - ps))
    a = _check_alpha(alpha)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        terms = [(-yk * np.log(s) if a == 1.0 else yk * s ** (a - 1.0)) for yk, s in y if yk > 0]
        total = np.sum(terms, axis=0)
        return np.asarray(total if a == 1.0 else np.log(total) / (1.0 - a), dtype=np.float64)


def exact_minimizers(y: Sequence[float], alpha: float) -> Minimizers:
    """Where the K = 2 curve of order α is smallest over the closed interval p ∈ [0, 1], in closed
    form (the page's and the report's argmin: not read off a grid).

    With ``β = α − 1``, minimizing ``H_α`` is maximizing ``y₁ p^β + y₂ (1 − p)^β`` (α > 1) or
    minimizing it (α < 1):

    * ``α < 2``: stationarity ``y₁ p^{β−1} = y₂ (1 − p)^{β−1}`` gives
      ``p* = y₁^γ / (y₁^γ + y₂^γ)`` with ``γ = 1/(2 − α)`` (α = 1: ``p* = y₁``, σ copies y).
    * ``α = 2``: linear inside the log, so the end of y's most likely class (p* = 1 if y₁ > y₂);
      ``y₁ = y₂``: the loss is ln 2 for every p (``flat``).
    * ``α > 2``: convex inside the log, so an end: the likelier class's, or both ends when y₁ = y₂.

    ``value`` is the minimum (nats); ``spread`` is the loss's range over [0, 1] (``inf`` where it is
    unbounded, e.g. Shannon CE of a soft target at either end).
    """
    (y1, y2), a = _as_targets([y], 2)[0], _check_alpha(alpha)
    if y1 == y2 and a == 2.0:
        points: tuple[float, ...] = ()
    elif a < 2.0:
        g = 1.0 / (2.0 - a)
        points = (float(y1),) if y1 in (0.0, 1.0) else (float(y1**g / (y1**g + y2**g)),)
    elif y1 == y2:
        points = (0.0, 1.0)
    else:
        points = (1.0,) if y1 > y2 else (0.0,)
    grid = np.r_[np.linspace(0.0, 1.0, 2001), points]
    values = binary_loss(y1, a, grid)
    low = float(binary_loss(y1, a, np.array(points[:1] or (0.5,)))[0]) + 0.0  # no −0.0
    return Minimizers(
        intervals=tuple((p, p) for p in points) or ((0.0, 1.0),),
        flat=not points,
        value=low,
        spread=float(np.max(np.where(np.isnan(values), np.inf, values)) - low),
    )
