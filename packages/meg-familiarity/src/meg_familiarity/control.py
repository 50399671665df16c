"""Low-level control: can image attributes explain the familiarity decoding?

1. :func:`image_attributes` describes every stimulus by mean luminance (Rec. 709 Y of linear RGB,
   ``skimage.color.rgb2gray``), RMS contrast (std of that luminance / its mean; Peli 1990), HSV and CIE Lab
   colour histograms (``skimage.color``) and spatial-frequency energy in radial bands of the 2-D power
   spectrum.
2. :func:`attribute_decodability`: cross-validated AUC of familiarity from the attributes alone
   (standardised logistic regression), with a label-permutation p-value
   (``sklearn.model_selection.permutation_test_score``).
3. :func:`match_images`: attribute-matched subsets (greedy 1:1 nearest neighbours between familiar and
   unfamiliar images on the standardised matching attributes, within a caliper), so MEG decoding can be
   repeated on trials whose images no longer differ in those attributes.
4. :func:`rsa_partial`: time-resolved RSA: the Spearman partial correlation between the neural RDM
   (correlation distance between image-averaged patterns) and the familiarity model RDM, controlling
   for low-level RDMs (|Δ attribute|): ranks of every RDM, the controls regressed out of both, the
   Pearson r of the residuals (partial Spearman ρ).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.stats import rankdata

ATTRIBUTE_GROUPS = ("luminance", "contrast", "hsv", "lab", "spatial_frequency")


def spatial_frequency_energy(gray: np.ndarray, n_bands: int = 4) -> np.ndarray:
    """Share of spectral power (DC removed) in ``n_bands`` equal-width radial frequency bands up to Nyquist."""
    f = np.fft.fftshift(np.abs(np.fft.fft2(gray - gray.mean())) ** 2)
    h, w = gray.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h // 2) / h, (xx - w // 2) / w)  # cycles/pixel
    edges = np.linspace(0, 0.5, n_bands + 1)
    e = np.array([f[(r >= a) & (r < b)].sum() for a, b in pairwise(edges)])
    return e / max(e.sum(), 1e-12)


def image_attributes(images: np.ndarray | list[np.ndarray], n_bins: int = 8) -> tuple[np.ndarray, list[str]]:
    """Attribute matrix (n_images, n_attributes) and column names for RGB (or gray) images in [0, 1]."""
    from skimage.color import gray2rgb, rgb2gray, rgb2hsv, rgb2lab

    rows, names = [], None
    for img in images:
        img = np.asarray(img, dtype=np.float64)
        rgb = gray2rgb(img) if img.ndim == 2 else img[..., :3]
        gray = rgb2gray(rgb)
        lum = gray.mean()
        feats = {"luminance": lum, "contrast": gray.std() / max(lum, 1e-12)}
        hsv = rgb2hsv(rgb)
        lab = rgb2lab(rgb)
        for j, ch in enumerate("hsv"):
            h, _ = np.histogram(hsv[..., j], bins=n_bins, range=(0, 1))
            feats.update({f"hsv_{ch}{b}": v / h.sum() for b, v in enumerate(h)})
        for j, (ch, lo, hi) in enumerate((("L", 0, 100), ("a", -128, 128), ("b", -128, 128))):
            h, _ = np.histogram(lab[..., j], bins=n_bins, range=(lo, hi))
            feats.update({f"lab_{ch}{b}": v / h.sum() for b, v in enumerate(h)})
        feats.update({f"sf_band{b}": v for b, v in enumerate(spatial_frequency_energy(gray))})
        rows.append(list(feats.values()))
        names = list(feats)
    return np.array(rows), names


def colour_components(A: np.ndarray, names: list[str], k: int = 2) -> np.ndarray:
    """The first ``k`` principal components (n_images, k) of the standardised HSV + Lab histogram columns:
    a few numbers that summarise each image's colour distribution, for matching (constant columns dropped;
    fewer components when the histograms vary in fewer directions, e.g. grayscale images)."""
    cols = [i for i, n in enumerate(names) if n.startswith(("hsv_", "lab_"))]
    H = A[:, cols]
    H = H[:, H.std(0) > 1e-12]
    if H.shape[1] == 0:
        return np.zeros((len(A), 0))
    Z = (H - H.mean(0)) / H.std(0)
    U, S, _ = np.linalg.svd(Z, full_matrices=False)
    keep = min(k, int((S > 1e-8 * S[0]).sum()))
    return U[:, :keep] * S[:keep]


def attribute_groups(names: list[str]) -> dict[str, list[int]]:
    """Column indices of each attribute group (luminance, contrast, hsv, lab, spatial_frequency)."""
    pre = {"luminance": "luminance", "contrast": "contrast", "hsv": "hsv_", "lab": "lab_", "spatial_frequency": "sf_"}
    return {g: [i for i, n in enumerate(names) if n.startswith(p)] for g, p in pre.items()}


def attribute_decodability(A: np.ndarray, labels: np.ndarray, n_splits: int = 5, n_perm: int = 200,
                           seed: int = 0) -> dict:
    """Cross-validated AUC of familiarity from attributes alone + permutation p-value (per image; none if n_perm=0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score, permutation_test_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    keep = A.std(0) > 0
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if n_perm <= 0:
        return {"auc": float(cross_val_score(clf, A[:, keep], labels, cv=cv, scoring="roc_auc").mean()),
                "p": float("nan"), "null_mean": float("nan")}
    score, perm, p = permutation_test_score(clf, A[:, keep], labels, cv=cv, n_permutations=n_perm,
                                            scoring="roc_auc", random_state=seed)
    return {"auc": float(score), "p": float(p), "null_mean": float(perm.mean())}


def standardized_mean_difference(A: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(mean₁ − mean₀) / pooled sd of each attribute column."""
    a1, a0 = A[labels == 1], A[labels == 0]
    sd = np.sqrt((a1.var(0, ddof=1) + a0.var(0, ddof=1)) / 2)
    return (a1.mean(0) - a0.mean(0)) / np.where(sd > 0, sd, 1.0)


def match_images(A: np.ndarray, labels: np.ndarray, caliper: float = 0.25) -> np.ndarray:
    """Greedy 1:1 matching of familiar to unfamiliar images on standardised attributes A (n_images, k).

    Pairs are formed closest-first (Euclidean distance of z-scores), each image used at most once, and a
    pair is kept only when its distance ≤ ``caliper`` · √k. Returns the indices of the kept images.
    """
    Z = (A - A.mean(0)) / np.where(A.std(0) > 0, A.std(0), 1.0)
    fam, unf = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    dist = np.linalg.norm(Z[fam][:, None, :] - Z[unf][None, :, :], axis=-1)
    limit = caliper * np.sqrt(Z.shape[1])
    used_f, used_u, keep = set(), set(), []
    for flat in np.argsort(dist, axis=None):
        i, j = np.unravel_index(flat, dist.shape)
        if dist[i, j] > limit:
            break
        if i in used_f or j in used_u:
            continue
        used_f.add(i)
        used_u.add(j)
        keep += [fam[i], unf[j]]
    return np.sort(np.array(keep, dtype=int))


# ----------------------------------------------------------------------------------------------
# RSA
# ----------------------------------------------------------------------------------------------
def rdm_vector(patterns: np.ndarray) -> np.ndarray:
    """Correlation distance 1 − r between all rows of ``patterns`` (..., n_items, n_features), upper triangle."""
    P = patterns - patterns.mean(-1, keepdims=True)
    P = P / np.linalg.norm(P, axis=-1, keepdims=True)
    C = P @ np.swapaxes(P, -1, -2)
    iu = np.triu_indices(patterns.shape[-2], 1)
    return 1 - C[..., iu[0], iu[1]]


def model_rdm(values: np.ndarray) -> np.ndarray:
    """|v_i − v_j| summed over columns, upper triangle (a familiarity 0/1 vector gives same/different)."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64).T).T
    iu = np.triu_indices(len(v), 1)
    return np.abs(v[iu[0]] - v[iu[1]]).sum(-1)


def partial_spearman(neural: np.ndarray, model: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Partial Spearman ρ of each row of ``neural`` (T, n_pairs) with ``model`` (n_pairs,) given ``controls``
    (k, n_pairs).

    ρ = corr(e_y, e_x) with e the residuals of the ranks after least squares on [1, ranks(controls)].
    """
    R = np.column_stack([np.ones(model.size)] + [rankdata(c) for c in np.atleast_2d(controls)])
    proj = R @ np.linalg.pinv(R)
    ex = rankdata(model) - proj @ rankdata(model)
    ey = rankdata(neural, axis=-1)
    ey = ey - ey @ proj.T
    return (ey @ ex) / (np.linalg.norm(ey, axis=-1) * np.linalg.norm(ex))


@dataclass
class RSAResult:
    rho: np.ndarray  # (T,) partial Spearman ρ of the familiarity RDM given the low-level RDMs
    rho_plain: np.ndarray  # (T,) Spearman ρ without controls


def rsa_subject(X: np.ndarray, image_of_trial: np.ndarray, familiar_of_image: np.ndarray,
                low_level: list[np.ndarray]) -> RSAResult:
    """Time-resolved RSA for one subject: image-averaged patterns → RDM per time → (partial) Spearman ρ.

    X: (n_trials, n_channels, T); image_of_trial: index into the images; low_level: one (n_images, k_g)
    array per attribute group, each giving one control RDM (L1 distance of the z-scored attributes).
    Patterns are z-scored per channel over trials first, so magnetometers and gradiometers weigh alike.
    """
    imgs = np.unique(image_of_trial)
    Xz = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    pat = np.stack([Xz[image_of_trial == i].mean(0) for i in imgs])  # (n_img, p, T)
    neural = rdm_vector(pat.transpose(2, 0, 1))  # (T, n_pairs)
    fam = model_rdm(familiar_of_image[imgs])
    controls = []
    for L in low_level:
        L = np.asarray(L, dtype=np.float64).reshape(len(L), -1)
        controls.append(model_rdm(((L - L.mean(0)) / np.where(L.std(0) > 0, L.std(0), 1.0))[imgs]))
    controls = np.stack(controls) if controls else np.zeros((0, fam.size))
    return RSAResult(rho=partial_spearman(neural, fam, controls),
                     rho_plain=partial_spearman(neural, fam, np.zeros((0, fam.size))))
