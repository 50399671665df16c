"""Rendering the offline character and emoji sources to small grayscale images.

KanjiVG ships each character as SVG stroke paths (``M``/``C``/``S``/``L``... commands on a 109×109
canvas). We parse the path data, sample the Bézier curves, apply a random affine "hand" (rotation,
shear, scale, shift) and a random stroke width, and draw with PIL at 4× the target size before an
antialiasing downscale: each character becomes an Omniglot-like class of several drawings.
OpenMoji ships a COLRv0 colour font; each emoji is drawn with PIL under a random affine and
converted to grayscale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"[MmCcSsLlHhVvZzQqTt]|[-+]?(?:\d*\.\d+|\d+\.?)(?:[eE][-+]?\d+)?")
_ARITY = {"M": 2, "L": 2, "C": 6, "S": 4, "H": 1, "V": 1, "Z": 0, "Q": 4, "T": 2}


def parse_path(d: str, samples: int = 12) -> list[np.ndarray]:
    """SVG path data → polylines (one ``(n, 2)`` array per subpath), Béziers sampled at ``samples`` points.

    Supports M, L, H, V, C, S, Q, T, Z in absolute and relative form (KanjiVG uses M, C, c, S, s).
    """
    tokens = _TOKEN.findall(d)
    polys: list[list[tuple[float, float]]] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    last_ctrl: np.ndarray | None = None
    cmd = None
    i = 0
    ts = np.linspace(0.0, 1.0, samples)[1:]

    def cubic(p0, p1, p2, p3):
        t = ts[:, None]
        return ((1 - t) ** 3) * p0 + 3 * ((1 - t) ** 2) * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3

    while i < len(tokens):
        tok = tokens[i]
        if tok.isalpha():
            cmd = tok
            i += 1
            if cmd in "Zz":
                if polys:
                    polys[-1].append(tuple(start))
                cur = start.copy()
                last_ctrl = None
                continue
        if cmd is None:
            raise ValueError(f"path data does not start with a command: {d[:40]!r}")
        n = _ARITY[cmd.upper()]
        raw = tokens[i:i + n]
        if len(raw) < n or any(v.isalpha() for v in raw):
            raise ValueError(f"truncated path data near token {i}: {d[:40]!r}")
        vals = [float(v) for v in raw]
        i += n
        rel = cmd.islower()
        up = cmd.upper()
        base = cur if rel else np.zeros(2)
        if up == "M":
            cur = base + np.array(vals)
            start = cur.copy()
            polys.append([tuple(cur)])
            cmd = "l" if rel else "L"  # implicit lineto after moveto
            last_ctrl = None
            continue
        if not polys:
            polys.append([tuple(cur)])
        if up == "L" or up == "T":
            nxt = base + np.array(vals)
            polys[-1].append(tuple(nxt))
            cur, last_ctrl = nxt, None
        elif up == "H":
            cur = np.array([vals[0] + (cur[0] if rel else 0.0), cur[1]])
            polys[-1].append(tuple(cur))
            last_ctrl = None
        elif up == "V":
            cur = np.array([cur[0], vals[0] + (cur[1] if rel else 0.0)])
            polys[-1].append(tuple(cur))
            last_ctrl = None
        elif up == "C":
            p1, p2, p3 = base + np.array(vals[0:2]), base + np.array(vals[2:4]), base + np.array(vals[4:6])
            polys[-1].extend(map(tuple, cubic(cur, p1, p2, p3)))
            cur, last_ctrl = p3, p2
        elif up == "S":
            p1 = 2 * cur - last_ctrl if last_ctrl is not None else cur.copy()
            p2, p3 = base + np.array(vals[0:2]), base + np.array(vals[2:4])
            polys[-1].extend(map(tuple, cubic(cur, p1, p2, p3)))
            cur, last_ctrl = p3, p2
        elif up == "Q":
            q1, p3 = base + np.array(vals[0:2]), base + np.array(vals[2:4])
            p1, p2 = cur + 2 / 3 * (q1 - cur), p3 + 2 / 3 * (q1 - p3)
            polys[-1].extend(map(tuple, cubic(cur, p1, p2, p3)))
            cur, last_ctrl = p3, None
    return [np.asarray(p, dtype=float) for p in polys if len(p) >= 1]


_D_ATTR = re.compile(r'<path[^>]*?\sd="([^"]+)"')


def kanjivg_strokes(svg_text: str) -> list[np.ndarray]:
    """All stroke polylines of one KanjiVG file (coordinates on its 109×109 canvas)."""
    out: list[np.ndarray] = []
    for d in _D_ATTR.findall(svg_text):
        out.extend(parse_path(d))
    return out


def random_affine(rng: np.random.Generator, rot_deg: float, scale: float, shear: float, shift: float) -> np.ndarray:
    """A 2×3 affine about the canvas centre (unit square coordinates): rotation, shear, scale, shift."""
    a = math.radians(rng.uniform(-rot_deg, rot_deg))
    s = rng.uniform(1 - scale, 1 + scale, size=2)
    sh = rng.uniform(-shear, shear)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    m = rot @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag(s)
    t = rng.uniform(-shift, shift, size=2)
    return np.concatenate([m, (t + 0.5 - m @ np.array([0.5, 0.5]))[:, None]], axis=1)


def draw_strokes(strokes: Sequence[np.ndarray], size: int, width: float, affine: np.ndarray | None = None,
                 canvas: float = 109.0, supersample: int = 4) -> np.ndarray:
    """Polylines on a ``canvas``-sized square → ``(size, size)`` uint8 image, ink white on black."""
    from PIL import Image, ImageDraw

    big = size * supersample
    img = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    w = max(1, round(width * supersample))
    for pts in strokes:
        p = np.asarray(pts, dtype=float) / canvas
        if affine is not None:
            p = p @ affine[:, :2].T + affine[:, 2]
        p = p * big
        if len(p) == 1:
            x, y = p[0]
            draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=255)
            continue
        draw.line([tuple(q) for q in p], fill=255, width=w, joint="curve")
        for x, y in (p[0], p[-1]):  # round caps
            draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=255)
    return np.asarray(img.resize((size, size), Image.LANCZOS), dtype=np.uint8)


def render_kanji(svg_path: Path, n: int, size: int, rng: np.random.Generator, jitter: dict) -> np.ndarray:
    """``n`` randomly deformed drawings of one KanjiVG character, ``(n, size, size)`` uint8."""
    strokes = kanjivg_strokes(Path(svg_path).read_text(encoding="utf-8"))
    if not strokes:
        raise ValueError(f"{svg_path}: no stroke paths")
    out = np.empty((n, size, size), dtype=np.uint8)
    for k in range(n):
        aff = random_affine(rng, jitter.get("rotation", 10.0), jitter.get("scale", 0.1),
                            jitter.get("shear", 0.15), jitter.get("shift", 0.06))
        # per-stroke wobble: each stroke shifted a little on its own, like a hand's imprecision
        wob = float(jitter.get("wobble", 1.5))
        moved = [s + rng.normal(0, wob, size=2) for s in strokes]
        width = size / 28.0 * rng.uniform(*jitter.get("width", (1.6, 2.6)))
        out[k] = draw_strokes(moved, size, width, aff)
    return out


def render_emoji(font, char: str, n: int, size: int, rng: np.random.Generator, jitter: dict) -> np.ndarray:
    """``n`` randomly transformed grayscale renderings of one emoji from a COLR font, ``(n, size, size)``."""
    from PIL import Image, ImageDraw

    big = 4 * size
    base = Image.new("RGB", (big, big), "white")
    ImageDraw.Draw(base).text((big // 2, big // 2), char, font=font, embedded_color=True, fill="black",
                              anchor="mm")
    gray = base.convert("L")
    out = np.empty((n, size, size), dtype=np.uint8)
    for k in range(n):
        aff = random_affine(rng, jitter.get("rotation", 10.0), jitter.get("scale", 0.1),
                            jitter.get("shear", 0.1), jitter.get("shift", 0.06))
        # PIL wants the inverse map output→input, in pixels
        m = np.vstack([aff, [0, 0, 1]])
        inv = np.linalg.inv(m)
        S = np.diag([big, big, 1.0])
        full = S @ inv @ np.linalg.inv(S)
        im = gray.transform((big, big), Image.AFFINE, tuple(full[:2].ravel()), resample=Image.BILINEAR,
                            fillcolor=255)
        out[k] = 255 - np.asarray(im.resize((size, size), Image.LANCZOS), dtype=np.uint8)
    return out
