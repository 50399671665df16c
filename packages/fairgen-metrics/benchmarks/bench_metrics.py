"""Benchmark: every metric on 10^6 labels with 16 classes, and the full sweep (|u| = 2, 4, 8, 16), against
the straightforward per-sample Python loop, in one run. Prints the times, the ratios and peak memory.

    python packages/fairgen-metrics/benchmarks/bench_metrics.py [--samples N] [--repeats R]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from fairgen_metrics import metrics as M
from fairgen_metrics.sweep import sweep_distributions


# ---------------------------------------------------------------- the reference: plain Python loops
def loop_counts(labels: list[int], k: int) -> list[float]:
    counts = [0] * k
    for x in labels:  # one sample at a time
        counts[x] += 1
    n = len(labels)
    return [c / n for c in counts]


def loop_metrics(p: list[float]) -> dict[str, float]:
    k = len(p)
    u = 1.0 / k
    l1 = sum(abs(x - u) for x in p)
    l2 = math.sqrt(sum((x - u) ** 2 for x in p))
    kl = sum(x * math.log(x / u) for x in p if x > 0)
    s = sorted(p, reverse=True)
    ranks = list(range(k - 1, 0, -1))
    tot = sum(ranks)
    spec = abs(s[0] - sum(r / tot * v for r, v in zip(ranks, s[1:])))
    is_ = (l1 / k + spec) / 2
    wd = 0.5 * l1
    wd_off = l1 / k
    wds = (wd + spec) / 2
    return {"l1": l1, "l2": l2, "kl": kl, "spec": spec, "is": is_, "wd": wd, "wd_official": wd_off, "wds": wds}


def loop_normalised(p: list[float]) -> dict[str, float]:
    k = len(p)
    top = loop_metrics([1.0] + [0.0] * (k - 1))
    m = loop_metrics(p)
    return {n: (m[n] / top[n] if top[n] else 0.0) for n in m}


# ---------------------------------------------------------------------------------------- timing
def timed(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    k = a.classes
    labels = rng.choice(k, size=a.samples, p=rng.dirichlet(np.ones(k)))
    as_list = labels.tolist()

    def ours_all():
        return M.all_metrics(M.proportions(labels, k))

    def ref_all():
        return loop_metrics(loop_counts(as_list, k))

    t_ours, mo = timed(ours_all, a.repeats)
    t_ref, mr = timed(ref_all, a.repeats)
    for ours_name, ref_name in (("l1", "l1"), ("l2", "l2"), ("kl", "kl"), ("specificity", "spec"),
                                ("information_specificity", "is"), ("wasserstein", "wd"),
                                ("wasserstein_official", "wd_official"), ("wds", "wds")):
        assert abs(mo[ours_name] - mr[ref_name]) < 1e-9, (ours_name, mo[ours_name], mr[ref_name])

    sweeps = {kk: sweep_distributions(kk) for kk in (2, 4, 8, 16)}
    lists = {kk: d.tolist() for kk, d in sweeps.items()}

    def ours_sweep():
        return {kk: M.sweep_metrics(d, hamming=False) for kk, d in sweeps.items()}

    def ref_sweep():
        return {kk: [loop_normalised(p) for p in rows] for kk, rows in lists.items()}

    t_sw, so = timed(ours_sweep, a.repeats)
    t_sw_ref, sr = timed(ref_sweep, a.repeats)
    for kk in sweeps:
        np.testing.assert_allclose(so[kk]["L2"], [r["l2"] for r in sr[kk]], atol=1e-9)
        np.testing.assert_allclose(so[kk]["WDS"], [r["wds"] for r in sr[kk]], atol=1e-9)
    n_dist = sum(len(d) for d in sweeps.values())

    print(f"every metric on {a.samples:,} labels × {k} classes (best of {a.repeats}):")
    print(f"  fairgen_metrics (bincount + vectorised)  {t_ours * 1e3:9.2f} ms   peak {peak_mib(ours_all):7.1f} MiB")
    print(f"  per-sample Python loop                   {t_ref * 1e3:9.2f} ms   peak {peak_mib(ref_all):7.1f} MiB")
    print(f"  ratio (loop / ours)                      {t_ref / t_ours:9.1f}x")
    print(f"full sweep |u| = 2, 4, 8, 16 ({n_dist} distributions, 8 normalised metrics):")
    print(f"  fairgen_metrics (batched)                {t_sw * 1e3:9.2f} ms   peak {peak_mib(ours_sweep):7.1f} MiB")
    print(f"  per-distribution Python loop             {t_sw_ref * 1e3:9.2f} ms   peak {peak_mib(ref_sweep):7.1f} MiB")
    print(f"  ratio (loop / ours)                      {t_sw_ref / t_sw:9.1f}x")


if __name__ == "__main__":
    main()
