"""Experiment helpers: joblib across subjects, attribute control pieces, simulation ground truth."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from meg_familiarity import control
from meg_familiarity.data import SubjectData
from meg_familiarity.experiments import decode_group


def _subjects(n_sub=2, n=40, p=8, T=5):
    out = []
    for s in range(n_sub):
        rng = np.random.default_rng(s)
        y = np.repeat([0, 1], n // 2)
        X = rng.normal(size=(n, p, T))
        X[y == 1, :3, 2:] += 1.5
        out.append(SubjectData(str(s), X, y, np.arange(T) / 100, [f"c{i}" for i in range(p)]))
    return out


def test_joblib_across_subjects_gives_the_same_scores():
    subs = _subjects()
    dec = {"classifier": "lda", "folds": 4, "repeats": 1}
    a = decode_group(subs, dec, seed=0, n_jobs=1)
    b = decode_group(subs, dec, seed=0, n_jobs=2)
    np.testing.assert_array_equal(a["auc"], b["auc"])
    assert a["auc"][:, 2:].mean() > 0.8


def test_image_attributes_by_hand():
    flat = np.full((16, 16), 0.25)
    stripes = np.tile(np.r_[np.zeros(4), np.ones(4)], (16, 2))  # 4-pixel bars: 1/8 cycles per pixel
    A, names = control.image_attributes([flat, stripes])
    lum, con = names.index("luminance"), names.index("contrast")
    assert A[0, lum] == pytest.approx(0.25) and A[0, con] == pytest.approx(0.0)
    assert A[1, lum] == pytest.approx(0.5) and A[1, con] == pytest.approx(1.0)  # std 0.5 / mean 0.5
    sf = [i for i, n in enumerate(names) if n.startswith("sf_")]
    assert np.argmax(A[1, sf]) == 1  # 0.125 cyc/px lies in the second of 4 bands up to Nyquist (0.5)
    hist_v = [i for i, n in enumerate(names) if n.startswith("hsv_v")]
    assert A[0, hist_v].sum() == pytest.approx(1.0) and A[0, hist_v][2] == pytest.approx(1.0)


def test_rdm_and_partial_spearman_against_references():
    rng = np.random.default_rng(0)
    pat = rng.normal(size=(10, 6))
    np.testing.assert_allclose(control.rdm_vector(pat), pdist(pat, "correlation"), atol=1e-12)
    x, z = rng.normal(size=45), rng.normal(size=45)
    y = x + 2 * z + rng.normal(scale=0.5, size=45)
    assert control.partial_spearman(y[None], x, np.zeros((0, 45)))[0] == pytest.approx(spearmanr(x, y)[0])
    # partial correlation by hand: residuals of ranks after regressing on the control's ranks
    from scipy.stats import rankdata

    R = np.column_stack([np.ones(45), rankdata(z)])
    res = lambda v: v - R @ np.linalg.lstsq(R, v, rcond=None)[0]  # noqa: E731
    ref = np.corrcoef(res(rankdata(x)), res(rankdata(y)))[0, 1]
    assert control.partial_spearman(y[None], x, z[None])[0] == pytest.approx(ref)


def test_matching_removes_the_attribute_difference():
    rng = np.random.default_rng(1)
    lum = rng.normal(size=80)
    labels = (lum + rng.normal(size=80) > 0).astype(int)
    A = lum[:, None]
    kept = control.match_images(A, labels, caliper=0.2)
    assert abs(control.standardized_mean_difference(A, labels)[0]) > 0.8
    assert abs(control.standardized_mean_difference(A[kept], labels[kept])[0]) < 0.1
    assert (labels[kept] == 1).sum() == (labels[kept] == 0).sum() >= 10


def test_simulation_plants_the_onset_and_the_luminance_confound():
    from meg_familiarity.simulate import SimConfig, onset_step, simulate_dataset

    t = np.arange(0, 0.3, 0.001)
    h = onset_step(t, 0.085)
    assert h[t < 0.085].max() == 0 and h[t >= 0.1005].min() == pytest.approx(1.0)
    ds = simulate_dataset(SimConfig(n_subjects=1, n_images=40, channels="mag", sfreq=125.0, luminance_bias=3.0))
    lum = ds.images.reshape(40, -1).mean(1)
    assert lum[ds.familiar == 1].mean() > lum[ds.familiar == 0].mean()  # the confound's image split
    assert ds.subjects[0].data.shape[0] == 102 and len(ds.subjects[0].label) == 80
