"""Training loops: the attribute classifier and the small GAN; classifier checkpoints in and out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fairgen_metrics.models import CLASSIFIER_KIND, AttributeCNN, Discriminator, Generator
from reprokit import UsageError, load_checkpoint, progress, save_checkpoint


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 (n, C, H, W) → float in [−1, 1]."""
    return torch.from_numpy(np.array(x, dtype=np.float32)).div_(127.5).sub_(1.0)


def train_classifier(x: np.ndarray, y: np.ndarray, num_classes: int, cfg: dict[str, Any], seed: int,
                     device: torch.device | str = "cpu", quiet: bool = True,
                     log_fn: Callable[[dict], None] | None = None) -> AttributeCNN:
    """Adam on cross-entropy for ``cfg['epochs']`` epochs, mini-batches of ``cfg['batch_size']``."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = AttributeCNN(num_classes, x.shape[1], int(cfg.get("width", 16)), int(cfg.get("hidden", 64))).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.get("lr", 1e-3)))
    xt, yt = to_float(x), torch.from_numpy(np.asarray(y, dtype=np.int64))
    bs, n = int(cfg.get("batch_size", 128)), len(yt)
    loss_fn = nn.CrossEntropyLoss()
    epochs = int(cfg.get("epochs", 1))
    bar = progress(total=epochs * ((n + bs - 1) // bs), desc="classifier", quiet=quiet)
    for ep in range(epochs):
        perm = torch.randperm(n, generator=g)
        total, correct = 0.0, 0
        model.train()
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = xt[idx].to(device), yt[idx].to(device)
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == yb).sum())
            bar.update(1)
        if log_fn is not None:
            log_fn({"stage": "classifier", "epoch": ep + 1, "loss": total / n, "train_acc": correct / n})
    bar.close()
    model.eval()
    return model


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, device: torch.device | str = "cpu",
                   batch_size: int = 1024) -> np.ndarray:
    model.eval()
    outs = [model(to_float(x[i:i + batch_size]).to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs).numpy()


def save_classifier(path: Path, model: AttributeCNN, *, num_classes: int, in_channels: int, image_size: int,
                    class_names: list[str], cfg: dict[str, Any], confusion: np.ndarray, val_counts: np.ndarray,
                    dataset: str, attribute: str) -> Path:
    return save_checkpoint(path, {
        "kind": CLASSIFIER_KIND, "num_classes": int(num_classes), "in_channels": int(in_channels),
        "image_size": int(image_size), "class_names": list(class_names), "dataset": dataset, "attribute": attribute,
        "width": int(cfg.get("width", 16)), "hidden": int(cfg.get("hidden", 64)),
        "state_dict": model.state_dict(), "confusion": np.asarray(confusion).tolist(),
        "val_counts": np.asarray(val_counts).tolist()})


def read_classifier_record(path: Path) -> dict[str, Any]:
    """A checkpoint written by ``train-classifier``; anything else is refused naming the file."""
    rec = load_checkpoint(path)
    if not isinstance(rec, dict) or rec.get("kind") != CLASSIFIER_KIND:
        raise UsageError(f"{path} is not a fairgen-metrics attribute classifier (train one with "
                         "`fairgen-metrics train-classifier`)")
    return rec


def load_classifier(rec: dict[str, Any], device: torch.device | str = "cpu") -> AttributeCNN:
    model = AttributeCNN(rec["num_classes"], rec["in_channels"], rec["width"], rec["hidden"])
    model.load_state_dict(rec["state_dict"])
    return model.to(device).eval()


def train_gan(x: np.ndarray, cfg: dict[str, Any], seed: int, device: torch.device | str = "cpu", quiet: bool = True,
              log_fn: Callable[[dict], None] | None = None) -> Generator:
    """Non-saturating GAN (BCE with logits), Adam(β₁ = 0.5), ``cfg['steps']`` generator steps."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    shape = tuple(x.shape[1:])
    gen = Generator(int(cfg.get("latent", 64)), shape, int(cfg.get("hidden", 256))).to(device)
    disc = Discriminator(shape, int(cfg.get("hidden", 256))).to(device)
    lr = float(cfg.get("lr", 2e-4))
    og = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    od = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    xt = to_float(x)
    bs, steps = int(cfg.get("batch_size", 64)), int(cfg.get("steps", 1000))
    for step in progress(range(steps), desc="GAN", quiet=quiet):
        real = xt[torch.randint(0, len(xt), (bs,), generator=g)].to(device)
        z = torch.randn(bs, gen.latent, generator=g).to(device)
        fake = gen(z)
        ld = bce(disc(real), torch.ones(bs, device=device)) + bce(disc(fake.detach()), torch.zeros(bs, device=device))
        od.zero_grad(set_to_none=True)
        ld.backward()
        od.step()
        lg = bce(disc(fake), torch.ones(bs, device=device))
        og.zero_grad(set_to_none=True)
        lg.backward()
        og.step()
        if log_fn is not None and (step + 1) % max(1, steps // 5) == 0:
            log_fn({"stage": "gan", "step": step + 1, "loss_d": float(ld.detach()), "loss_g": float(lg.detach())})
    return gen.eval()


@torch.no_grad()
def sample_gan(gen: Generator, n: int, seed: int, device: torch.device | str = "cpu") -> np.ndarray:
    """n generated images as uint8 (n, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, 1024):
        z = torch.randn(min(1024, n - i), gen.latent, generator=g).to(device)
        out.append(((gen(z).cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)
