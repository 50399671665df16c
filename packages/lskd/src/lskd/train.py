"""Training loops: an LS teacher (:func:`train_teacher`) and a KD student (:func:`train_student`), both on
one thin :func:`fit` that checkpoints every epoch (atomic) and resumes from the last one.

Data parallel under ``torchrun`` through reprokit (DDP, gloo on CPU): the model is wrapped, the
sampler sharded, and only rank 0 writes checkpoints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lskd.losses import label_smoothing_loss, student_loss
from reprokit import load_checkpoint, progress, save_checkpoint
from reprokit.distributed import barrier, get_info, is_main_process, shard_sampler, wrap_model

LogFn = Callable[[dict[str, Any]], None]


def make_optimizer(model: nn.Module, ocfg: dict[str, Any], epochs: int, steps_per_epoch: int):
    """SGD (momentum, weight decay) or Adam; per-step LR: linear warm-up, then step decay or cosine.

    ``ocfg``: name, lr, momentum, weight_decay, schedule (step|cosine|constant), milestones (epochs),
    gamma, warmup_epochs — the paper's ImageNet teacher is sgd 0.1, ÷10 at 30/60, 90 epochs.
    """
    name = ocfg.get("name", "sgd")
    lr, wd = float(ocfg.get("lr", 0.1)), float(ocfg.get("weight_decay", 0.0))
    if name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=float(ocfg.get("momentum", 0.9)), weight_decay=wd,
                              nesterov=bool(ocfg.get("nesterov", False)))
    elif name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose sgd or adam")
    schedule = ocfg.get("schedule", "step")
    milestones = [int(m) * steps_per_epoch for m in ocfg.get("milestones", [])]
    gamma, warm = float(ocfg.get("gamma", 0.1)), int(float(ocfg.get("warmup_epochs", 0)) * steps_per_epoch)
    total = max(1, epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
        if schedule == "step":
            return gamma ** sum(step >= m for m in milestones)
        return 1.0

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def make_loader(ds: Dataset, batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                num_workers: int = 0) -> DataLoader:
    """A DataLoader whose shuffling depends only on (seed, epoch), so a resumed run sees the same batches."""
    sampler = shard_sampler(ds, shuffle=shuffle, seed=seed)
    if sampler is not None:
        sampler.set_epoch(epoch)
        return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers)
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers)


def epoch_batches(ds: Dataset, batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                  num_workers: int = 0, tensors: tuple[torch.Tensor, torch.Tensor] | None = None):
    """The batches ``(x, y, i)`` of one epoch: cut from in-memory ``tensors`` (``data.in_memory``) when
    given and not under torchrun, else from :func:`make_loader`. Both give the same batches in the same
    order: the in-memory path draws its permutation exactly as the DataLoader's RandomSampler does from
    the same generator (one int64 for the worker base seed first, then ``randperm``)."""
    if tensors is None or get_info().enabled:
        yield from make_loader(ds, batch_size, shuffle=shuffle, seed=seed, epoch=epoch, num_workers=num_workers)
        return
    x, y = tensors
    n = len(y)
    if shuffle:
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        torch.empty((), dtype=torch.int64).random_(generator=gen)  # the DataLoader's base-seed draw
        order = torch.randperm(n, generator=gen)
    else:
        order = torch.arange(n)
    for idx in order.split(batch_size):
        yield x[idx], y[idx], idx


def fit(model: nn.Module, train_ds: Dataset, batch_loss: Callable[[nn.Module, tuple], torch.Tensor],
        cfg: dict[str, Any], device: torch.device, *, seed: int, ckpt_path: str | Path | None = None,
        name: str = "train", quiet: bool = True, log: LogFn | None = None,
        tensors: tuple[torch.Tensor, torch.Tensor] | None = None,
        evaluate: Callable[[nn.Module], float] | None = None) -> dict[str, Any]:
    """Minimise ``batch_loss(model, (x, y, i))`` for ``cfg['epochs']`` epochs; resume from ``ckpt_path``.
    ``tensors`` (the in-memory training set) replaces the DataLoader with identical batches.
    ``evaluate(model)`` after every epoch gives ``acc_per_epoch`` (the official runs report the best epoch).

    Returns ``{"epochs", "final_loss", "train_time_s"}``. The checkpoint holds model, optimizer,
    scheduler and RNG state after each finished epoch.
    """
    epochs, bs = int(cfg["epochs"]), int(cfg.get("batch_size", 128))
    steps = max(1, math.ceil(len(train_ds) / (bs * get_info().world_size)))
    model.to(device)
    opt, sched = make_optimizer(model, cfg["optim"], epochs, steps)
    start, history, elapsed, accs = 0, [], 0.0, []
    if ckpt_path is not None and Path(ckpt_path).is_file():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        start, history, elapsed = state["epoch"], state["history"], state.get("train_time_s", 0.0)
        accs = state.get("acc_per_epoch", [])
    net = wrap_model(model, device)
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        net.train()
        total, n = 0.0, 0
        loader = epoch_batches(train_ds, bs, shuffle=True, seed=seed, epoch=epoch,
                               num_workers=int(cfg.get("num_workers", 0)), tensors=tensors)
        for batch in progress(loader, quiet=quiet, desc=f"{name} {epoch + 1}/{epochs}", total=steps):
            batch = tuple(b.to(device, non_blocking=True) if torch.is_tensor(b) else b for b in batch)
            loss = batch_loss(net, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{name}: loss became {loss.item()} at epoch {epoch + 1}; lower the lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(batch[0])
            n += len(batch[0])
        elapsed += time.perf_counter() - t0
        history.append(total / max(n, 1))
        if evaluate is not None:
            accs.append(evaluate(model))
        if log is not None and is_main_process():
            log({"phase": name, "epoch": epoch + 1, "loss": history[-1], "lr": sched.get_last_lr()[0],
                 **({"test_acc": accs[-1]} if evaluate is not None else {})})
        if ckpt_path is not None and is_main_process():
            save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                        "scheduler": sched.state_dict(), "rng": torch.get_rng_state(),
                                        "epoch": epoch + 1, "history": history, "train_time_s": elapsed,
                                        "acc_per_epoch": accs})
        barrier()
    return {"epochs": epochs, "final_loss": history[-1] if history else float("nan"), "loss_history": history,
            "train_time_s": elapsed, "acc_per_epoch": accs}


def train_teacher(model: nn.Module, train_ds: Dataset, alpha: float, cfg: dict[str, Any], device: torch.device,
                  *, seed: int, ckpt_path: str | Path | None = None, quiet: bool = True,
                  log: LogFn | None = None, tensors: tuple[torch.Tensor, torch.Tensor] | None = None,
                  evaluate: Callable[[nn.Module], float] | None = None) -> dict[str, Any]:
    """Train a teacher with label smoothing α (α = 0: plain cross-entropy)."""

    def batch_loss(net: nn.Module, batch: tuple) -> torch.Tensor:
        x, y = batch[0], batch[1]
        return label_smoothing_loss(net(x), y, alpha)

    return fit(model, train_ds, batch_loss, cfg, device, seed=seed, ckpt_path=ckpt_path,
               name=f"teacher α={alpha:g}", quiet=quiet, log=log, tensors=tensors, evaluate=evaluate)


@torch.no_grad()
def compute_logits(model: nn.Module, ds: Dataset, device: torch.device, batch_size: int = 256,
                   tensors: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Logits of ``model`` on every item of ``ds`` in dataset order, (N, K) on the CPU (eval mode)."""
    model.eval().to(device)
    batches = (x for x, *_ in DataLoader(ds, batch_size=batch_size, shuffle=False)) if tensors is None \
        else tensors[0].split(batch_size)
    return torch.cat([model(x.to(device)).float().cpu() for x in batches])


def train_student(student: nn.Module, train_ds: Dataset, temperature: float, cfg: dict[str, Any],
                  device: torch.device, *, teacher: nn.Module | None = None,
                  cached_logits: torch.Tensor | None = None, seed: int, ckpt_path: str | Path | None = None,
                  quiet: bool = True, log: LogFn | None = None,
                  tensors: tuple[torch.Tensor, torch.Tensor] | None = None,
                  evaluate: Callable[[nn.Module], float] | None = None) -> dict[str, Any]:
    """Distil into ``student`` at temperature T: online (``teacher`` forward each batch) or offline
    (``cached_logits[i]`` for item i — exact only when training inputs are not augmented).

    ``cfg['kd']`` is ``pure`` (T²·KL, the paper) or ``mixture`` ((1−λ)·CE + λ·T²·KL, λ = cfg['kd_weight']).
    """
    if (teacher is None) == (cached_logits is None):
        raise ValueError("give exactly one of teacher (online KD) or cached_logits (offline KD)")
    mode, weight = cfg.get("kd", "pure"), float(cfg.get("kd_weight", 1.0))
    if teacher is not None:
        teacher.eval().to(device)
        for p in teacher.parameters():
            p.requires_grad_(False)
    else:
        cached_logits = cached_logits.to(device)

    def batch_loss(net: nn.Module, batch: tuple) -> torch.Tensor:
        x, y, i = batch
        if teacher is not None:
            with torch.no_grad():
                t = teacher(x)
        else:
            t = cached_logits[i]
        return student_loss(net(x), t, y, temperature, mode, weight)

    return fit(student, train_ds, batch_loss, cfg, device, seed=seed, ckpt_path=ckpt_path,
               name=f"student T={temperature:g}", quiet=quiet, log=log, tensors=tensors, evaluate=evaluate)
