"""Small datasets in the real on-disk formats (DCMH .mat via scipy.io.savemat), for tests and bad_inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def paired_arrays(n: int = 120, n_labels: int = 5, vocab: int = 40, size: int = 16, seed: int = 0):
    """Learnable pairs: label k = a coloured block at a label-specific place + tag words of label k."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, n_labels), dtype=np.uint8)
    labels[np.arange(n), np.arange(n) % n_labels] = 1
    extra = rng.random((n, n_labels)) < 0.1
    labels = np.maximum(labels, extra.astype(np.uint8))
    images = rng.integers(0, 40, size=(n, size, size, 3)).astype(np.uint8)
    texts = (rng.random((n, vocab)) < 0.05).astype(np.uint8)
    step = size // n_labels
    for i in range(n):
        for k in np.flatnonzero(labels[i]):
            images[i, k * step:(k + 1) * step, :, k % 3] = 220
            texts[i, k * (vocab // n_labels): k * (vocab // n_labels) + 3] = 1
    return images, texts, labels


def write_dcmh_mat(root: Path, n: int = 120, split_files: bool = False, channels_first: bool = False,
                   transpose_labels: bool = False, seed: int = 0) -> Path:
    import scipy.io

    root.mkdir(parents=True, exist_ok=True)
    images, texts, labels = paired_arrays(n, seed=seed)
    if channels_first:
        images = images.transpose(0, 3, 1, 2)
    lab = labels.T if transpose_labels else labels
    if split_files:  # DJSRH's three files
        scipy.io.savemat(root / "mirflickr25k-iall.mat", {"IAll": images})
        scipy.io.savemat(root / "mirflickr25k-yall.mat", {"YAll": texts})
        scipy.io.savemat(root / "mirflickr25k-lall.mat", {"LAll": lab})
    else:  # DCMH's one file
        scipy.io.savemat(root / "FLICKR-25K.mat", {"images": images, "YAll": texts, "LAll": lab})
    return root
