"""The paper's objectives against hand-computed values and torch's reference implementation."""

import math

import pytest
import torch
import torch.nn.functional as F

from lskd.losses import ce_kd_loss, kd_loss, label_smoothing_loss, student_loss


def test_ls_loss_hand_computed():
    # logits [ln 3, 0] → p = [3/4, 1/4]; y = 0
    z, y, a = torch.tensor([[math.log(3.0), 0.0]]), torch.tensor([0]), 0.2
    nll, uniform = math.log(4 / 3), 0.5 * (math.log(4 / 3) + math.log(4.0))
    assert label_smoothing_loss(z, y, a).item() == pytest.approx(0.8 * nll + 0.2 * uniform, rel=1e-6)
    assert label_smoothing_loss(z, y, 0.0).item() == pytest.approx(nll, rel=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3, 0.9])
def test_ls_loss_matches_torch_label_smoothing(alpha):
    g = torch.Generator().manual_seed(0)
    z, y = torch.randn(16, 7, generator=g) * 3, torch.randint(0, 7, (16,), generator=g)
    ref = F.cross_entropy(z, y, label_smoothing=alpha)
    assert label_smoothing_loss(z, y, alpha).item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)


def test_ls_loss_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        label_smoothing_loss(torch.zeros(1, 3), torch.tensor([0]), 1.0)


def test_kd_loss_hand_computed():
    s, t = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])
    kl1 = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert kd_loss(s, t, 1.0).item() == pytest.approx(kl1, rel=1e-6)
    q0 = math.sqrt(3) / (1 + math.sqrt(3))  # softmax([ln3 / 2, 0])
    kl2 = q0 * math.log(q0 / 0.5) + (1 - q0) * math.log((1 - q0) / 0.5)
    assert kd_loss(s, t, 2.0).item() == pytest.approx(4 * kl2, rel=1e-6)  # T² = 4
    assert kd_loss(t, t, 3.0).item() == pytest.approx(0.0, abs=1e-7)


def test_kd_loss_is_batch_mean():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    per = [kd_loss(s[i: i + 1], t[i: i + 1], 2.5).item() for i in range(6)]
    assert kd_loss(s, t, 2.5).item() == pytest.approx(sum(per) / 6, rel=1e-5)


def test_kd_gradient_has_t_squared_scaling():
    """∂/∂s [T²·KL(q‖softmax(s/T))] = T·(p − q)/B: the T² factor keeps gradients O(1/T)·T² = O(T)·(p−q)."""
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(4, 6, generator=g, requires_grad=True), torch.randn(4, 6, generator=g)
    for T in (1.0, 4.0, 16.0):
        (grad,) = torch.autograd.grad(kd_loss(s, t, T), s)
        p, q = torch.softmax(s.detach() / T, -1), torch.softmax(t / T, -1)
        torch.testing.assert_close(grad, T * (p - q) / 4, rtol=1e-4, atol=1e-7)


def test_kd_high_temperature_limit_is_logit_matching():
    """Hinton et al.: as T → ∞, T²·KL → (1/2K)·‖(s − s̄) − (t − t̄)‖² per example."""
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    d = (s - s.mean(-1, keepdim=True)) - (t - t.mean(-1, keepdim=True))
    limit = (d.pow(2).sum(-1) / (2 * 5)).mean().item()
    assert kd_loss(s.double(), t.double(), 1000.0).item() == pytest.approx(limit, rel=1e-3)


def test_ce_kd_mixture_endpoints_and_midpoint():
    g = torch.Generator().manual_seed(4)
    s, t, y = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g), torch.randint(0, 4, (5,), generator=g)
    ce, kd = F.cross_entropy(s, y).item(), kd_loss(s, t, 3.0).item()
    assert ce_kd_loss(s, t, y, 3.0, 0.0).item() == pytest.approx(ce, rel=1e-6)
    assert ce_kd_loss(s, t, y, 3.0, 1.0).item() == pytest.approx(kd, rel=1e-6)
    assert student_loss(s, t, y, 3.0, "mixture", 0.25).item() == pytest.approx(0.75 * ce + 0.25 * kd, rel=1e-6)
    assert student_loss(s, t, y, 3.0, "pure").item() == pytest.approx(kd, rel=1e-6)
    with pytest.raises(ValueError, match="KD mode"):
        student_loss(s, t, y, 3.0, "bogus")
