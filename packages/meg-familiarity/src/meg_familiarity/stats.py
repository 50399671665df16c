"""Onset statistics for time-resolved decoding.

* Group level: cluster-based permutation test over time (Maris & Oostenveld 2007) on D = AUC − 0.5
  of each subject, with sign-flips of whole subjects as the null (exact when 2^n_subjects ≤ n_perm).
  Cluster-forming statistic: the one-sample t over subjects, t_j = mean_j / (sd_j / √n); clusters are
  runs of consecutive time points with t_j > t_crit (one-sided, p_cluster), their mass Σ t_j; a
  cluster's p-value is the share of permutations (the identity flip included) whose largest cluster
  mass is ≥ it. With n subjects the smallest attainable p is 2^-n: use at least 6 subjects at α = 0.05.
* Within a subject: the same cluster logic with label permutations (null AUC curves from decoding with
  shuffled labels, :func:`meg_familiarity.decoding.permutation_aucs`); the cluster-forming threshold is
  each time point's (1 − p_cluster) quantile of the null.
* FDR alternative: one-sided t-test per time point, Benjamini-Hochberg (``mne.stats.fdr_correction``).
* Onset: the first time point of the earliest significant cluster after ``t_from`` (0 s by default),
  with a bootstrap (subjects resampled with replacement) or jackknife (leave one subject out)
  confidence interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats


def _clusters(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask as (start, stop) index pairs."""
    m = np.r_[False, np.asarray(mask, bool), False]
    d = np.diff(m.astype(int))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def max_cluster_mass(stat: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """Largest cluster mass Σ stat over runs where stat > threshold, for each row of ``stat`` (P, T); 0 if none."""
    stat = np.atleast_2d(stat)
    P, T = stat.shape
    mask = stat > threshold
    starts = mask & ~np.c_[np.zeros((P, 1), bool), mask[:, :-1]]
    ids = np.cumsum(starts.ravel()).reshape(P, T) * mask  # 1-based cluster id, 0 outside
    n_clusters = int(starts.sum())
    if n_clusters == 0:
        return np.zeros(P)
    masses = np.bincount(ids.ravel(), weights=(stat * mask).ravel(), minlength=n_clusters + 1)[1:]
    rows = np.nonzero(starts)[0]  # row of each cluster, in id order (row-major)
    out = np.zeros(P)
    np.maximum.at(out, rows, masses)
    return out


def tstat(D: np.ndarray) -> np.ndarray:
    """One-sample t over the first axis: mean / (sd / √n) with ddof=1 (``scipy.stats.ttest_1samp``)."""
    n = D.shape[0]
    sd = D.std(0, ddof=1)
    return D.mean(0) / np.where(sd > 0, sd, np.inf) * np.sqrt(n)


def sign_flips(n_subjects: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """±1 matrix (P, n): all 2^n flips when 2^n ≤ n_perm (exact test), else n_perm random ones (first = identity)."""
    if 2**n_subjects <= n_perm:
        ints = np.arange(2**n_subjects)
        return 1 - 2 * ((ints[:, None] >> np.arange(n_subjects)[None, :]) & 1)
    flips = rng.choice([-1, 1], size=(n_perm, n_subjects))
    flips[0] = 1
    return flips


@dataclass
class ClusterResult:
    stat: np.ndarray  # (T,) observed statistic
    clusters: list[tuple[int, int]]  # (start, stop) indices of observed clusters
    masses: np.ndarray  # observed cluster masses
    pvalues: np.ndarray  # one per cluster
    null_max: np.ndarray  # (P,) max cluster mass under the null
    threshold: float | np.ndarray

    def significant_mask(self, alpha: float = 0.05) -> np.ndarray:
        m = np.zeros(len(self.stat), bool)
        for (a, b), p in zip(self.clusters, self.pvalues):
            if p < alpha:
                m[a:b] = True
        return m


def cluster_test_group(D: np.ndarray, n_perm: int = 1000, p_cluster: float = 0.05, seed: int = 0) -> ClusterResult:
    """One-sided sign-flip cluster permutation test of D (n_subjects, T) > 0 (e.g. AUC − 0.5)."""
    D = np.asarray(D, dtype=np.float64)
    n = D.shape[0]
    if n < 2:
        raise ValueError("the group test needs at least 2 subjects")
    thr = float(sstats.t.ppf(1 - p_cluster, n - 1))
    flips = sign_flips(n, n_perm, np.random.default_rng(seed))
    # t of every flipped dataset at once: mean from flips @ D, sd from the unchanged sum of squares
    mean = flips @ D / n
    ss = (D**2).sum(0)
    var = (ss[None, :] - n * mean**2) / (n - 1)
    tperm = mean / np.sqrt(np.where(var > 0, var, np.inf)) * np.sqrt(n)
    null_max = max_cluster_mass(tperm, thr)
    return _finish(tstat(D), thr, null_max, includes_observed=True)


@dataclass
class PermutationNull:
    """What a within-subject cluster test needs from the null curves (P, T): each time point's cluster-forming
    threshold (its 1 − p_cluster quantile), its chance level (median) and the null's largest cluster masses."""

    threshold: np.ndarray
    chance: np.ndarray
    null_max: np.ndarray

    @classmethod
    def from_curves(cls, null: np.ndarray, p_cluster: float = 0.05) -> PermutationNull:
        thr = np.quantile(null, 1 - p_cluster, axis=0)
        chance = np.median(null, axis=0)
        return cls(threshold=thr, chance=chance, null_max=max_cluster_mass(null - chance, thr - chance))

    def test(self, observed: np.ndarray) -> ClusterResult:
        return _finish(observed - self.chance, self.threshold - self.chance, self.null_max, includes_observed=False)


def cluster_test_permutations(observed: np.ndarray, null: np.ndarray, p_cluster: float = 0.05) -> ClusterResult:
    """Cluster test of one observed curve (T,) against null curves (P, T) from label permutations."""
    return PermutationNull.from_curves(null, p_cluster).test(observed)


def _finish(stat: np.ndarray, thr, null_max: np.ndarray, includes_observed: bool) -> ClusterResult:
    """Observed clusters and their p-values: the share of the null at least as large, counting the observed
    data once (it is already the identity flip in the sign-flip null; added as +1 otherwise)."""
    clusters = _clusters(stat > thr)
    masses = np.array([stat[a:b].sum() for a, b in clusters])
    extra = 0 if includes_observed else 1
    pvals = np.array([(np.sum(null_max >= m - 1e-12 * abs(m)) + extra) / (len(null_max) + extra) for m in masses])
    return ClusterResult(stat=stat, clusters=clusters, masses=masses, pvalues=pvals, null_max=null_max, threshold=thr)


def onset_from_clusters(res: ClusterResult, times: np.ndarray, alpha: float = 0.05) -> float | None:
    """First time point of the earliest significant cluster; None if there is none."""
    starts = [times[a] for (a, _), p in zip(res.clusters, res.pvalues) if p < alpha]
    return float(min(starts)) if starts else None


def fdr_onset(D: np.ndarray, times: np.ndarray, alpha: float = 0.05,
              t_from: float = 0.0) -> tuple[float | None, np.ndarray]:
    """Benjamini-Hochberg over time points of one-sided t-tests of D > 0; (first significant time ≥ t_from, mask)."""
    from mne.stats import fdr_correction

    keep = times >= t_from
    p = sstats.ttest_1samp(D[:, keep], 0.0, axis=0, alternative="greater").pvalue
    p = np.where(np.isnan(p), 1.0, p)
    rej, _ = fdr_correction(p, alpha=alpha)
    full = np.zeros(len(times), bool)
    full[keep] = rej
    hits = np.flatnonzero(full)
    return (float(times[hits[0]]) if len(hits) else None), full


def group_onset(D: np.ndarray, times: np.ndarray, n_perm: int = 1000, alpha: float = 0.05,
                p_cluster: float = 0.05, seed: int = 0, t_from: float = 0.0) -> tuple[float | None, ClusterResult]:
    """Cluster test over the window times ≥ ``t_from`` of D (n_subjects, T) + its onset.

    The returned result covers the window only (its indices start at the first time ≥ t_from).
    """
    keep = times >= t_from
    res = cluster_test_group(D[:, keep], n_perm=n_perm, p_cluster=p_cluster, seed=seed)
    return onset_from_clusters(res, times[keep], alpha), res


def onset_ci(D: np.ndarray, times: np.ndarray, method: str = "bootstrap", n_boot: int = 200, n_perm: int = 500,
             alpha: float = 0.05, ci: float = 0.95, seed: int = 0, t_from: float = 0.0) -> dict:
    """Confidence interval of the group onset: resample subjects (bootstrap) or leave one out (jackknife).

    Bootstrap: percentile interval of the onsets of ``n_boot`` resampled groups (those without a
    significant cluster are counted and left out of the interval). Jackknife: onset ± z·SE_jack with
    SE_jack² = (n−1)/n Σ (θ_(i) − θ̄)² (Efron & Tibshirani 1993, ch. 11).
    """
    rng = np.random.default_rng(seed)
    n = D.shape[0]
    onsets = []
    if method == "bootstrap":
        for b in range(n_boot):
            idx = rng.integers(0, n, n)
            o, _ = group_onset(D[idx], times, n_perm=n_perm, alpha=alpha, seed=seed + b + 1, t_from=t_from)
            onsets.append(np.nan if o is None else o)
        arr = np.array(onsets)
        ok = arr[~np.isnan(arr)]
        lo, hi = (np.quantile(ok, [(1 - ci) / 2, 1 - (1 - ci) / 2]) if len(ok) else (np.nan, np.nan))
        return {"method": "bootstrap", "low": float(lo), "high": float(hi), "n": int(n_boot),
                "n_without_onset": int(np.isnan(arr).sum()),
                "median": float(np.median(ok)) if len(ok) else float("nan")}
    if method == "jackknife":
        for i in range(n):
            o, _ = group_onset(np.delete(D, i, axis=0), times, n_perm=n_perm, alpha=alpha, seed=seed + i + 1,
                               t_from=t_from)
            onsets.append(np.nan if o is None else o)
        arr = np.array(onsets)
        ok = arr[~np.isnan(arr)]
        if len(ok) < 2:
            return {"method": "jackknife", "low": float("nan"), "high": float("nan"), "n": n,
                    "n_without_onset": int(np.isnan(arr).sum())}
        se = np.sqrt((len(ok) - 1) / len(ok) * np.sum((ok - ok.mean()) ** 2))
        z = sstats.norm.ppf(1 - (1 - ci) / 2)
        return {"method": "jackknife", "low": float(ok.mean() - z * se), "high": float(ok.mean() + z * se), "n": n,
                "n_without_onset": int(np.isnan(arr).sum()), "se": float(se)}
    raise ValueError(f"onset CI method must be bootstrap or jackknife, not {method!r}")
