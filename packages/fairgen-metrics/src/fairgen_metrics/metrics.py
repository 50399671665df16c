"""Fairness metrics of a generative model's sensitive-attribute distribution.

Notation: ``p`` (p̂) is the distribution of the K sensitive-attribute classes among generated samples
(from a classifier's hard labels), ``ref`` (p̄) the reference, uniform ``1/K`` by default. Every function
takes numpy arrays or torch tensors (converted on the CPU), any K ≥ 2, and a batch of distributions
``(..., K)``: the metric is computed over the last axis.

Zero-count classes are never dropped: :func:`proportions` counts with ``bincount(minlength=K)``; a naive
``np.unique`` count (what the official ``metrics.py`` once did) forgets absent classes, see
:func:`proportions_naive_unique`.

Normalisation (Teo & Cheung): a metric divided by its value at a one-hot distribution, the least fair
p̂, so that it runs from 0 (p̂ = p̄) to 1 (one-hot) whatever K. With a non-uniform reference the divisor
is the largest value over the K one-hot distributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GROUND_METRICS = ("discrete", "index", "hamming")


# ----------------------------------------------------------------------------------------- inputs
def as_numpy(x: Any) -> np.ndarray:
    """numpy view of a numpy array, torch tensor (any device) or sequence."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def uniform(k: int) -> np.ndarray:
    return np.full(int(k), 1.0 / int(k))


def proportions(samples: Any, num_classes: int, *, soft: bool = False) -> np.ndarray:
    """p̂: the share of each class among the samples, zero-filled for absent classes.

    ``samples`` is either a vector of class ids in [0, K) or an (n, K) matrix of class probabilities
    (hard labels = argmax, the paper's rule; ``soft=True`` averages the probabilities instead).
    Raises ``ValueError`` for ids outside [0, K) or a matrix whose width is not K.
    """
    a = as_numpy(samples)
    k = int(num_classes)
    if k < 2:
        raise ValueError(f"need at least 2 classes, got {k}")
    if a.ndim == 2:
        if a.shape[1] != k:
            raise ValueError(f"probability matrix has {a.shape[1]} columns, expected K = {k}")
        if soft:
            return a.astype(np.float64).mean(axis=0)
        a = a.argmax(axis=1)
    elif a.ndim != 1:
        raise ValueError(f"expected class ids (n,) or probabilities (n, K), got shape {a.shape}")
    if a.size == 0:
        raise ValueError("no samples")
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError("class ids must be whole numbers")
        a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= k:
        raise ValueError(f"class ids must lie in [0, {k}), found {int(a.min())}..{int(a.max())}")
    return np.bincount(a, minlength=k).astype(np.float64) / a.size


def proportions_naive_unique(samples: Any) -> np.ndarray:
    """The naive count ``np.unique(samples, return_counts=True)``: absent classes silently vanish.

    Kept only to demonstrate the weakness (tests and the report); never use it to measure.
    """
    _, counts = np.unique(as_numpy(samples), return_counts=True)
    return counts / counts.sum()


def _prep(p: Any, ref: Any = None) -> tuple[np.ndarray, np.ndarray]:
    p = as_numpy(p).astype(np.float64)
    k = p.shape[-1]
    r = uniform(k) if ref is None else as_numpy(ref).astype(np.float64)
    if r.shape[-1] != k:
        raise ValueError(f"reference has {r.shape[-1]} classes, p̂ has {k}")
    return p, r


def _is_uniform(r: np.ndarray) -> bool:
    return bool(np.allclose(r, 1.0 / r.shape[-1]))


# ------------------------------------------------------------------------------------ the metrics
def l1(p: Any, ref: Any = None, *, per_class: bool = False) -> np.ndarray:
    """L1 fairness discrepancy  ‖p̂ − p̄‖₁ = Σᵢ |p̂ᵢ − p̄ᵢ|  (Choi et al. 2020).

    ``per_class=True`` divides by K as Teo & Cheung's code does. Range: [0, 2(K−1)/K] against uniform
    (÷K with ``per_class``); 0 iff p̂ = p̄.
    """
    p, r = _prep(p, ref)
    out = np.abs(p - r).sum(-1)
    return out / p.shape[-1] if per_class else out


def l2(p: Any, ref: Any = None, *, per_class: bool = False) -> np.ndarray:
    """L2 fairness discrepancy  ‖p̂ − p̄‖₂ = √Σᵢ (p̂ᵢ − p̄ᵢ)²  (Choi et al. 2020's fairness discrepancy).

    ``per_class=True`` divides by K (Teo & Cheung). Range: [0, √((K−1)/K)] against uniform.
    """
    p, r = _prep(p, ref)
    out = np.sqrt(((p - r) ** 2).sum(-1))
    return out / p.shape[-1] if per_class else out


def kl(p: Any, ref: Any = None, *, reverse: bool = False, eps: float = 0.0) -> np.ndarray:
    """Kullback–Leibler divergence in nats.

    Forward (default): KL(p̂ ‖ p̄) = Σᵢ p̂ᵢ log(p̂ᵢ / p̄ᵢ) with the convention 0·log 0 = 0, so zero-count
    classes are fine (they contribute 0). Range [0, log K] against uniform (log K at a one-hot).
    Reverse: KL(p̄ ‖ p̂) is +inf as soon as a class has zero count (the weakness the paper names); ``eps``
    > 0 adds that mass to every class of p̂ and renormalises (additive smoothing) to make it finite.
    """
    p, r = _prep(p, ref)
    if eps > 0:
        p = (p + eps) / (1.0 + eps * p.shape[-1])
    a, b = (r, p) if reverse else (p, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, a * (np.log(a) - np.log(b)), 0.0)
    return terms.sum(-1)


def specificity_weights(k: int) -> np.ndarray:
    """w = (K−1, K−2, …, 1) / Σ: rank-proportional weights of the 2nd…Kth largest proportions."""
    rank = np.arange(k - 1, 0, -1, dtype=np.float64)
    return rank / rank.sum()


def specificity(p: Any) -> np.ndarray:
    """Specificity (Teo & Cheung):  Spec = | p̂₍₁₎ − Σ_{j=2..K} w_{j−1} p̂₍ⱼ₎ |,  p̂₍₁₎ ≥ p̂₍₂₎ ≥ … sorted.

    Weights :func:`specificity_weights`. Range [0, 1]: 1 at a one-hot, 0 at uniform; invariant to
    permuting classes. It measures the distance from *uniform* only (it takes no reference), and is
    already normalised (the official code returns it unnormalised in both modes).
    """
    p = as_numpy(p).astype(np.float64)
    s = -np.sort(-p, axis=-1)
    return np.abs(s[..., 0] - (s[..., 1:] * specificity_weights(p.shape[-1])).sum(-1))


def information_specificity(p: Any) -> np.ndarray:
    """Information Specificity  IS = (L1/K + Spec) / 2  (uniform reference). Range [0, ((K−1)/K² ·2 + 1)/2]."""
    return (l1(p, per_class=True) + specificity(p)) / 2


def ground_matrix(k: int, ground: str | np.ndarray = "discrete") -> np.ndarray:
    """K×K ground distance between classes for :func:`wasserstein`.

    ``discrete``: d(i, j) = 1[i ≠ j] (every class as different as any other; permutation invariant; W₁
    then equals the total variation ½‖p − q‖₁). ``index``: |i − j| / (K − 1), for an ordinal attribute.
    ``hamming``: classes are binary codes of log₂K attributes (class id = Σ 2ʲ aⱼ, the CelebA
    multi-attribute encoding); d = number of differing attributes / log₂K. Or any K×K metric matrix.
    """
    if not isinstance(ground, str):
        m = as_numpy(ground).astype(np.float64)
        if m.shape != (k, k) or np.any(m < 0) or np.any(np.diag(m) != 0) or not np.allclose(m, m.T):
            raise ValueError(f"ground metric must be a symmetric non-negative {k}×{k} matrix with zero diagonal")
        return m
    i = np.arange(k)
    if ground == "discrete":
        return (i[:, None] != i[None, :]).astype(np.float64)
    if ground == "index":
        return np.abs(i[:, None] - i[None, :]) / (k - 1)
    if ground == "hamming":
        bits = int(np.log2(k) + 0.5)
        if 2 ** bits != k:
            raise ValueError(f"hamming ground metric needs K = 2^m classes, got {k}")
        x = i[:, None] ^ i[None, :]
        return np.array([[bin(int(v)).count("1") for v in row] for row in x], dtype=np.float64) / bits
    raise ValueError(f"unknown ground metric {ground!r}; choose one of {', '.join(GROUND_METRICS)} or a matrix")


def _emd_lp(p: np.ndarray, q: np.ndarray, m: np.ndarray) -> float:
    """Exact W₁ between two distributions on K points under ground matrix m (transport LP, HiGHS)."""
    from scipy.optimize import linprog

    k = p.size
    a_eq = np.zeros((2 * k, k * k))
    for i in range(k):
        a_eq[i, i * k:(i + 1) * k] = 1.0  # row sums = p
        a_eq[k + i, i::k] = 1.0  # column sums = q
    b = np.concatenate([p, q])
    b[k:] *= p.sum() / q.sum()  # guard against rounding in the totals
    res = linprog(m.ravel(), A_eq=a_eq[:-1], b_eq=b[:-1], bounds=(0, None), method="highs")
    if not res.success:
        raise RuntimeError(f"transport LP failed: {res.message}")
    return float(max(res.fun, 0.0))


def wasserstein(p: Any, ref: Any = None, *, ground: str | np.ndarray = "discrete") -> np.ndarray:
    """Wasserstein-1 (earth mover's) distance between p̂ and p̄ as distributions over the K classes.

    W₁(p̂, p̄) = min_{γ ≥ 0, γ1 = p̂, γᵀ1 = p̄} Σᵢⱼ γᵢⱼ d(i, j), ground distance d from :func:`ground_matrix`.
    ``discrete`` (default) has the closed form ½‖p̂ − p̄‖₁; ``index`` the 1-D form Σ |CDF(p̂) − CDF(p̄)| /
    (K−1); any other ground metric is solved exactly as a transport LP. Range [0, max d · (K−1)/K]
    against uniform under ``discrete``; 0 iff p̂ = p̄.
    """
    p, r = _prep(p, ref)
    k = p.shape[-1]
    if isinstance(ground, str) and ground == "discrete":
        return 0.5 * np.abs(p - r).sum(-1)
    if isinstance(ground, str) and ground == "index":
        return np.abs(np.cumsum(p - r, axis=-1)[..., :-1]).sum(-1) / (k - 1)
    m = ground_matrix(k, ground)
    pb, rb = np.broadcast_arrays(p, r)
    flat_p, flat_r = pb.reshape(-1, k), rb.reshape(-1, k)
    out = np.array([_emd_lp(a, b, m) for a, b in zip(flat_p, flat_r)])
    return out.reshape(pb.shape[:-1])


def wasserstein_official(p: Any, ref: Any = None) -> np.ndarray:
    """The official code's ``scipy.stats.wasserstein_distance(p̂, p̄)`` (named for fidelity, not a WD of
    the class distributions): scipy reads the K *proportions* as K sample values, so against uniform this is
    Σᵢ |p̂ᵢ − 1/K| / K, i.e. exactly L1/K. Range [0, 2(K−1)/K²].

    Computed batched with scipy's own formula for two equal-size, equally weighted samples,
    mean |sort(p̂) − sort(p̄)| (the tests check it against scipy).
    """
    p, r = _prep(p, ref)
    return np.abs(np.sort(p, axis=-1) - np.sort(r, axis=-1)).mean(-1)


def wds(p: Any, *, ground: str | np.ndarray = "discrete") -> np.ndarray:
    """Wasserstein Specificity  WDS = (W₁(p̂, uniform) + Spec) / 2. Range [0, (max W₁ + 1)/2]."""
    return (wasserstein(p, ground=ground) + specificity(p)) / 2


# --------------------------------------------------------------------------------- normalisation
def one_hots(k: int) -> np.ndarray:
    return np.eye(int(k))


def normalise(fn, p: Any, ref: Any = None, **kw) -> np.ndarray:
    """``fn(p̂) / max_j fn(e_j)``: the metric divided by its value at the (worst) one-hot distribution.

    ``fn`` is called as ``fn(p, ref, **kw)`` when it takes a reference, ``fn(p, **kw)`` otherwise.
    """
    p = as_numpy(p).astype(np.float64)
    k = p.shape[-1]
    takes_ref = fn in (l1, l2, kl, wasserstein, wasserstein_official)
    if takes_ref:
        top = float(np.max(fn(one_hots(k), ref, **kw))) if ref is not None else float(fn(one_hots(k)[0], None, **kw))
        return fn(p, ref, **kw) / top
    return fn(p, **kw) / float(fn(one_hots(k)[0], **kw))


METRIC_DOC = {
    "l1": ("‖p̂ − p̄‖₁ (Choi et al.)", "[0, 2(K−1)/K]"),
    "l2": ("‖p̂ − p̄‖₂ (Choi et al.'s fairness discrepancy)", "[0, √((K−1)/K)]"),
    "l1_per_class": ("‖p̂ − p̄‖₁ / K (Teo & Cheung)", "[0, 2(K−1)/K²]"),
    "l2_per_class": ("‖p̂ − p̄‖₂ / K (Teo & Cheung)", "[0, √((K−1)/K)/K]"),
    "kl": ("KL(p̂ ‖ p̄), nats, 0·log0 = 0", "[0, log K]"),
    "specificity": ("|p̂₍₁₎ − Σ wⱼ p̂₍ⱼ₊₁₎|", "[0, 1]"),
    "information_specificity": ("(L1/K + Spec)/2", "[0, (2(K−1)/K² + 1)/2]"),
    "wasserstein": ("W₁(p̂, p̄), discrete ground metric (= ½‖·‖₁)", "[0, (K−1)/K]"),
    "wasserstein_official": ("scipy wasserstein_distance(p̂, p̄) as the official code (= L1/K)", "[0, 2(K−1)/K²]"),
    "wds": ("(W₁ + Spec)/2", "[0, ((K−1)/K + 1)/2]"),
}


def all_metrics(p: Any, ref: Any = None, *, ground: str | np.ndarray = "discrete") -> dict[str, float]:
    """Every metric of one distribution p̂ (raw and normalised by the one-hot value) as floats.

    With a non-uniform reference, Specificity, IS and WDS still measure the distance from uniform
    (they are defined that way) and are reported as such; L1, L2, KL and W₁ use the reference.
    """
    p = as_numpy(p).astype(np.float64)
    if p.ndim != 1:
        raise ValueError("all_metrics takes one distribution (K,)")
    out = {
        "l1": l1(p, ref), "l2": l2(p, ref), "l1_per_class": l1(p, ref, per_class=True),
        "l2_per_class": l2(p, ref, per_class=True), "kl": kl(p, ref), "specificity": specificity(p),
        "information_specificity": information_specificity(p), "wasserstein": wasserstein(p, ref, ground=ground),
        "wasserstein_official": wasserstein_official(p, ref), "wds": wds(p, ground=ground),
        "l1_norm": normalise(l1, p, ref), "l2_norm": normalise(l2, p, ref), "kl_norm": normalise(kl, p, ref),
        "specificity_norm": specificity(p), "information_specificity_norm": normalise(information_specificity, p),
        "wasserstein_norm": normalise(wasserstein, p, ref, ground=ground),
        "wasserstein_official_norm": normalise(wasserstein_official, p, ref),
        "wds_norm": normalise(wds, p, ground=ground),
    }
    return {k: float(v) for k, v in out.items()}


def sweep_metrics(dists: np.ndarray, *, hamming: bool = True) -> dict[str, np.ndarray]:
    """The normalised metrics (uniform reference) of a batch of distributions (n, K), vectorised.

    Names follow the paper's figures: L1, L2, KL (classic) and Spec, IS, WD, WD (official), WDS.
    ``WD (hamming)`` is added when K is a power of two (multi-attribute classes).
    """
    d = as_numpy(dists).astype(np.float64)
    k = d.shape[-1]
    out = {
        "L1": normalise(l1, d), "L2": normalise(l2, d), "KL": normalise(kl, d),
        "Spec": specificity(d), "IS": normalise(information_specificity, d),
        "WD": normalise(wasserstein, d), "WD (official)": normalise(wasserstein_official, d),
        "WDS": normalise(wds, d),
    }
    if hamming and k > 2 and 2 ** int(np.log2(k) + 0.5) == k:
        out["WD (hamming)"] = normalise(wasserstein, d, ground="hamming")
    return out


CLASSIC = ("L1", "L2", "KL")
PROPOSED = ("Spec", "IS", "WDS")
