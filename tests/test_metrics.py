"""ACC against brute force over permutations; NMI/ARI against scikit-learn; bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ccel_core.metrics import cluster_accuracy, cluster_mapping, confusion_matrix, evaluate


def brute_force_acc(t: np.ndarray, p: np.ndarray) -> float:
    """Try every injective map from clusters to classes (or classes to clusters)."""
    classes, clusters = list(np.unique(t)), list(np.unique(p))
    best = 0
    if len(clusters) <= len(classes):
        for image in itertools.permutations(classes, len(clusters)):
            m = dict(zip(clusters, image))
            best = max(best, sum(m[c] == y for c, y in zip(p, t)))
    else:
        for pre in itertools.permutations(clusters, len(classes)):
            m = dict(zip(pre, classes))
            best = max(best, sum(m.get(c, -1) == y for c, y in zip(p, t)))
    return best / len(t)


@settings(max_examples=120, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda kt: st.integers(1, 6).flatmap(
            lambda kp: st.integers(1, 40).flatmap(
                lambda n: st.tuples(
                    st.lists(st.integers(0, kt - 1), min_size=n, max_size=n),
                    st.lists(st.integers(0, kp - 1), min_size=n, max_size=n),
                )
            )
        )
    )
)
def test_acc_equals_brute_force_and_sklearn_scores(pair):
    t, p = (np.array(x) for x in pair)
    assert cluster_accuracy(t, p) == pytest.approx(brute_force_acc(t, p), abs=1e-12)
    scores = evaluate(t, p)
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(t, p, average_method="arithmetic"))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(t, p))
    m = cluster_mapping(t, p)
    assert len(set(m.values())) == len(m)  # one-to-one
    mapped = np.array([m.get(c, -1) for c in p])
    assert np.mean(mapped == t) == pytest.approx(scores["acc"])


def test_permuted_labels_are_perfect_and_inputs_flexible():
    t = np.repeat(np.arange(5), 10)
    p = (t + 2) % 5 + 10  # renamed clusters
    assert evaluate(t, p) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0})
    assert cluster_accuracy(torch.from_numpy(t), list(p)) == 1.0
    assert cluster_accuracy(t.astype(float), p) == 1.0


def test_confusion_matrix_puts_matches_on_diagonal():
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([5, 5, 3, 3, 4, 4, 9])
    mat, classes, clusters = confusion_matrix(t, p)
    assert classes == [0, 1, 2] and clusters[:3] == [5, 3, 4] and clusters[3] == 9
    np.testing.assert_array_equal(mat, [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 1]])
    assert np.trace(mat) / mat.sum() == pytest.approx(cluster_accuracy(t, p))
    # with the model's K, clusters no point went to are zero columns (here 0, 1, 2 of K = 6: unmatched, last)
    mat6, _, clusters6 = confusion_matrix(t, np.array([5, 5, 3, 3, 4, 4, 4]), n_clusters=6)
    assert clusters6 == [5, 3, 4, 0, 1, 2] and mat6.shape == (3, 6) and not mat6[:, 3:].any()
    # K classes, one cluster empty: every class keeps a column on the diagonal, the empty one included
    mat3, _, clusters3 = confusion_matrix([0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1], n_clusters=3)
    assert clusters3 == [0, 2, 1] and np.array_equal(np.diag(mat3), [2, 0, 2]) and not mat3[:, 1].any()


@pytest.mark.parametrize(
    "t, p, match",
    [
        ([0, 1], [0, 1, 1], "y_true has 2 labels but y_pred has 3"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], r"1-D labels, got shape=\(1, 2\)"),
        ([0.5, 1.0], [0, 1], "non-integer values"),
        ([0, np.nan], [0, 1], "NaN"),
        (["a", "b"], [0, 1], "integer labels, got dtype=<U1"),
    ],
)
def test_bad_input(t, p, match):
    with pytest.raises(ValueError, match=match):
        evaluate(t, p)
