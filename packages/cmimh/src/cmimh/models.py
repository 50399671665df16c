"""Networks: per-modality hashing MLPs on fixed features, and the critic heads of the MI bounds."""

from __future__ import annotations

import torch
from torch import nn


class HashNet(nn.Module):
    """Features → hidden ReLU layer → ``bits`` logits. CMIMH reads σ(logits) as Bernoulli probabilities,
    the DJSRH-style baseline tanh(logits) as relaxed codes; test codes are ``logits > 0`` for both."""

    def __init__(self, in_dim: int, bits: int, hidden: int = 512, input_dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(input_dropout), nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, bits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class InputCritic(nn.Module):
    """``T(b, x) = cos(u(2b−1), v(x)) / τ``: separable critic of the code↔input MI bound."""

    def __init__(self, in_dim: int, bits: int, dim: int = 128, hidden: int = 256):
        super().__init__()
        self.u = nn.Linear(bits, dim)
        self.v = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def embed(self, b: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.u(2 * b - 1), self.v(x)


@torch.no_grad()
def encode(net: HashNet, x, batch: int = 4096):
    """{0,1} uint8 codes ``logits > 0`` (the mode of Bern(σ(logits))) of a feature matrix."""
    import numpy as np

    net.eval()
    out = []
    for s in range(0, len(x), batch):
        out.append((net(torch.as_tensor(x[s:s + batch], dtype=torch.float32)) > 0).to(torch.uint8).numpy())
    return np.concatenate(out) if out else np.zeros((0, net.net[-1].out_features), np.uint8)
