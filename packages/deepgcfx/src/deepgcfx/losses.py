"""The objectives: deepGCFX's KL and reconstruction terms, InfoGraph's JSD MI bound, GraphCL's NT-Xent.

Variance parameterisation (one, used everywhere in this package): a Gaussian head outputs the mean
``mu`` and the *log standard deviation* ``log_sigma``; samples are ``mu + exp(log_sigma)·eps`` and the KL
below uses the same ``log_sigma``. (The official code's KL reads its "logvar" as log σ while its sampler
uses exp(0.5·logvar); we keep log σ in both places.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EPS = 1e-15


def kl_std_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """Per-row KL(N(mu, sigma²) || N(0, I)), summed over the latent dimensions.

    KL = -1/2 · Σ_d (1 + 2·log σ_d − μ_d² − σ_d²)        (Kingma & Welling 2014, App. B; deepGCFX Eq. 6)
    """
    return -0.5 * torch.sum(1 + 2 * log_sigma - mu.pow(2) - torch.exp(2 * log_sigma), dim=-1)


def reparameterize(mu: Tensor, log_sigma: Tensor, training: bool = True) -> Tensor:
    """z = μ + σ·ε with ε ~ N(0, I) while training; z = μ at evaluation."""
    if not training:
        return mu
    return mu + torch.exp(log_sigma) * torch.randn_like(mu)


class _GatherRows(torch.autograd.Function):
    """``x[index]`` (rows) as ``index_select`` forward and ``index_add_`` backward; on CPU both are several
    times faster than advanced indexing's gather and its accumulating ``index_put_``."""

    @staticmethod
    def forward(ctx, x: Tensor, index: Tensor) -> Tensor:
        ctx.save_for_backward(index)
        ctx.num_rows = x.size(0)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        (index,) = ctx.saved_tensors
        return grad.new_zeros(ctx.num_rows, *grad.shape[1:]).index_add_(0, index, grad), None


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` for a 1-D index (same values and gradient; see ``_GatherRows``)."""
    if not (torch.is_grad_enabled() and x.requires_grad):
        return x.index_select(0, index)
    return _GatherRows.apply(x, index)


class _EdgeDot(torch.autograd.Function):
    """logit_e = z_{i_e} · z_{j_e} with a hand-written backward: ∂/∂z = Σ_e g_e·(z_{j_e} at row i_e + z_{i_e} at
    row j_e), two ``index_add_`` (autograd's own backward of the gathers, products and sum takes about twice
    as long on CPU)."""

    @staticmethod
    def forward(ctx, z: Tensor, i: Tensor, j: Tensor) -> Tensor:
        zi, zj = z.index_select(0, i), z.index_select(0, j)
        ctx.save_for_backward(zi, zj, i, j)
        ctx.num_nodes = z.size(0)
        return (zi * zj).sum(-1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None
        zi, zj, i, j = ctx.saved_tensors
        grad = grad.unsqueeze(-1)
        gz = zi.new_zeros(ctx.num_nodes, zi.size(1))
        gz.index_add_(0, i, grad * zj)
        gz.index_add_(0, j, grad * zi)
        return gz, None, None


def edge_logits(z: Tensor, edge_index: Tensor) -> Tensor:
    """Inner-product decoder (Kipf & Welling 2016): logit(A_ij) = z_i · z_j."""
    if not (torch.is_grad_enabled() and z.requires_grad):
        return (z[edge_index[0]] * z[edge_index[1]]).sum(-1)
    return _EdgeDot.apply(z, edge_index[0], edge_index[1])


def sample_negative_edges(edge_index: Tensor, num_nodes: int, num_samples: int) -> Tensor:
    """Uniform node pairs (i, j), i ≠ j, that are not edges: draw ``num_samples`` pairs with torch's RNG and drop
    the self loops and true edges among them (rejection sampling, as PyG's ``negative_sampling`` without its
    Python-``random`` path; pure torch, so one seed fixes it)."""
    i = torch.randint(num_nodes, (num_samples,), device=edge_index.device)
    j = torch.randint(num_nodes, (num_samples,), device=edge_index.device)
    keys = i * num_nodes + j
    bad = torch.isin(keys, edge_index[0] * num_nodes + edge_index[1]) | (i == j)
    return torch.stack([i[~bad], j[~bad]])


def edge_recon_loss(z: Tensor, edge_index: Tensor, neg_edge_index: Tensor | None = None) -> Tensor:
    """Edge reconstruction with negative sampling (deepGCFX Eq. 7, GAE's recon loss):

    L = −mean_{(i,j)∈E} log σ(z_i·z_j) − mean_{(i,j)∉E} log(1 − σ(z_i·z_j)),

    negatives drawn uniformly among non-edges (self loops excluded, one per edge) unless given.
    """
    pos = -F.logsigmoid(edge_logits(z, edge_index)).mean() if edge_index.numel() else z.sum() * 0
    if neg_edge_index is None:
        neg_edge_index = sample_negative_edges(edge_index, z.size(0), max(edge_index.size(1), 1))
    if neg_edge_index.numel() == 0:
        return pos
    neg = -F.logsigmoid(-edge_logits(z, neg_edge_index)).mean()
    return pos + neg


def deepgcfx_loss(node_kl: Tensor, graph_kl: Tensor, recon_fused: Tensor, recon_common: Tensor,
                  graph_kl_weight: float = 0.1, feat_recon: Tensor | None = None,
                  feat_weight: float = 0.0) -> dict[str, Tensor]:
    """deepGCFX's objective (paper Eq. 8, with the official code's normalisation):

    L = KL_node/N + 0.1·KL_graph/B + L_edge(fused latents) + L_edge(common node latents) [+ λ·L_feat],

    with KL_node = mean_i KL(q(z_i)||p) over the N nodes of the batch and KL_graph = mean_g KL(q(z_g)||p)
    over its B graphs; ``node_kl`` and ``graph_kl`` hold the per-node / per-graph values. (The official code
    computes ``(-0.5/n_nodes)·mean(sum(...))``, i.e. the mean divided once more by the batch size, which keeps
    the KL a light regulariser; we keep that.) The feature term is off (λ = 0) by default, as in that code.
    """
    n, b = max(node_kl.numel(), 1), max(graph_kl.numel(), 1)
    parts = {"kl_node": node_kl.mean() / n, "kl_graph": graph_kl_weight * graph_kl.mean() / b,
             "recon_fused": recon_fused, "recon_common": recon_common}
    if feat_recon is not None and feat_weight > 0:
        parts["recon_feat"] = feat_weight * feat_recon
    parts["loss"] = sum(parts.values())
    return parts


# ---------------------------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------------------------
def jsd_local_global(node_emb: Tensor, graph_emb: Tensor, batch: Tensor) -> Tensor:
    """InfoGraph's objective (Sun et al. 2020, Eq. 5): the Jensen–Shannon MI estimator between every node
    (patch) and every graph summary, positives = a node and its own graph:

    L = E_neg[softplus(−s) + s] − E_pos[−softplus(−s)],  s = h_i · g_j  (log 2 constants cancel).
    """
    scores = node_emb @ graph_emb.t()                           # [N, B]
    pos_mask = F.one_hot(batch, graph_emb.size(0)).float()
    neg_mask = 1 - pos_mask
    e_pos = (math.log(2.0) - F.softplus(-scores)) * pos_mask
    e_neg = (F.softplus(-scores) + scores - math.log(2.0)) * neg_mask
    n_pos = pos_mask.sum().clamp(min=1)
    n_neg = neg_mask.sum().clamp(min=1)
    return e_neg.sum() / n_neg - e_pos.sum() / n_pos


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.2) -> Tensor:
    """GraphCL's contrastive loss (You et al. 2020, Eq. 3): for graph n with views z1_n, z2_n,

    ℓ_n = −log exp(sim(z1_n, z2_n)/τ) / Σ_{m≠n} exp(sim(z1_n, z2_m)/τ),  sim = cosine,

    averaged over the batch (the positive pair is left out of the denominator, as in GraphCL's code).
    """
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    sim = torch.exp(z1 @ z2.t() / temperature)
    pos = sim.diagonal()
    return -torch.log(pos / (sim.sum(1) - pos + EPS) + EPS).mean()
