"""The quantizers' math against hand-computed values, NumPy, brute force and finite differences."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lq_quant import quantizers as Q
from lq_quant.layers import DQWeight, QConv2d

# ----------------------------------------------------------------------------------------- DoReFa


def test_dorefa_weight_hand_example():
    # tanh(w)/(2·max|tanh|) + 1/2 = [0.105, 0.5517, 0.7397, 1.0]; ×3 → [0.315, 1.655, 2.219, 3] → round
    # → [0, 2, 2, 3]/3 → 2x − 1 = [−1, 1/3, 1/3, 1]
    w = torch.tensor([-1.0, 0.1, 0.5, 2.0])
    assert torch.allclose(Q.dorefa_weight(w, 2), torch.tensor([-1.0, 1 / 3, 1 / 3, 1.0]), atol=1e-6)
    # k = 1: E|w|·sign(w), E|w| = (2 + 1 + 3)/3 = 2
    assert torch.allclose(Q.dorefa_weight(torch.tensor([-2.0, 1.0, 3.0]), 1), torch.tensor([-2.0, 2.0, 2.0]))


def test_dorefa_activation_hand_example_and_ste():
    x = torch.tensor([-0.5, 0.2, 0.4, 0.9, 1.7], requires_grad=True)
    y = Q.dorefa_act(x, 2)  # clip → [0, .2, .4, .9, 1]; ×3 round /3 → [0, 1/3, 1/3, 1, 1]
    assert torch.allclose(y, torch.tensor([0.0, 1 / 3, 1 / 3, 1.0, 1.0]), atol=1e-6)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # STE inside the clip, 0 outside


# -------------------------------------------------------------------------------------------- LSQ


def test_lsq_forward_and_step_gradient_hand_example():
    # 2-bit signed: Q_N = 2, Q_P = 1; v/s = [−4, −0.6, 0.4, 0.8, 6] → clip/round → [−2, −1, 0, 1, 1]
    v = torch.tensor([-2.0, -0.3, 0.2, 0.4, 3.0], requires_grad=True)
    s = torch.tensor(0.5, requires_grad=True)
    y = Q.lsq_quantize(v, s, 2, True, v.numel())
    assert torch.allclose(y, torch.tensor([-1.0, -0.5, 0.0, 0.5, 0.5]))
    y.sum().backward()
    # LSQ eq. 3 per element: −Q_N | −v/s + round(v/s) | Q_P  → −2, −0.4, −0.4, 0.2, 1 (sum −1.6), × 1/√(5·1)
    assert s.grad.item() == pytest.approx(-1.6 / math.sqrt(5), rel=1e-5)
    assert v.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_lsq_init_and_unsigned_range():
    v = torch.tensor([1.0, -3.0, 2.0])
    assert Q.lsq_init_step(v, 3, True) == pytest.approx(2 * 2.0 / math.sqrt(3))
    assert Q.lsq_range(3, False) == (0, 7) and Q.lsq_range(3, True) == (4, 3)
    y = Q.lsq_quantize(torch.tensor([-1.0, 0.26, 9.0]), torch.tensor(0.5), 2, False, 3)
    assert y.tolist() == [0.0, 0.5, 1.5]


# ---------------------------------------------------------------------------------------- LQ-Nets


def test_lq_levels_and_quantize_hand_example():
    v = torch.tensor([[0.5, 1.0]])
    lv, enc = Q.lq_levels(v, True)  # ±0.5 ± 1.0
    assert lv.tolist() == [[-1.5, -0.5, 0.5, 1.5]]
    assert torch.allclose((enc[0] * v[0]).sum(1), lv[0])
    x = torch.tensor([[0.7, -2.0, 0.1, 1.2]])
    assert Q.lq_quantize(x, v, True).tolist() == [[0.5, -1.5, 0.5, 1.5]]
    lv, _ = Q.lq_levels(v, False)  # {0, 1}: 0, 0.5, 1.0, 1.5
    assert lv.tolist() == [[0.0, 0.5, 1.0, 1.5]]


def test_lq_qem_step_is_least_squares():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(3, 200)), dtype=torch.float32)
    v = torch.tensor([[0.3, 0.9]] * 3)
    new = Q.lq_qem_step(x, v, True)
    lv, enc = Q.lq_levels(v, True)
    for r in range(3):  # brute force: encodings of the nearest level, then NumPy least squares
        levels = lv[r].numpy()
        idx = np.abs(x[r].numpy()[:, None] - levels[None]).argmin(1)
        B = enc[r].numpy()[idx]  # (M, k)
        ref = np.linalg.lstsq(B, x[r].numpy(), rcond=None)[0]
        assert np.allclose(new[r].numpy(), ref, atol=1e-4)


# ------------------------------------------------------------------------------ direct quantization


def test_stochastic_rounding_probabilities_and_clipping():
    levels = torch.tensor([[0.0, 1.0, 3.0]])
    vals = torch.tensor([[0.25, 2.5, -1.0, 5.0, 1.0]]).repeat(1, 20000).reshape(1, -1)
    codes = Q.stochastic_round_to_levels(vals, levels, torch.Generator().manual_seed(0))
    c = codes.reshape(20000, 5)
    assert abs(float((c[:, 0] == 1).float().mean()) - 0.25) < 0.015  # (0.25 − 0)/(1 − 0)
    assert abs(float((c[:, 1] == 2).float().mean()) - 0.75) < 0.015  # (2.5 − 1)/(3 − 1)
    assert set(c[:, 0].tolist()) <= {0, 1} and set(c[:, 1].tolist()) <= {1, 2}
    assert (c[:, 2] == 0).all() and (c[:, 3] == 2).all() and (c[:, 4] == 1).all()
    # unbiased: E[levels[code]] = value inside the range
    w = levels[0][c[:, :2]]
    assert torch.allclose(w.mean(0), torch.tensor([0.25, 2.5]), atol=0.03)


def test_nearest_rounding_and_nearest_codes_match_brute_force():
    levels = torch.tensor([[0.0, 1.0, 3.0]])
    codes = Q.stochastic_round_to_levels(torch.tensor([[0.4, 0.6, 2.1, 1.9]]), levels, stochastic=False)
    assert codes.tolist() == [[0, 1, 2, 1]]
    g = torch.Generator().manual_seed(1)
    lv = torch.randn(4, 8, generator=g).sort(1).values
    x = torch.randn(4, 100, generator=g) * 2
    brute = (x.unsqueeze(-1) - lv.unsqueeze(1)).abs().argmin(-1)
    assert torch.equal(Q.nearest_codes(x, lv), brute)


def test_kmeans_levels_find_cluster_centres():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([-2.0, -0.5, 0.7, 3.0])
    x = (centres[torch.randint(0, 4, (2000,), generator=g)] + 0.05 * torch.randn(2000, generator=g)).reshape(1, -1)
    lv = Q.kmeans_levels(x, 4)
    assert torch.allclose(lv[0], centres, atol=0.02)


def test_level_gradient_matches_finite_differences():
    """∂ℓ/∂L_k = Σ_{c_i = k} ∂ℓ/∂W_i on a tiny float64 conv layer, against central differences."""
    torch.manual_seed(0)
    conv = QConv2d(2, 3, 3, padding=1, bias=False).double()
    wq = DQWeight(conv.weight.data, bits=2, per_channel=True).double()
    conv._setup(wq, None, 2)
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)

    def loss() -> torch.Tensor:
        return torch.sin(conv(x)).pow(2).sum()

    loss().backward()
    g_levels, g_weight = wq.levels.grad.clone(), conv.weight.grad.clone()
    eps = 1e-6
    for r, k in itertools.product(range(3), range(4)):
        with torch.no_grad():
            wq.levels[r, k] += eps
            up = loss().item()
            wq.levels[r, k] -= 2 * eps
            down = loss().item()
            wq.levels[r, k] += eps
        assert g_levels[r, k].item() == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-7)
    # and the scatter-sum identity: level gradient = Σ of the weight gradients sharing that code
    codes = wq.codes
    for r, k in itertools.product(range(3), range(4)):
        assert g_levels[r, k].item() == pytest.approx(g_weight.reshape(3, -1)[r][codes[r] == k].sum().item(),
                                                       rel=1e-9, abs=1e-12)


def test_dq_post_step_rounds_proposal_onto_new_levels():
    """A move Δ of 30% of the gap moves a weight one level up about 30% of the time."""
    w = torch.zeros(1, 4000)
    w[0, ::2] = 1.0
    wq = DQWeight(w, bits=1, per_channel=False)
    assert sorted(set(w.flatten().tolist())) == [0.0, 1.0]
    wq.pre_step(w)
    with torch.no_grad():
        w[0, 1::2] += 0.3  # the weights at level 0 get Δ = +0.3
    wq.post_step(w, torch.Generator().manual_seed(0))
    frac_up = float((w[0, 1::2] == 1.0).float().mean())
    assert abs(frac_up - 0.3) < 0.03
    assert torch.equal(w[0, ::2], torch.ones(2000))  # the others stay
    assert set(w.flatten().tolist()) <= {0.0, 1.0}


def test_dq_post_step_moves_members_with_their_level_and_resorts():
    """Levels that cross are re-sorted; each weight follows its own level (L'[c] + Δ)."""
    w = torch.zeros(1, 100)
    w[0, ::2] = 1.0
    wq = DQWeight(w, bits=1, per_channel=False)
    wq.pre_step(w)
    with torch.no_grad():
        wq.levels.data[0] = torch.tensor([1.2, 1.0])  # level of code 0 moved 0 → 1.2, code 1 moved 1 → 1.0
    wq.post_step(w, torch.Generator().manual_seed(0))
    assert torch.equal(wq.levels.data, torch.tensor([[1.0, 1.2]]))
    assert torch.equal(w[0, ::2], torch.full((50,), 1.0)) and torch.equal(w[0, 1::2], torch.full((50,), 1.2))
    assert torch.equal(wq.lookup().reshape(w.shape), w)


# ----------------------------------------------------------------- channel-aware activation calibration


def _outlier_channels(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 4000, generator=g).clamp(min=0)  # post-ReLU, std ~0.58
    x[3] *= 30.0  # one high-variance channel
    return x


def test_channel_aware_step_lowers_majority_of_channels_errors_with_one_outlier():
    x = _outlier_channels()
    s_ca = Q.search_step(x, 2, False, "channel-aware")
    s_ag = Q.search_step(x, 2, False, "agnostic")
    assert s_ag > 3 * s_ca  # the agnostic step is dragged toward the outlier channel
    e_ca, e_ag = Q.channel_errors(x, s_ca, 2, False), Q.channel_errors(x, s_ag, 2, False)
    lower = (e_ca < e_ag)
    assert lower.sum() == 7 and not bool(lower[3])  # all but the outlier channel


def test_objective_and_search_match_numpy_brute_force():
    x = _outlier_channels(1)
    steps = Q.candidate_steps(x, 3, False, 50)
    xn, sn = x.double().numpy(), steps.double().numpy()
    ref_ca, ref_rel, ref_ag = [], [], []
    eps = 1e-8 * (xn ** 2).mean()
    for s in sn:
        q = np.clip(np.round(xn / s), 0, 7) * s
        mse = ((xn - q) ** 2).mean(1)
        ref_ca.append(np.mean(np.log(mse + eps)))
        ref_rel.append(np.mean(mse / ((xn ** 2).mean(1) + eps)))
        ref_ag.append(((xn - q) ** 2).mean())
    assert np.allclose(Q.objective(x.double(), steps.double(), 3, False, "channel-aware").numpy(), ref_ca, rtol=1e-6)
    assert np.allclose(Q.objective(x.double(), steps.double(), 3, False, "relative").numpy(), ref_rel, rtol=1e-6)
    assert np.allclose(Q.objective(x.double(), steps.double(), 3, False, "agnostic").numpy(), ref_ag, rtol=1e-6)
    assert Q.search_step(x.double(), 3, False, "channel-aware", 50) == pytest.approx(sn[int(np.argmin(ref_ca))])


def test_dead_channels_do_not_enter_the_channel_aware_objective():
    x = _outlier_channels()
    x0 = torch.cat([x, torch.zeros(5, x.shape[1])])
    steps = Q.candidate_steps(x, 2, False, 30)
    assert torch.allclose(Q.objective(x0, steps, 2, False, "channel-aware"),
                          Q.objective(x, steps, 2, False, "channel-aware"))


def test_uniform_quantizer_signed_and_ste():
    x = torch.tensor([-3.0, -0.26, 0.0, 0.74, 5.0], requires_grad=True)
    y = Q.uniform_quantize_ste(x, 0.5, 2, True)  # codes in [−2, 1]
    assert y.tolist() == [-1.0, -0.5, 0.0, 0.5, 0.5]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]  # 0.74/0.5 = 1.48 > n_hi = 1: saturated
