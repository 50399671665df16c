"""Time-resolved decoding and the within-subject permutation test, side by side with references.

Data: one simulated subject (real Neuromag-306 geometry, sphere model): 240 trials (80 images × 3) × 306
channels × 200 time points; 5 stratified shuffled folds; BLAS limited to one thread for everything
(numpy's and scipy's OpenBLAS pools clash on small machines; MNE is fastest so).

1. One decoding pass: ours (``BatchedLDA``, StandardScaler + shrinkage LDA at all time points) against MNE's
   ``SlidingEstimator`` + ``cross_val_multiscore`` with the same pipeline, same folds, same labels. Scores must
   agree to 1e-6. Target (issue #12): ≥ 20× per pass.
2. The within-subject test: 100 label permutations through ``shared_gram_aucs`` (everything label-free —
   scaling, Gram matrix, shrinkage, K = Z_test Σ⁻¹ Zᵀ — computed once per fold and time point) against
   the time of ONE pass of (1). Target (issue #12): ≤ 3×. The shared path must equal the same decoder fitted
   label vector by label vector (checked on a few permutations here, on every one in the tests).

Run: ``python packages/meg-familiarity/benchmarks/bench_decoding.py`` (``make bench-meg-familiarity``).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits


def simulated_subject(n_images: int = 80, n_repeats: int = 3, n_times: int = 200, seed: int = 0):
    from meg_familiarity.simulate import SimConfig, simulate_dataset, simulate_epochs

    cfg = SimConfig(n_subjects=1, n_images=n_images, n_repeats=n_repeats, sfreq=400.0, seed=seed,
                    image_effect=5e-8)
    sub = simulate_dataset(cfg).subjects[0]
    X, _ = simulate_epochs(sub, tmin=-0.1, tmax=-0.1 + (n_times - 1) / 400.0, trigger_delay=cfg.trigger_delay)
    return X, sub.label, sub.image


def main() -> None:
    import mne
    from mne.decoding import SlidingEstimator, cross_val_multiscore

    from meg_familiarity.decoding import decode_time, make_estimator, make_folds, permuted_labels, shared_gram_aucs

    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=5, help="decoding passes of ours to time (real + permutations)")
    ap.add_argument("--ref-passes", type=int, default=2, help="passes of the MNE reference to time")
    ap.add_argument("--perms", type=int, default=100, help="within-subject permutations of part 2")
    args = ap.parse_args()
    mne.set_log_level("ERROR")
    X, y, images = simulated_subject()
    folds = make_folds(y, 5, 1, seed=0)
    rng = np.random.default_rng(1)
    labels = [y] + [rng.permutation(y) for _ in range(max(args.passes, args.ref_passes) - 1)]
    print(f"data: {X.shape[0]} trials × {X.shape[1]} channels × {X.shape[2]} times; 5 stratified shuffled folds")

    with threadpool_limits(1):
        Xt = np.ascontiguousarray(X.transpose(2, 0, 1))
        t0 = time.perf_counter()
        ours = [decode_time(None, lab, folds, Xt=Xt).auc for lab in labels[: args.passes]]
        t_ours = (time.perf_counter() - t0) / args.passes
        est = SlidingEstimator(make_estimator("lda"), scoring="roc_auc", n_jobs=1, verbose=False)
        ref, t_ref = [], []
        for lab in labels[: args.ref_passes]:
            t0 = time.perf_counter()
            ref.append(cross_val_multiscore(est, X, lab, cv=folds, n_jobs=1, verbose=False).mean(0))
            t_ref.append(time.perf_counter() - t0)
        # part 2: the within-subject permutation test (labels permuted between images, grouped folds)
        gfolds = make_folds(y, 5, 1, seed=0, groups=images)
        L = permuted_labels(y, args.perms, np.random.default_rng(2), groups=images)
        t0 = time.perf_counter()
        shared = shared_gram_aucs(Xt, gfolds, L)
        t_shared = time.perf_counter() - t0
        t0 = time.perf_counter()
        one_by_one = [shared_gram_aucs(Xt, gfolds, L[i:i + 1]).auc[0] for i in range(3)]
        t_plain = (time.perf_counter() - t0) / 3
        # peak memory apart from the timings (tracemalloc slows Python-heavy code)
        tracemalloc.start()
        decode_time(None, y, folds, Xt=Xt)
        peak_ours = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        tracemalloc.start()
        cross_val_multiscore(est, X, y, cv=folds[:1], n_jobs=1, verbose=False)
        peak_ref = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        tracemalloc.start()
        shared_gram_aucs(Xt, gfolds, L)
        peak_shared = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, ref))
    diff_shared = max(float(np.abs(shared.auc[i] - one_by_one[i]).max()) for i in range(3))
    per_ref = float(np.mean(t_ref))
    print(f"1. one pass: max |AUC ours − AUC MNE| over {len(ref)} passes: {diff:.2e} "
          f"({'identical' if diff <= 1e-6 else 'DIFFERENT'})")
    print(f"   ours : {t_ours:.3f} s per pass (mean of {args.passes}); peak traced memory {peak_ours / 2**20:.0f} MiB")
    print(f"   MNE  : {per_ref:.3f} s per pass (mean of {len(t_ref)}); peak traced memory {peak_ref / 2**20:.0f} MiB "
          f"(one fold)")
    print(f"   speed-up (MNE / ours, per pass): {per_ref / t_ours:.1f}x   [target ≥ 20x]")
    print(f"2. within-subject test, {args.perms} permutations (stimulus labels, grouped folds): {t_shared:.2f} s "
          f"(+ the observed labels); peak traced memory {peak_shared / 2**20:.0f} MiB")
    print(f"   the same decoder one label vector at a time: {t_plain:.3f} s each → {t_plain * (1 + args.perms):.1f} s "
          f"for all; shared vs one-by-one max |ΔAUC| = {diff_shared:.1e}")
    print(f"   MNE would need ~{per_ref * (1 + args.perms):.0f} s (its per-pass time × {1 + args.perms})")
    print(f"   ratio ({args.perms} permutations / one decoding pass of ours): {t_shared / t_ours:.2f}x   "
          f"[target ≤ 3x]")


if __name__ == "__main__":
    main()
