"""Loaders: OpenMoji (offline), the DCMH .mat layout written with scipy.io.savemat, features npz."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from dcsh import data as D
from reprokit import UsageError


def test_emoji_tokens():
    assert D.emoji_tokens([0x1F600]) == ["grinning", "face"]
    assert D.emoji_tokens([0x1F1FA, 0x1F1F8]) == ["flag", "flag_us"]
    assert D.emoji_tokens([0x1F44D, 0x1F3FD]) == ["thumbs", "up", "sign", "skin_medium"]
    assert D.emoji_tokens([0x1F468, 0x200D, 0x1F4BB]) == ["man", "personal", "computer"]
    assert D.emoji_tokens([0xE000]) is None  # private use: no Unicode name


def test_openmoji_loads_real_emoji():
    d = D.load_openmoji(image_size=16, n_labels=8, max_len=8, limit=120)
    assert d.n == 120 and d.images.shape == (120, 3, 16, 16) and d.images.dtype == np.uint8
    assert d.labels.shape == (120, 8) and (d.labels.sum(1) >= 1).all()
    assert d.text_ids.shape == (120, 8) and d.text_ids.max() < len(d.vocab)
    assert d.images.std() > 10  # rendered glyphs, not blank canvases
    np.testing.assert_allclose(np.linalg.norm(d.text_bow, axis=1), 1.0, atol=1e-5)
    assert "openmoji" in d.note.lower() or "OpenMoji" in d.note


def test_image_features_shape():
    rng = np.random.default_rng(0)
    f = D.image_features(rng.integers(0, 255, (5, 3, 16, 16)).astype(np.uint8))
    assert f.shape[0] == 5 and np.isfinite(f).all()


def _mat(tmp_path, layout):
    rng = np.random.default_rng(0)
    n = 30
    lab = (rng.random((n, 4)) > 0.6).astype(np.uint8)
    tags = (rng.random((n, 12)) > 0.7).astype(np.float64)
    if layout == "pixels":
        img = rng.integers(0, 255, (n, 20, 20, 3)).astype(np.uint8)
    elif layout == "pixels-last":
        img = rng.integers(0, 255, (20, 20, 3, n)).astype(np.uint8)
    else:
        img = rng.standard_normal((n, 50)).astype(np.float32)
    path = tmp_path / "FLICKR-25K.mat"
    key = "IAll" if layout == "pixels-last" else "images"
    scipy.io.savemat(path, {key: img, "YAll": tags, "LAll": lab})
    return path, lab, tags


@pytest.mark.parametrize("layout", ["pixels", "pixels-last", "features"])
def test_dcmh_mat_loader(tmp_path, layout):
    _, lab, tags = _mat(tmp_path, layout)
    d = D.load_dataset("mirflickr25k", tmp_path, {"data": {"image_size": 16, "max_len": 8}})
    assert d.n == 30
    np.testing.assert_array_equal(d.labels, lab)
    if layout == "features":
        assert d.images is None and d.image_features.shape == (30, 50)
    else:
        assert d.images.shape == (30, 3, 16, 16)
    first = np.flatnonzero(tags[0])[:8] + 1
    np.testing.assert_array_equal(d.text_ids[0, :first.size], first)


def test_dcmh_mat_errors(tmp_path):
    scipy.io.savemat(tmp_path / "FLICKR-25K.mat", {"images": np.zeros((5, 4)), "YAll": np.zeros((6, 3)),
                                                  "LAll": np.ones((5, 2))})
    with pytest.raises(UsageError, match="YAll"):
        D.load_dataset("mirflickr25k", tmp_path, {"data": {}})
    (tmp_path / "FLICKR-25K.mat").write_text("not a mat file")
    with pytest.raises(UsageError):
        D.load_dataset("mirflickr25k", tmp_path, {"data": {}})
    with pytest.raises(UsageError, match="data-dir"):
        D.check_dataset("mirflickr25k", None)
    with pytest.raises(UsageError, match="unknown dataset"):
        D.check_dataset("no-such", tmp_path)


def test_features_npz(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "features.npz", image_features=rng.standard_normal((20, 6)),
             text_features=rng.random((20, 9)), labels=np.arange(20) % 3)
    d = D.load_dataset("features", tmp_path, {"data": {"max_len": 4}})
    assert d.labels.shape == (20, 3) and d.image_features.shape == (20, 6)
    np.savez(tmp_path / "features.npz", image_features=np.ones((20, 6)), text_features=np.ones((19, 9)),
             labels=np.zeros(20))
    with pytest.raises(UsageError, match="different lengths"):
        D.load_dataset("features", tmp_path, {"data": {}})


def test_embedding_files(tmp_path):
    g = tmp_path / "g.txt"
    g.write_text("face 0.1 0.2 0.3\ncat 1 2 3\n")
    D.check_embeddings_file(g, 3)
    with pytest.raises(UsageError, match="3-dimensional"):
        D.check_embeddings_file(g, 50)
    w = tmp_path / "w2v.txt"
    w.write_text("2 3\nface 0.1 0.2 0.3\ncat 1 2 3\n")
    E, hits = D.read_embeddings(w, ["<pad>", "face", "dog"], 3)
    assert hits == 1 and E[1, 2] == pytest.approx(0.3)
    with pytest.raises(UsageError, match=r"text\.embed_dim"):
        D.read_embeddings(w, ["<pad>"], 4)
