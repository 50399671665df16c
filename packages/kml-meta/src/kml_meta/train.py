"""Meta-training, meta-testing and the transference probe: thin loops around the learners' ``loss``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kml_meta.data import REGRESSION_MODES, Mode
from kml_meta.losses import transference
from kml_meta.tasks import Task, sample_regression_task, sample_task
from reprokit import load_checkpoint, progress, save_checkpoint
from reprokit.distributed import all_reduce_mean, get_info, is_main_process


class Benchmark:
    """The multimodal task distribution: image modes or regression modes, one task shape."""

    def __init__(self, modes: Sequence[Mode | str], task_cfg: dict[str, Any]):
        self.modes = list(modes)
        self.names = [m if isinstance(m, str) else m.name for m in self.modes]
        self.regression = all(n in REGRESSION_MODES for n in self.names)
        self.n_way = int(task_cfg["n_way"])
        self.n_shot = int(task_cfg["n_shot"])
        self.n_query = int(task_cfg["n_query"])
        self.noise = float(task_cfg.get("noise_std", 0.0))

    @property
    def in_channels(self) -> int:
        return 1 if self.regression else int(self.modes[0].images.shape[1])

    @property
    def image_size(self) -> int:
        return 0 if self.regression else int(self.modes[0].images.shape[-1])

    def sample(self, split: str, rng: np.random.Generator, mode: int | None = None) -> Task:
        m = int(rng.integers(len(self.modes))) if mode is None else mode
        if self.regression:
            return sample_regression_task(self.names[m], self.n_shot, self.n_query, rng, m, self.noise)
        return sample_task(self.modes[m], split, self.n_way, self.n_shot, self.n_query, rng, m)

    def eval_tasks(self, per_mode: int, seed: int) -> list[Task]:
        rng = np.random.default_rng([seed, 7919])
        return [self.sample("test", rng, m) for m in range(len(self.modes)) for _ in range(per_mode)]


def make_optimizer(learner: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(learner.parameters(), lr=lr)


def meta_train(learner: torch.nn.Module, bench: Benchmark, cfg: dict[str, Any], seed: int, device,
               ckpt: Path | None = None, quiet: bool = True, desc: str = "",
               log: Callable[[dict], None] | None = None,
               probe: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Adam on the mean query loss of ``meta_batch`` tasks per iteration (lr halved every ``lr_halve_every``).

    Tasks come from ``np.random.default_rng([seed, it])``: the same stream for every method of a seed, and
    a resumed run draws exactly the tasks the killed one would have. ``ckpt`` is written every
    ``checkpoint_every`` iterations (atomically) and read back when present.
    """
    t = cfg["train"]
    iters, mb = int(t["iterations"]), int(t["meta_batch"])
    opt = make_optimizer(learner, float(t["lr"]))
    start, history = 0, []
    if ckpt is not None and ckpt.is_file():
        state = load_checkpoint(ckpt)
        learner.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, history = int(state["iteration"]), list(state.get("history", []))
    halve = int(t.get("lr_halve_every", 0) or 0)
    every = int(t.get("checkpoint_every", 0) or 0)
    t0 = time.time()
    learner.train()
    info = get_info()  # under torchrun each rank takes every world_size-th task of the meta-batch
    for it in progress(range(start, iters), quiet=quiet, desc=desc, initial=start, total=iters):
        if halve and it > 0 and it % halve == 0:
            for g in opt.param_groups:
                g["lr"] *= 0.5
        if probe is not None:
            probe(it)
        rng = np.random.default_rng([seed, 104729, it])
        tasks = [bench.sample("train", rng).to(device) for _ in range(mb)][info.rank::info.world_size]
        opt.zero_grad(set_to_none=True)
        losses, accs = [], []
        for task in tasks:
            loss, acc = learner.loss(task, training=True)
            (loss / mb).backward()
            losses.append(float(loss.detach()))
            accs.append(float(acc))
        if info.enabled:
            all_reduce_grads(learner)
        opt.step()
        row = {"loss": float(np.mean(losses)) if losses else 0.0, "acc": float(np.mean(accs)) if accs else 0.0}
        if info.enabled:
            row = all_reduce_mean(row)
        history.append([row["loss"], row["acc"]])
        if log is not None and (it % max(1, iters // 10) == 0 or it == iters - 1):
            log({"event": "train", "method": desc, "iteration": it, "loss": history[-1][0], "acc": history[-1][1]})
        if ckpt is not None and every and (it + 1) % every == 0 and it + 1 < iters and info.is_main:
            save_checkpoint(ckpt, {"model": learner.state_dict(), "optimizer": opt.state_dict(),
                                   "iteration": it + 1, "history": history})
    if probe is not None:
        probe(iters)
    return {"history": history, "train_s": time.time() - t0}


def all_reduce_grads(learner: torch.nn.Module) -> None:
    """Sum the ranks' gradients (each already divided by the global meta-batch): the mean over all tasks.

    A parameter no rank touched (another mode's Multi-MAML learner) keeps ``grad = None``, so Adam skips it
    exactly as in one process.
    """
    import torch.distributed as dist

    params = list(learner.parameters())
    has = torch.tensor([float(p.grad is not None) for p in params])
    dist.all_reduce(has)
    for p, h in zip(params, has.tolist()):
        if h > 0:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad)


def evaluate(learner: torch.nn.Module, tasks: Sequence[Task], device) -> np.ndarray:
    """Per-task query accuracy (classification) or −MSE (regression) after adaptation, in task order."""
    learner.eval()
    out = np.empty(len(tasks))
    with torch.no_grad():
        for i, task in enumerate(tasks):
            _, acc = learner.loss(task.to(device), training=False)
            out[i] = float(acc)
    learner.train()
    return out


def transference_matrix(learner: torch.nn.Module, tasks: Sequence[Task], lr: float, device) -> np.ndarray:
    """Z[i, j] = 1 − L_j(θ − η∇L_i(θ)) / L_j(θ) between the given tasks at the learner's current θ."""
    tasks = [t.to(device) for t in tasks]
    params = {k: v.detach().requires_grad_() for k, v in learner.param_dict().items()}

    def loss_fn(p, j):
        return learner.loss(tasks[j], p, training=True)[0]

    return transference(loss_fn, params, len(tasks), lr).numpy()


def save_learner(path: Path, learner: torch.nn.Module, algo: str, meta: dict[str, Any]) -> None:
    if not is_main_process():
        return
    save_checkpoint(path, {"kind": "kml-meta-learner", "algo": algo, "model": learner.state_dict(), **meta})
