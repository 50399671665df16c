"""DCL's InfoNCE, CDC's KL and the gradient paths, against hand computations and reference code."""

import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import entropy

from dcl_gan.losses import cdc_kl, dcl_discriminator_loss, dcl_generator_loss, info_nce, others
from dcl_gan.models import DCGANDiscriminator, DCGANGenerator
from dcl_gan.train import adapt


def test_info_nce_matches_a_hand_computed_example():
    # row 1: cos(a,p)=1, negatives cos 0 and -1; row 2: cos(a,p)=1/sqrt2, negatives cos -1 and 0
    anchor = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    positive = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    negatives = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]], [[0.0, -3.0], [3.0, 0.0]]])
    tau = 0.5
    r1 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0) + math.exp(-1 / tau)))
    s = 1 / math.sqrt(2)
    r2 = -math.log(math.exp(s / tau) / (math.exp(s / tau) + math.exp(-1 / tau) + math.exp(0)))
    assert float(info_nce(anchor, positive, negatives, tau)) == pytest.approx((r1 + r2) / 2, rel=1e-6)


def _wrong_info_nce(a, p, n, tau):
    """The common mistake: the positive left out of the denominator."""
    a, p, n = F.normalize(a, dim=-1), F.normalize(p, dim=-1), F.normalize(n, dim=-1)
    pos = (a * p).sum(-1) / tau
    neg = torch.einsum("bd,bnd->bn", a, n) / tau
    return (torch.logsumexp(neg, 1) - pos).mean()


def test_positive_is_always_in_the_denominator():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        a, p, n = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g), torch.randn(6, 4, 5, generator=g)
        loss = float(info_nce(a, p, n, 0.5))
        assert loss >= 0  # -log of a ratio ≤ 1
        # exactly log(1 + Σ exp((s_n - s_p)/τ)) per row, which the mistaken form is not
        an, pn, nn_ = F.normalize(a, dim=-1), F.normalize(p, dim=-1), F.normalize(n, dim=-1)
        sp = (an * pn).sum(-1)
        sn = torch.einsum("bd,bnd->bn", an, nn_)
        ref = torch.log1p(torch.exp((sn - sp[:, None]) / 0.5).sum(1)).mean()
        assert loss == pytest.approx(float(ref), rel=1e-5)
        assert abs(float(_wrong_info_nce(a, p, n, 0.5)) - loss) > 1e-3
    # a perfect positive and orthogonal negatives: loss > 0 but small; the mistake goes negative
    a = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    p = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    n = torch.tensor([[[0.0, 1.0]]], dtype=torch.float64)
    assert float(info_nce(a, p, n, 0.1)) == pytest.approx(math.log1p(math.exp(-10)), rel=1e-6)
    assert float(_wrong_info_nce(a, p, n, 0.1)) < 0


def test_info_nce_refuses_bad_shapes():
    with pytest.raises(ValueError):
        info_nce(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4, 2), 0.1)
    with pytest.raises(ValueError):
        info_nce(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(2, 4, 3), 0.1)


def test_others_drops_the_diagonal():
    x = torch.arange(12.0).view(4, 3)
    o = others(x)
    assert o.shape == (4, 3, 3)
    for i in range(4):
        assert torch.equal(o[i], torch.cat([x[:i], x[i + 1:]]))


def test_cdc_kl_matches_a_reference_computation():
    g = torch.Generator().manual_seed(1)
    fs, ft = torch.randn(5, 3, 2, 2, generator=g), torch.randn(5, 3, 2, 2, generator=g)
    s, t = fs.flatten(1).numpy().astype(np.float64), ft.flatten(1).numpy().astype(np.float64)
    total = 0.0
    for i in range(5):
        js = [j for j in range(5) if j != i]
        cs = np.array([s[i] @ s[j] / np.linalg.norm(s[i]) / np.linalg.norm(s[j]) for j in js])
        ct = np.array([t[i] @ t[j] / np.linalg.norm(t[i]) / np.linalg.norm(t[j]) for j in js])
        total += entropy(np.exp(cs) / np.exp(cs).sum(), np.exp(ct) / np.exp(ct).sum())
    assert float(cdc_kl(fs, ft)) == pytest.approx(total / (5 * 4), rel=1e-5)
    # the official formulation: nn.KLDivLoss() (reduction 'mean') on log-softmax target vs softmax source
    sim = lambda x: (F.normalize(x.flatten(1), dim=1).unsqueeze(1) * others(F.normalize(x.flatten(1), dim=1))).sum(-1)  # noqa: E731
    with warnings.catch_warnings():  # torch warns that 'mean' divides by B(B-1): exactly what CDC used
        warnings.simplefilter("ignore")
        official = torch.nn.KLDivLoss()(F.log_softmax(sim(ft), 1), F.softmax(sim(fs), 1))
    assert float(cdc_kl(fs, ft)) == pytest.approx(float(official), rel=1e-5)
    assert float(cdc_kl(fs, fs)) == pytest.approx(0.0, abs=1e-7)


def test_dcl_terms_send_gradients_only_to_the_target_generator():
    torch.manual_seed(0)
    G_s = DCGANGenerator(16, 4, 1, 32)
    G_t = copy.deepcopy(G_s)
    D = DCGANDiscriminator(4, 1, 32)
    for p in G_s.parameters():
        p.requires_grad_(False)
    for p in D.parameters():
        p.requires_grad_(False)  # D is an encoder for the CL terms (as in the generator step)
    z = torch.randn(6, 16)
    real = torch.rand(10, 1, 32, 32) * 2 - 1
    x_t, f_t = G_t(z, return_feats=True)
    with torch.no_grad():
        x_s, f_s = G_s(z, return_feats=True)
    _, d_t = D(x_t, return_feats=True)
    _, d_s = D(x_s, return_feats=True)
    _, d_r = D(real, return_feats=True)
    loss = dcl_generator_loss(f_t[2], f_s[2], 0.07) + dcl_discriminator_loss(d_t[1], d_s[1], d_r[1], 0.07)
    loss.backward()
    assert all(p.grad is None for p in G_s.parameters())
    assert all(p.grad is None for p in D.parameters())
    assert sum(float(p.grad.abs().sum()) for p in G_t.parameters() if p.grad is not None) > 0
    # positives and negatives are constants of the generator step, even if they carry a graph
    pos = torch.randn(4, 8, requires_grad=True)
    neg = torch.randn(3, 8, requires_grad=True)
    anc = torch.randn(4, 8, requires_grad=True)
    dcl_discriminator_loss(anc, pos, neg, 0.1).backward()
    assert pos.grad is None and neg.grad is None and anc.grad is not None


@pytest.mark.parametrize("method", ["tgan", "freezed", "ewc", "cdc", "dcl"])
def test_adaptation_never_changes_the_source(method):
    torch.manual_seed(0)
    G_s, D_s = DCGANGenerator(16, 4, 1, 32), DCGANDiscriminator(4, 1, 32)
    g0 = {k: v.clone() for k, v in G_s.state_dict().items()}
    d0 = {k: v.clone() for k, v in D_s.state_dict().items()}
    cfg = {"iters": 4, "batch_size": 4, "lr_g": 1e-2, "lr_d": 1e-2, "betas": [0.5, 0.99], "r1": 1.0, "r1_every": 2,
           "freezed": {"layers": 2}, "ewc": {"lambda": 1.0, "fisher_batches": 2},
           "cdc": {"weight": 1000.0, "subspace_freq": 2, "n_anchors": 3, "anchor_std": 0.05},
           "dcl": {"tau": 0.07, "lambda1": 2.0, "lambda2": 0.5}}
    shots = torch.rand(10, 1, 32, 32) * 2 - 1
    G_t, _ = adapt(method, G_s, D_s, shots, cfg, 0, torch.device("cpu"))
    assert all(torch.equal(v, g0[k]) for k, v in G_s.state_dict().items())
    assert all(torch.equal(v, d0[k]) for k, v in D_s.state_dict().items())
    assert all(p.grad is None for p in G_s.parameters())
    assert any(not torch.equal(v, g0[k]) for k, v in G_t.state_dict().items())
