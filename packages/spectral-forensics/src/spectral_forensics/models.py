"""The GAN zoo of the paper: a DCGAN-style generator whose *last* ×2 upsampling is switchable.

Setups by name (official ``src/gans/module.py``):

- ``BASELINE``: ``ConvTranspose2d(d, C, 4, stride 2, padding 1)``
- ``X.1.k`` (X ∈ N, B, Z; k ∈ 3, 5, 7): ×2 upsampling, then ``Conv2d(d, C, k, padding k//2)``
- ``X.3.5``: ×2 upsampling, then ``Conv2d(d, d, 5)``, ``Conv2d(d, d, 5)``, ``Conv2d(d, C, 5)`` (no norm
  or activation in between)

with X = ``N`` nearest, ``B`` bilinear (``align_corners=True``), ``Z`` zero insertion (a stride-2
grouped transposed conv whose 2×2 kernel holds 1 at (0, 0)). Every setup ends in Tanh.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

SETUP_RE = re.compile(r"^(BASELINE|([NBZ])\.([13])\.([357]))$")
PAPER_SETUPS = ("BASELINE", "N.1.3", "N.1.5", "N.1.7", "N.3.5", "B.1.3", "B.1.5", "B.1.7", "B.3.5",
                "Z.1.3", "Z.1.5", "Z.1.7", "Z.3.5")
UPSAMPLE_NAMES = {"N": "nearest", "B": "bilinear", "Z": "zero insertion"}


def parse_setup(name: str) -> tuple[str, int, int]:
    """``'N.1.5'`` → ``('N', 1, 5)``; ``'BASELINE'`` → ``('T', 1, 4)``. Refuses other names (ValueError),
    including ``X.3.k`` with k ≠ 5 (the paper's three-conv setups are 5×5 only)."""
    m = SETUP_RE.match(str(name))
    if not m or (m.group(3) == "3" and m.group(4) != "5"):
        raise ValueError(f"unknown upsampling setup {name!r}; use BASELINE or N|B|Z.1.3|5|7 or N|B|Z.3.5")
    if m.group(1) == "BASELINE":
        return "T", 1, 4
    return m.group(2), int(m.group(3)), int(m.group(4))


class ZeroInsert(nn.Module):
    """×2 zero insertion: ``y[2i, 2j] = x[i, j]``, zeros elsewhere (grouped stride-2 transposed conv)."""

    def __init__(self, channels: int):
        super().__init__()
        k = torch.zeros(channels, 1, 2, 2)
        k[:, :, 0, 0] = 1.0
        self.register_buffer("kernel", k)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.kernel.to(x.dtype), stride=2, groups=self.channels)


def upsample_module(kind: str, channels: int) -> nn.Module:
    if kind == "N":
        return nn.Upsample(scale_factor=2, mode="nearest")
    if kind == "B":
        return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    if kind == "Z":
        return ZeroInsert(channels)
    raise ValueError(kind)


def last_upsampling(setup: str, d: int, out_channels: int) -> nn.Sequential:
    """The last ×2 stage of the generator for ``setup`` (before Tanh)."""
    kind, n_conv, k = parse_setup(setup)
    if kind == "T":
        return nn.Sequential(nn.ConvTranspose2d(d, out_channels, 4, 2, 1))
    layers: list[nn.Module] = [upsample_module(kind, d)]
    if n_conv == 1:
        layers.append(nn.Conv2d(d, out_channels, k, padding=k // 2))
    else:
        layers += [nn.Conv2d(d, d, 5, padding=2), nn.Conv2d(d, d, 5, padding=2),
                   nn.Conv2d(d, out_channels, 5, padding=2)]
    return nn.Sequential(*layers)


def _n_up(size: int) -> int:
    n = round(math.log2(size))
    if 2 ** n != size or size < 16:
        raise ValueError(f"image size must be a power of two ≥ 16, got {size}")
    return n - 3  # 4×4 → size/2 by stride-2 transposed convs; the last ×2 is the setup's


class Generator(nn.Module):
    """z (z_dim × 1 × 1) → ConvT(z, d·2ⁿ, 4, 1, 0) + BN + ReLU → n × [ConvT k4 s2 p1 + BN + ReLU]
    (channels halving down to d, spatial size/2) → the setup's last ×2 upsampling → Tanh.

    At 128×128 with d = 32 this is the official generator (512/256/128/64/32 channels). The shared
    layers are built before the last stage, so two setups built under the same seed share their
    initial weights everywhere but in the last stage (a paired comparison).
    """

    def __init__(self, setup: str = "BASELINE", z_dim: int = 128, size: int = 32, channels: int = 3, dim: int = 32):
        super().__init__()
        parse_setup(setup)
        n = _n_up(size)
        self.setup, self.z_dim, self.size, self.channels, self.dim = setup, z_dim, size, channels, dim
        c = dim * 2 ** n
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
        for _ in range(n):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        self.body = nn.Sequential(*layers)
        self.last = last_upsampling(setup, dim, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.last(self.body(z.view(z.shape[0], self.z_dim, 1, 1))))


class Discriminator(nn.Module):
    """Conv k4 s2 + LeakyReLU(0.2), n × [Conv k4 s2 + norm + LeakyReLU], logit Conv k4 (official layout).

    ``norm='batch'`` without a gradient penalty, ``'layer'`` (GroupNorm(1, C)) with one (WGAN-GP).
    """

    def __init__(self, size: int = 32, channels: int = 3, dim: int = 32, norm: str = "batch"):
        super().__init__()
        n = _n_up(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, dim, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = dim
        for _ in range(n):
            nrm = nn.BatchNorm2d(c * 2) if norm == "batch" else nn.GroupNorm(1, c * 2)
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nrm, nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def init_weights(m: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BN weights N(1, 0.02), biases 0 (buffers untouched)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
