"""KD training step time: lskd's ``train_student`` against a plain hand-written PyTorch loop doing the same
teacher forward + student forward/backward, measured in one run (target: overhead ≤ 10%), and the
speed-up of offline KD (cached teacher logits). Prints the ratios and the process's peak memory.

    .venv/bin/python packages/lskd/benchmarks/bench_kd_step.py
"""

from __future__ import annotations

import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from lskd.data import load_dataset
from lskd.models import build_model
from lskd.train import compute_logits, train_student

N_TRAIN, BATCH, T, REPEATS = 3072, 128, 4.0, 5


def data_set():
    try:
        return load_dataset("fashion-mnist", None, train_subset=N_TRAIN).train, "fashion-mnist"
    except Exception:  # no Fashion-MNIST here: random images of the same shape
        x = torch.randn(N_TRAIN, 1, 28, 28)
        y = torch.randint(0, 10, (N_TRAIN,))
        return [(x[i], int(y[i]), i) for i in range(N_TRAIN)], "random 28×28"


def plain_loop(student, teacher, ds) -> float:
    """The reference: what one would write by hand."""
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    teacher.eval()
    student.train()
    t0 = time.perf_counter()
    for x, _, _ in loader:
        with torch.no_grad():
            t = teacher(x)
        s = student(x)
        loss = F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), reduction="batchmean",
                        log_target=True) * T * T
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    torch.set_num_threads(1)
    ds, name = data_set()
    torch.manual_seed(0)
    teacher = build_model("cnn", 10, 1)
    cfg = {"epochs": 1, "batch_size": BATCH, "kd": "pure",
           "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "schedule": "cosine"}}
    cpu = torch.device("cpu")
    plain, online, offline = [], [], []
    t0 = time.perf_counter()
    cached = compute_logits(teacher, ds, cpu)
    cache_s = time.perf_counter() - t0
    for _ in range(REPEATS):  # interleaved, so machine noise hits all three alike
        plain.append(plain_loop(build_model("cnn-small", 10, 1), teacher, ds))
        online.append(train_student(build_model("cnn-small", 10, 1), ds, T, cfg, cpu, teacher=teacher,
                                    seed=0)["train_time_s"])
        offline.append(train_student(build_model("cnn-small", 10, 1), ds, T, cfg, cpu, cached_logits=cached,
                                     seed=0)["train_time_s"])
    p, on, off = statistics.median(plain), statistics.median(online), statistics.median(offline)
    steps = -(-len(ds) // BATCH)
    print(f"data: {name}, {len(ds)} examples, batch {BATCH}, teacher cnn → student cnn-small, T={T}, 1 thread")
    print(f"plain hand-written loop : {1000 * p / steps:7.2f} ms/step (median of {REPEATS})")
    print(f"lskd train_student      : {1000 * on / steps:7.2f} ms/step  ratio vs plain {on / p:.3f} "
          f"(overhead {100 * (on / p - 1):+.1f}%, target ≤ +10%)")
    print(f"lskd offline KD (cached): {1000 * off / steps:7.2f} ms/step  speed-up vs online {on / off:.2f}× "
          f"(one-off logit caching {cache_s:.2f} s = {cache_s / on:.2f} online epochs)")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
