"""Shared fixtures: small datasets written in the real on-disk formats (IDX, CIFAR pickle)."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    """An IDX file: magic 00 00 08 ndim, big-endian int32 dims, then uint8 data."""
    arr = np.asarray(arr, dtype=np.uint8)
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def learnable_images(n: int, n_classes: int, size: int, channels: int, seed: int):
    """Class k = a bright square at a class-specific position + noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    x = rng.integers(0, 60, size=(n, channels, size, size)).astype(np.int64)
    cells = int(np.ceil(np.sqrt(n_classes)))
    step = size // cells
    for i, k in enumerate(y):
        r, c = divmod(int(k), cells)
        x[i, :, r * step: r * step + step, c * step: c * step + step] += 180
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)


def write_mnist_like(root: Path, n_train: int = 256, n_test: int = 128, gz: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = learnable_images(n, 10, 28, 1, seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte", x[:, 0], gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y, gz)
    return root


def write_cifar100(root: Path, n: int = 40) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(("train", "test")):
        x, _ = learnable_images(n, 10, 32, 3, i)
        with open(root / name, "wb") as f:
            pickle.dump({b"data": x.reshape(n, -1), b"fine_labels": [j % 100 for j in range(n)],
                         b"coarse_labels": [0] * n}, f)
    return root


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    return write_mnist_like(tmp_path_factory.mktemp("mnist"))


# Small enough for the test budget; every CLI test uses these on top of the smoke preset.
TINY = ["--set", "data.downsample=2", "--set", "grid.n_seeds=2"]
