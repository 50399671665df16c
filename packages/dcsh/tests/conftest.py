"""Shared fixtures: small clustered two-modality data, files in the formats the loaders read."""

from __future__ import annotations

import numpy as np
import pytest

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


def clustered_pair(n: int = 300, k: int = 6, da: int = 12, db: int = 20, noise: float = 0.6, seed: int = 0):
    """Two aligned modalities generated from the same k clusters (labels = cluster one-hot)."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, k, n)
    A = rng.standard_normal((k, da))[c] + noise * rng.standard_normal((n, da))
    B = rng.standard_normal((k, db))[c] + noise * rng.standard_normal((n, db))
    return A.astype(np.float32), B.astype(np.float32), np.eye(k, dtype=np.uint8)[c]


@pytest.fixture(scope="session")
def pair():
    return clustered_pair()
