"""Shared fixtures: folders of real-format image files written by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def smooth_images(n: int, size: int, seed: int) -> np.ndarray:
    """1/f²-like textures (integrated noise), uint8: stand-ins for natural photographs."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(np.cumsum(rng.normal(0, 1, size=(n, size, size)), 1), 2)
    x -= x.min(axis=(1, 2), keepdims=True)
    x = 40 + 170 * x / x.max(axis=(1, 2), keepdims=True)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def checkerboarded(imgs: np.ndarray, amp: float = 12.0) -> np.ndarray:
    """The transposed-conv artefact: a period-2 pattern added (energy at the highest frequencies)."""
    n = imgs.shape[-1]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.clip(imgs + amp * (-1.0) ** (i + j), 0, 255).astype(np.uint8)


def write_pngs(folder: Path, imgs: np.ndarray, rgb: bool = False) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for k, a in enumerate(imgs):
        im = Image.fromarray(np.repeat(a[..., None], 3, 2) if rgb else a)
        im.save(folder / f"img_{k:04d}.png")
    return folder


@pytest.fixture(scope="session")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("imgs")
    real = smooth_images(40, 32, 0)
    fake = checkerboarded(smooth_images(40, 32, 1))
    out = {"real": write_pngs(root / "real", real), "fake": write_pngs(root / "fake", fake, rgb=True),
           "real_test": write_pngs(root / "real_test", smooth_images(20, 32, 2)),
           "fake_test": write_pngs(root / "fake_test", checkerboarded(smooth_images(20, 32, 3)))}
    (out["fake_test"] / "notes.txt").write_text("not an image")
    from PIL import Image

    Image.fromarray(smooth_images(1, 40, 9)[0]).save(out["fake_test"] / "big.png")  # larger: centre-cropped
    Image.fromarray(smooth_images(1, 16, 9)[0]).save(out["fake_test"] / "small.png")  # smaller: skipped
    return out
