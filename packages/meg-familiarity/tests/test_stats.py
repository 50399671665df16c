"""Cluster statistics against brute force and MNE; onsets on data with a known onset."""

import itertools

import numpy as np
import pytest
from scipy import stats as sstats

from meg_familiarity import stats


def _brute_max_cluster(row, thr):
    best, cur = 0.0, 0.0
    for v in row:
        cur = cur + v if v > thr else 0.0
        best = max(best, cur)
    return best


def test_max_cluster_mass_matches_a_loop():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(50, 30))
    ours = stats.max_cluster_mass(S, 0.5)
    np.testing.assert_allclose(ours, [_brute_max_cluster(r, 0.5) for r in S])


def test_tstat_matches_scipy():
    D = np.random.default_rng(1).normal(size=(7, 9))
    np.testing.assert_allclose(stats.tstat(D), sstats.ttest_1samp(D, 0).statistic)


def test_group_cluster_test_matches_brute_force_enumeration():
    rng = np.random.default_rng(2)
    D = rng.normal(size=(6, 14)) * 0.5
    D[:, 5:9] += 0.8
    res = stats.cluster_test_group(D, n_perm=10_000)  # 2^6 = 64 ≤ n_perm: exact
    thr = sstats.t.ppf(0.95, 5)
    null = []
    for signs in itertools.product([1, -1], repeat=6):
        Df = D * np.array(signs)[:, None]
        t = sstats.ttest_1samp(Df, 0).statistic
        null.append(_brute_max_cluster(t, thr))
    null = np.array(null)
    t_obs = sstats.ttest_1samp(D, 0).statistic
    assert len(res.clusters) >= 1
    for (a, b), p in zip(res.clusters, res.pvalues):
        mass = t_obs[a:b].sum()
        assert p == pytest.approx(np.mean(null >= mass - 1e-12))
    assert res.pvalues.min() < 0.05


def test_group_cluster_test_matches_mne():
    from mne.stats import permutation_cluster_1samp_test

    rng = np.random.default_rng(3)
    D = rng.normal(size=(7, 20))
    D[:, 8:14] += 0.9
    res = stats.cluster_test_group(D, n_perm=10_000)
    thr = sstats.t.ppf(0.95, 6)
    _, clusters, pv, _ = permutation_cluster_1samp_test(D, threshold=thr, tail=1, n_permutations=2**7, out_type="mask",
                                                        verbose=False)
    # MNE 1.13's exact one-sided enumeration takes rows 1..2^n-1 of its sign table, i.e. it drops the
    # all-negative flip and counts the identity twice (once more as the observed value): its p-values are
    # ours plus at most one permutation's share. The brute-force test above pins ours exactly.
    ours = {(a, b): p for (a, b), p in zip(res.clusters, res.pvalues)}
    def span(c):  # MNE gives (slice,) for 1-D data, a mask otherwise
        if isinstance(c, tuple) and isinstance(c[0], slice):
            return c[0].start, c[0].stop
        idx = np.flatnonzero(c)
        return int(idx[0]), int(idx[-1]) + 1

    theirs = {span(c): p for c, p in zip(clusters, pv)}
    assert ours.keys() == theirs.keys()
    for k in ours:
        assert 0 <= theirs[k] - ours[k] <= 1 / 2**7 + 1e-12


def test_onset_recovered_on_data_with_a_known_onset():
    rng = np.random.default_rng(4)
    times = np.arange(-0.1, 0.5, 0.004)
    D = rng.normal(scale=0.02, size=(12, len(times)))
    D[:, times >= 0.1] += 0.05
    onset, _ = stats.group_onset(D, times, n_perm=1000)
    assert onset == pytest.approx(0.1, abs=0.0081)
    fdr_on, mask = stats.fdr_onset(D, times)
    # BH controls the false discovery *proportion*: with many true positives a few early hits are allowed
    assert fdr_on <= 0.1 + 0.0121 and mask[times > 0.2].all() and mask[times < 0.1].mean() < 0.1
    ci = stats.onset_ci(D, times, method="bootstrap", n_boot=30, n_perm=200)
    assert ci["low"] <= onset <= ci["high"] + 1e-9
    jk = stats.onset_ci(D, times, method="jackknife", n_perm=200)
    assert jk["low"] <= onset <= jk["high"] + 1e-9


def test_null_data_gives_no_onset_most_of_the_time():
    rng = np.random.default_rng(5)
    times = np.linspace(0, 0.5, 60)
    hits = sum(stats.group_onset(rng.normal(size=(10, 60)), times, n_perm=500, seed=i)[0] is not None
               for i in range(40))
    assert hits <= 6  # nominal 5 %: 2 expected; P(X ≥ 7 | 40, 0.05) < 0.01


def test_within_subject_permutation_cluster_test():
    rng = np.random.default_rng(6)
    null = 0.5 + rng.normal(scale=0.03, size=(200, 40))
    obs = 0.5 + rng.normal(scale=0.03, size=40)
    obs[20:30] += 0.15
    res = stats.cluster_test_permutations(obs, null)
    times = np.arange(40) / 100
    assert stats.onset_from_clusters(res, times) == pytest.approx(0.2)
    assert res.pvalues.min() == pytest.approx(1 / 201)
