"""A tiny regression trained for a few steps, in one process or under torchrun (used by test_distributed)."""

import sys

import torch

from reprokit.distributed import (
    all_reduce_mean,
    all_reduce_sum,
    cleanup,
    get_info,
    init_distributed,
    shard_sampler,
    wrap_model,
)
from reprokit.io import atomic_write_json
from reprokit.seeding import seed_everything

STEPS, GLOBAL_BATCH = 6, 16


def main(out: str) -> None:
    init_distributed("cpu")
    info = get_info()
    seed_everything(0)  # same init and data on every rank
    x, y = torch.randn(GLOBAL_BATCH * STEPS, 5), torch.randn(GLOBAL_BATCH * STEPS, 1)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1))
    model = wrap_model(net, torch.device("cpu"))
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    ds = torch.utils.data.TensorDataset(x, y)
    sampler = shard_sampler(ds, shuffle=False, seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=GLOBAL_BATCH // info.world_size, sampler=sampler)
    for xb, yb in loader:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
    reduced = all_reduce_mean({"rank": float(info.rank)})
    counted = all_reduce_sum({"n": float(len(loader.dataset) if sampler is None else len(sampler))})
    if info.is_main:
        params = [p.detach().flatten().tolist() for p in model.parameters()]
        atomic_write_json(out, {"params": params, "world": info.world_size, "mean_rank": reduced["rank"],
                                "n_seen": counted["n"]})
    cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
