"""``CollisionClustering``: scikit-learn's own estimator checks, clustering quality on blobs,
probabilities, reproducibility and error messages."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from ccel_core.estimator import CollisionClustering


@parametrize_with_checks([CollisionClustering()])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(600, centers=4, n_features=8, cluster_std=1.0, random_state=0)
    return StandardScaler().fit_transform(x), y


def test_blobs_clustered_far_above_chance(blobs) -> None:
    x, y = blobs
    scores = []
    for seed in (0, 1, 2):
        est = CollisionClustering(4, random_state=seed).fit(x)
        scores.append(adjusted_rand_score(y, est.labels_))
        assert np.array_equal(est.predict(x), est.labels_)
        assert est.labels_.dtype == np.int64 and set(est.labels_) <= set(range(4))
    assert min(scores) > 0.6 and np.mean(scores) > 0.8, scores  # chance: ARI 0
    # a shuffled copy of the labels scores about 0, the trained clusters do not
    assert adjusted_rand_score(np.random.default_rng(0).permutation(y), est.labels_) < 0.05


def test_predict_proba_rows_sum_to_one(blobs) -> None:
    x, _ = blobs
    est = CollisionClustering(4, random_state=0).fit(x)
    new = x[:50] + 0.1
    p = est.predict_proba(new)
    assert p.shape == (50, 4) and p.dtype == np.float64
    assert np.all(p >= 0) and np.allclose(p.sum(1), 1.0, atol=1e-12)
    assert np.array_equal(est.predict(new), p.argmax(1))
    assert np.allclose(est.cluster_probs_, est.predict_proba(x))
    assert len(est.history_) == est.n_iter_ == 10
    assert est.pseudo_labels_.shape == (600, 4) and np.allclose(est.pseudo_labels_.sum(1), 1.0)
    assert est.n_features_in_ == 8


def test_random_state_reproducibility(blobs) -> None:
    x, _ = blobs
    a = CollisionClustering(4, random_state=7, epochs=3).fit(x)
    b = CollisionClustering(4, random_state=7, epochs=3).fit(x)
    assert np.array_equal(a.cluster_probs_, b.cluster_probs_)
    assert np.array_equal(a.labels_, b.labels_)
    c = CollisionClustering(4, random_state=8, epochs=3).fit(x)
    assert not np.allclose(a.cluster_probs_, c.cluster_probs_)
    # a RandomState draws the seed once per fit: the same state gives the same fit
    d = CollisionClustering(4, random_state=np.random.RandomState(3), epochs=3).fit(x)
    e = CollisionClustering(4, random_state=np.random.RandomState(3), epochs=3).fit(x)
    assert np.array_equal(d.cluster_probs_, e.cluster_probs_)
    # an int random_state is the trainer's seed
    import torch

    from ccel_core.data import Dataset
    from ccel_core.training import TrainConfig, Trainer

    ds = Dataset("x", torch.from_numpy(x.astype(np.float32)), None, 4, "features")
    trainer = Trainer(TrainConfig(data="digits", n_clusters=4, seed=7, epochs=3, device="cpu"), dataset=ds)
    trainer.run()
    assert np.array_equal(trainer.predict(x.astype(np.float32)), a.labels_)


def test_pickle_round_trip(blobs) -> None:
    x, _ = blobs
    est = CollisionClustering(4, random_state=0, epochs=2).fit(x)
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict_proba(x), est.predict_proba(x))


def test_kmeans_method_matches_scikit_learn(blobs) -> None:
    x, _ = blobs
    est = CollisionClustering(4, method="kmeans", random_state=3).fit(x)
    ref = KMeans(4, n_init=10, random_state=3).fit(x)
    assert adjusted_rand_score(ref.labels_, est.labels_) == 1.0
    assert np.array_equal(est.predict(x[:20]), est.labels_[:20])
    assert est.model_ is None and est.cluster_centers_.shape == (4, 8)


@pytest.mark.parametrize("method", ["migd", "sela", "miadm", "imsat", "ccel-eq10"])
def test_other_methods_fit_with_their_paper_defaults(method: str, blobs) -> None:
    x, y = blobs
    est = CollisionClustering(4, method=method, random_state=0, epochs=3).fit(x)
    assert est.labels_.shape == (600,) and adjusted_rand_score(y, est.labels_) > 0.2


def test_errors_name_the_values() -> None:
    x = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"^n_samples=5 should be >= n_clusters=8$"):
        CollisionClustering().fit(x)
    with pytest.raises(ValueError, match=r"epochs=0 should be >= 1"):
        CollisionClustering(2, epochs=0).fit(x)
    with pytest.raises(ValueError, match=r"^n_clusters=0 should be >= 1$"):  # TrainConfig's words
        CollisionClustering(0).fit(x)
    with pytest.raises(ValueError, match=r"^n_clusters=2.5 should be an integer >= 1$"):
        CollisionClustering(2.5).fit(x)
    with pytest.raises(ValueError, match=r"unknown method='nope'; known methods: ccel, ccel-eq10"):
        CollisionClustering(2, method="nope").fit(x)
    with pytest.raises(ValueError, match=r"lam=5.0 is not used by method='migd'"):
        CollisionClustering(2, method="migd", lam=5.0).fit(x)
    with pytest.raises(ValueError, match=r"model='vgg4' should be 'linear' or 'mlp'"):
        CollisionClustering(2, model="vgg4").fit(x)
    with pytest.raises(ValueError, match=r"lr=-1.0 should be > 0"):
        CollisionClustering(2, lr=-1.0).fit(x)
    with pytest.raises(NotFittedError):
        CollisionClustering(2).predict(x)
    est = CollisionClustering(2, random_state=0, epochs=1).fit(x)
    with pytest.raises(ValueError, match=r"X has 4 features, but CollisionClustering is expecting 3"):
        est.predict(np.zeros((2, 4)))
    bad = x.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CollisionClustering(2).fit(bad)


def test_init_only_stores_and_tags() -> None:
    est = CollisionClustering(3, method="whatever", epochs=-4)  # validated in fit, not here
    assert est.get_params()["method"] == "whatever" and est.get_params()["epochs"] == -4
    tags = get_tags(CollisionClustering())
    assert tags.estimator_type == "clusterer" and not tags.non_deterministic
    assert not tags.input_tags.sparse and not tags.input_tags.allow_nan


def test_predict_never_returns_nan_probabilities() -> None:
    """Inputs beyond float32 are refused as in fit; inputs on which the network overflows (an MLP at
    |x| = 1e38) give an error naming the rows, not NaN probabilities and an arbitrary cluster."""
    X = np.random.default_rng(0).normal(size=(60, 2))
    linear = CollisionClustering(n_clusters=2, epochs=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="exceeds the float32 range"):
        linear.predict([[3.5e38, -3.5e38]])
    mlp = CollisionClustering(n_clusters=2, epochs=2, model="mlp", random_state=0).fit(X)
    with pytest.raises(ValueError, match="outputs are not finite for 1 of 2 rows"):
        mlp.predict_proba(np.array([[1e38, 1e38], [0.0, 0.0]]))
    assert np.isfinite(mlp.predict_proba(X)).all()
