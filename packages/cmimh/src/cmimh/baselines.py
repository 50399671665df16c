"""CCA-ITQ (Gong, Lazebnik, Gordo & Perronnin, TPAMI 2013), the shallow cross-modal baseline.

CCA: with centred ``X`` (n×d_x), ``Y`` (n×d_y), ``C_xx = XᵀX/n + r·(tr C_xx/d_x)·I`` (ridge ``r``,
relative to the mean variance), likewise ``C_yy``, and ``M = C_xx^{-1/2} C_xy C_yy^{-1/2} = U Σ Vᵀ``,
the projections are ``W_x = C_xx^{-1/2} U_k``, ``W_y = C_yy^{-1/2} V_k``. ITQ then learns one orthogonal
rotation ``R`` minimising ``‖B − V R‖²`` over the stacked projected training data of both modalities
(alternating ``B = sign(VR)`` and the orthogonal Procrustes step ``R = S Ŝᵀ`` from ``VᵀB = S Ω Ŝᵀ``).
Codes: ``1[(x − μ) W R > 0]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    w = np.maximum(w, 1e-12)
    return (v / np.sqrt(w)) @ v.T


def cca(x: np.ndarray, y: np.ndarray, k: int, reg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` regularised CCA directions ``(W_x, W_y, canonical correlations)``."""
    n = len(x)
    xc, yc = x - x.mean(0), y - y.mean(0)
    cxx, cyy, cxy = xc.T @ xc / n, yc.T @ yc / n, xc.T @ yc / n
    cxx += reg * np.trace(cxx) / len(cxx) * np.eye(len(cxx))
    cyy += reg * np.trace(cyy) / len(cyy) * np.eye(len(cyy))
    ix, iy = _inv_sqrt(cxx), _inv_sqrt(cyy)
    u, s, vt = np.linalg.svd(ix @ cxy @ iy, full_matrices=False)
    if k > len(s):
        raise ValueError(f"CCA can give at most {len(s)} directions, {k} asked")
    return ix @ u[:, :k], iy @ vt[:k].T, s[:k]


def itq(v: np.ndarray, n_iter: int, rng: np.random.Generator) -> np.ndarray:
    """ITQ rotation of the zero-centred data ``v`` (n×k)."""
    k = v.shape[1]
    r, _ = np.linalg.qr(rng.standard_normal((k, k)))
    for _ in range(n_iter):
        b = np.where(v @ r >= 0, 1.0, -1.0)
        s, _, sht = np.linalg.svd(v.T @ b)
        r = s @ sht
    return r


@dataclass
class CCAITQ:
    mu_x: np.ndarray
    mu_y: np.ndarray
    w_x: np.ndarray
    w_y: np.ndarray
    rot: np.ndarray

    def encode_image(self, x: np.ndarray) -> np.ndarray:
        return (((x - self.mu_x) @ self.w_x @ self.rot) > 0).astype(np.uint8)

    def encode_text(self, y: np.ndarray) -> np.ndarray:
        return (((y - self.mu_y) @ self.w_y @ self.rot) > 0).astype(np.uint8)


def fit_cca_itq(x: np.ndarray, y: np.ndarray, bits: int, reg: float, n_iter: int, seed: int) -> CCAITQ:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    wx, wy, _ = cca(x, y, bits, reg)
    mx, my = x.mean(0), y.mean(0)
    v = np.concatenate([(x - mx) @ wx, (y - my) @ wy])
    rot = itq(v, n_iter, np.random.default_rng(seed))
    return CCAITQ(mx, my, wx, wy, rot)
