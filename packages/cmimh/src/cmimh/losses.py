"""Variational MI lower bounds, the CMIMH objective (this package's reading of the abstract) and the
DJSRH-style baseline loss. Each is a small pure function; ``scores[i, j] = T(x_i, y_j)`` is a critic
matrix whose diagonal holds the positive (jointly drawn) pairs and whose off-diagonal entries stand
for samples of the product of marginals.

CMIMH objective (interpreted; the paper's text beyond the abstract is not available)
-----------------------------------------------------------------------------------
Per modality ``m ∈ {I, T}`` a hashing network gives Bernoulli probabilities ``p_m = σ(f_m(x_m))``;
codes are ``b_m ~ Bern(p_m)`` (multivariate Bernoulli with independent bits). With critics
``T_m(b, x) = cos(u_m(2b−1), v_m(x)) / τ`` and the Hamming-based cross critic
``T_×(b_I, b_T) = ⟨2b_I−1, 2b_T−1⟩ / (K τ_×) = (1 − 2·d_H(b_I, b_T)/K) / τ_×``, one mini-batch step
minimises

    L = −[ α_I Î(B_I; X_I) + α_T Î(B_T; X_T) + λ Î(B_I; B_T) ] + γ · mean_i ‖p_I,i − p_T,i‖² / K

where Î is a variational lower bound (InfoNCE by default; NWJ and the JSD surrogate of Deep InfoMax
are options). λ weighs closing the modality gap (codes of the two modalities predictable from each
other) against the modality-private terms; γ > 0 *forces* the two codes of an instance to coincide,
the setting the paper's abstract reports to lose information (claim 2 compares γ = 0 with a large γ).
Gradients pass through the sampling by the straight-through estimator
``b̃ = b + p − stopgrad(p)`` (forward: the sample; backward: ∂b̃/∂p = 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


# ------------------------------------------------------------------------------------ MI bounds
def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE (van den Oord et al. 2018): ``log n + mean_i [T_ii − log Σ_j exp T_ij]`` ≤ I(X;Y), ≤ log n."""
    n = scores.shape[0]
    return math.log(n) + (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean()


def infonce_bound_symmetric(scores: torch.Tensor) -> torch.Tensor:
    """Mean of InfoNCE over rows (X→Y) and columns (Y→X)."""
    return 0.5 * (infonce_bound(scores) + infonce_bound(scores.T))


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """NWJ / f-divergence bound (Nguyen, Wainwright & Jordan 2010): ``E_p[T] − e^{-1} E_{p⊗p}[e^T]``.

    Tight for ``T = 1 + log p(x,y)/(p(x)p(y))``; marginal pairs are the off-diagonal entries.
    """
    n = scores.shape[0]
    off = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    return scores.diagonal().mean() - torch.exp(scores[off] - 1.0).mean()


def jsd_estimate(scores: torch.Tensor) -> torch.Tensor:
    """Deep InfoMax's Jensen–Shannon surrogate ``E_p[−softplus(−T)] − E_{p⊗p}[softplus(T)]``.

    Not a bound on MI in nats; a monotone proxy whose maximiser is the density ratio.
    """
    n = scores.shape[0]
    off = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    return (-F.softplus(-scores.diagonal())).mean() - F.softplus(scores[off]).mean()


BOUNDS = {"infonce": infonce_bound_symmetric, "nwj": nwj_bound, "jsd": jsd_estimate}


# ------------------------------------------------------------------------------ binary sampling
def sample_codes(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``b ~ Bern(p)`` with the straight-through gradient ``b + p − stopgrad(p)``."""
    b = torch.bernoulli(probs.detach(), generator=generator)
    return b + (probs - probs.detach())  # forward value exactly b


def code_critic(b_img: torch.Tensor, b_txt: torch.Tensor, tau: float) -> torch.Tensor:
    """Cross-modal critic ``(1 − 2 d_H / K) / τ`` on {0,1} codes, written as ``⟨2b−1, 2b'−1⟩ / (Kτ)``."""
    k = b_img.shape[1]
    return (2 * b_img - 1) @ (2 * b_txt - 1).T / (k * tau)


def cosine_critic(u: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
    return F.normalize(u, dim=1) @ F.normalize(v, dim=1).T / tau


def cmimh_loss(p_img: torch.Tensor, p_txt: torch.Tensor, b_img: torch.Tensor, b_txt: torch.Tensor,
               s_img: torch.Tensor, s_txt: torch.Tensor, *, alpha_img: float, alpha_txt: float, lam: float,
               gamma: float, tau_cross: float, bound: str = "infonce") -> tuple[torch.Tensor, dict[str, float]]:
    """The CMIMH objective of the module docstring for one mini-batch.

    ``s_img``/``s_txt`` are the code↔input critic matrices; ``b_*`` sampled codes (straight-through).
    Returns the loss and the bound values (for logging).
    """
    est = BOUNDS[bound]
    mi_i = est(s_img) if alpha_img else s_img.new_zeros(())
    mi_t = est(s_txt) if alpha_txt else s_txt.new_zeros(())
    mi_x = est(code_critic(b_img, b_txt, tau_cross)) if lam else s_img.new_zeros(())
    gap = ((p_img - p_txt) ** 2).sum(1).mean() / p_img.shape[1]
    loss = -(alpha_img * mi_i + alpha_txt * mi_t + lam * mi_x) + gamma * gap
    return loss, {k: float(v.detach()) for k, v in (("mi_img", mi_i), ("mi_txt", mi_t), ("mi_cross", mi_x),
                                                      ("gap", gap))}


# ------------------------------------------------------------------------------------ DJSRH-style
def djsrh_similarity(f_img: torch.Tensor, f_txt: torch.Tensor, beta: float, eta: float) -> torch.Tensor:
    """DJSRH's joint-modal similarity (Su et al., ICCV 2019), as described in its paper:
    ``S̃ = β·cos(F_I) + (1−β)·cos(F_T)``, ``S = (1−η) S̃ + η S̃ S̃ᵀ / n``."""
    si = F.normalize(f_img, dim=1) @ F.normalize(f_img, dim=1).T
    st = F.normalize(f_txt, dim=1) @ F.normalize(f_txt, dim=1).T
    s = beta * si + (1 - beta) * st
    return (1 - eta) * s + eta * (s @ s.T) / s.shape[0]


def djsrh_loss(h_img: torch.Tensor, h_txt: torch.Tensor, S: torch.Tensor, mu: float,
               w_intra: float) -> torch.Tensor:
    """Reconstruct ``μ·S`` (clipped to [−1, 1]) by the cosine similarities of the relaxed codes:
    cross-modal term plus ``w_intra`` × the two intra-modal terms (mean squared errors)."""
    target = (mu * S).clamp(-1, 1)
    hi, ht = F.normalize(h_img, dim=1), F.normalize(h_txt, dim=1)
    cross = F.mse_loss(hi @ ht.T, target)
    intra = F.mse_loss(hi @ hi.T, target) + F.mse_loss(ht @ ht.T, target)
    return cross + w_intra * intra
