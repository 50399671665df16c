"""One training loop for every method (same optimizer, schedule, batches and budget).

A step: forward → cross-entropy → backward → (DQ: remember the weights) → optimizer step →
(DQ: round every weight back onto its layer's levels, :meth:`lq_quant.layers.DQWeight.post_step`).
In-memory datasets are batched by index from one seeded permutation per epoch, so every method of a
seed sees the same batches in the same order (paired comparisons). Under torchrun each rank takes its
share of every global batch and the model is wrapped in DistributedDataParallel (reprokit); the DQ
rounding uses a generator seeded identically on every rank, so all ranks keep the same codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lq_quant.layers import DQWeight, dq_post_step, dq_pre_step, q_layers
from reprokit import progress
from reprokit.checkpoint import load_checkpoint, save_checkpoint
from reprokit.distributed import all_reduce_mean, get_info, wrap_model


def train_batches(data, batch_size: int, generator: torch.Generator, num_workers: int = 0
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (x, y) batches: this rank's share of each global batch."""
    info = get_info()
    if data.x_train is not None:
        n = data.n_train
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            idx = perm[i: i + batch_size][info.rank:: info.world_size]
            yield data.x_train[idx], data.y_train[idx]
        return
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sampler = DistributedSampler(data.train_ds, shuffle=True, seed=seed) if info.enabled else None
    loader = DataLoader(data.train_ds, batch_size=batch_size // info.world_size, shuffle=sampler is None,
                        sampler=sampler, num_workers=num_workers, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    yield from loader


def steps_per_epoch(data, batch_size: int) -> int:
    return max(1, data.n_train // batch_size)


def make_optimizer(model: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam or SGD over all parameters; DQ levels form their own group (lr × ``level_lr_scale``)."""
    levels = [m.wq.levels for _, m in q_layers(model) if isinstance(m.wq, DQWeight)]
    ids = {id(p) for p in levels}
    rest = [p for p in model.parameters() if id(p) not in ids]
    lr = float(cfg["lr"])
    groups = [{"params": rest, "lr": lr}]
    if levels:
        groups.append({"params": levels, "lr": lr * float(cfg.get("level_lr_scale", 1.0)), "weight_decay": 0.0})
    if cfg.get("optimizer", "adam") == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(cfg.get("momentum", 0.9)),
                               weight_decay=float(cfg.get("weight_decay", 0.0)))
    return torch.optim.Adam(groups, lr=lr, weight_decay=float(cfg.get("weight_decay", 0.0)))


def cosine(step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))


def train(model: nn.Module, data, cfg: dict[str, Any], seed: int, device: torch.device,
          log_fn: Callable[[dict], None] | None = None, quiet: bool = True, checkpoint: Path | None = None,
          after_step: Callable[[nn.Module], None] | None = None, tag: str = "") -> dict[str, Any]:
    """Train ``model`` for ``cfg['epochs']`` epochs; returns {"loss": last epoch's mean loss, "steps"}.

    ``checkpoint`` (a path): saved after every epoch (model, optimizer, generators) and resumed from
    when present. ``after_step(model)`` is called after every step (tests use it to check invariants).
    """
    model.to(device)
    epochs, bs = int(cfg["epochs"]), int(cfg["batch_size"])
    net = wrap_model(model, device)
    opt = make_optimizer(model, cfg)
    base = [g["lr"] for g in opt.param_groups]
    gen = torch.Generator().manual_seed(seed)  # batches
    rgen = torch.Generator().manual_seed(seed + 7919)  # DQ stochastic rounding (identical on all ranks)
    total = epochs * steps_per_epoch(data, bs)
    start, step, last_loss = 0, 0, float("nan")
    if checkpoint is not None and Path(checkpoint).is_file():
        st = load_checkpoint(checkpoint)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        gen.set_state(st["gen"])
        rgen.set_state(st["rgen"])
        start, step, last_loss = int(st["epoch"]), int(st["step"]), float(st["loss"])
    info = get_info()
    for epoch in range(start, epochs):
        net.train()
        tot, n = 0.0, 0
        it = progress(train_batches(data, bs, gen, int(cfg.get("num_workers", 0))),
                      total=steps_per_epoch(data, bs), desc=f"{tag} epoch {epoch + 1}/{epochs}", quiet=quiet)
        for x, y in it:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            f = cosine(step, total) if cfg.get("schedule", "cosine") == "cosine" else 1.0
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * f
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            dq_pre_step(model)
            opt.step()
            dq_post_step(model, rgen)
            if after_step is not None:
                after_step(model)
            tot += float(loss.detach()) * len(y)
            n += len(y)
            step += 1
        last_loss = all_reduce_mean({"loss": tot / max(n, 1)})["loss"]
        if log_fn is not None and info.is_main:
            log_fn({"tag": tag, "epoch": epoch + 1, "train_loss": round(last_loss, 5)})
        if checkpoint is not None and info.is_main:
            save_checkpoint(checkpoint, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                         "gen": gen.get_state(), "rgen": rgen.get_state(), "epoch": epoch + 1,
                                         "step": step, "loss": last_loss})
    return {"loss": last_loss, "steps": step}


@torch.no_grad()
def evaluate(model: nn.Module, data, device: torch.device, batch_size: int = 1000) -> float:
    """Top-1 accuracy (%) on the test set (every rank evaluates the whole set)."""
    model.eval().to(device)
    correct, n = 0, 0
    if data.x_test is not None:
        for i in range(0, data.n_test, batch_size):
            x, y = data.x_test[i: i + batch_size].to(device), data.y_test[i: i + batch_size].to(device)
            correct += int((model(x).argmax(1) == y).sum())
            n += len(y)
    else:
        from torch.utils.data import DataLoader

        for x, y in DataLoader(data.test_ds, batch_size=min(batch_size, 256)):
            correct += int((model(x.to(device)).argmax(1) == y.to(device)).sum())
            n += len(y)
    return 100.0 * correct / max(n, 1)


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i: i + batch_size]) for i in range(0, len(x), batch_size)])
