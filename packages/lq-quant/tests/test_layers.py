"""Quantized layers and models: the ≤ 2^b-levels invariant after every step, first/last layer handling,
each baseline's layer against its formula, all model builders."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lq_quant import quantizers as Q
from lq_quant.data import Data
from lq_quant.layers import CAAct, DQWeight, QConv2d, QLinear, calibrate, q_layers, quantize_model
from lq_quant.models import MODELS, build_model
from lq_quant.train import train


def _tiny_data(n: int = 96, size: int = 12) -> Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, size, size, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long() + 2 * (x[:, :, :6].mean((1, 2, 3)) > 0).long()
    return Data("toy", "toy", 4, 1, size, x, y, x[:32], y[:32])


def _check_on_grid(model: nn.Module) -> None:
    for name, m in q_layers(model):
        wq = m.wq
        assert isinstance(wq, DQWeight)
        K = 2**wq.bits
        rows = wq.levels.shape[0]
        W = m.weight.detach().reshape(rows, -1)
        assert torch.equal(W, torch.gather(wq.levels.detach(), 1, wq.codes)), name  # W is exactly L[c]
        assert int(wq.codes.min()) >= 0 and int(wq.codes.max()) < K
        assert all(len(torch.unique(W[r])) <= K for r in range(rows))
        assert bool((wq.levels[:, 1:] >= wq.levels[:, :-1]).all())  # sorted


@pytest.mark.parametrize("bits,gran,rounding", [(1, "channel", "stochastic"), (2, "layer", "stochastic"),
                                                (3, "channel", "nearest"), (4, "channel", "stochastic"),
                                                (8, "layer", "stochastic")])
def test_every_weight_on_at_most_2b_levels_after_every_step(bits, gran, rounding):
    torch.manual_seed(0)
    model = quantize_model(build_model("cnn", 1, 4, 4), "dq", bits, bits, "fp",
                           {"granularity": gran, "rounding": rounding})
    data = _tiny_data()
    calibrate(model, data.x_train[:32])
    _check_on_grid(model)
    before = {n: m.weight.detach().clone() for n, m in q_layers(model)}
    steps = []
    train(model, data, {"epochs": 2, "batch_size": 32, "lr": 0.01}, 0, torch.device("cpu"),
          after_step=lambda m: (_check_on_grid(m), steps.append(1)))
    assert len(steps) == 6
    moved = sum(int((m.weight.detach() != before[n]).sum()) for n, m in q_layers(model))
    assert moved > 0  # the direct updates do change quantized weights


def test_first_and_last_layers_stay_full_precision_or_8bit():
    model = quantize_model(build_model("cnn", 1, 10, 4), "lsq", 2, 2, "fp")
    assert not isinstance(model.features[0], (QConv2d, QLinear)) and not isinstance(model.fc, QLinear)
    assert len(q_layers(model)) == 4
    model = quantize_model(build_model("cnn", 1, 10, 4), "lsq", 2, 2, "8bit")
    assert isinstance(model.features[0], QConv2d) and model.features[0].wbits == 8 and model.features[0].aq is None
    assert isinstance(model.fc, QLinear) and model.fc.wbits == 8
    assert quantize_model(build_model("cnn", 1, 10, 4), "fp", 2, 2) is not None


@pytest.mark.parametrize("method", ["dorefa", "lsq", "lqnets", "dq"])
def test_baseline_layers_follow_their_formulas(method):
    torch.manual_seed(1)
    model = quantize_model(build_model("cnn", 1, 4, 4), method, 2, 2)
    calibrate(model, torch.randn(16, 1, 12, 12))
    model.eval()
    for _, m in q_layers(model):
        w = m.qweight().detach()
        if method == "dorefa":
            ref = Q.dorefa_weight(m.weight.detach(), 2)
            assert torch.equal(w, ref) and len(torch.unique(w)) <= 4 and float(w.abs().max()) <= 1.0
        elif method == "lsq":
            s = float(m.wq.step.detach())
            ref = torch.clamp(torch.round(m.weight.detach() / s), -2, 1) * s
            assert torch.allclose(w, ref) and len(torch.unique(w)) <= 4
        elif method == "lqnets":
            lv, _ = Q.lq_levels(m.wq.basis, True)
            W = w.reshape(w.shape[0], -1)
            for r in range(W.shape[0]):  # every weight is one of its channel's 4 levels vᵀe
                assert set(W[r].tolist()) <= set(lv[r].tolist())
        else:
            assert len(torch.unique(w)) <= 4 * w.shape[0]
    # activations: DoReFa's are multiples of 1/3 in [0, 1]; LSQ/DQ multiples of the step; LQ on the levels
    x = torch.rand(4, 4, 6, 6) * 3
    m = q_layers(model)[0][1]
    q = m.aq(x)
    if method == "dorefa":
        assert torch.allclose(q * 3, torch.round(q * 3), atol=1e-6) and float(q.max()) <= 1.0
    elif method in ("lsq", "dq"):
        s = float(m.aq.step.detach())
        assert torch.allclose(q / s, torch.round(q / s), atol=1e-4) and len(torch.unique(q)) <= 4
    else:
        lv, _ = Q.lq_levels(m.aq.basis, False)
        assert set(q.flatten().tolist()) <= set(lv[0].tolist())


def test_channel_aware_activation_quantizer_calibrates_once_then_every_n_steps():
    aq = CAAct(2, calib_every=2, momentum=0.5)
    x = torch.rand(16, 4, 6, 6)
    aq.train()
    aq(x)  # first call: calibration on this batch (count 0 → 1)
    s0 = float(aq.step)
    assert bool(aq.initialized) and s0 == pytest.approx(Q.search_step(Q.channels_view(x, 2048), 2, False,
                                                                     "channel-aware"))
    aq(x * 5)  # count 1: no refit
    assert float(aq.step) == s0
    aq(x * 5)  # count 2: refit, moving average with momentum 0.5
    s5 = Q.search_step(Q.channels_view(x * 5, 2048), 2, False, "channel-aware")
    assert float(aq.step) == pytest.approx(0.5 * s0 + 0.5 * s5, rel=1e-6)
    aq.eval()
    s1 = float(aq.step)
    aq(x * 50)
    assert float(aq.step) == s1  # no calibration in eval mode


def test_calibration_leaves_batchnorm_statistics_alone():
    model = quantize_model(build_model("cnn", 1, 4, 4), "lsq", 2, 2)
    bn = model.features[1]
    mean = bn.running_mean.clone()
    calibrate(model, torch.randn(16, 1, 12, 12) + 3)
    assert torch.equal(bn.running_mean, mean) and bn.momentum == 0.1


@pytest.mark.parametrize("name", MODELS)
def test_every_model_builds_quantizes_and_runs(name):
    torch.manual_seed(0)
    size = 64 if name == "alexnet" else 16
    model = build_model(name, 3, 7, 4, cifar_stem=True)
    quantize_model(model, "dq" if name in ("cnn", "resnet20") else "lsq", 2, 2)
    x = torch.randn(2, 3, size, size)
    calibrate(model, x)
    assert model(x).shape == (2, 7)
    assert len(q_layers(model)) >= 3
