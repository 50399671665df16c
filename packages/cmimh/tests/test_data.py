"""Loaders on files in the real formats written here (scipy.io.savemat, .npy), splits, features."""

from __future__ import annotations

import numpy as np
import pytest
from cmimh_fixtures import paired_arrays, write_dcmh_mat

from cmimh.data import (
    emoji_words,
    fit_transform,
    load_dataset,
    load_openmoji,
    make_split,
    prepare_features,
)
from reprokit import UsageError


@pytest.mark.parametrize("split_files,channels_first,transpose", [(False, False, False), (True, True, True)])
def test_dcmh_mat_layouts(tmp_path, split_files, channels_first, transpose):
    root = write_dcmh_mat(tmp_path / "mirflickr25k", n=40, split_files=split_files, channels_first=channels_first,
                          transpose_labels=transpose)
    images, texts, labels = paired_arrays(40)
    data = load_dataset("mirflickr25k", tmp_path)  # finds the <name>/ subfolder
    assert data.images.shape == (40, 16, 16, 3)
    assert np.array_equal(data.images, images)
    assert np.array_equal(data.texts, texts)
    assert np.array_equal(data.labels, labels)
    assert load_dataset("mirflickr25k", root).labels.shape == (40, 5)


def test_mat_feature_matrix_and_features_dataset(tmp_path):
    import scipy.io

    rng = np.random.default_rng(0)
    img, txt = rng.standard_normal((30, 12)), rng.integers(0, 2, (30, 9))
    lab = np.eye(3, dtype=np.uint8)[np.arange(30) % 3]
    scipy.io.savemat(tmp_path / "coco.mat", {"IAll": img, "YAll": txt, "LAll": lab})
    d = load_dataset("ms-coco", tmp_path)
    assert not d.images_are_pixels and np.allclose(d.images, img)
    np.save(tmp_path / "image_features.npy", img)
    np.save(tmp_path / "text_features.npy", txt)
    np.save(tmp_path / "labels.npy", lab)
    f = load_dataset("features", tmp_path)
    assert np.allclose(f.images, img) and np.array_equal(f.labels, lab)
    sub = tmp_path / "m"
    sub.mkdir()
    scipy.io.savemat(sub / "features.mat", {"image_features": img, "text_features": txt, "labels": lab})
    assert np.allclose(load_dataset("features", sub).texts, txt)


def test_bad_mat_files(tmp_path):
    import scipy.io

    images, texts, labels = paired_arrays(20)
    cases = {
        "mismatch": ({"images": images, "YAll": texts[:19], "LAll": labels}, "mismatched"),
        "empty-label": ({"images": images, "YAll": texts, "LAll": np.vstack([labels[:-1], np.zeros((1, 5))])},
                        "empty"),
        "nan": ({"images": images.reshape(20, -1).astype(float) * np.nan, "YAll": texts, "LAll": labels}, "NaN"),
        "no-labels": ({"images": images, "YAll": texts}, "label"),
    }
    for name, (arrays, msg) in cases.items():
        root = tmp_path / name
        root.mkdir()
        scipy.io.savemat(root / "data.mat", arrays)
        with pytest.raises(UsageError, match=msg):
            load_dataset("nus-wide", root)
    h5 = tmp_path / "h5"
    h5.mkdir()
    (h5 / "x.mat").write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64" + b"\0" * 200)
    with pytest.raises(UsageError, match=r"v7\.3"):
        load_dataset("mirflickr25k", h5)
    with pytest.raises(UsageError, match=r"no \.mat"):
        load_dataset("ms-coco", tmp_path)
    with pytest.raises(UsageError, match="unknown dataset"):
        load_dataset("cifar", tmp_path)
    with pytest.raises(UsageError, match="--data-dir"):
        load_dataset("mirflickr25k", None)


def test_openmoji_offline_set():
    d = load_openmoji(24, 32)
    assert len(d) > 2000
    assert d.images.shape[1:] == (32, 32, 3) and d.images.dtype == np.uint8
    assert (d.labels.sum(1) > 0).all() and d.labels.shape[1] == 24
    assert set(np.unique(d.texts)) <= {0.0, 1.0}
    # the labels are words of the Unicode names, so every label word is in the item's text
    i = d.item_names.index("1F600")  # GRINNING FACE
    assert emoji_words("1F600") == ["grinning", "face"]
    assert d.labels[i, d.label_names.index("face")] == 1
    # images are real renderings: not blank, not all identical
    assert d.images.std() > 20 and len({d.images[k].tobytes() for k in range(50)}) == 50


def test_split_is_disjoint_deterministic_and_standard():
    s = make_split(1000, 100, 500, 3)
    assert len(np.intersect1d(s.query, s.database)) == 0 and len(s.query) + len(s.database) == 1000
    assert np.isin(s.train, s.database).all() and len(s.train) == 500
    t = make_split(1000, 100, 500, 3)
    assert np.array_equal(s.query, t.query) and np.array_equal(s.train, t.train)
    assert not np.array_equal(s.query, make_split(1000, 100, 500, 4).query)
    with pytest.raises(UsageError):
        make_split(100, 99, 1, 0)


def test_pixel_pca_transform_matches_sklearn_and_round_trips():
    from sklearn.decomposition import PCA

    from cmimh.data import PairedData

    rng = np.random.default_rng(0)
    basis = rng.standard_normal((10, 16 * 16 * 3))
    coef = rng.standard_normal((80, 10)) * np.linspace(6, 1, 10)  # distinct variances ⇒ unique axes
    images = np.clip(128 + coef @ basis, 0, 255).astype(np.uint8).reshape(80, 16, 16, 3)
    _, texts, labels = paired_arrays(80)
    data = PairedData("t", images, texts.astype(np.float32), labels, "test")
    s = make_split(80, 10, 60, 0)
    tf = fit_transform(data, s.train, 8)
    z = tf.image(images)
    ref = PCA(8).fit(images[s.train].reshape(60, -1) / 255.0)
    zr = ref.transform(images.reshape(80, -1) / 255.0)
    # same axes up to sign, one global scale
    corr = [abs(np.corrcoef(z[:, k], zr[:, k])[0, 1]) for k in range(8)]
    assert min(corr) > 0.999
    ratio = z.std(0) / zr.std(0)
    assert np.allclose(ratio, ratio[0], rtol=1e-4)
    f = prepare_features(data, s, 8)
    assert np.allclose(f.image, z)
    assert np.allclose(type(tf).from_dict(tf.to_dict()).image(images), z)
