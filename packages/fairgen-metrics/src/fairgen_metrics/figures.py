"""The paper's figures, redrawn from a run: metric responses along the sweep, linearity errors,
measurement error against accuracy and sample size, CLEAM estimates and coverage, GAN samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

STYLE = {"L1": ("tab:blue", "-"), "L2": ("tab:orange", "-"), "KL": ("tab:red", "-"), "Spec": ("tab:green", "--"),
         "IS": ("tab:purple", "--"), "WD": ("tab:brown", ":"), "WD (official)": ("tab:gray", ":"),
         "WDS": ("tab:olive", "--"), "WD (hamming)": ("tab:cyan", ":")}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sweep_figure(sweep: dict[str, Any], path: Path, title: str = "exact p̂") -> Path:
    ks = list(sweep)
    fig, axes = plt.subplots(1, len(ks), figsize=(4 * len(ks), 3.4), squeeze=False)
    for ax, k in zip(axes[0], ks):
        vals = sweep[k]["values"]
        n = len(next(iter(vals.values())))
        x = np.arange(n)
        ax.plot(x, 1 - x / (n - 1), color="black", lw=1, label="ideal linear")
        for m, v in vals.items():
            c, ls = STYLE.get(m, ("k", "-"))
            ax.plot(x, v, color=c, ls=ls, lw=1.3, label=m)
        ax.set_title(f"|u| = {sweep[k].get('k', k)} ({title})", fontsize=9)
        ax.set_xlabel("sweep step (one-hot → uniform)")
        ax.set_ylabel("normalised metric")
    axes[0, -1].legend(fontsize=7)
    return _save(fig, path)


def linearity_figure(sweep: dict[str, Any], path: Path) -> Path:
    ks = list(sweep)
    metrics = [m for m in STYLE if all(m in sweep[k]["linearity"] for k in ks)]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    w = 0.8 / len(ks)
    for i, k in enumerate(ks):
        ax.bar(np.arange(len(metrics)) + i * w, [sweep[k]["linearity"][m]["linearity_error"] for m in metrics], w,
               label=f"|u| = {k}")
    ax.set_xticks(np.arange(len(metrics)) + 0.4 - w / 2, metrics, fontsize=8)
    ax.set_ylabel("linearity error (mean |f − line|)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def error_figure(err: dict[str, Any], path: Path, metrics=("L2", "KL", "IS", "WDS")) -> Path:
    rows = err["rows"]
    ks = sorted({r["k"] for r in rows})
    fig, axes = plt.subplots(len(ks), len(metrics), figsize=(3.3 * len(metrics), 2.8 * len(ks)), squeeze=False)
    for i, k in enumerate(ks):
        sub = [r for r in rows if r["k"] == k]
        for j, m in enumerate(metrics):
            ax = axes[i, j]
            for c, n in enumerate(sorted({r["n"] for r in sub})):
                rs = [r for r in sub if r["n"] == n]
                ax.plot([r["accuracy"] for r in rs], [r["bias"][m] for r in rs], marker="o", color=f"C{c}",
                        label=f"n = {n}")
                ax.plot([r["accuracy"] for r in rs if r["bias_corrected"]],
                        [r["bias_corrected"][m] for r in rs if r["bias_corrected"]], ls="--", marker="x",
                        color=f"C{c}", label=f"n = {n}, corrected")
            ax.axhline(0, color="black", lw=0.7)
            ax.set_title(f"{m}, K = {k}", fontsize=9)
            ax.set_xlabel("classifier accuracy α")
            ax.set_ylabel("bias of f(p̂)")
    axes[0, -1].legend(fontsize=6)
    return _save(fig, path)


def cleam_figure(binary: dict[str, Any], path: Path) -> Path:
    cases = binary["cases"]
    fig, axes = plt.subplots(1, len(cases), figsize=(3.6 * len(cases), 3.2), squeeze=False)
    for ax, case in zip(axes[0], cases):
        p = case["p_star"][0]
        e_unc = np.asarray(case["uncorrected_err"])
        e_cor = np.asarray(case["heldout"]["err"])
        ax.hist(e_unc, bins=20, alpha=0.6, label=f"uncorrected (cover {case['uncorrected_joint_coverage']:.2f})")
        ax.hist(e_cor, bins=20, alpha=0.6, label=f"corrected (cover {case['heldout']['joint_coverage']:.2f})")
        ax.set_title(f"p*₀ = {p:.2f}, {case['trials']} trials", fontsize=9)
        ax.set_xlabel("|estimate − p*|")
        ax.legend(fontsize=7)
    return _save(fig, path)


def samples_figure(images: np.ndarray, path: Path, title: str = "GAN samples") -> Path:
    n = min(len(images), 64)
    cols = 8
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9))
    for i, ax in enumerate(np.asarray(axes).ravel()):
        ax.axis("off")
        if i < n:
            im = images[i]
            ax.imshow(im[0] if im.shape[0] == 1 else im.transpose(1, 2, 0), cmap="gray")
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def proportions_figure(res: dict[str, Any], path: Path) -> Path:
    """``measure``: p̂ per class with its CI, and the corrected estimate with its CI when there is one."""
    k = res["num_classes"]
    x = np.arange(k)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * k + 2), 3.2))
    p, lo, hi = (np.asarray(res[n]) for n in ("p_hat", "p_hat_low", "p_hat_high"))
    w = 0.38 if "corrected" in res else 0.6
    ax.bar(x - (w / 2 if "corrected" in res else 0), p, w, yerr=[p - lo, hi - p], capsize=3, label="p̂ (measured)")
    if "corrected" in res:
        c, clo, chi = (np.asarray(res[n]) for n in ("corrected", "corrected_low", "corrected_high"))
        ax.bar(x + w / 2, c, w, yerr=[np.clip(c - clo, 0, None), np.clip(chi - c, 0, None)], capsize=3,
               label="corrected")
    ref = np.full(k, 1 / k) if res["reference"] == "uniform" else np.asarray(res["reference"])
    ax.step(np.arange(k + 1) - 0.5, np.append(ref, ref[-1]), where="post", color="black", lw=1, label="reference")
    ax.set_xticks(x)
    ax.set_xlabel("class")
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=7)
    return _save(fig, path)


def confusion_figure(conf: np.ndarray, names: list[str], path: Path) -> Path:
    """``train-classifier``: the held-out confusion matrix P(predicted | true)."""
    conf = np.asarray(conf)
    k = conf.shape[0]
    fig, ax = plt.subplots(figsize=(2 + 0.5 * k, 1.6 + 0.5 * k))
    im = ax.imshow(conf, vmin=0, vmax=1, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{conf[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if conf[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), [str(n)[:12] for n in names], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), [str(n)[:12] for n in names], fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)
