"""Datasets in their standard on-disk formats; nothing is ever downloaded.

| name           | format                                                      | classes |
|----------------|-------------------------------------------------------------|---------|
| fashion-mnist  | IDX (``train-images-idx3-ubyte[.gz]``, ``t10k-...``)          | 10      |
| mnist          | IDX, same file names                                        | 10      |
| cifar100       | python pickle (``train``, ``test``; ``data``, ``fine_labels``)  | 100     |
| cifar10        | python pickle batches (``data_batch_1..5``, ``test_batch``)  | 10      |
| imagenet       | image folders ``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG``  | 1000    |

The offline default is Fashion-MNIST from Debian's ``dataset-fashion-mnist``. IDX and CIFAR sets are
held in memory as normalised float tensors and batched by index (no per-item DataLoader); ImageNet
folders are read lazily through torchvision's ``ImageFolder``.

CIFAR pickles are read with a restricted unpickler that only admits plain containers, bytes and NumPy
arrays: a pickle asking for anything else (or a truncated one) is refused with a message, never run.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from reprokit import UsageError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    fmt: str
    num_classes: int
    in_channels: int
    image_size: int
    files: tuple[str, ...]
    subdirs: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    default_dir: Path | None = None


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
DATASETS: dict[str, DatasetInfo] = {
    "fashion-mnist": DatasetInfo("fashion-mnist", "IDX (.gz or plain)", 10, 1, 28, IDX_FILES,
                                 ("fashion-mnist", "FashionMNIST/raw"), (0.2860,), (0.3530,), FASHION_MNIST_DIR),
    "mnist": DatasetInfo("mnist", "IDX (.gz or plain)", 10, 1, 28, IDX_FILES, ("mnist", "MNIST/raw"),
                         (0.1307,), (0.3081,)),
    "cifar100": DatasetInfo("cifar100", "python pickle", 100, 3, 32, ("train", "test"), ("cifar-100-python",),
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "cifar10": DatasetInfo("cifar10", "python pickle batches", 10, 3, 32,
                           (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"), ("cifar-10-batches-py",),
                           (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "imagenet": DatasetInfo("imagenet", "image folders", 1000, 3, 224, ("train/<class>/*.JPEG", "val/<class>/*"),
                            ("imagenet", "ILSVRC2012"), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def dataset_info(name: str | None) -> DatasetInfo:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def _candidates(info: DatasetInfo, data_dir: Path | None) -> list[Path]:
    if data_dir is None:
        return [info.default_dir] if info.default_dir is not None else []
    return [data_dir, *(data_dir / s for s in info.subdirs)]


def _has_files(info: DatasetInfo, root: Path) -> bool:
    if info.name in ("fashion-mnist", "mnist"):
        return all(_find_idx(root, f) is not None for f in IDX_FILES)
    if info.name == "imagenet":
        return (root / "train").is_dir() and (root / "val").is_dir()
    return all((root / f).is_file() for f in info.files)


def resolve_root(name: str | None, data_dir: Path | None) -> Path:
    """The folder holding ``name``'s files, or a UsageError saying which files to put where."""
    info = dataset_info(name)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir}: no such directory")
    for root in _candidates(info, Path(data_dir) if data_dir is not None else None):
        if root is not None and root.is_dir() and _has_files(info, root):
            return root
    where = f"in {data_dir} (or a sub-folder {', '.join(info.subdirs)})" if data_dir else \
        "in a folder given by --data-dir or $REPRO_DATA"
    hint = " (Debian: apt-get install dataset-fashion-mnist)" if name == "fashion-mnist" else ""
    raise UsageError(f"dataset {name!r} not found: put {', '.join(info.files)} ({info.fmt}) {where}{hint}")


# --------------------------------------------------------------------------------------------- IDX
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (plain or gzip): magic ``00 00 08 ndim``, big-endian int32 dims, uint8 data."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UsageError(f"corrupt or unreadable IDX file {path}: {e}") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or not 1 <= raw[3] <= 4:
        raise UsageError(f"corrupt IDX file {path}: bad magic number {raw[:4].hex()} (expected 000008xx)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise UsageError(f"corrupt IDX file {path}: truncated header")
    dims = struct.unpack(f">{ndim}i", raw[4: 4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise UsageError(f"corrupt IDX file {path}: header says {dims} but it holds {len(body)} bytes")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find_idx(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def load_idx_split(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if train else "t10k"
    xp, yp = _find_idx(root, f"{prefix}-images-idx3-ubyte"), _find_idx(root, f"{prefix}-labels-idx1-ubyte")
    if xp is None or yp is None:
        raise UsageError(f"{root}: missing {prefix}-images-idx3-ubyte[.gz] / {prefix}-labels-idx1-ubyte[.gz]")
    x, y = read_idx(xp), read_idx(yp)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise UsageError(f"IDX pair in {root} does not match: images {x.shape} vs labels {y.shape}")
    return x[:, None], y.astype(np.int64)


# ------------------------------------------------------------------------------------------ CIFAR
class _SafeUnpickler(pickle.Unpickler):
    """Admits only what CIFAR pickles hold: builtins containers and NumPy arrays/dtypes."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
        ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not plain CIFAR data)")


def _unpickle(path: Path) -> dict:
    try:
        d = _SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as e:  # truncated, not a pickle, foreign objects ...
        raise UsageError(f"corrupt CIFAR pickle file {path}: {type(e).__name__}: {e}") from None
    if not isinstance(d, dict):
        raise UsageError(f"corrupt CIFAR pickle file {path}: expected a dict, found {type(d).__name__}")
    return d


def _get(d: dict, key: str):
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    return None


def load_cifar_split(root: Path, name: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """``data`` (N, 3072) uint8 rows (R, G, B planes), ``labels`` (CIFAR-10) / ``fine_labels`` (CIFAR-100)."""
    if name == "cifar10":
        files, label_key = ([f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]), "labels"
    else:
        files, label_key = ["train" if train else "test"], "fine_labels"
    xs, ys = [], []
    for fname in files:
        path = root / fname
        d = _unpickle(path)
        data, labels = _get(d, "data"), _get(d, label_key)
        if data is None or labels is None:
            raise UsageError(f"corrupt CIFAR pickle file {path}: no 'data'/'{label_key}' entries")
        try:
            data = np.asarray(data, dtype=np.uint8)
            labels = np.asarray(labels, dtype=np.int64).ravel()
        except (TypeError, ValueError) as e:
            raise UsageError(f"corrupt CIFAR pickle file {path}: {e}") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels) or len(data) == 0:
            raise UsageError(f"corrupt CIFAR pickle file {path}: data {data.shape}, {len(labels)} labels")
        n_cls = 10 if name == "cifar10" else 100
        if labels.min() < 0 or labels.max() >= n_cls:
            raise UsageError(f"corrupt CIFAR pickle file {path}: labels outside 0..{n_cls - 1}")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
    return np.concatenate(xs), np.concatenate(ys)


# ----------------------------------------------------------------------------------------- datasets
@dataclass
class Data:
    """Train/test sets. In-memory sets hold float tensors ``x_*`` (N, C, H, W) and int64 ``y_*``;
    a folder set (ImageNet) holds ``train_ds``/``test_ds`` and leaves the tensors None."""

    name: str
    note: str
    num_classes: int
    in_channels: int
    image_size: int
    x_train: torch.Tensor | None = None
    y_train: torch.Tensor | None = None
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    train_ds: object = None
    test_ds: object = None

    @property
    def n_train(self) -> int:
        return len(self.y_train) if self.y_train is not None else len(self.train_ds)

    @property
    def n_test(self) -> int:
        return len(self.y_test) if self.y_test is not None else len(self.test_ds)


def _subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(y):
        return x, y
    idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
    return x[idx], y[idx]


def _to_tensor(x: np.ndarray, info: DatasetInfo, downsample: int) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, dtype=np.uint8, copy=True)).float().div_(255.0)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    t = (t - mean) / std
    if downsample > 1:
        t = torch.nn.functional.avg_pool2d(t, downsample)
    return t.contiguous()


def load_dataset(name: str, data_dir: Path | None = None, train_subset: int | None = None,
                 test_subset: int | None = None, downsample: int = 1, subset_seed: int = 0) -> Data:
    """Load ``name`` (see the table above). ``downsample`` average-pools images by that factor."""
    info = dataset_info(name)
    root = resolve_root(name, data_dir)
    if name == "imagenet":
        return _load_folder(info, root)
    if name in ("fashion-mnist", "mnist"):
        (xtr, ytr), (xte, yte) = load_idx_split(root, True), load_idx_split(root, False)
    else:
        (xtr, ytr), (xte, yte) = load_cifar_split(root, name, True), load_cifar_split(root, name, False)
    xtr, ytr = _subset(xtr, ytr, train_subset, subset_seed)
    xte, yte = _subset(xte, yte, test_subset, subset_seed + 1)
    size = xtr.shape[-1] // max(downsample, 1)
    note = (f"{name} ({info.fmt}) from {root.name or root}: {len(ytr)} train / {len(yte)} test images"
            + (f", average-pooled {downsample}× to {size}×{size}" if downsample > 1 else ""))
    return Data(name, note, info.num_classes, info.in_channels, size,
                _to_tensor(xtr, info, downsample), torch.from_numpy(ytr), _to_tensor(xte, info, downsample),
                torch.from_numpy(yte))


def _load_folder(info: DatasetInfo, root: Path) -> Data:
    from torchvision import datasets
    from torchvision import transforms as T

    norm = T.Normalize(info.mean, info.std)
    tr = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), norm])
    te = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), norm])
    try:
        train_ds, test_ds = datasets.ImageFolder(root / "train", tr), datasets.ImageFolder(root / "val", te)
    except (FileNotFoundError, RuntimeError) as e:
        raise UsageError(f"imagenet folder {root}: {e}") from None
    if train_ds.classes != test_ds.classes:
        raise UsageError(f"imagenet folder {root}: train/ and val/ hold different class folders")
    note = f"imagenet folders {root.name}: {len(train_ds)} train / {len(test_ds)} val images"
    return Data("imagenet", note, len(train_ds.classes), 3, 224, train_ds=train_ds, test_ds=test_ds)


def describe_datasets(data_dir: Path | None) -> list[dict]:
    rows = []
    for name, info in DATASETS.items():
        try:
            where, present = str(resolve_root(name, data_dir)), True
        except UsageError:
            where, present = "—", False
        rows.append({"name": name, "format": info.fmt, "classes": info.num_classes, "present": present,
                     "where": where})
    return rows
