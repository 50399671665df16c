"""Fourier spectra of image batches in torch: power spectrum, reduced (azimuthally averaged) spectrum,
Durall et al.'s 1-D features and the high-frequency decay fit of Dzanic et al.

All functions take a batch of grayscale images ``(B, H, W)`` (use :func:`to_gray` first) and work on
the half plane of ``torch.fft.rfft2``: every rfft2 entry stands for itself and its conjugate mirror,
so a full-spectrum azimuthal mean is a *weighted* sum over the half plane (weight 2 for the columns
0 < v < W/2, weight 1 for v = 0 and v = W/2), done with one ``index_add_`` over a precomputed radius
index. Radii are measured from the DC term, i.e. from pixel ``(H//2, W//2)`` of ``fftshift(fft2(x))``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch

# MATLAB rgb2gray weights (Dzanic et al. call rgb2gray; ITU-R BT.601 luma)
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)
LOG_EPS = 1e-8  # Durall et al.'s epsilon inside the log


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB or ``(B, 1, H, W)`` / ``(B, H, W)`` gray → ``(B, H, W)`` gray, same scale.

    RGB uses MATLAB's ``rgb2gray`` weights ``0.2989 R + 0.5870 G + 0.1140 B``.
    """
    if x.ndim == 3:
        return x
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected (B, H, W), (B, 1, H, W) or (B, 3, H, W), got {tuple(x.shape)}")
    if x.shape[1] == 1:
        return x[:, 0]
    w = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1)


# ------------------------------------------------------------------------------- half-plane geometry
def half_plane_radius(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius of every ``rfft2`` entry from DC and its weight (how many full-spectrum entries it stands for).

    Row ``i`` holds the signed frequency ``fftfreq(h)·h``, column ``j`` the frequency ``j`` (0..w//2).
    """
    u = np.concatenate((np.arange((h + 1) // 2), np.arange(-(h // 2), 0))).astype(np.float64)  # exact ints
    v = np.arange(w // 2 + 1, dtype=np.float64)
    r = np.sqrt(u[:, None] ** 2 + v[None, :] ** 2)
    weight = np.full(v.shape, 2.0)
    weight[0] = 1.0
    if w % 2 == 0:
        weight[-1] = 1.0
    return r, np.broadcast_to(weight, r.shape).copy()


def full_plane_radius(h: int, w: int) -> np.ndarray:
    """Radius from DC of every pixel of ``fftshift(fft2(x))`` (DC at ``(h//2, w//2)``)."""
    i = np.arange(h) - h // 2
    j = np.arange(w) - w // 2
    return np.sqrt(i[:, None] ** 2 + j[None, :] ** 2)


@lru_cache(maxsize=32)
def _integer_bins(h: int, w: int) -> tuple[np.ndarray, np.ndarray, int]:
    r, weight = half_plane_radius(h, w)
    idx = np.floor(r).astype(np.int64)
    return idx.ravel(), weight.ravel(), int(idx.max()) + 1


def radial_profile(values: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, nbins: int) -> torch.Tensor:
    """Weighted mean of ``values`` ``(B, H, Wh)`` per bin: ``Σ w·v / Σ w`` over entries with ``index == k``.

    ``index`` (flattened, ``-1`` = left out) and ``weight`` come from the half-plane geometry. Empty bins
    are nan. One ``index_add_`` for the whole batch; the half-plane weights (1 or 2) are applied as
    ``2·Σ v − Σ_{w=1} v`` so the big array is never copied.
    """
    b = values.shape[0]
    flat = values.reshape(b, -1)
    keep = index >= 0
    if not bool(keep.all()):
        flat, index, weight = flat[:, keep], index[keep], weight[keep]
    wt = weight.to(flat.dtype)
    sums = torch.zeros(b, nbins, dtype=flat.dtype, device=flat.device)
    ones = (weight == 1).nonzero().view(-1)
    if bool(((weight == 1) | (weight == 2)).all()):
        sums.index_add_(1, index, flat, alpha=2.0)
        if ones.numel():
            sums.index_add_(1, index[ones], flat[:, ones], alpha=-1.0)
    else:
        sums.index_add_(1, index, flat * wt)
    counts = torch.zeros(nbins, dtype=flat.dtype, device=flat.device).index_add_(0, index, wt)
    return sums / counts


def _geometry(idx: np.ndarray, weight: np.ndarray, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.as_tensor(idx, device=device), torch.as_tensor(weight, device=device, dtype=dtype))


def _real_dtype(x: torch.Tensor, dtype: torch.dtype | None) -> torch.dtype:
    if dtype is not None:
        return dtype
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def magnitude_half(images: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``|rfft2(x)|`` of a ``(B, H, W)`` batch (the non-negative-v half of ``|fft2(x)|``)."""
    x = images.to(_real_dtype(images, dtype))
    if x.requires_grad:
        return torch.fft.rfft2(x).abs()
    # The mean is taken out before the FFT and put back as the DC term: the same numbers, but the FFT's
    # rounding error (∝ ‖x‖) no longer scales with the DC, which matters in float32.
    mean = x.mean((-2, -1), keepdim=True)
    r = torch.view_as_real(torch.fft.rfft2(x - mean))
    mag = (r[..., 0] * r[..., 0]).addcmul_(r[..., 1], r[..., 1]).sqrt_()  # faster than complex abs on CPU
    mag[..., 0, 0] = mean[..., 0, 0].abs() * (x.shape[-2] * x.shape[-1])
    return mag


def power_spectrum(images: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Full centred power spectrum ``|fftshift(fft2(x))|²`` of a ``(B, H, W)`` batch (for 2-D figures)."""
    x = images.to(_real_dtype(images, dtype))
    return torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1)).abs() ** 2


def reduced_spectrum(images: torch.Tensor, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """Azimuthal mean of the log power ``20·log10(|F| + 1e-8)`` (dB) per integer radius ``⌊r⌋``.

    Returns ``(B, R)`` spectra and the bin radii ``0..R-1`` (R = ⌊√((H/2)² + (W/2)²)⌋ + 1). This is
    Durall et al.'s azimuthal average (they use the natural log; the scale cancels in their min-max
    normalisation, see :func:`durall_features`).
    """
    h, w = images.shape[-2:]
    idx, weight, nb = _integer_bins(int(h), int(w))
    mag = magnitude_half(images, dtype)
    ti, tw = _geometry(idx, weight, mag.device, mag.dtype)
    logp = 20.0 * torch.log10(mag + LOG_EPS) if mag.requires_grad else mag.add_(LOG_EPS).log10_().mul_(20.0)
    return radial_profile(logp, ti, tw, nb), np.arange(nb, dtype=np.float64)


def durall_features(images: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Durall et al.'s 1-D feature: the reduced spectrum, min-max normalised per image to [0, 1]."""
    spec, _ = reduced_spectrum(images, dtype)
    lo = spec.min(1, keepdim=True).values
    hi = spec.max(1, keepdim=True).values
    return (spec - lo) / (hi - lo).clamp_min(torch.finfo(spec.dtype).tiny)


def reduced_spectrum_reference(image: np.ndarray) -> np.ndarray:
    """The per-image NumPy radial profile of public code (Durall et al.'s ``azimuthalAverage``): full
    ``fft2`` + ``fftshift``, log magnitude, radii sorted once, bin sums from a cumulative sum.

    Same binning and centre as :func:`reduced_spectrum` (DC at ``(H//2, W//2)``); kept as the reference
    for tests and the benchmark.
    """
    f = np.fft.fftshift(np.fft.fft2(np.asarray(image, dtype=np.float64)))
    logp = 20.0 * np.log10(np.abs(f) + LOG_EPS)
    r = full_plane_radius(*image.shape)
    ind = np.argsort(r.flat)
    r_int = np.floor(r.flat[ind]).astype(np.int64)
    vals = logp.flat[ind]
    deltar = r_int[1:] - r_int[:-1]
    rind = np.where(deltar)[0]
    nr = np.diff(np.concatenate(([-1], rind, [r_int.size - 1])))
    csum = np.cumsum(vals, dtype=np.float64)
    tbin = np.diff(np.concatenate(([0.0], csum[np.concatenate((rind, [r_int.size - 1]))])))
    return tbin / nr


# ------------------------------------------------------------------------------- Dzanic decay fit
@dataclass(frozen=True)
class DzanicSettings:
    """Dzanic et al.'s constants (generatedata.m): threshold 0.5, 200 bins, smoothing 5, fit from 0.85."""

    r_thresh: float = 0.5
    fit_from: float = 0.85
    nbins: int = 200
    smooth: int = 5
    c_low: float = -80.0
    c_high: float = 80.0

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=32)
def _dzanic_geometry(h: int, w: int, s: DzanicSettings):
    r, weight = half_plane_radius(h, w)
    r_max = math.sqrt((h / 2) ** 2 + (w / 2) ** 2)
    keep = r > s.r_thresh * r_max
    if not keep.any():
        raise ValueError(f"{h}×{w}: no frequencies above {s.r_thresh}·r_max")
    rmin, rmax = float(r[keep].min()), float(r[keep].max())
    edges = np.linspace(rmin, rmax, s.nbins + 1)
    # MATLAB loop: the first bin j with edges[j] <= r <= edges[j+1]
    idx = np.clip(np.searchsorted(edges, r, side="left") - 1, 0, s.nbins - 1)
    idx = np.where(keep, idx, -1).astype(np.int64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    filled = np.zeros(s.nbins, dtype=bool)
    filled[np.unique(idx[idx >= 0])] = True
    left, right = _neighbour_sources(filled)
    return idx.ravel(), weight.ravel(), centres, left, right


def _neighbour_sources(filled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each bin: the nearest filled bin at or left of it and at or right of it (itself if filled).

    An empty bin becomes the mean of those two (one side only at the ends).
    """
    n = filled.size
    pos = np.flatnonzero(filled)
    left = np.empty(n, dtype=np.int64)
    right = np.empty(n, dtype=np.int64)
    for k in range(n):
        lo = pos[pos <= k]
        hi = pos[pos >= k]
        left[k] = lo[-1] if lo.size else hi[0]
        right[k] = hi[0] if hi.size else lo[-1]
    return left, right


def moving_average(y: torch.Tensor, span: int) -> torch.Tensor:
    """MATLAB ``smooth(y, span)``: centred moving mean whose window shrinks symmetrically at the ends."""
    n = y.shape[-1]
    if span <= 1 or n < 3:
        return y
    k = (span - 1) // 2
    c = torch.nn.functional.pad(torch.cumsum(y, -1), (1, 0))
    i = torch.arange(n, device=y.device)
    half = torch.minimum(torch.minimum(i, n - 1 - i), torch.tensor(k, device=y.device))
    return (c[..., i + half + 1] - c[..., i - half]) / (2 * half + 1).to(y.dtype)


def fit_power_law(x: torch.Tensor, y: torch.Tensor, yi: torch.Tensor, c_low: float = -80.0,
                  c_high: float = 80.0, grid: int = 321, iters: int = 60, chunk: int = 1024) -> torch.Tensor:
    """Per row, ``argmin_c ‖y − y_i·(x/x₀)^c‖₂`` (Dzanic et al.'s power-law decay fit, y_i held fixed).

    ``x`` ``(n,)`` positive, ``y`` ``(B, n)``, ``yi`` ``(B,)``. A grid over ``[c_low, c_high]`` finds the
    basin, golden-section search refines it (MATLAB used fminsearch from c = −2: the same minimum when
    the objective is unimodal, which it is for decaying spectra).
    """
    t = torch.log(x / x[0]).to(y.dtype)
    out = torch.empty(y.shape[0], dtype=y.dtype, device=y.device)
    cs = torch.linspace(c_low, c_high, grid, dtype=y.dtype, device=y.device)
    step = float(cs[1] - cs[0])

    def loss(c: torch.Tensor, yy: torch.Tensor, yyi: torch.Tensor) -> torch.Tensor:  # c: (b,) or (b, g)
        if c.ndim == 1:
            c = c[:, None]
        pred = yyi[:, None, None] * torch.exp(c[..., None] * t)
        return ((yy[:, None, :] - pred) ** 2).sum(-1)

    g = (math.sqrt(5) - 1) / 2
    for s in range(0, y.shape[0], chunk):
        yy, yyi = y[s:s + chunk], yi[s:s + chunk]
        best = cs[loss(cs.expand(yy.shape[0], -1), yy, yyi).argmin(1)]
        a, b = (best - step).clamp(min=c_low), (best + step).clamp(max=c_high)
        for _ in range(iters):
            c1, c2 = b - g * (b - a), a + g * (b - a)
            left = loss(c1, yy, yyi)[:, 0] < loss(c2, yy, yyi)[:, 0]
            b = torch.where(left, c2, b)
            a = torch.where(left, a, c1)
        out[s:s + chunk] = 0.5 * (a + b)
    return out


def dzanic_profile(images: torch.Tensor, settings: DzanicSettings = DzanicSettings(),
                   dtype: torch.dtype | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """Binned high-frequency magnitude spectrum: mean ``|F|`` over the radii above ``r_thresh·r_max`` in
    ``nbins`` linear bins, empty bins from their neighbours, smoothed. Returns ``(B, nbins)``, bin centres."""
    h, w = images.shape[-2:]
    idx, weight, centres, left, right = _dzanic_geometry(int(h), int(w), settings)
    mag = magnitude_half(images, dtype)
    ti, tw = _geometry(idx, weight, mag.device, mag.dtype)
    prof = radial_profile(mag, ti, tw, settings.nbins)
    lt, rt = torch.as_tensor(left, device=mag.device), torch.as_tensor(right, device=mag.device)
    prof = 0.5 * (prof[:, lt] + prof[:, rt])
    return moving_average(prof, settings.smooth), centres


def fit_start(settings: DzanicSettings) -> int:
    """First bin of the fit (0-based): MATLAB ``int32(200·(0.85 − 0.5)/0.5) + 1`` → 140 for the defaults."""
    return round(settings.nbins * (settings.fit_from - settings.r_thresh) / (1 - settings.r_thresh))


def dzanic_features(images: torch.Tensor, settings: DzanicSettings = DzanicSettings(),
                    dtype: torch.dtype | None = None) -> torch.Tensor:
    """``(B, 3)`` features ``[c, y_i, y_f]``: the decay exponent fitted on the normalised radii ≥ 0.85,
    the smoothed spectrum at the start of the fit and at the end (highest frequency)."""
    prof, centres = dzanic_profile(images, settings, dtype)
    n0 = fit_start(settings)
    x = torch.as_tensor(centres[n0:] / centres.max(), dtype=prof.dtype, device=prof.device)
    y = prof[:, n0:]
    yi, yf = y[:, 0], y[:, -1]
    c = fit_power_law(x, y, yi, settings.c_low, settings.c_high)
    return torch.stack([c, yi, yf], 1)


def batched(fn, images: torch.Tensor, batch_size: int = 512, **kw) -> torch.Tensor:
    """``fn`` over ``images`` in chunks (first output only when ``fn`` returns a tuple), concatenated."""
    outs = []
    for s in range(0, images.shape[0], batch_size):
        o = fn(images[s:s + batch_size], **kw)
        outs.append(o[0] if isinstance(o, tuple) else o)
    return torch.cat(outs, 0)
