"""The paper's experiments as functions: config in, results dict (+ figures) out.

- :func:`train_teacher_cell` / :func:`train_student_cell`: one teacher (α) or one student (α, T, seed),
  saved as a self-describing checkpoint with its accuracy and diffusion numbers; an existing cell is
  loaded, not retrained (this is what makes ``--resume`` skip finished work).
- :func:`run_grid`: the α × T grid over seeds; each teacher is trained once and reused by all its T.
- :func:`grid_claims`: the three claims of the issue, with verdicts computed from the grid's numbers.
- :func:`draw_figures`: the projection figure, accuracy vs T, diffusion vs T.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lskd.data import LoadedData
from lskd.evaluate import accuracy, class_features, diffusion_index, model_projection, relative_spread
from lskd.models import Classifier, build_model
from lskd.train import compute_logits, train_student, train_teacher
from reprokit import Claim, UsageError, load_checkpoint, save_checkpoint, verdict_from_test
from reprokit.distributed import barrier, is_main_process

log = logging.getLogger("lskd")

# The paper's Table (ImageNet ResNet-50 → ResNet-18; CUB ResNet-50 → ResNet-18), top-1 %.
PAPER_IMAGENET = {0.0: {1: 71.49, 2: 71.36, 3: 69.67, 64: 66.19}, 0.1: {1: 71.67, 2: 68.86, 3: 67.75, 64: 64.36}}
PAPER_CUB = {0.0: {1: 80.17, 64: 73.61}, 0.1: {1: 80.95, 64: 67.16}}


def cell_name(kind: str, alpha: float, seed: int, temperature: float | None = None) -> str:
    t = "" if temperature is None else f"_T{temperature:g}"
    return f"{kind}_a{alpha:g}{t}_s{seed}"


def check_classes(classes: list[int], num_classes: int) -> list[int]:
    classes = [int(c) for c in classes]
    if len(classes) != 3 or len(set(classes)) != 3 or not all(0 <= c < num_classes for c in classes):
        raise UsageError(f"diffusion.classes must be 3 distinct class ids in [0, {num_classes}) "
                         f"(two similar, one dissimilar), got {classes}")
    return classes


def analyse(model: Classifier, data: LoadedData, classes: list[int], device: torch.device,
            max_per_class: int) -> dict[str, Any]:
    """Projection of the three classes' test features and the two indices (see evaluate.py)."""
    feats, labels = class_features(model, data.test, classes, device, max_per_class)
    pts = model_projection(model, feats, classes)
    return {"diffusion": diffusion_index(pts, labels, classes[0], classes[1]),
            "spread": relative_spread(pts, labels), "proj": pts.astype(np.float32), "proj_labels": labels}


def _model_record(kind: str, model_name: str, data: LoadedData, model: Classifier, **meta: Any) -> dict[str, Any]:
    return {"kind": kind, "model": model_name, "num_classes": data.num_classes, "in_channels": data.in_channels,
            "dataset": data.name, "state_dict": model.state_dict(), **meta}


def load_model_checkpoint(path: str | Path, data: LoadedData | None = None, kind: str | None = None
                          ) -> tuple[Classifier, dict[str, Any]]:
    """Rebuild a model saved by this package; refuse one whose classes/channels do not match ``data``."""
    rec = load_checkpoint(path)
    if not isinstance(rec, dict) or "state_dict" not in rec or "model" not in rec:
        raise UsageError(f"{path} is not an lskd model checkpoint (no 'model'/'state_dict')")
    if kind is not None and rec.get("kind") != kind:
        raise UsageError(f"{path} holds a {rec.get('kind')!r} checkpoint, expected a {kind}")
    if data is not None and (rec["num_classes"] != data.num_classes or rec["in_channels"] != data.in_channels):
        raise UsageError(f"{path}: the checkpoint's model has {rec['num_classes']} classes and {rec['in_channels']} "
                         f"input channels, but dataset {data.name!r} has {data.num_classes} classes and "
                         f"{data.in_channels} channels; train a teacher on this dataset first")
    model = build_model(rec["model"], rec["num_classes"], rec["in_channels"])
    model.load_state_dict(rec["state_dict"])
    return model, rec


def _save_cell(path: Path, record: dict[str, Any], partial: Path) -> None:
    if is_main_process():
        save_checkpoint(path, record)
        partial.unlink(missing_ok=True)
    barrier()


def train_teacher_cell(cfg: dict[str, Any], data: LoadedData, alpha: float, seed: int, ckpt_dir: Path,
                       device: torch.device, quiet: bool = True, log_fn=None) -> tuple[Classifier, dict[str, Any]]:
    """Train (or load, when its checkpoint exists) the teacher with LS factor α and seed."""
    path = ckpt_dir / f"{cell_name('teacher', alpha, seed)}.pt"
    if path.is_file():
        log.info("teacher α=%g seed %d: loaded from %s", alpha, seed, path)
        return load_model_checkpoint(path, data, "teacher")
    tcfg = {**cfg["teacher"], "batch_size": cfg["data"]["batch_size"], "num_workers": cfg["data"]["num_workers"]}
    torch.manual_seed(seed)
    model = build_model(tcfg["model"], data.num_classes, data.in_channels)
    partial = path.with_suffix(".partial.pt")
    res = train_teacher(model, data.train, alpha, tcfg, device, seed=seed, ckpt_path=partial, quiet=quiet, log=log_fn)
    acc = accuracy(model, data.test, device)
    rec = _model_record("teacher", tcfg["model"], data, model, alpha=alpha, seed=seed, acc=acc, train=res,
                        **analyse(model, data, cfg["_classes"], device, cfg["diffusion"]["max_per_class"]))
    log.info("teacher α=%g seed %d: top-1 %.2f%% (%.1f s)", alpha, seed, acc, res["train_time_s"])
    _save_cell(path, rec, partial)
    return model, rec


def train_student_cell(cfg: dict[str, Any], data: LoadedData, alpha: float, temperature: float, seed: int,
                       ckpt_dir: Path, device: torch.device, *, teacher: Classifier | None = None,
                       cached_logits: torch.Tensor | None = None, quiet: bool = True, log_fn=None) -> dict[str, Any]:
    """Distil (or load) the student of the α-teacher at temperature T; same initial weights for every (α, T)."""
    path = ckpt_dir / f"{cell_name('student', alpha, seed, temperature)}.pt"
    if path.is_file():
        log.info("student α=%g T=%g seed %d: loaded", alpha, temperature, seed)
        return load_model_checkpoint(path, data, "student")[1]
    scfg = {**cfg["student"], "batch_size": cfg["data"]["batch_size"], "num_workers": cfg["data"]["num_workers"]}
    torch.manual_seed(seed + 10_000)
    model = build_model(scfg["model"], data.num_classes, data.in_channels)
    partial = path.with_suffix(".partial.pt")
    res = train_student(model, data.train, temperature, scfg, device, teacher=teacher, cached_logits=cached_logits,
                        seed=seed, ckpt_path=partial, quiet=quiet, log=log_fn)
    acc = accuracy(model, data.test, device)
    rec = _model_record("student", scfg["model"], data, model, alpha=alpha, temperature=temperature, seed=seed,
                        acc=acc, train=res, kd=scfg.get("kd", "pure"),
                        **analyse(model, data, cfg["_classes"], device, cfg["diffusion"]["max_per_class"]))
    log.info("student α=%g T=%g seed %d: top-1 %.2f%%, diffusion %.3f (%.1f s)", alpha, temperature, seed, acc,
             rec["diffusion"], res["train_time_s"])
    _save_cell(path, rec, partial)
    return rec


def _strip(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "state_dict"}


def run_grid(cfg: dict[str, Any], data: LoadedData, ckpt_dir: Path, device: torch.device, seed: int,
             quiet: bool = True, log_fn=None) -> dict[str, Any]:
    """The α × T grid over ``grid.n_seeds`` seeds (seed, seed+1, ...). Returns teacher and student records
    (without weights). Offline KD (cached teacher logits) is used when ``grid.offline_kd`` and the
    training inputs are not augmented (otherwise the cache would be wrong)."""
    g = cfg["grid"]
    cfg = {**cfg, "_classes": check_classes(cfg["diffusion"]["classes"], data.num_classes)}
    offline = bool(g.get("offline_kd", True)) and not cfg["data"].get("augment", False)
    teachers, students = [], []
    for s in range(seed, seed + int(g["n_seeds"])):
        for alpha in [float(a) for a in g["alphas"]]:
            teacher, trec = train_teacher_cell(cfg, data, alpha, s, ckpt_dir, device, quiet, log_fn)
            teachers.append(_strip(trec))
            todo = [float(T) for T in g["temperatures"]
                    if not (ckpt_dir / f"{cell_name('student', alpha, s, float(T))}.pt").is_file()]
            cached = compute_logits(teacher, data.train, device) if (offline and todo) else None
            for T in [float(t) for t in g["temperatures"]]:
                rec = train_student_cell(cfg, data, alpha, T, s, ckpt_dir, device,
                                         teacher=None if cached is not None else teacher, cached_logits=cached,
                                         quiet=quiet, log_fn=log_fn)
                students.append(_strip(rec))
    return {"teachers": teachers, "students": students, "offline_kd": offline, "classes": cfg["_classes"]}


# ------------------------------------------------------------------------------------------ tables
def _acc_table(students: list[dict]) -> dict[float, dict[float, list[float]]]:
    table: dict[float, dict[float, list[float]]] = {}
    for r in students:
        table.setdefault(r["alpha"], {}).setdefault(r["temperature"], []).append(r["acc"])
    return table


def _by(records: list[dict], key: str, **match: Any) -> dict[int, float]:
    return {r["seed"]: r[key] for r in records if all(r.get(k) == v for k, v in match.items())}


def accuracy_table_md(res: dict[str, Any]) -> str:
    """Student top-1 (mean ± std over seeds) for every α × T, and the teachers."""
    table = _acc_table(res["students"])
    temps = sorted({t for row in table.values() for t in row})
    lines = ["| teacher α | teacher top-1 | " + " | ".join(f"T={t:g}" for t in temps) + " |",
             "|---|---|" + "---|" * len(temps)]
    for alpha in sorted(table):
        tacc = [r["acc"] for r in res["teachers"] if r["alpha"] == alpha]
        cells = [_ms(table[alpha].get(t, [])) for t in temps]
        lines.append(f"| {alpha:g} | {_ms(tacc)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ms(v: list[float]) -> str:
    if not v:
        return "-"
    return f"{np.mean(v):.2f}" + (f" ± {np.std(v, ddof=1):.2f}" if len(v) > 1 else "")


def paper_table_md(res: dict[str, Any]) -> str:
    """The paper's ImageNet and CUB rows beside this run's (same α, the closest T we ran)."""
    table = _acc_table(res["students"])
    temps = sorted({t for row in table.values() for t in row})
    lines = ["| setting | α | T=1 | T=2 | T=3 | T=64 | drop T1→T64 |", "|---|---|---|---|---|---|---|"]
    for name, paper in (("ImageNet R50→R18 (paper)", PAPER_IMAGENET), ("CUB R50→R18 (paper)", PAPER_CUB)):
        for alpha, row in paper.items():
            cells = [f"{row[t]:.2f}" if t in row else "-" for t in (1, 2, 3, 64)]
            lines.append(f"| {name} | {alpha:g} | " + " | ".join(cells) + f" | {row[1] - row[64]:.2f} |")
    for alpha in sorted(table):
        cells = {t: np.mean(v) for t, v in table[alpha].items()}
        shown = " | ".join(f"{cells[t]:.2f} (T={t:g})" if t in cells else "-" for t in temps[:4])
        pad = " | -" * (4 - min(4, len(temps)))
        lines.append(f"| this run (mean of seeds) | {alpha:g} | {shown}{pad} | "
                     f"{cells[temps[0]] - cells[temps[-1]]:.2f} (T={temps[0]:g}→{temps[-1]:g}) |")
    return "\n".join(lines)


def diffusion_table_md(res: dict[str, Any], class_names: list[str]) -> str:
    """Diffusion index D of the two similar classes for teachers and students (mean over seeds), and the
    teachers' relative spread S (information erasure = 1 − S_LS / S_plain)."""
    st, te = res["students"], res["teachers"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    head = f"Classes: {class_names[0]} ~ {class_names[1]} (similar) vs {class_names[2]}.\n\n"
    lines = ["| teacher α | teacher D | teacher spread S | " + " | ".join(f"student D, T={t:g}" for t in temps) + " |",
             "|---|---|---|" + "---|" * len(temps)]
    for a in alphas:
        td = [r["diffusion"] for r in te if r["alpha"] == a]
        ts = [r["spread"] for r in te if r["alpha"] == a]
        cells = [f"{np.mean([r['diffusion'] for r in st if r['alpha'] == a and r['temperature'] == t]):.3f}"
                 for t in temps]
        lines.append(f"| {a:g} | {np.mean(td):.3f} | {np.mean(ts):.3f} | " + " | ".join(cells) + " |")
    foot = ("\n\nD = ½(σ_a + σ_b)/‖μ_a − μ_b‖ on the 3-class projection (larger: the two similar classes spread "
            "toward each other); S = mean within-class RMS radius / mean centroid distance (smaller: tighter, "
            "more information erased).")
    return head + "\n".join(lines) + foot


# ------------------------------------------------------------------------------------------ claims
def _sign_rule(effects: list[float], min_effect: float = 0.0) -> bool | None:
    """Decided only with ≥ 2 seeds that agree in sign and a mean effect of at least ``min_effect``:
    all > 0 → holds, all < 0 → fails; mixed signs or a smaller mean → undecided (None)."""
    if len(effects) < 2 or abs(float(np.mean(effects))) < min_effect:
        return None
    if all(e > 0 for e in effects):
        return True
    if all(e < 0 for e in effects):
        return False
    return None


def grid_claims(res: dict[str, Any], tie_tolerance: float, min_acc_effect: float = 0.0,
                min_diffusion_effect: float = 0.0) -> tuple[list[Claim], dict[str, Any]]:
    """Claims C1–C3 from the grid's numbers. Low/high T are the smallest/largest T run, 'LS' the largest α,
    'plain' α = 0. C1/C3 also need a mean effect of at least ``min_acc_effect`` points /
    ``min_diffusion_effect`` (D units) to be decided. Returns the claims and the metrics behind them."""
    st, te = res["students"], res["teachers"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    a0, a1, t_lo, t_hi = alphas[0], alphas[-1], temps[0], temps[-1]
    seeds = sorted({r["seed"] for r in st})

    def per_seed(key: str, alpha: float, t: float) -> dict[int, float]:
        return _by(st, key, alpha=alpha, temperature=t)

    acc = {(a, t): per_seed("acc", a, t) for a in alphas for t in temps}
    dif = {(a, t): per_seed("diffusion", a, t) for a in alphas for t in temps}
    drop = {a: [acc[(a, t_lo)][s] - acc[(a, t_hi)][s] for s in seeds] for a in (a0, a1)}
    c1_eff = [x - y for x, y in zip(drop[a1], drop[a0])]
    grow = {a: [dif[(a, t_hi)][s] - dif[(a, t_lo)][s] for s in seeds] for a in (a0, a1)}
    c3_eff = [x - y for x, y in zip(grow[a1], grow[a0])]
    mean_acc = {(a, t): float(np.mean(list(v.values()))) for (a, t), v in acc.items()}
    best_other = max(v for k, v in mean_acc.items() if k != (a1, t_lo))
    c2_margin = mean_acc[(a1, t_lo)] - best_other
    c2 = None if len(seeds) < 2 else c2_margin >= -tie_tolerance
    spread = {a: float(np.mean(list(_by(te, "spread", alpha=a).values()))) for a in (a0, a1)}
    erasure = 1.0 - spread[a1] / spread[a0] if a1 != a0 else float("nan")
    rule = "decided only when all seeds agree in sign (≥ 2 seeds) and |mean effect| ≥ {}; otherwise inconclusive"
    lbl = f"α={a1:g} vs α={a0:g}, T={t_lo:g}→{t_hi:g}"
    claims = [
        Claim(id="C1", statement="With an LS teacher, student accuracy falls more from low to high T than with a "
              "non-LS teacher", paper="ImageNet: drop T1→T64 7.31 (α=0.1) vs 5.30 (α=0); CUB: 13.79 vs 6.56",
              verdict=verdict_from_test(_sign_rule(c1_eff, min_acc_effect)),
              evidence={"drop_ls_per_seed": drop[a1], "drop_plain_per_seed": drop[a0],
                        "effect_per_seed": c1_eff, "mean_effect": float(np.mean(c1_eff)),
                        "min_effect": min_acc_effect, "n_seeds": len(seeds)},
              ours=f"drop {np.mean(drop[a1]):.2f} (LS) vs {np.mean(drop[a0]):.2f} (plain) pts, {lbl}",
              note=f"effect = drop_LS − drop_plain (points); {rule.format(min_acc_effect)}"),
        Claim(id="C2", statement="LS teacher + low T gives the best or tied-best student",
              paper="ImageNet: α=0.1, T=1 71.67 best; CUB: α=0.1, T=1 80.95 best",
              verdict=verdict_from_test(c2),
              evidence={"ls_low_T_acc": mean_acc[(a1, t_lo)], "best_other_acc": best_other, "margin": c2_margin,
                        "tie_tolerance": tie_tolerance, "n_seeds": len(seeds)},
              ours=f"{mean_acc[(a1, t_lo)]:.2f} vs best other {best_other:.2f} (margin {c2_margin:+.2f} pts)",
              note=f"tied = within {tie_tolerance} points of the best other cell (mean over seeds); needs ≥ 2 seeds"),
        Claim(id="C3", statement="The diffusion index of students of an LS teacher grows with T more than with a "
              "non-LS teacher", paper="Fig. 1/4: LS-teacher students diffuse toward the similar class at high T",
              verdict=verdict_from_test(_sign_rule(c3_eff, min_diffusion_effect)),
              evidence={"growth_ls_per_seed": grow[a1], "growth_plain_per_seed": grow[a0],
                        "effect_per_seed": c3_eff, "mean_effect": float(np.mean(c3_eff)),
                        "min_effect": min_diffusion_effect, "teacher_erasure": erasure, "n_seeds": len(seeds)},
              ours=f"diffusion growth {np.mean(grow[a1]):+.3f} (LS) vs {np.mean(grow[a0]):+.3f} (plain), {lbl}",
              note=f"effect = growth_LS − growth_plain of D (evaluate.diffusion_index); "
              f"{rule.format(min_diffusion_effect)}"),
    ]
    metrics = {f"student_acc_a{a:g}_T{t:g}": v for (a, t), v in mean_acc.items()}
    metrics.update({f"diffusion_a{a:g}_T{t:g}": float(np.mean(list(v.values()))) for (a, t), v in dif.items()})
    metrics.update({f"teacher_acc_a{a:g}": float(np.mean(list(_by(te, "acc", alpha=a).values()))) for a in alphas})
    metrics.update({f"teacher_spread_a{a:g}": spread[a] for a in (a0, a1)})
    metrics["teacher_info_erasure"] = erasure
    metrics["n_seeds"] = len(seeds)
    return claims, metrics


# ----------------------------------------------------------------------------------------- figures
def draw_figures(res: dict[str, Any], out_dir: Path, class_names: list[str]) -> list[Path]:
    """projection.png (teacher and students at low/high T, per α, first seed), accuracy_vs_T.png,
    diffusion_vs_T.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lskd.evaluate import pca_2d

    st, te = res["students"], res["teachers"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    seed0 = min(r["seed"] for r in st)
    classes = res["classes"]
    names = [class_names[c] if c < len(class_names) else str(c) for c in classes]
    paths = []

    fig, axes = plt.subplots(len(alphas), 3, figsize=(11, 3.5 * len(alphas)), squeeze=False)
    for i, a in enumerate(alphas):
        panels = [("teacher", next(r for r in te if r["alpha"] == a and r["seed"] == seed0))]
        for t in (temps[0], temps[-1]):
            panels.append((f"student T={t:g}", next(r for r in st if r["alpha"] == a and r["temperature"] == t
                                                    and r["seed"] == seed0)))
        for j, (title, r) in enumerate(panels):
            ax, xy = axes[i, j], pca_2d(np.asarray(r["proj"], dtype=np.float64))
            for c, name in zip(classes, names):
                m = np.asarray(r["proj_labels"]) == c
                ax.scatter(xy[m, 0], xy[m, 1], s=5, alpha=0.6, label=name)
            ax.set_title(f"α={a:g} {title}: acc {r['acc']:.1f}%, D={r['diffusion']:.2f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, markerscale=2)
    fig.suptitle("Penultimate features projected on the final layer's rows for 3 classes (2-D PCA)")
    fig.tight_layout()
    paths.append(out_dir / "projection.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    for key, ylabel, fname in (("acc", "student top-1 (%)", "accuracy_vs_T.png"),
                               ("diffusion", "diffusion index D", "diffusion_vs_T.png")):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for a in alphas:
            vals = [[r[key] for r in st if r["alpha"] == a and r["temperature"] == t] for t in temps]
            ax.errorbar(temps, [np.mean(v) for v in vals], yerr=[np.std(v) for v in vals], marker="o",
                        capsize=3, label=f"teacher α={a:g}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("temperature T")
        ax.set_ylabel(ylabel)
        ax.legend()
        fig.tight_layout()
        paths.append(out_dir / fname)
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
