"""Loaders on files in their real formats: Fashion-MNIST IDX, image folders (CelebA-like), photo crops."""

import gzip
import struct

import numpy as np
import pytest
from conftest import smooth_images, write_pngs

from reprokit import UsageError
from spectral_forensics.data import iter_folder_batches, load_real, photo_crops, read_idx, scan_folder


def write_idx(path, arr, gz=True):
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def test_fashion_mnist_idx_loader(tmp_path):
    rng = np.random.default_rng(0)
    tr, te = rng.integers(0, 255, size=(50, 28, 28)), rng.integers(0, 255, size=(30, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte", tr)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", te, gz=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), te)
    d = load_real("fashion-mnist", tmp_path, 40, 20, 32, 1, 0)
    assert d.train.shape == (40, 1, 32, 32) and d.real.shape == (20, 1, 32, 32)
    assert d.train[:, :, :2].max() == 0 and d.train[:, :, :, -2:].max() == 0  # zero padding 28 → 32
    assert {tuple(x[0, 2:30, 2:30].ravel()[:5]) for x in d.real} <= {tuple(x.ravel()[:5]) for x in te}
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04junk")
    with pytest.raises(UsageError, match="IDX"):
        load_real("fashion-mnist", tmp_path / "bad", 4, 2, 32, 1, 0)


def test_image_folder_for_the_gans(tmp_path):
    write_pngs(tmp_path / "celeba", smooth_images(12, 40, 0), rgb=True)
    d = load_real("folder", tmp_path / "celeba", 100, 4, 32, 3, 0, centre_crop=36)
    assert d.real.shape == (4, 3, 32, 32) and d.train.shape == (8, 3, 32, 32)  # disjoint: 4 real, the rest train
    with pytest.raises(UsageError, match="readable images"):
        load_real("folder", tmp_path / "celeba", 100, 8, 32, 3, 0)


def test_folder_scan_rules(tmp_path):
    from PIL import Image

    write_pngs(tmp_path, smooth_images(3, 24, 0))
    Image.fromarray(smooth_images(1, 30, 1)[0]).save(tmp_path / "larger.png")
    Image.fromarray(smooth_images(1, 20, 1)[0]).save(tmp_path / "smaller.png")
    (tmp_path / "x.jpg").write_bytes(b"not a jpeg")
    (tmp_path / ".hidden.png").write_bytes(b"ignored")
    scan = scan_folder(tmp_path)
    assert scan.size == (24, 24) and len(scan.files) == 4
    assert sorted(p.split("/")[-1] for p, _ in scan.skipped) == ["smaller.png", "x.jpg"]
    batches = list(iter_folder_batches(scan, batch_size=3))
    assert [b.shape for b, _ in batches] == [(3, 1, 24, 24), (1, 1, 24, 24)]
    big = np.asarray(Image.open(tmp_path / "larger.png"), dtype=np.float64)
    k = [n.endswith("larger.png") for _, ns in batches for n in ns].index(True)
    allx = np.concatenate([b for b, _ in batches])
    np.testing.assert_array_equal(allx[k, 0], big[3:27, 3:27])  # centre crop


def test_photo_crops_are_deterministic_and_not_flat():
    a = photo_crops(64, 32, 1, seed=5)
    b = photo_crops(64, 32, 1, seed=5)
    assert a.shape == (64, 1, 32, 32) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert a.reshape(64, -1).std(1).min() >= 2.0
    assert not np.array_equal(a, photo_crops(64, 32, 1, seed=6))
