"""Training-step time of a quantized ResNet-20 (direct quantization, W2/A2) against the same ResNet-20 in full
precision, measured side by side in one run (target: overhead ≤ 1.5×), the baselines' steps for context, and
the exported model's true size at 2 bits against float32. Prints the ratios and the process's peak memory.

    OMP_NUM_THREADS=1 .venv/bin/python packages/lq-quant/benchmarks/bench_step.py   (or: make bench-lq-quant)
"""

from __future__ import annotations

import resource
import statistics
import time

import torch
from torch.nn import functional as F

from lq_quant.export import export_model
from lq_quant.layers import calibrate, dq_post_step, dq_pre_step, quantize_model
from lq_quant.models import build_model

BATCH, STEPS, WARMUP, REPEATS = 64, 5, 2, 5


def make(method: str, x: torch.Tensor) -> torch.nn.Module:
    torch.manual_seed(0)
    m = build_model("resnet20", 3, 100, 16)
    if method != "fp":
        quantize_model(m, method, 2, 2, "fp", {"granularity": "channel"})
        calibrate(m, x)
    return m.train()


def timed_steps(model: torch.nn.Module, opt, x, y, gen, n: int) -> float:
    """Seconds of this process's CPU time per step (on a shared machine the wall clock also counts the
    time other processes hold the cores; with one thread the CPU time is the step's own cost)."""
    t0 = time.process_time()
    for _ in range(n):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        dq_pre_step(model)
        opt.step()
        dq_post_step(model, gen)
    return (time.process_time() - t0) / n


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, 3, 32, 32, generator=g)
    y = torch.randint(0, 100, (BATCH,), generator=g)
    methods = ["fp", "dq", "lsq", "dorefa", "lqnets"]
    models = {m: make(m, x) for m in methods}
    opts = {m: torch.optim.Adam(models[m].parameters(), 1e-3) for m in methods}
    gens = {m: torch.Generator().manual_seed(1) for m in methods}
    for m in methods:
        timed_steps(models[m], opts[m], x, y, gens[m], WARMUP)
    times: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(REPEATS):  # interleaved, so load changes hit every method alike
        for m in methods:
            times[m].append(timed_steps(models[m], opts[m], x, y, gens[m], STEPS))
    med = {m: statistics.median(v) for m, v in times.items()}
    print(f"ResNet-20 (CIFAR-100 head), batch {BATCH}, 32×32, {torch.get_num_threads()} thread(s); median of "
          f"{REPEATS} × {STEPS} steps, process CPU time")
    for m in methods:
        print(f"  {m:7s} {1000 * med[m]:8.1f} ms/step   ratio vs fp {med[m] / med['fp']:.2f}×")
    ratio = med["dq"] / med["fp"]
    print(f"direct quantization W2/A2 step / full-precision step: {ratio:.2f}× (target ≤ 1.5×: "
          f"{'met' if ratio <= 1.5 else 'NOT met'})")
    arch = {"model": "resnet20", "width": 16, "cifar_stem": True, "in_channels": 3, "num_classes": 100,
            "image_size": 32, "method": "dq", "wbits": 2, "abits": 2, "first_last": "fp",
            "dq": {"granularity": "channel"}}
    exp = export_model(models["dq"], arch)
    print(f"export at 2 bits: {exp['size_bytes']} bytes vs float32 {exp['fp_size_bytes']} bytes: size ratio "
          f"{exp['size_bytes'] / exp['fp_size_bytes']:.4f} ({exp['fp_size_bytes'] / exp['size_bytes']:.1f}× smaller; "
          "first conv, classifier, BatchNorm and levels stay float32)")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
