"""Real images: crops of the photographs bundled with scikit-image and scikit-learn (offline default),
Fashion-MNIST IDX files, and any folder of images (CelebA's img_align_celeba, a user's folder).

Folder rule (the user commands ``spectrum``, ``fit-detector``, ``detect``): every regular file under the
folder (recursively, hidden files skipped) is opened with Pillow; files Pillow cannot read are listed
and skipped. Images are converted to grayscale with MATLAB's rgb2gray weights on a 0..255 scale. The
working size is the folder's most common height × width (or the detector's size); larger images are
centre-cropped to it, smaller ones are listed and skipped. Images are read in batches, so a folder of
any length is processed in bounded memory.
"""

from __future__ import annotations

import gzip
import os
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reprokit import UsageError

# Natural photographs (no synthetic test patterns) that ship inside scikit-image without a download.
SKIMAGE_PHOTOS = ("astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
                  "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "cell")
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
FMNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
FMNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
GRAY = np.array([0.2989, 0.5870, 0.1140])

DATASETS = {
    "photos": "crops of 15 scikit-image + 2 scikit-learn photographs (bundled; no files needed)",
    "fashion-mnist": "IDX files train/t10k-images-idx3-ubyte[.gz] (zero-padded 28→32)",
    "folder": "any folder of images (e.g. CelebA img_align_celeba/*.jpg): --data-dir DIR",
}


# ---------------------------------------------------------------------------------------- photos
def load_photos(channels: int = 1) -> list[np.ndarray]:
    """The bundled photographs as float arrays ``(C, H, W)`` on 0..255 (gray ones replicated for C = 3)."""
    import skimage.data as skd
    from sklearn.datasets import load_sample_image

    out = []
    for name in SKIMAGE_PHOTOS:
        out.append(np.asarray(getattr(skd, name)(), dtype=np.float64))
    for name in SKLEARN_PHOTOS:
        out.append(np.asarray(load_sample_image(name), dtype=np.float64))
    return [_channels(a, channels) for a in out]


def _channels(a: np.ndarray, channels: int) -> np.ndarray:
    if a.ndim == 3:
        a = a[..., :3]
        a = (a @ GRAY)[None] if channels == 1 else a.transpose(2, 0, 1)
    else:
        a = a[None] if channels == 1 else np.repeat(a[None], 3, 0)
    return a


MIN_CROP_STD = 2.0  # gray levels: flat crops (retina's black surround, saturated sky) are redrawn


def photo_crops(n: int, size: int, channels: int, seed: int, photos: list[np.ndarray] | None = None) -> np.ndarray:
    """``n`` random ``size × size`` crops (uint8 ``(n, C, size, size)``): a photo drawn in proportion to its
    area, then a uniform crop position; a crop whose pixel standard deviation is under 2 gray levels
    (flat background, whose spectrum is exactly zero) is redrawn. Plain crops, no resampling, so the
    photographs' own spectra."""
    photos = photos if photos is not None else load_photos(channels)
    rng = np.random.default_rng(seed)
    areas = np.array([(p.shape[1] - size + 1) * (p.shape[2] - size + 1) for p in photos], dtype=np.float64)
    which = rng.choice(len(photos), size=n, p=areas / areas.sum())
    out = np.empty((n, channels, size, size), dtype=np.uint8)
    for k, i in enumerate(which):
        p = photos[i]
        for _ in range(100):
            y = rng.integers(0, p.shape[1] - size + 1)
            x = rng.integers(0, p.shape[2] - size + 1)
            crop = np.clip(np.rint(p[:, y:y + size, x:x + size]), 0, 255)
            if crop.std() >= MIN_CROP_STD:
                break
        out[k] = crop.astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------- Fashion-MNIST
def read_idx(path: Path) -> np.ndarray:
    """An IDX file (``.gz`` or raw): magic ``00 00 08 ndim``, big-endian int32 dims, uint8 data."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise UsageError(f"{path}: not an IDX uint8 file")
    nd = raw[3]
    dims = struct.unpack(f">{nd}i", raw[4:4 + 4 * nd])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    if data.size != int(np.prod(dims)):
        raise UsageError(f"{path}: IDX header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def fmnist_root(data_dir: Path | None) -> Path:
    for root in ([data_dir] if data_dir else []) + [FMNIST_SYSTEM_DIR]:
        if root is None:
            continue
        for base in (root, root / "fashion-mnist"):
            if _idx_path(base, FMNIST_FILES["train"][0]) is not None:
                return base
    where = f"{data_dir} or {FMNIST_SYSTEM_DIR}" if data_dir else str(FMNIST_SYSTEM_DIR)
    raise UsageError(f"Fashion-MNIST not found in {where}: put train-images-idx3-ubyte[.gz] and "
                     "t10k-images-idx3-ubyte[.gz] there (or apt-get install dataset-fashion-mnist)")


def _idx_path(root: Path, name: str) -> Path | None:
    for p in (root / name, root / f"{name}.gz"):
        if p.is_file():
            return p
    return None


def fmnist_images(root: Path, split: str, channels: int) -> np.ndarray:
    path = _idx_path(root, FMNIST_FILES[split][0])
    if path is None:
        raise UsageError(f"{root}: missing {FMNIST_FILES[split][0]}[.gz]")
    x = read_idx(path)
    if x.ndim != 3:
        raise UsageError(f"{path}: expected an (N, 28, 28) image file, got shape {x.shape}")
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))[:, None]
    return np.repeat(x, 3, 1) if channels == 3 else x


# ----------------------------------------------------------------------------------------- folders
@dataclass
class FolderScan:
    root: Path
    files: list[Path] = field(default_factory=list)  # readable images of the working size or larger
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (H, W) of each file
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    size: tuple[int, int] | None = None

    @property
    def n_found(self) -> int:
        return len(self.files) + len(self.skipped)


def _all_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
    return out


def scan_folder(root: Path, size: tuple[int, int] | None = None, square: bool = False) -> FolderScan:
    """Open every file's header; list the unreadable; fix the working size (most common H × W, or
    ``size``); list the images smaller than it. ``square``: the working size is a square (the
    smaller side of the most common size), as the GAN trainer needs."""
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    scan = FolderScan(root)
    found: list[tuple[Path, tuple[int, int]]] = []
    for p in _all_files(root):
        try:
            with Image.open(p) as im:
                w, h = im.size
            found.append((p, (h, w)))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            scan.skipped.append((str(p), f"not a readable image ({type(e).__name__})"))
    if size is None and found:
        size = Counter(s for _, s in found).most_common(1)[0][0]
        if square:
            size = (min(size), min(size))
    scan.size = size
    for p, s in found:
        if size is not None and (s[0] < size[0] or s[1] < size[1]):
            scan.skipped.append((str(p), f"{s[0]}×{s[1]} is smaller than the working size {size[0]}×{size[1]}"))
        else:
            scan.files.append(p)
            scan.sizes.append(s)
    return scan


def _to_array(im, channels: int) -> np.ndarray:
    """A Pillow image → float ``(C, H, W)`` on 0..255 (gray by rgb2gray weights when C = 1)."""
    if im.mode.startswith("I;16"):
        a = np.asarray(im, dtype=np.float64) / 257.0
    elif im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
    elif im.mode == "L":
        a = np.asarray(im, dtype=np.float64)
    else:
        a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return _channels(a, channels)


def _centre_crop(a: np.ndarray, h: int, w: int) -> np.ndarray:
    top = (a.shape[-2] - h) // 2
    left = (a.shape[-1] - w) // 2
    return a[..., top:top + h, left:left + w]


def iter_folder_batches(scan: FolderScan, batch_size: int = 256, channels: int = 1
                        ) -> Iterator[tuple[np.ndarray, list[str]]]:
    """Batches ``(b, C, H, W)`` float (0..255) of the scanned images at the working size (centre crop),
    with their file names. Files whose pixels fail to decode are added to ``scan.skipped``."""
    from PIL import Image

    h, w = scan.size
    buf, names = [], []
    for p in scan.files:
        try:
            with Image.open(p) as im:
                im.load()
                a = _to_array(im, channels)
        except (OSError, ValueError, SyntaxError) as e:
            scan.skipped.append((str(p), f"pixels could not be decoded ({type(e).__name__})"))
            continue
        buf.append(_centre_crop(a, h, w))
        names.append(str(p))
        if len(buf) == batch_size:
            yield np.stack(buf), names
            buf, names = [], []
    if buf:
        yield np.stack(buf), names


def folder_images_for_gan(root: Path, n: int | None, size: int, centre_crop: int | None, channels: int
                          ) -> np.ndarray:
    """Training images from a folder (CelebA recipe: centre crop ``centre_crop``, resize to ``size``),
    uint8 ``(N, C, size, size)``."""
    return folder_images_and_files(root, n, size, centre_crop, channels)[0]


def folder_images_and_files(root: Path, n: int | None, size: int, centre_crop: int | None, channels: int,
                            files: list[Path] | None = None) -> tuple[np.ndarray, list[Path]]:
    """:func:`folder_images_for_gan` with the files it read (``files``: read these instead of scanning)."""
    from PIL import Image

    if files is None:
        scan = scan_folder(root, square=True)
        files = scan.files[:n] if n else scan.files
    if not files:
        raise UsageError(f"{root}: no readable images")
    out = np.empty((len(files), channels, size, size), dtype=np.uint8)
    for k, p in enumerate(files):
        with Image.open(p) as im:
            im = im.convert("RGB")
            w, h = im.size
            c = min(centre_crop or min(w, h), w, h)
            left, top = (w - c) // 2, (h - c) // 2
            im = im.crop((left, top, left + c, top + c)).resize((size, size), Image.BICUBIC)
            a = _channels(np.asarray(im, dtype=np.float64), channels)
        out[k] = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return out, list(files)


# ------------------------------------------------------------------------------- StarGAN domain labels
STARGAN_ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")  # StarGAN's CelebA default
ATTR_FILE = "list_attr_celeba.txt"


def find_attr_file(data_dir: Path) -> Path | None:
    """CelebA's attribute list beside the images: ``DIR/list_attr_celeba.txt``, ``DIR/../`` or ``DIR/../Anno/``."""
    data_dir = Path(data_dir)
    for p in (data_dir / ATTR_FILE, data_dir.parent / ATTR_FILE, data_dir.parent / "Anno" / ATTR_FILE):
        if p.is_file():
            return p
    return None


def read_celeba_attrs(path: Path, attrs: list[str] | tuple[str, ...]) -> dict[str, np.ndarray]:
    """``list_attr_celeba.txt`` (line 1: count, line 2: the 40 attribute names, then ``file ±1 × 40``) →
    {file name: 0/1 float32 vector of ``attrs``}. Refuses (UsageError) a malformed file or unknown names."""
    lines = Path(path).read_text(errors="replace").splitlines()
    if len(lines) < 3:
        raise UsageError(f"{path}: not a CelebA attribute list (fewer than 3 lines)")
    names = lines[1].split()
    missing = [a for a in attrs if a not in names]
    if missing:
        raise UsageError(f"{path}: no attribute {', '.join(missing)} (it has {', '.join(names[:6])}, ...)")
    cols = [names.index(a) for a in attrs]
    out = {}
    for k, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise UsageError(f"{path}: line {k} is not 'file' followed by {len(names)} values of 1/-1")
        out[parts[0]] = np.array([parts[1 + c] == "1" for c in cols], dtype=np.float32)
    return out


def check_domains(data_dir: Path) -> str:
    """Where StarGAN's domain labels come from (UsageError when neither source exists): ``attrs`` when
    CelebA's attribute list is found (:func:`find_attr_file`), ``folders`` when DIR has ≥ 2 subfolders."""
    if find_attr_file(data_dir) is not None:
        return "attrs"
    subs = [p for p in Path(data_dir).iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subs) >= 2:
        return "folders"
    raise UsageError(f"--data-dir {data_dir}: StarGAN needs domain labels: CelebA's {ATTR_FILE} beside the "
                     "images (DIR, DIR/.. or DIR/../Anno) or one subfolder per domain (≥ 2)")


def labelled_folder(data_dir: Path, attrs: list[str] | tuple[str, ...]) -> tuple[list[Path], np.ndarray, list[str],
                                                                               str]:
    """The readable images of ``data_dir`` with StarGAN labels: (files, labels (N, K), domain names, mode).

    ``attrs`` source (CelebA): the images named in the attribute list, multi-label (``mode='multi'``);
    ``folders`` source: each first-level subfolder is a domain, one-hot (``mode='single'``); files at the
    top level are ignored."""
    data_dir = Path(data_dir)
    scan = scan_folder(data_dir, square=True)
    if check_domains(data_dir) == "attrs":
        table = read_celeba_attrs(find_attr_file(data_dir), attrs)
        files = [p for p in scan.files if p.name in table]
        if not files:
            raise UsageError(f"{data_dir}: none of its images is named in {find_attr_file(data_dir)}")
        return files, np.stack([table[p.name] for p in files]), list(attrs), "multi"
    rel = [(p, p.relative_to(data_dir).parts) for p in scan.files]
    files = [p for p, parts in rel if len(parts) > 1]
    domains = sorted({p.relative_to(data_dir).parts[0] for p in files})
    if len(domains) < 2:
        raise UsageError(f"{data_dir}: StarGAN needs readable images in ≥ 2 domain subfolders, found {domains}")
    idx = {d: i for i, d in enumerate(domains)}
    lab = np.zeros((len(files), len(domains)), dtype=np.float32)
    for k, p in enumerate(files):
        lab[k, idx[p.relative_to(data_dir).parts[0]]] = 1.0
    return files, lab, domains, "single"


# -------------------------------------------------------------------------------- dataset routing
@dataclass
class RealData:
    name: str
    train: np.ndarray  # uint8 (N, C, S, S): the GANs' training images
    real: np.ndarray  # uint8 (M, C, S, S): real images for the detectors (disjoint draw)
    note: str
    train_labels: np.ndarray | None = None  # StarGAN: (N, K) domain labels of ``train`` in {0, 1}
    domains: list[str] | None = None
    label_mode: str | None = None  # "multi" (CelebA attributes) | "single" (one domain per subfolder)


def check_dataset(name: str, data_dir: Path | None) -> None:
    """Fail before any work (UsageError) when ``name`` is unknown or its files are absent."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} (see `data list`)")
    if name == "fashion-mnist":
        fmnist_root(data_dir)
    if name == "folder":
        if data_dir is None or not Path(data_dir).is_dir():
            raise UsageError("dataset 'folder' needs --data-dir DIR (a folder of images, e.g. CelebA's "
                             "img_align_celeba)")


def load_real(name: str, data_dir: Path | None, n_train: int, n_real: int, size: int, channels: int, seed: int,
              centre_crop: int | None = None, domain_attrs: list[str] | None = None) -> RealData:
    """``domain_attrs`` (StarGAN): also read domain labels of the training images (folder datasets only;
    see :func:`labelled_folder`); the real class and the training images are disjoint, shuffled by ``seed``."""
    check_dataset(name, data_dir)
    if domain_attrs is not None:
        if name != "folder":
            raise UsageError(f"StarGAN needs domain labels: use --dataset folder (CelebA with {ATTR_FILE}, or one "
                             f"subfolder per domain), not {name!r}")
        files, lab, domains, mode = labelled_folder(Path(data_dir), domain_attrs)
        order = np.random.default_rng(seed).permutation(len(files))[:n_train + n_real]
        if len(order) < 2 * n_real:
            raise UsageError(f"{data_dir}: {len(order)} labelled images; need more than {2 * n_real}")
        imgs, _ = folder_images_and_files(Path(data_dir), None, size, centre_crop, channels,
                                          files=[files[i] for i in order])
        real, train, train_lab = imgs[:n_real], imgs[n_real:], lab[order[n_real:]]
        counts = ", ".join(f"{d} {int(train_lab[:, i].sum())}" for i, d in enumerate(domains))
        return RealData(name, train, real, f"image folder {Path(data_dir).name} with StarGAN domain labels "
                        f"({'CelebA attributes' if mode == 'multi' else 'one subfolder per domain'}; training images "
                        f"per domain: {counts}): {len(train)} images for the GANs, {len(real)} disjoint ones as the "
                        f"real class; centre crop {centre_crop}, resized to {size}", train_lab, domains, mode)
    if name == "photos":
        photos = load_photos(channels)
        train = photo_crops(n_train, size, channels, seed, photos)
        real = photo_crops(n_real, size, channels, seed + 10_000, photos)
        note = (f"{n_train} + {n_real} random {size}×{size} crops (two independent draws) of 17 real photographs "
                f"bundled with scikit-image ({', '.join(SKIMAGE_PHOTOS)}) and scikit-learn (china, flower); "
                f"{'grayscale' if channels == 1 else 'RGB'}; the paper used CelebA faces at 128×128")
        return RealData(name, train, real, note)
    if size != 32 and name == "fashion-mnist":
        raise UsageError("fashion-mnist images are 32×32 after padding; use --set data.size=32")
    if name == "fashion-mnist":
        root = fmnist_root(data_dir)
        tr, te = fmnist_images(root, "train", channels), fmnist_images(root, "test", channels)
        rng = np.random.default_rng(seed)
        train = tr[rng.permutation(len(tr))[:n_train]]
        real = te[rng.permutation(len(te))[:n_real]]
        return RealData(name, train, real, f"Fashion-MNIST ({root.name}), {len(train)} training images for the "
                        f"GANs, {len(real)} test images as the detectors' real class; zero-padded 28→32")
    imgs = folder_images_for_gan(Path(data_dir), n_train + n_real, size, centre_crop, channels)
    if len(imgs) < 2 * n_real:
        raise UsageError(f"{data_dir}: {len(imgs)} readable images; need more than {2 * n_real} "
                         f"(lower detector.n_real or add images)")
    real, train = imgs[:n_real], imgs[n_real:]
    return RealData(name, train, real, f"image folder {Path(data_dir).name}: {len(train)} images for the GANs, "
                    f"{len(real)} disjoint ones as the real class; centre crop {centre_crop}, resized to {size}")


def describe_datasets(data_dir: Path | None) -> list[dict]:
    rows = []
    for name, fmt in DATASETS.items():
        try:
            check_dataset(name, data_dir)
            present, where = True, ("bundled" if name == "photos" else str(fmnist_root(data_dir))
                                    if name == "fashion-mnist" else str(data_dir))
        except UsageError as e:
            present, where = False, str(e)[:80]
        rows.append({"name": name, "format": fmt, "present": present, "where": where})
    return rows
