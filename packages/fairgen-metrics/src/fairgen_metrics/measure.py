"""The ``measure`` command's work: a user's labels / probabilities / counts / images → p̂, every metric,
CIs over S batches, and (given the classifier's accuracies or confusion matrix) the corrected p̂ with its CI.

Every check on the user's input lives in :func:`load_inputs` / :func:`parse_reference` /
:func:`resolve_confusion`, which raise :class:`reprokit.UsageError` (exit 2) before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fairgen_metrics import correction as cc
from fairgen_metrics.metrics import all_metrics
from reprokit import UsageError, load_array


def parse_floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(v) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise UsageError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not vals or any(not np.isfinite(v) for v in vals):
        raise UsageError(f"{what}: expected finite comma-separated numbers, got {text!r}")
    return vals


def labels_from_array(arr: np.ndarray, k: int, src: str) -> tuple[np.ndarray, str]:
    """Class ids (n,) or an (n, K) probability matrix → hard labels; refuses anything malformed."""
    a = np.asarray(arr)
    if a.dtype == bool:
        a = a.astype(np.int64)
    if not np.all(np.isfinite(a)):
        raise UsageError(f"{src}: contains NaN or infinite values")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 2:
        if a.shape[1] != k:
            raise UsageError(f"{src}: a probability matrix with {a.shape[1]} columns, but --num-classes is {k}")
        if np.any(a < 0) or np.any(a > 1):
            raise UsageError(f"{src}: probabilities must lie in [0, 1]")
        sums = a.sum(1)
        bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
        if bad.size:
            raise UsageError(f"{src}: probabilities of row {int(bad[0])} sum to {sums[bad[0]]:.4g}, not 1 "
                             f"({bad.size} such rows); give normalised probabilities or class ids")
        return a.argmax(1).astype(np.int64), "probabilities (hard labels = argmax)"
    if np.any(a != np.round(a)):
        raise UsageError(f"{src}: class ids must be whole numbers (or give an (n, K) probability matrix)")
    a = a.astype(np.int64)
    if a.min() < 0:
        raise UsageError(f"{src}: negative class id {int(a.min())}; ids must lie in [0, {k})")
    if a.max() >= k:
        raise UsageError(f"{src}: class id {int(a.max())} outside [0, {k}) (--num-classes {k})")
    return a, "class ids"


def labels_from_counts(text: str, k: int) -> np.ndarray:
    vals = parse_floats(text, "--counts")
    if len(vals) != k:
        raise UsageError(f"--counts: {len(vals)} counts, but --num-classes is {k}")
    if any(v < 0 for v in vals):
        raise UsageError(f"--counts: negative count {min(vals):g}; counts must be ≥ 0")
    if any(v != round(v) for v in vals):
        raise UsageError("--counts: counts must be whole numbers")
    if sum(vals) == 0:
        raise UsageError("--counts: all counts are zero")
    return np.repeat(np.arange(k), [int(v) for v in vals])


def parse_reference(text: str | None, k: int) -> np.ndarray | None:
    """``uniform`` (None) or ``p1,…,pK`` (non-negative, summing to 1)."""
    if text is None or text == "uniform":
        return None
    r = np.array(parse_floats(text, "--reference"))
    if r.size != k:
        raise UsageError(f"--reference: {r.size} shares, but --num-classes is {k}")
    if np.any(r < 0) or abs(r.sum() - 1) > 1e-6:
        raise UsageError(f"--reference: shares must be ≥ 0 and sum to 1 (sum {r.sum():.6g})")
    return r


def resolve_confusion(k: int, accuracy: str | None, confusion: Path | None,
                      stored: list | None = None) -> tuple[np.ndarray | None, str]:
    """The confusion matrix for the correction: from --classifier-accuracy, --confusion or the classifier
    checkpoint's held-out estimate (in that order); None when none is given."""
    if accuracy is not None and confusion is not None:
        raise UsageError("give either --classifier-accuracy or --confusion, not both")
    if accuracy is not None:
        acc = parse_floats(accuracy, "--classifier-accuracy")
        if len(acc) != k:
            raise UsageError(f"--classifier-accuracy: {len(acc)} accuracies, but there are {k} classes")
        if any(a < 0 or a > 1 for a in acc):
            raise UsageError("--classifier-accuracy: accuracies must lie in [0, 1]")
        src = "per-class accuracies" + (" (errors spread evenly)" if k > 2 else "")
        c = cc.confusion_from_accuracies(acc)
    elif confusion is not None:
        m = load_array(confusion, ndim=(2,))
        if m.shape != (k, k):
            raise UsageError(f"{confusion}: a {m.shape[0]}×{m.shape[1]} confusion matrix, but there are {k} classes")
        c, src = m.astype(np.float64), f"confusion matrix {Path(confusion).name}"
    elif stored is not None:
        c, src = np.asarray(stored, dtype=np.float64), "the classifier checkpoint's held-out confusion matrix"
    else:
        return None, "none"
    try:
        c = cc.check_confusion(c, k, tol=1e-3)
    except ValueError as e:
        raise UsageError(f"{src}: {e}") from None
    return c / c.sum(1, keepdims=True), src


def make_batches(labels: np.ndarray, batches: int, mode: str, batch_size: int | None,
                 rng: np.random.Generator) -> np.ndarray:
    """(S, N) labels: ``split`` shuffles and cuts n into S disjoint batches of ⌊n/S⌋ (a valid CI for the
    mean); ``resample`` draws S × N with replacement (the official CLEAM.py, N = batch_size or n/S)."""
    n = labels.size
    if mode == "resample":
        return cc.resample_batches(labels, batches, int(batch_size or max(1, n // batches)), rng)
    per = n // batches
    if per < 1:
        raise UsageError(f"{n} samples cannot fill {batches} batches; lower --batches")
    return rng.permutation(labels)[: per * batches].reshape(batches, per)


def metric_cis(props: np.ndarray, ref: np.ndarray | None, ground: str, rng: np.random.Generator,
               boot: int = 1000, conf: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """95% percentile CI of each metric of the pooled p̂ (mean of the S batches), by resampling the
    batches with replacement; with ``conf`` the metric of the corrected, simplex-projected p̂.

    (The mean of per-batch metric values would be biased for non-linear metrics such as KL, whose value
    on a small batch overstates unfairness.)
    """
    s = props.shape[0]
    pooled = props[rng.integers(0, s, size=(boot, s))].mean(1)
    if conf is not None:
        pooled = np.clip(cc.correct(pooled, conf), 0, None)
        pooled = pooled / pooled.sum(1, keepdims=True)
    per = [all_metrics(p, ref, ground=ground) for p in pooled]
    return {m: {"low": float(np.percentile([r[m] for r in per], 2.5)),
                "high": float(np.percentile([r[m] for r in per], 97.5))} for m in per[0]}


def measure(labels: np.ndarray, k: int, ref: np.ndarray | None, conf: np.ndarray | None, batches: int,
            mode: str, batch_size: int | None, ground: str, seed: int, boot: int = 1000) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    p_hat = np.bincount(labels, minlength=k) / labels.size
    b = make_batches(labels, batches, mode, batch_size, rng)
    props = cc.batch_proportions(b, k)
    r = cc.cleam(props, conf)
    out: dict[str, Any] = {
        "n": int(labels.size), "num_classes": k, "counts": np.bincount(labels, minlength=k).tolist(),
        "p_hat": p_hat.tolist(), "p_hat_batch_mean": r["p_hat"], "p_hat_low": r["p_hat_low"],
        "p_hat_high": r["p_hat_high"],
        "reference": "uniform" if ref is None else ref.tolist(), "batches": batches, "batching": mode,
        "batch_size": int(b.shape[1]), "ground_metric": ground,
        "metrics": all_metrics(p_hat, ref, ground=ground), "metrics_ci": metric_cis(props, ref, ground, rng, boot)}
    if conf is not None:
        corrected_all = cc.correct(p_hat, conf)
        proj = np.clip(corrected_all, 0, None)
        proj = proj / proj.sum()
        out.update({"confusion": conf.tolist(), "corrected": corrected_all.tolist(),
                    "corrected_projected": proj.tolist(),
                    "corrected_low": r["corrected_low"], "corrected_high": r["corrected_high"],
                    "corrected_metrics": all_metrics(proj, ref, ground=ground),
                    "corrected_metrics_ci": metric_cis(props, ref, ground, rng, boot, conf)})
    return out


def table(res: dict[str, Any]) -> str:
    """Markdown: per class p̂ (CI) and corrected (CI); per metric value (CI) and corrected value (CI)."""
    k = res["num_classes"]
    corr = "corrected" in res
    lines = ["| class | count | p̂ | 95% CI |" + (" corrected | 95% CI |" if corr else ""),
             "|---|---|---|---|" + ("---|---|" if corr else "")]
    for i in range(k):
        row = (f"| {i} | {res['counts'][i]} | {res['p_hat'][i]:.4f} | "
               f"{res['p_hat_low'][i]:.4f}…{res['p_hat_high'][i]:.4f} |")
        if corr:
            row += f" {res['corrected'][i]:.4f} | {res['corrected_low'][i]:.4f}…{res['corrected_high'][i]:.4f} |"
        lines.append(row)
    lines += ["", "| metric | value | 95% CI |" + (" corrected | 95% CI |" if corr else ""),
              "|---|---|---|" + ("---|---|" if corr else "")]
    for m, v in res["metrics"].items():
        ci = res["metrics_ci"][m]
        row = f"| {m} | {v:.4f} | {ci['low']:.4f}…{ci['high']:.4f} |"
        if corr:
            c, cci = res["corrected_metrics"][m], res["corrected_metrics_ci"][m]
            row += f" {c:.4f} | {cci['low']:.4f}…{cci['high']:.4f} |"
        lines.append(row)
    return "\n".join(lines)
