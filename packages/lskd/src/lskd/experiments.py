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

from lskd.data import LoadedData, in_memory
from lskd.evaluate import (
    _targets,
    accuracy,
    class_features,
    diffusion_index,
    directional_diffusion,
    isotropic_control,
    logit_erasure,
    model_projection,
    per_class_accuracy,
)
from lskd.models import Classifier, build_model
from lskd.train import compute_logits, train_student, train_teacher
from reprokit import Claim, UsageError, load_checkpoint, paired_t_ci, save_checkpoint, verdict_from_ci
from reprokit.distributed import barrier, is_main_process
from reprokit.report import ci_outcome

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
            max_per_class: int, train_per_class: int = 0) -> dict[str, Any]:
    """Projection of the three classes' test features (the same fixed test items for every model) and the
    directional diffusion of the two similar classes, with the dissimilar class and an isotropic stand-in
    as controls (see evaluate.py); ``axis_spread_D`` is the older, symmetric index, kept for comparison."""
    feats, labels = class_features(model, data.test, classes, device, max_per_class)
    pts = model_projection(model, feats, classes)
    a, b, c = classes
    dd = directional_diffusion(pts, labels, a, b, c)
    out = {"diffusion": dd["index"], "toward_similar": dd["toward_similar"],
           "toward_dissimilar": dd["toward_dissimilar"], "iso_control": isotropic_control(pts, labels, a, b, c),
           "axis_spread_D": diffusion_index(pts, labels, a, b),
           "proj": pts.astype(np.float32), "proj_labels": labels}
    if train_per_class:  # the official figure's PCA is fitted on training items (evaluate.official_pca)
        tf, tl = class_features(model, data.train, classes, device, train_per_class)
        out |= {"proj_train": model_projection(model, tf, classes).astype(np.float32), "proj_train_labels": tl}
    return out


def _part_cfg(cfg: dict[str, Any], part: str) -> dict[str, Any]:
    """The teacher/student training config with the data loader's settings; ``data.global_batch`` (the
    official runs: 2048 = 8 GPUs × 256, lr not rescaled) is split over the torchrun ranks."""
    from reprokit.distributed import get_info

    d = cfg["data"]
    bs = d["batch_size"]
    if d.get("global_batch"):
        bs = max(1, int(d["global_batch"]) // get_info().world_size)
    return {**cfg[part], "batch_size": bs, "num_workers": d["num_workers"]}


def _build(cfg: dict[str, Any], part: str, data: LoadedData) -> Classifier:
    from lskd.models import load_backbone_weights

    model = build_model(cfg[part]["model"], data.num_classes, data.in_channels, data.image_hw)
    if cfg[part].get("pretrained"):
        n = load_backbone_weights(model, cfg[part]["pretrained"])
        log.info("%s: %d tensors from %s", part, n, cfg[part]["pretrained"])
    return model


def _epoch_eval(cfg: dict[str, Any], data: LoadedData, device: torch.device, test_tensors):
    """Test top-1 after every epoch when ``eval_each_epoch`` (best- and final-epoch top-1 both reported)."""
    if not cfg.get("eval_each_epoch"):
        return None
    return lambda model: accuracy(model, data.test, device, tensors=test_tensors)


def _best(res: dict[str, Any]) -> dict[str, Any]:
    accs = res.get("acc_per_epoch") or []
    return {"acc_best_epoch": max(accs), "best_epoch": int(np.argmax(accs)) + 1} if accs else {}


def _endpoint_classes(cfg: dict[str, Any], data: LoadedData) -> list[int]:
    """The similar classes whose accuracy is reported beside the overall one (claims.endpoint_classes)."""
    classes = cfg.get("claims", {}).get("endpoint_classes") or cfg["_classes"][:2]
    return [int(c) for c in classes if 0 <= int(c) < data.num_classes]


def _model_record(kind: str, model_name: str, data: LoadedData, model: Classifier, **meta: Any) -> dict[str, Any]:
    return {"kind": kind, "model": model_name, "num_classes": data.num_classes, "in_channels": data.in_channels,
            "input_hw": data.image_hw, "dataset": data.name, "state_dict": model.state_dict(), **meta}


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
    model = build_model(rec["model"], rec["num_classes"], rec["in_channels"], rec.get("input_hw", 28))
    model.load_state_dict(rec["state_dict"])
    return model, rec


def _save_cell(path: Path, record: dict[str, Any], partial: Path) -> None:
    if is_main_process():
        save_checkpoint(path, record)
        partial.unlink(missing_ok=True)
    barrier()


def train_teacher_cell(cfg: dict[str, Any], data: LoadedData, alpha: float, seed: int, ckpt_dir: Path,
                       device: torch.device, quiet: bool = True, log_fn=None, tensors=None,
                       test_tensors=None) -> tuple[Classifier, dict[str, Any]]:
    """Train (or load, when its checkpoint exists) the teacher with LS factor α and seed; its record holds
    the logit-erasure statistic of its training-set logits (evaluate.logit_erasure)."""
    path = ckpt_dir / f"{cell_name('teacher', alpha, seed)}.pt"
    if path.is_file():
        log.info("teacher α=%g seed %d: loaded from %s", alpha, seed, path)
        return load_model_checkpoint(path, data, "teacher")
    tcfg = _part_cfg(cfg, "teacher")
    torch.manual_seed(seed)
    model = _build(cfg, "teacher", data)
    partial = path.with_suffix(".partial.pt")
    res = train_teacher(model, data.train, alpha, tcfg, device, seed=seed, ckpt_path=partial, quiet=quiet, log=log_fn,
                        tensors=tensors, evaluate=_epoch_eval(cfg, data, device, test_tensors))
    acc = accuracy(model, data.test, device, tensors=test_tensors)
    logits = compute_logits(model, data.train, device, tensors=tensors)
    labels = tensors[1].numpy() if tensors is not None else np.asarray(_targets(data.train))  # no image decoding
    extra = {"acc_endpoint": per_class_accuracy(model, test_tensors, _endpoint_classes(cfg, data), device)
             } if test_tensors is not None else {}
    rec = _model_record("teacher", tcfg["model"], data, model, alpha=alpha, seed=seed, acc=acc, train=res,
                        erasure=logit_erasure(logits.numpy(), labels), **extra, **_best(res),
                        **analyse(model, data, cfg["_classes"], device, cfg["diffusion"]["max_per_class"],
                                  int(cfg["diffusion"].get("train_per_class", 0))))
    log.info("teacher α=%g seed %d: top-1 %.2f%%, logit erasure E %.3f (%.1f s)", alpha, seed, acc, rec["erasure"],
             res["train_time_s"])
    _save_cell(path, rec, partial)
    return model, {**rec, "_train_logits": logits}  # in memory only: offline KD reuses them


def train_student_cell(cfg: dict[str, Any], data: LoadedData, alpha: float, temperature: float, seed: int,
                       ckpt_dir: Path, device: torch.device, *, teacher: Classifier | None = None,
                       cached_logits: torch.Tensor | None = None, quiet: bool = True, log_fn=None,
                       tensors=None, test_tensors=None) -> dict[str, Any]:
    """Distil (or load) the student of the α-teacher at temperature T; same initial weights and the same
    batch order for every (α, T) of a seed, so the cells of a seed are paired."""
    path = ckpt_dir / f"{cell_name('student', alpha, seed, temperature)}.pt"
    if path.is_file():
        log.info("student α=%g T=%g seed %d: loaded", alpha, temperature, seed)
        return load_model_checkpoint(path, data, "student")[1]
    scfg = _part_cfg(cfg, "student")
    torch.manual_seed(seed + 10_000)
    model = _build(cfg, "student", data)
    partial = path.with_suffix(".partial.pt")
    res = train_student(model, data.train, temperature, scfg, device, teacher=teacher, cached_logits=cached_logits,
                        seed=seed, ckpt_path=partial, quiet=quiet, log=log_fn, tensors=tensors,
                        evaluate=_epoch_eval(cfg, data, device, test_tensors))
    acc = accuracy(model, data.test, device, tensors=test_tensors)
    extra = {"acc_endpoint": per_class_accuracy(model, test_tensors, _endpoint_classes(cfg, data), device)
             } if test_tensors is not None else {}
    rec = _model_record("student", scfg["model"], data, model, alpha=alpha, temperature=temperature, seed=seed,
                        acc=acc, train=res, kd=scfg.get("kd", "pure"), **extra, **_best(res),
                        **analyse(model, data, cfg["_classes"], device, cfg["diffusion"]["max_per_class"],
                                  int(cfg["diffusion"].get("train_per_class", 0))))
    log.info("student α=%g T=%g seed %d: top-1 %.2f%%, diffusion %.3f (%.1f s)", alpha, temperature, seed, acc,
             rec["diffusion"], res["train_time_s"])
    _save_cell(path, rec, partial)
    return rec


def _strip(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "state_dict"}


def load_data(cfg: dict[str, Any], name: str, data_dir: str | Path | None) -> LoadedData:
    """The dataset as the config's ``data`` section asks for it."""
    from lskd.data import load_dataset

    d = cfg["data"]
    return load_dataset(name, data_dir, train_subset=d.get("train_subset"), test_subset=d.get("test_subset"),
                        augment=bool(d.get("augment", False)), image_size=int(d.get("image_size", 224)),
                        augmentation=d.get("augmentation", "standard"))


def _seed_done(g: dict[str, Any], s: int, ckpt_dir: Path) -> bool:
    cells = [cell_name("teacher", float(a), s) for a in g["alphas"]]
    cells += [cell_name("student", float(a), s, float(t)) for a in g["alphas"] for t in g["temperatures"]]
    return all((ckpt_dir / f"{c}.pt").is_file() for c in cells)


def _train_seeds_worker(job: tuple[dict[str, Any], str, str, list[int], str]) -> list[int]:
    """One worker process of :func:`train_seeds_in_parallel`: every cell of its seeds, saved as checkpoints."""
    cfg, name, root, seeds, ckpt_dir = job
    torch.set_num_threads(1)
    data = load_data(cfg, name, root)
    for s in seeds:
        run_grid({**cfg, "grid": {**cfg["grid"], "n_seeds": 1, "workers": 1}}, data, Path(ckpt_dir),
                 torch.device("cpu"), s)
    return seeds


def train_seeds_in_parallel(cfg: dict[str, Any], data: LoadedData, ckpt_dir: Path, seeds: list[int],
                            workers: int) -> None:
    """Train the seeds' cells in ``workers`` processes (one torch thread each), seeds dealt round-robin.

    Every cell depends only on its seed (its teacher's and students' initial weights, its batch order),
    so the checkpoints are the ones a serial run writes; :func:`run_grid` then loads them.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    todo = [s for s in seeds if not _seed_done(cfg["grid"], s, ckpt_dir)]
    if len(todo) < 2:
        return
    plain = {k: v for k, v in cfg.items() if not k.startswith("_")}
    jobs = [(plain, data.name, str(data.root), todo[i::workers], str(ckpt_dir)) for i in range(workers)]
    log.info("training seeds %s in %d processes", todo, workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for done in pool.map(_train_seeds_worker, [j for j in jobs if j[3]]):
            log.info("seeds %s trained", done)


def run_grid(cfg: dict[str, Any], data: LoadedData, ckpt_dir: Path, device: torch.device, seed: int,
             quiet: bool = True, log_fn=None) -> dict[str, Any]:
    """The α × T grid over ``grid.n_seeds`` seeds (seed, seed+1, ...). Returns teacher and student records
    (without weights). Offline KD (cached teacher logits) is used when ``grid.offline_kd`` and the
    training inputs are not augmented (otherwise the cache would be wrong). With ``grid.workers`` > 1 (CPU,
    one process) the seeds train in that many processes first."""
    from reprokit.distributed import get_info

    g = cfg["grid"]
    workers = int(g.get("workers", 1))
    if workers > 1 and device.type == "cpu" and not get_info().enabled:
        train_seeds_in_parallel(cfg, data, ckpt_dir, list(range(seed, seed + int(g["n_seeds"]))), workers)
    cfg = {**cfg, "_classes": check_classes(cfg["diffusion"]["classes"], data.num_classes)}
    offline = bool(g.get("offline_kd", True)) and not cfg["data"].get("augment", False)
    tensors, test_tensors = in_memory(data.train), in_memory(data.test)
    teachers, students = [], []
    for s in range(seed, seed + int(g["n_seeds"])):
        for alpha in [float(a) for a in g["alphas"]]:
            teacher, trec = train_teacher_cell(cfg, data, alpha, s, ckpt_dir, device, quiet, log_fn, tensors,
                                               test_tensors)
            train_logits = trec.pop("_train_logits", None)
            teachers.append(_strip(trec))
            todo = [float(T) for T in g["temperatures"]
                    if not (ckpt_dir / f"{cell_name('student', alpha, s, float(T))}.pt").is_file()]
            cached = None
            if offline and todo:  # a teacher trained just now brings its logits; a loaded one is run once
                cached = train_logits if train_logits is not None else compute_logits(teacher, data.train, device,
                                                                                       tensors=tensors)
            for T in [float(t) for t in g["temperatures"]]:
                rec = train_student_cell(cfg, data, alpha, T, s, ckpt_dir, device,
                                         teacher=None if cached is not None else teacher, cached_logits=cached,
                                         quiet=quiet, log_fn=log_fn, tensors=tensors, test_tensors=test_tensors)
                students.append(_strip(rec))
    return {"teachers": teachers, "students": students, "offline_kd": offline, "classes": cfg["_classes"],
            "figure_temperatures": cfg["diffusion"].get("figure_temperatures")}


# ------------------------------------------------------------------------------------------ tables
def _acc_table(students: list[dict], key: str = "acc") -> dict[float, dict[float, list[float]]]:
    table: dict[float, dict[float, list[float]]] = {}
    for r in students:
        if key in r:
            table.setdefault(r["alpha"], {}).setdefault(r["temperature"], []).append(r[key])
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
    if any("acc_best_epoch" in r for r in res["students"]):
        best = _acc_table(res["students"], "acc_best_epoch")
        lines += ["", "Best-epoch top-1 (the official runs report this; the table above is the final epoch):", "",
                  lines[0], lines[1]]
        for alpha in sorted(best):
            tacc = [r["acc_best_epoch"] for r in res["teachers"] if r["alpha"] == alpha and "acc_best_epoch" in r]
            lines.append(f"| {alpha:g} | {_ms(tacc)} | " + " | ".join(_ms(best[alpha].get(t, [])) for t in temps)
                         + " |")
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
    """Directional diffusion of the two similar classes (teachers and students, mean over seeds), with the
    dissimilar-class and isotropic controls, and the teachers' logit erasure E."""
    st, te = res["students"], res["teachers"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    head = f"Classes: {class_names[0]} ~ {class_names[1]} (similar) vs {class_names[2]} (control).\n\n"
    lines = ["| teacher α | teacher E | teacher index | " + " | ".join(f"student index, T={t:g}" for t in temps)
             + " | isotropic control (students) |", "|---|---|---|" + "---|" * (len(temps) + 1)]
    for a in alphas:
        tr = [r for r in te if r["alpha"] == a]
        cells = [f"{np.mean([r['diffusion'] for r in st if r['alpha'] == a and r['temperature'] == t]):+.3f}"
                 for t in temps]
        iso = np.mean([abs(r["iso_control"]) for r in st if r["alpha"] == a])
        lines.append(f"| {a:g} | {np.mean([r['erasure'] for r in tr]):.3f} | "
                     f"{np.mean([r['diffusion'] for r in tr]):+.3f} | " + " | ".join(cells) + f" | {iso:.3f} |")
    foot = ("\n\nindex = ½(R(a→b) + R(b→a)) − ½(R(a→c) + R(b→c)), R(a→t) = how far class a's test items reach "
            "toward class t's centroid beyond how far they reach away, in units of the centroid distance, on the "
            "3-class projection (evaluate.directional_diffusion; > 0: the similar classes reach toward each other). "
            "The isotropic control is the mean |index| of Gaussian stand-ins with the same centroids and variance "
            "(its sampling noise). E = mean non-target-logit SD / mean target lead on the training set "
            "(evaluate.logit_erasure; smaller: more erased).")
    return head + "\n".join(lines) + foot


# ------------------------------------------------------------------------------------------ claims
def _ci_evidence(effects: list[float], min_effect: float) -> dict[str, Any]:
    ci = paired_t_ci(effects)
    return {"effect_per_seed": [round(e, 4) for e in effects], "mean_effect": ci["mean"], "ci95_low": ci["low"],
            "ci95_high": ci["high"], "sd": ci["sd"], "n_seeds": ci["n"], "min_effect": min_effect,
            "ci_outcome": ci_outcome(ci["low"], ci["high"], min_effect) if ci["n"] >= 2 else "n < 2"}


def teacher_precondition(res: dict[str, Any], max_acc_gap: float = 0.5, min_erasure_drop: float = 0.25
                         ) -> dict[str, Any]:
    """The claims are about an LS teacher that erased information and is as accurate as the plain one:
    its logit erasure E at least ``min_erasure_drop`` (25%) below the plain teacher's, and the two
    teachers' mean accuracies within ``max_acc_gap`` points. Otherwise every claim is inconclusive."""
    te = res["teachers"]
    alphas = sorted({r["alpha"] for r in te})
    a0, a1 = alphas[0], alphas[-1]
    e = {a: float(np.mean([r["erasure"] for r in te if r["alpha"] == a])) for a in (a0, a1)}
    acc = {a: float(np.mean([r["acc"] for r in te if r["alpha"] == a])) for a in (a0, a1)}
    drop = 1.0 - e[a1] / e[a0]
    gap = acc[a1] - acc[a0]
    return {"erasure_plain": e[a0], "erasure_ls": e[a1], "erasure_drop": drop, "teacher_acc_gap": gap,
            "holds": bool(a1 != a0 and drop >= min_erasure_drop and abs(gap) <= max_acc_gap),
            "rule": f"E_LS ≤ {1 - min_erasure_drop:g}·E_plain and |acc_LS − acc_plain| ≤ {max_acc_gap:g} points"}


def grid_claims(res: dict[str, Any], c1_min_effect: float = 0.5, c2_margin: float = 0.5,
                c3_min_effect: float = 0.02, max_teacher_gap: float = 0.5) -> tuple[list[Claim], dict[str, Any]]:
    """Claims C1–C3 with DESIGN.md's verdict rule on 95% t-intervals of per-seed paired effects.

    Low/high T are the smallest/largest T run, 'LS' the largest α, 'plain' α = 0. Each seed has its own
    teachers, and its students share initial weights and batch order across cells, so the effects are
    paired within a seed.
    - C1: effect = drop_LS − drop_plain, drop = acc(T_lo) − acc(T_hi); reproduced when the CI's lower
      bound > 0 and the mean ≥ ``c1_min_effect``; not reproduced when the upper bound < ``c1_min_effect``.
    - C2: for every other cell k, d_k = acc(k) − acc(LS, T_lo); reproduced when every d_k's upper bound is
      ≤ ``c2_margin`` (no cell beats LS + low T by more than the margin); not reproduced when some d_k has
      lower bound > 0 and mean > ``c2_margin``; else inconclusive.
    - C3: effect = growth_LS − growth_plain of the directional diffusion index from T_lo to T_hi, rule as C1
      with ``c3_min_effect`` (in centroid-distance units).
    All three are inconclusive unless :func:`teacher_precondition` holds.
    """
    st = res["students"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    a0, a1, t_lo, t_hi = alphas[0], alphas[-1], temps[0], temps[-1]
    seeds = sorted({r["seed"] for r in st})
    pre = teacher_precondition(res, max_teacher_gap)

    def cell(key: str, a: float, t: float) -> list[float]:
        by = _by(st, key, alpha=a, temperature=t)
        return [by[s] for s in seeds]

    acc = {(a, t): cell("acc", a, t) for a in alphas for t in temps}
    dif = {(a, t): cell("diffusion", a, t) for a in alphas for t in temps}

    def drop(table: dict, a: float, sign: float = 1.0) -> list[float]:
        return [sign * (x - y) for x, y in zip(table[(a, t_lo)], table[(a, t_hi)])]

    c1_eff = [x - y for x, y in zip(drop(acc, a1), drop(acc, a0))]
    c3_eff = [x - y for x, y in zip(drop(dif, a1, -1.0), drop(dif, a0, -1.0))]
    ev1, ev3 = _ci_evidence(c1_eff, c1_min_effect), _ci_evidence(c3_eff, c3_min_effect)
    v1 = verdict_from_ci(ev1["ci95_low"], ev1["ci95_high"], ev1["mean_effect"], c1_min_effect)
    v3 = verdict_from_ci(ev3["ci95_low"], ev3["ci95_high"], ev3["mean_effect"], c3_min_effect)
    if any(r.get("acc_endpoint") is not None for r in st):
        end = {(a, t): cell("acc_endpoint", a, t) for a in alphas for t in temps}
        ev1["endpoint_classes_effect"] = _ci_evidence(
            [x - y for x, y in zip(drop(end, a1), drop(end, a0))], c1_min_effect)
    others = {}
    for k in acc:
        if k != (a1, t_lo):
            ci = paired_t_ci([x - y for x, y in zip(acc[k], acc[(a1, t_lo)])])
            others[f"a{k[0]:g}_T{k[1]:g}"] = {"mean": ci["mean"], "ci95_low": ci["low"], "ci95_high": ci["high"]}
    if len(seeds) < 2:
        v2 = "inconclusive"
    elif all(o["ci95_high"] <= c2_margin for o in others.values()):
        v2 = "reproduced"
    elif any(o["ci95_low"] > 0 and o["mean"] > c2_margin for o in others.values()):
        v2 = "not reproduced"
    else:
        v2 = "inconclusive"
    best_name = max(others, key=lambda k: others[k]["mean"])
    if not pre["holds"]:
        v1 = v2 = v3 = "inconclusive"
    pre_note = "" if pre["holds"] else " — the teacher precondition failed, so the verdict is inconclusive"
    mean_acc = {k: float(np.mean(v)) for k, v in acc.items()}
    lbl = f"α={a1:g} vs α={a0:g}, T={t_lo:g}→{t_hi:g}, {len(seeds)} paired seeds"
    claims = [
        Claim(id="C1", statement="With an LS teacher, student accuracy falls more from low to high T than with a "
              "non-LS teacher", paper="ImageNet: drop T1→T64 7.31 (α=0.1) vs 5.30 (α=0); CUB: 13.79 vs 6.56",
              verdict=v1, evidence={**ev1, "precondition": pre},
              ours=f"effect {ev1['mean_effect']:+.2f} pts (95% CI {ev1['ci95_low']:+.2f} … {ev1['ci95_high']:+.2f}), "
                   f"{lbl}",
              note=f"effect = drop_LS − drop_plain (points); reproduced: CI > 0 and mean ≥ {c1_min_effect}; "
                   f"not reproduced: CI < {c1_min_effect} ({ev1['ci_outcome']}){pre_note}"),
        Claim(id="C2", statement="LS teacher + low T gives the best or tied-best student",
              paper="ImageNet: α=0.1, T=1 71.67 best; CUB: α=0.1, T=1 80.95 best",
              verdict=v2, evidence={"ls_low_T_acc": mean_acc[(a1, t_lo)], "other_cells_minus_ls_low_T": others,
                                    "margin": c2_margin, "n_seeds": len(seeds), "precondition": pre},
              ours=f"best other cell {best_name}: {others[best_name]['mean']:+.2f} pts vs LS+T={t_lo:g} "
                   f"(95% CI {others[best_name]['ci95_low']:+.2f} … {others[best_name]['ci95_high']:+.2f})",
              note=f"reproduced: every other cell's CI upper bound ≤ {c2_margin} pts above LS + low T; not "
                   f"reproduced: some cell's CI > 0 with mean > {c2_margin}{pre_note}"),
        Claim(id="C3", statement="Student representations of an LS teacher diffuse toward the semantically similar "
              "class more with rising T than those of a non-LS teacher",
              paper="Fig. 1/4: LS-teacher students diffuse toward the similar class at high T",
              verdict=v3, evidence={**ev3, "precondition": pre},
              ours=f"effect {ev3['mean_effect']:+.3f} (95% CI {ev3['ci95_low']:+.3f} … {ev3['ci95_high']:+.3f}) "
                   f"centroid distances, {lbl}",
              note=f"effect = growth_LS − growth_plain of the directional diffusion index (T_lo→T_hi); rule as C1 "
                   f"with smallest effect {c3_min_effect} ({ev3['ci_outcome']}){pre_note}"),
    ]
    metrics = {f"student_acc_a{a:g}_T{t:g}": v for (a, t), v in mean_acc.items()}
    metrics.update({f"diffusion_a{a:g}_T{t:g}": float(np.mean(v)) for (a, t), v in dif.items()})
    metrics.update({f"teacher_acc_a{a:g}": float(np.mean(list(_by(res['teachers'], 'acc', alpha=a).values())))
                    for a in alphas})
    metrics.update({"teacher_erasure_plain": pre["erasure_plain"], "teacher_erasure_ls": pre["erasure_ls"],
                    "teacher_precondition": pre["holds"], "n_seeds": len(seeds)})
    return claims, metrics


# ----------------------------------------------------------------------------------------- figures
def draw_figures(res: dict[str, Any], out_dir: Path, class_names: list[str]) -> list[Path]:
    """projection.png (teacher and students at low/high T, per α, first seed), accuracy_vs_T.png,
    diffusion_vs_T.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lskd.evaluate import official_pca, pca_2d

    st, te = res["students"], res["teachers"]
    alphas = sorted({r["alpha"] for r in st})
    temps = sorted({r["temperature"] for r in st})
    shown = [float(t) for t in (res.get("figure_temperatures") or []) if float(t) in temps] or [temps[0], temps[-1]]
    seed0 = min(r["seed"] for r in st)
    classes = res["classes"]
    names = [class_names[c] if c < len(class_names) else str(c) for c in classes]
    paths = []

    fig, axes = plt.subplots(len(alphas), 3, figsize=(11, 3.5 * len(alphas)), squeeze=False)
    for i, a in enumerate(alphas):
        panels = [("teacher", next(r for r in te if r["alpha"] == a and r["seed"] == seed0))]
        for t in shown[:2]:
            panels.append((f"student T={t:g}", next(r for r in st if r["alpha"] == a and r["temperature"] == t
                                                    and r["seed"] == seed0)))
        for j, (title, r) in enumerate(panels):
            ax = axes[i, j]
            if "proj_train" in r:  # the official protocol: PCA fitted on training items + centroids
                _, xy, cen = official_pca(np.asarray(r["proj_train"], np.float64), np.asarray(r["proj_train_labels"]),
                                          np.asarray(r["proj"], np.float64))
                ax.scatter(cen[:, 0], cen[:, 1], marker="*", s=120, c="k")
            else:
                xy = pca_2d(np.asarray(r["proj"], dtype=np.float64))
            for c, name in zip(classes, names):
                m = np.asarray(r["proj_labels"]) == c
                ax.scatter(xy[m, 0], xy[m, 1], s=5, alpha=0.6, label=name)
            ax.set_title(f"α={a:g} {title}: acc {r['acc']:.1f}%, index {r['diffusion']:+.3f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, markerscale=2)
    fig.suptitle("Penultimate features projected on the final layer's rows for 3 classes (2-D PCA)")
    fig.tight_layout()
    paths.append(out_dir / "projection.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    for key, ylabel, fname in (("acc", "student top-1 (%)", "accuracy_vs_T.png"),
                               ("diffusion", "directional diffusion index", "diffusion_vs_T.png")):
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
