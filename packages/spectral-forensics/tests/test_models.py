"""GAN zoo: shapes, the upsampling modules' frequency responses, losses and the spectral regulariser."""

import numpy as np
import pytest
import torch

from spectral_forensics.losses import d_loss, g_loss, gradient_penalty, spectral_loss
from spectral_forensics.models import PAPER_SETUPS, Discriminator, Generator, ZeroInsert, parse_setup
from spectral_forensics.train import build_pair


@pytest.mark.parametrize("setup", PAPER_SETUPS)
def test_every_setup_generates_the_right_shape(setup):
    g = Generator(setup, z_dim=8, size=16, channels=3, dim=4)
    y = g(torch.randn(2, 8))
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1
    assert Discriminator(16, 3, 4)(y).shape == (2,)


def test_official_channel_widths_at_128():
    g = Generator("BASELINE", size=128, channels=3, dim=32)
    widths = [m.out_channels for m in g.body if isinstance(m, torch.nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 32]
    assert isinstance(g.last[0], torch.nn.ConvTranspose2d) and g.last[0].kernel_size == (4, 4)


def test_setup_names():
    assert parse_setup("N.1.5") == ("N", 1, 5) and parse_setup("Z.3.5") == ("Z", 3, 5)
    for bad in ("N.3.3", "X.1.5", "N.1.4", "baseline", ""):
        with pytest.raises(ValueError):
            parse_setup(bad)


def test_zero_insertion_creates_spectral_replicas():
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    y = ZeroInsert(1)(x)
    assert y.shape == (1, 1, 16, 16)
    assert torch.equal(y[..., ::2, ::2], x) and y[..., 1::2, :].abs().sum() == 0 and y[..., :, 1::2].abs().sum() == 0
    fx, fy = torch.fft.fft2(x[0, 0]), torch.fft.fft2(y[0, 0])
    assert torch.allclose(fy, fx.repeat(2, 2))  # Y(k) = X(k mod N): the spectrum replicated at Nyquist


def test_nearest_is_zero_insertion_followed_by_a_box_filter():
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    near = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    z = ZeroInsert(1)(x)
    box = torch.nn.functional.conv2d(torch.nn.functional.pad(z, (1, 0, 1, 0)), torch.ones(1, 1, 2, 2,
                                                                                         dtype=torch.float64))
    assert torch.allclose(near, box)
    f = torch.fft.fft2(near[0, 0]).abs()
    assert f[8, :].max() < 1e-10 and f[:, 8].max() < 1e-10  # the box response is zero at Nyquist
    assert f.sum() > 1


def test_bilinear_attenuates_high_frequencies_more_than_zero_insertion():
    x = torch.randn(4, 1, 16, 16)
    bil = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    zi = ZeroInsert(1)(x) * 4  # same DC gain
    def hf(y):
        f = torch.fft.fftshift(torch.fft.fft2(y[:, 0]), dim=(-2, -1)).abs() ** 2
        r = torch.hypot(*torch.meshgrid(torch.arange(32) - 16.0, torch.arange(32) - 16.0, indexing="ij"))
        return f[:, r > 12].sum() / f.sum()
    assert hf(bil) < 0.1 * hf(zi)


def test_setups_share_their_initial_layers_under_one_seed():
    a, _ = build_pair("BASELINE", "dcgan", 16, 1, 4, 4, 8, seed=3)
    b, _ = build_pair("N.1.5", "dcgan", 16, 1, 4, 4, 8, seed=3)
    for pa, pb in zip(a.body.parameters(), b.body.parameters()):
        assert torch.equal(pa, pb)


def test_gan_losses_by_hand():
    r, f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = torch.nn.functional.softplus
    assert torch.isclose(d_loss("dcgan", r, f), sp(-r).mean() + sp(f).mean())
    assert torch.isclose(g_loss("dcgan", f), sp(-f).mean())
    assert torch.isclose(d_loss("lsgan", r, f), ((r - 1) ** 2).mean() + (f ** 2).mean())
    assert torch.isclose(d_loss("wgan-gp", r, f), f.mean() - r.mean())
    assert torch.isclose(g_loss("wgan-gp", f), -f.mean())


def test_gradient_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    lin = torch.nn.Linear(12, 1)
    critic = lambda x: lin(x.flatten(1)).view(-1)  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2))
    assert torch.isclose(gp, lin.weight.pow(2).sum())


def test_spectral_regulariser_has_a_gradient_into_the_generator():
    torch.manual_seed(0)
    g = Generator("BASELINE", z_dim=8, size=16, channels=1, dim=4)
    real = torch.rand(6, 1, 16, 16) * 2 - 1
    loss = spectral_loss(g(torch.randn(6, 8)), real)
    loss.backward()
    grads = [p.grad.abs().sum().item() for p in g.parameters() if p.grad is not None]
    assert np.isfinite(loss.item()) and len(grads) == len(list(g.parameters())) and sum(grads) > 0
    assert g.last[0].weight.grad.abs().max() > 0


def test_a_killed_gan_resumes_to_the_same_weights(tmp_path):
    import numpy as np

    from spectral_forensics.train import train_gan

    imgs = np.random.default_rng(0).integers(0, 255, size=(40, 1, 16, 16)).astype(np.uint8)
    tcfg = {"gan": "dcgan", "steps": 5, "batch_size": 8, "lr": 2e-4, "n_d": 1, "z_dim": 8, "g_dim": 2, "d_dim": 2,
            "ckpt_every": 2}
    cpu = torch.device("cpu")
    straight = train_gan(imgs, "N.1.3", tcfg, 0, cpu)

    def kill_at_3(rec):
        if rec["step"] == 3:
            raise KeyboardInterrupt

    ckpt = tmp_path / "g.pt"
    with pytest.raises(KeyboardInterrupt):
        train_gan(imgs, "N.1.3", tcfg, 0, cpu, ckpt, log_fn=kill_at_3)
    assert torch.load(ckpt, weights_only=False)["step"] == 2
    resumed = train_gan(imgs, "N.1.3", tcfg, 0, cpu, ckpt)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
