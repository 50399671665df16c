"""Loaders on files in the real formats: Fashion-MNIST IDX and image folders."""

import gzip

import numpy as np
import pytest
from conftest import garments, write_folders

from dcl_gan.data import check_folder, load_dataset, pick_shots, read_idx, sketch
from reprokit import UsageError, load_preset


def cfg(**data):
    c = load_preset("dcl_gan", "smoke")
    c["data"].update(data)
    return c


def test_read_idx_roundtrip(tmp_path, fmnist_dir):
    x = read_idx(fmnist_dir / "train-images-idx3-ubyte.gz")
    assert x.shape == (500, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(x, garments(500, 0)[0])
    bad = tmp_path / "bad-idx"
    bad.write_bytes(gzip.compress(b"\x00\x00\x09\x01abcd"))
    with pytest.raises(UsageError):
        read_idx(bad)


def test_sketch_is_white_with_dark_edges():
    x = np.zeros((1, 1, 12, 12), np.uint8)
    x[0, 0, 3:9, 3:9] = 255
    s = sketch(x)[0, 0]
    assert s[0, 0] == 255 and s[6, 6] == 255  # flat regions are white
    assert s[3, 6] < 100  # the square's border is a dark stroke


def test_fmnist_sketch_and_heldout(fmnist_dir):
    d = load_dataset("fmnist-sketch", fmnist_dir, cfg())
    assert d.source.shape[1:] == (1, 32, 32) and d.shots.shape == (10, 1, 32, 32)
    assert len(d.target_full) == 100 and d.feat_labels is not None
    assert d.shots.mean() > d.source.mean()  # sketches are mostly white, the photos mostly black
    h = load_dataset("fmnist-heldout", fmnist_dir, cfg(heldout_class=3))
    assert len(h.shots) == 10 and len(h.target_full) > 0


def test_pick_shots_one_per_class():
    y = np.repeat(np.arange(10), 20)
    idx = pick_shots(y, 10, 0, classes=np.arange(10))
    assert sorted(y[idx].tolist()) == list(range(10))
    assert np.array_equal(idx, pick_shots(y, 10, 0, classes=np.arange(10)))


def test_folders_load_and_refuse_mixed_or_wrong_counts(tmp_path, folders_dir):
    d = load_dataset("folders", folders_dir, cfg(image_size=32))
    assert d.source.shape == (40, 1, 32, 32) and d.shots.shape == (10, 1, 32, 32) and len(d.target_full) == 12
    with pytest.raises(UsageError, match="expected exactly 5"):
        check_folder(folders_dir / "target", "target", expect=5)
    mixed = write_folders(tmp_path / "m", n_source=3, n_shots=2)
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(mixed / "target" / "odd.png")
    with pytest.raises(UsageError, match="mixed sizes/modes"):
        check_folder(mixed / "target", "target")
