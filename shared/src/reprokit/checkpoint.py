"""Checkpoints written atomically, so ``--resume`` never meets a half-written file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from reprokit.io import atomic_write_bytes


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` into memory, then an atomic rename onto ``path``."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu", weights_only: bool = False) -> dict[str, Any]:
    """Read a checkpoint; a missing, truncated or foreign file is a :class:`UsageError` naming it.

    ``weights_only=True`` (torch's safe unpickler: tensors, numbers, strings, lists, dicts) is for files a
    user hands in from elsewhere; the default reads this package's own checkpoints, which may hold numpy
    arrays and other plain Python objects.
    """
    import torch

    from reprokit.errors import UsageError

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as e:  # a truncated or foreign file is a user problem, not a crash
        raise UsageError(f"cannot read checkpoint {path}: {e}") from e
