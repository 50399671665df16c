"""Mini-batch training of CMIMH and of the DJSRH-style baseline on fixed features (thin loops)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cmimh.losses import cmimh_loss, cosine_critic, djsrh_loss, djsrh_similarity, sample_codes
from cmimh.models import HashNet, InputCritic, encode


@dataclass
class CrossModalHasher:
    """A trained pair of hashing networks (image, text) and how they were made."""

    method: str
    bits: int
    img: HashNet
    txt: HashNet
    history: list[dict[str, float]] = field(default_factory=list)

    def encode_image(self, x: np.ndarray) -> np.ndarray:
        return encode(self.img, x)

    def encode_text(self, y: np.ndarray) -> np.ndarray:
        return encode(self.txt, y)

    def state(self) -> dict[str, Any]:
        return {"kind": "cmimh-hasher", "method": self.method, "bits": self.bits,
                "img_in": self.img.net[1].in_features, "txt_in": self.txt.net[1].in_features,
                "hidden": self.img.net[1].out_features,
                "img": self.img.state_dict(), "txt": self.txt.state_dict()}

    @classmethod
    def from_state(cls, rec: dict[str, Any]) -> CrossModalHasher:
        img = HashNet(rec["img_in"], rec["bits"], rec["hidden"])
        txt = HashNet(rec["txt_in"], rec["bits"], rec["hidden"])
        img.load_state_dict(rec["img"])
        txt.load_state_dict(rec["txt"])
        return cls(rec["method"], rec["bits"], img, txt)


def _batches(n: int, batch: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    for s in range(0, n - batch + 1 if n >= batch else 1, batch):  # drop the ragged last batch
        yield perm[s:s + batch]


def train_cmimh(x_img: np.ndarray, x_txt: np.ndarray, bits: int, cfg: dict[str, Any], seed: int,
                log_fn: Callable[[dict], None] | None = None) -> CrossModalHasher:
    """CMIMH (losses.cmimh_loss) with Adam; ``cfg`` = the preset's ``cmimh`` + ``train`` sections merged."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xi, xt = torch.as_tensor(x_img, dtype=torch.float32), torch.as_tensor(x_txt, dtype=torch.float32)
    h, drop = int(cfg["hidden"]), float(cfg["input_dropout"])
    img, txt = HashNet(xi.shape[1], bits, h, drop), HashNet(xt.shape[1], bits, h, drop)
    ci, ct = InputCritic(xi.shape[1], bits), InputCritic(xt.shape[1], bits)
    params = [*img.parameters(), *txt.parameters(), *ci.parameters(), *ct.parameters()]
    opt = torch.optim.Adam(params, lr=float(cfg["lr"]), weight_decay=float(cfg.get("weight_decay", 0.0)))
    tau, tau_x = float(cfg["tau"]), float(cfg["tau_cross"])
    history = []
    for epoch in range(int(cfg["epochs"])):
        img.train(), txt.train()
        sums: dict[str, float] = {}
        steps = 0
        for idx in _batches(len(xi), int(cfg["batch_size"]), gen):
            a, b = xi[idx], xt[idx]
            p_i, p_t = torch.sigmoid(img(a)), torch.sigmoid(txt(b))
            b_i, b_t = sample_codes(p_i, gen), sample_codes(p_t, gen)
            s_i = cosine_critic(*ci.embed(b_i, a), tau)
            s_t = cosine_critic(*ct.embed(b_t, b), tau)
            loss, parts = cmimh_loss(p_i, p_t, b_i, b_t, s_i, s_t, alpha_img=float(cfg["alpha_img"]),
                                     alpha_txt=float(cfg["alpha_txt"]), lam=float(cfg["lam"]),
                                     gamma=float(cfg["gamma"]), tau_cross=tau_x, bound=str(cfg["bound"]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v
            steps += 1
        row = {"epoch": epoch, **{k: v / max(steps, 1) for k, v in sums.items()}}
        history.append(row)
        if log_fn is not None:
            log_fn({"method": "cmimh", "bits": bits, **row})
    return CrossModalHasher("cmimh", bits, img, txt, history)


def train_djsrh(x_img: np.ndarray, x_txt: np.ndarray, bits: int, cfg: dict[str, Any], seed: int,
                log_fn: Callable[[dict], None] | None = None) -> CrossModalHasher:
    """DJSRH-style baseline: the same networks, optimiser, epochs and batches; relaxed codes tanh(z)
    reconstruct the joint-modal similarity of the input features (losses.djsrh_loss)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xi, xt = torch.as_tensor(x_img, dtype=torch.float32), torch.as_tensor(x_txt, dtype=torch.float32)
    h, drop = int(cfg["hidden"]), float(cfg["input_dropout"])
    img, txt = HashNet(xi.shape[1], bits, h, drop), HashNet(xt.shape[1], bits, h, drop)
    opt = torch.optim.Adam([*img.parameters(), *txt.parameters()], lr=float(cfg["lr"]),
                           weight_decay=float(cfg.get("weight_decay", 0.0)))
    history = []
    for epoch in range(int(cfg["epochs"])):
        img.train(), txt.train()
        total, steps = 0.0, 0
        for idx in _batches(len(xi), int(cfg["batch_size"]), gen):
            a, b = xi[idx], xt[idx]
            S = djsrh_similarity(a, b, float(cfg["beta"]), float(cfg["eta"]))
            loss = djsrh_loss(torch.tanh(img(a)), torch.tanh(txt(b)), S, float(cfg["mu"]), float(cfg["w_intra"]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            steps += 1
        row = {"epoch": epoch, "loss": total / max(steps, 1)}
        history.append(row)
        if log_fn is not None:
            log_fn({"method": "djsrh", "bits": bits, **row})
    return CrossModalHasher("djsrh", bits, img, txt, history)
