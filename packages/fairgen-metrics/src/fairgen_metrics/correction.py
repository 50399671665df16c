"""CLEAM-style correction of p̂ for the sensitive-attribute classifier's errors, with confidence intervals.

Model: the classifier's confusion matrix C, Cᵢⱼ = P(predicted j | true i) (rows sum to 1). In expectation
the measured proportions are p̂ = Cᵀ p*, so the corrected estimate is p* = (Cᵀ)⁻¹ p̂ (general form).

Binary closed form (Teo, Abdollahzadeh & Cheung, official ``CLEAM.py``) with per-class accuracies α₀, α₁
(C = [[α₀, 1−α₀], [1−α₁, α₁]]):

    p₀* = (μ − (1 − α₁)) / (α₀ + α₁ − 1),

which is only invertible when α₀ + α₁ > 1 (a classifier better than chance). With S batches of N
samples, μ and σ are the mean and standard deviation (ddof = 0, as numpy's default in the official code)
of the batches' p̂₀, and

    CI = ((μ ± 1.96 σ/√S) − (1 − α₁)) / (α₀ + α₁ − 1);    baseline (uncorrected) CI = μ ± 1.96 σ/√S.

The general form applies (Cᵀ)⁻¹ to every batch and takes mean ± z·sd/√S per class; for K = 2 it equals
the closed form exactly. With only per-class accuracies for K > 2, errors are assumed spread evenly over
the other classes: Cᵢᵢ = αᵢ, Cᵢⱼ = (1 − αᵢ)/(K − 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Z95 = 1.959963984540054


def confusion_from_accuracies(acc: Any) -> np.ndarray:
    """Row-stochastic C from per-class accuracies (exact for K = 2, even off-diagonal spread for K > 2)."""
    a = np.asarray(acc, dtype=np.float64).ravel()
    k = a.size
    if k < 2:
        raise ValueError("need the accuracies of at least 2 classes")
    if np.any(~np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError(f"accuracies must lie in [0, 1], got {a.tolist()}")
    c = np.repeat(((1 - a) / (k - 1))[:, None], k, axis=1)
    c[np.arange(k), np.arange(k)] = a
    return c


def check_confusion(c: Any, k: int | None = None, *, tol: float = 1e-6) -> np.ndarray:
    """C as float, after the checks that make the correction well defined (``ValueError`` otherwise).

    Square, K matching, non-negative, finite, rows summing to 1, and invertible; for K = 2 additionally
    α₀ + α₁ > 1 (no better than chance → the binary correction is not invertible / flips the sign).
    """
    c = np.asarray(c, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"confusion matrix must be square K×K, got shape {c.shape}")
    if k is not None and c.shape[0] != k:
        raise ValueError(f"confusion matrix is for {c.shape[0]} classes, but K = {k}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("confusion matrix entries must be finite and non-negative")
    if np.any(np.abs(c.sum(1) - 1) > tol):
        raise ValueError("confusion matrix rows must sum to 1 (P(pred | true)); row sums "
                         f"{np.round(c.sum(1), 4).tolist()}")
    if c.shape[0] == 2 and c[0, 0] + c[1, 1] <= 1:
        raise ValueError(f"per-class accuracies α0 + α1 = {c[0, 0] + c[1, 1]:.4g} ≤ 1: a classifier no better than "
                         "chance; the binary correction is not invertible")
    if np.linalg.cond(c) > 1e8:
        raise ValueError("confusion matrix is singular (or nearly): the correction is not invertible")
    return c


def correct_binary(mu: Any, alpha0: float, alpha1: float) -> np.ndarray:
    """p₀* = (μ − (1 − α₁)) / (α₀ + α₁ − 1) (CLEAM's closed form); μ = measured share of class 0."""
    den = alpha0 + alpha1 - 1
    if den <= 0:
        raise ValueError(f"α0 + α1 = {alpha0 + alpha1:.4g} ≤ 1: the binary correction is not invertible")
    return (np.asarray(mu, dtype=np.float64) - (1 - alpha1)) / den


def correct(p_hat: Any, confusion: Any, *, project: bool = False) -> np.ndarray:
    """p* = (Cᵀ)⁻¹ p̂ for one (K,) or a batch (..., K) of measured distributions.

    The raw solution sums to 1 but may leave [0, 1] with sampling noise; ``project=True`` clips at 0 and
    renormalises (for reporting a distribution; the CI uses the raw values).
    """
    c = check_confusion(confusion)
    p = np.asarray(p_hat, dtype=np.float64)
    out = np.linalg.solve(c.T, p.reshape(-1, c.shape[0]).T).T.reshape(p.shape)
    if project:
        out = np.clip(out, 0, None)
        out = out / out.sum(-1, keepdims=True)
    return out


def batch_proportions(pred: np.ndarray, k: int) -> np.ndarray:
    """(S, N) predicted labels → (S, K) per-batch proportions (zero-filled)."""
    pred = np.asarray(pred)
    s = pred.shape[0]
    flat = pred + k * np.arange(s)[:, None]
    return np.bincount(flat.ravel(), minlength=s * k).reshape(s, k) / pred.shape[1]


def resample_batches(labels: np.ndarray, batches: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """S batches of N labels drawn with replacement from one set of labels (the official CLEAM.py)."""
    labels = np.asarray(labels)
    return labels[rng.integers(0, labels.size, size=(batches, batch_size))]


def cleam(batch_props: Any, confusion: Any | None = None, *, z: float = Z95) -> dict[str, Any]:
    """Mean, baseline CI and (given C) the corrected estimate with its CI, from (S, K) batch proportions.

    Returns lists per class: ``p_hat``, ``p_hat_low/high`` (μ ± z σ/√S) and, with ``confusion``,
    ``corrected``, ``corrected_low/high`` and ``corrected_projected`` (clipped onto the simplex).
    """
    b = np.asarray(batch_props, dtype=np.float64)
    if b.ndim != 2 or b.shape[0] < 2:
        raise ValueError("need (S, K) batch proportions with S ≥ 2")
    s = b.shape[0]
    mu, sd = b.mean(0), b.std(0)
    half = z * sd / np.sqrt(s)
    out: dict[str, Any] = {"batches": s, "p_hat": mu.tolist(), "p_hat_sd": sd.tolist(),
                           "p_hat_low": (mu - half).tolist(), "p_hat_high": (mu + half).tolist()}
    if confusion is not None:
        q = correct(b, confusion)
        qm, qs = q.mean(0), q.std(0)
        qh = z * qs / np.sqrt(s)
        out.update({"corrected": qm.tolist(), "corrected_low": (qm - qh).tolist(), "corrected_high": (qm + qh).tolist(),
                    "corrected_sd": qs.tolist()})
        proj = np.clip(qm, 0, None)
        out["corrected_projected"] = (proj / proj.sum()).tolist()
    return out


def confusion_matrix(true: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-normalised confusion matrix P(pred | true) and the per-class counts."""
    true, pred = np.asarray(true), np.asarray(pred)
    m = np.bincount(true * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    counts = m.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(counts[:, None] > 0, m / counts[:, None], np.eye(k))
    return c, counts


def wilson_ci(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n <= 0:
        return float("nan"), float("nan")
    ph = successes / n
    den = 1 + z * z / n
    centre = (ph + z * z / (2 * n)) / den
    half = z * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    return float(centre - half), float(centre + half)


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) binomial interval, via scipy's beta quantiles."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if successes == 0 else float(beta.ppf(a, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(beta.ppf(1 - a, successes + 1, n - successes))
    return lo, hi
