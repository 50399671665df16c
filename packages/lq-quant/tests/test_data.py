"""Loaders on small files written in the real formats: IDX (plain/gzip), CIFAR-100 pickle, image folders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import write_cifar100, write_idx, write_mnist_like

from lq_quant.data import load_dataset, read_idx, resolve_root
from reprokit import UsageError


def test_idx_reader_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a-idx3-ubyte", arr)), arr)
    assert np.array_equal(read_idx(write_idx(tmp_path / "b-idx3-ubyte", arr, gz=True)), arr)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x09\x01" + b"\x00" * 8)
    with pytest.raises(UsageError, match="bad magic"):
        read_idx(tmp_path / "bad")


def test_mnist_loader_normalises_and_downsamples(tmp_path):
    root = write_mnist_like(tmp_path / "m", 40, 20)
    d = load_dataset("mnist", root, downsample=2)
    assert d.x_train.shape == (40, 1, 14, 14) and d.x_test.shape == (20, 1, 14, 14)
    assert d.y_train.dtype == torch.int64 and set(d.y_train.tolist()) <= set(range(10))
    raw = read_idx(next(root.glob("train-images*")))[:, None].astype(np.float32) / 255.0
    ref = torch.nn.functional.avg_pool2d((torch.from_numpy(raw) - 0.1307) / 0.3081, 2)
    assert torch.allclose(d.x_train, ref, atol=1e-5)
    sub = load_dataset("mnist", root, train_subset=10)
    assert sub.n_train == 10


def test_cifar100_pickle_loader_and_restricted_unpickler(tmp_path):
    root = write_cifar100(tmp_path / "cifar-100-python", 12)
    d = load_dataset("cifar100", tmp_path)  # found in the standard sub-folder
    assert d.x_train.shape == (12, 3, 32, 32) and d.num_classes == 100
    (root / "test").write_bytes(b"\x80\x04garbage")
    with pytest.raises(UsageError, match="corrupt CIFAR pickle"):
        load_dataset("cifar100", root)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(root / "test", "wb") as f:
        pickle.dump({b"data": Evil()}, f)
    with pytest.raises(UsageError, match=r"refusing to load builtins\.print"):
        load_dataset("cifar100", root)


def test_imagenet_folder_loader(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("n01", "n02"):
            (tmp_path / split / c).mkdir(parents=True)
            Image.new("RGB", (40, 30), (10, 200, 30)).save(tmp_path / split / c / "a.JPEG")
    d = load_dataset("imagenet", tmp_path)
    assert d.num_classes == 2 and d.n_train == 2 and d.x_train is None
    x, _ = d.test_ds[0]
    assert x.shape == (3, 224, 224)


def test_missing_dataset_says_what_to_put_where(tmp_path):
    with pytest.raises(UsageError, match="put train-images-idx3-ubyte"):
        resolve_root("mnist", tmp_path)
    with pytest.raises(UsageError, match="unknown dataset"):
        resolve_root("svhn", tmp_path)
