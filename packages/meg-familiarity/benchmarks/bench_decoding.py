"""Time-resolved decoding + within-subject permutation test: batched LDA vs MNE's SlidingEstimator.

Data: one simulated subject (real Neuromag-306 geometry, sphere model): 300 trials × 306 channels ×
200 time points. Both sides use StandardScaler + LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto"), the same 5 stratified shuffled folds and the same permuted labels, with BLAS limited
to one thread (numpy's and scipy's OpenBLAS pools clash on small machines; MNE is fastest so).

The reference runs the real pass plus ``--ref-perms`` permutations; its time for ``1 + --perms`` passes
is extrapolated from its mean time per pass (said in the output). Ours runs every pass. Scores must agree
to 1e-6 on every pass both ran. Run: ``python packages/meg-familiarity/benchmarks/bench_decoding.py``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits


def simulated_subject(n_trials: int = 300, n_times: int = 200, seed: int = 0):
    from meg_familiarity.simulate import SimConfig, simulate_dataset, simulate_epochs

    cfg = SimConfig(n_subjects=1, n_images=100, n_repeats=n_trials // 100, sfreq=400.0, seed=seed)
    sub = simulate_dataset(cfg).subjects[0]
    X, _ = simulate_epochs(sub, tmin=-0.1, tmax=-0.1 + (n_times - 1) / 400.0, trigger_delay=cfg.trigger_delay)
    return X, sub.label


def main() -> None:
    import mne
    from mne.decoding import SlidingEstimator, cross_val_multiscore

    from meg_familiarity.decoding import decode_time, make_estimator, make_folds

    ap = argparse.ArgumentParser()
    ap.add_argument("--perms", type=int, default=20, help="permutations for ours (all measured)")
    ap.add_argument("--ref-perms", type=int, default=1, help="permutations the MNE reference runs")
    ap.add_argument("--extrapolate-to", type=int, default=100, help="permutations for the extrapolated totals")
    args = ap.parse_args()
    mne.set_log_level("ERROR")
    X, y = simulated_subject()
    folds = make_folds(y, 5, 1, seed=0)
    rng = np.random.default_rng(1)
    labels = [y] + [rng.permutation(y) for _ in range(args.perms)]
    print(f"data: {X.shape[0]} trials × {X.shape[1]} channels × {X.shape[2]} times; 5 folds; "
          f"{args.perms} permutations (ours), {args.ref_perms} (MNE)")

    with threadpool_limits(1):
        Xt = np.ascontiguousarray(X.transpose(2, 0, 1))
        t0 = time.perf_counter()
        ours = [decode_time(None, lab, folds, Xt=Xt).auc for lab in labels]
        t_ours = time.perf_counter() - t0
        est = SlidingEstimator(make_estimator("lda"), scoring="roc_auc", n_jobs=1, verbose=False)
        ref, t_ref = [], []
        for lab in labels[: 1 + args.ref_perms]:
            t0 = time.perf_counter()
            ref.append(cross_val_multiscore(est, X, lab, cv=folds, n_jobs=1, verbose=False).mean(0))
            t_ref.append(time.perf_counter() - t0)
        # peak memory apart from the timings (tracemalloc slows Python-heavy code): ours on one pass,
        # MNE on one fold (its folds run one after the other, so one fold holds its peak)
        tracemalloc.start()
        decode_time(X, y, folds)
        peak_ours = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        tracemalloc.start()
        cross_val_multiscore(est, X, y, cv=folds[:1], n_jobs=1, verbose=False)
        peak_ref = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, ref))
    per_ours = t_ours / len(labels)
    per_ref = float(np.mean(t_ref))
    n_tot = 1 + args.extrapolate_to
    same = "identical" if diff <= 1e-6 else "DIFFERENT"
    print(f"max |AUC ours − AUC MNE| over {len(ref)} passes: {diff:.2e} ({same})")
    print(f"ours : {per_ours:.2f} s per pass (measured over {len(labels)} passes, {t_ours:.1f} s); "
          f"peak traced memory {peak_ours / 2**20:.0f} MiB (one pass, input included)")
    print(f"MNE  : {per_ref:.2f} s per pass (measured over {len(t_ref)} passes); peak traced memory "
          f"{peak_ref / 2**20:.0f} MiB (one fold)")
    print(f"real pass + {args.extrapolate_to} permutations: ours {per_ours * n_tot:.0f} s, MNE {per_ref * n_tot:.0f} s "
          f"(extrapolated from its per-pass time)")
    print(f"speed-up (MNE / ours, per pass): {per_ref / per_ours:.1f}x")


if __name__ == "__main__":
    main()
