"""StarGAN (Choi et al., CVPR 2018) with the paper's switchable last ×2 upsampling.

Generator (StarGAN's layout, widths in units of ``dim``, official ``dim`` = 64):
``[x ; c tiled]`` → Conv 7×7 (d) + IN + ReLU → 2 × [Conv 4×4 s2 (2d, 4d) + IN + ReLU] → ``n_res`` residual
blocks (Conv 3×3 + IN + ReLU + Conv 3×3 + IN, plus the input) → ConvT 4×4 s2 (4d → 2d) + IN + ReLU →
**the setup's last ×2 stage** (2d → d; BASELINE = StarGAN's own ConvT 4×4 s2) + IN + ReLU → Conv 7×7
(d → C) → Tanh. IN = InstanceNorm2d(affine, running statistics), as in StarGAN.

Discriminator (PatchGAN): Conv 4×4 s2 + LeakyReLU(0.01), repeated ``log2(size) − 1`` times (widths
doubling from d), then two heads: a 3×3 conv giving the real/fake patch map (``D_src``) and a conv as
large as the remaining map giving the domain logits (``D_cls``). At 128×128 with d = 64 this is the
official discriminator (6 strided convs, 2×2 patch map).

Objective (StarGAN): WGAN-GP adversarial term (two-sided penalty ``(‖∇D‖₂ − 1)²``, λ_gp = 10), domain
classification (BCE summed over attributes for CelebA's multi-label attributes, cross-entropy for
one-of-K folder domains; on real images for D, on translated images for G, λ_cls = 1) and cycle
reconstruction ``‖x − G(G(x, c'), c)‖₁`` (λ_rec = 10). Target domains are the batch's own labels in a
random permutation; D is updated every step, G every ``n_critic``-th step.

Where the setup goes: the official code's ``stargan_v1_model.py`` keeps the first up-sampling ConvT and
replaces the second by a ×2 upsampling + ``Conv2d(c, c//2, 5, padding 2)``, followed by StarGAN's IN +
ReLU and 7×7 output conv; here that stage is :func:`spectral_forensics.models.last_upsampling` with
2d → d channels, so every named setup (BASELINE = StarGAN's own ConvT) is available.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprokit import load_checkpoint, progress, save_checkpoint
from spectral_forensics.models import last_upsampling, parse_setup

log = logging.getLogger("spectral_forensics")
CKPT_KIND = "spectral-forensics-stargan"
LABEL_MODES = ("multi", "single")


def _inorm(c: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(c, affine=True, track_running_stats=True)


class ResidualBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), _inorm(c), nn.ReLU(True),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), _inorm(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class StarGenerator(nn.Module):
    """``G(x, c)``: images in [-1, 1] ``(N, C, S, S)`` and domain labels ``(N, K)`` → translated images."""

    def __init__(self, setup: str = "BASELINE", n_domains: int = 5, channels: int = 3, dim: int = 64,
                 n_res: int = 6):
        super().__init__()
        parse_setup(setup)
        self.setup, self.n_domains, self.channels, self.dim = setup, n_domains, channels, dim
        d = dim
        layers: list[nn.Module] = [nn.Conv2d(channels + n_domains, d, 7, 1, 3, bias=False), _inorm(d), nn.ReLU(True)]
        for _ in range(2):
            layers += [nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), _inorm(2 * d), nn.ReLU(True)]
            d *= 2
        layers += [ResidualBlock(d) for _ in range(n_res)]
        layers += [nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False), _inorm(d // 2), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.last = last_upsampling(setup, d // 2, dim)  # the switchable last ×2 stage (2d → d)
        self.head = nn.Sequential(_inorm(dim), nn.ReLU(True), nn.Conv2d(dim, channels, 7, 1, 3, bias=False))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"StarGAN needs image sides divisible by 4, got {tuple(x.shape[-2:])}")
        cmap = c.to(x.dtype).view(c.shape[0], c.shape[1], 1, 1).expand(-1, -1, x.shape[2], x.shape[3])
        return torch.tanh(self.head(self.last(self.body(torch.cat([x, cmap], 1)))))


class StarDiscriminator(nn.Module):
    """PatchGAN critic with a domain head: ``D(x)`` → (patch scores ``(N, 1, s, s)``, logits ``(N, K)``)."""

    def __init__(self, size: int = 128, channels: int = 3, n_domains: int = 5, dim: int = 64):
        super().__init__()
        n = round(math.log2(size))
        if 2 ** n != size or size < 8:
            raise ValueError(f"image size must be a power of two ≥ 8, got {size}")
        repeat = n - 1
        layers: list[nn.Module] = [nn.Conv2d(channels, dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        c = dim
        for _ in range(repeat - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.01)]
            c *= 2
        self.main = nn.Sequential(*layers)
        k = size // 2 ** repeat
        self.src = nn.Conv2d(c, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(c, n_domains, k, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.src(h), self.cls(h).view(x.shape[0], -1)


# ------------------------------------------------------------------------------------------- losses
def cls_loss(logits: torch.Tensor, target: torch.Tensor, mode: str) -> torch.Tensor:
    """StarGAN's domain loss: ``multi`` = BCE with logits summed over attributes, averaged over the batch;
    ``single`` = cross-entropy on one-hot targets."""
    if mode == "multi":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / logits.shape[0]
    if mode == "single":
        return F.cross_entropy(logits, target.argmax(1))
    raise ValueError(f"label mode {mode!r}; use one of {LABEL_MODES}")


def gradient_penalty_2sided(disc: StarDiscriminator, real: torch.Tensor, fake: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., as in StarGAN): ``E(‖∇_x̂ D_src(x̂)‖₂ − 1)²`` on ``x̂ = αx + (1 − α)x̃``."""
    a = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype, generator=generator)
    xh = (a * real + (1 - a) * fake).requires_grad_(True)
    src, _ = disc(xh)
    (grad,) = torch.autograd.grad(src.sum(), xh, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def d_step_loss(g: StarGenerator, d: StarDiscriminator, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor,
                mode: str, lambda_cls: float, lambda_gp: float, generator=None) -> tuple[torch.Tensor, dict]:
    src_real, cls_real = d(x)
    with torch.no_grad():
        fake = g(x, c_trg)
    src_fake, _ = d(fake)
    l_real, l_fake = -src_real.mean(), src_fake.mean()
    l_cls = cls_loss(cls_real, c_org, mode)
    l_gp = gradient_penalty_2sided(d, x, fake, generator)
    total = l_real + l_fake + lambda_cls * l_cls + lambda_gp * l_gp
    return total, {"d_real": float(l_real.detach()), "d_fake": float(l_fake.detach()), "d_cls": float(l_cls.detach()),
                   "d_gp": float(l_gp.detach())}


def g_step_loss(g: StarGenerator, d: StarDiscriminator, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor,
                mode: str, lambda_cls: float, lambda_rec: float) -> tuple[torch.Tensor, dict]:
    fake = g(x, c_trg)
    src, cls = d(fake)
    l_adv = -src.mean()
    l_cls = cls_loss(cls, c_trg, mode)
    l_rec = (x - g(fake, c_org)).abs().mean()
    total = l_adv + lambda_cls * l_cls + lambda_rec * l_rec
    return total, {"g_adv": float(l_adv.detach()), "g_cls": float(l_cls.detach()), "g_rec": float(l_rec.detach())}


# ----------------------------------------------------------------------------------------- training
def build_stargan(setup: str, size: int, channels: int, n_domains: int, scfg: dict[str, Any], seed: int):
    """Generator and discriminator under ``seed``; every layer but the last stage gets the same initial
    weights in every setup (the body and head are initialised from fixed seeds after construction)."""
    g = StarGenerator(setup, n_domains, channels, int(scfg["g_dim"]), int(scfg["n_res"]))
    for i, part in enumerate((g.body, g.head, g.last)):
        torch.manual_seed(seed + 11 * i)
        for m in part.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.reset_parameters()
    torch.manual_seed(seed + 1)
    d = StarDiscriminator(size, channels, n_domains, int(scfg["d_dim"]))
    return g, d


def train_stargan(images: np.ndarray, labels: np.ndarray, mode: str, setup: str, scfg: dict[str, Any], seed: int,
                  device, ckpt: Path | None = None, quiet: bool = True, log_fn=None) -> StarGenerator:
    """Train StarGAN on uint8 ``images`` ``(N, C, S, S)`` with labels ``(N, K)`` in {0, 1}; returns G (eval).

    ``scfg``: steps, batch_size, lr, n_critic, lambda_cls, lambda_rec, lambda_gp, g_dim, d_dim, n_res,
    ckpt_every. Adam(β = 0.5, 0.999) for both nets (StarGAN). With ``ckpt`` a killed run resumes from
    the last saved step; a finished checkpoint is loaded without training.
    """
    n, c, s, _ = images.shape
    if labels.shape[0] != n or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} do not match {n} images")
    g, d = build_stargan(setup, s, c, labels.shape[1], scfg, seed)
    g, d = g.to(device), d.to(device)
    lr, betas = float(scfg["lr"]), (0.5, 0.999)
    og = torch.optim.Adam(g.parameters(), lr=lr, betas=betas)
    od = torch.optim.Adam(d.parameters(), lr=lr, betas=betas)
    steps, bs, n_critic = int(scfg["steps"]), min(int(scfg["batch_size"]), n), int(scfg["n_critic"])
    lam_cls, lam_rec, lam_gp = float(scfg["lambda_cls"]), float(scfg["lambda_rec"]), float(scfg["lambda_gp"])
    gen = torch.Generator().manual_seed(seed + 2)
    perm, pos, step = torch.randperm(n, generator=gen), 0, 0
    if ckpt is not None and ckpt.is_file():
        rec = load_checkpoint(ckpt)
        if rec.get("kind") != CKPT_KIND:
            raise ValueError(f"{ckpt}: not a StarGAN checkpoint of this package")
        for obj, key in ((g, "g"), (d, "d"), (og, "og"), (od, "od")):
            obj.load_state_dict(rec[key])
        gen.set_state(rec["rng"])
        perm, pos, step = rec["perm"], int(rec["pos"]), int(rec["step"])
        if step >= steps:
            return g.eval()
        log.info("resume: stargan %s from step %d", setup, step)
    data, lab = torch.from_numpy(images), torch.from_numpy(np.asarray(labels, dtype=np.float32))
    every = int(scfg.get("ckpt_every", 0)) or steps
    g.train()
    d.train()
    t0, gl, start = time.time(), {}, step
    for step in progress(range(start, steps), desc=f"StarGAN {setup}", quiet=quiet, initial=start, total=steps):
        if pos + bs > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos:pos + bs]
        pos += bs
        x = (data[idx].float() / 127.5 - 1.0).to(device)
        c_org = lab[idx].to(device)
        c_trg = c_org[torch.randperm(bs, generator=gen)]
        loss_d, dl = d_step_loss(g, d, x, c_org, c_trg, mode, lam_cls, lam_gp, gen if device.type == "cpu" else None)
        od.zero_grad(set_to_none=True)
        loss_d.backward()
        od.step()
        if (step + 1) % n_critic == 0:
            loss_g, gl = g_step_loss(g, d, x, c_org, c_trg, mode, lam_cls, lam_rec)
            og.zero_grad(set_to_none=True)
            loss_g.backward()
            og.step()
        done = step + 1
        if log_fn is not None and (done % max(1, steps // 10) == 0 or done == steps):
            log_fn({"stage": "stargan", "setup": setup, "step": done, **dl, **gl,
                    "elapsed_s": round(time.time() - t0, 2)})
        if ckpt is not None and (done % every == 0 or done == steps):
            save_checkpoint(ckpt, {"kind": CKPT_KIND, "setup": setup, "gan": "stargan", "step": done,
                                   "g": g.state_dict(), "d": d.state_dict(), "og": og.state_dict(),
                                   "od": od.state_dict(), "rng": gen.get_state(), "perm": perm, "pos": pos,
                                   "size": s, "channels": c, "n_domains": labels.shape[1], "mode": mode,
                                   "scfg": dict(scfg)})
    return g.eval()


@torch.no_grad()
def translate_uint8(g: StarGenerator, images: np.ndarray, labels: np.ndarray, n: int, seed: int, device,
                    batch_size: int = 64) -> np.ndarray:
    """``n`` translated images (uint8, quantised as a PNG would hold them): source images taken in order
    (cycled when fewer than ``n``), each translated to the label of another image drawn at random."""
    rng = np.random.default_rng(seed)
    src = np.arange(n) % len(images)
    trg = labels[rng.integers(0, len(labels), size=n)]
    g.eval()
    out = []
    for s in range(0, n, batch_size):
        sl = slice(s, min(n, s + batch_size))
        x = torch.from_numpy(images[src[sl]]).float().to(device) / 127.5 - 1.0
        y = g(x, torch.from_numpy(np.asarray(trg[sl], dtype=np.float32)).to(device)).float().cpu()
        out.append(torch.clamp(torch.round((y + 1) * 127.5), 0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)
