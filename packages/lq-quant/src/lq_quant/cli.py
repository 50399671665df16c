"""The ``lq-quant`` command: reproduce, train, export, evaluate, data list|check, --version."""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lq_quant import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    atomic_write_bytes,
    existing_dir,
    existing_file,
    finish_run,
    positive_int,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

TITLE = "Direct Quantization for Training Highly Accurate Low Bit-width DNNs (IJCAI 2020)"


def _bits(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer number of bits, got {text!r}") from None
    if not 1 <= v <= 8:
        raise argparse.ArgumentTypeError(f"bits must be in 1..8, got {v}")
    return v


# ------------------------------------------------------------------------------------------ helpers
def _precheck_common(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    from lq_quant.data import dataset_info, resolve_root

    name = run.get("dataset") or cfg.get("dataset")
    dataset_info(name)
    resolve_root(name, Path(run["data_dir"]) if run.get("data_dir") else None)


def _start(args: argparse.Namespace, precheck=None, downsample=None):
    """start_run with the schema, the dataset check *and the data loading* inside precheck, so a missing,
    corrupt or mismatched dataset exits 2 before any run directory exists. Returns (ctx, data)."""
    from lq_quant.data import load_dataset
    from lq_quant.schema import Config
    from reprokit.device import configure_threads

    holder: dict[str, Any] = {}

    def check(cfg, run):
        _precheck_common(cfg, run)
        if precheck is not None:
            precheck(cfg, run)
        d = cfg["data"]
        ds = downsample() if callable(downsample) else d.get("downsample", 1)
        holder["data"] = load_dataset(run.get("dataset") or cfg.get("dataset"),
                                      Path(run["data_dir"]) if run.get("data_dir") else None,
                                      d.get("train_subset"), d.get("test_subset"), int(ds))

    ctx = start_run(args, dist="lq-quant", module="lq_quant", version=__version__, schema=Config, precheck=check)
    configure_threads(ctx.cfg.get("threads"))
    return ctx, holder["data"]


def _setting(cfg: dict[str, Any], data) -> str:
    t, g, m = cfg["train"], cfg["grid"], cfg["model"]
    return (f"{data.name} {data.image_size}×{data.image_size} (train {data.n_train}, test {data.n_test}); "
            f"{m['name']} width {m.get('width')}; first/last layer: {cfg['first_last']}; FP pretrain "
            f"{cfg['fp_pretrain']['epochs']} ep, then {t['epochs']} ep {t['optimizer']} lr {t['lr']} {t['schedule']} "
            f"per quantized cell; W/A bits {g['bits']}; {g['n_seeds']} paired seeds")


def _main_rank() -> bool:
    from reprokit.distributed import is_main_process

    return is_main_process()


# ---------------------------------------------------------------------------------------- commands
def cmd_reproduce(args: argparse.Namespace) -> int:
    from lq_quant import experiments as ex

    ctx, data = _start(args)
    res = ex.run_grid(ctx.cfg, data, ctx.run.path, ctx.device, ctx.seed, ctx.quiet, ctx.run.log_metrics)
    claims, metrics, comps = ex.claims(res, ctx.cfg)
    figures = ex.draw_figures(res, ctx.run.figures) if _main_rank() else []
    metrics["seconds_per_cell"] = {m: round(sum(r["seconds"] for r in res["cells"] if r["method"] == m)
                                            / max(1, sum(r["method"] == m for r in res["cells"])), 2)
                                   for m in res["methods"]}
    sections = [("Top-1 accuracy (this run)", ex.accuracy_table_md(res)),
                ("C1 comparisons (paired seeds, non-inferiority margin "
                 f"{ctx.cfg['claims']['margin']} pt)", ex.comparisons_md(comps)),
                ("Paper's numbers", "Only the paper's abstract is available offline: no table of its numbers is "
                 "reproduced here. For scale, LQ-Nets reports ResNet-18 ImageNet W/A 2/2 64.9, 3/3 68.2, 4/4 69.3 "
                 "(its own paper); this run is a small CNN on Fashion-MNIST, so only the *ordering* of methods is "
                 "compared.")]
    finish_run(ctx, dataset=data.name, data_note=data.note + " (offline default; the paper used CIFAR-100/ImageNet)",
               metrics=metrics, claims=claims, title=TITLE, setting=_setting(ctx.cfg, data), figures=figures,
               sections=sections, extra={"comparisons": comps})
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """One model: FP pretrain (init=pretrained_fp), quantize with ``--method``, fine-tune, evaluate."""
    from lq_quant import experiments as ex
    from lq_quant.train import evaluate, train
    from reprokit import save_checkpoint

    ctx, data = _start(args)
    s = ctx.cfg["single"]
    method, wb, ab = s["method"], int(s["wbits"]), int(s["abits"])
    fp_ckpt = None
    if ctx.cfg["init"] == "pretrained_fp" and method != "fp":
        fp_ckpt = ex.pretrain_fp(ctx.cfg, data, ctx.seed, ctx.device, ctx.run.checkpoints, ctx.run.log_metrics,
                                 ctx.quiet)
    if method == "fp":
        model = ex.fresh_model(ctx.cfg, data, ctx.seed)
        tcfg = {**ctx.cfg["train"], **ctx.cfg["fp_pretrain"]}
    else:
        from lq_quant.layers import calibrate, quantize_model

        model = ex.fresh_model(ctx.cfg, data, ctx.seed)
        if fp_ckpt is not None:
            from reprokit import load_checkpoint

            model.load_state_dict(load_checkpoint(fp_ckpt)["state_dict"])
        quantize_model(model, method, wb, ab, ctx.cfg["first_last"], ctx.cfg["dq"])
        calibrate(model, ex.calib_batch(data, int(ctx.cfg["c2"]["calib_images"])))
        tcfg = ctx.cfg["train"]
    hist = train(model, data, tcfg, ctx.seed, ctx.device, ctx.run.log_metrics, ctx.quiet,
                 checkpoint=ctx.run.checkpoints / "last.pt", tag=f"{method} w{wb}a{ab}")
    acc = evaluate(model, data, ctx.device)
    arch = ex.arch_of(ctx.cfg, data, method, None if method == "fp" else wb, None if method == "fp" else ab)
    if _main_rank():
        save_checkpoint(ctx.run.checkpoints / "model.pt", ex.model_record(model.cpu(), arch))
    finish_run(ctx, dataset=data.name, data_note=data.note, claims=[], require_claims=False,
               metrics={"method": method, "wbits": wb, "abits": ab, "acc": acc, "train_loss": hist["loss"],
                        "steps": hist["steps"], "model": "checkpoints/model.pt"},
               title=TITLE, setting=_setting(ctx.cfg, data))
    if _main_rank():
        print(f"{method} W{wb}/A{ab}: top-1 {acc:.2f}%  (model: {ctx.run.checkpoints / 'model.pt'})")
    return 0


def _read_model_record(run_dir: Path) -> dict[str, Any]:
    from lq_quant.export import MODEL_KIND
    from reprokit import load_checkpoint

    path = run_dir / "checkpoints" / "model.pt"
    if not path.is_file():
        raise UsageError(f"--run {run_dir}: no checkpoints/model.pt; export needs a finished `lq-quant train` run")
    rec = load_checkpoint(path)
    if not isinstance(rec, dict) or rec.get("kind") != MODEL_KIND:
        kind = rec.get("kind") if isinstance(rec, dict) else type(rec).__name__
        raise UsageError(f"{path} is not an lq-quant model (kind {kind!r}); train one with `lq-quant train`")
    if rec["arch"].get("method") == "fp":
        raise UsageError(f"{path} is a full-precision model: nothing to export as codes (train with --method dq)")
    return rec


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    from lq_quant.export import build_from_arch, export_model, model_from_export

    out = Path(args.out)
    if not out.name.endswith(".pt"):
        raise UsageError(f"--out {out}: expected a .pt file name")
    if out.exists():
        raise UsageError(f"--out {out} exists; choose another file (nothing was overwritten)")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: no such directory {out.parent}")
    rec = _read_model_record(Path(args.run))
    model = build_from_arch(rec["arch"])
    try:
        model.load_state_dict(rec["state_dict"])
    except RuntimeError as e:
        raise UsageError(f"{args.run}: the model's weights do not fit its architecture: "
                         f"{str(e).splitlines()[0]}") from None
    exp = export_model(model, rec["arch"])
    a = rec["arch"]
    x = torch.randn(8, int(a["in_channels"]), int(a["image_size"]), int(a["image_size"]),
                    generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = torch.equal(model.eval()(x), model_from_export(exp)(x))
    if not same:
        raise RuntimeError("the exported model's outputs differ from the fake-quantized model's")
    buf = io.BytesIO()
    torch.save(exp, buf)
    atomic_write_bytes(out, buf.getvalue())
    print(f"exported {len(exp['layers'])} quantized layers to {out}: true size {exp['size_bytes']} bytes "
          f"({exp['size_bytes'] / exp['fp_size_bytes']:.4f} of float32 {exp['fp_size_bytes']}); outputs identical "
          "to the fake-quantized model")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from lq_quant.data import dataset_info
    from lq_quant.export import load_export, model_from_export
    from lq_quant.train import evaluate

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        exp = load_export(args.export)
        name = run.get("dataset") or cfg.get("dataset")
        info, a = dataset_info(name), exp["arch"]
        if int(a["num_classes"]) != info.num_classes or int(a["in_channels"]) != info.in_channels:
            raise UsageError(f"{args.export}: the model has {a['num_classes']} classes / {a['in_channels']} input "
                             f"channels, dataset {name!r} has {info.num_classes} / {info.in_channels}")
        holder["model"] = model_from_export(exp, str(args.export))
        holder["exp"] = exp

    ctx, data = _start(args, precheck, downsample=lambda: int(holder["exp"]["arch"].get("downsample", 1)))
    exp = holder["exp"]
    acc = evaluate(holder["model"], data, ctx.device)
    a = exp["arch"]
    metrics = {"export": str(args.export), "method": a["method"], "wbits": a["wbits"], "abits": a["abits"],
               "acc": acc, "size_bytes": exp["size_bytes"], "fp_size_bytes": exp["fp_size_bytes"],
               "size_ratio": exp["size_bytes"] / exp["fp_size_bytes"]}
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=[], require_claims=False,
               title=TITLE)
    if _main_rank():
        print(f"{args.export}: top-1 {acc:.2f}% on {data.name} test ({data.n_test} images); size "
              f"{exp['size_bytes']} bytes")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from lq_quant.data import describe_datasets, load_dataset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':14} {'format':24} {'classes':>7}  present  where")
        for r in describe_datasets(data_dir):
            print(f"{r['name']:14} {r['format']:24} {r['classes']:>7}  {'yes' if r['present'] else 'no':7}  "
                  f"{r['where']}")
        return 0
    data = load_dataset(args.dataset, data_dir)
    print(f"ok: {data.note}; {data.num_classes} classes, {data.in_channels} channel(s), {data.image_size} px")
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    from lq_quant.layers import METHODS

    p = ArgumentParser(prog="lq-quant", description="Direct quantization with learnable levels and channel-aware "
                       "activation quantizers, with DoReFa / LQ-Nets-style / LSQ baselines.")
    p.add_argument("--version", action="version", version=f"lq-quant {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="methods × bits × paired seeds, per-channel errors, claims, report"))
    t = add_run_args(sub.add_parser("train", help="train one model (e.g. --method dq --wbits 2 --abits 2)"))
    t.add_argument("--method", choices=list(METHODS), default=None, help="fp|dq|dorefa|lqnets|lsq (default dq)")
    t.add_argument("--wbits", type=_bits, default=None, help="weight bits, 1..8 (default: the preset's, 2)")
    t.add_argument("--abits", type=_bits, default=None, help="activation bits, 1..8 (default: --wbits)")
    t.add_argument("--model", default=None, help="cnn|resnet20|resnet18|alexnet|mobilenetv2 (default: the preset's)")
    t.add_argument("--epochs", type=positive_int, default=None, help="quantized fine-tuning epochs")
    e = sub.add_parser("export", help="integer codes + levels of a trained run, its true size, exactness check")
    e.add_argument("--run", required=True, type=existing_dir, help="a finished `lq-quant train` run directory")
    e.add_argument("--out", required=True, type=Path, help="the export file to write (FILE.pt; must not exist)")
    v = add_run_args(sub.add_parser("evaluate", help="run an exported model on a test set"))
    v.add_argument("--export", required=True, type=existing_file(".pt"), help="a file from `lq-quant export`")
    data = sub.add_parser("data", help="datasets: list | check")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their on-disk format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and report what was found")
    dc.add_argument("--dataset", default="fashion-mnist", help="dataset name (default fashion-mnist)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "train": cmd_train, "export": cmd_export, "evaluate": cmd_evaluate,
            "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == "train":
        extra = []
        if args.method is not None:
            extra.append(f"single.method={args.method}")
        if args.wbits is not None:
            extra.append(f"single.wbits={args.wbits}")
        ab = args.abits if args.abits is not None else args.wbits
        if ab is not None:
            extra.append(f"single.abits={ab}")
        if args.model is not None:
            from lq_quant.models import MODELS

            if args.model not in MODELS:
                raise UsageError(f"unknown model {args.model!r}; choose one of: {', '.join(MODELS)}")
            extra.append(f"model.name={args.model}")
        if args.epochs is not None:
            extra.append(f"train.epochs={args.epochs}")
        if extra and args.resume is not None:
            raise UsageError("--method/--wbits/--abits/--model/--epochs cannot be combined with --resume")
        args.overrides = [*extra, *args.overrides]
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
