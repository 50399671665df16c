"""Source pretraining and the one adaptation harness shared by TGAN, FreezeD, EWC, CDC and DCL.

Every method starts from the same source (G_s, D_s), uses the same non-saturating loss, optimiser,
learning rates, batch, iteration budget and latent stream (seeded per seed, so runs are paired across
methods); only its own term differs:

- ``tgan``: plain fine-tuning of G and D (Wang et al. 2018);
- ``freezed``: the first ``freezed.layers`` discriminator blocks stay at the source weights (Mo et al. 2020);
- ``ewc``: + λ Σ F_i (θ_i - θ_s,i)² on G, F the source G's Fisher information of the adversarial loss,
  divided by its mean so λ does not depend on the model's scale (Li et al. 2020);
- ``cdc``: + w · KL distance consistency at a random G layer, and the anchor-region scheme: every
  ``subspace_freq``-th step samples z near anchors with an image-level D loss, the others a patch-level
  D loss (Ojha et al. 2021);
- ``dcl``: + λ1 L_CL(G) + λ2 L_CL(D) (see :mod:`dcl_gan.losses`), random layers per step.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn

from dcl_gan import METHODS
from dcl_gan.losses import (
    cdc_kl,
    d_loss,
    dcl_discriminator_loss,
    dcl_generator_loss,
    ewc_penalty,
    g_loss,
    r1_penalty,
)

log = logging.getLogger("dcl_gan")


def requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def _adam(params, lr, betas):
    return torch.optim.Adam([p for p in params if p.requires_grad], lr=lr, betas=tuple(betas))


def pretrain(G: nn.Module, D: nn.Module, images: torch.Tensor, cfg: dict, seed: int, device: torch.device,
             progress: Callable | None = None, log_fn: Callable | None = None) -> dict:
    """Train the source GAN on ``images`` (float, [-1, 1]) for ``cfg['iters']`` steps; returns losses."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    G.to(device).train()
    D.to(device).train()
    opt_g = _adam(G.parameters(), cfg["lr"], cfg["betas"])
    opt_d = _adam(D.parameters(), cfg["lr"], cfg["betas"])
    bs, r1_gamma, r1_every = int(cfg["batch_size"]), float(cfg["r1"]), int(cfg.get("r1_every", 4))
    z_dim = G.z_dim
    it_range = range(int(cfg["iters"]))
    if progress is not None:
        it_range = progress(it_range, desc="pretrain source G")
    last = {}
    for it in it_range:
        real = images[torch.randint(len(images), (bs,), generator=gen)].to(device)
        z = torch.randn(bs, z_dim, generator=gen).to(device)
        requires_grad(G, False)
        requires_grad(D, True)
        with torch.no_grad():
            fake = G(z)
        do_r1 = r1_gamma > 0 and it % r1_every == 0
        real.requires_grad_(do_r1)
        real_logits = D(real)
        loss_d = d_loss(real_logits, D(fake))
        if do_r1:
            loss_d = loss_d + r1_gamma / 2 * r1_every * r1_penalty(real_logits, real)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        requires_grad(G, True)
        requires_grad(D, False)
        z = torch.randn(bs, z_dim, generator=gen).to(device)
        loss_g = g_loss(D(G(z)))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        last = {"d_loss": float(loss_d.detach()), "g_loss": float(loss_g.detach())}
        if log_fn is not None and (it + 1) % max(1, int(cfg["iters"]) // 10) == 0:
            log_fn({"stage": "pretrain", "iter": it + 1, **last})
    requires_grad(D, True)
    requires_grad(G, True)
    return last


def fisher_information(G: nn.Module, D: nn.Module, n_batches: int, batch_size: int, seed: int,
                       device: torch.device) -> list[torch.Tensor]:
    """Diagonal Fisher of the source G: E[(∂ L_adv/∂θ)²] over ``n_batches`` latent batches, / its mean."""
    gen = torch.Generator().manual_seed(seed + 7919)
    params = [p for p in G.parameters()]
    flags = [p.requires_grad for p in params]
    requires_grad(G, True)
    acc = [torch.zeros_like(p) for p in params]
    requires_grad(D, False)
    for _ in range(n_batches):
        z = torch.randn(batch_size, G.z_dim, generator=gen).to(device)
        grads = torch.autograd.grad(g_loss(D(G(z))), params, allow_unused=True)
        for a, g in zip(acc, grads):
            if g is not None:
                a += g.detach() ** 2 / n_batches
    requires_grad(D, True)
    for p, f in zip(params, flags):
        p.requires_grad_(f)
    mean = torch.cat([a.flatten() for a in acc]).mean().clamp_min(1e-30)
    return [a / mean for a in acc]


def adapt(method: str, G_s: nn.Module, D_s: nn.Module, shots: torch.Tensor, cfg: dict, seed: int,
          device: torch.device, evaluate: Callable[[nn.Module, int], dict] | None = None,
          eval_at: list[int] | tuple[int, ...] = (), fisher: list[torch.Tensor] | None = None,
          progress: Callable | None = None, log_fn: Callable | None = None,
          timing: dict | None = None) -> tuple[nn.Module, list[dict]]:
    """Adapt copies of (G_s, D_s) to ``shots`` with ``method``; G_s is never changed.

    ``cfg`` is the preset's ``adapt`` section. ``evaluate(G_t, iteration)`` runs at each iteration in
    ``eval_at`` (0 = the source generator itself); returns (G_t, [{iter, ...metrics}]).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer_rng = np.random.default_rng(seed + 1)
    G_s = G_s.to(device).eval()
    requires_grad(G_s, False)
    G_t = copy.deepcopy(G_s).train()
    D_t = copy.deepcopy(D_s).to(device).train()
    requires_grad(G_t, True)
    requires_grad(D_t, True)
    bs, iters, z_dim = int(cfg["batch_size"]), int(cfg["iters"]), G_s.z_dim
    r1_gamma, r1_every = float(cfg["r1"]), int(cfg.get("r1_every", 4))
    frozen_d = 0
    if method == "freezed":
        frozen_d = int(cfg["freezed"]["layers"])
        for b in list(D_t.blocks)[:frozen_d]:
            requires_grad(b, False)
    opt_g = _adam(G_t.parameters(), cfg["lr_g"], cfg["betas"])
    opt_d = _adam(D_t.parameters(), cfg["lr_d"], cfg["betas"])
    src_params = [p.detach().clone() for p in G_s.parameters()]
    if method == "ewc" and fisher is None:
        fisher = fisher_information(G_s, D_s.to(device), int(cfg["ewc"]["fisher_batches"]), bs, seed, device)
    anchors = torch.randn(int(cfg["cdc"]["n_anchors"]), z_dim, generator=gen).to(device) if method == "cdc" else None
    shots = shots.to(device)
    eval_at = sorted(set(int(i) for i in eval_at))
    curve: list[dict] = []

    def maybe_eval(it: int) -> None:
        if evaluate is not None and it in eval_at:
            rec = {"iter": it, **evaluate(G_t, it)}
            curve.append(rec)
            if log_fn is not None:
                log_fn({"stage": "adapt", "method": method, "seed": seed, **rec})

    maybe_eval(0)
    it_range = range(1, iters + 1)
    if progress is not None:
        it_range = progress(it_range, desc=f"{method} seed {seed}")
    t_train = 0.0
    for it in it_range:
        t0 = time.perf_counter()
        patch = method == "cdc" and it % int(cfg["cdc"]["subspace_freq"]) != 0
        real = shots[torch.randint(len(shots), (bs,), generator=gen).to(device)]
        if method == "cdc" and not patch:
            pick = torch.randint(len(anchors), (bs,), generator=gen).to(device)
            z = anchors[pick] + float(cfg["cdc"]["anchor_std"]) * torch.randn(bs, z_dim, generator=gen).to(device)
        else:
            z = torch.randn(bs, z_dim, generator=gen).to(device)
        # --- discriminator step
        requires_grad(G_t, False)
        for i, b in enumerate(D_t.blocks):
            requires_grad(b, i >= frozen_d)
        for name, m in D_t.named_children():
            if name != "blocks":
                requires_grad(m, True)
        with torch.no_grad():
            fake = G_t(z)
        do_r1 = r1_gamma > 0 and it % r1_every == 0 and not patch
        real_in = real.detach().requires_grad_(do_r1)
        real_logits = D_t(real_in, patch=patch)
        loss_d = d_loss(real_logits, D_t(fake, patch=patch))
        if do_r1:
            loss_d = loss_d + r1_gamma / 2 * r1_every * r1_penalty(real_logits, real_in)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # --- generator step
        requires_grad(G_t, True)
        requires_grad(D_t, False)
        fake, feats_t = G_t(z, return_feats=True)
        need_d_feats = method == "dcl" and float(cfg["dcl"]["lambda2"]) > 0
        if need_d_feats:
            logits, dfe_t = D_t(fake, return_feats=True, patch=patch)
        else:
            logits = D_t(fake, patch=patch)
        loss = g_loss(logits)
        extra = {}
        if method == "ewc":
            pen = ewc_penalty(list(G_t.parameters()), src_params, fisher)
            loss = loss + float(cfg["ewc"]["lambda"]) * pen
            extra["ewc"] = float(pen.detach())
        elif method in ("cdc", "dcl"):
            with torch.no_grad():
                fake_s, feats_s = G_s(z, return_feats=True)
            if method == "cdc":
                lay = int(layer_rng.integers(1, len(feats_t)))  # as the official code: never the first block
                kl = cdc_kl(feats_s[lay], feats_t[lay])
                loss = loss + float(cfg["cdc"]["weight"]) * kl
                extra["cdc_kl"] = float(kl.detach())
            else:
                c = cfg["dcl"]
                lay = int(layer_rng.integers(0, len(feats_t)))
                lg = dcl_generator_loss(feats_t[lay], feats_s[lay], float(c["tau"]))
                loss = loss + float(c["lambda1"]) * lg
                extra["cl_g"] = float(lg.detach())
                if need_d_feats:
                    with torch.no_grad():
                        _, dfe_s = D_t(fake_s, return_feats=True)
                        _, dfe_r = D_t(shots, return_feats=True)
                    dl = int(layer_rng.integers(0, len(dfe_t)))
                    ld = dcl_discriminator_loss(dfe_t[dl], dfe_s[dl], dfe_r[dl], float(c["tau"]))
                    loss = loss + float(c["lambda2"]) * ld
                    extra["cl_d"] = float(ld.detach())
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        t_train += time.perf_counter() - t0
        if log_fn is not None and it % max(1, iters // 5) == 0:
            log_fn({"stage": "adapt_loss", "method": method, "seed": seed, "iter": it, "d_loss": float(loss_d.detach()),
                    "g_loss": float(loss.detach()), **extra})
        maybe_eval(it)
    requires_grad(D_t, True)
    if timing is not None:
        timing["train_s"] = t_train
        timing["iters"] = iters
    return G_t, curve
