"""Time-resolved decoding of familiar vs unfamiliar faces.

The workhorse is :class:`BatchedLDA`: scikit-learn's
``make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))``
fitted at *every time point at once*. It gives the same decision values as fitting that pipeline
separately at each time point (tests check 1e-6 agreement with ``cross_val_score`` and with MNE's
``SlidingEstimator`` + ``cross_val_multiscore``), at a fraction of the cost:

* per class k, the Ledoit-Wolf shrinkage α_k comes from the small n_k×n_k Gram matrix of the
  class-standardised data instead of the p×p covariance (Ledoit & Wolf 2004, eq. 14 as written in
  ``sklearn.covariance.ledoit_wolf_shrinkage``);
* the pooled covariance Σ = Σ_k π_k S_k is a low-rank-plus-diagonal matrix, so Σ⁻¹μ is one n×n
  Woodbury solve per time point, batched over time with ``numpy.linalg.solve``.

Other classifiers (linear SVM, logistic regression, any scikit-learn estimator) run through MNE's
``SlidingEstimator`` on the same folds. Folds are stratified, shuffled and repeated by default
(``RepeatedStratifiedKFold``): MNE's ``cross_val_multiscore`` does not shuffle unless told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dsyrk
from scipy.linalg.lapack import dposv
from scipy.ndimage import uniform_filter1d
from scipy.stats import rankdata
from sklearn.model_selection import RepeatedStratifiedKFold

CLASSIFIERS = ("lda", "svm", "logreg")
_EPS = 10 * np.finfo(np.float64).eps


# ----------------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------------
def auc_from_scores(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Area under the ROC curve along the last axis (Mann-Whitney U / (n₀ n₁)).

    AUC = (Σ_{i: y_i=1} rank(s_i) − n₁(n₁+1)/2) / (n₀ n₁), ties get average ranks; this equals
    ``sklearn.metrics.roc_auc_score`` (Hanley & McNeil 1982). ``scores``: (..., n_trials).
    """
    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs both classes in the test set")
    ranks = rankdata(scores, axis=-1)
    return (ranks[..., y].sum(-1) - n1 * (n1 + 1) / 2.0) / (n0 * n1)


def accuracy_from_scores(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Accuracy of the rule ``predict = 1 if decision > 0`` (scikit-learn's binary rule), last axis."""
    return ((scores > 0) == np.asarray(y).astype(bool)).mean(-1)


# ----------------------------------------------------------------------------------------------
# cross-validation folds
# ----------------------------------------------------------------------------------------------
def make_folds(y: np.ndarray, n_splits: int = 5, n_repeats: int = 1, seed: int = 0,
               groups: Sequence | None = None) -> list[tuple[np.ndarray, ...]]:
    """Stratified, shuffled, repeated K-fold splits (a list of (train, test) index arrays).

    With ``groups`` (e.g. the stimulus image of each trial) the folds are ``StratifiedGroupKFold``: all
    trials of one group fall on the same side, so repeats of an image never sit in both the training and
    the test set (no image-specific response can leak into the familiarity score). Each repeat reshuffles
    the groups with its own seed.
    """
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    if counts.min() < n_splits:
        raise ValueError(f"too few trials per class for {n_splits}-fold CV: class counts {counts.tolist()}; "
                         f"use fewer folds (--folds) or more trials")
    if groups is None:
        cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
        return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y)]
    from sklearn.model_selection import StratifiedGroupKFold

    g = np.unique(np.asarray(groups).astype(str), return_inverse=True)[1]
    if len(g) != len(y):
        raise ValueError(f"{len(g)} group labels for {len(y)} trials")
    per_class = [len(np.unique(g[y == c])) for c in (0, 1)]
    if min(per_class) < n_splits:
        raise ValueError(f"too few stimuli per class for {n_splits}-fold stimulus-grouped CV: "
                         f"{per_class[1]} familiar / {per_class[0]} unfamiliar images; use fewer folds or "
                         f"trial-level folds (decoding.folds_by=trial)")
    out = []
    for r in range(n_repeats):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + 7919 * r)
        for tr, te in cv.split(np.zeros(len(y)), y, g):
            if len(np.unique(y[te])) < 2 or len(np.unique(y[tr])) < 2:
                raise ValueError("a stimulus-grouped fold holds one class only; use fewer folds")
            out.append((tr, te))
    return out


# ----------------------------------------------------------------------------------------------
# batched shrinkage LDA
# ----------------------------------------------------------------------------------------------
def _std(x: np.ndarray, axis: int) -> np.ndarray:
    """Population std with scikit-learn's zero handling (a constant feature gets scale 1)."""
    s = x.std(axis=axis)
    return np.where(s < _EPS, 1.0, s)


def ledoit_wolf_shrinkage_from_stats(fro2: np.ndarray, diag: np.ndarray, n_features: int) -> np.ndarray:
    """Ledoit-Wolf shrinkage from ‖G‖²_F and diag(G) of the Gram matrix G = U Uᵀ (see below)."""
    n = diag.shape[-1]
    p = n_features
    trace_c = diag.sum(-1) / n
    mu = trace_c / p
    delta_ = fro2 / n**2
    beta_ = (diag**2).sum(-1)
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * trace_c + p * mu**2) / p
    beta = np.minimum(beta, delta)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(beta == 0, 0.0, beta / delta)


def _lw_scalar(fro2: float, trace: float, diag2: float, n: int, p: int) -> tuple[float, float]:
    """:func:`ledoit_wolf_shrinkage_from_stats` for one Gram matrix in plain floats (the per-time-point loop)."""
    trace_c = trace / n
    mu = trace_c / p
    delta_ = fro2 / n**2
    beta = (diag2 / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * trace_c + p * mu**2) / p
    beta = min(beta, delta)
    return (0.0 if beta == 0 else beta / delta), mu


def ledoit_wolf_shrinkage_from_gram(gram: np.ndarray, n_features: int) -> np.ndarray:
    """Ledoit-Wolf shrinkage of centred data U (n×p) from its Gram matrix G = U Uᵀ (batched: (..., n, n)).

    With C = UᵀU/n, μ = tr C / p, δ̂ = ‖C − μI‖²_F / p and
    β̂ = (1/(n²p)) Σ_i ‖u_i‖⁴ − ‖C‖²_F / (n p)  (Ledoit & Wolf 2004, Lemma 3.1/3.4; scikit-learn's
    ``ledoit_wolf_shrinkage``), the shrinkage is α = min(β̂, δ̂)/δ̂. Every term is a function of G:
    ‖C‖²_F = ‖G‖²_F/n², Σ_i ‖u_i‖⁴ = Σ_i G_ii², tr C = tr G / n.
    """
    return ledoit_wolf_shrinkage_from_stats((gram**2).sum((-2, -1)), np.diagonal(gram, axis1=-2, axis2=-1), n_features)


@dataclass
class LinearScores:
    """A linear read-out per time point in the original sensor space: decision = X @ coef + intercept."""

    coef: np.ndarray  # (T, p)
    intercept: np.ndarray  # (T,)

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Decision values (T, n) of trials X (T, n, p) at matching time points."""
        return (X @ self.coef[:, :, None])[..., 0] + self.intercept[:, None]

    def generalize(self, X: np.ndarray) -> np.ndarray:
        """Decision values (T_train, T_test, n) of each time point's classifier on every test time point."""
        S, n, p = X.shape
        out = (X.reshape(S * n, p) @ self.coef.T).reshape(S, n, -1)
        return out.transpose(2, 0, 1) + self.intercept[:, None, None]


class BatchedLDA:
    """StandardScaler + LinearDiscriminantAnalysis(solver='lsqr', shrinkage='auto') at all time points.

    Per time point and in the space Z = (X − m)/s of the outer StandardScaler, scikit-learn fits
    S_k = σ_k ∘ LW(U_k) ∘ σ_k with U_k the class-k data standardised by its own mean and std σ_k, so
    S_k = (1 − α_k) Z_kcᵀ Z_kc / n_k + α_k μ_k diag(σ_k²)     (``sklearn.discriminant_analysis._cov``),
    Σ = Σ_k π_k S_k = AᵀA + diag(d),  A = [√(π_k(1−α_k)/n_k) Z_kc]_k,  d = Σ_k π_k α_k μ_k σ_k²,
    coef_k = Σ⁻¹ m_k,  intercept_k = −½ m_kᵀ coef_k + log π_k  (``_solve_lstsq``), and the binary
    decision uses coef₁ − coef₀. Σ⁻¹ is applied with Woodbury when n < p:
    Σ⁻¹b = D⁻¹b − D⁻¹Aᵀ (I + A D⁻¹ Aᵀ)⁻¹ A D⁻¹ b.
    The outer scaler's m and s follow from the class moments (m = Σπ_k m_k, s² = Σπ_k(σ_k² + (m_k − m)²)),
    so the data are only touched by in-place operations and three batched matrix products.
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearScores:
        """X: (T, n, p) training trials at every time point; y: (n,) labels in {0, 1}. X is not modified."""
        y = np.asarray(y).astype(int)
        order = np.argsort(y, kind="stable")
        return self.fit_indexed(np.asarray(X, dtype=np.float64), order, int((y == 0).sum()))

    def fit_indexed(self, Xt: np.ndarray, order: np.ndarray, n0: int) -> LinearScores:
        """Fit on the trials ``Xt[:, order]`` (Xt: (T, n_all, p)) whose first ``n0`` are class 0, the rest class 1.

        One time point at a time, on a small (n, p) work buffer that stays in cache: gather, centre and
        standardise each class, two BLAS ``syrk`` for the class Gram matrices (→ α_k), rescale the rows
        into A D^-½, one ``syrk`` + LAPACK ``posv`` for (I + A D⁻¹ Aᵀ) z = A D⁻¹ M.
        """
        T, _, p = Xt.shape
        n = len(order)
        counts = (n0, n - n0)
        if min(counts) < 2:
            raise ValueError("each class needs at least 2 training trials")
        priors = np.array(counts, dtype=np.float64) / n
        log_ratio = np.log(priors[1]) - np.log(priors[0])
        coef, intercept = np.empty((T, p)), np.empty(T)
        buf = np.empty((n, p))
        parts = (buf[:n0], buf[n0:])
        diag = np.arange(n) if n < p else np.arange(p)
        for t in range(T):
            np.take(Xt[t], order, axis=0, out=buf)
            means, var, sd, alpha, mu = [], [], [], [], []
            for k, V in enumerate(parts):
                mk = V.mean(0)
                V -= mk
                vk = np.einsum("ij,ij->j", V, V) / counts[k]
                sk = np.sqrt(vk)
                V /= np.where(sk < _EPS, 1.0, sk)  # U_k: class-standardised
                g = dsyrk(1.0, V.T, trans=1)  # upper triangle of U_k U_kᵀ
                dg = np.diagonal(g)
                fro2 = 2.0 * np.einsum("ij,ij->", g, g) - dg @ dg
                a, mu_k = _lw_scalar(float(fro2), float(dg.sum()), float(dg @ dg), counts[k], p)
                alpha.append(a)
                mu.append(mu_k)
                means.append(mk)
                var.append(vk)
                sd.append(sk)
            m = priors[0] * means[0] + priors[1] * means[1]
            s = np.sqrt(sum(priors[k] * (var[k] + (means[k] - m) ** 2) for k in (0, 1)))
            s = np.where(s < _EPS, 1.0, s)
            d = np.zeros(p)
            for k in (0, 1):
                z = sd[k] / s
                d += priors[k] * alpha[k] * mu[k] * np.where(z < _EPS, 1.0, z) ** 2
            M = np.stack([(means[0] - m) / s, (means[1] - m) / s], axis=1)  # class means in Z space, (p, 2)
            if n < p and np.all(d > 0):
                sqd = np.sqrt(d)
                for k, V in enumerate(parts):  # U_k → rows of A D^-½ = √(π_k(1−α_k)/n_k) Z_kc / √d
                    ck = np.sqrt(priors[k] * (1 - alpha[k]) / counts[k])
                    V *= ck * np.where(sd[k] < _EPS, 1.0, sd[k]) / (s * sqd)
                Md = M / sqd[:, None]
                inner = dsyrk(1.0, buf.T, trans=1)
                inner[diag, diag] += 1.0
                zz = dposv(inner, buf @ Md)[1]
                sol = (Md - buf.T @ zz) / sqd[:, None]  # Σ⁻¹M by Woodbury
            else:
                for k, V in enumerate(parts):  # U_k → rows of A
                    V *= np.sqrt(priors[k] * (1 - alpha[k]) / counts[k]) * np.where(sd[k] < _EPS, 1.0, sd[k]) / s
                cov = dsyrk(1.0, buf.T, trans=0)  # upper triangle of AᵀA
                cov[diag, diag] += d
                sol = dposv(cov, M)[1]
            icpt = -0.5 * np.einsum("pk,pk->k", sol, M)
            w = (sol[:, 1] - sol[:, 0]) / s  # back to X space
            coef[t] = w
            intercept[t] = (icpt[1] - icpt[0]) + log_ratio - w @ m
        return LinearScores(coef=coef, intercept=intercept)


# ----------------------------------------------------------------------------------------------
# other estimators (through MNE's SlidingEstimator)
# ----------------------------------------------------------------------------------------------
def make_estimator(name: str, seed: int = 0):
    """scikit-learn pipeline for ``name`` in {'lda', 'svm', 'logreg'} (all standardise first)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if name == "lda":
        clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    elif name == "svm":
        clf = LinearSVC(C=1.0, dual="auto", max_iter=5000, random_state=seed)
    elif name == "logreg":
        clf = LogisticRegression(C=1.0, max_iter=1000)
    else:
        raise ValueError(f"unknown classifier {name!r}; choose one of {CLASSIFIERS}")
    return make_pipeline(StandardScaler(), clf)


# ----------------------------------------------------------------------------------------------
# feature transforms
# ----------------------------------------------------------------------------------------------
def sliding_window(X: np.ndarray, width: int) -> np.ndarray:
    """Average each channel over a centred window of ``width`` samples (X: (n, p, T)); width ≤ 1: X."""
    if width <= 1:
        return X
    return uniform_filter1d(X, size=int(width), axis=-1, mode="nearest")


def pseudo_trials(X: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Average random groups of ``k`` trials within each class (leading axis = trials); k ≤ 1: unchanged."""
    if k <= 1:
        return X, y
    outX, outy = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_groups = len(idx) // k
        if n_groups < 1:
            raise ValueError(f"pseudo-trials of {k} need at least {k} trials of class {c}")
        groups = idx[: n_groups * k].reshape(n_groups, k)
        outX.append(X[groups].mean(1))
        outy.append(np.full(n_groups, c))
    return np.concatenate(outX), np.concatenate(outy)


# ----------------------------------------------------------------------------------------------
# time-resolved decoding of one subject
# ----------------------------------------------------------------------------------------------
@dataclass
class DecodingResult:
    auc: np.ndarray  # (T,) mean over folds
    accuracy: np.ndarray  # (T,)
    auc_folds: np.ndarray  # (n_folds, T)
    generalization: np.ndarray | None = None  # (T_train, T_test) AUC, or None


def decode_time(X: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
                classifier: str = "lda", window: int = 1, pseudo: int = 1, generalize: bool = False,
                seed: int = 0, Xt: np.ndarray | None = None) -> DecodingResult:
    """Decode y from X (n_trials, n_channels, n_times) at every time point, scored on each test fold.

    Scores are averaged over folds (as ``cross_val_multiscore(...).mean(0)``). ``window`` averages
    over a sliding window of samples first; ``pseudo`` averages groups of trials within class inside
    each train and test fold; ``generalize`` adds the temporal generalization matrix (King & Dehaene 2014).
    ``Xt``: the same data already as a contiguous (T, n, p) array (saves a transpose when called repeatedly).
    """
    y = np.asarray(y).astype(int)
    if set(np.unique(y)) - {0, 1}:
        raise ValueError("labels must be 0 (unfamiliar) and 1 (familiar)")
    rng = np.random.default_rng(seed)
    if Xt is None:
        X = sliding_window(np.asarray(X, dtype=np.float64), window)
        Xt = np.ascontiguousarray(X.transpose(2, 0, 1))  # (T, n, p)
    aucs, accs, gens = [], [], []
    for tr, te in folds:
        if pseudo > 1 or classifier != "lda":
            if pseudo > 1:
                Xtr, ytr = pseudo_trials(Xt[:, tr].transpose(1, 0, 2), y[tr], pseudo, rng)
                Xte, yte = pseudo_trials(Xt[:, te].transpose(1, 0, 2), y[te], pseudo, rng)
                Xtr_t, Xte_t = Xtr.transpose(1, 0, 2), Xte.transpose(1, 0, 2)
            else:
                Xtr_t, ytr, Xte_t, yte = Xt[:, tr], y[tr], Xt[:, te], y[te]
            if classifier == "lda":
                model = BatchedLDA().fit(Xtr_t, ytr)
                dec = model.decision(Xte_t)
                gen = model.generalize(Xte_t) if generalize else None
            else:
                dec, gen = _sliding_decision(classifier, Xtr_t, ytr, Xte_t, generalize, seed)
        else:  # fast path: gather each time point's training trials inside the fit, score all trials at once
            order = tr[np.argsort(y[tr], kind="stable")]
            model = BatchedLDA().fit_indexed(Xt, order, int((y[tr] == 0).sum()))
            yte = y[te]
            dec = model.decision(Xt)[:, te]
            gen = model.generalize(Xt[:, te]) if generalize else None
        aucs.append(auc_from_scores(dec, yte))
        accs.append(accuracy_from_scores(dec, yte))
        if generalize:
            gens.append(auc_from_scores(gen, yte))
    aucs = np.asarray(aucs)
    return DecodingResult(auc=aucs.mean(0), accuracy=np.mean(accs, 0), auc_folds=aucs,
                          generalization=np.mean(gens, 0) if generalize else None)


def _sliding_decision(classifier, Xtr_t, ytr, Xte_t, generalize, seed):
    """Decision values from MNE's Sliding/GeneralizingEstimator for a non-batched classifier."""
    from mne.decoding import GeneralizingEstimator, SlidingEstimator

    Xtr, Xte = Xtr_t.transpose(1, 2, 0), Xte_t.transpose(1, 2, 0)  # (n, p, T)
    est = make_estimator(classifier, seed)
    dec = SlidingEstimator(est, verbose=False).fit(Xtr, ytr).decision_function(Xte).T  # (T, n)
    gen = None
    if generalize:
        g = GeneralizingEstimator(est, verbose=False).fit(Xtr, ytr).decision_function(Xte)  # (n, T, T)
        gen = g.transpose(1, 2, 0)
    return dec, gen


def permutation_aucs(X: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                     n_perm: int, seed: int = 0, classifier: str = "lda", window: int = 1) -> np.ndarray:
    """Null AUC time courses (n_perm, T): decode with labels permuted within the subject, same folds."""
    rng = np.random.default_rng(seed)
    X = sliding_window(np.asarray(X, dtype=np.float64), window)
    Xt = np.ascontiguousarray(X.transpose(2, 0, 1))
    out = np.empty((n_perm, Xt.shape[0]))
    for i in range(n_perm):
        out[i] = decode_time(None, rng.permutation(y), folds, classifier=classifier, Xt=Xt).auc
    return out


# ----------------------------------------------------------------------------------------------
# label permutations that share every label-free computation (the within-subject test)
# ----------------------------------------------------------------------------------------------
def auc_rows(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of each row of ``scores`` (..., P, n) with its own labels ``y`` (P, n) (Mann-Whitney, ties averaged);
    nan for a row whose labels hold one class only."""
    y = np.asarray(y).astype(bool)
    n1 = y.sum(-1).astype(np.float64)
    n0 = y.shape[-1] - n1
    ranks = rankdata(scores, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(-1) - n1 * (n1 + 1) / 2.0) / (n0 * n1)


def contrast_vectors(labels: np.ndarray) -> np.ndarray:
    """c (P, n) with c_i = y_i/n₁ − (1 − y_i)/n₀ per row: Zᵀc is the class-mean difference m₁ − m₀."""
    labels = np.asarray(labels, dtype=np.float64)
    n1 = labels.sum(-1, keepdims=True)
    n0 = labels.shape[-1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(labels > 0, 1.0 / n1, -1.0 / n0)


@dataclass
class SharedGramResult:
    auc: np.ndarray  # (P, T) mean over folds, row 0 = the first label vector (the observed labels)
    decisions: list[np.ndarray]  # per fold: (T, n_test) decision values of the first label vector
    test_labels: list[np.ndarray]  # per fold: (n_test,) first label vector on the test trials
    test_index: list[np.ndarray]  # per fold: test trial indices


def shared_gram_aucs(Xt: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                     labels: np.ndarray) -> SharedGramResult:
    """Time-resolved AUC of many label vectors at once with the label-free shrinkage LDA.

    The decoder: standardise on the training trials (StandardScaler), Σ = Ledoit-Wolf shrinkage of the
    *total* training covariance, Σ = (1−α) ZᵀZ/n + α μ I (``sklearn.covariance.ledoit_wolf``), and
    w = Σ⁻¹ (m₁ − m₀). For two classes Σ_total = Σ_within + π₀π₁ δδᵀ, so before shrinkage this is the
    LDA direction (Sherman-Morrison); the intercept does not enter the AUC. Nothing but m₁ − m₀ = Zᵀc
    depends on the labels, so per fold and time point the scaled data Z, its Gram matrix G = Z Zᵀ, the
    shrinkage and K = Z_test Σ⁻¹ Zᵀ = Z_test Zᵀ (aG + bI)⁻¹ (push-through identity, a = (1−α)/n,
    b = αμ) are computed once, and every label vector costs one small product K c.

    Xt: (T, n, p) trials; labels: (P, n) in {0, 1} (row 0 usually the observed labels).
    """
    labels = np.atleast_2d(np.asarray(labels)).astype(int)
    T, _, p = Xt.shape
    P = labels.shape[0]
    auc = np.zeros((P, T))
    n_used = np.zeros((P, T))
    dec0, lab0, idx0 = [], [], []
    for tr, te in folds:
        n = len(tr)
        C = contrast_vectors(labels[:, tr])  # (P, n)
        dec = np.empty((T, P, len(te)))
        buf = np.empty((n, p))
        for t in range(T):
            np.take(Xt[t], tr, axis=0, out=buf)
            m = buf.mean(0)
            buf -= m
            s = np.sqrt(np.einsum("ij,ij->j", buf, buf) / n)
            s = np.where(s < _EPS, 1.0, s)
            buf /= s
            Zte = (Xt[t, te] - m) / s
            if n < p:
                g = dsyrk(1.0, buf.T, trans=1)  # upper triangle of Z Zᵀ
                dg = np.diagonal(g).copy()
                fro2 = 2.0 * np.einsum("ij,ij->", g, g) - dg @ dg
                alpha, mu = _lw_scalar(float(fro2), float(dg.sum()), float(dg @ dg), n, p)
                a, b = (1.0 - alpha) / n, alpha * mu
                if b > 0:
                    g *= a
                    g[np.arange(n), np.arange(n)] += b
                    W = dposv(g, buf @ Zte.T)[1]  # (aG + bI)⁻¹ Z Z_testᵀ, (n, n_test)
                    dec[t] = C @ W
                    continue
            cov = buf.T @ buf / n  # p ≤ n (or no shrinkage): solve in sensor space
            dgc = np.diagonal(cov)
            lw = _lw_scalar(float(np.einsum("ij,ij->", cov, cov)) * n * n, float(dgc.sum()) * n,
                            float((np.einsum("ij,ij->i", buf, buf) ** 2).sum()), n, p)
            alpha, mu = lw
            sig = (1.0 - alpha) * cov
            sig[np.arange(p), np.arange(p)] += alpha * mu
            w = np.linalg.solve(sig, buf.T @ C.T)  # (p, P)
            dec[t] = (Zte @ w).T
        a_f = auc_rows(dec, labels[:, te])  # (T, P)
        ok = ~np.isnan(a_f)
        auc += np.where(ok, a_f, 0.0).T
        n_used += ok.T
        dec0.append(dec[:, 0].copy())
        lab0.append(labels[0, te].copy())
        idx0.append(np.asarray(te))
    with np.errstate(invalid="ignore"):
        auc = auc / n_used
    return SharedGramResult(auc=auc, decisions=dec0, test_labels=lab0, test_index=idx0)


def plain_total_cov_lda_auc(X: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The decoder of :func:`shared_gram_aucs` fitted the plain way (one label vector, p×p covariance from
    ``sklearn.covariance.ledoit_wolf`` at every time point): the reference the shared path must equal."""
    from sklearn.covariance import ledoit_wolf
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y).astype(int)
    out = np.full((len(folds), X.shape[2]), np.nan)  # a test fold with one class (possible under permutation): skipped
    for f, (tr, te) in enumerate(folds):
        if len(np.unique(y[te])) < 2:
            continue
        for t in range(X.shape[2]):
            sc = StandardScaler().fit(X[tr, :, t])
            Z, Zte = sc.transform(X[tr, :, t]), sc.transform(X[te, :, t])
            cov, _ = ledoit_wolf(Z, assume_centered=True)
            w = np.linalg.solve(cov, Z[y[tr] == 1].mean(0) - Z[y[tr] == 0].mean(0))
            out[f, t] = roc_auc_score(y[te], Zte @ w)
    return np.nanmean(out, 0)


def permuted_labels(y: np.ndarray, n_perm: int, rng: np.random.Generator,
                    groups: Sequence | None = None) -> np.ndarray:
    """(1 + n_perm, n): the observed labels, then ``n_perm`` permutations. With ``groups`` (the stimulus
    of each trial) the labels are permuted between stimuli, the unit that carries the label, so every
    repeat of an image keeps one label (exchangeable under the null of no familiarity effect)."""
    y = np.asarray(y).astype(int)
    out = np.empty((1 + n_perm, len(y)), dtype=int)
    out[0] = y
    if groups is None:
        for i in range(n_perm):
            out[1 + i] = rng.permutation(y)
        return out
    uniq, inv = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    lab = np.zeros(len(uniq), dtype=int)
    lab[inv] = y
    if not np.array_equal(lab[inv], y):
        raise ValueError("a stimulus appears with both labels; permute trials instead")
    for i in range(n_perm):
        out[1 + i] = rng.permutation(lab)[inv]
    return out
