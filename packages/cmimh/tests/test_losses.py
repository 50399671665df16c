"""MI bounds on Gaussians / Bernoullis with known MI; the estimator, critics and DJSRH similarity by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cmimh.losses import (
    cmimh_loss,
    code_critic,
    djsrh_similarity,
    infonce_bound,
    jsd_estimate,
    nwj_bound,
    sample_codes,
)


def gaussian_scores(rho: float, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """Critic ``log p(y|x)/p(y)`` for unit Gaussians with correlation ρ; true MI = −½ log(1−ρ²)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, generator=g, dtype=torch.float64)
    s2 = 1 - rho**2
    T = -((y[None, :] - rho * x[:, None]) ** 2) / (2 * s2) - 0.5 * math.log(s2) + y[None, :] ** 2 / 2
    return T, -0.5 * math.log(1 - rho**2)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_nwj_with_optimal_critic_recovers_gaussian_mi(rho):
    vals = [float(nwj_bound(gaussian_scores(rho, 400, s)[0] + 1.0)) for s in range(20)]
    mi = gaussian_scores(rho, 2, 0)[1]
    assert np.mean(vals) == pytest.approx(mi, abs=0.06)


@pytest.mark.parametrize("rho", [0.5, 0.8, 0.95])
def test_infonce_is_a_lower_bound_and_tight_for_small_mi(rho):
    n = 256
    vals = [float(infonce_bound(gaussian_scores(rho, n, s)[0])) for s in range(10)]
    mi = gaussian_scores(rho, 2, 0)[1]
    est = float(np.mean(vals))
    assert est <= mi + 0.03
    assert est <= math.log(n) + 1e-9
    if mi < 0.6:  # far below log n the bound is nearly tight
        assert est == pytest.approx(mi, abs=0.06)
    # a useless (constant) critic gives a bound of 0
    assert float(infonce_bound(torch.zeros(n, n))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_bounds_on_a_binary_symmetric_channel(eps):
    """X ~ Bern(½) bits, Y = X xor Bern(ε) per bit (d bits): MI = d (log 2 − H(ε))."""
    d, n = 3, 512
    mi = d * (math.log(2) + eps * math.log(eps) + (1 - eps) * math.log(1 - eps))
    nwj, nce = [], []
    for s in range(15):
        g = torch.Generator().manual_seed(s)
        x = torch.bernoulli(torch.full((n, d), 0.5), generator=g)
        y = (x + torch.bernoulli(torch.full((n, d), eps), generator=g)) % 2
        agree = (x[:, None, :] == y[None, :, :]).double()
        T = (agree * math.log(2 * (1 - eps)) + (1 - agree) * math.log(2 * eps)).sum(2)
        nwj.append(float(nwj_bound(T + 1.0)))
        nce.append(float(infonce_bound(T)))
    assert np.mean(nwj) == pytest.approx(mi, abs=0.05)
    assert np.mean(nce) <= mi + 0.03
    assert np.mean(nce) > 0.5 * mi


def test_jsd_estimate_prefers_the_true_ratio():
    T, _ = gaussian_scores(0.8, 300, 0)
    assert float(jsd_estimate(T)) > float(jsd_estimate(torch.zeros_like(T)))
    assert float(jsd_estimate(T)) > float(jsd_estimate(-T))


def test_straight_through_sampling():
    p = torch.tensor([[0.0, 1.0, 0.3]], requires_grad=True)
    b = sample_codes(p, torch.Generator().manual_seed(0))
    assert b[0, 0].item() == 0 and b[0, 1].item() == 1 and b[0, 2].item() in (0.0, 1.0)
    (b * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert torch.equal(p.grad, torch.tensor([[1.0, 2.0, 3.0]]))  # ∂b̃/∂p = 1


def test_code_critic_is_a_function_of_hamming_distance():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, (5, 16)), rng.integers(0, 2, (7, 16))
    ham = (a[:, None] != b[None]).sum(2)
    got = code_critic(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), 0.5).numpy()
    assert np.allclose(got, (1 - 2 * ham / 16) / 0.5)


def test_identical_forcing_term_and_weights():
    torch.manual_seed(0)
    p_i, p_t = torch.rand(8, 4), torch.rand(8, 4)
    b_i, b_t = (p_i > 0.5).float(), (p_t > 0.5).float()
    s = torch.randn(8, 8)
    zero, parts = cmimh_loss(p_i, p_t, b_i, b_t, s, s, alpha_img=0, alpha_txt=0, lam=0, gamma=0, tau_cross=1)
    assert float(zero) == 0.0
    gap, _ = cmimh_loss(p_i, p_t, b_i, b_t, s, s, alpha_img=0, alpha_txt=0, lam=0, gamma=2.0, tau_cross=1)
    assert float(gap) == pytest.approx(2.0 * float(((p_i - p_t) ** 2).sum(1).mean()) / 4, rel=1e-6)
    one, parts = cmimh_loss(p_i, p_t, b_i, b_t, s, s, alpha_img=1, alpha_txt=0, lam=0, gamma=0, tau_cross=1)
    assert float(one) == pytest.approx(-parts["mi_img"], rel=1e-6)


def test_djsrh_similarity_by_hand():
    fi = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    ft = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ci = np.array([[1, 0, 1 / math.sqrt(2)], [0, 1, 1 / math.sqrt(2)], [1 / math.sqrt(2), 1 / math.sqrt(2), 1]])
    ct = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], float)
    s = 0.6 * ci + 0.4 * ct
    expect = 0.7 * s + 0.3 * s @ s.T / 3
    assert np.allclose(djsrh_similarity(fi, ft, 0.6, 0.3).numpy(), expect, atol=1e-6)
