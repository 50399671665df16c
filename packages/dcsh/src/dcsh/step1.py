r"""Step 1 of DCSH: binary optimisation by joint spectral embedding (this package's formulation).

The paper's abstract says only that step 1 "simultaneously learn[s] single-modality and binary
cross-modality representations", the former "preserving the local structure of each modality", the
latter "reveal[ing] the hidden patterns from all modalities". The objective below, its constraints and
its solver are **this package's interpretation** (in the style of discrete graph hashing, Liu et al.
2014), not the paper's equations, which are not available here.

Variables, for V modalities with anchor-graph affinities ``A_v`` (see :mod:`dcsh.graph`) and the fused
cross-modal affinity ``Ā = Σ_v w_v A_v``::

    F_v ∈ Ω            continuous single-modality embeddings (n × r), one per modality
    B   ∈ 𝔹 = {-1, +1}^{n×r} with balanced bits (Bᵀ1 = 0; for odd n each column sums to -1):
                       the shared binary cross-modality codes (``balance: soft`` drops Bᵀ1 = 0)
    Y   ∈ Ω            a continuous proxy of B carrying the decorrelation constraint
    Ω = { X ∈ R^{n×r} : Xᵀ1 = 0 (balanced), XᵀX = n I (decorrelated) }

``J = I - 11ᵀ/n`` centres: ``Ā 1 = 1`` makes a constant bit the trivial maximiser of ``tr(bᵀĀb)``, and
``JĀJ`` (still PSD) gives such a bit no credit. For ``F_v ∈ Ω`` centring changes nothing in (1).

Objective (maximised; :func:`objective` returns ``J = -Q / n``, which is minimised and logged)::

    Q = Σ_v tr(F_vᵀ A_v F_v)          (1) single-modality spectral terms: F_v keeps modality v's local structure
      + α Σ_v tr(F_vᵀ B)              (2) coupling: = const - (α/2) Σ_v ||B - F_v||²_F  (||B||² = ||F_v||² = n r)
      + β tr(Bᵀ J Ā J B)              (3) the joint cross-modal spectral term on the binary codes
      + ρ tr(Bᵀ Y)                    (4) = const - (ρ/2) ||B - Y||²_F: B near a decorrelated Y

Updates (block-coordinate ascent; each one never decreases Q, so J never increases -- tested):

* **F_v** (per modality): ``tr(FᵀAF)`` is convex (A is PSD), so it is bounded below by its linearisation at the
  current ``F⁰``; maximising the bound ``tr(Fᵀ(2 A_v F⁰ + α B))`` over Ω has the closed form
  ``F = √n P Qᵀ`` with ``J C = P S Qᵀ`` the thin SVD of the centred ``C`` (``J = I - 11ᵀ/n``) (minorise-maximise;
  columns of a rank-deficient ``JC`` are completed orthogonally to ``[P, 1]``).
* **B**: the same bound for (3) is linear in B, ``tr(Bᵀ C)`` with ``C = 2β JĀJ B⁰ + α Σ_v F_v + ρ Y``; its exact
  maximiser over 𝔹 sets, in each column, the ⌊n/2⌋ largest entries of C to +1 and the rest to -1; with
  ``balance: soft`` it is ``sgn(C)`` (``sgn(0)`` keeps the old bit). B stays exactly binary.
  Repeated ``b_steps`` times.
* **Y**: ``argmax_{Y∈Ω} tr(YᵀB) = √n P Qᵀ`` of ``J B`` (exact).

Initialisation: ``F_v`` = the top non-trivial eigenvectors of ``A_v`` (spectral embedding, √n-scaled), ``Y`` =
those of ``Ā``, ``B`` = the maximiser of ``tr(BᵀY)`` over 𝔹 (a median split of Y).
Terms can be switched off (α = 0, β = 0, ρ = 0: the ablations); with one
modality the same solver gives per-modality spectral codes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dcsh.graph import LowRankAffinity, anchor_graph, fuse

log = logging.getLogger("dcsh")


@dataclass
class Step1Result:
    codes: np.ndarray  # (n, r) int8 in {-1, +1}
    F: list[np.ndarray]
    Y: np.ndarray
    history: list[dict] = field(default_factory=list)  # one row per outer iteration (objective and terms)
    seconds: float = 0.0


def project_omega(C: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """``argmax_{X ∈ Ω} tr(Xᵀ C)``: ``√n P Qᵀ`` from the thin SVD of the column-centred C."""
    n, r = C.shape
    JC = C - C.mean(axis=0, keepdims=True)
    P, S, Qt = np.linalg.svd(JC, full_matrices=False)
    tol = max(n, r) * np.finfo(float).eps * (S[0] if S.size and S[0] > 0 else 1.0)
    bad = S <= tol
    if bad.any():  # complete P with directions orthogonal to the good columns and to 1
        rng = rng or np.random.default_rng(0)
        good = P[:, ~bad]
        basis = np.hstack([np.ones((n, 1)) / np.sqrt(n), good])
        extra = rng.standard_normal((n, int(bad.sum())))
        extra -= basis @ (basis.T @ extra)
        extra, _ = np.linalg.qr(extra)
        P = np.hstack([good, extra])
        Qt = np.vstack([Qt[~bad], Qt[bad]])
    return np.sqrt(n) * (P @ Qt)


def sign_keep(x: np.ndarray, old: np.ndarray | None = None) -> np.ndarray:
    """sgn as int8 {-1,+1}; zeros keep ``old`` (or +1)."""
    out = np.where(x > 0, 1, -1).astype(np.int8)
    zero = x == 0
    if zero.any():
        out[zero] = old[zero] if old is not None else 1
    return out


def balanced_sign(C: np.ndarray) -> np.ndarray:
    """``argmax tr(BᵀC)`` over balanced binary B: per column the ⌊n/2⌋ largest entries → +1.

    A linear-time selection (``argpartition``) per column; among equal entries at the cut the choice is
    arbitrary but deterministic -- every such choice attains the same maximum.
    """
    n = C.shape[0]
    Ct = np.ascontiguousarray(np.asarray(C, dtype=np.float64).T)
    Bt = -np.ones(Ct.shape, dtype=np.int8)
    if n // 2 > 0:
        top = np.argpartition(-Ct, n // 2 - 1, axis=1)[:, : n // 2]
        np.put_along_axis(Bt, top, 1, axis=1)
    return np.ascontiguousarray(Bt.T)


def spectral_init(aff: LowRankAffinity, r: int) -> np.ndarray:
    """√n × an orthonormal basis of the top-r non-constant eigen-directions of A (an element of Ω)."""
    n = aff.n
    k = min(r + 1, aff.factor.shape[1])
    _, U = aff.eigenvectors(k)
    U = U - U.mean(axis=0, keepdims=True)  # A1 = 1: removes the trivial direction
    P, _, _ = np.linalg.svd(U, full_matrices=False)
    P = P[:, :r]
    if P.shape[1] < r:  # fewer graph directions than bits: pad with random orthogonal directions
        P = project_omega(np.hstack([P, np.zeros((n, r - P.shape[1]))])) / np.sqrt(n)
    return np.sqrt(n) * P


def terms(graphs: list[LowRankAffinity], fused: LowRankAffinity, F: list[np.ndarray], B: np.ndarray,
          Y: np.ndarray) -> dict[str, float]:
    """The four (unweighted) terms of Q, each divided by n."""
    n = B.shape[0]
    Bf = B.astype(np.float64)
    return {"spectral": sum(g.quad(f) for g, f in zip(graphs, F)) / n,
            "coupling": sum(float((f * Bf).sum()) for f in F) / n,
            "joint": fused.quad(Bf - Bf.mean(axis=0, keepdims=True)) / n,
            "balance": float((Bf * Y).sum()) / n}


def objective(t: dict[str, float], alpha: float, beta: float, rho: float) -> float:
    """``J = -Q/n`` (minimised) from :func:`terms`."""
    return -(t["spectral"] + alpha * t["coupling"] + beta * t["joint"] + rho * t["balance"])


def solve(graphs: list[LowRankAffinity], bits: int, *, alpha: float = 1.0, beta: float = 1.0, rho: float = 1.0,
          iters: int = 20, b_steps: int = 3, tol: float = 1e-6, weights: list[float] | None = None,
          balance: str = "hard", seed: int = 0, callback: Callable[[dict], None] | None = None) -> Step1Result:
    """Run the alternating updates of the module docstring and return the exactly binary codes."""
    t0 = time.time()
    rng = np.random.default_rng(seed)
    n = graphs[0].n
    if bits >= n:
        raise ValueError(f"{bits} bits need more than {bits} items (got {n})")
    fused = graphs[0] if len(graphs) == 1 else fuse(graphs, weights)
    F = [spectral_init(g, bits) for g in graphs]
    Y = spectral_init(fused, bits)
    if balance not in ("hard", "soft"):
        raise ValueError(f"balance must be 'hard' or 'soft', got {balance!r}")
    binarise = (lambda C, old: balanced_sign(C)) if balance == "hard" else sign_keep
    B = binarise(Y, None)
    history = []

    def record(it: int) -> float:
        t = terms(graphs, fused, F, B, Y)
        J = objective(t, alpha, beta, rho)
        row = {"iter": it, "objective": J, **t,
               "bit_balance": float(np.abs(B.mean(axis=0)).max()),
               "bit_corr": float(np.abs(np.corrcoef(B.T.astype(np.float64)) - np.eye(bits)).max())
               if bits > 1 else 0.0}
        history.append(row)
        if callback is not None:
            callback(row)
        return J

    prev = record(0)
    for it in range(1, iters + 1):
        Bf = B.astype(np.float64)
        F = [project_omega(2.0 * g.matmul(f) + alpha * Bf, rng) for g, f in zip(graphs, F)]
        lin = alpha * sum(F) + rho * Y
        for _ in range(b_steps):
            Bc = B - B.mean(axis=0, keepdims=True)
            AB = fused.matmul(Bc)
            B = binarise(2.0 * beta * (AB - AB.mean(axis=0, keepdims=True)) + lin, B)
        Y = project_omega(B.astype(np.float64), rng)
        J = record(it)
        if abs(prev - J) <= tol * max(1.0, abs(prev)):
            break
        prev = J
    return Step1Result(codes=B, F=F, Y=Y, history=history, seconds=time.time() - t0)


def build_graphs(features: list[np.ndarray], n_anchors: int, s: int, seed: int,
                 kmeans_iters: int = 10) -> list[LowRankAffinity]:
    """One anchor graph per modality (features standardised by :func:`prepare_features` beforehand)."""
    return [anchor_graph(X, min(n_anchors, X.shape[0]), s, seed + 7919 * v, kmeans_iters)
            for v, X in enumerate(features)]


def prepare_features(X: np.ndarray, max_dim: int | None = 128, seed: int = 0) -> np.ndarray:
    """Centre, reduce to at most ``max_dim`` PCA dimensions (randomised SVD) and scale to unit mean norm."""
    X = np.asarray(X, dtype=np.float32)
    X = X - X.mean(axis=0, keepdims=True)
    if max_dim is not None and X.shape[1] > max_dim:
        from sklearn.utils.extmath import randomized_svd

        U, S, _ = randomized_svd(X, max_dim, random_state=seed)
        X = (U * S).astype(np.float32)
    norm = float(np.linalg.norm(X, axis=1).mean())
    return X / (norm if norm > 0 else 1.0)


def dcsh_codes(features: list[np.ndarray], bits: int, cfg: dict, seed: int,
               callback: Callable[[dict], None] | None = None) -> Step1Result:
    """Features → anchor graphs → :func:`solve` with the config's α, β, ρ (``cfg`` = the ``step1`` section)."""
    feats = [prepare_features(X, cfg.get("pca_dim"), seed) for X in features]
    graphs = build_graphs(feats, int(cfg["anchors"]), int(cfg["s"]), seed, int(cfg.get("kmeans_iters", 10)))
    return solve(graphs, bits, alpha=float(cfg["alpha"]), beta=float(cfg["beta"]), rho=float(cfg["rho"]),
                 iters=int(cfg["iters"]), b_steps=int(cfg.get("b_steps", 3)), balance=str(cfg.get("balance", "hard")),
                 seed=seed, callback=callback)


# ----------------------------------------------------------------------------------------- baselines
def itq(V: np.ndarray, iters: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Iterative quantisation (Gong & Lazebnik 2011) of centred projected data ``V`` (n × r).

    Alternates ``B = sgn(V R)`` and ``R = argmin_R ||B - V R||²`` (orthogonal Procrustes: ``BᵀV = S Ω Ŝᵀ`` →
    ``R = Ŝ Sᵀ``). Returns (R, codes, quantisation loss per iteration, non-increasing).
    """
    rng = np.random.default_rng(seed)
    r = V.shape[1]
    R, _ = np.linalg.qr(rng.standard_normal((r, r)))
    losses = []
    for _ in range(iters):
        B = sign_keep(V @ R).astype(np.float64)
        losses.append(float(np.square(B - V @ R).sum()))
        U, _, Wt = np.linalg.svd(B.T @ V)
        R = (U @ Wt).T
    B = sign_keep(V @ R)
    losses.append(float(np.square(B - V @ R).sum()))
    return R, B, losses


@dataclass
class CCAITQ:
    """CCA-ITQ (Gong, Ke, Isard, Lazebnik 2013): CCA projections of both modalities, one shared ITQ rotation.

    CCA by whitening: ``C_aa^{-1/2} C_ab C_bb^{-1/2} = U S Vᵀ``, ``W_a = C_aa^{-1/2} U_r``, ``W_b = C_bb^{-1/2} V_r``,
    ridge ``reg · mean(diag)`` on each covariance; projections scaled by ``S^power`` (Gong et al. weight the
    CCA directions by their eigenvalues; ``power`` is this package's choice). ITQ runs on the stacked
    projections of both modalities. Codes: ``sgn((x - μ_a) W_a R)`` and ``sgn((y - μ_b) W_b R)``.
    """

    bits: int
    reg: float = 1e-3
    power: float = 1.0
    itq_iters: int = 50
    seed: int = 0

    def fit(self, Xa: np.ndarray, Xb: np.ndarray) -> CCAITQ:
        Xa, Xb = np.asarray(Xa, np.float64), np.asarray(Xb, np.float64)
        self.mu_a, self.mu_b = Xa.mean(0), Xb.mean(0)
        A, Bm = Xa - self.mu_a, Xb - self.mu_b
        n = A.shape[0]
        Caa, Cbb, Cab = A.T @ A / n, Bm.T @ Bm / n, A.T @ Bm / n
        Caa += self.reg * np.trace(Caa) / Caa.shape[0] * np.eye(Caa.shape[0])
        Cbb += self.reg * np.trace(Cbb) / Cbb.shape[0] * np.eye(Cbb.shape[0])
        ia, ib = _inv_sqrt(Caa), _inv_sqrt(Cbb)
        U, S, Vt = np.linalg.svd(ia @ Cab @ ib)
        r = self.bits
        if r > min(U.shape[1], Vt.shape[0]):
            raise ValueError(f"CCA-ITQ: {r} bits need at least {r} feature dimensions in each modality")
        self.corr = S[:r]
        scale = S[:r] ** self.power
        self.Wa, self.Wb = ia @ U[:, :r] * scale, ib @ Vt[:r].T * scale
        V = np.vstack([A @ self.Wa, Bm @ self.Wb])
        self.R, _, self.itq_losses = itq(V, self.itq_iters, self.seed)
        return self

    def encode_a(self, X: np.ndarray) -> np.ndarray:
        return sign_keep((np.asarray(X, np.float64) - self.mu_a) @ self.Wa @ self.R)

    def encode_b(self, X: np.ndarray) -> np.ndarray:
        return sign_keep((np.asarray(X, np.float64) - self.mu_b) @ self.Wb @ self.R)


def _inv_sqrt(C: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((C + C.T) / 2)
    return (V / np.sqrt(np.clip(w, 1e-12, None))) @ V.T
