"""The sensitive-attribute classifier (a small CNN) and the small GAN used as a real generator."""

from __future__ import annotations

import torch
from torch import nn

CLASSIFIER_KIND = "fairgen-metrics-attribute-classifier"


class AttributeCNN(nn.Module):
    """conv(3×3, w) → pool → conv(3×3, 2w) → pool → adaptive 4×4 → FC(hidden) → FC(K); any input size ≥ 8."""

    def __init__(self, num_classes: int, in_channels: int = 1, width: int = 16, hidden: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 16, hidden), nn.ReLU(),
                                  nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Generator(nn.Module):
    """MLP generator z (latent) → 256 → 512 → C·H·W in [−1, 1] (tanh)."""

    def __init__(self, latent: int = 64, out_shape: tuple[int, int, int] = (1, 28, 28), hidden: int = 256):
        super().__init__()
        self.latent, self.out_shape = latent, tuple(out_shape)
        n = out_shape[0] * out_shape[1] * out_shape[2]
        self.net = nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 2 * hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(2 * hidden, n), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.out_shape)


class Discriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, int, int] = (1, 28, 28), hidden: int = 256):
        super().__init__()
        n = in_shape[0] * in_shape[1] * in_shape[2]
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(n, 2 * hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(2 * hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
