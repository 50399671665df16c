"""deepGCFX (Cooray & Cheung, AAAI 2022, Sec. 4) in PyTorch Geometric.

    x ──GIN──► h ──accumulation──► slot (graph-wise common), m⊙v (common node parts), (1−m)⊙v (local parts)
                                    │                         │                         │
                               graph Gaussian            node Gaussian (shared) ◄───────┘
                                    │                         │
                               z_common ──repeat──► gated fusion([z_common, z_local]) ──► edge decoder
                                                   z_common-node ────────────────────────► edge decoder

Every model here has ``training_loss(batch) -> dict`` and ``embed(batch) -> dict[str, Tensor]`` so one
trainer (train.py) and one evaluator (evaluate.py) serve deepGCFX and the baselines alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm
from torch_geometric.nn import GINConv, global_add_pool, global_mean_pool

from deepgcfx.losses import (
    deepgcfx_loss,
    edge_recon_loss,
    gather_rows,
    kl_std_normal,
    reparameterize,
    sample_negative_edges,
)

LOG_SIGMA_RANGE = (-8.0, 4.0)


class GINEncoder(nn.Module):
    """GIN (Xu et al. 2019): h^{l+1} = BN(ReLU(MLP((1+ε)·h^l_i + Σ_{j∈N(i)} h^l_j))), MLP = Linear–ReLU–Linear.

    Returns the last layer's node features and the list of every layer's node features.
    """

    def __init__(self, in_dim: int, hidden: int, layers: int = 3):
        super().__init__()
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        for i in range(layers):
            mlp = nn.Sequential(nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            self.convs.append(GINConv(mlp))
            self.bns.append(nn.BatchNorm1d(hidden))

    def forward(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, list[Tensor]]:
        xs = []
        for conv, bn in zip(self.convs, self.bns):
            x = bn(F.relu(conv(x, edge_index)))
            xs.append(x)
        return x, xs


def matched_readout(encoder: GINEncoder, data) -> Tensor:
    """The InfoGraph/GraphCL readout of any GIN encoder: every layer's node features sum-pooled per graph and
    concatenated ([B, layers · hidden]). Applied to every method's encoder, it gives embeddings of equal
    dimension from the same readout, so that readout and method can be told apart."""
    _, xs = encoder(data.x, data.edge_index)
    return pool_layers(xs, data)


def pool_layers(xs: list[Tensor], data) -> Tensor:
    """``matched_readout`` from the encoder's layer outputs ``xs`` already computed on ``data``."""
    return torch.cat([global_add_pool(x, data.batch, size=data.num_graphs) for x in xs], -1)


class _StraightThrough(torch.autograd.Function):
    """Forward: the exact hard 0/1 mask; backward: the gradient of the soft mask (straight-through)."""

    @staticmethod
    def forward(ctx, hard: Tensor, soft: Tensor) -> Tensor:
        return hard

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor]:
        return None, grad


class Accumulation(nn.Module):
    """The accumulation step (paper Sec. 4.1; official code's Summary_Maker, slot attention with one slot).

    Per graph one slot s ~ μ_s + exp(log σ_s)·ε (μ_s at evaluation). With k, v = W_k·LN(h), W_v·LN(h) and
    q = W_q·LN(s), each node gets a scalar threshold w_i = σ(MLP([k_i, q_{g(i)}])) and an element-wise hard mask

        m_i = 1[σ(k_i) ≥ w_i]            (straight-through gradient from σ((σ(k_i) − w_i)/τ))

    that splits its value into a common part m_i⊙v_i and a local part (1 − m_i)⊙v_i (the two sum to v_i).
    The common parts of graph g, summed, update its slot: s ← GRU(Σ_{i∈g} m_i⊙v_i, s); s ← s + MLP(LN(s)).
    After ``iters`` rounds the mask is computed once more from the final slot, and LN(s) is returned as the
    graph-wise common factor evidence (as in the official code). The official mask has no gradient (its
    threshold network is never trained); the straight-through estimator here lets it learn.

    The threshold MLP's first layer on the concatenation is computed as W_k·k_i + W_q·q_{g(i)} (the same linear
    map, split), so the k half is done once for all rounds and the q half once per graph instead of per node.
    """

    def __init__(self, dim: int, iters: int = 2, tau: float = 0.1, official: bool = False):
        super().__init__()
        self.iters, self.tau, self.official = iters, tau, official
        self.slot_mu = nn.Parameter(torch.randn(1, dim) * dim**-0.5)
        # official: σ_s starts at 1 (log σ = 0) and the slot is sampled at evaluation too
        self.slot_log_sigma = nn.Parameter(torch.full((1, dim), 0.0 if official else -2.0))
        self.norm_in, self.norm_slot, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.to_q, self.to_k, self.to_v = (nn.Linear(dim, dim) for _ in range(3))
        self.thr_k, self.thr_q = nn.Linear(dim, dim), nn.Linear(dim, dim, bias=False)  # = Linear(2·dim, dim) on [k, q]
        self.thr_out = nn.Linear(dim, 1)
        self.gru = nn.GRUCell(dim, dim)
        mlp_hidden = max(dim, 128) if official else dim  # the official slot MLP's hidden width
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_hidden), nn.ReLU(), nn.Linear(mlp_hidden, dim))

    def mask(self, k: Tensor, q: Tensor, batch: Tensor, k_proj: Tensor | None = None,
             gate: Tensor | None = None) -> Tensor:
        """Hard 0/1 mask m = 1[σ(k) ≥ σ(MLP([k, q_{g(i)}]))] with a straight-through sigmoid gradient.

        ``k_proj`` = thr_k(k) and ``gate`` = σ(k) may be passed in (they do not change across rounds)."""
        k_proj = self.thr_k(k) if k_proj is None else k_proj
        w = torch.sigmoid(self.thr_out(F.relu(k_proj + gather_rows(self.thr_q(q), batch))))  # [N, 1]: per node
        gate = torch.sigmoid(k) if gate is None else gate
        hard = (gate >= w).to(k.dtype)
        if self.official:  # the official mask carries no gradient: its threshold network is never trained
            return hard.detach()
        soft = torch.sigmoid((gate - w) / self.tau)
        return _StraightThrough.apply(hard, soft)

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Return (LN(slot) [B, D], common node parts [N, D], local node parts [N, D], mask [N, D])."""
        h = self.norm_in(h)
        k, v = self.to_k(h), self.to_v(h)
        k_proj, gate = self.thr_k(k), torch.sigmoid(k)  # the same in every round: computed once
        slot = self.slot_mu.expand(num_graphs, -1)
        if self.training or self.official:
            slot = slot + torch.exp(self.slot_log_sigma) * torch.randn_like(slot)
        for _ in range(self.iters):
            m = self.mask(k, self.to_q(self.norm_slot(slot)), batch, k_proj, gate)
            pooled = global_add_pool(m * v, batch, size=num_graphs)
            slot = self.gru(pooled, slot)
            slot = slot + self.mlp(self.norm_mlp(slot))
        slot = self.norm_slot(slot)
        m = self.mask(k, self.to_q(slot), batch, k_proj, gate)
        common = m * v
        return slot, common, v - common, m   # v − m⊙v = (1 − m)⊙v exactly, m being 0/1


class GaussianHead(nn.Module):
    """q(z | h) = N(μ(h), diag σ(h)²) with μ = W_μ h and log σ = clamp(W_σ h) (see losses.py for why log σ)."""

    def __init__(self, dim: int, latent: int):
        super().__init__()
        self.mu = nn.Linear(dim, latent)
        self.log_sigma = nn.Linear(dim, latent)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        return self.mu(h), self.log_sigma(h).clamp(*LOG_SIGMA_RANGE)


class OfficialGaussianHead(nn.Module):
    """The official posterior heads: μ = BN(ReLU(W_μ h)) and log σ = BN(ReLU(W_σ h)) (``model.official``)."""

    def __init__(self, dim: int, latent: int):
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(dim, latent), nn.ReLU(), nn.BatchNorm1d(latent))
        self.log_sigma = nn.Sequential(nn.Linear(dim, latent), nn.ReLU(), nn.BatchNorm1d(latent))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        return self.mu(h), self.log_sigma(h).clamp(*LOG_SIGMA_RANGE)


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every Linear layer (the official initialisation)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class GatedFusion(nn.Module):
    """Gated tanh unit (official FCNet): y = tanh(W₁x) ⊙ σ(W₂x), x = [z_common of the node's graph, z_local]."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.lin = weight_norm(nn.Linear(in_dim, out_dim), dim=None)
        self.gate = weight_norm(nn.Linear(in_dim, out_dim), dim=None)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.lin(x)) * torch.sigmoid(self.gate(x))

    def forward_split(self, common: Tensor, local: Tensor, batch: Tensor) -> Tensor:
        """``forward(cat([common[batch], local], -1))`` without building the concatenation: with W = [W_c, W_l]
        split by columns, W·x = (W_c·common)[batch] + W_l·local, so the common half is computed once per graph;
        the two gated units share one matrix product."""
        w = torch.cat([self.lin.weight, self.gate.weight])             # [2·out, in]
        b = torch.cat([self.lin.bias, self.gate.bias])
        c = common.size(-1)
        y = torch.addmm(b, local, w[:, c:].t()) + gather_rows(common @ w[:, :c].t(), batch)
        lin, gate = y.split(self.lin.out_features, -1)
        return torch.tanh(lin) * torch.sigmoid(gate)


class DeepGCFX(nn.Module):
    """deepGCFX: GIN encoder, accumulation, Gaussian posteriors, gated fusion, edge (+ optional feature) decoders.

    ``embed`` gives the graph-level views used downstream: ``common`` (μ of the graph-wise common latent),
    ``local`` (sum over nodes of the local latents' μ, the same readout as GIN/InfoGraph), ``local_mean``
    (their mean: no node-count information) and ``both`` ([common, local]). For node-level tasks
    ``node_embed`` gives ``both`` = [μ_common of the node's graph, μ_local of the node], its gated fusion
    ``fused``, and ``local`` alone.

    ``official=True`` switches to the official code's behaviour point by point: posterior heads
    BN(ReLU(Linear)), slot noise σ ≈ 1 (also at evaluation), slot MLP hidden max(dim, 128), Xavier
    initialisation and a mask without gradient; the trainer then keeps the epoch with the lowest
    reconstruction loss (train.fit ``keep_best``).
    """

    def __init__(self, in_dim: int, hidden: int = 128, latent: int | None = None, layers: int = 3, iters: int = 2,
                 graph_kl_weight: float = 0.1, feat_weight: float = 0.0, official: bool = False):
        super().__init__()
        latent = latent or hidden
        self.official = official
        head = OfficialGaussianHead if official else GaussianHead
        self.encoder = GINEncoder(in_dim, hidden, layers)
        self.accumulate = Accumulation(hidden, iters, official=official)
        self.node_head = head(hidden, latent)    # shared by local and common node parts
        self.graph_head = head(hidden, latent)
        self.fusion = GatedFusion(2 * latent, latent)
        self.feat_decoder = nn.Linear(latent, in_dim) if feat_weight > 0 else None
        self.graph_kl_weight, self.feat_weight = graph_kl_weight, feat_weight
        if official:
            xavier_init(self)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int,
                common_nodes: bool = True) -> dict[str, Tensor]:
        """Posterior parameters of the local, common-node (unless ``common_nodes`` is False) and graph latents."""
        return self._posteriors(x, edge_index, batch, num_graphs, common_nodes)[0]

    def _posteriors(self, x: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int,
                    common_nodes: bool = True) -> tuple[dict[str, Tensor], list[Tensor]]:
        """``forward``'s dict and the encoder's per-layer node features (for the matched readout)."""
        h, xs = self.encoder(x, edge_index)
        slot, common, local, mask = self.accumulate(h, batch, num_graphs)
        mu_l, ls_l = self.node_head(local)
        mu_g, ls_g = self.graph_head(slot)
        out = {"mu_local": mu_l, "ls_local": ls_l, "mu_graph": mu_g, "ls_graph": ls_g, "mask": mask}
        if common_nodes:
            out["mu_cnode"], out["ls_cnode"] = self.node_head(common)
        return out, xs

    def training_loss(self, data) -> dict[str, Tensor]:
        out = self(data.x, data.edge_index, data.batch, data.num_graphs)
        z_local = reparameterize(out["mu_local"], out["ls_local"], self.training)
        z_cnode = reparameterize(out["mu_cnode"], out["ls_cnode"], self.training)
        z_graph = reparameterize(out["mu_graph"], out["ls_graph"], self.training)
        fused = self.fusion.forward_split(z_graph, z_local, data.batch)   # = fusion(cat([z_graph[batch], z_local]))
        neg = sample_negative_edges(data.edge_index, data.num_nodes, max(data.edge_index.size(1), 1))  # shared
        feat = None
        if self.feat_decoder is not None:
            feat = F.mse_loss(self.feat_decoder(fused), data.x)
        return deepgcfx_loss(
            node_kl=kl_std_normal(out["mu_local"], out["ls_local"]),
            graph_kl=kl_std_normal(out["mu_graph"], out["ls_graph"]),
            recon_fused=edge_recon_loss(fused, data.edge_index, neg),
            recon_common=edge_recon_loss(z_cnode, data.edge_index, neg),
            graph_kl_weight=self.graph_kl_weight, feat_recon=feat, feat_weight=self.feat_weight)

    @torch.no_grad()
    def embed(self, data) -> dict[str, Tensor]:
        out, xs = self._posteriors(data.x, data.edge_index, data.batch, data.num_graphs, common_nodes=False)
        common = out["mu_graph"]
        local = global_add_pool(out["mu_local"], data.batch, size=data.num_graphs)
        local_mean = global_mean_pool(out["mu_local"], data.batch, size=data.num_graphs)
        return {"common": common, "local": local, "local_mean": local_mean, "both": torch.cat([common, local], -1),
                "matched": pool_layers(xs, data)}  # = matched_readout(self.encoder, data), without a second pass

    @torch.no_grad()
    def node_embed(self, data) -> dict[str, Tensor]:
        batch = data.batch if getattr(data, "batch", None) is not None else data.x.new_zeros(data.num_nodes).long()
        num_graphs = int(batch.max()) + 1
        out = self(data.x, data.edge_index, batch, num_graphs, common_nodes=False)
        both = torch.cat([out["mu_graph"][batch], out["mu_local"]], -1)
        return {"local": out["mu_local"], "both": both, "fused": self.fusion(both)}
