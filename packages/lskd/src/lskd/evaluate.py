"""Metrics: top-1 accuracy, the paper's penultimate-layer projection, and the numbers that turn the
paper's pictures into measurements: directional diffusion (with its controls) and logit erasure.

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
def accuracy(model: nn.Module, ds: Dataset, device: torch.device, batch_size: int = 256,
             tensors: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    """Top-1 accuracy in percent; under torchrun each rank scores a disjoint shard and counts are summed.
    ``tensors`` (the in-memory set, one process) skips the DataLoader."""
    info = get_info()
    if tensors is not None and not info.enabled:
        model.eval().to(device)
        x, y = tensors
        pred = torch.cat([model(b.to(device)).argmax(-1).cpu() for b in x.split(batch_size)])
        return 100.0 * float((pred == y).sum()) / max(len(y), 1)
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


def official_pca(train_points: np.ndarray, train_labels: np.ndarray, test_points: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official visualisation's 2-D PCA: fitted on the projected *training* items (150 per class there)
    together with the classes' training centroids, then reused for the test items. Returns the 2-D
    training points, test points and centroids."""
    from sklearn.decomposition import PCA

    classes = np.unique(train_labels)
    centroids = np.stack([train_points[train_labels == k].mean(0) for k in classes])
    pca = PCA(n_components=2).fit(np.concatenate([train_points, centroids]))
    return pca.transform(train_points), pca.transform(test_points), pca.transform(centroids)


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


def per_class_accuracy(model: nn.Module, tensors: tuple[torch.Tensor, torch.Tensor], classes: list[int],
                       device: torch.device, batch_size: int = 1024) -> float:
    """Top-1 (%) over the test items whose label is in ``classes`` (e.g. the four tops classes)."""
    x, y = tensors
    keep = torch.isin(y, torch.as_tensor(classes))
    model.eval().to(device)
    with torch.no_grad():
        pred = torch.cat([model(b.to(device)).argmax(-1).cpu() for b in x[keep].split(batch_size)])
    return 100.0 * float((pred == y[keep]).sum()) / max(int(keep.sum()), 1)


def logit_erasure(logits: np.ndarray, labels: np.ndarray) -> float:
    """Information-erasure statistic of a teacher's logits (issue #13): the spread of the non-target
    logits relative to the target's lead,

        E = mean_i sd_{k≠y_i}(z_ik) / mean_i (z_{i,y_i} − mean_{k≠y_i} z_ik)

    (a ratio of means, so that a few items with a near-zero lead cannot dominate). LS pulls every
    non-target logit to the same value (Müller et al. 2019), which erases what the teacher knows about
    an item's resemblance to other classes: E falls. The issue's pilot on Fashion-MNIST training logits
    saw 0.30 → 0.17 → 0.14 for α = 0, 0.1, 0.3.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    mask = np.ones_like(z, dtype=bool)
    mask[np.arange(len(y)), y] = False
    others = z[mask].reshape(len(y), -1)
    gap = z[np.arange(len(y)), y] - others.mean(1)
    return float(others.std(1, ddof=0).mean() / gap.mean())


def directional_spread(points: np.ndarray, labels: np.ndarray, a: int, toward: int) -> float:
    """How far class ``a``'s points reach toward class ``toward``'s centroid, beyond how far they reach away.

    With t_i = ⟨x_i − μ_a, u⟩ / ‖μ_t − μ_a‖ for the items i of class a, u the unit vector from μ_a to μ_t,

        R(a→t) = sqrt(mean_i max(t_i, 0)²) − sqrt(mean_i max(−t_i, 0)²)

    in units of the centroid distance. Any spread symmetric about μ_a — isotropic or elongated along the
    axis — gives R = 0; a tail reaching toward t gives R > 0; one reaching away gives R < 0. This is what
    the old index D (symmetric along the axis) could not tell apart.
    """
    xa = points[labels == a]
    if len(xa) < 2 or not (labels == toward).any():
        raise ValueError(f"need at least 2 points of class {a} and some of class {toward}")
    mu_a, mu_t = xa.mean(0), points[labels == toward].mean(0)
    dist = float(np.linalg.norm(mu_t - mu_a))
    t = (xa - mu_a) @ ((mu_t - mu_a) / dist) / dist
    return float(np.sqrt(np.mean(np.maximum(t, 0) ** 2)) - np.sqrt(np.mean(np.maximum(-t, 0) ** 2)))


def directional_diffusion(points: np.ndarray, labels: np.ndarray, a: int, b: int, c: int) -> dict[str, float]:
    """Systematic diffusion toward the semantically similar class, with the dissimilar class as control.

    ``toward_similar`` = ½(R(a→b) + R(b→a)); ``toward_dissimilar`` = ½(R(a→c) + R(b→c)); the index is
    their difference: > 0 when the similar classes reach toward each other more than toward c.
    """
    sim = 0.5 * (directional_spread(points, labels, a, b) + directional_spread(points, labels, b, a))
    dis = 0.5 * (directional_spread(points, labels, a, c) + directional_spread(points, labels, b, c))
    return {"toward_similar": sim, "toward_dissimilar": dis, "index": sim - dis}


def isotropic_control(points: np.ndarray, labels: np.ndarray, a: int, b: int, c: int, seed: int = 0) -> float:
    """The index of :func:`directional_diffusion` on an isotropic stand-in: every class replaced by a
    Gaussian with the same centroid, size and total variance. Its distance from 0 is the index's
    sampling noise at this number of points: an effect smaller than that is not diffusion."""
    rng = np.random.default_rng(seed)
    fake = np.empty_like(points, dtype=np.float64)
    for k in np.unique(labels):
        m = labels == k
        x = points[m]
        sd = np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean() / x.shape[1])
        fake[m] = x.mean(0) + sd * rng.standard_normal(x.shape)
    return directional_diffusion(fake, labels, a, b, c)["index"]
