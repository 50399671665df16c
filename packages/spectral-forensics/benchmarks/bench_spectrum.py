"""Reduced spectra of 10,000 images 128×128: the batched torch path (rfft2 + one index_add over a
precomputed radius index) against the per-image NumPy radial profile of public code (full fft2 +
fftshift + log + sorted radii + cumulative sums, one image at a time), measured in one run.

Prints the speed ratio (target ≥ 10× in float32), the agreement (float32 ≤ 0.02 dB; float64 ≤ 1e-9 dB)
and the process's peak memory. Images are generated batch by batch, so memory stays bounded.

    .venv/bin/python packages/spectral-forensics/benchmarks/bench_spectrum.py [--n 10000] [--size 128]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from spectral_forensics.spectrum import reduced_spectrum, reduced_spectrum_reference


def images(k: int, batch: int, size: int) -> np.ndarray:
    """Batch ``k``: 1/f-like textures on 0..255 (deterministic)."""
    rng = np.random.default_rng(k)
    x = np.cumsum(rng.normal(0, 1, size=(batch, size, size)), 2)
    x = np.cumsum(x, 1) * 0.05 + rng.normal(0, 2, size=x.shape)
    return (x - x.min()) / np.ptp(x) * 255


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1, help="torch threads (NumPy's FFT is single-threaded)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    nb = (a.n + a.batch - 1) // a.batch
    sizes = [min(a.batch, a.n - k * a.batch) for k in range(nb)]
    reduced_spectrum(torch.zeros(2, a.size, a.size))  # warm-up (index cache, FFT plans)

    t_ours, t64, t_ref = 0.0, 0.0, 0.0
    err32, err64 = 0.0, 0.0
    base_mb = peak_mb()
    for k, b in enumerate(sizes):
        x = images(k, b, a.size)
        x32 = torch.from_numpy(x.astype(np.float32))
        t0 = time.perf_counter()
        s32, _ = reduced_spectrum(x32)
        t_ours += time.perf_counter() - t0
        x64 = torch.from_numpy(x)
        t0 = time.perf_counter()
        s64, _ = reduced_spectrum(x64, dtype=torch.float64)
        t64 += time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = np.stack([reduced_spectrum_reference(img) for img in x])
        t_ref += time.perf_counter() - t0
        err32 = max(err32, float(np.abs(s32.double().numpy() - ref).max()))
        err64 = max(err64, float(np.abs(s64.numpy() - ref).max()))
    print(f"reduced spectra of {a.n} images {a.size}×{a.size} (batches of {a.batch}, torch threads {a.threads})")
    print(f"  per-image NumPy radial profile : {t_ref:8.2f} s")
    print(f"  batched torch, float32         : {t_ours:8.2f} s   ratio {t_ref / t_ours:6.1f}×")
    print(f"  batched torch, float64         : {t64:8.2f} s   ratio {t_ref / t64:6.1f}×")
    print(f"  max |difference| float32: {err32:.2e} dB (target ≤ 0.02)   float64: {err64:.2e} dB (target ≤ 1e-9)")
    print(f"  peak RSS {peak_mb():.0f} MB (after start-up {base_mb:.0f} MB; one batch of {a.batch} float64 "
          f"images is {a.batch * a.size * a.size * 8 / 2**20:.0f} MB)")
    ok = t_ref / t_ours >= 10 and err32 <= 0.02 and err64 <= 1e-9
    print("PASS" if ok else "FAIL (see targets above)")


if __name__ == "__main__":
    main()
