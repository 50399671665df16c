"""One thin training loop for every model (deepGCFX, InfoGraph, GraphCL), resumable per epoch."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from deepgcfx.baselines import GraphCL, InfoGraph
from deepgcfx.models import DeepGCFX
from reprokit import UsageError, load_checkpoint, progress, save_checkpoint
from reprokit.distributed import all_reduce_mean, is_main_process, shard_sampler, wrap_model

log = logging.getLogger("deepgcfx")

METHODS = ("deepgcfx", "infograph", "graphcl")


def build_model(method: str, in_dim: int, cfg: dict) -> nn.Module:
    """A model by name with ``cfg['hidden']``, ``cfg['layers']`` and the method's own options."""
    hidden, layers = int(cfg["hidden"]), int(cfg["layers"])
    if method == "deepgcfx":
        return DeepGCFX(in_dim, hidden, cfg.get("latent") or hidden, layers, iters=int(cfg.get("iters", 2)),
                        graph_kl_weight=float(cfg.get("graph_kl_weight", 0.1)),
                        feat_weight=float(cfg.get("feat_weight", 0.0)), official=bool(cfg.get("official", False)))
    if method == "infograph":
        return InfoGraph(in_dim, hidden, layers)
    if method == "graphcl":
        return GraphCL(in_dim, hidden, layers, p=float(cfg.get("aug_p", 0.1)),
                       temperature=float(cfg.get("temperature", 0.2)))
    raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


class _Objective(nn.Module):
    """``forward(batch) = model.training_loss(batch)``, so DistributedDataParallel can wrap any model here."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, data) -> dict:
        return self.model.training_loss(data)


def fit(model: nn.Module, graphs: list[Data], *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
        seed: int = 0, device: torch.device | str = "cpu", checkpoint: Path | None = None, quiet: bool = True,
        desc: str = "train", on_epoch: Callable[[dict], None] | None = None,
        keep_best: bool = False) -> list[float]:
    """Adam on ``model.training_loss`` over shuffled mini-batches; returns the mean loss of each epoch.

    Seeds torch and Python's ``random``. With ``checkpoint`` the model, optimiser, RNG states and history
    are saved atomically after every epoch, and an existing checkpoint is continued from where it stopped
    (same numbers as an uninterrupted run). Under ``torchrun`` the model is wrapped in DDP (through reprokit),
    each rank trains on its shard of the graphs, the logged loss is averaged over ranks and only rank 0
    writes the checkpoint. ``keep_best`` (deepGCFX's official mode) ends with the weights of the epoch whose
    reconstruction loss (the ``recon_*`` parts; the whole loss for models without them) was lowest.
    """
    device = torch.device(device)
    model.to(device)
    objective = wrap_model(_Objective(model), device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    gen = torch.Generator().manual_seed(seed)
    history: list[float] = []
    start = 0
    best: tuple[float, dict] | None = None
    if checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["rng"])
        random.setstate(state["py_rng"])
        history, start, best = state["history"], state["epoch"], state.get("best")
        log.info("%s: resumed at epoch %d from %s", desc, start, checkpoint)
    else:
        torch.manual_seed(seed)
        random.seed(seed)
    sampler = shard_sampler(graphs, shuffle=True, seed=seed)
    loader = DataLoader(graphs, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                        generator=gen if sampler is None else None)
    main = is_main_process()
    bar = progress(range(start, epochs), quiet=quiet, desc=desc, initial=start, total=epochs)
    for epoch in bar:
        if sampler is not None:
            sampler.set_epoch(epoch)
        objective.train()
        t0, total, recon, n = time.perf_counter(), 0.0, 0.0, 0
        for data in loader:
            data = data.to(device)
            opt.zero_grad()
            parts = objective(data)
            parts["loss"].backward()
            opt.step()
            total += float(parts["loss"].detach()) * data.num_graphs
            rec = [v for k, v in parts.items() if k.startswith("recon_")]
            recon += float(sum(rec).detach() if rec else parts["loss"].detach()) * data.num_graphs
            n += data.num_graphs
        if keep_best and (best is None or recon / max(n, 1) < best[0]):
            best = (recon / max(n, 1), {k: v.detach().clone() for k, v in model.state_dict().items()})
        history.append(all_reduce_mean({"loss": total / max(n, 1)})["loss"])
        if not np.isfinite(history[-1]):
            raise FloatingPointError(f"{desc}: loss became {history[-1]} at epoch {epoch + 1}")
        bar.set_postfix(loss=f"{history[-1]:.4f}")
        if on_epoch is not None and main:
            on_epoch({"epoch": epoch + 1, "loss": history[-1], "recon": recon / max(n, 1),
                      "epoch_s": time.perf_counter() - t0})
        if checkpoint is not None and main:
            save_checkpoint(checkpoint, {"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                                         "rng": torch.get_rng_state(), "py_rng": random.getstate(),
                                         "history": history, "epoch": epoch + 1, "best": best})
    if best is not None:
        model.load_state_dict(best[1])
    return history


@torch.no_grad()
def embed(model: nn.Module, graphs: list[Data], batch_size: int = 256,
          device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """Run ``model.embed`` in evaluation mode over all graphs (in order); one array per view."""
    model.eval().to(device)
    chunks: dict[str, list[np.ndarray]] = {}
    for data in DataLoader(graphs, batch_size=batch_size, shuffle=False):
        for k, v in model.embed(data.to(device)).items():
            chunks.setdefault(k, []).append(v.cpu().numpy())
    return {k: np.concatenate(v) for k, v in chunks.items()}
