"""Meta-batch time of kml-meta's MAML against learn2learn's MAML on the same model and tasks, in one run,
plus tasks/s of ProtoNet and KML. Prints the ratio (ours / learn2learn; < 1 = faster), a check that both
give the same meta-gradient, and the process's peak memory.

    .venv/bin/python packages/kml-meta/benchmarks/bench_maml.py
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from kml_meta.models import build_learner
from kml_meta.tasks import Task

N_WAY, SHOT, QUERY, META_BATCH, STEPS, INNER_LR, SIZE, REPEATS = 5, 1, 5, 4, 1, 0.4, 28, 5
CFG = {"model": {"channels": [32, 32, 32, 32], "encoder_channels": [16, 16, 16, 16], "encoder_hidden": 64},
       "inner": {"steps": STEPS, "eval_steps": STEPS, "lr": INNER_LR, "first_order": False},
       "proto": {"transductive": True}}


def tasks(n: int, seed: int = 0) -> list[Task]:
    g = torch.Generator().manual_seed(seed)
    ys = torch.arange(N_WAY).repeat_interleave(SHOT)
    yq = torch.arange(N_WAY).repeat_interleave(QUERY)
    return [Task(torch.rand(len(ys), 1, SIZE, SIZE, generator=g), ys, torch.rand(len(yq), 1, SIZE, SIZE, generator=g),
                 yq, 0, N_WAY) for _ in range(n)]


def twin_module(ours) -> nn.Module:
    """The same network as an nn.Sequential (what learn2learn's MAML wraps), with our weights copied in."""
    layers: list[nn.Module] = []
    c = 1
    for ch in CFG["model"]["channels"]:
        layers += [nn.Conv2d(c, ch, 3, stride=2, padding=1), nn.BatchNorm2d(ch, track_running_stats=False), nn.ReLU()]
        c = ch
    net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(ours.backbone.out_dim, N_WAY))
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    bns = [m for m in net if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i, (cv, bn) in enumerate(zip(convs, bns)):
            cv.weight.copy_(ours.backbone.layers[i].weight)
            cv.bias.copy_(ours.backbone.layers[i].bias)
            bn.weight.copy_(ours.backbone.norms[i].weight)
            bn.bias.copy_(ours.backbone.norms[i].bias)
        net[-1].weight.copy_(ours.head.weight)
        net[-1].bias.copy_(ours.head.bias)
    return net


def time_it(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(int(os.environ.get("REPRO_THREADS", 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # gym's import banner
        try:
            import learn2learn as l2l
        finally:
            sys.stderr.close()
            sys.stderr = stderr
    batch = tasks(META_BATCH)
    torch.manual_seed(0)
    ours = build_learner("maml", CFG, 1, 1, SIZE, N_WAY)
    net = twin_module(ours)
    maml = l2l.algorithms.MAML(net, lr=INNER_LR, first_order=False)

    def our_step():
        ours.zero_grad(set_to_none=True)
        for t in batch:
            (ours.loss(t, training=True)[0] / META_BATCH).backward()

    def l2l_step():
        maml.zero_grad(set_to_none=True)
        for t in batch:
            learner = maml.clone()
            for _ in range(STEPS):
                learner.adapt(F.cross_entropy(learner(t.xs), t.ys))
            (F.cross_entropy(learner(t.xq), t.yq) / META_BATCH).backward()

    our_step()
    l2l_step()
    g_ours = torch.cat([ours.backbone.layers[0].weight.grad.flatten(), ours.head.weight.grad.flatten()])
    g_ref = torch.cat([net[0].weight.grad.flatten(), net[-1].weight.grad.flatten()])
    same = torch.allclose(g_ours, g_ref, atol=1e-5, rtol=1e-4)

    t_ours, t_ref = time_it(our_step), time_it(l2l_step)
    print(f"MAML meta-batch ({META_BATCH} tasks, {N_WAY}-way {SHOT}-shot {QUERY} queries, {STEPS} inner step, "
          f"2nd order, conv 4×32, {SIZE}px), median of {REPEATS}, threads={torch.get_num_threads()}")
    print(f"  kml-meta     {1000 * t_ours:8.1f} ms")
    print(f"  learn2learn  {1000 * t_ref:8.1f} ms")
    print(f"  ratio kml-meta / learn2learn = {t_ours / t_ref:.2f}x   (same meta-gradient: {same})")
    for algo in ("protonet", "kml", "mmaml"):
        torch.manual_seed(0)
        lr_ = build_learner(algo, CFG, 1, 1, SIZE, N_WAY)

        def step(lr_=lr_):
            lr_.zero_grad(set_to_none=True)
            for t in batch:
                (lr_.loss(t, training=True)[0] / META_BATCH).backward()

        t = time_it(step)
        print(f"  {algo:9s} meta-train {META_BATCH / t:7.1f} tasks/s ({1000 * t:.1f} ms per meta-batch)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (process RSS): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
