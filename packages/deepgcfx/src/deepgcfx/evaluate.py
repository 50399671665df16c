"""The evaluation protocols: graph-level SVM (InfoGraph/GraphCL/deepGCFX) and node-level logistic probe."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from reprokit import UsageError

C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


def _check_xy(X: np.ndarray, y: np.ndarray, folds: int) -> None:
    if X.ndim != 2 or len(X) != len(y):
        raise UsageError(f"embeddings must be [n_graphs, dim] with one label per graph; got {X.shape} and {y.shape}")
    if not np.isfinite(X).all():
        raise UsageError("embeddings contain NaN or inf")
    smallest = np.bincount(np.unique(y, return_inverse=True)[1]).min()
    if smallest < folds:
        raise UsageError(f"the smallest class has {smallest} graphs: too few for {folds}-fold CV "
                         "(use a bigger dataset or fewer folds)")


def svm_cv(X: np.ndarray, y: np.ndarray, *, seed: int = 0, folds: int = 10, inner_folds: int = 5,
           Cs: tuple[float, ...] = C_GRID, kernel: str = "rbf", n_jobs: int = 1) -> dict[str, float | list[float]]:
    """The standard protocol: StratifiedKFold(folds, shuffle=True, random_state=seed); in each training split
    GridSearchCV picks C ∈ ``Cs`` by ``inner_folds``-fold CV; test accuracy per fold.

    ``kernel='rbf'`` standardises the features first (StandardScaler fitted on the training split);
    ``kernel='precomputed'`` takes a Gram matrix (e.g. the WL kernel) as ``X``.
    Returns the mean and std of the fold accuracies and the accuracies themselves. ``n_jobs`` runs the inner
    grid's fits in parallel (same result).
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_xy(X, y, folds)
    accs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        if kernel == "precomputed":
            est, grid = SVC(kernel="precomputed"), {"C": list(Cs)}
            Xtr, Xte = X[np.ix_(train, train)], X[np.ix_(test, train)]
        else:
            est, grid = make_pipeline(StandardScaler(), SVC(kernel=kernel)), {"svc__C": list(Cs)}
            Xtr, Xte = X[train], X[test]
        inner = StratifiedKFold(inner_folds, shuffle=True, random_state=seed)
        clf = GridSearchCV(est, grid, cv=inner, scoring="accuracy", n_jobs=n_jobs).fit(Xtr, y[train])
        accs.append(float((clf.predict(Xte) == y[test]).mean()))
    return {"acc": float(np.mean(accs)), "fold_std": float(np.std(accs)), "folds": accs}


def svm_cv_select(candidates: dict[str, np.ndarray], y: np.ndarray, *, seed: int = 0, folds: int = 10,
                  inner_folds: int = 5, Cs: tuple[float, ...] = C_GRID, n_jobs: int = 1) -> dict[str, object]:
    """:func:`svm_cv` where the inner CV of each training split also picks one of several feature matrices
    (e.g. deepGCFX++'s α·z_c + (1−α)·Σz_l for each α): the (candidate, C) pair with the best inner-CV
    accuracy is refitted on the split and scored on its test fold. Returns the fold accuracies and the
    candidate chosen in each fold."""
    y = np.asarray(y)
    names = list(candidates)
    for X in candidates.values():
        _check_xy(np.asarray(X), y, folds)
    accs, chosen = [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(candidates[names[0]], y):
        inner = StratifiedKFold(inner_folds, shuffle=True, random_state=seed)
        best = None
        for name in names:
            X = np.asarray(candidates[name])
            est = make_pipeline(StandardScaler(), SVC(kernel="rbf"))
            clf = GridSearchCV(est, {"svc__C": list(Cs)}, cv=inner, scoring="accuracy",
                               n_jobs=n_jobs).fit(X[train], y[train])
            if best is None or clf.best_score_ > best[0]:
                best = (clf.best_score_, name, clf)
        _, name, clf = best
        accs.append(float((clf.predict(np.asarray(candidates[name])[test]) == y[test]).mean()))
        chosen.append(name)
    return {"acc": float(np.mean(accs)), "fold_std": float(np.std(accs)), "folds": accs, "chosen": chosen}


def plusplus_candidates(common: np.ndarray, local: np.ndarray,
                        alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> dict[str, np.ndarray]:
    """deepGCFX++'s representations ``α·z_c + (1−α)·Σ_i z_l,i`` (paper Sec. 5), one per α."""
    if common.shape != local.shape:
        raise ValueError(f"z_c {common.shape} and Σz_l {local.shape} must have the same shape")
    return {f"alpha={a:g}": a * common + (1 - a) * local for a in alphas}


def node_probe(X: np.ndarray, y: np.ndarray, *, splits: int = 10, train_frac: float = 0.6, seed: int = 0,
               split_list: list[tuple[np.ndarray, np.ndarray]] | None = None) -> dict[str, float | list[float]]:
    """Node-level linear probe: standardised features → logistic regression, test accuracy per split.

    ``split_list`` gives the dataset's own (train, test) index splits; otherwise ``splits`` stratified
    random splits with ``train_frac`` of the nodes for training.
    """
    X, y = np.asarray(X), np.asarray(y)
    if split_list is None:
        sss = StratifiedShuffleSplit(splits, train_size=train_frac, random_state=seed)
        split_list = list(sss.split(X, y))
    accs = []
    for train, test in split_list:
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X[train], y[train])
        accs.append(float((clf.predict(X[test]) == y[test]).mean()))
    return {"acc": float(np.mean(accs)), "split_std": float(np.std(accs)), "splits": accs}


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and (population) std over seeds, as the papers report ``mean ± std``."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std())
