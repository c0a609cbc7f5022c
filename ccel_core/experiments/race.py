"""The y-step solver race of paper Table 1 — EM vs projected gradient descent on eq. 11 — with the
certified exact y-step beside them, for one K or swept over K.

For predictions ``σ`` (N×K) the pseudo-labels minimize ``L(Y) = mean_i −ln(σ_i·y_i) + λ KL(u‖ȳ)``.
Each solver runs from its default start (EM and PGD from ``Y0 = σ``); the race records after every
iteration the loss, the wall time (without the certificate's own cost) and two gaps:

* ``certified`` — the certified relative gap ``(L(Y) − D(c(Y)))/L(Y)`` from the dual of the y-step
  (:func:`ccel_core.solvers.certified_gap`): an upper bound on the true gap that needs no reference;
* ``gap = (L − L*)/|L*|`` against ``L*`` = the exact y-step's certified optimum (within its own
  certified gap, ≤ 1e-10 by default), optionally checked against CVXPY + Clarabel.

The summary gives iterations and seconds until the certified gap is ≤ 1e-2, 1e-3, 1e-6, 1e-9, and
the paper-style stop (the first iteration whose relative loss change is below ``1e-5``) with the
certified gap there.

**Budgets and bounds.** Every solver runs within a budget (iterations, e.g. ``pgd_iters_factor`` ×
the EM steps plain EM needed for a 1e-2 gap, so whether a run gets there does not depend on the
machine's load; PGD optionally also seconds). A level a solver did not reach within its
budget is a *lower bound* on its time (:class:`Reach`: "> 0.8 s"), and a ratio with such a side is a
bound (:class:`Ratio`: "> 12×"); a PGD step whose loss grows or stops being finite is *diverged*.
:func:`budgeted_race` / :func:`race_sweep` run the explorer's K sweep; :func:`sweep_frame`,
:func:`sweep_table`, :func:`sweep_detail` and :func:`race_table` turn races into numbers and text
cells (never ``None``, ``nan`` or ``inf``); :func:`race_warnings` / :func:`sweep_warnings` say what
failed. Pure functions: no printing, no plotting.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..solvers import ConvergenceWarning, em, exact, m_step_timings, pgd
from ..solvers._common import format_gap
from ..solvers.certificate import certify as certify_labels
from ..solvers.certificate import slope_order
from ..timing import best_of

__all__ = [
    "ACCELERATED",
    "EXACT",
    "EXACT_LEVEL",
    "GAP_LEVELS",
    "HEADLINE_LEVEL",
    "Ratio",
    "RaceResult",
    "Reach",
    "best_pgd",
    "default_pgd_lrs",
    "format_gap",
    "format_iterations",
    "format_seconds",
    "kernel_timing",
    "race_problem",
    "race_table",
    "race_warnings",
    "reach",
    "reference_optimum",
    "solver_race",
    "summarize_race",
]

GAP_LEVELS = (1e-2, 1e-3, 1e-6, 1e-9)
HEADLINE_LEVEL = 1e-2  # the level of the PGD / EM ratio (and of PGD's budget)
EXACT_LEVEL = 1e-9  # the exact y-step's headline level
ACCELERATED = "EM + SQUAREM"
EXACT = "exact"
PAPER_STOP = 1e-5
OUTCOMES = ("reached", "budget", "diverged")  # how a run ended: its gap target, its budget, divergence


Progress = Callable[[float, str], None]  # (fraction done in [0, 1], what runs now)


def race_problem(n: int = 10_000, k: int = 20, *, scale: float = 3.0, seed: int = 0) -> np.ndarray:
    """``σ = softmax(scale · z)`` with ``z ~ N(0, 1)^{N×K}`` from a fixed seed (float64)."""
    if n < 1 or k < 1:
        raise ValueError(f"race problem needs n >= 1 and k >= 1, got n={n}, k={k}")
    z = np.random.default_rng(seed).normal(size=(n, k)) * scale
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def default_pgd_lrs(k: int, lam: float) -> tuple[float, ...]:
    """Three step sizes around the stability limit of the fairness term.

    At ``ȳ ≈ u = 1/K`` the Hessian of ``N·λ KL(u‖ȳ)`` along the all-points direction has norm
    ``λ u_k/ȳ_k² ≈ λK``, so fixed steps beyond ``≈ 2/(λK)`` oscillate; we try ``{0.5, 1, 2}/(λK)``.
    """
    base = 1.0 / (max(lam, 1e-12) * k)
    return (0.5 * base, 1.0 * base, 2.0 * base)


# Clarabel settings tried in turn: the race's own, then tighter when the first says "inaccurate".
_CLARABEL_TRIES = (
    {"tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_step_fraction": 0.9},
    {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 500, "max_step_fraction": 0.99},
)


def reference_optimum(
    probs: np.ndarray, lam: float, prior: Optional[np.ndarray] = None, *, max_entries: int = 60_000
) -> tuple[Optional[float], str]:
    """``(L, status)`` by CVXPY + Clarabel, or ``(None, reason)`` when too big or not solved.

    Formulated with the column means as variables, ``m = mean_i y_i``, which Clarabel handles
    far better than ``log(sum(Y, axis=0))`` directly. The interior point is never taken on trust:
    its labels are clipped to the simplex, ``L = P(Y_ip)`` is eq. 11 *at that feasible point* (so
    ``L ≥ L*`` whatever the solver's accuracy), and ``status`` carries the relative gap that the dual
    of the y-step certifies for it. A solve that Clarabel calls "inaccurate" is repeated with tighter
    tolerances; the last status is reported either way.
    """
    n, k = probs.shape
    if n * k > max_entries:
        return None, f"skipped: N·K = {n * k} > {max_entries}"
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover - cvxpy is a dev/bench extra
        return None, "skipped: cvxpy not installed"
    u = np.full(k, 1.0 / k) if prior is None else np.asarray(prior, dtype=np.float64)
    y = cp.Variable((n, k), nonneg=True)
    m = cp.Variable(k)
    objective = -cp.sum(cp.log(cp.sum(cp.multiply(probs, y), axis=1))) / n - lam * cp.sum(cp.multiply(u, cp.log(m)))
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(y, axis=1) == 1, m == cp.sum(y, axis=0) / n])
    for settings in _CLARABEL_TRIES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problem.solve(solver=cp.CLARABEL, **settings)
        except Exception as exc:  # solver failures are data, not errors, in a benchmark
            return None, f"clarabel failed: {type(exc).__name__}"
        if problem.status == "optimal":
            break
    if problem.status not in ("optimal", "optimal_inaccurate") or y.value is None:
        return None, f"clarabel status {problem.status}"
    labels = np.clip(np.asarray(y.value, dtype=np.float64), 0.0, None)
    labels /= labels.sum(1, keepdims=True)
    loss, _, rel = certify_labels(probs, labels, lam, u, "eq11", slope_order(probs))
    if not math.isfinite(loss):
        return None, f"clarabel status {problem.status}, but its point has no finite loss"
    return loss, f"clarabel {problem.status}, its point certified to {format_gap(rel)}"


@dataclass
class RaceResult:
    """Traces of every solver plus the reference they are measured against.

    ``outcomes`` says how each run ended (``"reached"`` its gap target, ran out of its
    ``"budget"``, or ``"diverged"``); ``pgd_max_iter`` / ``pgd_seconds`` are each PGD run's budget
    (seconds None: iterations only); ``interior_point`` the CVXPY + Clarabel status when that check
    was asked for.
    """

    trace: pd.DataFrame  # method, iteration, seconds, loss, gap, certified
    reference: float
    reference_source: str
    n: int
    k: int
    lam: float
    outcomes: dict[str, str] = field(default_factory=dict)
    pgd_lrs: tuple[float, ...] = ()
    max_iter: int = 0
    pgd_max_iter: int = 0
    pgd_seconds: Optional[float] = None
    gap_stop: Optional[float] = None
    exact_tol: float = 1e-10
    interior_point: Optional[str] = None
    interior_value: Optional[float] = None

    @property
    def summary(self) -> pd.DataFrame:
        return summarize_race(self.trace)

    @property
    def methods(self) -> list[str]:
        return [str(m) for m in pd.unique(self.trace["method"].to_numpy(dtype=object))]

    @property
    def pgd_methods(self) -> list[str]:
        return [m for m in self.methods if str(m).startswith("PGD")]

    def run(self, method: str) -> pd.DataFrame:
        """The trace rows of ``method``, by iteration."""
        part = self.trace[self.trace["method"] == method]
        if part.empty:
            raise KeyError(f"no method {method!r} in this race (have {self.methods})")
        return part.sort_values("iteration")


# ------------------------------------------------------------------------------------------
# reaching a level within a budget; bounds as text
# ------------------------------------------------------------------------------------------
def format_seconds(seconds: float) -> str:
    """``0.86 ms``, ``0.123 s``, ``12.3 s``, ``125 s``."""
    if not math.isfinite(seconds):
        raise ValueError(f"seconds must be finite, got {seconds}")
    if seconds < 0.01:
        return f"{seconds * 1e3:.2g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def format_iterations(iters: float) -> str:
    """``4,300 it``."""
    return f"{int(iters):,} it"


def _sig2(value: float, direction: str) -> float:
    """``value`` to two significant digits, rounded down (``"floor"``) or up (``"ceil"``): a lower
    bound stays a lower bound when printed."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value)) - 1
    mantissa = round(value / 10.0**exponent if exponent >= 0 else value * 10.0**-exponent, 9)
    digits = math.floor(mantissa) if direction == "floor" else math.ceil(mantissa)
    return digits * 10.0**exponent if exponent >= 0 else digits / 10.0**-exponent


def _times(value: float) -> str:
    return f"{value:.2g}×" if value < 100 else f"{value:.0f}×"


@dataclass(frozen=True)
class Reach:
    """When a run first reached a certified gap level, or what it spent without reaching it.

    ``reached``: ``seconds`` / ``iters`` are the first iterate at or below the level. Otherwise they
    are the run's whole budget, so the time to the level is *more* (a lower bound) — unless the run
    ``diverged`` (it never gets there) or ``stopped_at`` a looser target gap (not run that far).
    """

    seconds: float
    iters: int
    reached: bool
    diverged: bool = False
    stopped_at: Optional[float] = None

    @property
    def bound(self) -> bool:
        """True when ``seconds``/``iters`` are a lower bound on the time to the level."""
        return not self.reached and not self.diverged and self.stopped_at is None

    @property
    def seconds_text(self) -> str:
        if self.reached:
            return format_seconds(self.seconds)
        if self.diverged:
            return "diverged"
        if self.stopped_at is not None:
            return f"not run (stopped at {self.stopped_at:g})"
        return f"> {format_seconds(self.seconds)}"

    @property
    def iters_text(self) -> str:
        if self.reached:
            return format_iterations(self.iters)
        if self.bound:
            return f"> {format_iterations(self.iters)}"
        return self.seconds_text

    @property
    def text(self) -> str:
        """``0.123 s · 288 it``, ``> 3.1 s · > 4,300 it``, ``diverged``, ``not run (stopped at 1e-06)``."""
        if self.reached or self.bound:
            return f"{self.seconds_text} · {self.iters_text}"
        return self.seconds_text


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of two :class:`Reach` es (seconds or iterations).

    ``kind``: ``"="`` (both reached), ``">"`` (a lower bound: the numerator did not reach the level),
    ``"<"`` (an upper bound: the denominator did not), ``"?"`` (no bound: neither reached, or a
    side diverged / was not run).
    """

    value: float
    kind: str
    why: str = ""

    @staticmethod
    def of(num: Reach, den: Reach, what: str = "seconds", names: tuple[str, str] = ("PGD", "EM")) -> "Ratio":
        a, b = (float(num.seconds), float(den.seconds)) if what == "seconds" else (float(num.iters), float(den.iters))
        if num.diverged or den.diverged:
            side = names[0] if num.diverged else names[1]
            return Ratio(math.nan, "?", f"{side}: every step size diverged" if side == "PGD" else f"{side} diverged")
        if num.stopped_at is not None or den.stopped_at is not None:
            return Ratio(math.nan, "?", "not run to this level")
        if not num.reached and not den.reached:
            return Ratio(math.nan, "?", "neither reached it within its budget")
        if b <= 0:
            return Ratio(math.nan, "?", f"{names[1]} starts below the level")
        if num.reached and den.reached:
            return Ratio(a / b, "=")
        if den.reached:  # the numerator's budget ran out: it takes longer than that
            return Ratio(a / b, ">", f"{names[0]} did not reach it within its budget")
        return Ratio(a / b, "<", f"{names[1]} did not reach it within its budget")

    @property
    def text(self) -> str:
        """``3.4×``, ``> 8.0×`` (rounded down), ``< 0.5×`` (rounded up), or why there is no number."""
        if self.kind == "=":
            return _times(self.value)
        if self.kind == ">":
            return f"> {_times(_sig2(self.value, 'floor'))}"
        if self.kind == "<":
            return f"< {_times(_sig2(self.value, 'ceil'))}"
        return f"n/a: {self.why}"


def reach(race: RaceResult, method: str, level: float) -> Reach:
    """When ``method`` first reached the certified gap ``level`` in ``race`` (or its budget)."""
    run = race.run(method)
    gap = run["certified"].to_numpy(dtype=float)
    hit = np.flatnonzero(gap <= level)
    if hit.size:
        i = hit[0]
        return Reach(float(run["seconds"].iloc[i]), int(run["iteration"].iloc[i]), True)
    outcome = race.outcomes.get(method, "budget")
    last_sec, last_it = float(run["seconds"].iloc[-1]), int(run["iteration"].iloc[-1])
    if outcome == "diverged" or not math.isfinite(float(run["loss"].iloc[-1])):
        return Reach(last_sec, last_it, False, diverged=True)
    if outcome == "reached" and race.gap_stop is not None and level < race.gap_stop:
        return Reach(last_sec, last_it, False, stopped_at=race.gap_stop)
    return Reach(last_sec, last_it, False)


def best_pgd(race: RaceResult, level: float, by: str = "seconds") -> tuple[Reach, Optional[str]]:
    """The best PGD step size's :class:`Reach` at ``level`` and its name (None for a bound).

    The best step is the fastest of those that reached the level, unless a step that did not reach it
    ran out of budget sooner: then only a lower bound is known (the smallest such budget). Diverged
    steps are left out; when every step diverged the result says so.
    """
    runs = [(m, reach(race, m, level)) for m in race.pgd_methods]
    stable = [(m, r) for m, r in runs if not r.diverged]
    if not stable:
        last = max((r.seconds for _, r in runs), default=0.0)
        return Reach(last, 0, False, diverged=True), None
    key = (lambda mr: mr[1].seconds) if by == "seconds" else (lambda mr: mr[1].iters)
    hits = [mr for mr in stable if mr[1].reached]
    open_ = [mr for mr in stable if not mr[1].reached]
    if hits:
        m, r = min(hits, key=key)
        if not open_ or key((m, r)) <= min(key(mr) for mr in open_):
            return r, m
    m, r = min(open_, key=key)
    return r, None


def divergence(race: RaceResult, method: str) -> tuple[int, float, float]:
    """``(iteration, start loss, loss there)`` where a diverged run's loss first rose above its
    start or stopped being finite (else its last iteration)."""
    run = race.run(method)
    loss = run["loss"].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(loss) | (loss > loss[0]))
    i = int(bad[0]) if bad.size else len(loss) - 1
    return int(run["iteration"].iloc[i]), float(loss[0]), float(loss[i])


def _loss_text(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "a non-finite value"


def race_warnings(race: RaceResult, level: float = HEADLINE_LEVEL, *, where: str = "") -> list[str]:
    """What went wrong in ``race``, one sentence each: diverged PGD steps, the budget running out
    before ``level`` (EM, or every PGD step), the exact y-step or the interior-point check failing.
    ``where``: appended to name the race (e.g. ``" at K = 200"``)."""
    out = []
    limit = 2.0 / (race.lam * race.k)
    for m in race.pgd_methods:
        if race.outcomes.get(m) == "diverged" or not math.isfinite(float(race.run(m)["loss"].iloc[-1])):
            it, start, there = divergence(race, m)
            out.append(
                f"{m} diverged{where}: its loss went from {start:.4g} to {_loss_text(there)} by iteration {it} "
                f"(fixed steps above ≈ 2/(λK) = {limit:.3g} are unstable). It is left out of the best PGD, and "
                "its curves are clipped where they leave the charts."
            )
    em_reach = reach(race, "EM", level) if "EM" in race.methods else None
    if em_reach is not None and em_reach.bound:
        out.append(
            f"EM did not reach the certified gap {level:g}{where} within its budget "
            f"({format_iterations(race.max_iter)}): its times there are lower bounds, so PGD / EM is an upper bound."
        )
    if race.pgd_methods:
        best, _ = best_pgd(race, level)
        if best.bound:
            budget = (
                f"{format_seconds(race.pgd_seconds)} or {format_iterations(race.pgd_max_iter)}"
                if race.pgd_seconds is not None
                else format_iterations(race.pgd_max_iter)
            )
            out.append(
                f"No PGD step size reached the certified gap {level:g}{where} within its budget ({budget} each): "
                f'its time is a lower bound ("> …"), and so is PGD / EM.'
            )
    ex = race.run(EXACT)["certified"].to_numpy(dtype=float) if EXACT in race.methods else None
    if ex is not None and not (ex[-1] <= race.exact_tol * 10):
        out.append(
            f"The exact y-step stopped at a certified gap of {format_gap(float(ex[-1]))}{where}, above its target "
            f"{race.exact_tol:g}: the reference optimum is only that accurate."
        )
    if race.interior_point is not None and race.interior_value is None:
        out.append(
            f"The interior-point check (CVXPY + Clarabel) did not solve the problem{where}: {race.interior_point}. "
            "The race does not depend on it: every gap is certified by the dual of the y-step."
        )
    return out


# ------------------------------------------------------------------------------------------
# running the race
# ------------------------------------------------------------------------------------------
@dataclass
class _Sparse:
    """Certify only the iterates that can matter (see :func:`_run_chunked`): ``certify(labels)`` →
    certified gap, ``reference`` = a feasible loss L* within rounding of the optimum (the exact
    y-step's), ``levels`` the gap levels whose first certified iterate must be found."""

    certify: Callable[[object], float]
    reference: float
    levels: tuple[float, ...]


def _cpu_share(wall: float, cpu: float) -> float:
    """The share of one CPU this thread got since ``(perf_counter, thread_time) = (wall, cpu)``."""
    elapsed = time.perf_counter() - wall
    return min(max((time.thread_time() - cpu) / elapsed, 0.05), 1.0) if elapsed > 0 else 1.0


def _run_chunked(
    solve,
    y0,
    *,
    max_iter: int,
    seconds: Optional[float],
    stop_below: Optional[float],
    stop_gap: Optional[float] = None,
    chunk: int = 100,
    progress: Optional[Callable[[float], None]] = None,
    sparse: Optional[_Sparse] = None,
    cpu_clock: bool = False,
) -> tuple[list[float], list[float], list[float], str]:
    """Run ``solve(labels, steps, certify)`` in chunks (warm-started from the last labels) until the
    iteration budget, the time budget, the loss ``stop_below``, the first certified gap ≤
    ``stop_gap`` (the trace ends there), or divergence — a non-finite loss, or a chunk that ends
    above the loss it started from; returns ``(history, times, certified gaps, outcome)`` with
    ``outcome`` in :data:`OUTCOMES`. ``progress(fraction)`` after every chunk.

    ``sparse``: certify the first chunk, the last iterate of every chunk, and every iterate of a
    chunk that may hold the first certified iterate of the next level not yet reached (the chunk is
    run again with certificates: the solvers depend on the labels only, so it repeats the same
    iterates); other gaps are NaN. The first iterate at each level is still exact: the certified
    gap bounds ``(L − L*)/L`` from above, so a chunk whose smallest loss is its last and has
    ``(L − L*)/L`` above the level holds no iterate certified to it.

    ``cpu_clock``: scale each chunk's times by the share of a CPU its thread got (thread CPU time /
    wall time of the chunk), so that other work on the machine does not inflate them.

    EM and fixed-step PGD depend on the current labels only, so chunked runs equal one long run.
    """
    history: list[float] = []
    times: list[float] = []
    gaps: list[float] = []
    y, done, clock = y0, 0, 0.0
    outcome = "budget"
    todo = sorted(sparse.levels, reverse=True) if sparse is not None else []
    while done < max_iter:
        steps = min(chunk, max_iter - done)
        wall, cpu = time.perf_counter(), time.thread_time()
        res = solve(y, steps, sparse is None or not history)
        share = _cpu_share(wall, cpu) if cpu_clock else 1.0
        g = list(res.gaps)
        if sparse is not None and not g:
            h = np.asarray(res.history, dtype=float)
            end = h[-1]
            slack = (end - sparse.reference) / abs(end) if math.isfinite(end) and end != 0 else -math.inf
            target = todo[0] if todo else None
            if target is not None and (h[1:].min() < end or not slack > target * (1 + 1e-6) + 1e-15):
                g = list(solve(y, steps, True).gaps)  # may hold the first iterate at `target`: certify all
            else:
                g = [math.nan] * (len(h) - 1) + [sparse.certify(res.labels)]
        offset = clock
        h, t = res.history, [v * share for v in res.times]
        if history:  # the chunk's first entry is the previous chunk's last
            h, t, g = h[1:], t[1:], g[1:]
        start = res.history[0]
        history += h
        gaps += g
        times += [offset + v for v in t]
        clock = times[-1]
        y, done = res.labels, done + res.n_iter
        new_gaps = np.asarray(g, dtype=float)
        while todo and (new_gaps <= todo[0]).any():
            todo.pop(0)
        hit = np.flatnonzero(new_gaps <= stop_gap) if stop_gap is not None else np.zeros(0, dtype=int)
        if hit.size:  # cut the trace at the first iterate certified to stop_gap
            cut = len(history) - len(h) + int(hit[0]) + 1
            del history[cut:], times[cut:], gaps[cut:]
            outcome = "reached"
            break
        end = history[-1]
        if not math.isfinite(end) or end > start + 1e-9 * abs(start):
            outcome = "diverged"
            break
        if res.converged or (stop_below is not None and end <= stop_below):
            outcome = "reached"
            break
        if seconds is not None and clock >= seconds:
            break
        if progress is not None:
            progress(max(done / max_iter, clock / seconds if seconds else 0.0))
    return history, times, gaps, outcome


def solver_race(
    probs: np.ndarray | torch.Tensor,
    lam: float = 100.0,
    *,
    pgd_lrs: Optional[Sequence[float]] = None,
    max_iter: int = 500,
    pgd_max_iter: Optional[int] = None,
    pgd_seconds: Optional[float] = None,
    pgd_iters_factor: Optional[float] = None,
    pgd_stop_gap: Optional[float] = None,
    gap_stop: Optional[float] = None,
    reference: Optional[float] = None,
    use_interior_point: bool = False,
    accelerated: bool = True,
    exact_tol: float = 1e-10,
    progress: Optional[Progress] = None,
    sparse_certificates: bool = False,
    cpu_clock: bool = False,
) -> RaceResult:
    """Run the exact y-step, EM (the paper's, and SQUAREM-accelerated unless ``accelerated=False``)
    and PGD at several step sizes on eq. 11; return their traces with certified gaps.

    EM runs ``max_iter`` iterations (an accelerated cycle counts its three EM steps); the exact
    y-step runs to the certified gap ``exact_tol``. Each PGD run stops at ``pgd_max_iter`` (default
    ``max_iter``; with ``pgd_iters_factor``: that many times the iterations plain EM needed for a
    certified 1e-2 gap — its whole budget when it did not get there — capped by ``pgd_max_iter``
    when given) iterations, after ``pgd_seconds``, once its gap to the exact optimum falls below
    ``pgd_stop_gap``, or when it diverges (a non-finite loss, or a chunk of 50–100 steps that ends
    above the loss it started from). ``gap_stop``: EM,
    EM + SQUAREM and PGD also stop once their certified gap is ≤ it. ``reference``: a known optimum
    instead of the exact y-step's; ``use_interior_point``: also solve by CVXPY + Clarabel (small
    N·K) and report it in ``reference_source`` and ``interior_point``. ``probs`` numpy → numba
    kernels; torch → torch kernels on its device.

    ``progress(fraction, text)`` is called before each solver and during it (every 50–100 EM / PGD
    steps, 300 EM + SQUAREM steps — 60 above 10⁵ entries —, every interior-point iteration); the EM
    runs are then chunked (warm-started, the same iterates up to rounding). An exception it raises
    (e.g. a cancelled page) ends the race.

    ``sparse_certificates`` (half the time of a race at K = 200, where the certificate costs more
    than a step): EM, EM + SQUAREM and PGD certify only the iterates that can be the first at a gap
    level of :data:`GAP_LEVELS` (and ``gap_stop``), the first chunk and every 50th (EM + SQUAREM:
    300th or 60th) iterate; the others' ``certified`` is NaN. Every first iterate at a level — all the
    summaries use — is the same as with every iterate certified (see :func:`_run_chunked`).

    ``cpu_clock`` (numpy ``probs`` below 2·10⁵ entries, where every kernel runs on the calling
    thread; otherwise ignored): ``seconds`` is the solvers' own time, each chunk's wall time scaled by
    the share of a CPU the thread got, so a busy machine (other sessions, other programs) does not
    inflate one solver's time and not another's.
    """
    n, k = probs.shape
    cpu_clock = cpu_clock and isinstance(probs, np.ndarray) and probs.size < 200_000
    lrs = tuple(pgd_lrs) if pgd_lrs is not None else default_pgd_lrs(k, lam)
    runs: list[tuple[str, list[float], list[float], list[float]]] = []
    outcomes: dict[str, str] = {}
    weights = {EXACT: 0.05, "EM": 0.25, ACCELERATED: 0.2 if accelerated else 0.0}
    weights["PGD"] = 1.0 - sum(weights.values())
    spent = [0.0]

    def report(part: str, fraction: float, text: str) -> None:
        if progress is not None:
            share = weights["PGD"] / max(len(lrs), 1) if part == "PGD" else weights[part]
            progress(min(spent[0] + share * min(max(fraction, 0.0), 1.0), 1.0), text)

    def finished(part: str) -> None:
        spent[0] += weights["PGD"] / max(len(lrs), 1) if part == "PGD" else weights[part]

    sparse: Optional[_Sparse] = None  # set once the exact y-step has given L*

    def em_run(name: str, accelerate: bool):
        if progress is None and sparse is None:
            res = em(probs, lam, max_iter=max_iter, tol=0, accelerate=accelerate, certify=True, gap_tol=gap_stop)
            reached = gap_stop is not None and res.converged
            return res.history, res.times, res.gaps, "reached" if reached else "budget"
        return _run_chunked(
            lambda y, m, c: em(probs, lam, init=y, max_iter=m, tol=0, accelerate=accelerate, certify=c),
            None,
            max_iter=max_iter,
            seconds=None,
            stop_below=None,
            stop_gap=gap_stop,
            chunk=(300 if n * k <= 100_000 else 60) if accelerate else 50,  # a SQUAREM chunk restarts its step bound
            progress=lambda f: report("EM" if not accelerate else ACCELERATED, f, f"{name}: {f:.0%} of its budget"),
            sparse=sparse,
            cpu_clock=cpu_clock,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        report(EXACT, 0.0, "the exact y-step")
        em(probs[:2], lam, max_iter=1, tol=0, certify=True)  # compile / warm up outside the clock
        exact(probs[:300], lam, tol=1e-14, max_iter=40)  # loads the interior and face kernels
        steps = [0]

        def exact_step(_labels: object) -> None:
            steps[0] += 1
            report(EXACT, steps[0] / 25, f"the exact y-step: iteration {steps[0]}")

        wall, cpu = time.perf_counter(), time.thread_time()
        best = exact(probs, lam, tol=exact_tol, callback=exact_step if progress is not None else None)
        share = _cpu_share(wall, cpu) if cpu_clock else 1.0
        runs.append((EXACT, best.history, [v * share for v in best.times], best.gaps))
        if sparse_certificates and reference is None:
            sig = np.ascontiguousarray(probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else probs)
            order, u = slope_order(sig), np.full(k, 1.0 / k)
            sparse = _Sparse(
                lambda y: certify_labels(sig, y, lam, u, "eq11", order)[2],
                float(best.loss),
                tuple(sorted({*GAP_LEVELS, HEADLINE_LEVEL, *((gap_stop,) if gap_stop is not None else ())})),
            )
        outcomes[EXACT] = "reached" if best.gaps and best.gaps[-1] <= exact_tol else "budget"
        finished(EXACT)
        report("EM", 0.0, "EM")
        hist, times, gaps, outcome = em_run("EM", False)
        runs.append(("EM", hist, times, gaps))
        outcomes["EM"] = outcome
        finished("EM")
        em_hit = np.flatnonzero(np.asarray(gaps, dtype=float) <= HEADLINE_LEVEL)
        em_iters = int(em_hit[0]) if em_hit.size else len(hist) - 1
        if accelerated:
            report(ACCELERATED, 0.0, ACCELERATED)
            hist, times, gaps, outcome = em_run(ACCELERATED, True)
            runs.append((ACCELERATED, hist, times, gaps))
            outcomes[ACCELERATED] = outcome
            finished(ACCELERATED)
        source = f"exact y-step, certified relative gap {best.gaps[-1]:.1e}"
        if reference is None:
            reference = best.loss
        else:
            source = "given"
        ip_status: Optional[str] = None
        ip_value: Optional[float] = None
        if use_interior_point:
            report("PGD", 0.0, "the interior-point check (CVXPY + Clarabel)")
            p = probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else probs
            ip_value, ip_status = reference_optimum(np.asarray(p, dtype=np.float64), lam)
            source += f"; interior point: {ip_status}" + (f", L = {ip_value:.10g}" if ip_value is not None else "")
        stop_below = None if pgd_stop_gap is None else reference + pgd_stop_gap * abs(reference)
        pgd_iters = pgd_max_iter or max_iter
        if pgd_iters_factor is not None:
            scaled = max(int(math.ceil(pgd_iters_factor * max(em_iters, 1))), 1)
            pgd_iters = scaled if pgd_max_iter is None else min(pgd_max_iter, scaled)
        for lr in lrs:
            name = f"PGD η={lr:.3g}"
            report("PGD", 0.0, name)

            def pgd_progress(f: float, name: str = name) -> None:
                report("PGD", f, f"{name}: {f:.0%} of its budget")

            hist, times, gaps, outcome = _run_chunked(
                lambda y, m, c, lr=lr: pgd(probs, lam, objective="eq11", lr=lr, init=y, max_iter=m, tol=0, certify=c),
                None,
                max_iter=pgd_iters,
                seconds=pgd_seconds,
                stop_below=stop_below,
                stop_gap=gap_stop,
                chunk=50 if sparse is not None else 100,
                progress=pgd_progress,
                sparse=sparse,
                cpu_clock=cpu_clock,
            )
            runs.append((name, hist, times, gaps))
            outcomes[name] = outcome
            finished("PGD")
    frames = []
    for name, hist, times, gaps in runs:
        h = np.asarray(hist, dtype=np.float64)
        frames.append(
            pd.DataFrame(
                {
                    "method": name,
                    "iteration": np.arange(len(h)),
                    "seconds": np.asarray(times),
                    "loss": h,
                    "gap": (h - reference) / abs(reference),
                    "certified": np.asarray(gaps, dtype=np.float64),
                }
            )
        )
    return RaceResult(
        pd.concat(frames, ignore_index=True),
        float(reference),
        source,
        n,
        k,
        float(lam),
        outcomes=outcomes,
        pgd_lrs=lrs,
        max_iter=max_iter,
        pgd_max_iter=pgd_iters,
        pgd_seconds=pgd_seconds,
        gap_stop=gap_stop,
        exact_tol=exact_tol,
        interior_point=ip_status,
        interior_value=ip_value,
    )


def summarize_race(
    trace: pd.DataFrame, levels: Sequence[float] = GAP_LEVELS, paper_stop: float = PAPER_STOP, column: str = "certified"
) -> pd.DataFrame:
    """Per method: iterations/seconds until ``column`` (the certified gap, or ``"gap"``) is ≤ each
    level, and at the paper-style stop. Missing values (NaN) mean not reached within the budget.
    """
    rows = []
    for method, g in trace.groupby("method", sort=False):
        g = g.sort_values("iteration")
        row: dict[str, object] = {"method": method}
        gap = g[column].to_numpy()
        for level in levels:
            hit = np.flatnonzero(gap <= level)
            row[f"iters@{level:g}"] = int(g["iteration"].iloc[hit[0]]) if hit.size else np.nan
            row[f"sec@{level:g}"] = float(g["seconds"].iloc[hit[0]]) if hit.size else np.nan
        loss = g["loss"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            change = np.abs(np.diff(loss)) / np.abs(loss[:-1])
        stop = np.flatnonzero(np.isfinite(change) & (change < paper_stop))
        if stop.size:
            i = stop[0] + 1
            row.update({"stop_iters": int(i), "stop_sec": float(g["seconds"].iloc[i]), "stop_gap": float(gap[i])})
        else:
            row.update({"stop_iters": np.nan, "stop_sec": np.nan, "stop_gap": np.nan})
        row["final_gap"] = float(gap[-1])
        row["sec_per_iter"] = float(g["seconds"].iloc[-1] / max(len(g) - 1, 1))
        rows.append(row)
    return pd.DataFrame(rows)


def race_table(race: RaceResult, levels: Sequence[float] = GAP_LEVELS) -> pd.DataFrame:
    """:func:`summarize_race` as text, one row per method: time and iterations to each certified
    gap level (``> …`` a lower bound: not reached within the budget), the paper-style stop, the final
    certified gap, seconds per iteration and how the run ended. Every cell is a string; none reads
    ``None``, ``nan`` or ``inf``."""
    summary = race.summary.set_index("method")
    rows = []
    for m in race.methods:
        row: dict[str, str] = {"method": str(m)}
        for level in levels:
            row[f"to {level:g}"] = reach(race, m, level).text
        s = summary.loc[m]
        if np.isfinite(s["stop_iters"]):
            row["paper stop (Δ < 1e-5)"] = (
                f"{format_iterations(s['stop_iters'])} · {format_seconds(float(s['stop_sec']))}"
            )
            if not np.isnan(s["stop_gap"]):  # (sparse certificates: that iterate may have none)
                row["paper stop (Δ < 1e-5)"] += f" · gap {format_gap(float(s['stop_gap']))}"
        else:
            row["paper stop (Δ < 1e-5)"] = "not met"
        row["final certified gap"] = format_gap(float(s["final_gap"]))
        row["s / iteration"] = format_seconds(float(s["sec_per_iter"]))
        run = race.run(m)
        outcome = race.outcomes.get(m, "budget")
        if outcome == "diverged" or not math.isfinite(float(run["loss"].iloc[-1])):
            row["ended"] = f"diverged (iteration {divergence(race, m)[0]:,})"
        elif outcome == "reached":
            target = race.exact_tol if m == EXACT else race.gap_stop
            row["ended"] = f"reached {target:g}" if target is not None else "reached its target"
            if m == EXACT and race.exact_tol < EXACT_LEVEL:  # why it runs past the headline level
                row["ended"] += f" (past the {EXACT_LEVEL:g} of the headline: it is the race's reference optimum)"
        elif m == EXACT:
            row["ended"] = f"stopped at {format_gap(float(s['final_gap']))} (target {race.exact_tol:g})"
        else:
            row["ended"] = (
                f"budget: {format_iterations(run['iteration'].iloc[-1])}, {format_seconds(float(run['seconds'].iloc[-1]))}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# per-iteration cost of the M-step kernels
# ------------------------------------------------------------------------------------------
def kernel_timing(
    n: int = 10_000, k: int = 200, *, repeats: int = 5, python_points: int = 200, lam: float = 100.0, seed: int = 0
) -> dict[str, float]:
    """Seconds per EM iteration of each kernel and of one numpy elementwise pass, best of ``repeats``.

    Keys: ``numba_em_iter`` (a whole EM iteration: E-step scale, fused M-step, column sums and
    loss), ``numba_m_step``, ``torch_em_iter``, ``python_m_step`` (per-point loop, extrapolated
    from ``python_points`` points to N), ``numpy_pass`` (``σ * Y`` into a new array: two
    N×K reads, one write).
    """
    probs = race_problem(n, k, seed=seed)
    y0 = em(probs, lam, max_iter=3, tol=0).labels  # a realistic mid-run state
    assert isinstance(y0, np.ndarray)  # numpy in, numpy out
    scale = lam * n * (1.0 / k) / y0.sum(0)
    kernels = m_step_timings(probs, y0, scale, repeats=repeats, python_points=python_points)
    timings = {"numba_m_step": kernels["numba_m_step"], "numpy_pass": best_of(lambda: probs * y0, repeats)}
    # em() also validates its input and evaluates the starting loss: difference two budgets.
    t1 = best_of(lambda: em(probs, lam, init=y0, max_iter=1, tol=0), repeats)
    t3 = best_of(lambda: em(probs, lam, init=y0, max_iter=3, tol=0), repeats)
    timings["numba_em_iter"] = max(t3 - t1, 0.0) / 2
    tp, ty = torch.from_numpy(probs), torch.from_numpy(y0)
    timings["torch_m_step"] = kernels["torch_m_step"]
    t1 = best_of(lambda: em(tp, lam, init=ty, max_iter=1, tol=0), repeats)
    t3 = best_of(lambda: em(tp, lam, init=ty, max_iter=3, tol=0), repeats)
    timings["torch_em_iter"] = max(t3 - t1, 0.0) / 2
    timings["python_m_step"] = kernels["python_m_step"]
    return timings


# ------------------------------------------------------------------------------------------
# the Table 1 benchmark as text (used by benchmarks/solver_race.py and `ccel bench solvers`)
# ------------------------------------------------------------------------------------------
def table1_report(
    n: int = 10_000,
    ks: Sequence[int] = (2, 20, 200),
    lam: float = 100.0,
    *,
    em_iters: int = 2000,
    pgd_iters: int = 20_000,
    pgd_seconds_factor: float = 40.0,
    seed: int = 0,
    timing: bool = True,
    pgd_lr_factors: Optional[Sequence[float]] = None,
    echo=None,
) -> str:
    """Run the race for every K and the kernel timing; return the report as text.

    Each PGD step size runs until it reaches a 1e-3 gap, diverges, or has used
    ``pgd_seconds_factor`` × EM's time to a 1e-2 gap (so a "not reached" is a lower bound on
    the speed-up of at least that factor).
    """
    lines: list[str] = []

    def out(text: str = "") -> None:
        lines.append(text)
        if echo is not None:
            echo(text)

    out(f"# Solver race, eq. 11, N={n}, λ={lam:g}, σ = softmax(3·z), z ~ N(0,1), seed {seed}; certified gaps")
    for k in ks:
        probs = race_problem(n, k, seed=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            em(probs[:2], lam, max_iter=1, tol=0)
            probe = em(probs, lam, max_iter=em_iters, tol=0)
        hist = np.asarray(probe.history)
        best = float(np.min(hist))
        hit = np.flatnonzero((hist - best) / abs(best) <= 1e-2)
        em_t2 = probe.times[hit[0]] if hit.size else probe.times[-1]
        race = solver_race(
            probs,
            lam,
            max_iter=em_iters,
            pgd_max_iter=pgd_iters,
            pgd_seconds=max(pgd_seconds_factor * em_t2, 1.0),
            pgd_lrs=None if pgd_lr_factors is None else [f / (lam * k) for f in pgd_lr_factors],
            pgd_stop_gap=1e-3,
        )
        summary = race.summary
        out()
        out(
            f"## K = {k}  (reference L* = {race.reference:.10g}: {race.reference_source}; {time.perf_counter() - start:.0f} s)"
        )
        out(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        ex = summary[summary.method == EXACT].iloc[0]
        sq = summary[summary.method == ACCELERATED].iloc[0]
        for mine, theirs in ((1e-9, 1e-2), (1e-6, 1e-3)):
            t_ex, t_sq = ex[f"sec@{mine:g}"], sq[f"sec@{theirs:g}"]
            verdict = (
                f"{t_sq / t_ex:.3g}x sooner"
                if np.isfinite(t_ex) and np.isfinite(t_sq)
                else "EM + SQUAREM did not reach it"
                if np.isfinite(t_ex)
                else "exact did not reach it"
            )
            out(
                f"certified: exact to {mine:g} in {t_ex:.3g} s vs {ACCELERATED} to {theirs:g} in {t_sq:.3g} s -> {verdict}"
            )
        is_pgd = summary.method.str.startswith("PGD")
        pgd_rows = summary[is_pgd]
        budgets = race.trace[race.trace.method.str.startswith("PGD")].groupby("method")["seconds"].max()
        for name in ("EM", ACCELERATED):
            em_row = summary[summary.method == name].iloc[0]
            for level in (1e-2, 1e-3):
                col = f"sec@{level:g}"
                em_sec = em_row[col]
                reached = pgd_rows[col].dropna()
                if not np.isfinite(em_sec):
                    out(f"gap {level:g}: {name} did not reach it within {em_iters} iterations")
                elif len(reached):
                    out(
                        f"gap {level:g}: {name} {em_sec:.3g} s vs best PGD {reached.min():.3g} s -> "
                        f"PGD/{name} = {reached.min() / em_sec:.3g}x"
                    )
                else:
                    out(
                        f"gap {level:g}: {name} {em_sec:.3g} s; no PGD step size reached it within {budgets.max():.3g} s "
                        f"-> PGD/{name} > {budgets.max() / em_sec:.3g}x"
                    )
    if timing:
        out()
        out(f"## Per-iteration cost at N={n}, K={max(ks)} (best of 5)")
        t = kernel_timing(n, max(ks))
        for key, value in t.items():
            out(f"{key:>14}: {value * 1e3:9.2f} ms")
        out(f"EM iteration / numpy pass      = {t['numba_em_iter'] / t['numpy_pass']:.2f}x (target <= 4)")
        out(f"torch EM iteration / numpy pass = {t['torch_em_iter'] / t['numpy_pass']:.2f}x")
        out(f"python loop / numba M-step     = {t['python_m_step'] / t['numba_m_step']:.1f}x (target >= 20)")
        out(f"python loop / torch M-step     = {t['python_m_step'] / t['torch_m_step']:.1f}x (target >= 20)")
    return "\n".join(lines)
