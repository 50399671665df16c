"""GAN training (official recipe: Adam(β = 0.5, 0.999), batch 64, n_d discriminator steps per generator
step) with resumable checkpoints, and sampling of uint8 images as they would be saved to PNG."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprokit import load_checkpoint, progress, save_checkpoint
from spectral_forensics.losses import d_loss, g_loss, gradient_penalty, spectral_loss
from spectral_forensics.models import Discriminator, Generator, init_weights

log = logging.getLogger("spectral_forensics")
CKPT_KIND = "spectral-forensics-gan"


def build_pair(setup: str, gan: str, size: int, channels: int, g_dim: int, d_dim: int, z_dim: int, seed: int):
    """Generator + discriminator under ``seed`` (shared layers identical across setups, see Generator)."""
    g = Generator(setup, z_dim=z_dim, size=size, channels=channels, dim=g_dim)
    torch.manual_seed(seed)
    g.body.apply(init_weights)  # the shared layers: identical in every setup
    torch.manual_seed(seed + 5)
    g.last.apply(init_weights)
    torch.manual_seed(seed + 1)
    d = Discriminator(size=size, channels=channels, dim=d_dim, norm="layer" if gan == "wgan-gp" else "batch")
    d.apply(init_weights)
    return g, d


def train_gan(images: np.ndarray, setup: str, tcfg: dict[str, Any], seed: int, device, ckpt: Path | None = None,
              quiet: bool = True, log_fn=None) -> Generator:
    """Train one GAN on uint8 ``images`` ``(N, C, S, S)``; returns the generator (eval mode).

    ``tcfg``: gan, steps, batch_size, lr, n_d, gp_weight, z_dim, g_dim, d_dim, spectral_weight,
    ckpt_every. With ``ckpt`` a killed run resumes from the last saved step (weights, optimiser states,
    noise generator, batch order), ending with the same weights as an uninterrupted run; a finished
    checkpoint is loaded without training.
    """
    gan = tcfg["gan"]
    n, c, s, _ = images.shape
    g, d = build_pair(setup, gan, s, c, int(tcfg["g_dim"]), int(tcfg["d_dim"]), int(tcfg["z_dim"]), seed)
    g, d = g.to(device), d.to(device)
    betas = (0.5, 0.999)
    og = torch.optim.Adam(g.parameters(), lr=float(tcfg["lr"]), betas=betas)
    od = torch.optim.Adam(d.parameters(), lr=float(tcfg["lr"]), betas=betas)
    steps, bs, n_d = int(tcfg["steps"]), int(tcfg["batch_size"]), int(tcfg.get("n_d", 1))
    gen = torch.Generator().manual_seed(seed + 2)
    perm, pos = torch.randperm(n, generator=gen), 0
    step = 0
    if ckpt is not None and ckpt.is_file():
        rec = load_checkpoint(ckpt)
        g.load_state_dict(rec["g"])
        d.load_state_dict(rec["d"])
        og.load_state_dict(rec["og"])
        od.load_state_dict(rec["od"])
        gen.set_state(rec["rng"])
        perm, pos = rec["perm"], int(rec["pos"])
        step = int(rec["step"])
        if step >= steps:
            return g.eval()
        log.info("resume: %s from step %d", setup, step)
    data = torch.from_numpy(images)

    def batch() -> torch.Tensor:
        nonlocal perm, pos
        if pos + bs > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos:pos + bs]
        pos += bs
        return (data[idx].float().to(device) / 127.5 - 1.0)

    z_dim = int(tcfg["z_dim"])
    gp_w, spec_w = float(tcfg.get("gp_weight", 10.0)), float(tcfg.get("spectral_weight", 0.0))
    every = int(tcfg.get("ckpt_every", 0)) or steps
    g.train()
    d.train()
    t0 = time.time()
    bar = progress(range(step, steps), desc=f"GAN {setup}", quiet=quiet, initial=step, total=steps)
    for step in bar:
        for _ in range(n_d):
            real = batch()
            z = torch.randn(bs, z_dim, generator=gen).to(device)
            with torch.no_grad():
                fake = g(z)
            loss_d = d_loss(gan, d(real), d(fake))
            if gan == "wgan-gp":
                loss_d = loss_d + gp_w * gradient_penalty(d, real, fake, gen if device.type == "cpu" else None)
            od.zero_grad(set_to_none=True)
            loss_d.backward()
            od.step()
        z = torch.randn(bs, z_dim, generator=gen).to(device)
        fake = g(z)
        loss_g = g_loss(gan, d(fake))
        if spec_w > 0:
            loss_g = loss_g + spec_w * spectral_loss(fake, real)
        og.zero_grad(set_to_none=True)
        loss_g.backward()
        og.step()
        done = step + 1
        if log_fn is not None and (done % max(1, steps // 10) == 0 or done == steps):
            log_fn({"stage": "gan", "setup": setup, "step": done, "loss_d": float(loss_d.detach()),
                    "loss_g": float(loss_g.detach()), "elapsed_s": round(time.time() - t0, 2)})
        if ckpt is not None and (done % every == 0 or done == steps):
            save_checkpoint(ckpt, {"kind": CKPT_KIND, "setup": setup, "gan": gan, "step": done,
                                   "g": g.state_dict(), "d": d.state_dict(), "og": og.state_dict(),
                                   "od": od.state_dict(), "rng": gen.get_state(), "perm": perm, "pos": pos,
                                   "size": s, "channels": c, "tcfg": dict(tcfg)})
    return g.eval()


@torch.no_grad()
def sample_uint8(g: Generator, n: int, seed: int, device, batch_size: int = 500) -> np.ndarray:
    """``n`` generated images, quantised to uint8 as a saved PNG would be: ``round((x + 1)·127.5)``."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    g.eval()
    for s in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - s), g.z_dim, generator=gen).to(device)
        x = g(z).float().cpu()
        out.append(torch.clamp(torch.round((x + 1) * 127.5), 0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)
