"""Networks and meta-learners: one conv (or MLP) backbone shared by every method, FiLM and kernel modulation.

Every method below has the same backbone (channels, layers, input), the same optimiser and budget:

  maml        backbone + linear head, inner-loop SGD on the support set (second or first order)
  protonet    backbone as embedding, squared-Euclidean prototypes (optionally transductive refinement)
  multi-maml  one MAML per mode, the task's mode known (MMAML's "Multi-MAML" upper reference)
  mmaml       MAML whose backbone is FiLM-modulated per task by a task encoder (Vuorio et al. 2019)
  kml         ProtoNet whose conv kernels are modulated per task by a task encoder (the paper's KML)
  kml-maml    kernel modulation on a MAML learner (used for regression, where prototypes do not apply)

Parameters live in ``nn.Module``s, but the forward passes are functional (a ``params`` dict), so the MAML
inner loop and the transference look-ahead can run on modified parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from kml_meta.losses import (
    film,
    kernel_modulate,
    maml_adapt,
    protonet_logits,
    prototypes,
    transductive_prototypes,
)

ALGOS = ("maml", "protonet", "multi-maml", "mmaml", "kml", "kml-maml")
Params = dict[str, torch.Tensor]


def _sub(params: Params, prefix: str) -> Params:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in params.items() if k.startswith(prefix + ".")}


class Backbone(nn.Module):
    """4 × (conv 3×3 stride 2 pad 1 → batch norm → ReLU) as in KML/MMAML's GatedConvModel (no max pool),
    or an MLP for regression. ``forward(params, x, mods, kind)`` applies FiLM or kernel modulation."""

    def __init__(self, in_channels: int, channels: Sequence[int], image_size: int, regression: bool = False,
                 in_features: int = 1, hidden: Sequence[int] = (100, 100, 100)):
        super().__init__()
        self.regression = regression
        self.layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        if regression:
            dims = [in_features, *hidden]
            for a, b in itertools.pairwise(dims):
                self.layers.append(nn.Linear(a, b))
            self.out_dim = dims[-1]
        else:
            dims = [in_channels, *channels]
            for a, b in itertools.pairwise(dims):
                self.layers.append(nn.Conv2d(a, b, 3, stride=2, padding=1))
                self.norms.append(nn.BatchNorm2d(b, track_running_stats=False))
            s = image_size
            for _ in channels:
                s = (s + 2 - 3) // 2 + 1
            self.out_dim = dims[-1] * s * s
        for m in self.layers:  # KML/MMAML's weight_init: xavier-uniform weights, zero biases
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(out channels, inputs per output unit) of each layer: the sizes of Δv and Δu."""
        return [(m.weight.shape[0], m.weight[0].numel()) for m in self.layers]

    def forward(self, params: Params, x: torch.Tensor, mods: list[tuple[torch.Tensor, ...]] | None = None,
                kind: str = "none") -> torch.Tensor:
        for i in range(len(self.layers)):
            w, b = params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]
            if kind == "kernel" and mods is not None:
                w, b = kernel_modulate(w, b, *mods[i])
            if self.regression:
                x = F.linear(x, w, b)
            else:
                x = F.conv2d(x, w, b, stride=2, padding=1)
                x = F.batch_norm(x, None, None, params[f"norms.{i}.weight"], params[f"norms.{i}.bias"], training=True)
            if kind == "film" and mods is not None:
                x = film(x, *mods[i])
            x = F.relu(x)
        return x.flatten(1)


class TaskEncoder(nn.Module):
    """The task embedding of KML/MMAML's ConvEmbeddingModel: 4 conv (stride 2) + BN + ReLU, global average
    pool, Linear → ``hidden`` + ReLU, averaged over the support samples; then one linear head per
    modulation vector. For regression an MLP on (x, y) pairs replaces the convs."""

    def __init__(self, in_channels: int, channels: Sequence[int], dims: Sequence[int], hidden: int = 128,
                 regression: bool = False, in_features: int = 2):
        super().__init__()
        self.regression = regression
        if regression:
            self.body = nn.Sequential(nn.Linear(in_features, 80), nn.ReLU(), nn.Linear(80, 80), nn.ReLU())
            feat = 80
        else:
            mods: list[nn.Module] = []
            c = in_channels
            for ch in channels:
                mods += [nn.Conv2d(c, ch, 3, stride=2, padding=1), nn.BatchNorm2d(ch, track_running_stats=False),
                         nn.ReLU()]
                c = ch
            self.body = nn.Sequential(*mods)
            feat = c
        self.linear = nn.Linear(feat, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, d) for d in dims)

    def forward(self, params: Params, x: torch.Tensor) -> list[torch.Tensor]:
        h = torch.func.functional_call(self.body, _sub(params, "body"), (x,))
        if not self.regression:
            h = h.mean(dim=(2, 3))
        h = F.relu(F.linear(h, params["linear.weight"], params["linear.bias"])).mean(0)
        return [F.linear(h, params[f"heads.{i}.weight"], params[f"heads.{i}.bias"]) for i in range(len(self.heads))]


class MetaLearner(nn.Module):
    """One meta-learner of the harness; ``loss(task, params)`` is its meta-loss on a task's query set."""

    def __init__(self, algo: str, cfg: dict, in_channels: int, image_size: int, n_way: int, regression: bool = False):
        super().__init__()
        if algo not in ALGOS or algo == "multi-maml":
            raise ValueError(f"unknown algorithm {algo!r}")
        if regression and algo in ("protonet", "kml"):
            raise ValueError(f"{algo} needs class prototypes; use maml, mmaml or kml-maml for regression")
        m = cfg["model"]
        self.algo, self.regression, self.n_way = algo, regression, n_way
        self.adapt = "proto" if algo in ("protonet", "kml") else "maml"
        self.mod_kind = {"mmaml": "film", "kml": "kernel", "kml-maml": "kernel"}.get(algo, "none")
        self.backbone = Backbone(in_channels, m["channels"], image_size, regression,
                                 hidden=m.get("hidden", [100, 100, 100]))
        self.head = nn.Linear(self.backbone.out_dim, 1 if regression else n_way) if self.adapt == "maml" else None
        if self.head is not None:
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self.encoder = None
        if self.mod_kind != "none":
            shapes = self.backbone.layer_shapes()
            dims = [d for o, i in shapes for d in ((o, o) if self.mod_kind == "film" else (o, i, o))]
            self.encoder = TaskEncoder(in_channels, m.get("encoder_channels", m["channels"]), dims,
                                       int(m.get("encoder_hidden", 128)), regression)
            scale = float(m.get("modulation_init_scale", 1.0))
            for h in self.encoder.heads:
                h.weight.data.mul_(scale)
                h.bias.data.mul_(scale)
        inner = cfg["inner"]
        self.inner_steps, self.inner_lr = int(inner["steps"]), float(inner["lr"])
        self.eval_steps = int(inner.get("eval_steps", inner["steps"]))
        self.first_order = bool(inner.get("first_order", False))
        self.transductive = bool(cfg.get("proto", {}).get("transductive", False))

    # -- pieces ---------------------------------------------------------------------------------------
    def param_dict(self) -> Params:
        return dict(self.named_parameters())

    def modulations(self, params: Params, task) -> list[tuple[torch.Tensor, ...]] | None:
        if self.encoder is None:
            return None
        inp = torch.cat([task.xs, task.ys], dim=1) if self.regression else task.xs
        vecs = self.encoder(_sub(params, "encoder"), inp)
        k = 2 if self.mod_kind == "film" else 3
        return [tuple(vecs[i * k:(i + 1) * k]) for i in range(len(vecs) // k)]

    def _task_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y) if self.regression else F.cross_entropy(out, y)

    def loss(self, task, params: Params | None = None, training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(query loss, query accuracy [or −MSE for regression]) after adapting to the task's support set."""
        params = self.param_dict() if params is None else params
        mods = self.modulations(params, task)
        bb = _sub(params, "backbone")
        if self.adapt == "proto":
            fs = self.backbone(bb, task.xs, mods, self.mod_kind)
            fq = self.backbone(bb, task.xq, mods, self.mod_kind)
            protos = (transductive_prototypes(fs, task.ys, fq, self.n_way) if self.transductive
                      else prototypes(fs, task.ys, self.n_way))
            logits = protonet_logits(fq, protos)
        else:
            fast0 = {**{f"backbone.{k}": v for k, v in bb.items()},
                     **{f"head.{k}": v for k, v in _sub(params, "head").items()}}

            def support_loss(p: Params) -> torch.Tensor:
                f = self.backbone(_sub(p, "backbone"), task.xs, mods, self.mod_kind)
                return self._task_loss(F.linear(f, p["head.weight"], p["head.bias"]), task.ys)

            steps = self.inner_steps if training else self.eval_steps
            with torch.enable_grad():
                fast = maml_adapt(support_loss, fast0, steps, self.inner_lr, self.first_order,
                                  create_graph=training)
            f = self.backbone(_sub(fast, "backbone"), task.xq, mods, self.mod_kind)
            logits = F.linear(f, fast["head.weight"], fast["head.bias"])
        loss = self._task_loss(logits, task.yq)
        if self.regression:
            return loss, -loss.detach()
        return loss, (logits.argmax(1) == task.yq).float().mean().detach()


class MultiMAML(nn.Module):
    """One MAML per mode; a task goes to the learner of its (known) mode."""

    def __init__(self, n_modes: int, cfg: dict, in_channels: int, image_size: int, n_way: int,
                 regression: bool = False):
        super().__init__()
        self.learners = nn.ModuleList(MetaLearner("maml", cfg, in_channels, image_size, n_way, regression)
                                      for _ in range(n_modes))
        self.algo = "multi-maml"

    def param_dict(self) -> Params:
        return dict(self.named_parameters())

    def loss(self, task, params: Params | None = None, training: bool = True):
        learner = self.learners[task.mode]
        sub = None if params is None else _sub(params, f"learners.{task.mode}")
        return learner.loss(task, sub, training)


def build_learner(algo: str, cfg: dict, n_modes: int, in_channels: int, image_size: int, n_way: int,
                  regression: bool = False) -> nn.Module:
    if algo == "multi-maml":
        return MultiMAML(n_modes, cfg, in_channels, image_size, n_way, regression)
    return MetaLearner(algo, cfg, in_channels, image_size, n_way, regression)
