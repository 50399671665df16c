"""The SVM protocol against scikit-learn used directly; the node probe; resumable training."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from deepgcfx.data import make_synthetic
from deepgcfx.evaluate import mean_std, node_probe, svm_cv
from deepgcfx.train import build_model, embed, fit
from reprokit import UsageError


def test_svm_cv_equals_nested_sklearn():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=3, n_classes=3, random_state=0)
    Cs = (0.1, 1.0, 10.0)
    ours = svm_cv(X, y, seed=4, folds=5, inner_folds=3, Cs=Cs)
    inner = StratifiedKFold(3, shuffle=True, random_state=4)
    clf = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": list(Cs)}, cv=inner)
    ref = cross_val_score(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=4))
    assert np.allclose(ours["folds"], ref)
    assert ours["acc"] == pytest.approx(ref.mean())


def test_svm_precomputed_kernel_equals_linear_svc():
    X, y = make_classification(n_samples=90, n_features=5, random_state=1)
    a = svm_cv(X @ X.T, y, seed=0, folds=3, inner_folds=2, Cs=(1.0,), kernel="precomputed")
    inner = StratifiedKFold(2, shuffle=True, random_state=0)
    ref = cross_val_score(GridSearchCV(SVC(kernel="linear"), {"C": [1.0]}, cv=inner), X, y,
                          cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert np.allclose(a["folds"], ref)


def test_svm_refuses_bad_input():
    X, y = np.ones((10, 2)), np.array([0] * 8 + [1] * 2)
    with pytest.raises(UsageError, match="smallest class"):
        svm_cv(X, y, folds=5)
    with pytest.raises(UsageError, match="NaN"):
        svm_cv(np.full((10, 2), np.nan), np.array([0, 1] * 5), folds=2)


def test_node_probe_separable_and_mean_std():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 20)
    X = np.c_[y + 0.05 * rng.normal(size=40), rng.normal(size=40)]
    assert node_probe(X, y, splits=3, seed=0)["acc"] == 1.0
    assert node_probe(rng.normal(size=(40, 2)), y, splits=3, seed=0)["acc"] < 0.9
    assert mean_std([0.5, 0.7]) == pytest.approx((0.6, 0.1))


def test_fit_resumes_exactly_after_interruption(tmp_path):
    graphs = make_synthetic(n_graphs=24, seed=0).graphs
    cfg = {"hidden": 8, "layers": 2}

    def run(ckpt, stop_after=None):
        torch.manual_seed(0)
        model = build_model("deepgcfx", graphs[0].num_features, cfg)

        def cb(rec):
            if stop_after is not None and rec["epoch"] == stop_after:
                raise KeyboardInterrupt

        hist = fit(model, graphs, epochs=3, batch_size=8, seed=0, checkpoint=ckpt, on_epoch=cb)
        return hist, embed(model, graphs)["both"]

    full, emb_full = run(tmp_path / "a.pt")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b.pt", stop_after=2)  # killed after epoch 2's checkpoint... (raised before saving)
    resumed, emb_res = run(tmp_path / "b.pt")
    assert resumed == pytest.approx(full, rel=1e-6)
    assert np.allclose(emb_full, emb_res, atol=1e-5)
