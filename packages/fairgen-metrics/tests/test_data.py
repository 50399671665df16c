"""Loaders on small files in the real formats; derived attributes; restricted-argmax prediction."""

import numpy as np
import pytest
from conftest import write_idx

from fairgen_metrics import data as D
from fairgen_metrics.experiments import resolve_attribute, split_train
from reprokit import UsageError


def test_idx_round_trip(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(D.read_idx(write_idx(tmp_path / "x-idx3-ubyte", a, gz=False)), a)
    np.testing.assert_array_equal(D.read_idx(write_idx(tmp_path / "y-idx3-ubyte", a, gz=True)), a)
    bad = tmp_path / "bad-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(UsageError, match="magic"):
        D.read_idx(bad)


def test_fashion_mnist_loader(fmnist_dir):
    d = D.load_fashion_mnist(fmnist_dir)
    assert d.x_train.shape == (600, 1, 28, 28) and d.x_test.shape == (300, 1, 28, 28)
    assert d.num_classes == 10 and d.y_train.max() == 9


def test_missing_fashion_mnist_names_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "SYSTEM_FMNIST", tmp_path / "none")
    with pytest.raises(UsageError, match="train-images-idx3-ubyte"):
        D.fmnist_root(tmp_path)


def test_attributes_cover_the_classes_and_predict_by_restricted_argmax():
    a = D.fmnist_attribute("long-sleeves")
    assert sorted(c for g in a.groups for c in g) == list(range(10))
    np.testing.assert_array_equal(a.labels(np.array([2, 4, 6, 0, 9]), 10), [1, 1, 1, 0, 0])
    c8 = D.fmnist_attribute("class-8")
    logits = np.zeros((2, 10))
    logits[0, 9] = 5.0  # Ankle boot is outside class-8: the best of classes 0..7 wins
    logits[0, 3] = 1.0
    logits[1, 5] = 2.0
    np.testing.assert_array_equal(c8.predict(logits), [3, 5])
    assert c8.labels(np.array([8, 9, 1]), 10).tolist() == [-1, -1, 1]
    with pytest.raises(UsageError):
        D.fmnist_attribute("no-such")


def test_celeba_loader_and_attribute_codes(celeba_dir):
    files, names, a = D.read_celeba_attrs(celeba_dir / "list_attr_celeba.txt")
    assert names[:2] == ["Male", "Young"] and a.shape == (64, 4) and set(np.unique(a)) <= {0, 1}
    d = D.load_celeba(celeba_dir, ["Male", "Young"], size=16)
    assert d.num_classes == 4 and d.x_train.shape[1:] == (3, 16, 16)
    assert len(d.y_test) == 16  # list_eval_partition.txt marks every 4th image as test (2)
    # class id = Male + 2·Young, as the official multi-attribute encoding
    i = files.index("000004.jpg")
    assert a[i, 0] + 2 * a[i, 1] == 3
    cfg = {"data": {"attributes": ["Male", "Young"]}}
    male = resolve_attribute("celeba", "Male", cfg)
    assert male.groups == [[0, 2], [1, 3]]
    with pytest.raises(UsageError):
        resolve_attribute("celeba", "Bald", cfg)
    with pytest.raises(UsageError, match="no attribute"):
        D.check_celeba(celeba_dir, ["Wearing_Hat"])


def test_celeba_malformed_rows(tmp_path):
    (tmp_path / "img_align_celeba").mkdir()
    (tmp_path / "list_attr_celeba.txt").write_text("1\nMale Young\n000001.jpg 1 maybe\n")
    with pytest.raises(UsageError, match="1 or -1"):
        D.read_celeba_attrs(tmp_path / "list_attr_celeba.txt")


def test_imagefolder_loader(imagefolder_dir, tmp_path):
    d = D.load_imagefolder(imagefolder_dir, size=8, channels=1)
    assert d.class_names == ["cats", "dogs"] and d.x_train.shape[1:] == (1, 8, 8)
    assert len(d.y_train) + len(d.y_test) == 24
    (tmp_path / "only").mkdir()
    with pytest.raises(UsageError, match="at least 2"):
        D.imagefolder_classes(tmp_path)


def test_split_train_is_disjoint():
    tr, va, po = split_train(np.zeros(1000), 300, 300, 0, 300)
    assert len(set(tr) | set(va) | set(po)) == 900
