"""The paper's experiments as functions: config in → results dict (+ figures) out.

``reproduce`` chains them: (1) data: the simulated BIDS dataset (or a real BIDS root / epochs files),
(2) per-subject time-resolved decoding + group cluster test, onset and its CI (claim 1), (3) the
low-level control: attribute decodability, decoding on attribute-matched images, partial-correlation RSA
(claim 2), (4) ground truth: onset recovery on planted simulations and the false-onset rate on null
simulations (claim 3). Every stage checkpoints its numbers under ``checkpoints/`` so ``--resume`` skips it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from meg_familiarity import control, stats
from meg_familiarity.data import Preproc, SubjectData, load_bids, load_epochs_fif, load_stimuli
from meg_familiarity.decoding import (
    auc_from_scores,
    decode_time,
    make_folds,
    permuted_labels,
    shared_gram_aucs,
    sliding_window,
)
from meg_familiarity.simulate import SimConfig, simulate_dataset, simulate_epochs, write_bids
from reprokit import UsageError, cached_arrays, cached_json

log = logging.getLogger("meg_familiarity")


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def load_dataset(cfg: dict[str, Any], dataset: str, data_dir: Path | None, work: Path,
                 quiet: bool = True, notes: list[str] | None = None) -> tuple[list[SubjectData], Path | None, dict]:
    """Subjects' epochs for ``dataset``; simulates (and writes BIDS under ``work``) when no data dir is given."""
    dcfg = cfg["data"]
    pp = Preproc.from_dict(dcfg.get("preproc"))
    truth: dict = {}
    task = dcfg.get("task", "facerecognition")
    if dataset == "simulated":
        root = data_dir if data_dir is not None else work / "bids"
        if data_dir is None and not (root / "simulation_truth.json").exists():
            log.info("simulating %d subjects (Neuromag-306, sphere model) into %s", cfg["simulation"]["n_subjects"],
                     root)
            write_bids(simulate_dataset(SimConfig.from_dict(cfg["simulation"])), root)
        if (root / "simulation_truth.json").exists():
            truth = json.loads((root / "simulation_truth.json").read_text())
        subs = load_bids(root, dcfg.get("conditions"), pp, task=task, quiet=quiet, notes=notes)
        return subs, root, truth
    if dataset in ("ds000117", "bids"):
        if data_dir is None:
            raise UsageError(f"dataset {dataset} needs --data-dir pointing at the BIDS root (for ds000117: the "
                             f"OpenNeuro download with sub-01..16/ses-meg/meg/*_meg.fif)")
        subs = load_bids(data_dir, dcfg.get("conditions"), pp, task=task, quiet=quiet, notes=notes)
        return subs, data_dir, truth
    if dataset == "epochs":
        if data_dir is None:
            raise UsageError("dataset epochs needs --data-dir: one -epo.fif file or a folder of them")
        files = epochs_files(data_dir)
        return [load_epochs_fif(f, dcfg.get("conditions")) for f in files], None, truth
    raise UsageError(f"unknown dataset {dataset!r}; choose simulated, ds000117, bids or epochs (see `data list`)")


def epochs_files(data_dir: Path) -> list[Path]:
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise UsageError(f"{data_dir} does not exist; give an -epo.fif file or a folder of them")
    files = [data_dir] if data_dir.is_file() else sorted(data_dir.glob("*-epo.fif"))
    if not files:
        raise UsageError(f"no *-epo.fif files in {data_dir}")
    return files


# ----------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------
def fold_groups(stim: list[str] | np.ndarray | None, dec: dict[str, Any]) -> np.ndarray | None:
    """The grouping of the folds: the stimulus of each trial (default ``folds_by: stimulus``) when known."""
    if dec.get("folds_by", "stimulus") == "stimulus" and stim is not None:
        return np.asarray(stim)
    return None


def _folds(y, dec, seed, groups, who: str):
    try:
        return make_folds(y, int(dec["folds"]), int(dec.get("repeats", 1)), seed, groups)
    except ValueError as e:
        raise UsageError(f"subject {who}: {e}") from e


def decode_subject(sub: SubjectData, dec: dict[str, Any], seed: int, trials: np.ndarray | None = None,
                   generalize: bool | None = None) -> dict[str, np.ndarray]:
    """Time-resolved decoding of one subject (optionally a subset of its trials)."""
    X, y = (sub.X, sub.y) if trials is None else (sub.X[trials], sub.y[trials])
    stim = None if sub.stim is None else (np.asarray(sub.stim) if trials is None else np.asarray(sub.stim)[trials])
    counts = np.bincount(y, minlength=2)
    if counts.min() < dec["folds"]:
        raise UsageError(f"subject {sub.subject}: {counts[1]} familiar / {counts[0]} unfamiliar trials, too few for "
                         f"{dec['folds']}-fold CV; lower decoding.folds or give more trials")
    folds = _folds(y, dec, seed, fold_groups(stim, dec), sub.subject)
    r = decode_time(X, y, folds, classifier=dec.get("classifier", "lda"), window=int(dec.get("window", 1)),
                    pseudo=int(dec.get("pseudo", 1)),
                    generalize=bool(dec.get("generalization", False) if generalize is None else generalize), seed=seed)
    out = {"auc": r.auc, "accuracy": r.accuracy}
    if r.generalization is not None:
        out["generalization"] = r.generalization
    return out


def decode_group(subjects: list[SubjectData], dec: dict[str, Any], seed: int, n_jobs: int = 1,
                 trials: list[np.ndarray] | None = None, generalize: bool | None = None,
                 quiet: bool = True) -> dict[str, np.ndarray]:
    """Every subject's decoding (joblib ``n_jobs`` across subjects), stacked: auc (S, T), accuracy (S, T)..."""
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    from reprokit import progress

    def one(i):
        with threadpool_limits(1):
            return decode_subject(subjects[i], dec, seed + i, None if trials is None else trials[i], generalize)

    idx = list(range(len(subjects)))
    if n_jobs == 1:
        res = [one(i) for i in progress(idx, quiet=quiet, desc="decoding subjects")]
    else:
        res = Parallel(n_jobs=n_jobs)(delayed(one)(i) for i in idx)
    return {k: np.stack([r[k] for r in res]) for k in res[0]}


def group_statistics(auc: np.ndarray, times: np.ndarray, st: dict[str, Any], seed: int, ci: bool = True) -> dict:
    """Cluster test, onset, FDR onset and the onset CI of AUC (S, T) against 0.5 (sign-flips of subjects)."""
    D = auc - 0.5
    onset, res = stats.group_onset(D, times, n_perm=st["n_perm"], alpha=st["alpha"], p_cluster=st["p_cluster"],
                                   seed=seed, t_from=0.0)
    fdr_on, fdr_mask = stats.fdr_onset(D, times, alpha=st["alpha"], t_from=0.0)
    window = times[times >= 0]
    sig = np.zeros(len(times), bool)
    sig[times >= 0] = res.significant_mask(st["alpha"])
    out = {"test": f"group: one-sided cluster permutation test, sign-flips of {len(auc)} subjects",
           "onset": onset, "fdr_onset": fdr_on, "significant": sig.tolist(), "fdr_significant": fdr_mask.tolist(),
           "cluster_p": [float(p) for p in res.pvalues],
           "clusters_ms": [[float(window[a] * 1000), float(window[b - 1] * 1000)] for a, b in res.clusters],
           "peak_auc": float(auc.mean(0).max()), "peak_time": float(times[np.argmax(auc.mean(0))])}
    if ci and onset is not None:
        out["onset_ci"] = stats.onset_ci(D, times, method=st.get("ci_method", "bootstrap"),
                                         n_boot=st.get("n_boot", 200),
                                         n_perm=st.get("ci_perm", 500), alpha=st["alpha"], seed=seed + 7, t_from=0.0)
    return out


def subject_test(sub: SubjectData, dec: dict[str, Any], st: dict[str, Any], seed: int) -> dict:
    """A valid within-subject test: label-permutation cluster test over time (one subject).

    Decoder: the label-free shrinkage LDA of :func:`~meg_familiarity.decoding.shared_gram_aucs` for the
    observed labels and ``stats.subject_perms`` permutations (of the stimuli's labels when the folds are
    grouped by stimulus, else of the trials'), on the same folds; clusters of time points ≥ 0 whose AUC
    exceeds each time point's (1 − p_cluster) null quantile, mass against the null's largest cluster.
    Onset CI: percentile bootstrap of the held-out trials (whole stimuli when grouped, within class and
    fold; classifiers fixed), each resample re-tested against the same null.
    """
    times = sub.times
    X = sliding_window(np.asarray(sub.X, dtype=np.float64), int(dec.get("window", 1)))
    Xt = np.ascontiguousarray(X.transpose(2, 0, 1))
    groups = fold_groups(sub.stim, dec)
    folds = _folds(sub.y, dec, seed, groups, sub.subject)
    rng = np.random.default_rng(seed + 31)
    n_perm = int(st.get("subject_perms", 200))
    labels = permuted_labels(sub.y, n_perm, rng, groups)
    r = shared_gram_aucs(Xt, folds, labels)
    keep = times >= 0
    null = stats.PermutationNull.from_curves(r.auc[1:, keep], st["p_cluster"])
    res = null.test(r.auc[0, keep])
    alpha = st["alpha"]
    onset = stats.onset_from_clusters(res, times[keep], alpha)
    sig = np.zeros(len(times), bool)
    sig[keep] = res.significant_mask(alpha)
    window = times[keep]
    out = {"test": (f"within subject: label-permutation cluster test ({n_perm} permutations of the "
                    f"{'stimuli' if groups is not None else 'trials'}' labels, label-free shrinkage LDA)"),
           "subject": sub.subject, "onset": onset, "significant": sig.tolist(),
           "cluster_p": [float(p) for p in res.pvalues],
           "clusters_ms": [[float(window[a] * 1000), float(window[b - 1] * 1000)] for a, b in res.clusters],
           "auc": r.auc[0].tolist(), "null_mean": r.auc[1:].mean(0).tolist(),
           "peak_auc": float(np.nanmax(r.auc[0])), "peak_time": float(times[np.nanargmax(r.auc[0])]),
           "n_perm": n_perm, "n_familiar": int((sub.y == 1).sum()), "n_unfamiliar": int((sub.y == 0).sum())}
    n_boot = int(st.get("n_boot", 200))
    if onset is not None and n_boot > 0:
        brng = np.random.default_rng(seed + 57)
        g_all = None if groups is None else np.unique(np.asarray(groups).astype(str), return_inverse=True)[1]
        onsets = []
        for _ in range(n_boot):
            curves = []
            for dec_f, lab_f, te in zip(r.decisions, r.test_labels, r.test_index):
                idx = []
                for c in (0, 1):
                    pos = np.flatnonzero(lab_f == c)
                    if g_all is None:
                        idx.append(brng.choice(pos, len(pos)))
                    else:
                        gs = g_all[te][pos]
                        ug = np.unique(gs)
                        pick = brng.choice(ug, len(ug))
                        idx.append(np.concatenate([pos[gs == u] for u in pick]))
                idx = np.concatenate(idx)
                curves.append(auc_from_scores(dec_f[:, idx], lab_f[idx]))
            o = stats.onset_from_clusters(null.test(np.mean(curves, 0)[keep]), window, alpha)
            onsets.append(np.nan if o is None else o)
        arr = np.array(onsets)
        ok = arr[~np.isnan(arr)]
        lo, hi = np.quantile(ok, [0.025, 0.975]) if len(ok) else (np.nan, np.nan)
        out["onset_ci"] = {"method": "bootstrap of held-out trials" + (" (by stimulus)" if groups is not None else ""),
                           "low": float(lo), "high": float(hi), "n": n_boot,
                           "n_without_onset": int(np.isnan(arr).sum())}
    return out


def window_effect(curves: np.ndarray, times: np.ndarray, window: list[float], chance: float = 0.0) -> dict:
    """Per-subject mean of ``curves`` (S, T) − chance over ``window`` [a, b] s, with its paired t CI over subjects."""
    from reprokit import paired_t_ci

    sel = (times >= window[0] - 1e-9) & (times <= window[1] + 1e-9)
    if not sel.any():
        raise UsageError(f"the early window {window} holds no time points of the epochs")
    eff = np.nanmean(np.asarray(curves)[:, sel], axis=1) - chance
    return {**paired_t_ci(eff), "per_subject": eff.tolist(), "window_s": list(window)}


# ----------------------------------------------------------------------------------------------
# low-level control
# ----------------------------------------------------------------------------------------------
def low_level_control(subjects: list[SubjectData], root: Path | None, cfg: dict[str, Any], seed: int,
                      ckdir: Path | None, quiet: bool = True, stimuli_root: Path | None = None) -> dict:
    """Attributes of the stimuli, their own decodability, MEG decoding on matched images, partial RSA.

    Matching (``control.match_on``): luminance, contrast and ``colour`` (the first principal components of
    the HSV + Lab histograms), greedy 1:1 nearest neighbours within the caliper. The early window
    (``claims.early_window``) gets a per-subject effect with its CI, for the decoding on matched images
    (AUC − 0.5) and for the partial RSA (ρ given the low-level RDMs).
    """
    ccfg, st = cfg["control"], cfg["stats"]
    if any(s.stim is None for s in subjects):
        raise UsageError("the low-level control needs stimulus files per trial (events.tsv stim_file column or "
                         "epochs metadata) and their images; set control.enabled=false to skip it")
    files = sorted({f for s in subjects for f in s.stim})
    imgs = load_stimuli(root, files, stimuli_root)
    A, names = control.image_attributes([imgs[f] for f in files])
    groups = control.attribute_groups(names)
    colour = control.colour_components(A, names, int(ccfg.get("colour_components", 2)))
    # an image's familiarity: the label of its trials (must be consistent)
    fam = np.full(len(files), -1)
    for s in subjects:
        for f, lab in zip(s.stim, s.y):
            i = files.index(f)
            if fam[i] not in (-1, lab):
                raise UsageError(f"stimulus {f} appears as both familiar and unfamiliar; check the condition map")
            fam[i] = lab
    attr = control.attribute_decodability(A, fam, n_perm=ccfg.get("attr_perm", 200), seed=seed)
    per_group = {g: control.attribute_decodability(A[:, idx], fam, n_perm=0, seed=seed)["auc"]
                 for g, idx in groups.items() if idx}
    match_on = list(ccfg.get("match_on", ["luminance", "contrast", "colour"]))
    cols = [A[:, groups[g]] if g != "colour" else colour for g in match_on]
    M = np.column_stack(cols) if cols else np.zeros((len(files), 0))
    kept = control.match_images(M, fam, caliper=ccfg.get("caliper", 0.25))
    smd_before = control.standardized_mean_difference(M, fam)
    smd_after = control.standardized_mean_difference(M[kept], fam[kept]) if len(kept) > 3 else smd_before
    attr_matched = (control.attribute_decodability(A[kept], fam[kept], n_perm=ccfg.get("attr_perm", 200), seed=seed)
                    if len(kept) >= 20 else {"auc": float("nan"), "p": float("nan")})
    kept_files = {files[i] for i in kept}
    trials = [np.array([f in kept_files for f in s.stim]) for s in subjects]
    times = subjects[0].times
    early = list(cfg.get("claims", {}).get("early_window", [0.08, 0.15]))
    out = {"n_images": len(files), "attribute_auc": attr["auc"], "attribute_p": attr["p"],
           "attribute_auc_by_group": per_group, "n_matched_images": len(kept),
           "matched_on": match_on, "matched_columns": int(M.shape[1]), "colour_components": int(colour.shape[1]),
           "smd_before": [float(v) for v in smd_before], "smd_after": [float(v) for v in smd_after],
           "attribute_auc_matched": attr_matched["auc"], "attribute_p_matched": attr_matched["p"],
           "early_window_s": early}
    if len(kept) < 20:
        out["matched"] = None
        return out
    md = cached_arrays(ckdir, "decode_matched",
                       lambda: decode_group(subjects, cfg["decoding"], seed + 100, cfg.get("n_jobs", 1), trials,
                                            generalize=False, quiet=quiet))
    out["matched_auc"] = md["auc"].mean(0).tolist()
    if len(subjects) >= 2:
        out["matched"] = group_statistics(md["auc"], times, st, seed + 100, ci=bool(ccfg.get("matched_ci", True)))
        out["matched_early"] = window_effect(md["auc"], times, early, chance=0.5)
    else:
        sub = subjects[0]
        kept_sub = SubjectData(sub.subject, sub.X[trials[0]], sub.y[trials[0]], sub.times, sub.ch_names,
                               list(np.asarray(sub.stim)[trials[0]]))
        out["matched"] = subject_test(kept_sub, cfg["decoding"], st, seed + 100)
    if ccfg.get("rsa", True):
        low = [A[:, groups[g]] for g in ATTR_FOR_RSA if groups.get(g)]
        rho, rho_plain = [], []
        for s in subjects:
            img = np.array([files.index(f) for f in s.stim])
            r = control.rsa_subject(s.X, img, fam, low)
            rho.append(r.rho)
            rho_plain.append(r.rho_plain)
        rho, rho_plain = np.array(rho), np.array(rho_plain)
        out["rsa"] = {"rho_partial": rho.mean(0).tolist(), "rho_plain": rho_plain.mean(0).tolist(),
                      "peak_rho_partial": float(rho.mean(0).max())}
        if len(subjects) >= 2:
            on, res = stats.group_onset(rho, times, n_perm=st["n_perm"], alpha=st["alpha"],
                                        p_cluster=st["p_cluster"], seed=seed + 200)
            on_plain, _ = stats.group_onset(rho_plain, times, n_perm=st["n_perm"], alpha=st["alpha"],
                                            p_cluster=st["p_cluster"], seed=seed + 201)
            out["rsa"].update({"onset_partial": on, "onset_plain": on_plain,
                               "cluster_p": [float(p) for p in res.pvalues],
                               "early": window_effect(rho, times, early)})
    return out


ATTR_FOR_RSA = ("luminance", "contrast", "hsv", "lab", "spatial_frequency")


# ----------------------------------------------------------------------------------------------
# ground truth on simulations
# ----------------------------------------------------------------------------------------------
def ground_truth(cfg: dict[str, Any], seed: int, ckdir: Path | None, quiet: bool = True) -> dict:
    """Onset recovery on planted simulations and the false-onset rate over null simulations (in memory)."""
    from threadpoolctl import threadpool_limits

    from reprokit import progress

    g = cfg["ground_truth"]
    st = cfg["stats"]
    dec = {**cfg["decoding"], "repeats": g.get("repeats", 1), "generalization": False}
    base = {**cfg["simulation"], **g.get("simulation", {})}
    onset_true = float(base.get("onset") or 0.085)
    fwd_cache: dict = {}
    jobs = [("planted", i) for i in range(g["n_planted"])] + [("null", i) for i in range(g["n_null"])]

    def run_one(kind: str, i: int) -> dict:
        sc = SimConfig.from_dict({**base, "seed": seed * 1000 + (0 if kind == "planted" else 500) + i + 1,
                                  "anatomy_seed": seed, "onset": onset_true if kind == "planted" else None,
                                  "confound": 0.0})
        ds = simulate_dataset(sc, fwd_cache=fwd_cache)
        aucs = []
        with threadpool_limits(1):
            for j, s in enumerate(ds.subjects):
                X, times = simulate_epochs(s, tmin=g.get("tmin", -0.1), tmax=g.get("tmax", 0.5),
                                           decim=int(g.get("decim", 1)), trigger_delay=sc.trigger_delay)
                folds = make_folds(s.label, dec["folds"], dec["repeats"], seed + j, fold_groups(s.image, dec))
                aucs.append(decode_time(X, s.label, folds, classifier=dec.get("classifier", "lda"),
                                        window=int(dec.get("window", 1))).auc)
        onset, res = stats.group_onset(np.array(aucs) - 0.5, times, n_perm=st["n_perm"], alpha=st["alpha"],
                                       p_cluster=st["p_cluster"], seed=seed + i)
        return {"kind": kind, "i": i, "onset": onset, "peak_auc": float(np.mean(aucs, 0).max()),
                "n_sig_clusters": int((res.pvalues < st["alpha"]).sum()) if len(res.pvalues) else 0}

    results = []
    for kind, i in progress(jobs, quiet=quiet, desc="ground-truth simulations"):
        results.append(cached_json(ckdir, f"gt_{kind}_{i:03d}", lambda kind=kind, i=i: run_one(kind, i)))
    planted = [r for r in results if r["kind"] == "planted"]
    null = [r for r in results if r["kind"] == "null"]
    errors = [None if r["onset"] is None else r["onset"] - onset_true for r in planted]
    n_false = sum(r["onset"] is not None for r in null)
    from scipy.stats import binomtest

    p_excess = binomtest(n_false, len(null), st["alpha"], alternative="greater").pvalue if null else float("nan")
    return {"planted_onset": onset_true, "planted_onsets": [r["onset"] for r in planted], "onset_errors": errors,
            "null_onsets": [r["onset"] for r in null], "n_null": len(null), "n_false_onsets": n_false,
            "false_onset_rate": n_false / max(len(null), 1), "p_rate_exceeds_alpha": float(p_excess),
            "peak_auc_planted": [r["peak_auc"] for r in planted], "peak_auc_null": [r["peak_auc"] for r in null],
            "settings": {k: base[k] for k in ("n_subjects", "n_repeats", "channels", "sfreq", "image_effect")
                         if k in base}}
