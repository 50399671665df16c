"""Anchor graphs (Liu, He, Chang, ICML 2011) as low-rank, never-materialised affinities.

For features ``X`` (n × d) and ``m`` anchors ``U`` (k-means centres):

* ``Z`` (n × m, sparse): each row has ``s`` non-zeros, the ``s`` nearest anchors ``j`` of ``x_i`` with
  weights ``exp(-||x_i - u_j||² / (2 σ²))`` normalised so the row sums to 1; ``σ`` is the mean distance
  of a point to its ``s``-th nearest anchor (a convention of this package).
* ``Λ = diag(Zᵀ 1)`` and the affinity ``A = Z Λ⁻¹ Zᵀ``: symmetric, positive semi-definite, rows summing
  to 1 (so ``A 1 = 1`` and the largest eigenvalue is 1 with the constant eigenvector).

``A`` is stored as the factor ``Ẑ = Z Λ^{-1/2}`` (``A = Ẑ Ẑᵀ``); products ``A B`` cost ``O(n s r)``.
Several modalities' graphs fuse into ``Ā = Σ_v w_v A_v = [√w_1 Ẑ_1, …][√w_1 Ẑ_1, …]ᵀ`` -- again one
factor, so the fused (cross-modal) graph is as cheap as one modality's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class LowRankAffinity:
    """``A = Ẑ Ẑᵀ`` with a sparse factor ``Ẑ`` (n × k)."""

    factor: sp.csr_matrix

    @property
    def n(self) -> int:
        return int(self.factor.shape[0])

    def matmul(self, B: np.ndarray) -> np.ndarray:
        """``A @ B`` without forming A."""
        return np.asarray(self.factor @ (self.factor.T @ B))

    def quad(self, B: np.ndarray) -> float:
        """``tr(Bᵀ A B) = ||Ẑᵀ B||²_F``."""
        return float(np.square(self.factor.T @ np.asarray(B, dtype=np.float64)).sum())

    def dense(self) -> np.ndarray:
        """The n × n affinity (tests and the dense reference only)."""
        return np.asarray((self.factor @ self.factor.T).toarray())

    def eigenvectors(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``r`` eigenpairs of A via the small k × k matrix ``ẐᵀẐ`` (eigenvalues descending).

        If ``ẐᵀẐ = V Σ Vᵀ`` then ``U = Ẑ V Σ^{-1/2}`` holds orthonormal eigenvectors of ``A = ẐẐᵀ``.
        """
        M = np.asarray((self.factor.T @ self.factor).toarray())
        w, V = np.linalg.eigh((M + M.T) / 2)
        idx = np.argsort(w)[::-1][:r]
        w, V = np.clip(w[idx], 1e-12, None), V[:, idx]
        U = np.asarray(self.factor @ (V / np.sqrt(w)))
        return w, U


def fuse(graphs: list[LowRankAffinity], weights: list[float] | None = None) -> LowRankAffinity:
    """``Σ_v w_v A_v`` as one factor (weights default to 1/V so the fused rows still sum to 1)."""
    if weights is None:
        weights = [1.0 / len(graphs)] * len(graphs)
    return LowRankAffinity(sp.hstack([g.factor * np.sqrt(w) for g, w in zip(graphs, weights)]).tocsr())


def kmeans_anchors(X: np.ndarray, m: int, seed: int, iters: int = 10, sample: int = 20000) -> np.ndarray:
    """``m`` anchors: k-means++-initialised mini-batch k-means on at most ``sample`` points."""
    from sklearn.cluster import MiniBatchKMeans

    rng = np.random.default_rng(seed)
    idx = rng.choice(X.shape[0], size=min(sample, X.shape[0]), replace=False)
    km = MiniBatchKMeans(n_clusters=m, random_state=seed, n_init=1, max_iter=iters,
                         batch_size=min(4096, idx.size), init="k-means++")
    km.fit(X[idx])
    return km.cluster_centers_.astype(X.dtype, copy=False)


def anchor_weights(X: np.ndarray, anchors: np.ndarray, s: int, sigma: float | None = None,
                   chunk: int = 8192) -> tuple[sp.csr_matrix, float]:
    """The sparse ``Z`` (n × m) of the module docstring, and the bandwidth σ that was used."""
    n, m = X.shape[0], anchors.shape[0]
    s = min(s, m)
    a2 = (anchors.astype(np.float64) ** 2).sum(1)
    nn_idx = np.empty((n, s), dtype=np.int64)
    nn_d2 = np.empty((n, s), dtype=np.float64)
    for st in range(0, n, chunk):
        x = X[st:st + chunk].astype(np.float64)
        d2 = (x ** 2).sum(1)[:, None] - 2 * x @ anchors.T.astype(np.float64) + a2[None, :]
        np.maximum(d2, 0, out=d2)
        part = np.argpartition(d2, s - 1, axis=1)[:, :s] if s < m else np.tile(np.arange(m), (x.shape[0], 1))
        pd = np.take_along_axis(d2, part, axis=1)
        o = np.argsort(pd, axis=1, kind="stable")
        nn_idx[st:st + chunk] = np.take_along_axis(part, o, axis=1)
        nn_d2[st:st + chunk] = np.take_along_axis(pd, o, axis=1)
    if sigma is None:
        sigma = float(np.sqrt(nn_d2[:, -1]).mean())
        if not sigma > 0:
            sigma = 1.0
    w = np.exp(-(nn_d2 - nn_d2[:, :1]) / (2 * sigma ** 2))  # shift by the row minimum: same after normalising
    w /= w.sum(1, keepdims=True)
    Z = sp.csr_matrix((w.ravel(), nn_idx.ravel(), np.arange(0, n * s + 1, s)), shape=(n, m))
    return Z, sigma


def anchor_graph(X: np.ndarray, n_anchors: int, s: int, seed: int, kmeans_iters: int = 10,
                 anchors: np.ndarray | None = None) -> LowRankAffinity:
    """The anchor-graph affinity of ``X`` (see the module docstring) as a :class:`LowRankAffinity`."""
    X = np.asarray(X, dtype=np.float32)
    if anchors is None:
        anchors = kmeans_anchors(X, n_anchors, seed, iters=kmeans_iters)
    Z, _ = anchor_weights(X, anchors, s)
    lam = np.asarray(Z.sum(axis=0)).ravel()
    keep = lam > 0  # anchors no point chose contribute nothing
    Z = Z[:, keep]
    return LowRankAffinity(sp.csr_matrix(Z @ sp.diags(1.0 / np.sqrt(lam[keep]))))


def dense_anchor_affinity(X: np.ndarray, anchors: np.ndarray, s: int) -> np.ndarray:
    """Brute-force reference of ``Z Λ⁻¹ Zᵀ`` with explicit loops over points (tests only)."""
    X = np.asarray(X, dtype=np.float64)
    U = np.asarray(anchors, dtype=np.float64)
    n, m = X.shape[0], U.shape[0]
    D2 = np.array([[float(((X[i] - U[j]) ** 2).sum()) for j in range(m)] for i in range(n)])
    Z = np.zeros((n, m))
    near = [np.argsort(D2[i], kind="stable")[:s] for i in range(n)]
    sigma = float(np.mean([np.sqrt(D2[i, near[i][-1]]) for i in range(n)]))
    for i in range(n):
        w = np.exp(-D2[i, near[i]] / (2 * sigma ** 2))
        Z[i, near[i]] = w / w.sum()
    lam = Z.sum(0)
    keep = lam > 0
    return Z[:, keep] @ np.diag(1 / lam[keep]) @ Z[:, keep].T
