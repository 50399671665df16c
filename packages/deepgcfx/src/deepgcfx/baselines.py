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
from torch_geometric.utils import subgraph

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
        graph = self.encode(data)[1]
        return {"graph": graph, "matched": graph}  # its own readout is the matched one


# ---------------------------------------------------------------------------------------------
# GraphCL augmentations, one graph at a time (as the reference draws them per graph, strength p = 10%)
# ---------------------------------------------------------------------------------------------
def _n_changed(n: int, p: float) -> int:
    return int(n * p)


def drop_nodes(g: Data, p: float, generator: torch.Generator | None = None) -> Data:
    """Remove ⌊p·n⌋ nodes drawn uniformly (and their edges); at least one node stays."""
    n = g.num_nodes
    k = min(_n_changed(n, p), n - 1)
    keep = torch.ones(n, dtype=torch.bool)
    keep[torch.randperm(n, generator=generator)[:k]] = False
    ei, _ = subgraph(keep, g.edge_index, relabel_nodes=True, num_nodes=n)
    return Data(x=g.x[keep], edge_index=ei, num_nodes=int(keep.sum()))


def perturb_edges(g: Data, p: float, generator: torch.Generator | None = None) -> Data:
    """Remove ⌊p·m⌋ of the m undirected edges drawn uniformly (GraphCL's edge perturbation as its
    unsupervised TU code runs it: removal only)."""
    ei = g.edge_index
    und = ei[:, ei[0] < ei[1]]
    m = und.size(1)
    keep = torch.randperm(m, generator=generator)[: m - _n_changed(m, p)]
    kept = und[:, keep]
    return Data(x=g.x, edge_index=torch.cat([kept, kept.flip(0)], 1), num_nodes=g.num_nodes)


def subgraph_aug(g: Data, p: float, generator: torch.Generator | None = None) -> Data:
    """Keep a connected-as-possible subgraph of ⌈(1 − p)·n⌉ nodes grown from a random node by adding random
    neighbours of the nodes kept so far (a random node when the frontier is empty). The reference grows its
    subgraph by neighbour expansion too; its exact draw order is not replicated."""
    n = g.num_nodes
    target = max(1, n - _n_changed(n, p))
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for s, t in g.edge_index.t().tolist():
        nbrs[s].append(t)
    order = torch.randperm(n, generator=generator).tolist()
    kept, frontier = {order[0]}, set(nbrs[order[0]])
    while len(kept) < target:
        cand = sorted(frontier - kept) or [v for v in order if v not in kept]
        v = cand[int(torch.randint(len(cand), (1,), generator=generator))]
        kept.add(v)
        frontier |= set(nbrs[v])
    mask = torch.zeros(n, dtype=torch.bool)
    mask[list(kept)] = True
    ei, _ = subgraph(mask, g.edge_index, relabel_nodes=True, num_nodes=n)
    return Data(x=g.x[mask], edge_index=ei, num_nodes=int(mask.sum()))


def mask_features(g: Data, p: float, generator: torch.Generator | None = None) -> Data:
    """Replace the features of ⌊p·n⌋ nodes with N(0.5, 0.5²) noise (the reference's attribute masking)."""
    n = g.num_nodes
    idx = torch.randperm(n, generator=generator)[: _n_changed(n, p)]
    x = g.x.clone()
    x[idx] = 0.5 + 0.5 * torch.randn(len(idx), x.size(1), generator=generator)
    return Data(x=x, edge_index=g.edge_index, num_nodes=n)


AUGMENTATIONS = (drop_nodes, perturb_edges, subgraph_aug, mask_features)


def with_self_loops(data):
    """The graph (or batch) with one self-loop per node, as the reference GraphCL encoder sees it."""
    from torch_geometric.utils import add_self_loops, remove_self_loops

    ei, _ = remove_self_loops(data.edge_index)
    out = data.clone()
    out.edge_index = add_self_loops(ei, num_nodes=data.num_nodes)[0]
    return out


def augment_batch(data, p: float, generator: torch.Generator | None = None):
    """Each graph of the batch gets its own augmentation, drawn uniformly from :data:`AUGMENTATIONS`."""
    from torch_geometric.data import Batch

    graphs = []
    for g in data.to_data_list():
        aug = AUGMENTATIONS[int(torch.randint(len(AUGMENTATIONS), (1,), generator=generator))]
        graphs.append(aug(Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes), p, generator))
    return Batch.from_data_list(graphs)


class GraphCL(nn.Module):
    """GIN encoder (graph = concat of every layer's sum pool, dim E = layers·hidden) + projection head
    E→E→E, trained by NT-Xent between each original graph and one augmented view of it; the augmentation
    is drawn per graph from node dropping, edge perturbation, subgraph and attribute masking with strength
    ``p`` (reference: 10%), and the encoder sees self-loops (Shen-Lab/GraphCL, unsupervised_TU)."""

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 3, p: float = 0.1, temperature: float = 0.2):
        super().__init__()
        self.encoder = GINEncoder(in_dim, hidden, layers)
        emb = hidden * layers
        self.proj = nn.Sequential(nn.Linear(emb, emb), nn.ReLU(), nn.Linear(emb, emb))
        self.p, self.temperature = p, temperature

    def encode(self, data) -> Tensor:
        data = with_self_loops(data)
        _, xs = self.encoder(data.x, data.edge_index)
        return torch.cat([global_add_pool(x, data.batch, size=data.num_graphs) for x in xs], -1)

    def training_loss(self, data) -> dict[str, Tensor]:
        view = augment_batch(data, self.p).to(data.x.device)
        return {"loss": nt_xent(self.proj(self.encode(data)), self.proj(self.encode(view)), self.temperature)}

    @torch.no_grad()
    def embed(self, data) -> dict[str, Tensor]:
        graph = self.encode(data)
        return {"graph": graph, "matched": graph}


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
