"""The metric benchmark framework: sweep p̂ from one-hot to uniform, compare each metric to a line.

Sweep (official ``gen_celebA_dataset.py``, mode 2, as described in the paper file): start with all mass
in class 0, then move ``step`` percentage points at a time from class 0 into class 1 until it holds 1/K,
then into class 2, … until the distribution is uniform. Steps: 1 % for K = 2, 4; 0.5 % for 8; 0.25 % for 16.

A metric normalised to 1 at the one-hot and 0 at uniform responds *linearly* when it falls by the same
amount at every step: ideal response ``lin_i = 1 − i/(n − 1)`` over the n distributions (the official
plots draw (n − (i+1))/n, the same line shifted by one step). Reported per metric:

- linearity error  LE = mean_i |f_i − lin_i|  (0 for a linear metric; also the max),
- Δf = mean_i (f_i − f_{i+1}), the average step change (1/(n−1) for every metric that spans [0, 1]), and
  its relative deviation  sd(Δf_i) / mean(Δf_i)  (0 when every step changes the metric equally).
"""

from __future__ import annotations

import numpy as np

from fairgen_metrics.metrics import CLASSIC, PROPOSED, sweep_metrics

PAPER_STEPS = {2: 1.0, 4: 1.0, 8: 0.5, 16: 0.25}  # percentage points per step


def sweep_distributions(k: int, step_pct: float | None = None) -> np.ndarray:
    """(n, K) distributions from one-hot [1, 0, …, 0] to uniform, ``step_pct`` points at a time.

    Exact in integer units of the step (no float drift); ``100/K`` must be a multiple of the step.
    """
    k = int(k)
    step = PAPER_STEPS.get(k, 1.0) if step_pct is None else float(step_pct)
    units_total = 100.0 / step
    target = units_total / k
    if abs(units_total - round(units_total)) > 1e-9 or abs(target - round(target)) > 1e-9:
        raise ValueError(f"step {step}% does not divide 100/K = {100 / k}% into whole steps")
    total, target = round(units_total), round(target)
    cur = np.zeros(k, dtype=np.int64)
    cur[0] = total
    rows = [cur.copy()]
    for j in range(1, k):
        while cur[j] < target:
            cur[0] -= 1
            cur[j] += 1
            rows.append(cur.copy())
    return np.array(rows, dtype=np.float64) / total


def linearity(values: np.ndarray) -> dict[str, float]:
    """LE (mean and max |f − line|), Δf and the relative deviation of the step changes."""
    f = np.asarray(values, dtype=np.float64)
    n = f.size
    line = 1.0 - np.arange(n) / (n - 1)
    dev = np.abs(f - line)
    steps = f[:-1] - f[1:]
    mean_step = float(steps.mean())
    return {"linearity_error": float(dev.mean()), "max_linearity_error": float(dev.max()),
            "delta_f": mean_step, "delta_f_ideal": 1.0 / (n - 1),
            "step_rel_sd": float(steps.std() / mean_step) if mean_step > 0 else float("nan"),
            "monotone": bool(np.all(steps >= -1e-12)), "start": float(f[0]), "end": float(f[-1])}


def run_sweep(cardinalities=(2, 4, 8, 16), steps: dict[int, float] | None = None, *,
              hamming: bool = True) -> dict[str, dict]:
    """For each K: the sweep, every normalised metric along it and its linearity summary."""
    out = {}
    for k in cardinalities:
        d = sweep_distributions(k, (steps or {}).get(k))
        vals = sweep_metrics(d, hamming=hamming)
        out[str(k)] = {"k": int(k), "n": int(d.shape[0]), "step_pct": (steps or PAPER_STEPS).get(k, PAPER_STEPS.get(k)),
                       "values": {m: v.tolist() for m, v in vals.items()},
                       "linearity": {m: linearity(v) for m, v in vals.items()}}
    return out


def classic_vs_proposed(sweep: dict[str, dict], classic=CLASSIC, proposed=PROPOSED) -> dict[str, list[float]]:
    """Per K: mean LE of the classic metrics, of the proposed ones, and the effect classic − proposed."""
    ks, c, p = [], [], []
    for key, rec in sweep.items():
        le = rec["linearity"]
        ks.append(int(key))
        c.append(float(np.mean([le[m]["linearity_error"] for m in classic])))
        p.append(float(np.mean([le[m]["linearity_error"] for m in proposed])))
    return {"k": ks, "classic_le": c, "proposed_le": p, "effect": [a - b for a, b in zip(c, p)]}


def cardinality_spread(sweep: dict[str, dict]) -> dict[str, float]:
    """Per metric: max − min of its linearity error over K (how inconsistent it is across cardinalities)."""
    metrics = set.intersection(*(set(r["linearity"]) for r in sweep.values()))
    return {m: float(np.ptp([r["linearity"][m]["linearity_error"] for r in sweep.values()])) for m in sorted(metrics)}
