"""FID: the Fréchet distance between Gaussian fits of features, on local Inception-v3 weights when given,
otherwise on an in-package feature network (a small CNN trained to predict image rotation on the real
training images, so it needs no labels and no download). The metric is named after its features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """``‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})`` (Heusel et al. 2017)."""
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():  # a near-singular product (tiny sample) is handled below
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


class RotationNet(nn.Module):
    def __init__(self, channels: int, width: int = 32, feat: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1), nn.ReLU(True), nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(True),
            nn.Conv2d(2 * width, feat, 3, 2, 1), nn.ReLU(True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(feat, 4)

    def forward(self, x):
        return self.head(self.features(x))


def train_rotation_net(images: np.ndarray, steps: int, seed: int, device, batch_size: int = 128) -> RotationNet:
    """Self-supervised features for the in-package FID: predict which of 0/90/180/270° rotated the image."""
    torch.manual_seed(seed)
    net = RotationNet(images.shape[1]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    data = torch.from_numpy(images)
    for _ in range(steps):
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        x = data[idx].float() / 127.5 - 1
        k = torch.randint(0, 4, (batch_size,), generator=gen)
        x = torch.stack([torch.rot90(xi, int(ki), (1, 2)) for xi, ki in zip(x, k)]).to(device)
        loss = nn.functional.cross_entropy(net(x), k.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


class InceptionFeatures(nn.Module):
    """torchvision Inception-v3 pool features (2048-d) from a local weights file (never downloaded)."""

    def __init__(self, weights: Path):
        super().__init__()
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        net.fc = nn.Identity()
        self.net = net.eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def features(self, x):  # x in [-1, 1]
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = nn.functional.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net((x - self.mean) / self.std)


@torch.no_grad()
def embed(net, images: np.ndarray, device, batch_size: int = 256) -> np.ndarray:
    out = []
    for s in range(0, len(images), batch_size):
        x = torch.from_numpy(images[s:s + batch_size]).float().to(device) / 127.5 - 1
        out.append(net.features(x).float().cpu().numpy())
    return np.concatenate(out).astype(np.float64)
