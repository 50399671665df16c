"""Step-2 hash functions: an image CNN, a text CNN over word embeddings, an MLP for feature inputs.

The abstract says only "the powerful CNN for images" and "a CNN-based deep architecture to learn text
modality" over word embeddings; the architectures below are this package's (sized for CPU minutes):

* :class:`ImageCNN` -- four 3×3 conv blocks (conv-BN-ReLU, max-pool after each of the first three),
  global average pooling, one linear hash layer per code length, ``tanh``.
* :class:`TextCNN` -- Kim (2014)-style: word embeddings (learned in-package, or initialised from a local
  GloVe/word2vec file), parallel 1-D convolutions of widths (1, 2, 3), max-over-time pooling, dropout,
  one linear hash layer per code length, ``tanh``. Padding (id 0) is masked out of the max.
* :class:`FeatureMLP` -- for datasets given as precomputed feature vectors.

Each model has one head per code length (``heads``); with one length it is the usual single head.
"""

from __future__ import annotations

import torch
from torch import nn


class _Heads(nn.Module):
    def __init__(self, dim: int, bits: list[int]):
        super().__init__()
        self.heads = nn.ModuleDict({str(b): nn.Linear(dim, b) for b in bits})

    def forward(self, h: torch.Tensor) -> dict[int, torch.Tensor]:
        return {int(b): torch.tanh(head(h)) for b, head in self.heads.items()}


class ImageCNN(nn.Module):
    def __init__(self, bits: list[int], width: int = 32, in_channels: int = 3):
        super().__init__()
        w = width
        layers, c = [], in_channels
        for i, out in enumerate((w, 2 * w, 4 * w, 4 * w)):
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out = _Heads(c, bits)

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        return self.out(self.features(x))


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, bits: list[int], embed_dim: int = 64, filters: int = 64,
                 widths: tuple[int, ...] = (1, 2, 3), dropout: float = 0.2,
                 embeddings: torch.Tensor | None = None, freeze_embeddings: bool = False):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        if embeddings is not None:
            with torch.no_grad():
                self.embed.weight.copy_(embeddings)
            self.embed.weight.requires_grad_(not freeze_embeddings)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, filters, k, padding=k - 1) for k in widths])
        self.drop = nn.Dropout(dropout)
        self.out = _Heads(filters * len(widths), bits)

    def forward(self, ids: torch.Tensor) -> dict[int, torch.Tensor]:
        e = self.embed(ids).transpose(1, 2)  # (n, E, L)
        pad = (ids == 0)
        feats = []
        for conv in self.convs:
            h = torch.relu(conv(e))[:, :, : ids.shape[1]]  # positions aligned with the tokens
            h = h.masked_fill(pad[:, None, :], float("-inf"))
            h = h.amax(dim=2)
            feats.append(torch.where(torch.isfinite(h), h, torch.zeros_like(h)))  # empty text → 0
        return self.out(self.drop(torch.cat(feats, dim=1)))


class FeatureMLP(nn.Module):
    def __init__(self, in_dim: int, bits: list[int], hidden: int = 512, dropout: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.out = _Heads(hidden, bits)

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        return self.out(self.body(x))
