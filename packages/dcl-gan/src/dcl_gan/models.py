"""Generators and discriminators that expose multi-level features, plus the evaluation networks.

Both generator families share one interface, so every adaptation method runs unchanged on either:

- ``G(z, return_feats=True) -> (images, [f_1, ..., f_L])``: the output of every synthesis block;
- ``D(x, return_feats=True, patch=False) -> (logits (B,), [h_1, ..., h_M])``; ``patch=True`` returns the
  patch-level logits (B, P) of CDC's extra head on an intermediate feature map;
- ``D.blocks``: its layers from the input on, the ones FreezeD freezes first.

``dcgan``: a DCGAN-lite for CPU presets (no batch norm, so a sample never depends on its batch).
``stylegan2``: StyleGAN2 (mapping network, modulated/demodulated convolutions, noise inputs, skip
generator, residual discriminator with minibatch stddev) written in plain PyTorch ops: bilinear
resampling instead of the official upfirdn2d blur kernels, no custom CUDA.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


# -------------------------------------------------------------------------------------- DCGAN-lite
class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 64, width: int = 32, channels: int = 1, size: int = 32):
        super().__init__()
        if size not in (32, 64, 128):
            raise ValueError(f"dcgan generator supports sizes 32, 64, 128, not {size}")
        self.z_dim, self.size = z_dim, size
        n_up = int(math.log2(size)) - 2
        chans = [width * 2 ** min(n_up - i, 3) for i in range(n_up + 1)]  # e.g. 128, 64, 32, 32
        self.fc = nn.Linear(z_dim, chans[0] * 16)
        self.c0 = chans[0]
        self.blocks = nn.ModuleList()
        for i in range(n_up):
            self.blocks.append(nn.Sequential(
                nn.ConvTranspose2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.LeakyReLU(0.2), PixelNorm()))
        self.to_img = nn.Conv2d(chans[-1], channels, 3, padding=1)

    def forward(self, z, return_feats: bool = False):
        h = F.leaky_relu(self.fc(z), 0.2).view(len(z), self.c0, 4, 4)
        h = h * torch.rsqrt(h.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        feats = [h]
        for b in self.blocks:
            h = b(h)
            feats.append(h)
        img = torch.tanh(self.to_img(h))
        return (img, feats) if return_feats else img


class DCGANDiscriminator(nn.Module):
    def __init__(self, width: int = 32, channels: int = 1, size: int = 32):
        super().__init__()
        n_down = int(math.log2(size)) - 2
        chans = [width * 2 ** min(i, 3) for i in range(n_down + 1)]  # 32, 64, 128, 256
        layers = [nn.Sequential(nn.Conv2d(channels, chans[0], 3, padding=1), nn.LeakyReLU(0.2))]
        for i in range(n_down):
            layers.append(nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.LeakyReLU(0.2)))
        self.blocks = nn.ModuleList(layers)
        self.patch_at = len(layers) - 2  # the 8x8 map (at 32x32): CDC's patch-level head
        self.patch_head = nn.Conv2d(chans[-2], 1, 3, padding=1)
        self.final = nn.Linear(chans[-1] * 16, 1)

    def forward(self, x, return_feats: bool = False, patch: bool = False):
        feats, h, p = [], x, None
        for i, b in enumerate(self.blocks):
            h = b(h)
            feats.append(h)
            if patch and i == self.patch_at:
                p = self.patch_head(h).flatten(1)
        out = p if patch else self.final(h.flatten(1)).squeeze(1)
        return (out, feats) if return_feats else out


# --------------------------------------------------------------------------------------- StyleGAN2
class EqualLinear(nn.Module):
    def __init__(self, in_dim, out_dim, bias_init: float = 0.0, lr_mul: float = 1.0, activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.activation = 1 / math.sqrt(in_dim) * lr_mul, lr_mul, activation

    def forward(self, x):
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * math.sqrt(2) if self.activation else out


class ModulatedConv2d(nn.Module):
    """Weight modulation by the style, demodulation, grouped convolution (StyleGAN2 eq. 1–3)."""

    def __init__(self, in_ch, out_ch, kernel, style_dim, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.scale = 1 / math.sqrt(in_ch * kernel ** 2)
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)
        self.demodulate, self.upsample, self.pad, self.out_ch = demodulate, upsample, kernel // 2, out_ch

    def forward(self, x, style):
        b, c, h, w = x.shape
        s = self.modulation(style).view(b, 1, c, 1, 1)
        weight = self.scale * self.weight * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4], keepdim=True) + 1e-8)
        weight = weight.view(b * self.out_ch, c, *weight.shape[-2:])
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            h, w = h * 2, w * 2
        out = F.conv2d(x.reshape(1, b * c, h, w), weight, padding=self.pad, groups=b)
        return out.view(b, self.out_ch, h, w)


class StyledConv(nn.Module):
    def __init__(self, in_ch, out_ch, style_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise_weight = nn.Parameter(torch.zeros(1))
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, style, noise=None):
        out = self.conv(x, style)
        if noise is None:
            noise = out.new_empty(out.shape[0], 1, *out.shape[2:]).normal_()
        out = out + self.noise_weight * noise + self.bias
        return F.leaky_relu(out, 0.2) * math.sqrt(2)


class ToRGB(nn.Module):
    def __init__(self, in_ch, style_dim, channels, upsample=True):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, channels, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.upsample = upsample

    def forward(self, x, style, skip=None):
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


def _sg2_channels(size: int, mult: int) -> dict[int, int]:
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * mult, 128: 128 * mult, 256: 64 * mult, 512: 32 * mult,
            1024: 16 * mult}
    return {k: v for k, v in base.items() if k <= size}


class StyleGAN2Generator(nn.Module):
    """Module names follow the common PyTorch port (style, input, conv1, to_rgb1, convs, to_rgbs)."""

    def __init__(self, size=256, z_dim=512, n_mlp=8, channel_multiplier=2, channels=3, max_channels=512):
        super().__init__()
        self.size, self.z_dim = size, z_dim
        ch = {k: min(v, max_channels) for k, v in _sg2_channels(size, channel_multiplier).items()}
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(z_dim, z_dim, lr_mul=0.01, activation=True)
                                                  for _ in range(n_mlp)])
        self.input = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        self.conv1 = StyledConv(ch[4], ch[4], z_dim)
        self.to_rgb1 = ToRGB(ch[4], z_dim, channels, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = ch[4]
        for res in sorted(ch)[1:]:
            self.convs.append(StyledConv(in_ch, ch[res], z_dim, upsample=True))
            self.convs.append(StyledConv(ch[res], ch[res], z_dim))
            self.to_rgbs.append(ToRGB(ch[res], z_dim, channels))
            in_ch = ch[res]

    def forward(self, z, return_feats: bool = False):
        w = self.style(z)
        h = self.input.expand(len(z), -1, -1, -1)
        h = self.conv1(h, w)
        feats = [h]
        skip = self.to_rgb1(h, w)
        for i, to_rgb in enumerate(self.to_rgbs):
            for conv in (self.convs[2 * i], self.convs[2 * i + 1]):
                h = conv(h, w)
                feats.append(h)
            skip = to_rgb(h, w, skip)
        img = skip
        return (img, feats) if return_feats else img


class ConvLayer(nn.Sequential):
    def __init__(self, in_ch, out_ch, kernel, downsample=False, activate=True):
        layers = []
        if downsample:
            layers.append(nn.AvgPool2d(2))
        layers.append(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))
        if activate:
            layers.append(nn.LeakyReLU(0.2))
        super().__init__(*layers)


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False)

    def forward(self, x, feats: list | None = None):
        h1 = self.conv1(x)
        h2 = self.conv2(h1)
        if feats is not None:
            feats += [h1, h2]
        return (h2 + self.skip(x)) / math.sqrt(2)


class StyleGAN2Discriminator(nn.Module):
    def __init__(self, size=256, channel_multiplier=2, channels=3, max_channels=512, stddev_group=4):
        super().__init__()
        ch = {k: min(v, max_channels) for k, v in _sg2_channels(size, channel_multiplier).items()}
        res = sorted(ch, reverse=True)
        first = ConvLayer(channels, ch[size], 1)
        blocks = [first] + [ResBlock(ch[r], ch[r // 2]) for r in res[:-1]]
        self.blocks = nn.ModuleList(blocks)
        self.stddev_group = stddev_group
        self.final_conv = ConvLayer(ch[4] + 1, ch[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(ch[4] * 16, ch[4], activation=True), EqualLinear(ch[4], 1))
        # CDC's patch-level head sits on the 16x16 map (or the smallest above 4x4 for small sizes)
        self.patch_res = 16 if size >= 32 else 8
        self.patch_at = res.index(self.patch_res * 2) + 1 if self.patch_res * 2 in res else 1
        self.patch_head = nn.Conv2d(ch[self.patch_res], 1, 3, padding=1)

    def forward(self, x, return_feats: bool = False, patch: bool = False):
        feats, p = [], None
        h = self.blocks[0](x)
        feats.append(h)
        for i, b in enumerate(self.blocks[1:], start=1):
            h = b(h, feats)
            if patch and i == self.patch_at:
                p = self.patch_head(h).flatten(1)
        if patch:
            return (p, feats) if return_feats else p
        bsz = h.shape[0]
        g = min(bsz, self.stddev_group)
        while bsz % g:
            g -= 1
        s = h.view(g, -1, *h.shape[1:])
        s = torch.sqrt(s.var(0, unbiased=False) + 1e-8).mean([1, 2, 3], keepdim=True).squeeze(0)
        s = s.repeat(g, 1, *h.shape[2:])
        h = self.final_conv(torch.cat([h, s], 1))
        feats.append(h)
        out = self.final_linear(h.flatten(1)).squeeze(1)
        return (out, feats) if return_feats else out


# -------------------------------------------------------------------------------------- factories
def arch_of(cfg: dict, channels: int, size: int) -> dict:
    """The architecture record stored with every checkpoint and compared on load."""
    m = cfg["model"]
    a = {"name": m["name"], "z_dim": int(m["z_dim"]), "width": int(m["width"]), "channels": int(channels),
         "size": int(size)}
    if m["name"] == "stylegan2":
        a.update(n_mlp=int(m["n_mlp"]), channel_multiplier=int(m["channel_multiplier"]),
                 max_channels=int(m["max_channels"]))
    return a


def build_gan(arch: dict) -> tuple[nn.Module, nn.Module]:
    if arch["name"] == "dcgan":
        return (DCGANGenerator(arch["z_dim"], arch["width"], arch["channels"], arch["size"]),
                DCGANDiscriminator(arch["width"], arch["channels"], arch["size"]))
    if arch["name"] == "stylegan2":
        return (StyleGAN2Generator(arch["size"], arch["z_dim"], arch["n_mlp"], arch["channel_multiplier"],
                                   arch["channels"], arch["max_channels"]),
                StyleGAN2Discriminator(arch["size"], arch["channel_multiplier"], arch["channels"],
                                       arch["max_channels"]))
    raise ValueError(f"unknown model {arch['name']!r}")


# ---------------------------------------------------------------------------- evaluation networks
class FeatureNet(nn.Module):
    """A small CNN trained in-package: its penultimate layer gives "FID (in-package features)", its three
    conv maps the LPIPS-style distance (unit-normalised channels, uniform layer weights)."""

    def __init__(self, channels: int = 1, n_out: int = 10, width: int = 32, feat_dim: int = 128):
        super().__init__()
        w = width
        self.c1 = nn.Sequential(nn.Conv2d(channels, w, 3, padding=1), nn.ReLU())
        self.c2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU())
        self.c3 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 16, feat_dim), nn.ReLU())
        self.head = nn.Linear(feat_dim, n_out)

    def maps(self, x):
        h1 = self.c1(x)
        h2 = self.c2(h1)
        h3 = self.c3(h2)
        return [h1, h2, h3]

    def embed(self, x):
        return self.fc(self.pool(self.maps(x)[-1]))

    def forward(self, x):
        return self.head(self.embed(x))
