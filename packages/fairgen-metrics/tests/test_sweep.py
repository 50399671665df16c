"""The benchmark sweep: the paper's steps, exact endpoints, linearity summaries."""

import numpy as np
import pytest

from fairgen_metrics.sweep import PAPER_STEPS, classic_vs_proposed, linearity, run_sweep, sweep_distributions


@pytest.mark.parametrize(("k", "n"), [(2, 51), (4, 76), (8, 176), (16, 376)])
def test_sweep_lengths_and_endpoints(k, n):
    d = sweep_distributions(k)
    # class 0 gives up (1 − 1/K) in steps of PAPER_STEPS[k] percentage points
    assert d.shape == (n, k) == (1 + round((1 - 1 / k) * 100 / PAPER_STEPS[k]), k)
    np.testing.assert_allclose(d[0], np.eye(k)[0])
    np.testing.assert_allclose(d[-1], np.full(k, 1 / k))
    np.testing.assert_allclose(d.sum(1), 1)
    steps = np.abs(np.diff(d, axis=0)).sum(1) / 2  # mass moved per step
    np.testing.assert_allclose(steps, PAPER_STEPS[k] / 100)


def test_sweep_fills_classes_in_turn():
    d = sweep_distributions(4)
    # after 25 steps class 1 is full (25 %), classes 2, 3 still empty
    np.testing.assert_allclose(d[25], [0.75, 0.25, 0, 0])


def test_bad_step_refused():
    with pytest.raises(ValueError):
        sweep_distributions(3, 1.0)  # 100/3 % is not a whole number of 1 % steps


def test_linearity_of_a_line_and_a_curve():
    x = np.linspace(1, 0, 11)
    r = linearity(x)
    assert r["linearity_error"] == pytest.approx(0, abs=1e-12) and r["step_rel_sd"] == pytest.approx(0, abs=1e-9)
    assert r["delta_f"] == pytest.approx(0.1)
    c = linearity(x ** 2)
    assert c["linearity_error"] == pytest.approx(np.mean(np.abs(x ** 2 - x)))
    assert c["step_rel_sd"] > 0.1


def test_l1_is_exactly_linear_and_kl_is_not():
    """Moving mass from class 0 into an under-filled class lowers L1 by 2·step every time."""
    s = run_sweep((2, 4), hamming=False)
    for k in ("2", "4"):
        assert s[k]["linearity"]["L1"]["linearity_error"] < 1e-12
        assert s[k]["linearity"]["KL"]["linearity_error"] > 0.05
    cvp = classic_vs_proposed(s)
    assert cvp["k"] == [2, 4] and len(cvp["effect"]) == 2
