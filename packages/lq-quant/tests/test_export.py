"""Export: codes in [0, 2^b), ≤ 2^b levels, exact round trip (outputs equal bit for bit), true size."""

from __future__ import annotations

import io
import math

import pytest
import torch

from lq_quant.export import KIND, check_export, export_model, load_export, model_from_export
from lq_quant.layers import calibrate, q_layers, quantize_model
from lq_quant.models import build_model
from reprokit import UsageError


def _arch(method: str, bits: int, first_last: str = "fp") -> dict:
    return {"model": "cnn", "width": 4, "cifar_stem": True, "in_channels": 1, "num_classes": 5, "image_size": 12,
            "dataset": "toy", "downsample": 1, "method": method, "wbits": bits, "abits": bits,
            "first_last": first_last, "dq": {"granularity": "channel"}}


def _trained(method: str, bits: int, first_last: str = "fp"):
    torch.manual_seed(0)
    model = quantize_model(build_model("cnn", 1, 5, 4), method, bits, bits, first_last, {"granularity": "channel"})
    x = torch.randn(32, 1, 12, 12)
    calibrate(model, x)
    y = torch.arange(32) % 5
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    from lq_quant.layers import dq_post_step, dq_pre_step

    for _ in range(3):  # a few steps so the weights, steps and bases are no longer their initial values
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        dq_pre_step(model)
        opt.step()
        dq_post_step(model, torch.Generator().manual_seed(0))
    with torch.no_grad():  # settle BatchNorm's running statistics so the eval-mode network is not degenerate
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
        for _ in range(5):
            model(x)
    model.eval()
    with torch.no_grad():
        assert float(model(x).std(0).max()) > 1e-3  # outputs depend on the input
    return model, x


@pytest.mark.parametrize("method,bits,first_last", [("dq", 2, "fp"), ("dq", 4, "8bit"), ("dorefa", 3, "fp"),
                                                    ("lqnets", 2, "fp"), ("lsq", 2, "fp"), ("lsq", 1, "fp")])
def test_export_round_trip_is_exact(method, bits, first_last):
    model, x = _trained(method, bits, first_last)
    exp = export_model(model, _arch(method, bits, first_last))
    buf = io.BytesIO()
    torch.save(exp, buf)
    buf.seek(0)
    back = check_export(torch.load(buf, weights_only=True), "buffer")  # plain tensors only
    for rec in back["layers"].values():
        b = rec["bits"]
        assert rec["codes"].dtype == torch.uint8 and int(rec["codes"].max()) < 2**b
        assert rec["levels"].shape[-1] <= 2**b
    rebuilt = model_from_export(back)
    with torch.no_grad():
        assert torch.equal(model(x), rebuilt(x))
        assert torch.equal(model(x * 3), rebuilt(x * 3))
    # the rebuilt model reads its weights from the codes: scrambling one code changes its output
    for rec in back["layers"].values():
        rec["codes"] = torch.randint(0, 2 ** rec["bits"], rec["codes"].shape, generator=torch.Generator().manual_seed(
            1)).to(torch.uint8)
    with torch.no_grad():
        assert not torch.equal(model(x), model_from_export(back)(x))


def test_true_size_counts_bit_packed_codes_levels_and_params():
    model, _ = _trained("dq", 2)
    exp = export_model(model, _arch("dq", 2))
    codes = sum(math.ceil(r["codes"].numel() * 2 / 8) for r in exp["layers"].values())
    levels = sum(r["levels"].numel() * 4 for r in exp["layers"].values())
    params = sum(v.numel() * v.element_size() for v in exp["params"].values())
    assert exp["size_bytes"] == codes + levels + params
    fp = sum(v.numel() * v.element_size() for v in build_model("cnn", 1, 5, 4).state_dict().values())
    assert exp["fp_size_bytes"] == fp and exp["size_bytes"] < fp
    # the quantized weights and their quantizers' internals are not in params
    assert not any(k.endswith(".weight") and k.rsplit(".", 1)[0] in exp["layers"] for k in exp["params"])
    assert not any(".wq." in k for k in exp["params"])
    assert len(exp["layers"]) == len(q_layers(model))


def test_check_export_refuses_foreign_and_broken_files(tmp_path):
    with pytest.raises(UsageError, match="not an lq-quant export"):
        check_export({"kind": "lskd-model"}, "x.pt")
    model, _ = _trained("lsq", 2)
    exp = export_model(model, _arch("lsq", 2))
    name = next(iter(exp["layers"]))
    bad = {**exp, "layers": {**exp["layers"], name: {**exp["layers"][name], "bits": 9}}}
    with pytest.raises(UsageError, match=r"outside 1\.\.8"):
        check_export(bad, "x.pt")
    p = tmp_path / "junk.pt"
    p.write_text("not a torch file")
    with pytest.raises(UsageError, match="cannot read export"):
        load_export(p)
    assert exp["kind"] == KIND
