"""Detection rate definition, classifiers, and the saved detector (reload → same scores, foreign files refused)."""

import numpy as np
import pytest
import torch

from reprokit import UsageError
from spectral_forensics.detectors import Detector, detection_runs, extract, make_classifier


def test_detection_rate_is_the_fraction_called_fake_over_paired_runs():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, size=(200, 3))
    base = rng.normal(6, 1, size=(200, 3))
    tests = {"real": rng.normal(0, 1, size=(50, 3)), "BASELINE": rng.normal(6, 1, size=(50, 3)),
             "half": np.r_[rng.normal(0, 1, size=(25, 3)), rng.normal(6, 1, size=(25, 3))]}
    for clf in ("knn", "svm", "mlp", "logreg"):
        rates = detection_runs(real, base, tests, clf, n_runs=3, n_train=30, seed=1)
        assert rates["real"].tolist() == [0.0] * 3 and rates["BASELINE"].tolist() == [1.0] * 3
        assert np.allclose(rates["half"], 0.5)
    with pytest.raises(UsageError):
        detection_runs(real[:10], base, tests, "knn", 2, 30, 0)


def test_knn_is_k5_kd_tree_with_standardisation():
    p = make_classifier("knn", 0)
    assert p[0].__class__.__name__ == "StandardScaler" and p[-1].n_neighbors == 5 and p[-1].algorithm == "kd_tree"
    m = make_classifier("mlp", 0)[-1]
    assert m.hidden_layer_sizes == (10, 10) and m.activation == "logistic" and m.max_iter == 2000


@pytest.mark.parametrize("features,clf", [("dzanic", "knn"), ("durall", "svm"), ("dzanic", "mlp")])
def test_saved_detector_reloads_and_scores_the_same(tmp_path, features, clf):
    rng = np.random.default_rng(1)
    gray = rng.uniform(0, 255, size=(40, 16, 16))
    gray[20:] = np.cumsum(gray[20:], 2) / 16
    x = extract(features, gray)
    y = np.r_[np.zeros(20), np.ones(20)]
    det = Detector(features, clf, (16, 16), x, y, {"dzanic": {}}, seed=3)
    path = det.save(tmp_path / "d.npz")
    again = Detector.load(path)
    s1, l1 = det.predict(x)
    s2, l2 = again.predict(again.featurize(gray))
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_allclose(s1, s2, rtol=0, atol=1e-12)
    assert again.size == (16, 16) and again.features == features


def test_foreign_files_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "something-else"}'), x_train=np.zeros((2, 3)),
             y_train=np.zeros(2))
    np.savez(tmp_path / "nokeys.npz", a=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    torch.save({"kind": "spectral-forensics-gan"}, tmp_path / "ckpt.npz")
    for name in ("other.npz", "nokeys.npz", "text.npz", "ckpt.npz"):
        with pytest.raises(UsageError, match=name):
            Detector.load(tmp_path / name)
