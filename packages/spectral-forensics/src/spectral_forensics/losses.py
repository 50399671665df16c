"""GAN objectives (DCGAN, LSGAN, WGAN-GP) and a Durall-style spectral regulariser whose gradient flows."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spectral_forensics.spectrum import durall_features, to_gray

GANS = ("dcgan", "lsgan", "wgan-gp")


def d_loss(kind: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss on logits.

    dcgan: ``BCE(D(x), 1) + BCE(D(G(z)), 0)``; lsgan: ``MSE(D(x), 1) + MSE(D(G(z)), 0)``;
    wgan-gp: ``E[D(G(z))] − E[D(x)]`` (add :func:`gradient_penalty`).
    """
    if kind == "dcgan":
        return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    if kind == "lsgan":
        return F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake))
    if kind == "wgan-gp":
        return d_fake.mean() - d_real.mean()
    raise ValueError(f"unknown GAN {kind!r}; choose one of {GANS}")


def g_loss(kind: str, d_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss: dcgan ``BCE(D(G(z)), 1)`` (non-saturating), lsgan ``MSE(D(G(z)), 1)``,
    wgan-gp ``−E[D(G(z))]``."""
    if kind == "dcgan":
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    if kind == "lsgan":
        return F.mse_loss(d_fake, torch.ones_like(d_fake))
    if kind == "wgan-gp":
        return -d_fake.mean()
    raise ValueError(f"unknown GAN {kind!r}; choose one of {GANS}")


def gradient_penalty(disc, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Zero-centred penalty of the official code: ``E‖∇_x̂ D(x̂)‖²`` on ``x̂ = ε x + (1 − ε) G(z)``."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype, generator=generator)
    xh = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(xh).sum(), xh, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def spectral_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Durall et al.'s spectral regulariser, differentiable: ``BCE(s̄(G(z)), s̄(x))`` where ``s̄`` is the batch
    mean of the min-max-normalised reduced spectrum (:func:`durall_features`) of images in [-1, 1].

    The public implementation computes ``s̄(G(z))`` on detached NumPy arrays, so no gradient reaches
    the generator; here the whole chain (rfft2, log, azimuthal mean, normalisation) is torch.
    """
    f = durall_features(to_gray((fake + 1) * 127.5)).mean(0).clamp(1e-6, 1 - 1e-6)
    with torch.no_grad():
        r = durall_features(to_gray((real + 1) * 127.5)).mean(0)
    return F.binary_cross_entropy(f, r)
