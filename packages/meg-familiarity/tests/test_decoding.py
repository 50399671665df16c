"""The batched decoder against scikit-learn and MNE on identical folds."""

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from meg_familiarity.decoding import (
    BatchedLDA,
    _lw_scalar,
    auc_from_scores,
    decode_time,
    ledoit_wolf_shrinkage_from_gram,
    make_estimator,
    make_folds,
    pseudo_trials,
    sliding_window,
)


def _data(n=60, p=40, T=6, seed=0, effect=0.6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p, T)) * np.linspace(0.5, 3, p)[None, :, None]
    y = np.repeat([0, 1], n // 2)
    rng.shuffle(y)
    X[y == 1, :4, T // 2:] += effect
    return X, y


def _sk_lda():
    return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))


@pytest.mark.parametrize("n,p", [(50, 20), (30, 80)])  # n > p (direct solve) and n < p (Woodbury)
def test_batched_lda_matches_sklearn_decision(n, p):
    X, y = _data(n, p)
    model = BatchedLDA().fit(X.transpose(2, 0, 1), y)
    for t in range(X.shape[2]):
        ref = _sk_lda().fit(X[:, :, t], y).decision_function(X[:, :, t])
        ours = X[:, :, t] @ model.coef[t] + model.intercept[t]
        np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8)


def test_ledoit_wolf_from_gram_matches_sklearn():
    rng = np.random.default_rng(1)
    for n, p in [(10, 30), (40, 12)]:
        U = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))
        U -= U.mean(0)
        assert ledoit_wolf_shrinkage_from_gram(U @ U.T, p) == pytest.approx(ledoit_wolf_shrinkage(U), rel=1e-10)
        G = U @ U.T
        dg = np.diag(G)
        assert _lw_scalar(float((G**2).sum()), float(dg.sum()), float(dg @ dg), n, p)[0] == pytest.approx(
            ledoit_wolf_shrinkage(U), rel=1e-10)


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 40)
    s = rng.integers(0, 5, 40).astype(float)  # many ties
    assert auc_from_scores(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_scores_equal_cross_val_score_and_mne_sliding_estimator():
    from mne.decoding import SlidingEstimator, cross_val_multiscore

    X, y = _data(60, 30, 5)
    folds = make_folds(y, n_splits=5, n_repeats=2, seed=3)
    res = decode_time(X, y, folds)
    t = 3
    for scoring, ours in (("roc_auc", res.auc[t]), ("accuracy", res.accuracy[t])):
        ref = cross_val_score(_sk_lda(), X[:, :, t], y, cv=folds, scoring=scoring).mean()
        assert ours == pytest.approx(ref, abs=1e-6)
    mne_scores = cross_val_multiscore(SlidingEstimator(_sk_lda(), scoring="roc_auc", verbose=False), X, y, cv=folds,
                                      verbose=False).mean(0)
    np.testing.assert_allclose(res.auc, mne_scores, atol=1e-6)
    assert res.auc[3:].mean() > 0.7 and abs(res.auc[:2].mean() - 0.5) < 0.2  # effect only in the second half


@pytest.mark.parametrize("clf", ["logreg", "svm"])
def test_other_classifiers_go_through_mne(clf):
    from mne.decoding import SlidingEstimator, cross_val_multiscore

    X, y = _data(40, 10, 3)
    folds = make_folds(y, 4, 1, 0)
    ours = decode_time(X, y, folds, classifier=clf).auc
    ref = cross_val_multiscore(SlidingEstimator(make_estimator(clf), scoring="roc_auc", verbose=False), X, y,
                               cv=folds, verbose=False).mean(0)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_generalization_diagonal_is_the_time_resolved_score():
    X, y = _data(40, 12, 5)
    folds = make_folds(y, 4, 1, 0)
    res = decode_time(X, y, folds, generalize=True)
    assert res.generalization.shape == (5, 5)
    np.testing.assert_allclose(np.diag(res.generalization), res.auc, atol=1e-12)


def test_folds_are_stratified_shuffled_and_refuse_tiny_classes():
    y = np.repeat([0, 1], 20)
    folds = make_folds(y, 5, 2, seed=0)
    assert len(folds) == 10
    assert all(np.bincount(y[te]).tolist() == [4, 4] for _, te in folds)
    assert not np.array_equal(np.sort(folds[0][1]), np.arange(8))  # shuffled, not contiguous blocks
    with pytest.raises(ValueError, match="too few trials"):
        make_folds(np.array([0, 0, 0, 1, 1, 1]), 5)


def test_pseudo_trials_and_sliding_window_by_hand():
    X = np.arange(8, dtype=float)[:, None, None] * np.ones((8, 1, 3))
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    Xp, yp = pseudo_trials(X, y, 2, np.random.default_rng(0))
    assert sorted(yp.tolist()) == [0, 0, 1, 1]
    assert Xp[yp == 0].mean() == pytest.approx(1.5) and Xp[yp == 1].mean() == pytest.approx(5.5)
    Z = sliding_window(np.array([[[0.0, 3.0, 6.0, 9.0]]]), 3)
    assert Z[0, 0, 1] == pytest.approx(3.0) and Z[0, 0, 2] == pytest.approx(6.0)


def test_pseudo_trial_decoding_runs_and_is_better_than_chance():
    X, y = _data(80, 10, 4, effect=0.5)
    res = decode_time(X, y, make_folds(y, 4, 1, 0), pseudo=4)
    assert res.auc[2:].mean() > 0.6
