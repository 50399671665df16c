"""The paper-style figures, redrawn from a run's numbers (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def decoding_timecourse(path: Path, times: np.ndarray, auc: np.ndarray, stats_: dict, matched_auc=None,
                        matched_stats: dict | None = None, planted: float | None = None,
                        extra: list[tuple[str, np.ndarray]] | None = None) -> Path:
    """Group AUC ± SEM over time, significant cluster, onset with CI; the matched-subset curve if given."""
    plt = _plt()
    ms = times * 1000
    fig, ax = plt.subplots(figsize=(7, 3.6))
    m, se = auc.mean(0), auc.std(0, ddof=1) / np.sqrt(len(auc)) if len(auc) > 1 else 0 * auc[0]
    ax.fill_between(ms, m - se, m + se, color="C0", alpha=0.25)
    ax.plot(ms, m, color="C0", label=f"all trials (n={len(auc)} subject{'s' if len(auc) > 1 else ''})")
    for i, (lab, curve) in enumerate(extra or []):
        ax.plot(ms, curve, color=f"C{i + 2}", lw=1, ls="--", label=lab)
    sig = np.asarray(stats_["significant"], bool)
    ax.plot(ms[sig], np.full(sig.sum(), 0.47), "s", color="C0", ms=3, label="significant cluster")
    if matched_auc is not None:
        ax.plot(ms, matched_auc, color="C1", label="attribute-matched images")
        if matched_stats:
            msig = np.asarray(matched_stats["significant"], bool)
            ax.plot(ms[msig], np.full(msig.sum(), 0.46), "s", color="C1", ms=3)
    if stats_.get("onset") is not None:
        ax.axvline(stats_["onset"] * 1000, color="C0", ls="--", lw=1)
        ci = stats_.get("onset_ci")
        if ci and np.isfinite(ci["low"]):
            ax.axvspan(ci["low"] * 1000, ci["high"] * 1000, color="C0", alpha=0.1, label="onset 95% CI")
    if planted is not None:
        ax.axvline(planted * 1000, color="k", ls=":", lw=1, label=f"planted onset {planted * 1000:.0f} ms")
    ax.axvline(250, color="grey", ls="-.", lw=0.8, label="classic N250")
    ax.axhline(0.5, color="k", lw=0.5)
    ax.set(xlabel="time (ms)", ylabel="AUC familiar vs unfamiliar", title="Time-resolved decoding of familiarity")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def generalization(path: Path, times: np.ndarray, gen: np.ndarray) -> Path:
    """Group-average temporal generalization matrix (train time × test time)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    ms = times * 1000
    v = max(abs(gen.max() - 0.5), abs(gen.min() - 0.5), 0.01)
    im = ax.imshow(gen, origin="lower", extent=[ms[0], ms[-1], ms[0], ms[-1]], cmap="RdBu_r", vmin=0.5 - v,
                   vmax=0.5 + v)
    ax.set(xlabel="test time (ms)", ylabel="train time (ms)", title="Temporal generalization (AUC)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def control_figure(path: Path, times: np.ndarray, ctrl: dict) -> Path:
    """Attribute decodability by group, and the RSA familiarity ρ with and without low-level controls."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    groups = ctrl.get("attribute_auc_by_group", {})
    axes[0].bar([*groups, "all"], [*groups.values(), ctrl["attribute_auc"]], color="C2")
    axes[0].axhline(0.5, color="k", lw=0.5)
    axes[0].set(ylabel="CV AUC (images)", title="Familiarity from image attributes")
    axes[0].tick_params(axis="x", rotation=30, labelsize=7)
    if ctrl.get("rsa"):
        ms = times * 1000
        axes[1].plot(ms, ctrl["rsa"]["rho_plain"], label="Spearman ρ")
        axes[1].plot(ms, ctrl["rsa"]["rho_partial"], label="partial ρ | low-level RDMs")
        axes[1].axhline(0, color="k", lw=0.5)
        axes[1].set(xlabel="time (ms)", ylabel="ρ (familiarity RDM)", title="Time-resolved RSA")
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ground_truth_figure(path: Path, gt: dict) -> Path:
    """Recovered onsets of planted simulations and onsets found in null simulations."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    po = [o * 1000 for o in gt["planted_onsets"] if o is not None]
    no = [o * 1000 for o in gt["null_onsets"] if o is not None]
    ax.plot(po, np.ones(len(po)), "o", color="C0", label="planted: recovered onset")
    ax.plot(no, np.zeros(len(no)), "x", color="C3", label=f"null: false onsets ({len(no)}/{gt['n_null']})")
    ax.axvline(gt["planted_onset"] * 1000, color="k", ls=":", label="planted onset")
    ax.axvspan(gt["planted_onset"] * 1000 - 20, gt["planted_onset"] * 1000 + 20, color="k", alpha=0.08)
    ax.set(yticks=[0, 1], yticklabels=["null", "planted"], xlabel="onset (ms)", ylim=(-0.5, 1.5),
           title="Ground truth on simulations")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
