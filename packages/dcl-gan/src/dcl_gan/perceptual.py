"""LPIPS (Zhang et al. 2018) and Inception-v3 features from local weight files (never downloaded).

LPIPS(x, y) = Σ_l 1/(H_l W_l) Σ_hw Σ_c w_lc (f̂_lchw(x) − f̂_lchw(y))², f̂ a backbone's feature map at the
standard layers with every spatial position's channel vector scaled to unit length (ε = 1e-10, as the
official `lpips` package), w_l the per-channel linear weights ("lin" layers) of the official weight files.

- backbone: torchvision ``vgg16`` (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 = ``features[:4]``,
  ``[4:9]``, ``[9:16]``, ``[16:23]``, ``[23:30]``) or ``alexnet`` (relu1..relu5 = ``features[:2]``, ``[2:5]``,
  ``[5:8]``, ``[8:10]``, ``[10:12]``), from a torchvision state-dict file (``features.*`` keys required;
  ``classifier.*`` keys, if present, are ignored).
- lin weights: the official ``vgg.pth`` / ``alex.pth`` layout, ``lin{l}.model.1.weight`` of shape
  (1, C_l, 1, 1), l = 0..4 (non-negative, as trained).
- input: images in [-1, 1] (grey images are repeated to 3 channels), shifted and scaled by the official
  ScalingLayer (shift −0.030, −0.088, −0.188; scale 0.458, 0.448, 0.450); no resizing (as the official
  ``lpips.LPIPS.forward``).

Because the weights are non-negative, LPIPS is a squared Euclidean distance between embeddings
√w_lc f̂_l / √(H_l W_l); pairwise distances are computed layer by layer from those embeddings.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reprokit import UsageError

NETS = ("vgg", "alex")
SLICES = {"vgg": (0, 4, 9, 16, 23, 30), "alex": (0, 2, 5, 8, 10, 12)}
CHANNELS = {"vgg": (64, 128, 256, 512, 512), "alex": (64, 192, 384, 256, 256)}
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10


def load_state_file(path: Path, what: str) -> dict[str, torch.Tensor]:
    """A dict of tensors from a ``torch.save`` file (weights_only: no code runs), or a UsageError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{what}: no such file {path}")
    if path.stat().st_size == 0:
        raise UsageError(f"{what}: {path} is empty")
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # an old (non-zip) serialisation cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any unreadable file is a usage error
        raise UsageError(f"{what}: {path} is not a readable PyTorch state-dict file ({type(e).__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UsageError(f"{what}: {path} does not hold a state dict (a mapping of names to tensors)")
    return state


def _check_keys(state: dict, expected: dict[str, tuple], path: Path, what: str, ignore: str | None = None) -> None:
    def skip(k):  # BatchNorm counters are absent from older files and not needed
        return k.endswith("num_batches_tracked") or bool(ignore and k.startswith(ignore))

    expected = {k: v for k, v in expected.items() if not skip(k)}
    got = {k for k in state if not skip(k)}
    missing, extra = sorted(set(expected) - got), sorted(got - set(expected))
    if missing or extra:
        parts = ([f"missing {missing[:3]}"] if missing else []) + ([f"unexpected {extra[:3]}"] if extra else [])
        raise UsageError(f"{what}: {path} does not have the expected keys ({'; '.join(parts)})")
    for k, shape in expected.items():
        if tuple(state[k].shape) != tuple(shape):
            raise UsageError(f"{what}: {path} key {k} has shape {tuple(state[k].shape)}, expected {tuple(shape)}")


def _backbone(net: str) -> nn.Sequential:
    from torchvision.models import alexnet
    from torchvision.models.vgg import cfgs, make_layers

    if net not in NETS:
        raise UsageError(f"eval.lpips_net must be one of {NETS}, got {net!r}")
    # vgg16().features without initialising the 120 M classifier weights
    return make_layers(cfgs["D"]) if net == "vgg" else alexnet(weights=None).features


def lin_keys(net: str) -> dict[str, tuple]:
    return {f"lin{i}.model.1.weight": (1, c, 1, 1) for i, c in enumerate(CHANNELS[net])}


def check_lpips_files(net: str, backbone: Path, lin: Path) -> tuple[nn.Sequential, dict, dict]:
    """Both files read and validated against the architecture; UsageError naming the file otherwise."""
    if net not in NETS:
        raise UsageError(f"eval.lpips_net must be one of {NETS}, got {net!r}")
    lw = load_state_file(lin, "eval.lpips_weights")
    _check_keys(lw, lin_keys(net), Path(lin), "eval.lpips_weights")
    for k, v in lw.items():
        if not torch.isfinite(v).all() or (v < 0).any():
            raise UsageError(f"eval.lpips_weights: {lin} key {k} has negative or non-finite weights")
    feats = _backbone(net)
    bb = load_state_file(backbone, "eval.lpips_backbone")
    expected = {f"features.{k}": tuple(v.shape) for k, v in feats.state_dict().items()}
    _check_keys(bb, expected, Path(backbone), "eval.lpips_backbone", ignore="classifier.")
    return feats, bb, lw


class LPIPS(nn.Module):
    """LPIPS with a torchvision VGG-16 / AlexNet backbone and official-layout lin weights, from local files."""

    def __init__(self, net: str, backbone: Path, lin: Path):
        super().__init__()
        feats, bb, lw = check_lpips_files(net, backbone, lin)
        feats.load_state_dict({k[len("features."):]: v for k, v in bb.items() if k.startswith("features.")})
        cut = SLICES[net]
        self.net = net
        self.slices = nn.ModuleList(feats[a:b] for a, b in itertools.pairwise(cut))
        for i in range(len(self.slices)):
            self.register_buffer(f"w{i}", lw[f"lin{i}.model.1.weight"].detach().float().reshape(-1).clone())
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @property
    def name(self) -> str:
        return {"vgg": "VGG-16", "alex": "AlexNet"}[self.net]

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised feature maps of images in [-1, 1]."""
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        h = (x - self.shift) / self.scale
        out = []
        for s in self.slices:
            h = s(h)
            out.append(h / (h.pow(2).sum(1, keepdim=True).sqrt() + EPS))
        return out

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per layer: √w_c f̂ / √(HW), flattened to (N, C·H·W); LPIPS = Σ_l ‖e_l(x) − e_l(y)‖²."""
        out = []
        for i, m in enumerate(self.maps(x)):
            w = getattr(self, f"w{i}").sqrt().view(1, -1, 1, 1)
            out.append((m * w / np.sqrt(m.shape[-1] * m.shape[-2])).flatten(1))
        return out

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS of matched pairs (N,) — the formula written out, as the official package computes it."""
        total = torch.zeros(len(x), device=x.device)
        for i, (a, b) in enumerate(zip(self.maps(x), self.maps(y))):
            lin = getattr(self, f"w{i}").view(1, -1, 1, 1)
            total = total + ((a - b) ** 2 * lin).sum(1).mean((1, 2))
        return total

    @torch.no_grad()
    def pairwise(self, a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """(N, M) LPIPS between every image of ``a`` and every image of ``b`` (float images in [-1, 1])."""
        dev = self.shift.device
        a, b = torch.as_tensor(np.asarray(a), dtype=torch.float32), torch.as_tensor(np.asarray(b), dtype=torch.float32)
        eb = [torch.cat(parts) for parts in zip(*(self.embed(b[i:i + batch_size].to(dev))
                                                    for i in range(0, len(b), batch_size)))]
        nb = [e.pow(2).sum(1).double() for e in eb]
        out = []
        for i in range(0, len(a), batch_size):
            ea = self.embed(a[i:i + batch_size].to(dev))
            d = sum(e.pow(2).sum(1).double()[:, None] + n[None, :] - 2 * (e @ f.T).double()
                    for e, f, n in zip(ea, eb, nb))
            out.append(d.clamp_min(0).cpu().numpy())
        return np.concatenate(out)


class InceptionFeatures(nn.Module):
    """torchvision Inception-v3 pool features (2048-d) from a local state-dict file (no download).

    Accepts the state dict with or without the auxiliary classifier (``AuxLogits.*``); ``fc.*`` is
    required by the layout but replaced by the identity. Input in [-1, 1] (the scaling of the ported
    Google weights, so ``transform_input`` stays off), resized bilinearly to 299 × 299."""

    def __init__(self, weights: Path):
        super().__init__()
        net, state = check_inception_file(weights)
        net.load_state_dict(state, strict=False)  # keys checked (BatchNorm counters aside)
        net.fc = nn.Identity()
        self.net = net.eval().requires_grad_(False)

    def forward(self, x):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        return self.net(x)


def check_inception_file(weights: Path):
    from torchvision.models import inception_v3

    state = load_state_file(weights, "eval.inception_weights")
    aux = any(k.startswith("AuxLogits.") for k in state)
    net = inception_v3(weights=None, aux_logits=aux, init_weights=False)
    _check_keys(state, {k: tuple(v.shape) for k, v in net.state_dict().items()}, Path(weights),
                "eval.inception_weights")
    return net, state
