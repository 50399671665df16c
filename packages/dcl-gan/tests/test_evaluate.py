"""FID and intra-cluster diversity against closed forms and constructed images."""

import numpy as np
import pytest

from dcl_gan.evaluate import fid_from_features, frechet_distance, intra_cluster_diversity, sq_euclidean


def test_fid_of_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(400, 8))
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    mu1, mu2 = np.zeros(3), np.array([1.0, -2.0, 0.5])
    s1, s2 = np.diag([1.0, 4.0, 0.25]), np.diag([9.0, 1.0, 1.0])
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(np.diag(s1)) - np.sqrt(np.diag(s2))) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(closed, rel=1e-8)
    # a non-diagonal case: the same rotation of both keeps the distance
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))
    assert frechet_distance(q @ mu1, q @ s1 @ q.T, q @ mu2, q @ s2 @ q.T) == pytest.approx(closed, rel=1e-6)


def test_fid_of_shifted_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    n, d = 20000, 4
    shift, scale = np.array([2.0, 0.0, -1.0, 0.5]), np.array([1.0, 2.0, 1.0, 0.5])
    a = rng.normal(size=(n, d))
    b = rng.normal(size=(n, d)) * scale + shift
    closed = float(shift @ shift + np.sum((1 - scale) ** 2))
    assert fid_from_features(a, b) == pytest.approx(closed, rel=0.03)


def test_intra_cluster_diversity_on_constructed_images():
    def img(v):  # a 2x2 image whose pixels encode a 2-D point (x, y, 0, 0)
        return np.array([[v[0], v[1]], [0.0, 0.0]])

    shots = np.stack([img((0, 0)), img((10, 0)), img((100, 100))])
    samples = np.stack([img((0, 1)), img((0, -1)), img((1, 0)),  # cluster 0: pairwise 4, 2, 2 → 8/3
                        img((10, 0.5)), img((10, -0.5)),            # cluster 1: 1
                        img((99, 100))])                            # cluster 2: one member, no pairs
    out = intra_cluster_diversity(samples.reshape(len(samples), -1), shots.reshape(len(shots), -1))
    assert out["sizes"] == [3, 2, 1]
    assert out["per_cluster"][0] == pytest.approx(8 / 3)
    assert out["per_cluster"][1] == pytest.approx(1.0)
    assert np.isnan(out["per_cluster"][2])
    assert out["diversity"] == pytest.approx((8 / 3 + 1) / 2)


def test_replicating_the_shots_has_zero_diversity_and_subsampling_caps_clusters():
    rng = np.random.default_rng(0)
    shots = rng.normal(size=(10, 6))
    copies = np.repeat(shots, 30, axis=0)
    assert intra_cluster_diversity(copies, shots)["diversity"] == pytest.approx(0.0, abs=1e-9)
    spread = copies + rng.normal(scale=0.01, size=copies.shape)
    out = intra_cluster_diversity(spread, shots, max_per_cluster=5)
    assert out["sizes"] == [30] * 10 and 0 < out["diversity"] < 0.01


def test_sq_euclidean_is_pairwise_squared_distance():
    a, b = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[3.0, 4.0]])
    assert np.allclose(sq_euclidean(a, b), [[25.0], [13.0]])
