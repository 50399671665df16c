"""Projection basis, the diffusion measures and the erasure statistic on constructed data with known answers;
the claims' verdict rule on simulated per-seed effects."""

import numpy as np
import pytest
import torch

from lskd.evaluate import (
    accuracy,
    diffusion_index,
    directional_diffusion,
    directional_spread,
    isotropic_control,
    logit_erasure,
    pca_2d,
    project,
    projection_basis,
)


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


def triangle(n: int = 4000, d: float = 6.0, seed: int = 1):
    """Three isotropic clusters (σ 0.5) on an equilateral triangle of side d: classes 0, 1 similar, 2 not."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0], [d / 2, d * np.sqrt(3) / 2, 0.0]])
    pts = np.concatenate([c + 0.5 * rng.normal(size=(n, 3)) for c in centres])
    return pts, np.repeat([0, 1, 2], n), centres


def _tail(pts, labels, k, direction, amount, seed=0):
    """Push a random half of class k's points along ``direction`` by Exp(amount): a one-sided tail."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(labels == k)
    idx = idx[rng.random(len(idx)) < 0.5]
    out = pts.copy()
    out[idx] += rng.exponential(amount, size=(len(idx), 1)) * direction / np.linalg.norm(direction)
    return out


def test_directional_spread_is_zero_for_symmetric_spread_and_signed_for_tails():
    pts, y, c = triangle()
    assert abs(directional_spread(pts, y, 0, 1)) < 0.005  # isotropic: nothing toward or away
    toward = _tail(pts, y, 0, c[1] - c[0], 1.5)
    away = _tail(pts, y, 0, c[0] - c[1], 1.5)
    assert directional_spread(toward, y, 0, 1) > 0.05
    assert directional_spread(away, y, 0, 1) < -0.05
    # elongated along the axis both ways (symmetric): the old index D grows, R stays at 0
    stretched = pts.copy()
    stretched[y == 0, 0] = c[0, 0] + (stretched[y == 0, 0] - c[0, 0]) * 3.0
    assert abs(directional_spread(stretched, y, 0, 1)) < 0.01
    assert diffusion_index(stretched, y, 0, 1) > 2 * diffusion_index(pts, y, 0, 1)


def test_directional_diffusion_separates_similar_from_dissimilar_and_isotropic():
    pts, y, c = triangle()
    none = directional_diffusion(pts, y, 0, 1, 2)
    assert abs(none["index"]) < 0.01
    directed = _tail(_tail(pts, y, 0, c[1] - c[0], 1.5, 1), y, 1, c[0] - c[1], 1.5, 2)
    dd = directional_diffusion(directed, y, 0, 1, 2)
    assert dd["toward_similar"] > 0.05 and dd["index"] > 0.04
    to_c = _tail(_tail(pts, y, 0, c[2] - c[0], 1.5, 3), y, 1, c[2] - c[1], 1.5, 4)
    assert directional_diffusion(to_c, y, 0, 1, 2)["index"] < -0.04  # toward the dissimilar class
    wide = pts.copy()
    for k in range(3):  # isotropic spread, 3× wider: no direction
        m = y == k
        wide[m] = c[k] + (pts[m] - c[k]) * 3.0
    assert abs(directional_diffusion(wide, y, 0, 1, 2)["index"]) < 0.02
    assert abs(isotropic_control(directed, y, 0, 1, 2)) < 0.02  # the control has no direction by construction


def test_logit_erasure_by_hand_and_on_smoothed_logits():
    z = np.array([[3.0, 1.0, 0.0], [0.0, 4.0, 2.0]])
    # item 0: others (1, 0): sd 0.5, lead 3 − 0.5 = 2.5; item 1: others (0, 2): sd 1, lead 4 − 1 = 3
    assert logit_erasure(z, np.array([0, 1])) == pytest.approx((0.5 + 1.0) / 2 / ((2.5 + 3.0) / 2))
    rng = np.random.default_rng(0)
    plain = rng.normal(size=(500, 10))
    y = rng.integers(0, 10, 500)
    plain[np.arange(500), y] += 4.0
    smoothed = plain.copy()
    mask = np.ones_like(plain, bool)
    mask[np.arange(500), y] = False
    smoothed[mask] = 0.3 * plain[mask]  # non-target logits pulled together: information erased
    assert logit_erasure(smoothed, y) < 0.5 * logit_erasure(plain, y)


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


def _records(effect: float, sd: float, n_seeds: int, rng, erasure_ls: float = 0.17):
    """Teachers and students whose C1 effect per seed is N(effect, sd) (the LS drop grows by it)."""
    teachers = [{"alpha": a, "seed": s, "acc": 88.0, "erasure": 0.30 if a == 0 else erasure_ls}
                for a in (0.0, 0.1) for s in range(n_seeds)]
    students = []
    for s in range(n_seeds):
        e = rng.normal(effect, sd)
        base = rng.normal(87.0, 0.3)
        acc = {(0.0, 1.0): base, (0.0, 64.0): base - 1.0, (0.1, 1.0): base + 0.2, (0.1, 64.0): base - 1.0 - e + 0.2}
        students += [{"alpha": a, "temperature": t, "seed": s, "acc": v, "diffusion": 0.0} for (a, t), v in acc.items()]
    return {"teachers": teachers, "students": students}


def test_verdict_rule_has_power_and_controls_false_positives():
    """Issue #13: a true 1-point effect with per-seed SD 0.2 and 5 seeds → reproduced in ≥ 95% of
    simulations; a true null → reproduced in ≤ 5%."""
    from lskd.experiments import grid_claims

    rng = np.random.default_rng(0)
    hits = [grid_claims(_records(1.0, 0.2, 5, rng))[0][0].verdict for _ in range(300)]
    nulls = [grid_claims(_records(0.0, 0.7, 5, rng))[0][0].verdict for _ in range(300)]
    assert hits.count("reproduced") / 300 >= 0.95
    assert nulls.count("reproduced") / 300 <= 0.05


def test_grid_claim_verdicts_follow_the_numbers():
    from lskd.experiments import grid_claims

    rng = np.random.default_rng(1)
    claims, metrics = grid_claims(_records(1.5, 0.1, 5, rng))
    v = {c.id: c.verdict for c in claims}
    assert v["C1"] == "reproduced" and metrics["teacher_precondition"]
    ev = claims[0].evidence
    assert ev["ci95_low"] > 0 and ev["mean_effect"] == pytest.approx(np.mean(ev["effect_per_seed"]), abs=1e-3)
    # C2: LS + T=1 is 0.2 above the plain T=1 cell in every seed → no cell beats it: reproduced
    assert v["C2"] == "reproduced"
    # reversed C1 effect → not reproduced; C3 flat (all diffusion 0) → CI is a point at 0 < 0.02: not reproduced
    rev = {c.id: c.verdict for c in grid_claims(_records(-1.0, 0.1, 5, rng))[0]}
    assert rev["C1"] == "not reproduced" and v["C3"] == "not reproduced"
    # a teacher without erasure (E_LS only 10% below) → every claim inconclusive
    weak = grid_claims(_records(1.5, 0.1, 5, rng, erasure_ls=0.27))
    assert {c.verdict for c in weak[0]} == {"inconclusive"} and not weak[1]["teacher_precondition"]
    # one seed → inconclusive
    assert {c.verdict for c in grid_claims(_records(1.5, 0.1, 1, rng))[0]} == {"inconclusive"}
    # a cell 2 points above LS + low T in every seed → C2 not reproduced
    r = _records(1.5, 0.1, 5, rng)
    for x in r["students"]:
        if (x["alpha"], x["temperature"]) == (0.0, 64.0):
            x["acc"] += 4.0
    assert {c.id: c.verdict for c in grid_claims(r)[0]}["C2"] == "not reproduced"


def test_official_pca_is_fitted_on_training_items_and_centroids_only():
    from sklearn.decomposition import PCA

    from lskd.evaluate import official_pca

    rng = np.random.default_rng(3)
    train = rng.normal(size=(90, 3)) * [3.0, 1.0, 0.2]
    labels = np.repeat([0, 1, 2], 30)
    test = rng.normal(size=(20, 3)) * [0.1, 5.0, 5.0]  # a very different spread: must not move the fit
    xy_train, xy_test, cen = official_pca(train, labels, test)
    centroids = np.stack([train[labels == k].mean(0) for k in range(3)])
    ref = PCA(n_components=2).fit(np.concatenate([train, centroids]))
    np.testing.assert_allclose(xy_train, ref.transform(train), atol=1e-10)
    np.testing.assert_allclose(xy_test, ref.transform(test), atol=1e-10)
    np.testing.assert_allclose(cen, ref.transform(centroids), atol=1e-10)
    assert not np.allclose(xy_test, PCA(n_components=2).fit(test).transform(test), atol=1e-3)


def test_analyse_records_training_projections_when_asked(tmp_path):
    from conftest import write_mnist_like

    from lskd.data import load_dataset
    from lskd.experiments import analyse
    from lskd.models import build_model

    write_mnist_like(tmp_path, n_train=120, n_test=60)
    data = load_dataset("mnist", tmp_path)
    out = analyse(build_model("mlp-32", 10, 1), data, [0, 1, 2], torch.device("cpu"), 5, train_per_class=7)
    assert out["proj_train"].shape == (21, 3) and sorted(set(out["proj_train_labels"].tolist())) == [0, 1, 2]
    assert "proj_train" not in analyse(build_model("mlp-32", 10, 1), data, [0, 1, 2], torch.device("cpu"), 5)
