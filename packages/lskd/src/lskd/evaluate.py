"""Metrics: top-1 accuracy, the paper's penultimate-layer projection, and two numeric indices
(systematic diffusion, information erasure) that turn the paper's pictures into numbers.

The projection (paper Sec. 4, following Müller et al. 2019): for three classes (two semantically
similar, one not) take the final layer's rows with their bias, ``r_k = [w_k; b_k]``, build an
orthonormal basis ``Q`` (D+1, 3) of their span, and project the penultimate features with a 1
appended: ``c_i = [h_i; 1]ᵀ Q`` (3-D). The figures show a 2-D PCA of these points.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from reprokit.distributed import all_reduce_sum, get_info


@torch.no_grad()
def accuracy(model: nn.Module, ds: Dataset, device: torch.device, batch_size: int = 256) -> float:
    """Top-1 accuracy in percent; under torchrun each rank scores a disjoint shard and counts are summed."""
    info = get_info()
    shard = Subset(ds, range(info.rank, len(ds), info.world_size)) if info.enabled else ds
    model.eval().to(device)
    correct = total = 0
    for x, y, *_ in DataLoader(shard, batch_size=batch_size, shuffle=False):
        pred = model(x.to(device)).argmax(-1).cpu()
        correct += int((pred == y).sum())
        total += len(y)
    c = all_reduce_sum({"correct": correct, "total": total})
    return 100.0 * c["correct"] / max(c["total"], 1)


@torch.no_grad()
def class_features(model: nn.Module, ds: Dataset, classes: list[int], device: torch.device,
                   max_per_class: int | None = None, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features ``h`` (N, D) and labels of the test items of ``classes`` (first ``max_per_class``)."""
    labels = np.asarray([int(t) for t in _targets(ds)])
    keep = np.concatenate([np.flatnonzero(labels == c)[:max_per_class] for c in classes])
    keep.sort()
    model.eval().to(device)
    feats = [model.features(x.to(device)).float().cpu()
             for x, *_ in DataLoader(Subset(ds, keep.tolist()), batch_size=batch_size, shuffle=False)]
    return torch.cat(feats).numpy(), labels[keep]


def _targets(ds: Dataset) -> list[int]:
    """Labels without decoding images where the dataset knows them (``targets``), else by iteration."""
    base = ds.base if hasattr(ds, "base") else ds
    if getattr(base, "targets", None) is not None:
        return list(base.targets)
    return [int(ds[i][1]) for i in range(len(ds))]


def projection_basis(weight: np.ndarray, bias: np.ndarray, classes: list[int]) -> np.ndarray:
    """Orthonormal basis Q (D+1, m) of span{[w_k; b_k] : k ∈ classes} (reduced QR, Gram-Schmidt order)."""
    rows = np.concatenate([weight[classes], bias[classes, None]], axis=1).astype(np.float64)  # (m, D+1)
    q, r = np.linalg.qr(rows.T)
    return q * np.sign(np.diag(r))  # fix the signs so the basis is unique


def project(features: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Coordinates ``c_i = [h_i; 1]ᵀ Q`` of each feature in the basis (N, m)."""
    aug = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    return aug @ basis


def pca_2d(points: np.ndarray) -> np.ndarray:
    """2-D PCA of the projected points (scikit-learn), for the figures."""
    from sklearn.decomposition import PCA

    return PCA(n_components=2).fit_transform(points)


def model_projection(model: nn.Module, features: np.ndarray, classes: list[int]) -> np.ndarray:
    """The paper's 3-class projection of ``features`` using ``model.fc``'s rows and bias."""
    w = model.fc.weight.detach().cpu().numpy()
    b = model.fc.bias.detach().cpu().numpy()
    return project(features, projection_basis(w, b, classes))


def diffusion_index(points: np.ndarray, labels: np.ndarray, a: int, b: int) -> float:
    """Systematic-diffusion index of two semantically similar classes a, b (this package's definition).

    With centroids μ_a, μ_b and the unit axis u = (μ_b − μ_a)/‖μ_b − μ_a‖ joining them, let
    σ_c = std_{i∈c} ⟨x_i − μ_c, u⟩ be how far class c's points spread along that axis. Then

        D(a, b) = ½ (σ_a + σ_b) / ‖μ_b − μ_a‖

    — the spread of the two classes toward each other, relative to their separation. It is scale
    free (a student's feature scale changes with T) and ignores spread orthogonal to the axis, so
    it measures diffusion *toward the similar class*, the paper's "systematic diffusion". Two
    Gaussian clusters with per-axis std σ at distance d give D ≈ σ/d.
    """
    xa, xb = points[labels == a], points[labels == b]
    if len(xa) < 2 or len(xb) < 2:
        raise ValueError(f"need at least 2 points of classes {a} and {b}")
    mu_a, mu_b = xa.mean(0), xb.mean(0)
    dist = float(np.linalg.norm(mu_b - mu_a))
    u = (mu_b - mu_a) / dist
    sigma_a, sigma_b = ((xa - mu_a) @ u).std(), ((xb - mu_b) @ u).std()
    return float(0.5 * (sigma_a + sigma_b) / dist)


def relative_spread(points: np.ndarray, labels: np.ndarray) -> float:
    """Relative cluster spread S (used for the teacher's information erasure):

        S = mean_k sqrt( mean_{i∈k} ‖x_i − μ_k‖² ) / mean_{k<l} ‖μ_k − μ_l‖

    LS makes each class a tight cluster equidistant from the others (Müller et al. 2019): the
    per-example information about resemblance to other classes is erased, and S shrinks. The
    erasure of an LS teacher is reported as ``1 − S_LS / S_plain`` (> 0: LS erased information).
    """
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("need at least two classes")
    mus = np.stack([points[labels == k].mean(0) for k in classes])
    rms = np.mean([np.sqrt(((points[labels == k] - mus[i]) ** 2).sum(1).mean()) for i, k in enumerate(classes)])
    pair = [np.linalg.norm(mus[i] - mus[j]) for i in range(len(classes)) for j in range(i + 1, len(classes))]
    return float(rms / np.mean(pair))
