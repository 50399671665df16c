"""Every metric on hand-computed distributions, zero counts, permutation invariance, torch inputs."""

import math

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from fairgen_metrics import metrics as M

ONE_HOT4 = np.array([1.0, 0, 0, 0])
UNIFORM4 = np.full(4, 0.25)
TWO_POINT4 = np.array([0.5, 0.5, 0, 0])


def test_one_hot_by_hand():
    assert M.l1(ONE_HOT4) == pytest.approx(0.75 + 3 * 0.25)  # 1.5
    assert M.l2(ONE_HOT4) == pytest.approx(math.sqrt(0.75 ** 2 + 3 * 0.25 ** 2))
    assert M.l1(ONE_HOT4, per_class=True) == pytest.approx(1.5 / 4)
    assert M.kl(ONE_HOT4) == pytest.approx(math.log(4))
    assert M.specificity(ONE_HOT4) == pytest.approx(1.0)
    assert M.information_specificity(ONE_HOT4) == pytest.approx((1.5 / 4 + 1) / 2)
    assert M.wasserstein(ONE_HOT4) == pytest.approx(0.75)  # move 3/4 of the mass, distance 1
    assert M.wds(ONE_HOT4) == pytest.approx((0.75 + 1) / 2)


def test_uniform_is_zero_for_every_metric():
    for v in M.all_metrics(UNIFORM4).values():
        assert v == pytest.approx(0.0, abs=1e-12)


def test_two_point_by_hand():
    # |.5-.25|·2 + |0-.25|·2 = 1;  √(4·.0625) = .5;  KL = 2·.5·log(.5/.25) = log 2
    assert M.l1(TWO_POINT4) == pytest.approx(1.0)
    assert M.l2(TWO_POINT4) == pytest.approx(0.5)
    assert M.kl(TWO_POINT4) == pytest.approx(math.log(2))
    # sorted [.5, .5, 0, 0], w = (3, 2, 1)/6: |.5 − .5·3/6| = .25
    assert M.specificity(TWO_POINT4) == pytest.approx(0.25)
    assert M.information_specificity(TWO_POINT4) == pytest.approx((0.25 + 0.25) / 2)
    assert M.wasserstein(TWO_POINT4) == pytest.approx(0.5)
    assert M.wasserstein_official(TWO_POINT4) == pytest.approx(0.25)
    assert M.wds(TWO_POINT4) == pytest.approx((0.5 + 0.25) / 2)
    # binary: Spec = |p1 − p2|
    assert M.specificity(np.array([0.8, 0.2])) == pytest.approx(0.6)


def test_normalised_is_one_at_one_hot_for_any_k():
    for k in (2, 3, 4, 8, 16):
        e = np.eye(k)[k - 1]
        m = M.all_metrics(e)
        for name in ("l1_norm", "l2_norm", "kl_norm", "specificity_norm", "information_specificity_norm",
                     "wasserstein_norm", "wasserstein_official_norm", "wds_norm"):
            assert m[name] == pytest.approx(1.0), (k, name)


def test_normalisation_removes_the_k_scale():
    # raw L2 at one-hot grows with K; normalised it is 1 for every K (the paper's point)
    raw = [float(M.l2(np.eye(k)[0], per_class=True)) for k in (2, 4, 8, 16)]
    assert raw[0] > raw[1] > raw[2] > raw[3]


def test_zero_counts_are_kept_and_naive_unique_drops_them():
    labels = np.array([0, 0, 0, 1])  # class 2 never appears
    p = M.proportions(labels, 3)
    np.testing.assert_allclose(p, [0.75, 0.25, 0.0])
    naive = M.proportions_naive_unique(labels)
    assert naive.size == 2  # the absent class vanished
    # computing against uniform with the dropped vector gives a different (wrong) L2
    wrong = float(np.sqrt(((naive - 1 / 3) ** 2).sum()))
    right = float(M.l2(p))
    assert right == pytest.approx(math.sqrt((0.75 - 1 / 3) ** 2 + (0.25 - 1 / 3) ** 2 + (1 / 3) ** 2))
    assert abs(wrong - right) > 0.1


def test_kl_zero_counts_forward_finite_reverse_infinite():
    p = np.array([0.5, 0.5, 0.0])
    assert np.isfinite(M.kl(p))
    assert M.kl(p) == pytest.approx(0.5 * math.log(1.5) * 2)
    assert np.isinf(M.kl(p, reverse=True))
    assert np.isfinite(M.kl(p, reverse=True, eps=1e-3))


def test_probabilities_and_torch_inputs():
    import torch

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    np.testing.assert_allclose(M.proportions(probs, 3), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(M.proportions(probs, 3, soft=True), probs.mean(0))
    np.testing.assert_allclose(M.proportions(torch.tensor([0, 1, 1, 2]), 3), [0.25, 0.5, 0.25])
    t = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    n = t.numpy()
    for fn in (M.l1, M.l2, M.kl, M.specificity, M.information_specificity, M.wasserstein, M.wds):
        assert float(fn(t)) == pytest.approx(float(fn(n)))


def test_proportions_refuses_out_of_range_ids():
    with pytest.raises(ValueError):
        M.proportions(np.array([0, 3]), 3)
    with pytest.raises(ValueError):
        M.proportions(np.array([-1, 0]), 3)
    with pytest.raises(ValueError):
        M.proportions(np.ones((4, 2)) / 2, 3)


def test_official_scipy_wasserstein_equals_l1_over_k():
    rng = np.random.default_rng(0)
    for k in (2, 4, 8, 16):
        p = rng.dirichlet(np.ones(k))
        assert M.wasserstein_official(p) == pytest.approx(M.l1(p, per_class=True))
        assert M.wasserstein_official(p) == pytest.approx(wasserstein_distance(p, np.full(k, 1 / k)))


def test_wasserstein_index_matches_scipy_weighted_1d():
    rng = np.random.default_rng(1)
    for k in (3, 5, 8):
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        ref = wasserstein_distance(np.arange(k), np.arange(k), p, q) / (k - 1)
        assert M.wasserstein(p, q, ground="index") == pytest.approx(ref)


def test_wasserstein_lp_matches_closed_forms_and_a_hand_case():
    rng = np.random.default_rng(2)
    for k in (3, 4, 6):
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        disc = M.ground_matrix(k, "discrete")
        assert M.wasserstein(p, q, ground=disc) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-7)
        idx = M.ground_matrix(k, "index")
        assert M.wasserstein(p, q, ground=idx) == pytest.approx(M.wasserstein(p, q, ground="index"), abs=1e-7)
    # Hamming on 2 attributes: one-hot at 00 → uniform moves 1/4 to 01 (d=.5), 10 (.5), 11 (1)
    assert M.wasserstein(ONE_HOT4, ground="hamming") == pytest.approx(0.25 * (0.5 + 0.5 + 1.0), abs=1e-7)


def test_wasserstein_is_a_metric_on_random_triples():
    rng = np.random.default_rng(3)
    for ground in ("discrete", "index", "hamming"):
        for _ in range(5):
            p, q, r = (rng.dirichlet(np.ones(4)) for _ in range(3))
            def d(a, b, g=ground):
                return float(M.wasserstein(a, b, ground=g))

            assert d(p, q) == pytest.approx(d(q, p), abs=1e-8)
            assert d(p, r) <= d(p, q) + d(q, r) + 1e-8
            assert d(p, p) == pytest.approx(0, abs=1e-9)


def test_permutation_invariance_where_expected():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(6))
    perm = rng.permutation(6)
    for name, fn in (("l1", M.l1), ("l2", M.l2), ("kl", M.kl), ("spec", M.specificity),
                     ("is", M.information_specificity), ("wd", M.wasserstein), ("wds", M.wds)):
        assert float(fn(p[perm])) == pytest.approx(float(fn(p))), name
    # the ordinal ground metric is not invariant (classes have an order)
    q = np.array([0.7, 0.0, 0.0, 0.3])
    moved = float(M.wasserstein(q[[0, 3, 1, 2]], ground="index"))
    assert float(M.wasserstein(q, ground="index")) != pytest.approx(moved)


def test_specificity_against_a_plain_loop():
    rng = np.random.default_rng(5)
    for k in (2, 3, 7, 16):
        p = rng.dirichlet(np.ones(k) * 0.5)
        s = sorted(p.tolist(), reverse=True)
        ranks = list(range(k - 1, 0, -1))
        tot = sum(ranks)
        ref = abs(s[0] - sum(r / tot * v for r, v in zip(ranks, s[1:])))
        assert float(M.specificity(p)) == pytest.approx(ref)


def test_non_uniform_reference():
    ref = np.array([0.6, 0.4])
    assert M.l1(ref, ref) == pytest.approx(0)
    assert M.kl(np.array([0.5, 0.5]), ref) == pytest.approx(0.5 * math.log(0.5 / 0.6) + 0.5 * math.log(0.5 / 0.4))
    # normalised by the worst one-hot: e_1 is further from (.6, .4) than e_0
    assert M.normalise(M.l1, np.array([0.0, 1.0]), ref) == pytest.approx(1.0)
    assert M.normalise(M.l1, np.array([1.0, 0.0]), ref) == pytest.approx(0.8 / 1.2)


def test_batch_shapes():
    d = np.stack([ONE_HOT4, UNIFORM4, TWO_POINT4])
    out = M.sweep_metrics(d)
    for v in out.values():
        assert v.shape == (3,)
    np.testing.assert_allclose(out["L2"], [1, 0, 0.5 / math.sqrt(0.75)])
