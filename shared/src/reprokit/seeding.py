"""Seeding: one call makes python, numpy, torch (CPU and CUDA) and DataLoader workers repeatable."""

from __future__ import annotations

import os
import random

import numpy as np


def _torch():
    try:
        import torch
    except ImportError:  # torch is optional for reprokit
        return None
    return torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed every random number generator a package may touch.

    With ``deterministic`` torch is asked for deterministic kernels (``warn_only`` so that an op
    without a deterministic implementation warns instead of failing), cuDNN autotuning is off, and
    cuBLAS gets the workspace setting it needs for repeatable GEMMs on CUDA.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch = _torch()
    if torch is None:
        return
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoader: derive numpy/python seeds from torch's per-worker seed."""
    torch = _torch()
    base = torch.initial_seed() % 2**32 if torch is not None else worker_id
    np.random.seed(base)
    random.seed(base)


def make_generator(seed: int):
    """A torch.Generator for DataLoader shuffling that does not depend on global state."""
    torch = _torch()
    g = torch.Generator()
    g.manual_seed(seed)
    return g
