"""Issues #12 and #16: stimulus-grouped folds, the shared-Gram permutation path, the within-subject test."""

import numpy as np
import pytest

from meg_familiarity.data import SubjectData
from meg_familiarity.decoding import (
    decode_time,
    make_folds,
    permuted_labels,
    plain_total_cov_lda_auc,
    shared_gram_aucs,
)
from meg_familiarity.experiments import subject_test


def _gauss(n=48, p=30, T=5, seed=0, effect=0.0, onset=None):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n // 2), 2)  # every "image" shown twice
    y = (np.arange(n // 2) % 2)[groups]
    X = rng.normal(size=(n, p, T)) * np.linspace(0.5, 2, p)[None, :, None]
    if effect:
        X[y == 1, :4, (onset or 0):] += effect
    return X, y, groups


def test_grouped_folds_never_split_a_stimulus_and_stay_stratified():
    _, y, g = _gauss(80)
    folds = make_folds(y, 5, 3, seed=1, groups=g)
    assert len(folds) == 15
    for tr, te in folds:
        assert not set(g[tr]) & set(g[te])
        assert abs(y[te].mean() - 0.5) <= 0.1
    assert not np.array_equal(folds[0][1], folds[5][1])  # each repeat reshuffles the groups
    with pytest.raises(ValueError, match="too few stimuli per class"):
        make_folds(y[:12], 5, 1, groups=g[:12])  # 6 trials per class, but 3 images


@pytest.mark.parametrize("n,p", [(48, 30), (30, 80)])  # n > p (sensor-space solve) and n < p (push-through)
def test_shared_gram_path_equals_the_plain_path_on_the_same_permutation(n, p):
    X, y, g = _gauss(n, p, effect=0.8, onset=2)
    folds = make_folds(y, 4, 1, seed=0, groups=g)
    labels = permuted_labels(y, 4, np.random.default_rng(3), groups=g)
    assert all(np.array_equal(np.unique(L[g == k]).size, 1) for L in labels for k in np.unique(g))  # by stimulus
    shared = shared_gram_aucs(np.ascontiguousarray(X.transpose(2, 0, 1)), folds, labels)
    for i, L in enumerate(labels):
        np.testing.assert_allclose(shared.auc[i], plain_total_cov_lda_auc(X, L, folds), atol=1e-12)
    assert shared.auc[0, 2:].mean() > 0.7  # the observed labels carry the planted effect


def test_trial_level_folds_leak_image_specific_responses_and_grouped_folds_do_not():
    """Null familiarity, strong image-specific responses, each image twice: with trial-level folds the second
    repeat of a test image sits in the training set and the 'familiarity' AUC rises where the image response
    is; grouped folds (and stimulus-label permutations) keep it at chance."""
    from meg_familiarity.simulate import SimConfig, simulate_dataset, simulate_epochs

    cfg = SimConfig(n_subjects=1, n_images=100, n_repeats=2, sfreq=100.0, channels="mag", onset=None,
                    image_effect=5e-7, confound=0.0, seed=5)
    s = simulate_dataset(cfg).subjects[0]
    X, times = simulate_epochs(s, tmin=-0.05, tmax=0.25, trigger_delay=cfg.trigger_delay)
    w = (times >= 0.07) & (times <= 0.16)  # the image response peaks at 110 ms
    trial = decode_time(X, s.label, make_folds(s.label, 5, 1, 0)).auc
    grouped = decode_time(X, s.label, make_folds(s.label, 5, 1, 0, groups=s.image)).auc
    assert trial[w].mean() - grouped[w].mean() > 0.1
    assert abs(grouped[w].mean() - 0.5) < 0.06
    sub = SubjectData("01", X, s.label, times, [str(i) for i in range(X.shape[1])], stim=[str(i) for i in s.image])
    st = {"subject_perms": 100, "p_cluster": 0.05, "alpha": 0.05, "n_boot": 0}
    assert subject_test(sub, {"folds": 5, "folds_by": "trial"}, st, 0)["onset"] is not None  # a false onset
    assert subject_test(sub, {"folds": 5, "folds_by": "stimulus"}, st, 0)["onset"] is None


def test_single_subject_planted_onset_recovered_with_the_default_test():
    from meg_familiarity.simulate import SimConfig, simulate_dataset, simulate_epochs

    cfg = SimConfig(n_subjects=1, n_images=100, n_repeats=2, sfreq=125.0, channels="mag", onset=0.085,
                    effect=6e-8, image_effect=5e-8, confound=0.0, seed=11)
    s = simulate_dataset(cfg).subjects[0]
    X, times = simulate_epochs(s, tmin=-0.05, tmax=0.3, trigger_delay=cfg.trigger_delay)
    sub = SubjectData("01", X, s.label, times, [str(i) for i in range(X.shape[1])], stim=[str(i) for i in s.image])
    r = subject_test(sub, {"folds": 5, "folds_by": "stimulus"}, {"subject_perms": 100, "p_cluster": 0.05,
                                                                 "alpha": 0.05, "n_boot": 50}, 0)
    assert r["onset"] == pytest.approx(0.085, abs=0.02)
    assert r["onset_ci"]["low"] <= r["onset"] <= r["onset_ci"]["high"] + 1e-9
    assert min(r["cluster_p"]) <= 1 / 101 + 1e-12


def test_single_subject_null_gives_false_onsets_at_the_nominal_rate():
    hits = 0
    for i in range(40):
        X, y, g = _gauss(40, 12, 12, seed=100 + i)
        sub = SubjectData("n", X, y, np.arange(12) / 100, [str(k) for k in range(12)], stim=[str(k) for k in g])
        r = subject_test(sub, {"folds": 4, "folds_by": "stimulus"}, {"subject_perms": 99, "p_cluster": 0.05,
                                                                     "alpha": 0.05, "n_boot": 0}, i)
        hits += r["onset"] is not None
    assert hits <= 6  # nominal 5 %: 2 expected; P(X ≥ 7 | 40, 0.05) < 0.01
