"""Export: integer codes + levels per quantized layer, the true model size, and the exported model.

The exported dict (``torch.save``; read back with ``weights_only=True``)::

    {"kind": "lq-quant-export", "format": 1, "arch": {...},            # how to rebuild the network
     "layers": {name: {"codes": uint8/int16 tensor in [0, 2^bits) (the weight's shape),
                       "levels": float32 (K,) per layer or (C_out, K) per output channel, K ≤ 2^bits,
                       "bits": int}},
     "params": {...},            # every other tensor of the state dict (unquantized layers, BN, biases,
                                 # activation quantizers' steps/bases)
     "size_bytes": int,          # true size: codes bit-packed at `bits`, levels and params as stored
     "fp_size_bytes": int}       # the same network in float32

Levels are the distinct values of the layer's effective (fake-quantized) weight, per output channel
where the method's levels are per channel; a row with fewer distinct values than ``K`` repeats its
largest level, and codes point at the first copy, so ``levels[codes]`` reproduces the weight bit for
bit (checked on export).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lq_quant.layers import q_layers, quantize_model
from lq_quant.models import build_model
from reprokit import UsageError

KIND = "lq-quant-export"
MODEL_KIND = "lq-quant-model"


def _excluded(name: str) -> tuple[str, ...]:
    return (f"{name}.weight", f"{name}.wq.", f"{name}.frozen")


def tensor_bytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def build_from_arch(arch: dict[str, Any]) -> nn.Module:
    """The (fake-)quantized network an ``arch`` dict describes, freshly initialised."""
    model = build_model(arch["model"], int(arch["in_channels"]), int(arch["num_classes"]), int(arch.get("width", 16)),
                        bool(arch.get("cifar_stem", True)))
    return quantize_model(model, arch["method"], int(arch["wbits"]), arch.get("abits"), arch.get("first_last", "fp"),
                          arch.get("dq", {}))


@torch.no_grad()
def export_model(model: nn.Module, arch: dict[str, Any]) -> dict[str, Any]:
    """The export dict of a trained (fake-)quantized ``model`` (see the module docstring)."""
    model.eval()
    layers: dict[str, Any] = {}
    excluded: list[str] = []
    size = 0
    for name, m in q_layers(model):
        w = m.qweight().detach().float().cpu()
        bits = int(m.wbits)
        K = 2**bits
        rows = w.shape[0] if getattr(m.wq, "per_channel", False) else 1
        W = w.reshape(rows, -1)
        levels = torch.empty(rows, K)
        for r in range(rows):
            u = torch.unique(W[r])  # sorted
            if len(u) > K:
                raise RuntimeError(f"layer {name}: {len(u)} distinct weight values exceed 2^{bits}")
            levels[r, : len(u)] = u
            levels[r, len(u):] = u[-1]
        codes = torch.searchsorted(levels.contiguous(), W.contiguous())
        if not torch.equal(torch.gather(levels, 1, codes), W):
            raise RuntimeError(f"layer {name}: levels[codes] does not reproduce the weight")
        ctype = torch.uint8 if bits <= 8 else torch.int16
        layers[name] = {"codes": codes.to(ctype).reshape(w.shape),
                        "levels": levels[0].clone() if rows == 1 else levels, "bits": bits}
        size += math.ceil(w.numel() * bits / 8) + tensor_bytes(levels)
        excluded += _excluded(name)
    params = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
              if not any(k == e or k.startswith(e) for e in excluded)}
    size += sum(tensor_bytes(v) for v in params.values())
    fp = build_model(arch["model"], int(arch["in_channels"]), int(arch["num_classes"]), int(arch.get("width", 16)),
                     bool(arch.get("cifar_stem", True)))
    fp_size = sum(tensor_bytes(v.float()) if v.is_floating_point() else tensor_bytes(v)
                  for v in fp.state_dict().values())
    return {"kind": KIND, "format": 1, "arch": dict(arch), "layers": layers, "params": params,
            "size_bytes": int(size), "fp_size_bytes": int(fp_size)}


def check_export(exp: Any, source: str) -> dict[str, Any]:
    """Refuse anything that is not an lq-quant export (UsageError naming ``source``)."""
    if not isinstance(exp, dict) or exp.get("kind") != KIND:
        kind = exp.get("kind") if isinstance(exp, dict) else type(exp).__name__
        raise UsageError(f"{source} is not an lq-quant export (kind {kind!r}); make one with `lq-quant export`")
    for key in ("arch", "layers", "params"):
        if key not in exp:
            raise UsageError(f"{source}: the export lacks {key!r}")
    for name, rec in exp["layers"].items():
        if not isinstance(rec, dict) or not {"codes", "levels", "bits"} <= set(rec):
            raise UsageError(f"{source}: layer {name} lacks codes/levels/bits")
        bits = int(rec["bits"])
        if not 1 <= bits <= 8:
            raise UsageError(f"{source}: layer {name} has bits={bits}, outside 1..8")
        codes = rec["codes"]
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= 2**bits):
            raise UsageError(f"{source}: layer {name} has codes outside [0, 2^{bits})")
        if rec["levels"].shape[-1] > 2**bits:
            raise UsageError(f"{source}: layer {name} has more than 2^{bits} levels")
    return exp


def load_export(path) -> dict[str, Any]:
    try:
        exp = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UsageError(f"cannot read export {path}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    return check_export(exp, str(path))


def model_from_export(exp: dict[str, Any], source: str = "export") -> nn.Module:
    """The network of an export, its quantized layers using ``levels[codes]`` as their weights."""
    try:
        model = build_from_arch(exp["arch"])
    except (KeyError, ValueError, TypeError) as e:
        raise UsageError(f"{source}: cannot rebuild the network from its 'arch' entry: {e}") from None
    mods = dict(q_layers(model))
    if set(mods) != set(exp["layers"]):
        raise UsageError(f"{source}: its quantized layers do not match the network {exp['arch'].get('model')!r}")
    missing, unexpected = model.load_state_dict(exp["params"], strict=False)
    allowed = tuple(e for n in mods for e in _excluded(n))
    bad = [k for k in missing if not any(k == e or k.startswith(e) for e in allowed)]
    if unexpected or bad:
        raise UsageError(f"{source}: parameters do not fit the network (missing {bad[:3]}, unexpected "
                         f"{list(unexpected)[:3]})")
    for name, rec in exp["layers"].items():
        m = mods[name]
        lv = rec["levels"].float()
        lv = lv.reshape(1, -1) if lv.dim() == 1 else lv
        codes = rec["codes"].long().reshape(lv.shape[0], -1)
        if tuple(rec["codes"].shape) != tuple(m.weight.shape):
            raise UsageError(f"{source}: layer {name} codes {tuple(rec['codes'].shape)} vs weight "
                             f"{tuple(m.weight.shape)}")
        m.frozen = torch.gather(lv, 1, codes).reshape(m.weight.shape)
    return model.eval()
