"""Adaptation iteration time of DCL against plain fine-tuning (TGAN) on the same generator, in one run.

    python benchmarks/bench_adapt.py [--iters 40] [--repeats 3] [--preset quick]

Both methods run the same harness (`dcl_gan.train.adapt`) with the quick preset's generator, batch and
optimiser on random shots; the repeats interleave the methods so machine load hits both alike. The issue
asks for DCL overhead ≤ 1.5x. CDC, EWC and FreezeD are timed too. Peak RSS is printed at the end.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from dcl_gan.models import arch_of, build_gan
from dcl_gan.train import adapt
from reprokit import load_preset


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--preset", default="quick")
    p.add_argument("--methods", default="tgan,dcl,cdc,ewc,freezed")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    cfg = load_preset("dcl_gan", a.preset)
    arch = arch_of(cfg, int(cfg["data"]["channels"]), int(cfg["data"]["image_size"]))
    torch.manual_seed(0)
    G, D = build_gan(arch)
    shots = torch.rand(int(cfg["data"]["n_shots"]), arch["channels"], arch["size"], arch["size"]) * 2 - 1
    acfg = {**cfg["adapt"], "iters": a.iters}
    methods = a.methods.split(",")
    times: dict[str, list[float]] = {m: [] for m in methods}
    adapt("tgan", G, D, shots, {**acfg, "iters": 3}, 0, torch.device("cpu"))  # warm-up
    for r in range(a.repeats):
        for m in methods:
            t: dict = {}
            adapt(m, G, D, shots, acfg, r, torch.device("cpu"), timing=t)
            times[m].append(t["train_s"] / t["iters"])
    med = {m: statistics.median(v) for m, v in times.items()}
    print(f"{arch['name']} {arch['size']}x{arch['size']} width {arch['width']}, batch {acfg['batch_size']}, "
          f"{a.iters} iterations x {a.repeats} repeats, 1 thread")
    print(f"{'method':8} {'ms/iter (median)':>17} {'vs TGAN':>8}")
    for m in methods:
        print(f"{m:8} {1000 * med[m]:17.2f} {med[m] / med['tgan']:8.2f}x")
    ratio = med["dcl"] / med["tgan"]
    print(f"DCL / TGAN iteration time: {ratio:.2f}x (target ≤ 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print(f"wall {time.time() - t0:.1f} s")
    sys.exit(rc)
