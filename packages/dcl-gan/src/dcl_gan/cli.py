"""The ``dcl-gan`` command: reproduce, pretrain, adapt, evaluate, sample, data list|check, --version."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dcl_gan import METHODS, __version__
from reprokit import ArgumentParser, UsageError, add_run_args, finish_run, positive_int, run_main, start_run
from reprokit.cli import data_dir_from

TITLE = "A Closer Look at Few-shot Image Generation (CVPR 2022): analysis framework and DCL"


# ------------------------------------------------------------------------------------------ checks
def _precheck(args: argparse.Namespace, cfg: dict[str, Any], run: dict[str, Any], *, needs_data: bool = True,
              needs_source: bool = False) -> None:
    """Every user mistake is refused here, before a run directory exists."""
    from dcl_gan.data import check_dataset
    from dcl_gan.experiments import ADAPTED_KIND, SOURCE_KIND, check_arch, load_gan, read_checkpoint
    from dcl_gan.models import arch_of

    name = run.get("dataset") or cfg.get("dataset")
    data_dir = Path(run["data_dir"]) if run.get("data_dir") else None
    if needs_data:
        check_dataset(name, data_dir, cfg)
    from dcl_gan.perceptual import check_inception_file, check_lpips_files

    e = cfg["eval"]
    w = e.get("inception_weights")
    if w and not Path(w).is_file():
        raise UsageError(f"eval.inception_weights: no such file {w} (a torchvision inception_v3 state dict)")
    if w:
        check_inception_file(Path(w))
    lb, lw = e.get("lpips_backbone"), e.get("lpips_weights")
    if bool(lb) != bool(lw):
        raise UsageError("LPIPS needs both eval.lpips_backbone (a torchvision vgg16/alexnet state dict) and "
                         "eval.lpips_weights (the lpips package's vgg.pth/alex.pth lin weights)")
    if lw:
        check_lpips_files(e.get("lpips_net") or "vgg", Path(lb), Path(lw))
    src = getattr(args, "source_ckpt", None)
    if src is not None:
        cfg["source"]["checkpoint"] = str(src)
    arch = arch_of(cfg, int(cfg["data"]["channels"]), int(cfg["data"]["image_size"]))
    if needs_source:
        ck = cfg["source"].get("checkpoint")
        if ck:
            rec = read_checkpoint(Path(ck), (SOURCE_KIND,))
            check_arch(Path(ck), rec, arch)
            if "D" not in rec:
                raise UsageError(f"{ck}: the source checkpoint has no discriminator ('D'); adaptation needs one")
            load_gan(rec, Path(ck))
        elif int(cfg["source"]["iters"]) < 1:
            raise UsageError("no source generator: give --source-ckpt / --set source.checkpoint=FILE (from "
                             "`dcl-gan pretrain`) or --set source.iters=N to pretrain one here")
    ck = getattr(args, "ckpt", None)
    if ck is not None:
        rec = read_checkpoint(Path(ck), (SOURCE_KIND, ADAPTED_KIND))
        if needs_data:
            check_arch(Path(ck), rec, arch)
        load_gan(rec, Path(ck))


def _start(args: argparse.Namespace, **kw):
    from dcl_gan.schema import Config
    from reprokit.device import configure_threads

    ctx = start_run(args, dist="dcl-gan", module="dcl_gan", version=__version__, schema=Config,
                    precheck=lambda cfg, run: _precheck(args, cfg, run, **kw))
    configure_threads(ctx.cfg.get("threads"))
    return ctx


def _data(ctx):
    from dcl_gan.data import load_dataset

    return load_dataset(ctx.dataset, ctx.data_dir, ctx.cfg)


def _setting(cfg: dict, data, n_seeds: int | None = None) -> str:
    a, s = cfg["adapt"], cfg["source"]
    src = f"source {cfg['source']['checkpoint']}" if s.get("checkpoint") else f"source pretrained {s['iters']} it"
    return (f"{cfg['model']['name']} (z {cfg['model']['z_dim']}, width {cfg['model']['width']}) at "
            f"{data.size}x{data.size}, {len(data.source)} source images, {len(data.shots)} shots; {src}; "
            f"{a['iters']} adaptation it, batch {a['batch_size']}, lr {a['lr_g']}, {a['n_evals']} evaluations"
            + (f", {n_seeds} paired seeds" if n_seeds else ""))


# ---------------------------------------------------------------------------------------- commands
def cmd_reproduce(args: argparse.Namespace) -> int:
    from dcl_gan import experiments as ex

    ctx = _start(args, needs_source=True)
    data = _data(ctx)
    res = ex.run_all(ctx.cfg, data, ctx.run.checkpoints, ctx.seed, ctx.device, ctx.quiet, ctx.run.log_metrics)
    claims, metrics, sections = ex.claims(res, ctx.cfg)
    metrics.update({f"eval_{k}": round(v, 4) for k, v in res["nets"].items()})
    metrics["fid_metric"] = res["fid_name"]
    metrics["diversity_metric"] = res["div_name"]
    figs = [ex.draw_curves(res, ctx.run.figures / "curves.png"), ex.draw_grids(res, ctx.run.figures / "grids.png")]
    sections.insert(0, ("What is measured", _measures_md(res)))
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=claims, title=TITLE,
               setting=_setting(ctx.cfg, data, len(res["seeds"])), figures=figs, sections=sections,
               extra={"source": res["source_info"], "eval_at": res["eval_at"],
                      "curves": {m: {str(s): r["curve"] for s, r in res["runs"][m].items()} for m in res["methods"]}})
    return 0


def _measures_md(res: dict) -> str:
    return ("- quality: p_t, the mean probability a source-vs-target CNN trained in-package (train split only) "
            f"assigns to 'target'; {res['fid_name']} against the full target domain.\n"
            f"- diversity: {res['div_name']}: each generated image joins its nearest shot's cluster; mean "
            + ("pairwise LPIPS (local backbone and lin weights) " if res["div_name"].startswith("intra-LPIPS") else
               "pairwise LPIPS-style distance on the in-package feature net (uniform layer weights, not LPIPS-VGG) ")
            + "over up to 50 members, averaged over clusters.\n"
            "- retained diversity: the mean over evaluations after iteration 0 of intra-cluster distance divided by "
            "its value for the source generator (iteration 0).\n"
            "- verdict rule (DESIGN item 8): reproduced when the 95 % paired-t CI over seeds excludes 0 in the "
            "paper's direction and the mean reaches the smallest effect; not reproduced when the whole CI lies "
            "below it; inconclusive otherwise. C1's quality part is an equivalence rule: every method's Δp_t CI "
            "inside ±quality_margin.")


def cmd_pretrain(args: argparse.Namespace) -> int:
    from dcl_gan import experiments as ex
    from dcl_gan.data import to_float
    from dcl_gan.models import arch_of, build_gan
    from dcl_gan.train import pretrain
    from reprokit import progress

    ctx = _start(args)
    if int(ctx.cfg["source"]["iters"]) < 1:
        raise UsageError("source.iters must be ≥ 1 for pretrain")
    data = _data(ctx)
    arch = arch_of(ctx.cfg, data.channels, data.size)
    G, D = build_gan(arch)
    last = pretrain(G, D, to_float(data.source), ctx.cfg["source"], ctx.seed, ctx.device,
                    progress=lambda it, desc: progress(it, quiet=ctx.quiet, desc=desc), log_fn=ctx.run.log_metrics)
    path = ex.save_gan(ctx.run.checkpoints / "source.pt", ex.SOURCE_KIND, arch, G, D,
                       pretrain_iters=int(ctx.cfg["source"]["iters"]), dataset=data.name)
    import torch

    z = ex.eval_latents(64, G.z_dim, ctx.seed)
    with torch.no_grad():
        G.eval()
        imgs = G(z.to(ctx.device)).cpu()
    from dcl_gan.data import to_uint8

    fig = ex.save_grid_png(to_uint8(imgs), ctx.run.figures / "source_samples.png")
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics={"checkpoint": str(path), **last}, claims=[],
               require_claims=False, setting=_setting(ctx.cfg, data), figures=[fig], title=TITLE)
    print(f"source checkpoint: {path}")
    return 0


def cmd_adapt(args: argparse.Namespace) -> int:
    from dcl_gan import experiments as ex
    from dcl_gan.models import arch_of

    ctx = _start(args, needs_source=True)
    data = _data(ctx)
    nets = ex.evaluation_nets(ctx.cfg, data, ctx.run.checkpoints, ctx.seed, ctx.quiet)
    G_s, D_s, info = ex.source_gan(ctx.cfg, data, ctx.run.checkpoints, ctx.seed, ctx.device, ctx.quiet,
                                   ctx.run.log_metrics)
    ev = ex.make_evaluator(ctx.cfg, data, nets, ctx.device)
    rec, G_t = ex.run_one(args.method, ctx.seed, ctx.cfg, data, G_s, D_s, ev, ctx.device, ctx.quiet,
                          ctx.run.log_metrics)
    arch = arch_of(ctx.cfg, data.channels, data.size)
    path = ex.save_gan(ctx.run.checkpoints / "adapted.pt", ex.ADAPTED_KIND, arch, G_t, method=args.method)
    res = {"runs": {args.method: {ctx.seed: rec}}, "methods": [args.method], "seeds": [ctx.seed],
           "fid_name": ev.fid_name, "div_name": ev.div_name, "eval_at": [r["iter"] for r in rec["curve"]],
           "grids": {args.method: ex.to_uint8(ev.generate(G_t, ex.eval_latents(16, G_t.z_dim, ctx.seed)))},
           "source_grid": ex.to_uint8(ev.generate(G_s, ex.eval_latents(16, G_t.z_dim, ctx.seed))),
           "shots": data.shots}
    figs = [ex.draw_curves(res, ctx.run.figures / "curves.png"), ex.draw_grids(res, ctx.run.figures / "grids.png")]
    last = rec["curve"][-1]
    finish_run(ctx, dataset=data.name, data_note=data.note, claims=[], require_claims=False, title=TITLE,
               metrics={"method": args.method, "checkpoint": str(path), **{f"final_{k}": v for k, v in last.items()},
                        "s_per_iter": rec["s_per_iter"], "fid_metric": ev.fid_name, "diversity_metric": ev.div_name},
               setting=_setting(ctx.cfg, data), figures=figs, extra={"curve": rec["curve"], "source": info},
               sections=[("Final numbers", ex.final_table_md(res))])
    print(f"adapted checkpoint: {path}; final p_t {last['p_t']:.3f}, {ev.fid_name} {last['fid']:.2f}, "
          f"{ev.div_name} {last['intra_div']:.4f}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dcl_gan import experiments as ex

    ctx = _start(args)
    data = _data(ctx)
    rec = ex.read_checkpoint(Path(args.ckpt))
    G, _ = ex.load_gan(rec, Path(args.ckpt))
    G = G.to(ctx.device)
    nets = ex.evaluation_nets(ctx.cfg, data, ctx.run.checkpoints, ctx.seed, ctx.quiet)
    ev = ex.make_evaluator(ctx.cfg, data, nets, ctx.device)
    m = ev(G, ex.eval_latents(ev.n_samples, G.z_dim, ctx.seed), ctx.seed)
    finish_run(ctx, dataset=data.name, data_note=data.note, claims=[], require_claims=False, title=TITLE,
               metrics={"checkpoint": str(args.ckpt), "kind": rec["kind"], "method": rec.get("method", "source"), **m,
                        "fid_metric": ev.fid_name, "diversity_metric": ev.div_name, "n_samples": ev.n_samples})
    print(f"{args.ckpt}: p_t {m['p_t']:.3f}, {ev.fid_name} {m['fid']:.2f}, {ev.div_name} "
          f"{m['intra_div']:.4f} ({m['clusters_used']} clusters)")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from dcl_gan import experiments as ex
    from reprokit import atomic_write_bytes

    ctx = _start(args, needs_data=False)
    rec = ex.read_checkpoint(Path(args.ckpt))
    G, _ = ex.load_gan(rec, Path(args.ckpt))
    G = G.to(ctx.device).eval()
    z = ex.eval_latents(args.n, G.z_dim, ctx.seed)
    with torch.no_grad():
        imgs = torch.cat([G(z[i: i + 256].to(ctx.device)).cpu() for i in range(0, len(z), 256)])
    u8 = ex.to_uint8(imgs)
    import io

    buf = io.BytesIO()
    np.savez(buf, images=u8, z=z.numpy())
    atomic_write_bytes(ctx.run.path / "samples.npz", buf.getvalue())
    fig = ex.save_grid_png(u8[:64], ctx.run.figures / "samples.png")
    finish_run(ctx, dataset="none", data_note="samples of a checkpoint", claims=[], require_claims=False,
               metrics={"checkpoint": str(args.ckpt), "n": args.n, "samples": "samples.npz"}, figures=[fig],
               title=TITLE)
    print(f"{args.n} samples: {ctx.run.path / 'samples.npz'}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from dcl_gan.data import check_dataset, describe_datasets, load_dataset
    from reprokit import load_preset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':15} {'present':8} {'where':40} format")
        for r in describe_datasets(data_dir):
            print(f"{r['name']:15} {'yes' if r['present'] else 'no':8} {r['where']:40} {r['format']}")
        return 0
    cfg = load_preset("dcl_gan", "quick")
    name = args.dataset or cfg["dataset"]
    check_dataset(name, data_dir, cfg)
    data = load_dataset(name, data_dir, cfg)
    print(f"ok: {data.note}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="dcl-gan", description="Few-shot GAN adaptation: TGAN, FreezeD, EWC, CDC and DCL in one "
                       "harness, with the analysis framework of Zhao et al. (CVPR 2022).")
    p.add_argument("--version", action="version", version=f"dcl-gan {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="every method x paired seeds, curves, claims and report"))
    add_run_args(sub.add_parser("pretrain", help="train a source GAN on the dataset's source domain"))
    a = add_run_args(sub.add_parser("adapt", help="adapt a source GAN to the 10 shots with one method"))
    a.add_argument("--method", required=True, choices=list(METHODS), help="adaptation method")
    a.add_argument("--source-ckpt", type=Path, default=None, help="source checkpoint from `dcl-gan pretrain`")
    e = add_run_args(sub.add_parser("evaluate", help="p_t, FID and intra-cluster diversity of a checkpoint"))
    e.add_argument("--ckpt", type=Path, required=True, help="a dcl-gan source or adapted checkpoint")
    s = add_run_args(sub.add_parser("sample", help="draw samples of a checkpoint (samples.npz + a grid)"))
    s.add_argument("--ckpt", type=Path, required=True, help="a dcl-gan source or adapted checkpoint")
    s.add_argument("--n", type=positive_int, default=64, help="number of samples (default 64)")
    d = sub.add_parser("data", help="datasets: list | check")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and say what was found")
    dc.add_argument("--dataset", default=None, help="dataset name (default: the quick preset's)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "pretrain": cmd_pretrain, "adapt": cmd_adapt, "evaluate": cmd_evaluate,
            "sample": cmd_sample, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
