"""Step 2: train the image and text hash functions to reproduce the step-1 codes; encode new items.

Loss (this package's interpretation; the abstract only says the networks "learn mapping functions ...
to binary codes obtained from the first step"): for each modality network ``f`` with ``tanh`` outputs,

    L = Σ_r (1 / (n r)) || tanh(f_r(x)) - B_r ||²_F        (B_r the step-1 codes of length r)

minimised with Adam. Out-of-sample codes are ``sgn(f_r(x))`` (``sgn(0) = +1``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dcsh.data import CrossModalData
from dcsh.models import FeatureMLP, ImageCNN, TextCNN

log = logging.getLogger("dcsh")
CHECKPOINT_KIND = "dcsh-hash-functions"


def image_tensor(data: CrossModalData) -> torch.Tensor:
    if data.images is not None:
        return (torch.from_numpy(np.ascontiguousarray(data.images)).float() / 255.0 - 0.5) / 0.25
    return torch.from_numpy(np.ascontiguousarray(data.image_features, dtype=np.float32))


def build_models(data: CrossModalData, bits: list[int], cfg: dict, embeddings: np.ndarray | None = None):
    s2 = cfg["step2"]
    if data.images is not None:
        img: nn.Module = ImageCNN(bits, width=int(s2["image_width"]))
    else:
        img = FeatureMLP(data.image_features.shape[1], bits, hidden=int(s2["mlp_hidden"]))
    emb = None
    if embeddings is not None:
        g = torch.Generator().manual_seed(0)
        emb = torch.randn(len(data.vocab), embeddings.shape[1], generator=g) * 0.1
        have = ~np.isnan(embeddings[:, 0])
        emb[torch.from_numpy(have)] = torch.from_numpy(embeddings[have])
        emb[0] = 0
    if data.text_as_features:
        return img, FeatureMLP(data.text_bow.shape[1], bits, hidden=int(s2["mlp_hidden"]))
    txt = TextCNN(len(data.vocab), bits, embed_dim=int(cfg["text"]["embed_dim"]), filters=int(s2["text_filters"]),
                  embeddings=emb, freeze_embeddings=bool(cfg["text"].get("freeze_embeddings", False)))
    return img, txt


def text_tensor(data: CrossModalData) -> torch.Tensor:
    if data.text_as_features:
        return torch.from_numpy(np.ascontiguousarray(data.text_bow, dtype=np.float32))
    return torch.from_numpy(data.text_ids)


def hash_loss(out: dict[int, torch.Tensor], target: dict[int, torch.Tensor]) -> torch.Tensor:
    """``Σ_r mean((tanh f_r - B_r)²)`` over the code lengths (outputs are already tanh'ed)."""
    return sum(torch.mean((out[b] - target[b]) ** 2) for b in target)


@dataclass
class HashFunctions:
    image: nn.Module
    text: nn.Module
    bits: list[int]
    history: list[dict]


def fit(data: CrossModalData, codes: dict[int, np.ndarray], cfg: dict, seed: int, device: Any = "cpu",
        embeddings: np.ndarray | None = None, log_fn: Callable[[dict], None] | None = None,
        quiet: bool = True, tag: str = "") -> HashFunctions:
    """Train both networks (``cfg['step2']``: epochs, batch_size, lr, weight_decay) on ``data`` → ``codes``."""
    from reprokit import progress

    s2 = cfg["step2"]
    bits = sorted(codes)
    torch.manual_seed(seed)
    img, txt = build_models(data, bits, cfg, embeddings)
    device = torch.device(device)
    img.to(device)
    txt.to(device)
    X = image_tensor(data)
    T = text_tensor(data)
    target = {b: torch.from_numpy(np.asarray(codes[b], dtype=np.float32)) for b in bits}
    n = data.n
    opt = torch.optim.Adam([*img.parameters(), *txt.parameters()], lr=float(s2["lr"]),
                           weight_decay=float(s2["weight_decay"]))
    epochs, bs = int(s2["epochs"]), int(s2["batch_size"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * ((n + bs - 1) // bs)))
    g = torch.Generator().manual_seed(seed)
    history = []
    for ep in progress(range(epochs), desc=f"step 2 {tag}".strip(), quiet=quiet):
        img.train()
        txt.train()
        perm = torch.randperm(n, generator=g)
        tot_i = tot_t = 0.0
        for st in range(0, n, bs):
            idx = perm[st:st + bs]
            tb = {b: target[b][idx].to(device) for b in bits}
            li = hash_loss(img(X[idx].to(device)), tb)
            lt = hash_loss(txt(T[idx].to(device)), tb)
            opt.zero_grad(set_to_none=True)
            (li + lt).backward()
            opt.step()
            sched.step()
            tot_i += float(li.detach()) * idx.numel()
            tot_t += float(lt.detach()) * idx.numel()
        row = {"epoch": ep + 1, "image_loss": tot_i / n, "text_loss": tot_t / n}
        history.append(row)
        if log_fn is not None:
            log_fn({"stage": f"step2{(':' + tag) if tag else ''}", **row})
    return HashFunctions(img, txt, bits, history)


@torch.no_grad()
def encode(model: nn.Module, inputs: torch.Tensor, batch_size: int = 512, device: Any = "cpu") -> dict[int, np.ndarray]:
    """Out-of-sample codes ``sgn(f_r(x))`` (int8 in {-1,+1}) for every code length of ``model``."""
    model.eval()
    outs: dict[int, list[np.ndarray]] = {}
    for st in range(0, inputs.shape[0], batch_size):
        o = model(inputs[st:st + batch_size].to(device))
        for b, v in o.items():
            outs.setdefault(b, []).append(np.where(v.cpu().numpy() >= 0, 1, -1).astype(np.int8))
    return {b: np.concatenate(v) for b, v in outs.items()}


def encode_data(hf: HashFunctions, data: CrossModalData, device: Any = "cpu") -> tuple[dict, dict]:
    """(image codes, text codes) of every item of ``data``, per code length."""
    return (encode(hf.image, image_tensor(data), device=device),
            encode(hf.text, text_tensor(data), device=device))


def save_hash_functions(path, hf: HashFunctions, data: CrossModalData, cfg: dict) -> None:
    from reprokit import save_checkpoint

    save_checkpoint(path, {"kind": CHECKPOINT_KIND, "bits": hf.bits, "image": hf.image.state_dict(),
                           "text": hf.text.state_dict(), "vocab": data.vocab,
                           "image_input": "pixels" if data.images is not None else "features",
                           "image_shape": list(data.images.shape[1:]) if data.images is not None
                           else [int(data.image_features.shape[1])],
                           "max_len": int(data.text_ids.shape[1]), "config": cfg,
                           "text_input": "features" if data.text_as_features else "tokens",
                           "text_dim": int(data.text_bow.shape[1])})
