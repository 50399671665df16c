"""Source and 10-shot target domains, as uint8 arrays (N, C, H, W).

- ``fmnist-sketch``: Fashion-MNIST IDX (``train-images-idx3-ubyte[.gz]`` ...); photos → sketches (edge maps).
- ``fmnist-heldout``: Fashion-MNIST IDX; nine garment classes → the held-out one.
- ``folders``: ``DIR/source/*.png|jpg``, ``DIR/target/`` (exactly the shots), optional ``DIR/target_full/``
  (the full target domain for FID); any source → any target (FFHQ → Babies, Sketches, ... as folders).

The Fashion-MNIST datasets are read from ``--data-dir`` / ``$REPRO_DATA`` or, offline, from the Debian
package ``dataset-fashion-mnist``; MNIST's IDX files work the same way from ``--data-dir``.

``fmnist-sketch`` mirrors FFHQ → Sketches (same content, a new rendering): the source is the training
split's photographs, the target the *test* split rendered as sketches (inverted Sobel edge maps: dark
strokes on white), 10 of which are the shots and the rest the full target domain for FID.
``fmnist-heldout`` mirrors FFHQ → Babies (a related sub-population): the source is nine classes of the
training split, the target the held-out class of the test split.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reprokit import UsageError

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SYSTEM_FMNIST = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
FMNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot")
DATASETS = {
    "fmnist-sketch": "Fashion-MNIST IDX files; source = training photos, target = sketches of test images",
    "fmnist-heldout": "Fashion-MNIST IDX files; source = 9 classes, target = the held-out class",
    "folders": "image folders DIR/source, DIR/target (exactly the shots), optional DIR/target_full",
}


@dataclass
class DomainData:
    """Everything an adaptation experiment needs; images are uint8 (N, C, H, W)."""

    name: str
    note: str
    source: np.ndarray
    shots: np.ndarray
    target_full: np.ndarray  # the full target domain, for FID (the shots themselves when nothing else exists)
    # training data of the evaluation networks (never the test images the metrics compare against)
    feat_images: np.ndarray
    feat_labels: np.ndarray | None  # class labels, or None: the feature net then learns rotations
    domain_source: np.ndarray = field(default=None)  # p_t classifier: class 0
    domain_target: np.ndarray = field(default=None)  # p_t classifier: class 1

    @property
    def channels(self) -> int:
        return int(self.source.shape[1])

    @property
    def size(self) -> int:
        return int(self.source.shape[-1])


# -------------------------------------------------------------------------------------------- IDX
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (optionally gzipped): magic 0x00 0x00 0x08 ndim, big-endian int32 dims, uint8 data."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UsageError(f"{path}: cannot read the IDX file ({type(e).__name__})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8 or raw[3] < 1:
        raise UsageError(f"{path}: not a uint8 IDX file (bad magic number)")
    nd = raw[3]
    if len(raw) < 4 + 4 * nd:
        raise UsageError(f"{path}: IDX header cut short")
    dims = np.frombuffer(raw[4: 4 + 4 * nd], dtype=">i4").astype(int)
    body = np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8)
    if body.size != int(np.prod(dims)):
        raise UsageError(f"{path}: IDX holds {body.size} bytes, its header says {int(np.prod(dims))}")
    return body.reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def fmnist_root(data_dir: Path | None) -> Path:
    """The directory holding the four IDX files: ``data_dir`` (or a ``fashion-mnist`` folder in it), else the
    Debian package's copy."""
    candidates = [data_dir, data_dir / "fashion-mnist"] if data_dir is not None else [SYSTEM_FMNIST]
    for root in candidates:
        if root is not None and all(_find(root, f) for f in IDX_FILES):
            return root
    where = str(data_dir) if data_dir is not None else "the Debian package path (dataset-fashion-mnist)"
    raise UsageError(f"Fashion-MNIST IDX files not found in {where}: put {', '.join(IDX_FILES)} (optionally .gz) "
                     "there, or install the Debian package dataset-fashion-mnist")


def load_idx_split(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    xtr, ytr, xte, yte = (read_idx(_find(root, f)) for f in IDX_FILES)
    for x, y, split in ((xtr, ytr, "train"), (xte, yte, "t10k")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise UsageError(f"{root}: {split} images {x.shape} and labels {y.shape} do not match (expected "
                             "(N, 28, 28) images and N labels)")
    return xtr, ytr, xte, yte


def pad_to(x: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) uint8 → (N, 1, size, size): zero-padded when smaller (28 → 32), resized when not."""
    n, h, w = x.shape
    if h == size and w == size:
        return x[:, None]
    if h <= size and w <= size:
        out = np.zeros((n, size, size), dtype=np.uint8)
        top, left = (size - h) // 2, (size - w) // 2
        out[:, top: top + h, left: left + w] = x
        return out[:, None]
    return resize_uint8(x[:, None], size)


def resize_uint8(x: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(x.astype(np.float32))
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return t.round().clamp(0, 255).to(torch.uint8).numpy()


def sketch(x: np.ndarray) -> np.ndarray:
    """A sketch rendering of (N, 1, H, W) uint8 images: inverted, per-image normalised Sobel edge magnitude.

    White background, dark strokes where the photograph has edges (the FFHQ → Sketches relation).
    """
    from scipy import ndimage

    f = x.astype(np.float32) / 255.0
    gx = ndimage.sobel(f, axis=-1, mode="constant")
    gy = ndimage.sobel(f, axis=-2, mode="constant")
    mag = np.sqrt(gx ** 2 + gy ** 2)
    mag = mag / np.maximum(mag.reshape(len(x), -1).max(axis=1), 1e-6)[:, None, None, None]
    out = 1.0 - np.clip(1.5 * mag, 0.0, 1.0)
    return np.round(out * 255).astype(np.uint8)


def pick_shots(labels: np.ndarray, n_shots: int, seed: int, classes: np.ndarray | None = None) -> np.ndarray:
    """Indices of the shots: fixed by ``seed``; spread over the classes (round robin) when ``classes`` given."""
    rng = np.random.default_rng(seed)
    if classes is None:
        return np.sort(rng.choice(len(labels), n_shots, replace=False))
    pools = [rng.permutation(np.flatnonzero(labels == c)).tolist() for c in classes]
    out = []
    while len(out) < n_shots:
        for p in pools:
            if p and len(out) < n_shots:
                out.append(p.pop())
    return np.array(sorted(out))


def load_fmnist(name: str, data_dir: Path | None, cfg: dict) -> DomainData:
    d = cfg["data"]
    size, n_shots, shot_seed = int(d["image_size"]), int(d["n_shots"]), int(d["shot_seed"])
    root = fmnist_root(data_dir)
    xtr, ytr, xte, yte = load_idx_split(root)
    rng = np.random.default_rng(0)
    ntr = min(int(d["n_source"]), len(xtr))
    if name == "fmnist-sketch":
        src_idx = np.sort(rng.choice(len(xtr), ntr, replace=False))
        source = pad_to(xtr[src_idx], size)
        test_sk = sketch(pad_to(xte, size))
        shot_idx = pick_shots(yte, n_shots, shot_seed, classes=np.unique(yte))
        rest = np.setdiff1d(np.arange(len(xte)), shot_idx)
        ref_idx = np.sort(np.random.default_rng(1).choice(rest, min(int(d["n_target_full"]), len(rest)), replace=False))
        feat_idx = np.sort(rng.choice(len(xtr), min(int(d["n_feature_train"]), len(xtr)), replace=False))
        fx = pad_to(xtr[feat_idx], size)
        half = len(fx) // 2
        feat_images = np.concatenate([fx[:half], sketch(fx[half:])])
        dom_idx = np.sort(rng.choice(len(xtr), min(int(d["n_domain_train"]), len(xtr)), replace=False))
        dx = pad_to(xtr[dom_idx], size)
        dh = len(dx) // 2
        note = (f"Fashion-MNIST ({root.name}): source = {ntr} training photos (all 10 classes), target = sketch "
                f"renderings (inverted Sobel edges) of the test split: {n_shots} shots (seed {shot_seed}) and "
                f"{len(ref_idx)} other test sketches as the full target domain for FID; {size}x{size} grey. "
                "The paper adapts FFHQ StyleGAN2 to Sketches/Babies at 256x256.")
        # the feature net learns class x rendering (20 labels), so its features see the domain as well
        feat_labels = ytr[feat_idx].astype(np.int64) + 10 * (np.arange(len(fx)) >= half)
        return DomainData(name, note, source, test_sk[shot_idx], test_sk[ref_idx], feat_images,
                          feat_labels, dx[:dh], sketch(dx[dh:]))
    if name == "fmnist-heldout":
        k = int(d["heldout_class"])
        if k not in set(np.unique(ytr).tolist()):
            raise UsageError(f"data.heldout_class={k}: no such class in {root} (labels {sorted(set(ytr.tolist()))})")
        pool = np.flatnonzero(ytr != k)
        src_idx = np.sort(rng.choice(pool, min(ntr, len(pool)), replace=False))
        source = pad_to(xtr[src_idx], size)
        tk = np.flatnonzero(yte == k)
        if len(tk) < n_shots + 2:
            raise UsageError(f"class {k} has {len(tk)} test images; need at least {n_shots + 2}")
        shot_idx = np.sort(np.random.default_rng(shot_seed).choice(tk, n_shots, replace=False))
        rest = np.setdiff1d(tk, shot_idx)[: int(d["n_target_full"])]
        feat_idx = np.sort(rng.choice(len(xtr), min(int(d["n_feature_train"]), len(xtr)), replace=False))
        ntgt = min(int(d["n_domain_train"]) // 2, int((ytr == k).sum()))
        dom_t = rng.choice(np.flatnonzero(ytr == k), ntgt, replace=False)
        dom_s = rng.choice(pool, ntgt, replace=False)
        cname = FMNIST_CLASSES[k] if k < len(FMNIST_CLASSES) else str(k)
        note = (f"Fashion-MNIST ({root.name}): source = {len(src_idx)} training images of the 9 classes other than "
                f"{k} ({cname}); target = class {k} of the test split: {n_shots} shots (seed {shot_seed}) and "
                f"{len(rest)} others as the full target domain for FID; {size}x{size} grey.")
        return DomainData(name, note, source, pad_to(xte[shot_idx], size), pad_to(xte[rest], size),
                          pad_to(xtr[feat_idx], size), ytr[feat_idx].astype(np.int64),
                          pad_to(xtr[np.sort(dom_s)], size), pad_to(xtr[np.sort(dom_t)], size))
    raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


# ----------------------------------------------------------------------------------------- folders
def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def check_folder(folder: Path, what: str, expect: int | None = None, at_least: int = 1) -> list[Path]:
    """The image files of ``folder``, all readable and of one size and mode, else a UsageError naming them."""
    from PIL import Image, UnidentifiedImageError

    if not folder.is_dir():
        raise UsageError(f"{what}: no such folder {folder}")
    files = list_images(folder)
    if not files:
        raise UsageError(f"{what}: {folder} holds no images ({', '.join(IMAGE_SUFFIXES[:3])}, ...)")
    if expect is not None and len(files) != expect:
        raise UsageError(f"{what}: {folder} holds {len(files)} images, expected exactly {expect} shots "
                         "(set data.n_shots to use another number)")
    if len(files) < at_least:
        raise UsageError(f"{what}: {folder} holds {len(files)} images, need at least {at_least}")
    first = None
    for f in files:
        try:
            with Image.open(f) as im:
                key = (im.size, im.mode)
        except (UnidentifiedImageError, OSError) as e:
            raise UsageError(f"{what}: {f} is not a readable image ({type(e).__name__})") from None
        if first is None:
            first = (f, key)
        elif key != first[1]:
            raise UsageError(f"{what}: images of mixed sizes/modes: {first[0].name} is {first[1][0]} {first[1][1]}, "
                             f"{f.name} is {key[0]} {key[1]}; convert them to one size and mode")
    return files


def read_images(files: list[Path], size: int, channels: int) -> np.ndarray:
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(files), channels, size, size), dtype=np.uint8)
    for i, f in enumerate(files):
        with Image.open(f) as im:
            im = im.convert(mode)
            if im.size != (size, size):
                im = im.resize((size, size), Image.BICUBIC)
            a = np.asarray(im, dtype=np.uint8)
        out[i] = a[None] if channels == 1 else a.transpose(2, 0, 1)
    return out


def folder_layout(data_dir: Path | None) -> tuple[Path, Path, Path | None]:
    if data_dir is None:
        raise UsageError("dataset 'folders' needs --data-dir DIR holding DIR/source/ and DIR/target/ (the shots)")
    full = data_dir / "target_full"
    return data_dir / "source", data_dir / "target", full if full.is_dir() else None


def check_folders(data_dir: Path | None, cfg: dict) -> None:
    src, tgt, full = folder_layout(data_dir)
    check_folder(src, "source", at_least=int(cfg["data"]["batch_size"]))
    check_folder(tgt, "target", expect=int(cfg["data"]["n_shots"]))
    if full is not None:
        check_folder(full, "target_full", at_least=2)


def load_folders(data_dir: Path | None, cfg: dict) -> DomainData:
    d = cfg["data"]
    size, ch = int(d["image_size"]), int(d["channels"])
    src, tgt, full = folder_layout(data_dir)
    sfiles = check_folder(src, "source", at_least=int(d["batch_size"]))
    if len(sfiles) > int(d["n_source"]):
        keep = np.sort(np.random.default_rng(0).choice(len(sfiles), int(d["n_source"]), replace=False))
        sfiles = [sfiles[i] for i in keep]
    shots = read_images(check_folder(tgt, "target", expect=int(d["n_shots"])), size, ch)
    source = read_images(sfiles, size, ch)
    target_full = read_images(check_folder(full, "target_full", at_least=2), size, ch) if full else shots
    aug = augment_shots(shots, max(len(source) // 4, 64))
    note = (f"image folders in {data_dir.name}: {len(source)} source images, {len(shots)} target shots, "
            + (f"{len(target_full)} full-target images for FID" if full else
               "no target_full/: FID is computed against the shots themselves")
            + f"; {size}x{size}, {ch} channel(s)")
    return DomainData("folders", note, source, shots, target_full, np.concatenate([source, aug]), None,
                      source, aug)


def augment_shots(shots: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Flipped and shifted copies of the shots (for the p_t classifier when no other target images exist)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(shots), n)
    out = shots[idx].copy()
    flip = rng.random(n) < 0.5
    out[flip] = out[flip][..., ::-1]
    for i in range(n):
        dy, dx = rng.integers(-2, 3, 2)
        out[i] = np.roll(out[i], (int(dy), int(dx)), axis=(-2, -1))
    return out


# ---------------------------------------------------------------------------------------- dispatch
def check_dataset(name: str, data_dir: Path | None, cfg: dict) -> None:
    """Everything :func:`load_dataset` would refuse, checked without loading pixels (for the precheck)."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "folders":
        check_folders(data_dir, cfg)
        return
    if int(cfg["data"]["channels"]) != 1:
        raise UsageError(f"dataset {name} is greyscale: set data.channels=1")
    fmnist_root(data_dir)


def load_dataset(name: str, data_dir: Path | None, cfg: dict) -> DomainData:
    if name == "folders":
        return load_folders(data_dir, cfg)
    return load_fmnist(name, data_dir, cfg)


def describe_datasets(data_dir: Path | None) -> list[dict]:
    rows = []
    for name, fmt in DATASETS.items():
        if name == "folders":
            present = data_dir is not None and (data_dir / "source").is_dir() and (data_dir / "target").is_dir()
            where = str(data_dir) if data_dir else "--data-dir DIR"
        else:
            try:
                where, present = str(fmnist_root(data_dir)), True
            except UsageError:
                where, present = str(data_dir) if data_dir else "(not installed)", False
        rows.append({"name": name, "format": fmt, "present": present, "where": where})
    return rows


def to_float(x: np.ndarray):
    """uint8 (N, C, H, W) → float tensor in [-1, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).float().div(127.5).sub(1.0)


def to_uint8(t) -> np.ndarray:
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(dtype=__import__("torch").uint8).cpu().numpy()
