"""Projection basis, diffusion index and spread on constructed point clouds with known geometry."""

import numpy as np
import pytest
import torch

from lskd.evaluate import accuracy, diffusion_index, pca_2d, project, projection_basis, relative_spread


def test_projection_basis_is_orthonormal_and_spans_the_rows():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(10, 32)), rng.normal(size=10)
    q = projection_basis(w, b, [0, 6, 7])
    assert q.shape == (33, 3)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-10)
    rows = np.concatenate([w[[0, 6, 7]], b[[0, 6, 7], None]], axis=1)
    np.testing.assert_allclose(q @ (q.T @ rows.T), rows.T, atol=1e-10)  # rows lie in span(Q)
    # the first basis vector is the normalised first row (Gram–Schmidt order, sign fixed)
    np.testing.assert_allclose(q[:, 0], rows[0] / np.linalg.norm(rows[0]), atol=1e-10)


def test_project_appends_a_one():
    basis = np.zeros((3, 2))
    basis[2, 0] = 1.0  # picks the appended 1
    basis[0, 1] = 1.0  # picks feature 0
    out = project(np.array([[5.0, 7.0], [2.0, 1.0]]), basis)
    np.testing.assert_allclose(out, [[1.0, 5.0], [1.0, 2.0]])


def clouds(sigma_axis: float, sigma_orth: float, d: float, n: int = 20000, seed: int = 0):
    """Two clusters at (0,0,0) and (d,0,0), std sigma_axis along x, sigma_orth in y/z."""
    rng = np.random.default_rng(seed)
    pts, labels = [], []
    for k, cx in ((0, 0.0), (1, d)):
        p = rng.normal(size=(n, 3)) * [sigma_axis, sigma_orth, sigma_orth] + [cx, 0, 0]
        pts.append(p)
        labels.append(np.full(n, k))
    return np.concatenate(pts), np.concatenate(labels)


@pytest.mark.parametrize(("sigma", "d"), [(0.5, 4.0), (1.0, 2.0), (2.0, 10.0)])
def test_diffusion_index_recovers_known_spread(sigma, d):
    pts, y = clouds(sigma, 2.0, d)
    assert diffusion_index(pts, y, 0, 1) == pytest.approx(sigma / d, rel=0.05)


def test_diffusion_index_ignores_orthogonal_spread_and_scale():
    a = diffusion_index(*clouds(1.0, 0.1, 4.0), 0, 1)
    b = diffusion_index(*clouds(1.0, 3.0, 4.0), 0, 1)
    assert a == pytest.approx(b, rel=0.05)
    pts, y = clouds(1.0, 1.0, 4.0)
    assert diffusion_index(pts * 37.0 + 3.0, y, 0, 1) == pytest.approx(diffusion_index(pts, y, 0, 1), rel=1e-9)
    assert diffusion_index(*clouds(2.0, 1.0, 4.0), 0, 1) > diffusion_index(*clouds(1.0, 1.0, 4.0), 0, 1)


def test_relative_spread_equilateral_triangle():
    rng = np.random.default_rng(1)
    d, sigma, n = 6.0, 0.7, 5000
    centres = np.array([[0, 0], [d, 0], [d / 2, d * np.sqrt(3) / 2]])
    pts = np.concatenate([c + rng.normal(size=(n, 2)) * sigma for c in centres])
    y = np.repeat([0, 1, 2], n)
    # rms radius of an isotropic 2-D Gaussian is sigma·√2; every centroid distance is d
    assert relative_spread(pts, y) == pytest.approx(sigma * np.sqrt(2) / d, rel=0.03)


def test_pca_2d_keeps_the_plane():
    rng = np.random.default_rng(2)
    plane = rng.normal(size=(200, 2)) * [3.0, 1.0]
    pts = np.concatenate([plane, np.zeros((200, 1))], axis=1)
    xy = pca_2d(pts)
    assert xy.shape == (200, 2)
    # a rotation of the centred plane: total variance kept, first component the direction of largest variance
    assert np.var(xy, axis=0).sum() == pytest.approx(np.var(plane, axis=0).sum(), rel=1e-10)
    cov = np.cov(plane.T, bias=True)
    assert np.var(xy[:, 0]) == pytest.approx(np.linalg.eigvalsh(cov).max(), rel=1e-10)


class Const(torch.nn.Module):
    def forward(self, x):
        return torch.tensor([[0.0, 1.0, 0.0]]).repeat(len(x), 1)


def test_accuracy_against_counting():
    ds = [(torch.zeros(2), int(k), i) for i, k in enumerate([1, 1, 0, 2, 1])]
    assert accuracy(Const(), ds, torch.device("cpu")) == pytest.approx(60.0)


def grid_records(acc, dif, seeds=(0, 1)):
    """Student records from {(alpha, T): [per-seed acc]} and the same for diffusion."""
    return [{"alpha": a, "temperature": t, "seed": s, "acc": acc[(a, t)][i], "diffusion": dif[(a, t)][i]}
            for (a, t) in acc for i, s in enumerate(seeds)]


def test_grid_claim_verdicts_follow_the_numbers():
    from lskd.experiments import grid_claims

    teachers = [{"alpha": a, "seed": s, "acc": 90.0, "spread": 0.3 - a} for a in (0.0, 0.1) for s in (0, 1)]
    acc = {(0.0, 1.0): [80, 81], (0.0, 16.0): [79, 80], (0.1, 1.0): [81, 81.5], (0.1, 16.0): [77, 78]}
    dif = {(0.0, 1.0): [0.5, 0.5], (0.0, 16.0): [0.5, 0.6], (0.1, 1.0): [0.5, 0.5], (0.1, 16.0): [0.7, 0.8]}
    claims, metrics = grid_claims({"teachers": teachers, "students": grid_records(acc, dif)}, 0.5)
    v = {c.id: c.verdict for c in claims}
    assert v == {"C1": "reproduced", "C2": "reproduced", "C3": "reproduced"}
    assert claims[0].evidence["effect_per_seed"] == pytest.approx([3.0, 2.5])  # (4 − 1), (3.5 − 1)
    assert metrics["teacher_info_erasure"] == pytest.approx(1 - 0.2 / 0.3)
    # opposite pattern → not reproduced; seeds that disagree → inconclusive
    acc2 = {**acc, (0.1, 16.0): [81, 81.5], (0.0, 16.0): [75, 76]}
    dif2 = {**dif, (0.1, 16.0): [0.5, 0.45]}
    dif2[(0.0, 16.0)] = [0.5, 0.4]
    v2 = {c.id: c.verdict for c in grid_claims({"teachers": teachers, "students": grid_records(acc2, dif2)}, 0.5)[0]}
    assert v2["C1"] == "not reproduced" and v2["C3"] == "inconclusive"
    # a best cell 2 points above LS + low T → C2 not reproduced; one seed → everything inconclusive
    acc3 = {**acc, (0.0, 16.0): [84, 84]}
    assert grid_claims({"teachers": teachers, "students": grid_records(acc3, dif)}, 0.5)[0][1].verdict == \
        "not reproduced"
    # seeds agree but the mean effect is below the minimum → inconclusive
    tiny = grid_claims({"teachers": teachers, "students": grid_records(acc, dif)}, 0.5, 5.0, 0.5)[0]
    assert tiny[0].verdict == "inconclusive" and tiny[2].verdict == "inconclusive"
    one = [r for r in grid_records(acc, dif) if r["seed"] == 0]
    assert {c.verdict for c in grid_claims({"teachers": teachers, "students": one}, 0.5)[0]} == {"inconclusive"}
