"""Fixtures: small datasets in the real on-disk formats (Fashion-MNIST IDX, image folders)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> Path:
    """An IDX file: magic 00 00 08 ndim, big-endian int32 dims, then uint8 data."""
    arr = np.asarray(arr, dtype=np.uint8)
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def garments(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class k: a bright rectangle whose width depends on k, on black (Fashion-MNIST-like), plus noise."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 10).astype(np.uint8)
    x = rng.integers(0, 30, size=(n, 28, 28)).astype(np.int64)
    for i, k in enumerate(y):
        w = 4 + int(k)
        x[i, 6:22, 14 - w // 2: 14 + (w + 1) // 2] += 200
    return np.clip(x, 0, 255).astype(np.uint8), y


def write_fmnist_like(root: Path, n_train: int = 500, n_test: int = 300) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = garments(n, seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte", x)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y)
    return root


@pytest.fixture(scope="session")
def fmnist_dir(tmp_path_factory) -> Path:
    return write_fmnist_like(tmp_path_factory.mktemp("fmnist"))


def write_folders(root: Path, n_source: int = 40, n_shots: int = 10, size: int = 20, mode: str = "L") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub, n in (("source", n_source), ("target", n_shots), ("target_full", 12)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size, size) if mode == "L" else (size, size, 3)
            a = rng.integers(0, 255, shape).astype(np.uint8)
            Image.fromarray(a, mode=mode).save(root / sub / f"{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def folders_dir(tmp_path_factory) -> Path:
    return write_folders(tmp_path_factory.mktemp("folders"))
