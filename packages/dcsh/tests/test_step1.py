"""Step 1: monotone objective, exact binary balanced codes, decorrelation, closed-form updates, baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dcsh import step1
from dcsh.graph import anchor_graph


@pytest.fixture(scope="module")
def graphs(pair):
    A, B, _ = pair
    fa, fb = step1.prepare_features(A, 8, 0), step1.prepare_features(B, 8, 0)
    return step1.build_graphs([fa, fb], 40, 4, seed=0)


@pytest.mark.parametrize("kw", [dict(alpha=1.0, beta=1.0, rho=1.0), dict(alpha=0.0, beta=2.0, rho=0.5),
                                dict(alpha=2.0, beta=0.0, rho=1.0), dict(alpha=1.0, beta=1.0, rho=0.0),
                                dict(alpha=1.0, beta=1.0, rho=1.0, balance="soft")])
def test_objective_never_increases(graphs, kw):
    res = step1.solve(graphs, 8, iters=15, tol=0, **kw)
    J = np.array([h["objective"] for h in res.history])
    assert 2 <= len(J) <= 16  # stops early only once the objective no longer moves
    if len(J) < 16:
        assert J[-1] == J[-2]
    assert (np.diff(J) <= 1e-9 * np.abs(J[:-1]).max()).all(), J
    assert J[-1] < J[0]
    # the logged objective is the one recomputed from the returned variables
    t = step1.terms(graphs, step1.fuse(graphs), res.F, res.codes, res.Y)
    assert step1.objective(t, kw["alpha"], kw["beta"], kw["rho"]) == pytest.approx(J[-1])


def test_codes_exactly_binary_and_balanced(graphs):
    res = step1.solve(graphs, 16, iters=10)
    assert res.codes.dtype == np.int8 and set(np.unique(res.codes)) == {-1, 1}
    assert (res.codes.sum(0) == 0).all()  # n = 300 is even: exactly balanced
    odd = step1.solve([anchor_graph(np.random.default_rng(1).standard_normal((101, 5)), 20, 3, 0)], 4, iters=3)
    assert (odd.codes.sum(0) == -1).all()


def test_decorrelation_term_decorrelates():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 10))
    Y = X @ rng.standard_normal((10, 14)) + 0.3 * rng.standard_normal((600, 14))
    g = step1.build_graphs([step1.prepare_features(X, None), step1.prepare_features(Y, None)], 80, 5, 0)

    def mean_corr(res):
        C = np.corrcoef(res.codes.T.astype(float))
        return np.abs(C[~np.eye(C.shape[0], dtype=bool)]).mean()

    with_rho = mean_corr(step1.solve(g, 8, rho=4.0, iters=15))
    without = mean_corr(step1.solve(g, 8, rho=0.0, alpha=0.0, iters=15))
    assert with_rho < 0.25
    assert with_rho < without


def test_project_omega_is_the_maximiser():
    rng = np.random.default_rng(0)
    n, r = 30, 4
    C = rng.standard_normal((n, r))
    X = step1.project_omega(C)
    np.testing.assert_allclose(X.sum(0), 0, atol=1e-9)
    np.testing.assert_allclose(X.T @ X, n * np.eye(r), atol=1e-8)
    best = np.trace(X.T @ C)
    for _ in range(200):  # random feasible points never do better
        Q, _ = np.linalg.qr(rng.standard_normal((n, r)) - 0)
        Z = Q - Q.mean(0)
        Z, _ = np.linalg.qr(Z)
        Z = np.sqrt(n) * Z
        assert np.trace(Z.T @ C) <= best + 1e-9
    # rank-deficient input still lands in Ω
    X2 = step1.project_omega(np.hstack([C[:, :2], np.zeros((n, 2))]))
    np.testing.assert_allclose(X2.T @ X2, n * np.eye(r), atol=1e-8)
    np.testing.assert_allclose(X2.sum(0), 0, atol=1e-8)


def test_balanced_sign_is_the_maximiser_by_enumeration():
    rng = np.random.default_rng(1)
    C = rng.standard_normal((8, 2))
    B = step1.balanced_sign(C)
    best = max(sum(C[i, 0] * s for i, s in enumerate(v)) for v in itertools.product((-1, 1), repeat=8)
               if sum(v) == 0)
    assert (B[:, 0] * C[:, 0]).sum() == pytest.approx(best)
    assert (B.sum(0) == 0).all()


def test_spectral_init_is_orthogonal_and_centred(graphs):
    F = step1.spectral_init(graphs[0], 6)
    np.testing.assert_allclose(F.sum(0), 0, atol=1e-8)
    np.testing.assert_allclose(F.T @ F, F.shape[0] * np.eye(6), atol=1e-7)


def test_same_seed_same_codes(pair):
    A, B, _ = pair
    cfg = dict(anchors=30, s=3, alpha=1.0, beta=1.0, rho=1.0, iters=5, pca_dim=8)
    r1, r2 = step1.dcsh_codes([A, B], 8, cfg, 3), step1.dcsh_codes([A, B], 8, cfg, 3)
    np.testing.assert_array_equal(r1.codes, r2.codes)


def test_joint_codes_recover_clusters(pair):
    from dcsh.evaluate import map_whole

    A, B, L = pair
    res = step1.dcsh_codes([A, B], 16, dict(anchors=40, s=4, alpha=1.0, beta=1.0, rho=1.0, iters=10, pca_dim=None), 0)
    rand = np.where(np.random.default_rng(0).random(res.codes.shape) > 0.5, 1, -1)
    assert map_whole(res.codes[:50], res.codes, L[:50], L) > 0.7 > 0.3 > map_whole(rand[:50], rand, L[:50], L)


def test_too_many_bits_refused(graphs):
    with pytest.raises(ValueError):
        step1.solve(graphs, 400)


def test_itq_loss_non_increasing():
    rng = np.random.default_rng(0)
    V = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6))
    V -= V.mean(0)
    R, _, losses = step1.itq(V, 30)
    assert (np.diff(losses) <= 1e-8).all()
    np.testing.assert_allclose(R @ R.T, np.eye(6), atol=1e-10)


def test_cca_matches_sklearn_first_correlation(pair):
    from sklearn.cross_decomposition import CCA

    A, B, _ = pair
    m = step1.CCAITQ(bits=2, reg=1e-8).fit(A, B)
    u, v = (A - A.mean(0)) @ m.Wa[:, 0], (B - B.mean(0)) @ m.Wb[:, 0]
    ours = abs(np.corrcoef(u, v)[0, 1])
    assert ours == pytest.approx(m.corr[0], abs=1e-4)
    a1, b1 = CCA(n_components=1, max_iter=2000, tol=1e-10).fit_transform(A, B)
    assert ours == pytest.approx(abs(np.corrcoef(a1[:, 0], b1[:, 0])[0, 1]), abs=1e-3)
    ca, cb = m.encode_a(A), m.encode_b(B)
    assert set(np.unique(ca)) <= {-1, 1} and ca.shape == (A.shape[0], 2)
    assert (ca == cb).mean() > 0.6  # paired items land on similar codes
