"""Anchor-graph affinity against a dense, loop-by-loop reference on small data."""

from __future__ import annotations

import numpy as np
import pytest

from dcsh.graph import anchor_graph, anchor_weights, dense_anchor_affinity, fuse, kmeans_anchors


@pytest.fixture(scope="module")
def small(pair):
    A, _, _ = pair
    X = A[:60].astype(np.float64)
    U = kmeans_anchors(X.astype(np.float32), 10, seed=0)
    return X, U


def test_anchor_affinity_matches_dense_reference(small):
    X, U = small
    g = anchor_graph(X, 10, 3, seed=0, anchors=U)
    np.testing.assert_allclose(g.dense(), dense_anchor_affinity(X, U, 3), atol=1e-5)


def test_affinity_is_stochastic_symmetric_psd(small):
    X, U = small
    A = anchor_graph(X, 10, 3, seed=0, anchors=U).dense()
    np.testing.assert_allclose(A, A.T, atol=1e-10)
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-6)  # A1 = 1
    assert np.linalg.eigvalsh(A).min() > -1e-8
    assert np.linalg.eigvalsh(A).max() == pytest.approx(1.0, abs=1e-6)


def test_rows_of_z_have_s_nonzeros_on_nearest_anchors(small):
    X, U = small
    Z, sigma = anchor_weights(X, U, 3)
    assert sigma > 0
    assert (np.diff(Z.indptr) == 3).all()
    np.testing.assert_allclose(np.asarray(Z.sum(1)).ravel(), 1.0)
    d = ((X[:, None, :] - U[None]) ** 2).sum(-1)
    for i in range(5):
        assert set(Z[i].indices) == set(np.argsort(d[i])[:3])


def test_matmul_quad_and_eigenvectors_match_dense(small, pair):
    X, U = small
    _, Bm, _ = pair
    g1 = anchor_graph(X, 10, 3, seed=0, anchors=U)
    g2 = anchor_graph(Bm[:60], 8, 3, seed=1)
    fused = fuse([g1, g2])
    D = 0.5 * (g1.dense() + g2.dense())
    np.testing.assert_allclose(fused.dense(), D, atol=1e-10)
    B = np.random.default_rng(0).standard_normal((60, 4))
    np.testing.assert_allclose(fused.matmul(B), D @ B, atol=1e-10)
    assert fused.quad(B) == pytest.approx(np.trace(B.T @ D @ B))
    w, V = fused.eigenvectors(3)
    ref = np.sort(np.linalg.eigvalsh(D))[::-1][:3]
    np.testing.assert_allclose(w, ref, atol=1e-8)
    np.testing.assert_allclose(D @ V, V * w, atol=1e-7)
