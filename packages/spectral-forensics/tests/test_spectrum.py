"""The spectral math against brute-force loops, hand computations and scipy."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from spectral_forensics.spectrum import (
    DzanicSettings,
    durall_features,
    dzanic_features,
    dzanic_profile,
    fit_power_law,
    fit_start,
    moving_average,
    power_spectrum,
    reduced_spectrum,
    reduced_spectrum_reference,
    to_gray,
)


def brute_azimuthal(img: np.ndarray, values) -> np.ndarray:
    """Per-pixel loop over the full centred spectrum: mean of values(|F|) per ⌊r⌋ from DC at (H//2, W//2)."""
    h, w = img.shape
    f = np.fft.fftshift(np.fft.fft2(img))
    sums, counts = {}, {}
    for i in range(h):
        for j in range(w):
            r = math.floor(math.hypot(i - h // 2, j - w // 2))
            sums[r] = sums.get(r, 0.0) + values(abs(f[i, j]))
            counts[r] = counts.get(r, 0) + 1
    return np.array([sums[k] / counts[k] for k in range(max(sums) + 1)])


@pytest.mark.parametrize("shape", [(16, 16), (15, 12), (12, 15), (9, 9), (20, 14)])
def test_reduced_spectrum_matches_brute_force_loop(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(100, 30, size=(3, *shape))
    got, radius = reduced_spectrum(torch.from_numpy(x), dtype=torch.float64)
    for k in range(3):
        want = brute_azimuthal(x[k], lambda m: 20 * math.log10(m + 1e-8))
        np.testing.assert_allclose(got[k].numpy(), want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(reduced_spectrum_reference(x[k]), want, rtol=0, atol=1e-9)
    assert radius[-1] == len(want) - 1


def test_float32_agrees_with_float64_within_fft_precision():
    x = np.random.default_rng(2).uniform(0, 255, size=(8, 64, 64))
    a, _ = reduced_spectrum(torch.from_numpy(x), dtype=torch.float64)
    b, _ = reduced_spectrum(torch.from_numpy(x).float())
    assert b.dtype == torch.float32
    assert (a - b.double()).abs().max() < 0.02  # dB


def test_white_noise_has_a_flat_power_spectrum():
    n, sigma = 32, 3.0
    x = torch.from_numpy(np.random.default_rng(3).normal(0, sigma, size=(400, n, n)))
    p = power_spectrum(x).mean(0).numpy()  # E|F(k)|² = N²σ² for every k (including DC, zero mean)
    expected = n * n * sigma ** 2
    assert abs(p.mean() / expected - 1) < 0.02
    # azimuthal mean of the power per radius: flat within sampling error
    r = np.floor(np.hypot(*np.meshgrid(np.arange(n) - n // 2, np.arange(n) - n // 2, indexing="ij"))).astype(int)
    prof = np.array([p[r == k].mean() for k in range(1, r.max())])
    assert np.all(np.abs(prof / expected - 1) < 0.25)
    assert abs(prof.mean() / expected - 1) < 0.03


def test_checkerboard_artefact_is_a_peak_at_the_highest_frequency():
    n = 32
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    base = np.random.default_rng(4).normal(128, 2, size=(n, n))
    board = base + 20 * (-1.0) ** (i + j)  # period-2 pattern = the (N/2, N/2) corner of the spectrum
    spec, radius = reduced_spectrum(torch.from_numpy(np.stack([base, board])), dtype=torch.float64)
    gain = (spec[1] - spec[0]).numpy()
    assert int(np.argmax(gain)) == len(radius) - 1  # the corner radius √2·N/2 → the last bin
    assert gain[-1] > 20 and np.all(np.abs(gain[:-3]) < 6)
    # and the Dzanic y_f (end of the fit range) rises while c flattens
    f = dzanic_features(torch.from_numpy(np.stack([base, board])), dtype=torch.float64).numpy()
    assert f[1, 2] > 5 * f[0, 2]
    assert f[1, 0] > f[0, 0]


def test_decay_fit_recovers_a_known_exponent():
    x = torch.linspace(1.0, 1.25, 60, dtype=torch.float64)
    cs = torch.tensor([-6.0, -2.0, -0.5, 1.5, 12.3], dtype=torch.float64)
    yi = torch.tensor([5.0, 100.0, 1.0, 0.3, 2.0], dtype=torch.float64)
    y = yi[:, None] * (x / x[0])[None] ** cs[:, None]
    got = fit_power_law(x, y, yi)
    np.testing.assert_allclose(got.numpy(), cs.numpy(), atol=1e-6)


def test_decay_fit_matches_scipy_on_noisy_data():
    rng = np.random.default_rng(5)
    x = np.linspace(1.0, 1.2, 40)
    y = 50 * (x / x[0]) ** -3.0 * np.exp(rng.normal(0, 0.05, size=(6, 40)))
    yi = y[:, 0]
    got = fit_power_law(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(yi)).numpy()
    for k in range(6):
        ref = minimize_scalar(lambda c, k=k: np.linalg.norm(y[k] - yi[k] * (x / x[0]) ** c), bounds=(-30, 30),
                              method="bounded", options={"xatol": 1e-10}).x
        assert abs(got[k] - ref) < 1e-5


def test_moving_average_is_matlab_smooth():
    y = torch.tensor([[1.0, 4.0, 9.0, 16.0, 25.0, 36.0]])
    want = [1, (1 + 4 + 9) / 3, (1 + 4 + 9 + 16 + 25) / 5, (4 + 9 + 16 + 25 + 36) / 5, (16 + 25 + 36) / 3, 36]
    np.testing.assert_allclose(moving_average(y, 5)[0].numpy(), want)


def brute_dzanic(img: np.ndarray, s: DzanicSettings) -> np.ndarray:
    """A loop transcription of generatedata.m (true DC centre, empty bins from the nearest filled neighbours)."""
    h, w = img.shape
    f = np.fft.fftshift(np.fft.fft2(img))
    rmax = math.hypot(h / 2, w / 2)
    rl, ml = [], []
    for i in range(h):
        for j in range(w):
            r = math.hypot(i - h // 2, j - w // 2)
            if r > s.r_thresh * rmax:
                rl.append(r)
                ml.append(abs(f[i, j]))
    rl, ml = np.array(rl), np.array(ml)
    edges = np.linspace(rl.min(), rl.max(), s.nbins + 1)
    ys, ns = np.zeros(s.nbins), np.zeros(s.nbins)
    for r, m in zip(rl, ml):
        for b in range(s.nbins):
            if edges[b] <= r <= edges[b + 1]:
                ys[b] += m
                ns[b] += 1
                break
    filled = ns > 0
    y = np.where(filled, ys / np.maximum(ns, 1), 0.0)
    out = y.copy()
    for b in np.flatnonzero(~filled):
        lo = [k for k in range(b, -1, -1) if filled[k]]
        hi = [k for k in range(b, s.nbins) if filled[k]]
        left = y[lo[0]] if lo else y[hi[0]]
        right = y[hi[0]] if hi else y[lo[0]]
        out[b] = 0.5 * (left + right)
    sm = np.array([out[max(0, k - min(2, k, s.nbins - 1 - k)): k + min(2, k, s.nbins - 1 - k) + 1].mean()
                   for k in range(s.nbins)])
    xc = 0.5 * (edges[:-1] + edges[1:])
    n0 = fit_start(s)
    xx, yy = xc[n0:] / xc.max(), sm[n0:]
    c = minimize_scalar(lambda c: np.linalg.norm(yy - yy[0] * (xx / xx[0]) ** c), bounds=(-80, 80),
                        method="bounded", options={"xatol": 1e-10}).x
    return np.array([c, yy[0], yy[-1]]), sm


def test_dzanic_features_match_a_loop_transcription_of_the_matlab_code():
    s = DzanicSettings()
    assert fit_start(s) == 140  # int32(200·(0.85 − 0.5)/0.5) + 1, 1-based
    rng = np.random.default_rng(6)
    imgs = np.cumsum(np.cumsum(rng.normal(0, 1, size=(3, 24, 24)), 1), 2)  # 1/f²-like texture
    imgs = 255 * (imgs - imgs.min()) / np.ptp(imgs)
    got = dzanic_features(torch.from_numpy(imgs), s, dtype=torch.float64).numpy()
    prof, _ = dzanic_profile(torch.from_numpy(imgs), s, dtype=torch.float64)
    for k in range(3):
        want, sm = brute_dzanic(imgs[k], s)
        np.testing.assert_allclose(prof[k].numpy(), sm, rtol=1e-10)
        np.testing.assert_allclose(got[k, 1:], want[1:], rtol=1e-10)
        assert abs(got[k, 0] - want[0]) < 1e-5


def test_durall_features_are_min_max_normalised_and_gray_uses_rgb2gray():
    x = torch.rand(4, 3, 16, 16, dtype=torch.float64) * 255
    g = to_gray(x)
    np.testing.assert_allclose(g[0, 0, 0].item(), 0.2989 * x[0, 0, 0, 0].item() + 0.5870 * x[0, 1, 0, 0].item()
                               + 0.1140 * x[0, 2, 0, 0].item())
    f = durall_features(g)
    assert torch.allclose(f.min(1).values, torch.zeros(4, dtype=torch.float64))
    assert torch.allclose(f.max(1).values, torch.ones(4, dtype=torch.float64))
