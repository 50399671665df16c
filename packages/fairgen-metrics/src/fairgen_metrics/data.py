"""Labelled image sets in their standard on-disk formats, and the sensitive attributes derived from them.

- ``fashion-mnist`` (offline default): the IDX files (``train-images-idx3-ubyte[.gz]`` …) from
  ``--data-dir`` / ``$REPRO_DATA`` or the Debian package ``dataset-fashion-mnist``. Its attributes are
  derived from the 10 clothing classes (:data:`FMNIST_ATTRIBUTES`).
- ``celeba``: ``list_attr_celeba.txt`` (+ optional ``list_eval_partition.txt``) beside the image folder
  ``img_align_celeba/``; the attribute is one or more of the 40 binary columns, several combined into
  2^m classes (class id = Σ 2ʲ aⱼ, as the official multi-attribute split).
- ``imagefolder``: ``DIR/<class name>/*.png|jpg``, one subfolder per class (sorted names → ids).

Images are returned as uint8 arrays (n, C, H, W). Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reprokit import UsageError

SYSTEM_FMNIST = Path("/usr/share/datasets/fashion-mnist")
FMNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot")
# Derived attributes: groups of Fashion-MNIST classes; a class in no group is outside the attribute's pool.
FMNIST_ATTRIBUTES: dict[str, dict] = {
    "class": {"groups": [[i] for i in range(10)], "names": list(FMNIST_CLASSES)},
    "footwear": {"groups": [[0, 1, 2, 3, 4, 6, 8], [5, 7, 9]], "names": ["not footwear", "footwear"]},
    "long-sleeves": {"groups": [[0, 1, 3, 5, 7, 8, 9], [2, 4, 6]], "names": ["other", "long-sleeved top"]},
    "garment-4": {"groups": [[0, 6], [2, 4], [1, 3, 8], [5, 7, 9]],
                  "names": ["shirts", "warm tops", "trousers/dresses/bags", "footwear"]},
    "class-8": {"groups": [[i] for i in range(8)], "names": list(FMNIST_CLASSES[:8])},
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DATASETS = ("fashion-mnist", "celeba", "imagefolder")


@dataclass
class LabelledImages:
    """Images (n, C, H, W) uint8 with integer labels; ``train``/``test`` splits of one dataset."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    note: str
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# --------------------------------------------------------------------------------------------- IDX
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (optionally gzipped): magic 0x0000 08 ndim, big-endian int32 dims, uint8 data."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise UsageError(f"{path}: cannot read IDX file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise UsageError(f"{path}: not a uint8 IDX file (bad magic number)")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UsageError(f"{path}: truncated IDX file ({data.size} bytes of {int(np.prod(dims))})")
    return data.reshape(dims)


def _idx_file(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def fmnist_root(data_dir: Path | None) -> Path:
    """Where the IDX files are: ``data_dir`` (or ``data_dir/fashion-mnist``), else the Debian location."""
    cands = [data_dir, data_dir / "fashion-mnist"] if data_dir is not None else []
    # an explicit --data-dir must hold the files; only without one (or from $REPRO_DATA) fall back
    env = os.environ.get("REPRO_DATA")
    if data_dir is None or (env and Path(env) == Path(data_dir)):
        cands += [SYSTEM_FMNIST]
    for c in cands:
        if c is not None and _idx_file(c, "train-images-idx3-ubyte") and _idx_file(c, "t10k-labels-idx1-ubyte"):
            return c
    where = f" in {data_dir}" if data_dir is not None else ""
    raise UsageError(f"Fashion-MNIST IDX files not found{where}: put train-images-idx3-ubyte(.gz), "
                     "train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz) in "
                     "--data-dir, or install the Debian package dataset-fashion-mnist")


def load_fashion_mnist(data_dir: Path | None = None) -> LabelledImages:
    root = fmnist_root(data_dir)
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(_idx_file(root, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(_idx_file(root, f"{prefix}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise UsageError(f"{root}: {prefix} images {x.shape} and labels {y.shape} do not match")
        if y.max() > 9:
            raise UsageError(f"{root}: {prefix} labels outside 0..9")
        parts[split] = (x[:, None], y.astype(np.int64))
    return LabelledImages("fashion-mnist", *parts["train"], *parts["test"], list(FMNIST_CLASSES),
                          note=f"Fashion-MNIST IDX ({len(parts['train'][1])} train / {len(parts['test'][1])} test real "
                               "28×28 images)")


# ------------------------------------------------------------------------------------ attributes
@dataclass
class Attribute:
    """A sensitive attribute as groups of a dataset's base classes (ids in [0, K))."""

    name: str
    groups: list[list[int]]
    names: list[str]

    @property
    def k(self) -> int:
        return len(self.groups)

    def base_classes(self) -> np.ndarray:
        return np.array(sorted(c for g in self.groups for c in g))

    def lookup(self, n_base: int) -> np.ndarray:
        """base class → attribute class (−1 where the class belongs to no group)."""
        m = np.full(n_base, -1, dtype=np.int64)
        for a, g in enumerate(self.groups):
            m[list(g)] = a
        return m

    def labels(self, base_labels: np.ndarray, n_base: int) -> np.ndarray:
        return self.lookup(n_base)[np.asarray(base_labels)]

    def predict(self, logits: np.ndarray) -> np.ndarray:
        """Attribute prediction of a base-class classifier: argmax over the attribute's classes, mapped."""
        logits = np.asarray(logits)
        base = self.base_classes()
        top = base[np.argmax(logits[:, base], axis=1)]
        return self.lookup(logits.shape[1])[top]


def fmnist_attribute(name: str) -> Attribute:
    if name not in FMNIST_ATTRIBUTES:
        raise UsageError(f"unknown Fashion-MNIST attribute {name!r}; choose one of {', '.join(FMNIST_ATTRIBUTES)}")
    a = FMNIST_ATTRIBUTES[name]
    return Attribute(name, [list(g) for g in a["groups"]], list(a["names"]))


# ---------------------------------------------------------------------------------- image files
def read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image file → uint8 (C, size, size), converted to L (1 channel) or RGB (3)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable image ({type(e).__name__})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_image_dir(folder: Path, size: int, channels: int, limit: int | None = None) -> np.ndarray:
    files = list_images(folder)
    if not files:
        raise UsageError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    files = files[:limit] if limit else files
    return np.stack([read_image(f, size, channels) for f in files])


def imagefolder_classes(root: Path) -> list[str]:
    if not Path(root).is_dir():
        raise UsageError(f"{root}: no such directory (expected one subfolder of images per class)")
    classes = sorted(d.name for d in Path(root).iterdir() if d.is_dir() and list_images(d))
    if len(classes) < 2:
        raise UsageError(f"{root}: need at least 2 class subfolders holding images, found {len(classes)}")
    return classes


def load_imagefolder(root: Path, size: int = 32, channels: int = 3, test_fraction: float = 0.2,
                     seed: int = 0, max_per_class: int | None = None) -> LabelledImages:
    classes = imagefolder_classes(root)
    xs, ys = [], []
    for i, c in enumerate(classes):
        x = load_image_dir(Path(root) / c, size, channels, max_per_class)
        xs.append(x)
        ys.append(np.full(len(x), i, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    tr, te = _split(len(y), test_fraction, seed)
    return LabelledImages("imagefolder", x[tr], y[tr], x[te], y[te], classes,
                          note=f"image folder {Path(root).name} ({len(y)} images, {len(classes)} classes, {size}px)")


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


# ----------------------------------------------------------------------------------------- CelebA
def read_celeba_attrs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """``list_attr_celeba.txt``: line 1 the count, line 2 the 40 names, then ``file  ±1 × 40``.

    Returns (file names, attribute names, 0/1 matrix (n, 40)).
    """
    if not path.is_file():
        raise UsageError(f"{path}: no such file (CelebA's list_attr_celeba.txt)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 3:
        raise UsageError(f"{path}: too short for list_attr_celeba.txt (count, names, rows)")
    names = lines[1].split()
    files, rows = [], []
    for ln, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise UsageError(f"{path}:{ln}: expected a file name and {len(names)} values, got {len(parts) - 1}")
        try:
            vals = [int(v) for v in parts[1:]]
        except ValueError:
            raise UsageError(f"{path}:{ln}: attribute values must be 1 or -1") from None
        if any(v not in (1, -1, 0) for v in vals):
            raise UsageError(f"{path}:{ln}: attribute values must be 1 or -1")
        files.append(parts[0])
        rows.append(vals)
    if not rows:
        raise UsageError(f"{path}: no attribute rows")
    return files, names, (np.array(rows) > 0).astype(np.int64)


def celeba_paths(root: Path) -> tuple[Path, Path]:
    root = Path(root)
    attr = root / "list_attr_celeba.txt"
    if not attr.is_file() and (root / "Anno" / "list_attr_celeba.txt").is_file():
        attr = root / "Anno" / "list_attr_celeba.txt"
    for d in (root / "img_align_celeba", root / "img_align_celeba" / "img_align_celeba", root / "images"):
        if d.is_dir():
            return attr, d
    return attr, root / "img_align_celeba"


def celeba_attribute(names: list[str], wanted: list[str]) -> list[int]:
    idx = []
    for w in wanted:
        if w not in names:
            raise UsageError(f"CelebA has no attribute {w!r}; choose from {', '.join(names[:8])}, …")
        idx.append(names.index(w))
    return idx


def check_celeba(root: Path | None, attributes: list[str]) -> None:
    if root is None:
        raise UsageError("celeba needs --data-dir DIR holding list_attr_celeba.txt and img_align_celeba/")
    attr, img = celeba_paths(root)
    if not attr.is_file():
        raise UsageError(f"{root}: no list_attr_celeba.txt (CelebA's attribute list)")
    if not img.is_dir():
        raise UsageError(f"{root}: no img_align_celeba/ image folder")
    with open(attr, encoding="utf-8", errors="replace") as f:
        f.readline()
        names = f.readline().split()
    celeba_attribute(names, attributes)


def load_celeba(root: Path, attributes: list[str], size: int = 64, max_images: int | None = None,
                seed: int = 0) -> LabelledImages:
    """CelebA with the sensitive attribute(s) as labels: 2^m classes, id = Σ 2ʲ aⱼ (j = order given)."""
    check_celeba(root, attributes)
    attr, img = celeba_paths(root)
    files, names, a = read_celeba_attrs(attr)
    cols = celeba_attribute(names, attributes)
    y = (a[:, cols] * (2 ** np.arange(len(cols)))).sum(1)
    part = Path(root) / "list_eval_partition.txt"
    split = None
    if part.is_file():
        m = dict(line.split()[:2] for line in part.read_text().splitlines() if len(line.split()) >= 2)
        split = np.array([int(m.get(f, 0)) for f in files])
    keep = np.arange(len(files))
    if max_images and len(keep) > max_images:
        keep = np.sort(np.random.default_rng(seed).choice(keep, max_images, replace=False))
    x = np.stack([read_image(img / files[i], size, 3) for i in keep])
    y = y[keep]
    if split is not None and (split[keep] == 2).any() and (split[keep] != 2).any():
        te = split[keep] == 2
        tr_idx, te_idx = np.flatnonzero(~te), np.flatnonzero(te)
    else:
        tr_idx, te_idx = _split(len(y), 0.2, seed)
    cls = [",".join(f"{n}={(c >> j) & 1}" for j, n in enumerate(attributes)) for c in range(2 ** len(cols))]
    return LabelledImages("celeba", x[tr_idx], y[tr_idx], x[te_idx], y[te_idx], cls,
                          note=f"CelebA ({len(y)} images at {size}px; attribute {'+'.join(attributes)})")


# ------------------------------------------------------------------------------------------ info
def describe_datasets(data_dir: Path | None) -> list[dict]:
    rows = []
    try:
        where, present = str(fmnist_root(data_dir)), True
    except UsageError:
        where, present = "(not found)", False
    rows.append({"name": "fashion-mnist", "format": "IDX (.gz ok)", "present": present, "where": where})
    if data_dir is not None:
        attr, img = celeba_paths(data_dir)
        rows.append({"name": "celeba", "format": "list_attr_celeba.txt + img_align_celeba/",
                     "present": attr.is_file() and img.is_dir(), "where": str(data_dir)})
    else:
        rows.append({"name": "celeba", "format": "list_attr_celeba.txt + img_align_celeba/", "present": False,
                     "where": "--data-dir"})
    rows.append({"name": "imagefolder", "format": "DIR/<class>/*.png|jpg", "present": data_dir is not None
                 and data_dir.is_dir(), "where": str(data_dir) if data_dir else "--data-dir"})
    return rows
