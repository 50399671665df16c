"""The objectives: adversarial losses, EWC, CDC's distance consistency and DCL's two InfoNCE terms.

DCL (Zhao et al., CVPR 2022), as this package implements it. With G_s the frozen source generator,
G_t the adapted one, D_t the adapted discriminator, x_1..x_K the real target shots, z_1..z_B a batch
of latents and a layer l drawn at random each step (multi-level)::

    L_CL(G) = InfoNCE(anchor = G_t^l(z_i), positive = G_s^l(z_i), negatives = {G_s^l(z_j)}_{j≠i})
    L_CL(D) = InfoNCE(anchor = D_t^l(G_t(z_i)), positive = D_t^l(G_s(z_i)), negatives = {D_t^l(x_k)}_k)
    L_G     = L_adv(G) + λ1 · L_CL(G) + λ2 · L_CL(D)

InfoNCE on cosine similarity divided by τ (below). Both CL terms update G_t only: the source side,
the positives and the negatives are constants of the generator step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
             temperature: float = 0.07) -> torch.Tensor:
    """InfoNCE with cosine similarity, the positive in the denominator, averaged over the batch.

    anchor (B, D), positive (B, D), negatives (B, N, D); with s(a, b) = a·b / (|a||b|)::

        L = -1/B Σ_i log( exp(s(a_i, p_i)/τ) / ( exp(s(a_i, p_i)/τ) + Σ_n exp(s(a_i, n_{i,n})/τ) ) )

    (leaving exp(s(a_i, p_i)/τ) out of the denominator is a common mistake: it makes L unbounded below.)
    """
    if anchor.ndim != 2 or positive.shape != anchor.shape:
        raise ValueError(f"anchor and positive must both be (B, D); got {tuple(anchor.shape)}, {tuple(positive.shape)}")
    if negatives.ndim != 3 or negatives.shape[0] != anchor.shape[0] or negatives.shape[2] != anchor.shape[1]:
        raise ValueError(f"negatives must be (B, N, D) = ({anchor.shape[0]}, N, {anchor.shape[1]}); "
                         f"got {tuple(negatives.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    a = F.normalize(anchor, dim=-1)
    p = F.normalize(positive, dim=-1)
    n = F.normalize(negatives, dim=-1)
    pos = (a * p).sum(-1, keepdim=True)  # (B, 1)
    neg = torch.einsum("bd,bnd->bn", a, n)  # (B, N)
    logits = torch.cat([pos, neg], dim=1) / temperature
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def flat(f: torch.Tensor) -> torch.Tensor:
    return f.reshape(f.shape[0], -1)


def others(x: torch.Tensor) -> torch.Tensor:
    """(B, D) → (B, B-1, D): for each i the rows j ≠ i."""
    b = x.shape[0]
    idx = torch.arange(b, device=x.device)
    mask = idx[None, :] != idx[:, None]
    return x.unsqueeze(0).expand(b, b, -1)[mask].view(b, b - 1, -1)


def dcl_generator_loss(feat_t: torch.Tensor, feat_s: torch.Tensor, temperature: float) -> torch.Tensor:
    """L_CL(G) at one layer: anchor G_t^l(z_i), positive G_s^l(z_i), negatives G_s^l(z_j), j ≠ i."""
    t, s = flat(feat_t), flat(feat_s).detach()
    return info_nce(t, s, others(s), temperature)


def dcl_discriminator_loss(d_fake_t: torch.Tensor, d_fake_s: torch.Tensor, d_real: torch.Tensor,
                           temperature: float) -> torch.Tensor:
    """L_CL(D) at one layer: anchor D^l(G_t(z_i)), positive D^l(G_s(z_i)), negatives D^l(x_k) of the real shots."""
    a, p, r = flat(d_fake_t), flat(d_fake_s).detach(), flat(d_real).detach()
    return info_nce(a, p, r.unsqueeze(0).expand(a.shape[0], -1, -1), temperature)


def cdc_kl(feat_s: torch.Tensor, feat_t: torch.Tensor) -> torch.Tensor:
    """CDC's cross-domain distance consistency (Ojha et al., CVPR 2021) at one layer.

    For each i, y_i^s = softmax_j≠i cos(G_s^l(z_i), G_s^l(z_j)) and y_i^t likewise for G_t; the loss is
    Σ_i KL(y_i^s ‖ y_i^t) divided by B(B-1), the element mean of ``torch.nn.KLDivLoss()`` (reduction
    'mean') the official code uses with its weight 1000.
    """
    s = F.normalize(flat(feat_s).detach(), dim=-1)
    t = F.normalize(flat(feat_t), dim=-1)
    sim_s = (s.unsqueeze(1) * others(s)).sum(-1)  # (B, B-1)
    sim_t = (t.unsqueeze(1) * others(t)).sum(-1)
    p = F.softmax(sim_s, dim=1)
    log_q = F.log_softmax(sim_t, dim=1)
    return (p * (torch.log(p) - log_q)).sum() / p.numel()


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN discriminator loss: softplus(-D(x)) + softplus(D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def ewc_penalty(params: list[torch.Tensor], source: list[torch.Tensor], fisher: list[torch.Tensor]) -> torch.Tensor:
    """EWC (Li et al., NeurIPS 2020): Σ_i F_i (θ_i - θ_{s,i})², F the Fisher information of the source G."""
    return sum((f * (p - s).pow(2)).sum() for p, s, f in zip(params, source, fisher))
