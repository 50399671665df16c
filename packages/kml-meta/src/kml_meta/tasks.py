"""Few-shot tasks: N-way K-shot classification episodes from one mode, multimodal mixtures, regression modes.

A task's support set is ``(xs, ys)`` with ``K`` images per class, its query set ``(xq, yq)`` with ``Q``
per class; labels are a random permutation of ``0..N-1`` (so no class owns an output unit), as in
MMAML's ``_make_single_batch``. Tasks are drawn from a ``numpy.random.Generator``, so a fixed seed gives
the same tasks to every method: the evaluation tasks are *paired* across methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kml_meta.data import Mode


@dataclass
class Task:
    xs: torch.Tensor
    ys: torch.Tensor
    xq: torch.Tensor
    yq: torch.Tensor
    mode: int  # index of the mode the task came from
    n_way: int

    def to(self, device) -> Task:
        return Task(self.xs.to(device), self.ys.to(device), self.xq.to(device), self.yq.to(device), self.mode,
                    self.n_way)


def sample_task(mode: Mode, split: str, n_way: int, n_shot: int, n_query: int, rng: np.random.Generator,
                mode_index: int = 0) -> Task:
    """One N-way K-shot episode from ``mode``'s meta-``split`` classes (support sorted by label)."""
    classes = rng.choice(mode.splits[split], size=n_way, replace=False)
    perm = rng.permutation(n_way)  # class classes[j] gets label perm[j]
    s_idx, q_idx, s_lab, q_lab = [], [], [], []
    for j, c in enumerate(classes):
        idx = rng.choice(mode.by_class[int(c)], size=n_shot + n_query, replace=False)
        s_idx.append(idx[:n_shot])
        q_idx.append(idx[n_shot:])
        s_lab += [perm[j]] * n_shot
        q_lab += [perm[j]] * n_query
    s_idx, q_idx = np.concatenate(s_idx), np.concatenate(q_idx)
    s_lab, q_lab = np.array(s_lab), np.array(q_lab)
    so, qo = np.argsort(s_lab, kind="stable"), np.argsort(q_lab, kind="stable")
    return Task(torch.from_numpy(mode.images[s_idx[so]]), torch.from_numpy(s_lab[so]).long(),
                torch.from_numpy(mode.images[q_idx[qo]]), torch.from_numpy(q_lab[qo]).long(), mode_index, n_way)


def sample_batch(modes: Sequence[Mode], split: str, n_tasks: int, n_way: int, n_shot: int, n_query: int,
                 rng: np.random.Generator, only_mode: int | None = None) -> list[Task]:
    """``n_tasks`` episodes, each from a mode drawn uniformly (or always ``only_mode``)."""
    out = []
    for _ in range(n_tasks):
        m = int(rng.integers(len(modes))) if only_mode is None else only_mode
        out.append(sample_task(modes[m], split, n_way, n_shot, n_query, rng, m))
    return out


def eval_tasks(modes: Sequence[Mode], per_mode: int, n_way: int, n_shot: int, n_query: int,
               seed: int) -> list[Task]:
    """The fixed meta-test episodes: ``per_mode`` from every mode, the same for every method of a seed."""
    rng = np.random.default_rng([seed, 7919])
    return [sample_task(m, "test", n_way, n_shot, n_query, rng, i)
            for i, m in enumerate(modes) for _ in range(per_mode)]


# -------------------------------------------------------------------------------------- regression modes
# Function families and parameter ranges of MMAML-Regression (vuoristo/MMAML-Regression,
# maml/datasets/simple_functions.py); x ~ U[-5, 5].
def regression_function(name: str, rng: np.random.Generator):
    if name == "sinusoid":
        a, p = rng.uniform(0.1, 5.0), rng.uniform(0, np.pi)
        return lambda x: a * np.sin(x - p)
    if name == "linear":
        s, b = rng.uniform(-3, 3), rng.uniform(-3, 3)
        return lambda x: s * x + b
    if name == "quadratic":
        c, b, a = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(0.02, 0.15) * rng.choice([-1, 1])
        return lambda x: a * (x - c) ** 2 + b
    if name == "tanh":
        c, b, s = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-3, 3)
        return lambda x: s * np.tanh(x - c) + b
    if name == "l1-norm":
        s, c, b = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-3, 3)
        return lambda x: s * np.abs(x - c) + b
    raise ValueError(f"unknown regression mode {name!r}")


def sample_regression_task(name: str, n_shot: int, n_query: int, rng: np.random.Generator, mode_index: int = 0,
                           noise_std: float = 0.0) -> Task:
    f = regression_function(name, rng)
    x = rng.uniform(-5, 5, size=(n_shot + n_query, 1))
    y = f(x) + (rng.normal(0, noise_std, size=x.shape) if noise_std > 0 else 0.0)
    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32))  # noqa: E731
    return Task(t(x[:n_shot]), t(y[:n_shot]), t(x[n_shot:]), t(y[n_shot:]), mode_index, 0)
