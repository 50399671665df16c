"""Baselines in the same harness: InfoGraph, GraphCL (own PyG implementations) and WL subtree histograms.

InfoGraph: Sun, Hoffmann, Verma, Tang, "InfoGraph: Unsupervised and Semi-supervised Graph-Level
Representation Learning via Mutual Information Maximization", ICLR 2020.
GraphCL: You, Chen, Sui, Chen, Wang, Shen, "Graph Contrastive Learning with Augmentations", NeurIPS 2020.
WL: Shervashidze et al., "Weisfeiler-Lehman Graph Kernels", JMLR 2011 (subtree features, explicit map).
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import global_add_pool
from torch_geometric.utils import dropout_edge, subgraph

from deepgcfx.losses import jsd_local_global, nt_xent
from deepgcfx.models import GINEncoder


class FF(nn.Module):
    """InfoGraph's discriminator head: 3-layer ReLU MLP plus a linear shortcut."""

    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(),
                                   nn.Linear(dim, dim), nn.ReLU())
        self.shortcut = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + self.shortcut(x)


class InfoGraph(nn.Module):
    """GIN encoder; node patch = concat of all layers' node features, graph = concat of their sum pools;
    trained by maximising the JSD MI between each graph and its own nodes (losses.jsd_local_global)."""

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.encoder = GINEncoder(in_dim, hidden, layers)
        self.local_d, self.global_d = FF(hidden * layers), FF(hidden * layers)

    def encode(self, data) -> tuple[Tensor, Tensor]:
        _, xs = self.encoder(data.x, data.edge_index)
        node = torch.cat(xs, -1)
        graph = torch.cat([global_add_pool(x, data.batch, size=data.num_graphs) for x in xs], -1)
        return node, graph

    def training_loss(self, data) -> dict[str, Tensor]:
        node, graph = self.encode(data)
        loss = jsd_local_global(self.local_d(node), self.global_d(graph), data.batch)
        return {"loss": loss}

    @torch.no_grad()
    def embed(self, data) -> dict[str, Tensor]:
        return {"graph": self.encode(data)[1]}


# ---------------------------------------------------------------------------------------------
# GraphCL augmentations on a PyG batch
# ---------------------------------------------------------------------------------------------
def drop_nodes(data, p: float, generator: torch.Generator | None = None):
    """Remove each node with probability p (the first node of every graph is always kept)."""
    keep = torch.rand(data.num_nodes, generator=generator) >= p
    first = torch.ones_like(keep)
    first[1:] = data.batch[1:] != data.batch[:-1]
    keep |= first
    ei, _ = subgraph(keep, data.edge_index, relabel_nodes=True, num_nodes=data.num_nodes)
    return Data(x=data.x[keep], edge_index=ei, batch=data.batch[keep], num_graphs=data.num_graphs)


def drop_edges(data, p: float, generator: torch.Generator | None = None):
    """Remove each undirected edge with probability p (GraphCL's edge perturbation, removal half)."""
    ei, _ = dropout_edge(data.edge_index, p=p, force_undirected=True)
    return Data(x=data.x, edge_index=ei, batch=data.batch, num_graphs=data.num_graphs)


def mask_features(data, p: float, generator: torch.Generator | None = None):
    """Zero the features of each node with probability p (GraphCL's attribute masking)."""
    keep = (torch.rand(data.num_nodes, 1, generator=generator) >= p).to(data.x.dtype)
    return Data(x=data.x * keep, edge_index=data.edge_index, batch=data.batch, num_graphs=data.num_graphs)


AUGMENTATIONS = (drop_nodes, drop_edges, mask_features)


class GraphCL(nn.Module):
    """GIN encoder (graph = concat of sum pools) + projection head, trained by NT-Xent between two
    randomly augmented views of each graph (augmentation drawn per batch from node dropping, edge
    dropping and attribute masking, strength ``p``)."""

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 3, p: float = 0.2, temperature: float = 0.2):
        super().__init__()
        self.encoder = GINEncoder(in_dim, hidden, layers)
        self.proj = nn.Sequential(nn.Linear(hidden * layers, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.p, self.temperature = p, temperature

    def encode(self, data) -> Tensor:
        _, xs = self.encoder(data.x, data.edge_index)
        return torch.cat([global_add_pool(x, data.batch, size=data.num_graphs) for x in xs], -1)

    def training_loss(self, data) -> dict[str, Tensor]:
        picks = torch.randint(len(AUGMENTATIONS), (2,)).tolist()
        v1, v2 = (AUGMENTATIONS[i](data, self.p) for i in picks)
        return {"loss": nt_xent(self.proj(self.encode(v1)), self.proj(self.encode(v2)), self.temperature)}

    @torch.no_grad()
    def embed(self, data) -> dict[str, Tensor]:
        return {"graph": self.encode(data)}


# ---------------------------------------------------------------------------------------------
# non-learned baseline: Weisfeiler–Lehman subtree histograms
# ---------------------------------------------------------------------------------------------
def _h(s: str) -> str:
    return hashlib.blake2b(s.encode(), digest_size=8).hexdigest()


def wl_features(graphs: list[Data], iterations: int = 3) -> np.ndarray:
    """Explicit WL subtree feature map: counts of every label seen in rounds 0..h, L2-normalised rows.

    Round 0 labels are the node feature rows (hashed); round t: ℓ_t(v) = hash(ℓ_{t−1}(v), sorted{ℓ_{t−1}(u)}).
    The inner product of two rows is the (normalised) WL subtree kernel k_WL(G, G').
    """
    counts: list[Counter] = []
    for g in graphs:
        x = g.x.numpy() if g.x is not None else np.ones((g.num_nodes, 1))
        labels = [_h(r.tobytes().hex()) for r in np.ascontiguousarray(x, dtype=np.float32)]
        nbrs: list[list[int]] = [[] for _ in range(g.num_nodes)]
        for s, t in g.edge_index.t().tolist():
            nbrs[s].append(t)
        c = Counter(f"0:{lab}" for lab in labels)
        for it in range(1, iterations + 1):
            labels = [_h(labels[v] + "|" + ",".join(sorted(labels[u] for u in nbrs[v]))) for v in range(g.num_nodes)]
            c.update(f"{it}:{lab}" for lab in labels)
        counts.append(c)
    vocab = {k: i for i, k in enumerate(sorted(set().union(*counts)))}
    X = np.zeros((len(graphs), len(vocab)), dtype=np.float64)
    for i, c in enumerate(counts):
        for k, v in c.items():
            X[i, vocab[k]] = v
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
