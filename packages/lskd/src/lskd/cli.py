"""The ``lskd`` command: reproduce, grid, train-teacher, train-student, diffusion, data list|check, --version."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lskd import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    atomic_write_json,
    finish_run,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

# Default (similar, similar, dissimilar) classes of the projection, per dataset.
DIFFUSION_CLASSES = {"fashion-mnist": [0, 6, 7],  # T-shirt/top, Shirt | Sneaker
                     "mnist": [4, 9, 0],  # 4, 9 | 0
                     "cifar10": [3, 5, 9],  # cat, dog | truck
                     "cifar100": [11, 35, 69],  # boy, girl | rocket
                     "imagenet": [266, 267, 833],  # miniature, standard poodle | submarine (the official figure's)
                     "cub200": [58, 59, 100]}  # two gulls | a distant species


# ------------------------------------------------------------------------------------------ helpers
def _precheck(args: argparse.Namespace, cfg: dict[str, Any], run: dict[str, Any]) -> None:
    """Refuse bad names/overrides/missing data before a run directory is created (nothing left behind)."""
    from lskd.data import dataset_info, resolve_root
    from lskd.models import MODELS

    name = run.get("dataset") or cfg.get("dataset")
    dataset_info(name)
    for part in ("teacher", "student"):
        model = cfg.get(part, {}).get("model")
        if model not in MODELS:
            raise UsageError(f"unknown model {model!r} ({part}.model); choose one of: {', '.join(MODELS)}")
        weights = cfg.get(part, {}).get("pretrained")
        if weights and not Path(weights).is_file():
            raise UsageError(f"{part}.pretrained: no such weights file {weights} (a local torchvision state dict)")
    for flag in ("model",):
        if getattr(args, flag, None) is not None and args.model not in MODELS:
            raise UsageError(f"unknown model {args.model!r}; choose one of: {', '.join(MODELS)}")
    resolve_root(name, Path(run["data_dir"]) if run.get("data_dir") else None)
    for flag in ("teacher", "students"):
        paths = getattr(args, flag, None)
        for p in ([paths] if isinstance(paths, (str, Path)) else (paths or [])):
            if not Path(p).is_file():
                raise UsageError(f"--{flag}: no such checkpoint file {p}")
    if name not in ("imagenet", "cub200"):
        ckpts = [args.teacher] if getattr(args, "teacher", None) is not None else []
        for p in ckpts + list(getattr(args, "students", None) or []):
            _check_checkpoint_fits(Path(p), name)
    if getattr(args, "cmd", None) == "train-student":
        from reprokit import load_checkpoint

        kind = load_checkpoint(args.teacher).get("kind")
        if kind != "teacher":
            raise UsageError(f"--teacher {args.teacher} holds a {kind!r} checkpoint, expected a teacher")
    _check_flags(args, dataset_info(name).num_classes)


def _check_flags(args: argparse.Namespace, num_classes: int) -> None:
    """The ranges of the subcommands' own flags (the config's are in schema.py)."""
    from lskd.experiments import check_classes

    alpha = getattr(args, "alpha", None)
    if alpha is not None and not 0 <= alpha < 1:
        raise UsageError(f"--alpha {alpha}: label smoothing needs 0 ≤ α < 1")
    temperature = getattr(args, "temperature", None)
    if temperature is not None and not temperature > 0:
        raise UsageError(f"--temperature {temperature}: the KD temperature must be > 0")
    kd_weight = getattr(args, "kd_weight", None)
    if kd_weight is not None and not 0 <= kd_weight <= 1:
        raise UsageError(f"--kd-weight {kd_weight}: the CE + KD mixture weight must lie in [0, 1]")
    if getattr(args, "cmd", None) == "diffusion":
        if not (args.teacher or args.students):
            raise UsageError("diffusion: give --teacher and/or --student checkpoint files")
        if args.classes:
            check_classes(_parse_classes(args.classes), num_classes)


def _parse_classes(text: str) -> list[int]:
    try:
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise UsageError(f"--classes expects three comma-separated class ids, got {text!r}") from None


def _check_checkpoint_fits(path: Path, name: str) -> None:
    """A teacher trained on other classes/channels than the dataset's is refused before any work."""
    from lskd.data import dataset_info
    from reprokit import load_checkpoint

    rec, info = load_checkpoint(path), dataset_info(name)
    if not isinstance(rec, dict) or not {"num_classes", "model", "state_dict"} <= set(rec):
        raise UsageError(f"{path} is not an lskd model checkpoint (no 'num_classes'/'model'/'state_dict')")
    if rec["num_classes"] != info.num_classes or rec.get("in_channels") != info.in_channels:
        raise UsageError(f"{path}: the checkpoint's model has {rec['num_classes']} classes and "
                         f"{rec.get('in_channels')} input channels, but dataset {name!r} has {info.num_classes} "
                         f"classes and {info.in_channels} channels; train a teacher on this dataset first")


def _start(args: argparse.Namespace):
    from lskd.schema import Config
    from reprokit.device import configure_threads

    ctx = start_run(args, dist="lskd", module="lskd", version=__version__, schema=Config,
                    precheck=lambda cfg, run: _precheck(args, cfg, run))
    configure_threads(ctx.cfg.get("threads"))
    return ctx


def _load_data(ctx):
    from lskd.experiments import load_data

    data = load_data(ctx.cfg, ctx.dataset, ctx.data_dir)
    classes = ctx.cfg["diffusion"]["classes"]
    if classes in (None, "auto"):
        ctx.cfg["diffusion"]["classes"] = DIFFUSION_CLASSES.get(data.name, [0, 1, 2])
    return data


def _log_fn(ctx):
    return ctx.run.log_metrics


def _setting(cfg: dict[str, Any], data) -> str:
    g, t, s = cfg["grid"], cfg["teacher"], cfg["student"]
    return (f"{data.name} (train {len(data.train)}, test {len(data.test)}), teacher {t['model']} "
            f"{t['epochs']} ep → student {s['model']} {s['epochs']} ep, {s.get('kd', 'pure')} KD, "
            f"α ∈ {g['alphas']}, T ∈ {g['temperatures']}, {g['n_seeds']} seed(s)")


# ---------------------------------------------------------------------------------------- commands
def cmd_reproduce(args: argparse.Namespace) -> int:
    from lskd import experiments as ex

    ctx = _start(args)
    data = _load_data(ctx)
    res = ex.run_grid(ctx.cfg, data, ctx.run.checkpoints, ctx.device, ctx.seed, ctx.quiet, _log_fn(ctx))
    cc = ctx.cfg["claims"]
    claims, metrics = ex.grid_claims(res, c1_min_effect=float(cc["c1_min_effect"]), c2_margin=float(cc["c2_margin"]),
                                     c3_min_effect=float(cc["c3_min_effect"]),
                                     max_teacher_gap=float(cc["max_teacher_gap"]))
    figures = ex.draw_figures(res, ctx.run.figures, data.class_names) if _main_rank() else []
    names = [data.class_names[c] if c < len(data.class_names) else str(c) for c in res["classes"]]
    sections = [
        ("Student top-1 over the α × T grid (this run)", ex.accuracy_table_md(res)),
        ("The paper's ImageNet / CUB rows beside ours", ex.paper_table_md(res)
         + "\n\nThe paper's numbers are ResNet-50 → ResNet-18 on full ImageNet / CUB-200; ours are the "
           "setting above. The comparison is of the pattern (drop with T, best cell), not the values."),
        ("Directional diffusion and teacher erasure", ex.diffusion_table_md(res, names)),
    ]
    finish_run(ctx, dataset=data.name, data_note=data.note + (" (offline KD: cached teacher logits)"
                                                                if res["offline_kd"] else " (online KD)"),
               metrics=metrics, claims=claims, title="Revisiting Label Smoothing and Knowledge Distillation "
               "Compatibility (ICML 2022)", setting=_setting(ctx.cfg, data), figures=figures, sections=sections)
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    from lskd import experiments as ex

    ctx = _start(args)
    data = _load_data(ctx)
    res = ex.run_grid(ctx.cfg, data, ctx.run.checkpoints, ctx.device, ctx.seed, ctx.quiet, _log_fn(ctx))
    if _main_rank():
        figures = ex.draw_figures(res, ctx.run.figures, data.class_names)
        table = ex.accuracy_table_md(res)
        atomic_write_json(ctx.run.path / "grid.json", {"setting": _setting(ctx.cfg, data), **_jsonable(res)})
        finish_run(ctx, dataset=data.name, data_note=data.note, metrics={"grid": "grid.json"}, claims=[],
                   require_claims=False, setting=_setting(ctx.cfg, data), figures=figures,
                   sections=[("α × T grid: student top-1", table)])
        print(table)
    return 0


def cmd_train_teacher(args: argparse.Namespace) -> int:
    from lskd import experiments as ex
    from lskd.data import in_memory

    ctx = _start(args)
    if args.model:
        ctx.cfg["teacher"]["model"] = args.model
    data = _load_data(ctx)
    cfg = {**ctx.cfg, "_classes": ex.check_classes(ctx.cfg["diffusion"]["classes"], data.num_classes)}
    alpha = float(args.alpha)
    _, rec = ex.train_teacher_cell(cfg, data, alpha, ctx.seed, ctx.run.checkpoints, ctx.device, ctx.quiet,
                                   _log_fn(ctx), in_memory(data.train), in_memory(data.test))
    path = ctx.run.checkpoints / f"{ex.cell_name('teacher', alpha, ctx.seed)}.pt"
    return _write_result(ctx, data, {"teacher": str(path), "alpha": alpha, "model": rec["model"], "acc": rec["acc"],
                               "diffusion": rec["diffusion"], "logit_erasure": rec["erasure"]})


def cmd_train_student(args: argparse.Namespace) -> int:
    from lskd import experiments as ex
    from lskd.data import in_memory
    from lskd.train import compute_logits

    ctx = _start(args)
    scfg = ctx.cfg["student"]
    if args.model:
        scfg["model"] = args.model
    if args.kd:
        scfg["kd"] = args.kd
    if args.kd_weight is not None:
        scfg["kd_weight"] = args.kd_weight
    data = _load_data(ctx)
    teacher_path = Path(args.teacher)
    teacher, trec = ex.load_model_checkpoint(teacher_path, data, "teacher")
    cfg = {**ctx.cfg, "_classes": ex.check_classes(ctx.cfg["diffusion"]["classes"], data.num_classes)}
    offline = bool(ctx.cfg["grid"].get("offline_kd", True)) and not ctx.cfg["data"].get("augment", False)
    tensors, test_tensors = in_memory(data.train), in_memory(data.test)
    cached = compute_logits(teacher, data.train, ctx.device, tensors=tensors) if offline else None
    T = float(args.temperature)
    rec = ex.train_student_cell(cfg, data, float(trec.get("alpha", 0.0)), T, ctx.seed, ctx.run.checkpoints,
                                ctx.device, teacher=None if offline else teacher, cached_logits=cached,
                                quiet=ctx.quiet, log_fn=_log_fn(ctx), tensors=tensors, test_tensors=test_tensors)
    return _write_result(ctx, data, {"teacher": str(teacher_path), "temperature": T, "kd": scfg.get("kd", "pure"),
                               "model": rec["model"], "acc": rec["acc"], "diffusion": rec["diffusion"],
                               "offline_kd": offline})


def cmd_diffusion(args: argparse.Namespace) -> int:
    """Projection figure + directional diffusion of saved teacher/student checkpoints."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lskd import experiments as ex
    from lskd.evaluate import pca_2d

    ctx = _start(args)
    data = _load_data(ctx)
    if args.classes:
        ctx.cfg["diffusion"]["classes"] = _parse_classes(args.classes)
    classes = ex.check_classes(ctx.cfg["diffusion"]["classes"], data.num_classes)
    paths = ([args.teacher] if args.teacher else []) + list(args.students or [])
    rows = []
    fig, axes = plt.subplots(1, len(paths), figsize=(3.8 * len(paths), 3.6), squeeze=False)
    for ax, p in zip(axes[0], paths):
        model, rec = ex.load_model_checkpoint(p, data)
        out = ex.analyse(model, data, classes, ctx.device, int(ctx.cfg["diffusion"]["max_per_class"]))
        rows.append({"checkpoint": str(p), "kind": rec.get("kind"), "alpha": rec.get("alpha"),
                     "temperature": rec.get("temperature"), "diffusion": out["diffusion"],
                     "toward_similar": out["toward_similar"], "toward_dissimilar": out["toward_dissimilar"],
                     "isotropic_control": out["iso_control"]})
        xy = pca_2d(out["proj"].astype("float64"))
        for c in classes:
            m = out["proj_labels"] == c
            ax.scatter(xy[m, 0], xy[m, 1], s=5, alpha=0.6,
                       label=data.class_names[c] if c < len(data.class_names) else str(c))
        ax.set_title(f"{Path(p).stem}: index {out['diffusion']:+.3f}", fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(ctx.run.figures / "projection.png", dpi=110)
    plt.close(fig)
    for r in rows:
        print(f"{r['checkpoint']}: directional diffusion {r['diffusion']:+.4f} (toward similar "
              f"{r['toward_similar']:+.4f}, toward dissimilar {r['toward_dissimilar']:+.4f}; isotropic control "
              f"{r['isotropic_control']:+.4f})")
    return _write_result(ctx, data, {"classes": classes, "rows": rows, "figure": "figures/projection.png"})


def cmd_data(args: argparse.Namespace) -> int:
    from lskd.data import describe_datasets, load_dataset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        rows = describe_datasets(data_dir)
        print(f"{'name':14} {'format':36} {'classes':>7}  present  where")
        for r in rows:
            print(f"{r['name']:14} {r['format']:36} {r['classes']:>7}  {'yes' if r['present'] else 'no':7}  "
                  f"{r['where']}")
        return 0
    name = args.dataset or "fashion-mnist"
    data = load_dataset(name, data_dir)
    x, _, _ = data.train[0]
    print(f"ok: {data.note}; {data.num_classes} classes, input {tuple(x.shape)}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def _main_rank() -> bool:
    from reprokit.distributed import is_main_process

    return is_main_process()


def _jsonable(res: dict[str, Any]) -> dict[str, Any]:
    def clean(r: dict) -> dict:
        return {k: v for k, v in r.items() if k not in ("proj", "proj_labels")}

    return {**res, "teachers": [clean(r) for r in res["teachers"]], "students": [clean(r) for r in res["students"]]}


def _write_result(ctx, data, result: dict[str, Any]) -> int:
    """train-*/diffusion finish their run with a claimless summary.json (``metrics`` holds ``result``)."""
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=result, claims=[], require_claims=False,
               figures=[result["figure"]] if "figure" in result else ())
    if _main_rank():
        print(f"result: {ctx.run.path / 'summary.json'}")
    return 0


PRESETS = ("smoke", "quick", "paper", "paper-cub")


def _run_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_run_args(parser, presets=PRESETS)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="lskd", description="Label smoothing × knowledge distillation (ICML 2022): "
                                "LS teachers, KD students over an α × T grid, systematic diffusion.")
    p.add_argument("--version", action="version", version=f"lskd {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    _run_args(sub.add_parser("reproduce", help="the α × T grid, diffusion indices, claims and report"))
    _run_args(sub.add_parser("grid", help="train the α × T grid (teachers once, reused) and tabulate accuracy"))
    t = _run_args(sub.add_parser("train-teacher", help="train one teacher with label smoothing α"))
    t.add_argument("--alpha", type=float, default=0.1, help="label smoothing factor (0 = plain CE; default 0.1)")
    t.add_argument("--model", default=None, help="teacher model (default: the preset's)")
    s = _run_args(sub.add_parser("train-student", help="distil a student from a teacher checkpoint"))
    s.add_argument("--teacher", required=True, type=Path, help="teacher checkpoint (from train-teacher or grid)")
    s.add_argument("--temperature", "-T", type=float, default=1.0, help="KD temperature (default 1)")
    s.add_argument("--kd", choices=["pure", "mixture"], default=None, help="pure T²·KL (paper) or CE + KD")
    s.add_argument("--kd-weight", type=float, default=None, help="λ of the CE + KD mixture")
    s.add_argument("--model", default=None, help="student model (default: the preset's)")
    d = _run_args(sub.add_parser("diffusion", help="projection figure and diffusion index of checkpoints"))
    d.add_argument("--teacher", type=Path, default=None, help="teacher checkpoint")
    d.add_argument("--student", dest="students", type=Path, action="append", default=[],
                   help="student checkpoint (repeatable)")
    d.add_argument("--classes", default=None, help="three class ids 'a,b,c' (a, b similar; c not)")
    data = sub.add_parser("data", help="datasets: list | check")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their on-disk format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and report what was found")
    dc.add_argument("--dataset", default=None, help="dataset name (default fashion-mnist)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "grid": cmd_grid, "train-teacher": cmd_train_teacher,
            "train-student": cmd_train_student, "diffusion": cmd_diffusion, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "teacher", None) is not None and not Path(args.teacher).is_file():
        raise UsageError(f"--teacher: no such checkpoint file {args.teacher}")
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
