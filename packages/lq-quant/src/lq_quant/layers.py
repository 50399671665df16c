"""Quantized layers: weight quantizers, activation quantizers, and :func:`quantize_model`.

Which layers are quantized (stated in every config and report, ``first_last``):

* ``fp`` (default): the first convolution (it sees the image) and the last linear layer (the
  classifier) stay full precision, weights and inputs; every other Conv2d/Linear is quantized.
* ``8bit``: those two layers get 8-bit weights of the same method, inputs unquantized.

A quantized layer quantizes its *input* activation (``abits``) and its weight (``wbits``); biases and
BatchNorm stay full precision (they are folded or kept in fp by every method compared).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lq_quant import quantizers as Q

METHODS = ("fp", "dq", "dorefa", "lqnets", "lsq")

# ----------------------------------------------------------------------------------- weight quantizers


class DQWeight(nn.Module):
    """Direct quantization (ours): levels ``L`` (parameter) + integer codes ``c`` (buffer); the layer's
    weight parameter always equals ``L[c]`` between steps (see :mod:`lq_quant.quantizers`)."""

    per_channel: bool

    def __init__(self, weight: torch.Tensor, bits: int, per_channel: bool = True, rounding: str = "stochastic"):
        super().__init__()
        self.bits, self.per_channel, self.stochastic = int(bits), bool(per_channel), rounding == "stochastic"
        rows = weight.shape[0] if per_channel else 1
        w = weight.detach().reshape(rows, -1)
        levels = Q.kmeans_levels(w, 2**self.bits)
        self.levels = nn.Parameter(levels)
        self.register_buffer("codes", Q.nearest_codes(w, levels))
        with torch.no_grad():
            weight.copy_(self.lookup().reshape(weight.shape))
        self._before: torch.Tensor | None = None

    def lookup(self) -> torch.Tensor:
        return torch.gather(self.levels.detach(), 1, self.codes)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return Q.level_lookup(weight, self.levels, self.codes.reshape(weight.shape))

    @torch.no_grad()
    def pre_step(self, weight: torch.Tensor) -> None:
        self._before = weight.detach().reshape(self.levels.shape[0], -1).clone()

    @torch.no_grad()
    def post_step(self, weight: torch.Tensor, generator: torch.Generator | None) -> None:
        """Round the optimizer's proposal ``L'[c] + Δ`` back onto the (re-sorted) new levels."""
        rows = self.levels.shape[0]
        delta = weight.detach().reshape(rows, -1) - self._before
        lv, perm = self.levels.data.sort(dim=1)
        inv = perm.argsort(dim=1)
        codes = torch.gather(inv, 1, self.codes)
        self.levels.data.copy_(lv)
        proposal = torch.gather(lv, 1, codes) + delta
        self.codes.copy_(Q.stochastic_round_to_levels(proposal, lv, generator, self.stochastic))
        weight.data.copy_(self.lookup().reshape(weight.shape))
        self._before = None


class DoReFaWeight(nn.Module):
    per_channel = False

    def __init__(self, weight: torch.Tensor, bits: int):
        super().__init__()
        self.bits = int(bits)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return Q.dorefa_weight(weight, self.bits)


class LSQWeight(nn.Module):
    per_channel = False

    def __init__(self, weight: torch.Tensor, bits: int):
        super().__init__()
        self.bits = int(bits)
        self.step = nn.Parameter(torch.tensor(Q.lsq_init_step(weight, self.bits, True)))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return Q.lsq_quantize(weight, self.step, self.bits, True, weight.numel())


class LQWeight(nn.Module):
    """LQ-Nets-style learnable basis, one per output channel, refitted by QEM every training step."""

    per_channel = True

    def __init__(self, weight: torch.Tensor, bits: int, momentum: float = 0.9):
        super().__init__()
        self.bits, self.momentum = int(bits), float(momentum)
        w = weight.detach().reshape(weight.shape[0], -1)
        self.register_buffer("basis", Q.lq_init_basis(w, self.bits, True))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        w = weight.reshape(weight.shape[0], -1)
        if self.training:
            with torch.no_grad():
                self.basis.mul_(self.momentum).add_((1 - self.momentum) * Q.lq_qem_step(w, self.basis, True))
        return Q.lq_quantize(w, self.basis, True).reshape(weight.shape)


# ------------------------------------------------------------------------------- activation quantizers


class _ActBase(nn.Module):
    def __init__(self, bits: int):
        super().__init__()
        self.bits = int(bits)
        self.register_buffer("initialized", torch.tensor(False))
        self.register_buffer("signed", torch.tensor(False))

    def _first(self, x: torch.Tensor) -> None:
        self.signed.fill_(bool(x.detach().min() < 0))
        self.initialized.fill_(True)


class CAAct(_ActBase):
    """Uniform activation quantizer whose step minimises ``J_ca`` (``mode="channel-aware"``, ours) or
    ``J_ag`` (``mode="agnostic"``). Calibrated on the first batch, then refitted every ``calib_every``
    training steps on the current batch and kept as a moving average (``momentum``). Gradient to the
    input: the clipped STE."""

    def __init__(self, bits: int, mode: str = "channel-aware", calib_every: int = 20, momentum: float = 0.9,
                 max_per_channel: int = 2048):
        super().__init__(bits)
        self.mode, self.calib_every, self.momentum = mode, int(calib_every), float(momentum)
        self.max_per_channel = int(max_per_channel)
        self.register_buffer("step", torch.tensor(1.0))
        self.register_buffer("count", torch.tensor(0))

    def _search(self, x: torch.Tensor) -> float:
        return Q.search_step(Q.channels_view(x, self.max_per_channel), self.bits, bool(self.signed), self.mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self._first(x)
            self.step.fill_(self._search(x))
        elif self.training and self.calib_every > 0 and int(self.count) % self.calib_every == 0:
            s = self._search(x)
            self.step.mul_(self.momentum).add_((1 - self.momentum) * s)
        if self.training:
            self.count += 1
        return Q.uniform_quantize_ste(x, self.step, self.bits, bool(self.signed))


class DoReFaAct(_ActBase):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self.initialized.fill_(True)
        return Q.dorefa_act(x, self.bits)


class LSQAct(_ActBase):
    def __init__(self, bits: int):
        super().__init__(bits)
        self.step = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self._first(x)
            with torch.no_grad():
                self.step.fill_(Q.lsq_init_step(x, self.bits, bool(self.signed)))
        return Q.lsq_quantize(x, self.step, self.bits, bool(self.signed), x[0].numel())


class LQAct(_ActBase):
    """LQ-Nets-style activation basis (encodings in {0, 1}^K), one per layer, QEM-refitted each step."""

    def __init__(self, bits: int, momentum: float = 0.9, max_samples: int = 16384):
        super().__init__(bits)
        self.momentum, self.max_samples = float(momentum), int(max_samples)
        self.register_buffer("basis", torch.ones(1, self.bits))

    def _sample(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.detach().reshape(1, -1)
        if flat.shape[1] > self.max_samples:
            flat = flat[:, torch.randperm(flat.shape[1])[: self.max_samples].to(flat.device)]
        return flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self.initialized.fill_(True)
            self.basis.copy_(Q.lq_init_basis(self._sample(x), self.bits, False))
        elif self.training:
            with torch.no_grad():
                new = Q.lq_qem_step(self._sample(x), self.basis, False)
                self.basis.mul_(self.momentum).add_((1 - self.momentum) * new)
        return Q.lq_quantize(x.reshape(1, -1), self.basis, False).reshape(x.shape)


# ---------------------------------------------------------------------------------------- the layers


class _QMixin:
    wq: nn.Module | None
    aq: nn.Module | None

    def _setup(self, wq: nn.Module | None, aq: nn.Module | None, wbits: int | None) -> None:
        self.wq, self.aq, self.wbits = wq, aq, wbits
        self.register_buffer("frozen", None)  # set by an exported model: the weight as levels[codes]

    def qweight(self) -> torch.Tensor:
        if self.frozen is not None:
            return self.frozen
        return self.wq(self.weight) if self.wq is not None else self.weight


class QConv2d(_QMixin, nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.aq is not None:
            x = self.aq(x)
        return self._conv_forward(x, self.qweight(), self.bias)


class QLinear(_QMixin, nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.aq is not None:
            x = self.aq(x)
        return F.linear(x, self.qweight(), self.bias)


def _weight_quantizer(method: str, weight: torch.Tensor, bits: int, dq: dict) -> nn.Module:
    if method == "dq":
        return DQWeight(weight, bits, per_channel=dq.get("granularity", "channel") == "channel",
                        rounding=dq.get("rounding", "stochastic"))
    if method == "dorefa":
        return DoReFaWeight(weight, bits)
    if method == "lsq":
        return LSQWeight(weight, bits)
    if method == "lqnets":
        return LQWeight(weight, bits, momentum=float(dq.get("lq_momentum", 0.9)))
    raise ValueError(f"unknown method {method!r}")


def _act_quantizer(method: str, bits: int, dq: dict) -> nn.Module:
    if method == "dq":
        return CAAct(bits, mode=dq.get("act_mode", "channel-aware"), calib_every=int(dq.get("calib_every", 20)),
                     momentum=float(dq.get("calib_momentum", 0.9)))
    if method == "dorefa":
        return DoReFaAct(bits)
    if method == "lsq":
        return LSQAct(bits)
    if method == "lqnets":
        return LQAct(bits, momentum=float(dq.get("lq_momentum", 0.9)))
    raise ValueError(f"unknown method {method!r}")


def _replace(parent: nn.Module, name: str, new: nn.Module) -> None:
    setattr(parent, name, new)


def _clone_as_q(m: nn.Module, wq_fn, aq: nn.Module | None, wbits: int | None) -> nn.Module:
    if isinstance(m, nn.Conv2d):
        q = QConv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                    m.bias is not None, m.padding_mode)
    else:
        q = QLinear(m.in_features, m.out_features, m.bias is not None)
    q = q.to(m.weight.device)
    with torch.no_grad():
        q.weight.copy_(m.weight)
        if m.bias is not None:
            q.bias.copy_(m.bias)
    q._setup(wq_fn(q.weight) if wq_fn is not None else None, aq, wbits)
    return q


def quantizable_layers(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, attribute, module) of every Conv2d/Linear, in registration order."""
    out = []
    for name, child in model.named_modules():
        if isinstance(child, (nn.Conv2d, nn.Linear)) and not isinstance(child, (QConv2d, QLinear)):
            parent_name, _, attr = name.rpartition(".")
            out.append((model.get_submodule(parent_name) if parent_name else model, attr, child))
    return out


def quantize_model(model: nn.Module, method: str, wbits: int, abits: int | None, first_last: str = "fp",
                   dq: dict | None = None) -> nn.Module:
    """Replace the Conv2d/Linear layers of ``model`` (in place) by quantized ones; returns ``model``.

    ``abits=None`` leaves activations in full precision. ``method="fp"`` returns the model unchanged.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "fp":
        return model
    dq = dict(dq or {})
    layers = quantizable_layers(model)
    if not layers:
        return model
    first = layers[0][2]
    linears = [m for _, _, m in layers if isinstance(m, nn.Linear)]
    last = linears[-1] if linears else layers[-1][2]
    for parent, name, m in layers:
        if m is first or m is last:
            if first_last == "8bit":
                _replace(parent, name, _clone_as_q(m, lambda w: _weight_quantizer(method, w, 8, dq), None, 8))
            continue
        aq = _act_quantizer(method, abits, dq) if abits is not None else None
        _replace(parent, name, _clone_as_q(m, lambda w: _weight_quantizer(method, w, wbits, dq), aq, wbits))
    return model


def q_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (QConv2d, QLinear))]


@torch.no_grad()
def calibrate(model: nn.Module, x: torch.Tensor) -> None:
    """Initialise every activation quantizer on the batch ``x`` without moving BatchNorm's statistics."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in bns]
    was = model.training
    for m in bns:
        m.momentum = 0.0
    model.train()
    model(x)
    for m, (mom, nbt) in zip(bns, saved):
        m.momentum = mom
        if nbt is not None:
            m.num_batches_tracked.copy_(nbt)
    model.train(was)


def dq_pre_step(model: nn.Module) -> None:
    for _, m in q_layers(model):
        if isinstance(m.wq, DQWeight):
            m.wq.pre_step(m.weight)


def dq_post_step(model: nn.Module, generator: torch.Generator | None) -> None:
    for _, m in q_layers(model):
        if isinstance(m.wq, DQWeight):
            m.wq.post_step(m.weight, generator)


@torch.no_grad()
def quantized_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Each quantized layer's effective weight (what the forward pass uses), detached."""
    return {n: m.qweight().detach() for n, m in q_layers(model)}
