"""Property tests (hypothesis) on random distributions: ranges, zero at the reference, behaviour along
straight lines to uniform and along the paper's sweep, exact inversion of the correction."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairgen_metrics import correction as cc
from fairgen_metrics import metrics as M
from fairgen_metrics.sweep import sweep_distributions

NORMED = ("L1", "L2", "KL", "Spec", "IS", "WD", "WD (official)", "WDS")


@st.composite
def distributions(draw, min_k=2, max_k=16, zeros=True):
    k = draw(st.integers(min_k, max_k))
    w = draw(st.lists(st.floats(0.0 if zeros else 0.01, 1.0), min_size=k, max_size=k))
    w = np.asarray(w)
    if w.sum() <= 1e-9:
        w[0] = 1.0
    return w / w.sum()


@settings(max_examples=60, deadline=None)
@given(distributions())
def test_normalised_metrics_lie_in_unit_interval(p):
    vals = M.sweep_metrics(p[None], hamming=False)
    for m in NORMED:
        assert -1e-12 <= float(vals[m][0]) <= 1 + 1e-9, (m, p)


@settings(max_examples=60, deadline=None)
@given(distributions())
def test_raw_ranges_of_the_docstrings(p):
    k = p.size
    assert 0 <= M.l1(p) <= 2 * (k - 1) / k + 1e-12
    assert 0 <= M.l2(p) <= np.sqrt((k - 1) / k) + 1e-12
    assert 0 <= M.kl(p) <= np.log(k) + 1e-12
    assert 0 <= M.specificity(p) <= 1 + 1e-12
    assert 0 <= M.wasserstein(p) <= (k - 1) / k + 1e-12


@settings(max_examples=40, deadline=None)
@given(distributions(zeros=False))
def test_zero_at_the_reference(ref):
    for fn in (M.l1, M.l2, M.kl, M.wasserstein):
        assert abs(float(fn(ref, ref))) < 1e-12
    u = np.full(ref.size, 1 / ref.size)
    assert abs(float(M.specificity(u))) < 1e-12


@settings(max_examples=40, deadline=None)
@given(distributions(), st.floats(0.0, 1.0))
def test_linear_along_a_straight_line_to_uniform(p, t):
    """On p_t = (1−t)p + t·u the norms, Spec, IS, WD and WDS scale by (1 − t) exactly; KL does not."""
    u = np.full(p.size, 1 / p.size)
    pt = (1 - t) * p + t * u
    for fn in (M.l1, M.l2, M.specificity, M.information_specificity, M.wasserstein, M.wds):
        assert abs(float(fn(pt)) - (1 - t) * float(fn(p))) < 1e-9


@settings(max_examples=30, deadline=None)
@given(distributions(), st.floats(0.05, 0.95), st.floats(0.05, 0.95))
def test_kl_monotone_along_the_line(p, a, b):
    u = np.full(p.size, 1 / p.size)
    lo, hi = sorted((a, b))
    assert M.kl((1 - hi) * p + hi * u) <= M.kl((1 - lo) * p + lo * u) + 1e-12


@settings(max_examples=12, deadline=None)
@given(st.sampled_from([2, 4, 8, 16]), st.randoms(use_true_random=False))
def test_monotone_along_the_paper_sweep_in_any_class_order(k, rnd):
    d = sweep_distributions(k)
    perm = list(range(k))
    rnd.shuffle(perm)
    base, shuffled = M.sweep_metrics(d, hamming=False), M.sweep_metrics(d[:, perm], hamming=False)
    for m in ("L1", "L2", "KL", "Spec", "IS", "WD", "WDS"):
        v = shuffled[m]
        assert np.all(np.diff(v) <= 1e-12), m
        np.testing.assert_allclose(v, base[m], atol=1e-12)  # permutation invariant
        assert abs(v[0] - 1) < 1e-9 and abs(v[-1]) < 1e-9


@settings(max_examples=50, deadline=None)
@given(distributions(max_k=8, zeros=False), st.floats(0.55, 0.99), st.integers(0, 2 ** 31))
def test_correction_inverts_any_better_than_chance_confusion(p_star, acc, seed):
    k = p_star.size
    rng = np.random.default_rng(seed)
    off = rng.dirichlet(np.ones(k - 1), size=k) * (1 - acc)
    c = np.zeros((k, k))
    for i in range(k):
        c[i, i] = acc
        c[i, [j for j in range(k) if j != i]] = off[i]
    if np.linalg.cond(c) > 1e6:
        return
    measured = c.T @ p_star  # infinite samples
    np.testing.assert_allclose(cc.correct(measured, c), p_star, atol=1e-9)
