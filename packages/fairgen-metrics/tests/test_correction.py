"""CLEAM-style correction: closed form vs general form, exact recovery, the refusals, CI and coverage."""

import numpy as np
import pytest
from scipy.stats import binomtest

from fairgen_metrics import correction as cc


def test_binary_closed_form_by_hand():
    # α0 = .9, α1 = .8, p* = .7 → μ = .9·.7 + .2·.3 = .69;  (.69 − .2)/(.7) = .7
    assert cc.correct_binary(0.69, 0.9, 0.8) == pytest.approx(0.7)
    c = cc.confusion_from_accuracies([0.9, 0.8])
    np.testing.assert_allclose(c, [[0.9, 0.1], [0.2, 0.8]])
    np.testing.assert_allclose(cc.correct(np.array([0.69, 0.31]), c), [0.7, 0.3])


def test_general_form_equals_closed_form_for_k2():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a0, a1 = rng.uniform(0.55, 1.0, size=2)
        mu = rng.uniform(0, 1)
        c = cc.confusion_from_accuracies([a0, a1])
        assert cc.correct(np.array([mu, 1 - mu]), c)[0] == pytest.approx(float(cc.correct_binary(mu, a0, a1)))


def test_exact_recovery_with_known_accuracies_and_infinite_samples():
    p_star = np.array([0.5, 0.3, 0.15, 0.05])
    c = np.array([[0.8, 0.1, 0.05, 0.05], [0.1, 0.7, 0.1, 0.1], [0.0, 0.1, 0.9, 0.0], [0.05, 0.05, 0.1, 0.8]])
    np.testing.assert_allclose(cc.correct(c.T @ p_star, c), p_star, atol=1e-12)


def test_large_sample_recovers_p_star():
    rng = np.random.default_rng(1)
    p_star, c = np.array([0.8, 0.2]), cc.confusion_from_accuracies([0.9, 0.85])
    true = rng.choice(2, size=400_000, p=p_star)
    pred = np.where(rng.random(true.size) < np.diag(c)[true], true, 1 - true)
    p_hat = np.bincount(pred, minlength=2) / pred.size
    assert abs(p_hat[0] - 0.8) > 0.03  # the uncorrected share is visibly biased
    assert cc.correct(p_hat, c)[0] == pytest.approx(0.8, abs=0.004)


@pytest.mark.parametrize(("conf", "msg"), [
    ([[0.5, 0.5], [0.5, 0.5]], "no better than chance"),
    ([[0.4, 0.6], [0.7, 0.3]], "no better than chance"),
    ([[0.9, 0.2], [0.1, 0.9]], "sum to 1"),
    ([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]], "square"),
    ([[1.1, -0.1], [0.1, 0.9]], "non-negative"),
])
def test_refusals(conf, msg):
    with pytest.raises(ValueError, match=msg):
        cc.check_confusion(conf)


def test_k_mismatch_and_singular():
    with pytest.raises(ValueError, match="for 2 classes"):
        cc.check_confusion(cc.confusion_from_accuracies([0.9, 0.9]), 3)
    with pytest.raises(ValueError, match="singular"):
        cc.check_confusion(np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError):
        cc.correct_binary(0.5, 0.4, 0.5)


def test_cleam_ci_is_the_official_formula():
    rng = np.random.default_rng(2)
    props = rng.dirichlet([30, 10], size=30)
    a0, a1 = 0.92, 0.88
    r = cc.cleam(props, cc.confusion_from_accuracies([a0, a1]))
    mu, sd = props[:, 0].mean(), props[:, 0].std()  # numpy default ddof = 0, as the official code
    half = 1.96 * sd / np.sqrt(30)
    assert r["p_hat_low"][0] == pytest.approx(mu - half, rel=1e-4)
    assert r["corrected"][0] == pytest.approx((mu - (1 - a1)) / (a0 + a1 - 1))
    assert r["corrected_low"][0] == pytest.approx((mu - half - (1 - a1)) / (a0 + a1 - 1), rel=1e-4)
    assert r["corrected_high"][0] == pytest.approx((mu + half - (1 - a1)) / (a0 + a1 - 1), rel=1e-4)


def test_ci_coverage_with_known_accuracies_is_near_nominal():
    """With the true confusion matrix, the corrected CI covers p* in about 95% of 300 trials."""
    rng = np.random.default_rng(3)
    c = cc.confusion_from_accuracies([0.9, 0.8])
    p_star = 0.7
    m = c.T @ np.array([p_star, 1 - p_star])
    covered = 0
    for _ in range(300):
        props = rng.binomial(500, m[0], size=30) / 500
        r = cc.cleam(np.stack([props, 1 - props], 1), c)
        covered += r["corrected_low"][0] <= p_star <= r["corrected_high"][0]
    assert 0.90 <= covered / 300 <= 0.99


def test_confusion_matrix_and_batches():
    true = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    c, n = cc.confusion_matrix(true, pred, 3)
    np.testing.assert_allclose(n, [2, 3, 1])
    np.testing.assert_allclose(c, [[0.5, 0.5, 0], [0, 2 / 3, 1 / 3], [0, 0, 1]])
    b = cc.batch_proportions(np.array([[0, 0, 1], [2, 2, 2]]), 3)
    np.testing.assert_allclose(b, [[2 / 3, 1 / 3, 0], [0, 0, 1]])


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (95, 100), (100, 100), (57, 200)])
def test_binomial_intervals_match_scipy(k, n):
    lo, hi = cc.clopper_pearson(k, n)
    ref = binomtest(k, n).proportion_ci(0.95, method="exact")
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)
    lo, hi = cc.wilson_ci(k, n)
    ref = binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-6) and hi == pytest.approx(ref.high, abs=1e-6)
