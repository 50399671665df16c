"""CCA against scikit-learn and a planted correlation; ITQ's quantisation loss and orthogonality."""

from __future__ import annotations

import numpy as np
import pytest

from cmimh.baselines import cca, fit_cca_itq, itq


def test_cca_recovers_a_planted_correlation():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(3000)
    x = rng.standard_normal((3000, 4))
    y = rng.standard_normal((3000, 3))
    x[:, 2] += 2 * z
    y[:, 0] += 2 * z
    _, _, corr = cca(x, y, 2, reg=1e-8)
    # corr(x2, y0) = 4 / 5 for these variances
    assert corr[0] == pytest.approx(0.8, abs=0.02)
    assert corr[1] < 0.1


def test_cca_first_correlation_matches_sklearn():
    from sklearn.cross_decomposition import CCA

    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 5))
    y = x[:, :3] @ rng.standard_normal((3, 4)) + rng.standard_normal((500, 4))
    wx, wy, corr = cca(x, y, 1, reg=1e-10)
    u, v = (x - x.mean(0)) @ wx, (y - y.mean(0)) @ wy
    assert np.corrcoef(u[:, 0], v[:, 0])[0, 1] == pytest.approx(corr[0], abs=1e-6)
    ref = CCA(n_components=1, max_iter=500, tol=1e-8).fit(x, y)
    xs, ys = ref.transform(x, y)
    assert abs(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1]) == pytest.approx(corr[0], abs=1e-3)


def test_itq_rotation_is_orthogonal_and_lowers_quantisation_loss():
    rng = np.random.default_rng(2)
    v = rng.standard_normal((400, 8)) @ np.diag(np.linspace(3, 0.5, 8))
    v -= v.mean(0)
    r0 = itq(v, 0, np.random.default_rng(0))
    r = itq(v, 50, np.random.default_rng(0))
    assert np.allclose(r.T @ r, np.eye(8), atol=1e-8)

    def loss(rot):
        vr = v @ rot
        return float(((np.sign(vr) - vr) ** 2).sum())

    assert loss(r) < loss(r0)


def test_cca_itq_codes_are_binary_and_aligned():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((300, 6))
    x = z @ rng.standard_normal((6, 10)) + 0.1 * rng.standard_normal((300, 10))
    y = z @ rng.standard_normal((6, 12)) + 0.1 * rng.standard_normal((300, 12))
    m = fit_cca_itq(x, y, 6, 1e-3, 30, 0)
    bi, bt = m.encode_image(x), m.encode_text(y)
    assert set(np.unique(bi)) <= {0, 1} and bi.shape == (300, 6)
    assert (bi != bt).mean() < 0.15  # paired items get (nearly) the same code
