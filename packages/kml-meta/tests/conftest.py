"""Fixtures: small datasets written in the real on-disk layouts (Omniglot, mini-ImageNet, CUB, Aircraft, FC100, IDX)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)


def glyph(k: int, i: int, size: int = 20) -> np.ndarray:
    """Class k = a bar at a class-specific angle, instance i = small jitter: distinct, learnable classes."""
    rng = np.random.default_rng([k, i])
    img = np.zeros((size, size), dtype=np.uint8)
    ang = np.pi * k / 7.0
    for t in np.linspace(-0.4, 0.4, 40):
        x = int(size / 2 + t * size * np.cos(ang) + rng.normal(0, 0.5))
        y = int(size / 2 + t * size * np.sin(ang) + rng.normal(0, 0.5))
        img[np.clip(y, 0, size - 1), np.clip(x, 0, size - 1)] = 255
    return img


def save_png(path: Path, arr: np.ndarray, rgb: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(arr)
    (im.convert("RGB") if rgb else im).save(path)


def write_omniglot(root: Path, alphabets: int = 2, chars: int = 4, drawings: int = 8) -> Path:
    """images_background/ and images_evaluation/ with alphabet/character/NNNN_NN.png, as Omniglot ships."""
    k = 0
    for sub in ("images_background", "images_evaluation"):
        for a in range(alphabets):
            for c in range(chars):
                for d in range(drawings):
                    save_png(root / sub / f"Alphabet_{a}" / f"character{c + 1:02d}" / f"{k:04d}_{d + 1:02d}.png",
                             glyph(k, d))
                k += 1
    return root


def write_image_folder(root: Path, classes: int = 10, per_class: int = 8, rgb: bool = False, ext: str = ".png") -> Path:
    for k in range(classes):
        for i in range(per_class):
            save_png(root / f"class_{k:02d}" / f"img{i}{ext}", glyph(k, i), rgb)
    return root


def write_idx(path: Path, arr: np.ndarray) -> None:
    arr = np.asarray(arr, dtype=np.uint8)
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(raw))


def write_mnist_like(root: Path, per_class: int = 8) -> Path:
    for prefix in ("train", "t10k"):
        x = np.stack([np.pad(glyph(k, i), 4) for k in range(10) for i in range(per_class)])
        y = np.repeat(np.arange(10), per_class)
        write_idx(root / f"{prefix}-images-idx3-ubyte", x)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y)
    return root


@pytest.fixture(scope="session")
def omniglot_dir(tmp_path_factory) -> Path:
    return write_omniglot(tmp_path_factory.mktemp("omni") / "omniglot")
