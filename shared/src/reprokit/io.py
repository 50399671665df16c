"""Atomic file writes: a killed process never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file in the same directory, fsync it, then rename over ``path``.

    ``os.replace`` is atomic on POSIX when source and target share a filesystem, which the
    same-directory temporary guarantees.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _to_jsonable(obj: Any) -> Any:
    """json.dumps fallback for numpy scalars/arrays, paths and torch tensors."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_json(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(obj, indent=indent, default=_to_jsonable, allow_nan=True)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, dumps_json(obj) + "\n")


# -- reading a user's files: never unpickle, always name the file and what was expected ------------

def load_npz(path: str | os.PathLike, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arrays of a user's ``.npz`` file, with ``allow_pickle=False``.

    A missing, empty, non-npz or object-array file, or one without a ``required`` key, raises
    :class:`reprokit.UsageError` naming the file and what was expected.
    """
    import zipfile

    import numpy as np

    from reprokit.errors import UsageError

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file (expected an .npz archive)")
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: the file is empty (expected an .npz archive)")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise UsageError(f"{path}: a single .npy array, expected an .npz archive with keys "
                             f"{', '.join(required) or '(any)'}")
        with z:
            out = {k: z[k] for k in z.files}
    except UsageError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError):
        with open(path, "rb") as f:
            is_zip = f.read(2) == b"PK"
        why = ("it holds object (pickled) arrays, which are never loaded from a user's file" if is_zip
               else "not an .npz archive")
        raise UsageError(f"{path}: {why}; expected an .npz of numeric arrays with keys "
                         f"{', '.join(required) or '(any)'}") from None
    missing = [k for k in required if k not in out]
    if missing:
        raise UsageError(f"{path}: missing {', '.join(missing)} (it holds {', '.join(out) or 'nothing'})")
    return out


def load_array(path: str | os.PathLike, *, ndim: tuple[int, ...] = (1, 2)) -> Any:
    """A numeric array from a user's ``.npy`` (no pickles), ``.txt``/``.tsv`` (whitespace) or ``.csv`` file.

    Anything unreadable, empty, non-numeric or of another dimensionality raises :class:`UsageError`.
    """
    import numpy as np

    from reprokit.errors import UsageError

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix in (".txt", ".tsv", ".csv"):
            arr = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=1)
        else:
            raise UsageError(f"{path}: expected a .npy, .txt, .tsv or .csv file")
    except UsageError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"{path}: not a numeric {suffix} array ({str(e).splitlines()[0][:80]})") from None
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise UsageError(f"{path}: expected numbers, found dtype {arr.dtype}")
    if arr.ndim not in ndim:
        raise UsageError(f"{path}: expected a {' or '.join(f'{d}-D' for d in ndim)} array, got shape {arr.shape}")
    if arr.size == 0:
        raise UsageError(f"{path}: the array is empty")
    return arr
