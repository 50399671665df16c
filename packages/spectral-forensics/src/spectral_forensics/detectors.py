"""Spectral detectors: Dzanic features (KNN k = 5, SVM RBF, MLP) and Durall features (logistic
regression, SVM), the paper's detection rate, and a saved detector that reloads without pickle.

Detection rate (official ``src/classifiers``): a classifier trained on real vs BASELINE-GAN features
(StandardScaler, ``n_train`` images per class) is applied to a setup's images; the rate is the fraction
it calls fake. Repeated over ``n_runs`` random training draws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprokit import UsageError, atomic_write_bytes, load_npz
from spectral_forensics.spectrum import DzanicSettings, batched, durall_features, dzanic_features

FEATURES = ("dzanic", "durall")
CLASSIFIERS = ("knn", "svm", "mlp", "logreg")
DETECTOR_FORMAT = "spectral-forensics-detector/1"


def make_classifier(name: str, seed: int):
    """StandardScaler + the official classifier settings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if name == "knn":
        clf = KNeighborsClassifier(n_neighbors=5, algorithm="kd_tree")
    elif name == "svm":
        clf = SVC(kernel="rbf", random_state=seed)
    elif name == "mlp":
        clf = MLPClassifier(hidden_layer_sizes=(10, 10), activation="logistic", solver="adam",
                            learning_rate_init=1e-3, learning_rate="adaptive", max_iter=2000, random_state=seed)
    elif name == "logreg":
        clf = LogisticRegression(max_iter=2000)
    else:
        raise UsageError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
    return make_pipeline(StandardScaler(), clf)


def extract(kind: str, gray: torch.Tensor | np.ndarray, settings: DzanicSettings | None = None,
            batch_size: int = 512, device=None) -> np.ndarray:
    """Features of grayscale images ``(B, H, W)`` on 0..255, in float64, batched."""
    settings = settings if settings is not None else DzanicSettings()
    x = torch.as_tensor(np.asarray(gray), dtype=torch.float64)
    if device is not None:
        x = x.to(device)
    if kind == "dzanic":
        f = batched(dzanic_features, x, batch_size, settings=settings)
    elif kind == "durall":
        f = batched(durall_features, x, batch_size)
    else:
        raise UsageError(f"unknown features {kind!r}; choose one of {', '.join(FEATURES)}")
    return f.cpu().numpy()


def score(clf, x: np.ndarray) -> np.ndarray:
    """A per-image fakeness score: P(fake) where the classifier has probabilities, else the SVM margin."""
    if hasattr(clf, "predict_proba") and not _is_svc(clf):
        return clf.predict_proba(x)[:, 1]
    return clf.decision_function(x)


def _is_svc(clf) -> bool:
    from sklearn.svm import SVC

    return isinstance(clf[-1], SVC)


def detection_runs(real_pool: np.ndarray, base_pool: np.ndarray, tests: dict[str, np.ndarray], classifier: str,
                   n_runs: int, n_train: int, seed: int) -> dict[str, np.ndarray]:
    """Fraction of each test set called fake, per run: run r fits on ``n_train`` real + ``n_train`` baseline
    features drawn without replacement (seed + r) from the training pools. Runs are paired: every test
    set is scored by the same fitted classifier in run r."""
    if len(real_pool) < n_train or len(base_pool) < n_train:
        raise UsageError(f"need ≥ {n_train} training features per class, have {len(real_pool)} real and "
                         f"{len(base_pool)} baseline")
    out = {k: np.empty(n_runs) for k in tests}
    for r in range(n_runs):
        rng = np.random.default_rng(seed + r)
        xr = real_pool[rng.choice(len(real_pool), n_train, replace=False)]
        xb = base_pool[rng.choice(len(base_pool), n_train, replace=False)]
        clf = make_classifier(classifier, seed + r)
        clf.fit(np.concatenate([xr, xb]), np.r_[np.zeros(n_train), np.ones(n_train)])
        for k, x in tests.items():
            out[k][r] = float(clf.predict(x).mean())
    return out


# ---------------------------------------------------------------------------------- saved detector
@dataclass
class Detector:
    """A fitted detector: features + settings + the training features; the classifier is refitted on
    load (deterministic, fixed seed), so the file holds only plain arrays and JSON, never a pickle."""

    features: str
    classifier: str
    size: tuple[int, int]
    x_train: np.ndarray
    y_train: np.ndarray
    settings: dict[str, Any]
    seed: int = 0

    def __post_init__(self):
        self.clf = make_classifier(self.classifier, self.seed)
        self.clf.fit(self.x_train, self.y_train)

    def featurize(self, gray: np.ndarray) -> np.ndarray:
        return extract(self.features, gray, DzanicSettings(**self.settings.get("dzanic", {})))

    def predict(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, labels) with label 1 = called fake."""
        return score(self.clf, feats), self.clf.predict(feats).astype(int)

    def save(self, path: Path) -> Path:
        import io

        meta = {"format": DETECTOR_FORMAT, "features": self.features, "classifier": self.classifier,
                "size": list(self.size), "settings": self.settings, "seed": self.seed}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), x_train=self.x_train, y_train=self.y_train)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> Detector:
        z = load_npz(path)
        if not {"meta", "x_train", "y_train"} <= set(z):
            raise UsageError(f"{path}: not a spectral-forensics detector (no meta/x_train/y_train arrays; make one "
                             f"with `spectral-forensics fit-detector`)")
        try:
            meta = json.loads(str(z["meta"]))
            ok = isinstance(meta, dict) and meta.get("format") == DETECTOR_FORMAT
        except (json.JSONDecodeError, TypeError):
            ok = False
        if not ok:
            raise UsageError(f"{path}: not a spectral-forensics detector (made by `spectral-forensics "
                             f"fit-detector`, format {DETECTOR_FORMAT})")
        x, y = np.asarray(z["x_train"], dtype=np.float64), np.asarray(z["y_train"])
        if x.ndim != 2 or len(x) != len(y) or not np.isfinite(x).all():
            raise UsageError(f"{path}: damaged detector (training features of shape {x.shape}, labels {y.shape})")
        return cls(meta["features"], meta["classifier"], tuple(meta["size"]), x, y, meta.get("settings", {}),
                   int(meta.get("seed", 0)))
