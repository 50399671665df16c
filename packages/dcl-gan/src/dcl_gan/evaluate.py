"""The analysis framework's metrics: quality (p_t, FID) and diversity (intra-cluster distance).

- ``p_t``: the mean probability a source-vs-target classifier gives "target" on generated images.
- FID: ``‖μ1 - μ2‖² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½)`` on features of the in-package FeatureNet
  ("FID (in-package features)"), or of torchvision's Inception-v3 when a local weights file is given
  ("FID (Inception-v3, local weights)"; torchvision's network, not the TF-Inception of pytorch-fid).
- intra-cluster diversity (Ojha et al. 2021; as AdAM's eval.py computes intra-LPIPS): assign each
  generated image to its nearest shot, take up to 50 random members per cluster, average their pairwise
  distances, then average over clusters. With local LPIPS weight files (``eval.lpips_*``) the distance is
  LPIPS (``dcl_gan.perceptual.LPIPS``: "intra-LPIPS (VGG-16, local weights)"); otherwise it is LPIPS-style
  on FeatureNet maps (unit-normalised channels, spatial mean of squared differences, summed over layers,
  uniform layer weights), named "intra-cluster distance (in-package features)".
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import linalg

from dcl_gan.data import to_float
from dcl_gan.models import FeatureNet
from dcl_gan.perceptual import LPIPS, InceptionFeatures  # noqa: F401 - InceptionFeatures re-exported

log = logging.getLogger("dcl_gan")


# -------------------------------------------------------------------------------------------- FID
def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a singular product (few samples, many features) is handled below
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1 @ s2)
    if isinstance(covmean, tuple):
        covmean = covmean[0]
    if not np.isfinite(covmean).all():
        off = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = np.real(covmean)
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean), 0.0))


def feature_stats(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(f, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID of two feature sets (N1, D), (N2, D).

    With fewer samples than dimensions (Inception's 2048-d pool features on a few hundred images) the
    D × D square root is replaced by an exact identity: with Σ1 = A Aᵀ, Σ2 = B Bᵀ (A = centred f1 / √(N1−1)),
    the non-zero eigenvalues of Σ1 Σ2 are those of (AᵀB)(AᵀB)ᵀ, so Tr (Σ1 Σ2)^½ = ‖AᵀB‖_* (nuclear norm)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if min(len(f1), len(f2)) >= f1.shape[1]:
        return frechet_distance(*feature_stats(f1), *feature_stats(f2))
    a = (f1 - f1.mean(0)) / np.sqrt(len(f1) - 1)
    b = (f2 - f2.mean(0)) / np.sqrt(len(f2) - 1)
    diff = f1.mean(0) - f2.mean(0)
    tr_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(max(diff @ diff + (a * a).sum() + (b * b).sum() - 2 * tr_sqrt, 0.0))


# -------------------------------------------------------------------------------------- diversity
def sq_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances (N, D) × (M, D) → (N, M): LPIPS-style on flattened embeddings."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def intra_cluster_diversity(samples: np.ndarray, shots: np.ndarray, *, max_per_cluster: int = 50, seed: int = 0,
                            dist: Callable[[np.ndarray, np.ndarray], np.ndarray] = sq_euclidean,
                            to_shots: np.ndarray | None = None) -> dict:
    """Mean over clusters of the mean pairwise distance within each cluster.

    ``samples`` (N, D) and ``shots`` (K, D) are embeddings; ``dist`` gives pairwise distances. Each sample
    joins the cluster of its nearest shot; a cluster keeps up to ``max_per_cluster`` random members;
    clusters with fewer than two members have no pairs and are left out of the mean. ``to_shots``: the
    (N, K) distances ``dist(samples, shots)`` if already computed.
    Returns ``{"diversity", "per_cluster" (nan where undefined), "sizes"}``.
    """
    rng = np.random.default_rng(seed)
    assign = (dist(samples, shots) if to_shots is None else to_shots).argmin(1)
    per, sizes = [], []
    for k in range(len(shots)):
        members = np.flatnonzero(assign == k)
        sizes.append(len(members))
        if len(members) < 2:
            per.append(float("nan"))
            continue
        if len(members) > max_per_cluster:
            members = rng.choice(members, max_per_cluster, replace=False)
        d = dist(samples[members], samples[members])
        iu = np.triu_indices(len(members), 1)
        per.append(float(d[iu].mean()))
    valid = [p for p in per if not np.isnan(p)]
    return {"diversity": float(np.mean(valid)) if valid else 0.0, "per_cluster": per, "sizes": sizes}


# --------------------------------------------------------------------------- in-package networks
def _batches(n: int, bs: int):
    for i in range(0, n, bs):
        yield slice(i, min(i + bs, n))


def train_classifier(images: np.ndarray, labels: np.ndarray, n_out: int, *, epochs: int, seed: int,
                     batch_size: int = 128, lr: float = 2e-3, width: int = 32) -> FeatureNet:
    """A FeatureNet trained with cross-entropy (Adam), with small random shifts as augmentation."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = FeatureNet(images.shape[1], n_out, width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x_all, y_all = to_float(images), torch.as_tensor(labels, dtype=torch.long)
    for _ in range(epochs):
        perm = torch.randperm(len(x_all), generator=g)
        for sl in _batches(len(perm), batch_size):
            idx = perm[sl]
            x = x_all[idx]
            dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
            x = torch.roll(x, (dy, dx), dims=(-2, -1))
            loss = F.cross_entropy(net(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


def rotation_task(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Self-supervised labels for a feature net without classes: each image rotated by k·90°, label k."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 4, len(images))
    out = np.stack([np.rot90(im, int(r), axes=(-2, -1)) for im, r in zip(images, k)])
    return np.ascontiguousarray(out), k


@torch.no_grad()
def accuracy(net: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    pred = np.concatenate([net(to_float(images[s])).argmax(1).numpy() for s in _batches(len(images), 256)])
    return float((pred == labels).mean())


def state_to_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def arrays_to_state(module: nn.Module, arrays: dict[str, np.ndarray]) -> nn.Module:
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()})
    return module


class Evaluator:
    """Holds the evaluation networks and the target-domain reference statistics."""

    def __init__(self, feat_net: FeatureNet, domain_net: FeatureNet, shots: np.ndarray, target_full: np.ndarray,
                 *, n_samples: int, max_per_cluster: int, batch_size: int = 250, inception: nn.Module | None = None,
                 lpips: LPIPS | None = None, device: torch.device | None = None):
        self.device = device or torch.device("cpu")
        self.feat_net, self.domain_net = feat_net.to(self.device).eval(), domain_net.to(self.device).eval()
        self.inception = inception.to(self.device).eval() if inception is not None else None
        self.lpips = lpips.to(self.device).eval() if lpips is not None else None
        self.n_samples, self.max_per_cluster, self.bs = n_samples, max_per_cluster, batch_size
        self.shots_u8 = shots
        self.shots_f = to_float(shots)
        self.shot_emb = self.perceptual(self.shots_f)
        self.ref_feats = self.fid_features(to_float(target_full))
        self.fid_name = "FID (Inception-v3, local weights)" if inception is not None else "FID (in-package features)"
        self.div_name = (f"intra-LPIPS ({lpips.name}, local weights)" if lpips is not None
                         else "intra-cluster distance (in-package features)")

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """One pass of the feature net: (LPIPS-style embedding, FID features).

        The embedding is each layer's unit-normalised channels / √(HW), concatenated, so its squared
        Euclidean distance is Σ_l mean_hw ‖f̂_l(x) - f̂_l(y)‖²."""
        per, fid = [], []
        for sl in _batches(len(x), self.bs):
            xb = x[sl].to(self.device)
            maps = self.feat_net.maps(xb)
            parts = [(F.normalize(m, dim=1) / np.sqrt(m.shape[-1] * m.shape[-2])).flatten(1) for m in maps]
            per.append(torch.cat(parts, 1).cpu().numpy())
            f = self.inception(xb) if self.inception is not None else self.feat_net.fc(self.feat_net.pool(maps[-1]))
            fid.append(f.cpu().numpy())
        return np.concatenate(per), np.concatenate(fid)

    def perceptual(self, x: torch.Tensor) -> np.ndarray:
        return self.features(x)[0]

    def fid_features(self, x: torch.Tensor) -> np.ndarray:
        return self.features(x)[1]

    @torch.no_grad()
    def p_target(self, x: torch.Tensor) -> float:
        probs = [F.softmax(self.domain_net(x[sl].to(self.device)), 1)[:, 1].cpu() for sl in _batches(len(x), self.bs)]
        return float(torch.cat(probs).mean())

    @torch.no_grad()
    def generate(self, G: nn.Module, z: torch.Tensor) -> torch.Tensor:
        G.eval()
        out = torch.cat([G(z[sl].to(self.device)).clamp(-1, 1).cpu() for sl in _batches(len(z), self.bs)])
        G.train()
        return out

    def images_metrics(self, x: torch.Tensor, seed: int = 0) -> dict:
        emb, fid_f = self.features(x)
        if self.lpips is not None:  # LPIPS between images: the "embeddings" are the images themselves
            to_shots = self.lpips.pairwise(x, self.shots_f)
            div = intra_cluster_diversity(x.numpy(), self.shots_f.numpy(), max_per_cluster=self.max_per_cluster,
                                          seed=seed, dist=self.lpips.pairwise, to_shots=to_shots)
        else:
            to_shots = sq_euclidean(emb, self.shot_emb)
            div = intra_cluster_diversity(emb, self.shot_emb, max_per_cluster=self.max_per_cluster, seed=seed,
                                          to_shots=to_shots)
        return {"p_t": self.p_target(x), "fid": fid_from_features(fid_f, self.ref_feats),
                "intra_div": div["diversity"], "clusters_used": int(sum(s >= 2 for s in div["sizes"])),
                "nn_shot_dist": float(to_shots.min(1).mean())}

    def __call__(self, G: nn.Module, z: torch.Tensor, seed: int = 0) -> dict:
        return self.images_metrics(self.generate(G, z), seed)
