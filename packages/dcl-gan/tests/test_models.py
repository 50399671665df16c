"""Both generator families expose the interface the harness relies on."""

import pytest
import torch

from dcl_gan.models import StyleGAN2Discriminator, StyleGAN2Generator, build_gan


@pytest.mark.parametrize("arch", [
    {"name": "dcgan", "z_dim": 16, "width": 4, "channels": 1, "size": 32},
    {"name": "stylegan2", "z_dim": 16, "width": 4, "channels": 3, "size": 32, "n_mlp": 2, "channel_multiplier": 1,
     "max_channels": 16},
])
def test_generator_and_discriminator_interface(arch):
    torch.manual_seed(0)
    G, D = build_gan(arch)
    z = torch.randn(4, arch["z_dim"])
    x, feats = G(z, return_feats=True)
    assert x.shape == (4, arch["channels"], 32, 32) and len(feats) >= 3
    assert all(f.shape[0] == 4 for f in feats)
    logits, dfeats = D(x, return_feats=True)
    assert logits.shape == (4,) and len(dfeats) >= 3
    patch = D(x, patch=True)
    assert patch.ndim == 2 and patch.shape[0] == 4 and patch.shape[1] > 1
    assert len(D.blocks) >= 3
    # a sample does not depend on the rest of its batch (no batch norm): needed by the contrastive terms
    if arch["name"] == "dcgan":
        assert torch.allclose(G(z[:1]), x[:1], atol=1e-4)


def test_stylegan2_modulation_demodulates_to_unit_norm():
    from dcl_gan.models import ModulatedConv2d

    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 6, 3, 16)
    x = torch.zeros(2, 8, 5, 5)
    x[:, :, 2, 2] = torch.randn(2, 8)  # a single impulse: the output at the centre is w · x
    style = torch.randn(2, 16)
    out = conv(x, style)
    s = conv.modulation(style).view(2, 1, 8, 1, 1)
    w = conv.scale * conv.weight * s
    w = w / w.pow(2).sum([2, 3, 4], keepdim=True).sqrt()
    assert torch.allclose(w.pow(2).sum([2, 3, 4]), torch.ones(2, 6), atol=1e-5)
    expect = torch.einsum("boc,bc->bo", w[:, :, :, 1, 1], x[:, :, 2, 2])
    assert torch.allclose(out[:, :, 2, 2], expect, atol=1e-5)


def test_stylegan2_sizes():
    G = StyleGAN2Generator(size=64, z_dim=8, n_mlp=1, channel_multiplier=1, channels=3, max_channels=8)
    D = StyleGAN2Discriminator(size=64, channel_multiplier=1, channels=3, max_channels=8)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, 64, 64) and D(x).shape == (2,)
