"""Resumable stages: a named result computed once, stored atomically, and read back on ``--resume``.

An experiment made of stages (one per teacher, per seed, per null simulation...) then resumes
where a killed run stopped, without each package writing its own cache.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reprokit.io import atomic_write_bytes, atomic_write_json

log = logging.getLogger("reprokit")


def cached_json(directory: str | os.PathLike | None, name: str, fn: Callable[[], Any]) -> Any:
    """``fn()``'s JSON-able result, stored as ``directory/name.json``; read back if already there.

    ``directory=None`` turns caching off (``fn()`` is simply called).
    """
    if directory is None:
        return fn()
    path = Path(directory) / f"{name}.json"
    if path.exists():
        log.info("resume: stage %s already done", name)
        return json.loads(path.read_text(encoding="utf-8"))
    out = fn()
    atomic_write_json(path, out)
    return json.loads(json.dumps(out, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def cached_arrays(directory: str | os.PathLike | None, name: str,
                  fn: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Like :func:`cached_json` for a dict of NumPy arrays, stored as ``directory/name.npz``."""
    if directory is None:
        return fn()
    path = Path(directory) / f"{name}.npz"
    if path.exists():
        log.info("resume: stage %s already done", name)
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    out = fn()
    buf = io.BytesIO()
    np.savez(buf, **out)
    atomic_write_bytes(path, buf.getvalue())
    return {k: np.asarray(v) for k, v in out.items()}
