"""``validate=False``: the solvers skip their value checks (the trainer's hot path) and otherwise
compute exactly what ``validate=True`` computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ccel_core.solvers import em, exact, pgd, sinkhorn

SOLVERS = {
    "em": lambda p, **kw: em(p, 100.0, max_iter=30, **kw),
    "exact": lambda p, **kw: exact(p, 100.0, **kw),
    "pgd": lambda p, **kw: pgd(p, 10.0, max_iter=30, **kw),
    "sinkhorn": lambda p, **kw: sinkhorn(p, lam=10.0, max_iter=50, **kw),
}


@pytest.fixture
def probs() -> np.ndarray:
    return np.random.default_rng(0).dirichlet(np.ones(5), 60)


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_answer_without_the_checks(name: str, backend: str, probs: np.ndarray) -> None:
    p = torch.from_numpy(probs) if backend == "torch" else probs
    with np.errstate(all="ignore"):
        checked, trusted = SOLVERS[name](p), SOLVERS[name](p, validate=False)
    np.testing.assert_array_equal(np.asarray(checked.labels), np.asarray(trusted.labels))
    assert checked.history == trusted.history and checked.n_iter == trusted.n_iter


@pytest.mark.parametrize("name", SOLVERS)
def test_only_validate_true_checks_the_values(name: str, probs: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = probs.copy()
    bad[0, 0] += 0.5  # a row that does not sum to 1
    with pytest.raises(ValueError, match="sums to"):
        SOLVERS[name](bad)
    import ccel_core.solvers._common as common

    def refuse(*_: object) -> None:
        raise AssertionError("value check ran with validate=False")

    monkeypatch.setattr(common, "_check_simplex_rows", refuse)
    SOLVERS[name](probs, validate=False)  # no value check is reached
    with pytest.raises(AssertionError, match="value check ran"):
        SOLVERS[name](probs)


def test_structural_checks_stay(probs: np.ndarray) -> None:
    with pytest.raises(ValueError, match="shape"):
        exact(probs[0], 100.0, validate=False)
    with pytest.raises(ValueError, match="lam"):
        em(probs, -1.0, validate=False)
