"""Fixtures: small files in the real on-disk formats (IDX, CelebA attribute list + images, class folders)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from fairgen_metrics.data import SYSTEM_FMNIST

# no example database: property tests leave no .hypothesis/ folder in the working tree
settings.register_profile("fairgen-metrics", database=None)
settings.load_profile("fairgen-metrics")


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> Path:
    arr = np.asarray(arr, dtype=np.uint8)
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def class_images(y: np.ndarray, size: int, channels: int, seed: int, n_classes: int) -> np.ndarray:
    """Class k = bright square at a class-specific cell + noise (learnable at once)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, size=(len(y), channels, size, size)).astype(np.int64)
    cells = int(np.ceil(np.sqrt(n_classes)))
    step = size // cells
    for i, k in enumerate(y):
        r, c = divmod(int(k), cells)
        x[i, :, r * step:(r + 1) * step, c * step:(c + 1) * step] += 200
    return np.clip(x, 0, 255).astype(np.uint8)


def write_fmnist(root: Path, n_train: int = 600, n_test: int = 300) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        y = np.arange(n) % 10
        write_idx(root / f"{prefix}-images-idx3-ubyte", class_images(y, 28, 1, seed, 10)[:, 0])
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y)
    return root


def write_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    a = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
    Image.fromarray(a).save(path)


def write_celeba(root: Path, n: int = 64, attrs=("Male", "Young", "Smiling")) -> Path:
    """list_attr_celeba.txt (count, names, rows of ±1), list_eval_partition.txt, img_align_celeba/*.jpg."""
    names = [*attrs, "Bald"]
    (root / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2, size=(n, len(names)))
    for i in range(n):  # every combination of the first two attributes appears often
        a[i, 0], a[i, 1] = i % 2, (i // 2) % 2
    y = a[:, 0] + 2 * a[:, 1]
    imgs = class_images(y, 32, 3, 5, 4)
    lines = [str(n), " ".join(names)]
    part = []
    for i in range(n):
        f = f"{i + 1:06d}.jpg"
        write_png(root / "img_align_celeba" / f, imgs[i])
        lines.append(f + "  " + " ".join("1" if v else "-1" for v in a[i]))
        part.append(f"{f} {2 if i % 4 == 3 else 0}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(part) + "\n")
    return root


def write_imagefolder(root: Path, per_class: int = 12, classes=("cats", "dogs")) -> Path:
    for k, c in enumerate(classes):
        (root / c).mkdir(parents=True, exist_ok=True)
        imgs = class_images(np.full(per_class, k), 16, 3, k, len(classes))
        for i in range(per_class):
            write_png(root / c / f"{i}.png", imgs[i])
    return root


@pytest.fixture(scope="session")
def fmnist_dir(tmp_path_factory) -> Path:
    return write_fmnist(tmp_path_factory.mktemp("fmnist"))


@pytest.fixture(scope="session")
def celeba_dir(tmp_path_factory) -> Path:
    return write_celeba(tmp_path_factory.mktemp("celeba"))


@pytest.fixture(scope="session")
def imagefolder_dir(tmp_path_factory) -> Path:
    return write_imagefolder(tmp_path_factory.mktemp("folder"))


real_fmnist = pytest.mark.skipif(not (SYSTEM_FMNIST / "train-images-idx3-ubyte.gz").exists()
                                 and not (SYSTEM_FMNIST / "train-images-idx3-ubyte").exists(),
                                 reason="the offline Fashion-MNIST (Debian dataset-fashion-mnist) is not installed")
