"""Datasets in their standard on-disk formats; nothing is ever downloaded.

| name           | format                                                   | classes |
|----------------|----------------------------------------------------------|---------|
| fashion-mnist  | IDX (``train-images-idx3-ubyte[.gz]`` ...)               | 10      |
| mnist          | IDX, same file names                                     | 10      |
| cifar10        | python pickle batches (``data_batch_1..5``, ``test_batch``) | 10   |
| cifar100       | python pickle (``train``, ``test``; ``fine_labels``)     | 100     |
| imagenet       | image folders ``train/<wnid>/*.JPEG``, ``val/<wnid>/*``  | 1000    |
| cub200         | ``CUB_200_2011``: ``images.txt``, ``image_class_labels.txt``,    | 200     |
|                | ``train_test_split.txt``, ``images/``                    |         |

The offline default is Fashion-MNIST from Debian's ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``). Every loader returns ``(x, y, index)`` items; the index lets
offline KD look up a cached teacher logit for each training example.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from reprokit import UsageError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    fmt: str
    num_classes: int
    in_channels: int
    files: tuple[str, ...]  # what must be present (for the "where to put what" message)
    subdirs: tuple[str, ...] = ()  # accepted sub-folders of --data-dir
    default_dir: Path | None = None
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DATASETS: dict[str, DatasetInfo] = {
    "fashion-mnist": DatasetInfo("fashion-mnist", "IDX (.gz or plain)", 10, 1, IDX_FILES,
                                 ("fashion-mnist", "FashionMNIST/raw", "FashionMNIST"), FASHION_MNIST_DIR,
                                 (0.2860,), (0.3530,)),
    "mnist": DatasetInfo("mnist", "IDX (.gz or plain)", 10, 1, IDX_FILES, ("mnist", "MNIST/raw", "MNIST"), None,
                         (0.1307,), (0.3081,)),
    "cifar10": DatasetInfo("cifar10", "python pickle batches", 10, 3,
                           (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"),
                           ("cifar-10-batches-py",), None, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": DatasetInfo("cifar100", "python pickle", 100, 3, ("train", "test"), ("cifar-100-python",), None,
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet": DatasetInfo("imagenet", "image folders", 1000, 3, ("train/<class>/*.JPEG", "val/<class>/*.JPEG"),
                            ("imagenet", "ILSVRC2012"), None, IMAGENET_MEAN, IMAGENET_STD),
    "cub200": DatasetInfo("cub200", "CUB_200_2011 folder + split files", 200, 3,
                          ("images.txt", "image_class_labels.txt", "train_test_split.txt", "images/"),
                          ("CUB_200_2011", "cub200"), None, IMAGENET_MEAN, IMAGENET_STD),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


# --------------------------------------------------------------------------------------------- IDX
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip): magic ``00 00 08 ndim``, big-endian int32 dims, uint8 data."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UsageError(f"corrupt or unreadable IDX file {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise UsageError(f"corrupt IDX file {path}: bad magic number {raw[:4].hex()} (expected 000008xx, uint8)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise UsageError(f"corrupt IDX file {path}: truncated header")
    dims = struct.unpack(f">{ndim}i", raw[4: 4 + 4 * ndim])
    n = int(np.prod(dims))
    body = raw[4 + 4 * ndim:]
    if len(body) != n:
        raise UsageError(f"corrupt IDX file {path}: header says {dims} ({n} bytes) but it holds {len(body)} bytes")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    return None


def load_idx_split(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if train else "t10k"
    paths = [_find(root, f"{prefix}-images-idx3-ubyte"), _find(root, f"{prefix}-labels-idx1-ubyte")]
    if None in paths:
        raise UsageError(f"{root}: missing {prefix}-images-idx3-ubyte[.gz] / {prefix}-labels-idx1-ubyte[.gz]")
    x, y = read_idx(paths[0]), read_idx(paths[1])
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise UsageError(f"corrupt IDX pair in {root}: images {x.shape} vs labels {y.shape}")
    return x[:, None], y.astype(np.int64)  # (N, 1, H, W)


# ------------------------------------------------------------------------------------------ CIFAR
def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except Exception as e:  # truncated, not a pickle, wrong protocol ...
        raise UsageError(f"corrupt CIFAR pickle file {path}: {type(e).__name__}: {e}") from e


def _get(d: dict, key: str):
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    return None


def load_cifar_split(root: Path, name: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR python pickles: ``data`` (N, 3072) uint8 rows, ``labels`` (10) or ``fine_labels`` (100)."""
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        label_key = "labels"
    else:
        files, label_key = ["train" if train else "test"], "fine_labels"
    xs, ys = [], []
    for fname in files:
        path = root / fname
        if not path.is_file():
            raise UsageError(f"{root}: missing CIFAR file {fname}")
        d = _unpickle(path)
        data, labels = _get(d, "data"), _get(d, label_key)
        if data is None or labels is None:
            raise UsageError(f"corrupt CIFAR pickle file {path}: no 'data'/'{label_key}' entries")
        data = np.asarray(data, dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
            raise UsageError(f"corrupt CIFAR pickle file {path}: data {data.shape}, {len(labels)} labels")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(labels, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


# ---------------------------------------------------------------------------------- in-memory set
class ArrayImageDataset(Dataset):
    """uint8 images (N, C, H, W) + labels → normalised float tensors; optional CIFAR-style augmentation
    (4-pixel padded random crop + horizontal flip)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std, augment: bool = False):
        self.images = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True))
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.augment = augment
        self.targets = self.labels.tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = (self.images[i].float() / 255.0 - self.mean) / self.std
        if self.augment:
            h, w = x.shape[-2:]
            x = torch.nn.functional.pad(x, (4, 4, 4, 4))
            top, left = (int(v) for v in torch.randint(0, 9, (2,)))
            x = x[:, top: top + h, left: left + w]
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
        return x, self.labels[i]


# ------------------------------------------------------------------------------------ image files
def _folder_transform(train: bool, augment: bool, size: int, mean, std, augmentation: str = "standard") -> Callable:
    """Image-folder transforms. Training with ``augment``: ``standard`` is RandomResizedCrop + flip (the
    ImageNet recipe); ``official-cub`` is the official CUB scripts' stronger set: crop scale 0.2–1 with
    ratio 0.8–1.25, flip, rotation ±45° (bilinear), grayscale p=0.2, colour jitter (brightness 0.2,
    contrast 0.2). Evaluation: resize to 256/224 of the size, centre crop."""
    from torchvision import transforms as T

    if train and augment and augmentation == "official-cub":
        ops = [T.RandomResizedCrop(size, scale=(0.2, 1.0), ratio=(0.8, 1.25)), T.RandomHorizontalFlip(),
               T.RandomRotation(45, interpolation=T.InterpolationMode.BILINEAR), T.RandomGrayscale(0.2),
               T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0, hue=0)]
    elif train and augment:
        ops = [T.RandomResizedCrop(size), T.RandomHorizontalFlip()]
    else:
        ops = [T.Resize(round(size * 256 / 224)), T.CenterCrop(size)]
    return T.Compose([*ops, T.ToTensor(), T.Normalize(mean, std)])


def _pil_loader(path: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as f:
            return Image.open(f).convert("RGB")
    except (OSError, UnidentifiedImageError) as e:
        raise UsageError(f"corrupt image file {path}: {e}") from e


class CUB200(Dataset):
    """CUB-200-2011 from its own split files (``train_test_split.txt``: 1 = train, 0 = test)."""

    def __init__(self, root: Path, train: bool, transform: Callable):
        def table(name: str) -> dict[int, str]:
            path = root / name
            if not path.is_file():
                raise UsageError(f"{root}: missing CUB-200 file {name}")
            out = {}
            for ln, line in enumerate(path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                parts = line.split()
                if len(parts) != 2 or not parts[0].isdigit():
                    raise UsageError(f"corrupt CUB-200 file {path}, line {ln}: {line!r}")
                out[int(parts[0])] = parts[1]
            return out

        images, labels, split = table("images.txt"), table("image_class_labels.txt"), table("train_test_split.txt")
        want = "1" if train else "0"
        ids = sorted(i for i in images if split.get(i) == want)
        try:
            self.samples = [(str(root / "images" / images[i]), int(labels[i]) - 1) for i in ids]
        except (KeyError, ValueError) as e:
            raise UsageError(f"corrupt CUB-200 split files in {root}: image id {e} has no label") from e
        self.targets = [y for _, y in self.samples]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, y = self.samples[i]
        return self.transform(_pil_loader(path)), y


# ------------------------------------------------------------------------------------ public API
class Indexed(Dataset):
    """Wrap a dataset so that items are ``(x, y, i)``: ``i`` indexes cached teacher logits (offline KD)."""

    def __init__(self, base: Dataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i]
        return x, int(y), i


@dataclass
class LoadedData:
    name: str
    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    root: Path
    class_names: list[str] = field(default_factory=list)
    note: str = ""
    image_hw: int = 28  # square input side (the MLPs need it)


def resolve_root(name: str, data_dir: str | os.PathLike | None) -> Path:
    """Where ``name`` lives: ``data_dir`` (or one of its accepted sub-folders), else the default folder."""
    info = dataset_info(name)
    candidates: list[Path] = []
    if data_dir is not None:
        base = Path(data_dir)
        candidates += [base] + [base / s for s in info.subdirs]
    elif info.default_dir is not None:
        candidates.append(info.default_dir)
    for c in candidates:
        if _looks_present(info, c):
            return c
    where = str(data_dir) if data_dir is not None else "(no --data-dir or $REPRO_DATA given)"
    hint = " or install Debian's dataset-fashion-mnist" if name == "fashion-mnist" else ""
    raise UsageError(f"dataset {name!r} not found in {where}: put {', '.join(info.files)} ({info.fmt}) in --data-dir "
                     f"or one of its sub-folders {', '.join(info.subdirs)}{hint}")


def _looks_present(info: DatasetInfo, root: Path) -> bool:
    if not root.is_dir():
        return False
    if info.name in ("fashion-mnist", "mnist"):
        return all(_find(root, f) is not None for f in IDX_FILES)
    if info.name == "imagenet":
        return (root / "train").is_dir() and (root / "val").is_dir()
    if info.name == "cub200":
        return (root / "images.txt").is_file()
    return all((root / f).is_file() for f in info.files)


def _subset(ds: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """A fixed random subset (same for every run: seed 0), or the whole set when ``n`` is falsy."""
    if not n or n >= len(ds):
        return ds
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n].sort().values.tolist()
    sub = Subset(ds, idx)
    targets = getattr(ds, "targets", None)
    if targets is not None:
        sub.targets = [targets[i] for i in idx]
    return sub


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, train_subset: int | None = None,
                 test_subset: int | None = None, augment: bool = False, image_size: int = 224,
                 augmentation: str = "standard") -> LoadedData:
    """Load a dataset's train and test splits as ``(x, y, i)`` datasets.

    ``train_subset``/``test_subset`` take a fixed random subset (identical across runs and seeds).
    ``augment`` turns on the paper's training augmentation (random crop + flip); with it off the
    training inputs are fixed, which is what makes offline KD (cached teacher logits) exact.
    """
    info = dataset_info(name)
    root = resolve_root(name, data_dir)
    class_names: list[str] = []
    if name in ("fashion-mnist", "mnist"):
        (xtr, ytr), (xte, yte) = load_idx_split(root, True), load_idx_split(root, False)
        train = ArrayImageDataset(xtr, ytr, info.mean, info.std, augment)
        test = ArrayImageDataset(xte, yte, info.mean, info.std, False)
        class_names = FASHION_MNIST_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    elif name in ("cifar10", "cifar100"):
        (xtr, ytr), (xte, yte) = load_cifar_split(root, name, True), load_cifar_split(root, name, False)
        train = ArrayImageDataset(xtr, ytr, info.mean, info.std, augment)
        test = ArrayImageDataset(xte, yte, info.mean, info.std, False)
    elif name == "imagenet":
        from torchvision.datasets import ImageFolder

        try:
            train = ImageFolder(str(root / "train"), _folder_transform(True, augment, image_size, info.mean, info.std,
                                                                        augmentation), loader=_pil_loader)
            test = ImageFolder(str(root / "val"), _folder_transform(False, False, image_size, info.mean, info.std),
                               loader=_pil_loader)
        except (FileNotFoundError, RuntimeError) as e:
            raise UsageError(f"imagenet in {root}: {e}") from e
        if train.classes != test.classes:
            raise UsageError(f"imagenet in {root}: train/ and val/ hold different class folders")
        class_names = list(train.classes)
    else:  # cub200
        train = CUB200(root, True, _folder_transform(True, augment, image_size, info.mean, info.std, augmentation))
        test = CUB200(root, False, _folder_transform(False, False, image_size, info.mean, info.std))
    labels = np.asarray(getattr(train, "targets", []))
    num_classes = info.num_classes
    if name in ("imagenet", "cub200") and len(labels):
        num_classes = int(max(labels.max() + 1, len(class_names) or 0))  # a subset of classes is allowed
    elif len(labels) and labels.max() >= num_classes:
        raise UsageError(f"{name} in {root}: label {labels.max()} out of range for {num_classes} classes")
    if len(train) == 0 or len(test) == 0:
        raise UsageError(f"{name} in {root}: empty train or test split")
    train, test = _subset(train, train_subset), _subset(test, test_subset)
    note = f"{name} from {root} ({info.fmt}); train {len(train)}, test {len(test)} examples"
    hw = {"fashion-mnist": 28, "mnist": 28, "cifar10": 32, "cifar100": 32}.get(name, image_size)
    return LoadedData(name, Indexed(train), Indexed(test), num_classes, info.in_channels, root, class_names, note,
                      image_hw=hw)


def in_memory(ds: Dataset) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The whole of an un-augmented array dataset as two tensors ``(x (N, C, H, W) float, y (N,) int64)``,
    in item order, exactly as ``ds[i]`` would give them; ``None`` where items are not fixed arrays
    (image folders, augmentation), which then go through a DataLoader.

    Batches cut from these tensors skip the per-item ``__getitem__`` + collate of a DataLoader, which on
    an MLP costs more than the model itself.
    """
    base = ds.base if isinstance(ds, Indexed) else ds
    idx = None
    if isinstance(base, Subset):
        base, idx = base.dataset, torch.as_tensor(base.indices, dtype=torch.long)
    if not isinstance(base, ArrayImageDataset) or base.augment:
        return None
    images = base.images if idx is None else base.images[idx]
    labels = base.labels if idx is None else base.labels[idx]
    return (images.float() / 255.0 - base.mean) / base.std, labels.clone()


def describe_datasets(data_dir: str | os.PathLike | None) -> list[dict]:
    """One row per dataset: name, format, classes, and whether it is present (for ``data list``)."""
    rows = []
    for name, info in DATASETS.items():
        try:
            root, present = resolve_root(name, data_dir), True
        except UsageError:
            root, present = None, False
        rows.append({"name": name, "format": info.fmt, "classes": info.num_classes, "present": present,
                     "where": str(root) if root else "-"})
    return rows
