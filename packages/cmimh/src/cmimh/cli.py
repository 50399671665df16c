"""The ``cmimh`` command: reproduce, train, encode, evaluate, data list|check, --version."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cmimh import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    atomic_write_json,
    existing_file,
    finish_run,
    positive_int,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

TITLE = "Cross-Modal Info-Max Hashing (CMIMH, Hoang et al., IEEE TNNLS 2023)"
TRAINABLE = ("cmimh", "djsrh", "cca_itq")


# ------------------------------------------------------------------------------------------ helpers
def _data_check(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    from cmimh.data import check_dataset

    name = run.get("dataset") or cfg.get("dataset")
    check_dataset(name, Path(run["data_dir"]) if run.get("data_dir") else None)


def _load(ctx):
    from cmimh.data import load_dataset

    d = ctx.cfg["data"]
    data = load_dataset(ctx.dataset, ctx.data_dir, n_labels=int(d["n_labels"]), image_size=int(d["image_size"]))
    n = len(data)
    if int(d["n_query"]) + int(d["n_train"]) > n:  # the offline set's size is known only once loaded
        raise UsageError(f"{data.name} has {n} items: data.n_query={d['n_query']} + data.n_train={d['n_train']} "
                         f"must not exceed it; lower them with --set")
    return data


def _precheck_sizes(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    _data_check(cfg, run)
    name = run.get("dataset") or cfg.get("dataset")
    if name == "openmoji":
        from cmimh.data import load_openmoji

        d = cfg["data"]
        n = len(load_openmoji(int(d["n_labels"]), int(d["image_size"])))
        if int(d["n_query"]) + int(d["n_train"]) > n:
            raise UsageError(f"openmoji has {n} items with n_labels={d['n_labels']}: data.n_query + data.n_train = "
                             f"{int(d['n_query']) + int(d['n_train'])} exceeds it; lower them with --set")
    elif run.get("data_dir"):
        from cmimh.data import load_dataset

        d = cfg["data"]
        data = load_dataset(name, Path(run["data_dir"]))
        if int(d["n_query"]) + int(d["n_train"]) > len(data):
            raise UsageError(f"{name} has {len(data)} items: data.n_query + data.n_train = "
                             f"{int(d['n_query']) + int(d['n_train'])} exceeds it; lower them with --set")


def _start(args: argparse.Namespace, extra_check=None, torch: bool = True):
    from cmimh.schema import Config

    def precheck(cfg, run):
        if extra_check is not None:
            extra_check(cfg, run)
        _precheck_sizes(cfg, run)

    ctx = start_run(args, dist="cmimh", module="cmimh", version=__version__, schema=Config, precheck=precheck,
                    torch=torch)
    if torch:
        from reprokit.device import configure_threads

        configure_threads(ctx.cfg.get("threads"))
    return ctx


def _setting(cfg: dict[str, Any], data, features: str) -> str:
    d, t = cfg["data"], cfg["train"]
    return (f"{data.name}: {len(data)} items, {d['n_query']} queries, the rest retrieval, {d['n_train']} training; "
            f"features: {features}; MLP hidden {t['hidden']}, {t['epochs']} epochs, batch {t['batch_size']}, "
            f"Adam lr {t['lr']}; bits {cfg['bits']}; {cfg['n_seeds']} paired seeds")


# ---------------------------------------------------------------------------------------- commands
def cmd_reproduce(args: argparse.Namespace) -> int:
    from cmimh import experiments as ex

    ctx = _start(args)
    data = _load(ctx)
    res = ex.run_all(ctx.cfg, data, ctx.run.checkpoints, ctx.seed, ctx.quiet, ctx.run.log_metrics)
    claims, cmetrics = ex.make_claims(res, float(ctx.cfg["claims"]["min_effect"]))
    figures = ex.draw_figures(res, ctx.run.figures)
    atomic_write_json(ctx.run.path / "cells.json", {"main_cells": res["main"], "ablation_cells": res["ablation"]})
    metrics = {**ex.summary_metrics(res), "cells": "cells.json (every seed, method, direction and protocol)"}
    extra = {"tuning": res["tuning"], "config_used": res["config_used"], **cmetrics}
    ev = ctx.cfg["eval"]
    sections = [
        ("mAP by method, code length and direction", ex.main_table_md(res)),
        ("Peers on MIRFlickr-25K (I→T, whole-ranking mAP, from the paper file)",
         "| method | 16 | 32 | 64 |\n|---|---|---|---|\n| UGACH | .685 | .693 | .704 |\n"
         "| DJSRH | .652 | .697 | .700 |\n| JDSH | .724 | .734 | .741 |\n| UCCH | .739 | .744 | .754 |\n\n"
         "Those are MIRFlickr numbers with CNN features; this run uses the offline emoji set and pixel-PCA "
         "features, so only the ordering of methods is comparable."),
        ("Every protocol", ex.protocol_table_md(res, int(ev["topk"]), list(ev["p_at"]))),
        ("Ablations of the MI terms and the balancing weights", ex.ablation_table_md(res)),
        ("Tuning (same budget per method)", ex.tuning_table_md(res)),
    ]
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=claims, title=TITLE,
               setting=_setting(ctx.cfg, data, res["features"]), figures=figures, sections=sections, extra=extra)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cmimh import experiments as ex
    from cmimh.data import make_split, prepare_features
    from reprokit import save_checkpoint

    def check(cfg, run):
        if args.bits is not None and args.bits not in (8, 16, 24, 32, 48, 64, 96, 128):
            raise UsageError(f"--bits {args.bits}: choose one of 8, 16, 24, 32, 48, 64, 96, 128")

    ctx = _start(args, check)
    data = _load(ctx)
    cfg = ctx.cfg
    bits = int(args.bits or cfg["tuning"]["bits"])
    split = make_split(len(data), int(cfg["data"]["n_query"]), int(cfg["data"]["n_train"]), ctx.seed)
    feats = prepare_features(data, split, int(cfg["data"]["pca_dims"]))
    model = ex.fit_method(args.method, feats, split.train, bits, cfg, ctx.seed, ctx.run.log_metrics)
    r = ex.evaluate_model(model, feats, split.query, split.database, cfg, pr=False)
    metrics = {"method": args.method, "bits": bits, **{d: r[d] for d in ("i2t", "t2i", "i2i", "t2t")},
               "gap_bits": r["gap_bits"], "features": feats.description}
    files = []
    if args.method != "cca_itq":
        path = ctx.run.checkpoints / "model.pt"
        save_checkpoint(path, {**model.state(), "transform": feats.transform.to_dict(), "dataset": data.name,
                               "n_items": len(data), "package": "cmimh"})
        metrics["checkpoint"] = str(path)
        files.append(path)
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=[], require_claims=False,
               title=TITLE, setting=f"{args.method}, {bits} bits; " + feats.description)
    print(f"{args.method} {bits} bits: mAP i2t {r['i2t']['map']:.4f}, t2i {r['t2i']['map']:.4f}"
          + (f"; checkpoint {files[0]}" if files else ""))
    return 0


def _read_hasher(path: Path):
    """A cmimh train checkpoint; anything else (another package's, a text file) is refused by name."""
    import torch

    try:
        rec = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise UsageError(f"{path}: not a readable torch checkpoint ({type(e).__name__})") from None
    if not isinstance(rec, dict) or rec.get("kind") != "cmimh-hasher" or "transform" not in rec:
        raise UsageError(f"{path}: not a cmimh model checkpoint (make one with `cmimh train`)")
    return rec


def cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from cmimh.data import FeatureTransform, load_dataset, make_split
    from cmimh.train import CrossModalHasher
    from reprokit import atomic_write_bytes

    holder: dict[str, Any] = {}

    def check(cfg, run):
        rec = _read_hasher(Path(args.checkpoint))
        name = run.get("dataset") or cfg.get("dataset")
        _data_check(cfg, run)
        d = cfg["data"]
        data = load_dataset(name, Path(run["data_dir"]) if run.get("data_dir") else None,
                            n_labels=int(d["n_labels"]), image_size=int(d["image_size"]))
        FeatureTransform.from_dict(rec["transform"]).check(data)
        holder["rec"] = rec

    ctx = _start(args, check)
    rec = holder["rec"]
    data = _load(ctx)
    tf = FeatureTransform.from_dict(rec["transform"])
    tf.check(data)
    model = CrossModalHasher.from_state(rec)
    split = make_split(len(data), int(ctx.cfg["data"]["n_query"]), int(ctx.cfg["data"]["n_train"]), ctx.seed)
    img, txt = tf.image(data.images), tf.text(data.texts)
    codes = {"image": model.encode_image(img), "text": model.encode_text(txt)}
    written = {}
    import io

    for d, (qm, dm) in {"i2t": ("image", "text"), "t2i": ("text", "image"), "i2i": ("image", "image"),
                        "t2t": ("text", "text")}.items():
        buf = io.BytesIO()
        np.savez(buf, query_codes=codes[qm][split.query], db_codes=codes[dm][split.database],
                 query_labels=data.labels[split.query], db_labels=data.labels[split.database],
                 query_index=split.query, db_index=split.database)
        path = ctx.run.path / f"codes_{d}.npz"
        atomic_write_bytes(path, buf.getvalue())
        written[d] = path.name
    finish_run(ctx, dataset=data.name, data_note=data.note,
               metrics={"files": written, "bits": int(rec["bits"]), "method": rec["method"],
                        "n_query": len(split.query), "n_db": len(split.database)},
               claims=[], require_claims=False, title=TITLE, setting=f"{rec['method']} {rec['bits']} bits codes")
    print(f"codes: {', '.join(str(ctx.run.path / f) for f in written.values())}")
    return 0


def _check_codes_file(path: Path) -> dict[str, Any]:
    """issue #14's bad inputs for user codes: every problem is a UsageError naming the file."""
    import numpy as np

    from cmimh.evaluate import to_bits
    from reprokit import load_npz

    z = load_npz(path, required=("query_codes", "db_codes", "query_labels", "db_labels"))
    out = {}
    for k in ("query_codes", "db_codes"):
        try:
            out[k] = to_bits(z[k])
        except ValueError as e:
            raise UsageError(f"{path}: {k}: {e}") from None
        if out[k].shape[0] == 0 or out[k].shape[1] == 0:
            raise UsageError(f"{path}: {k} is empty (shape {out[k].shape})")
    for k in ("query_labels", "db_labels"):
        a = np.asarray(z[k])
        if a.ndim != 2 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise UsageError(f"{path}: {k} must be a numeric multi-hot (n, classes) array; got {a.dtype} {a.shape}")
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise UsageError(f"{path}: {k} hold NaN or infinite values")
        empty = np.flatnonzero((a > 0).sum(1) == 0) if a.size else np.array([0])
        if len(empty):
            raise UsageError(f"{path}: {k} has {len(empty)} empty row(s) (first: row {empty[0]}); every item needs "
                             "at least one label")
        out[k] = a > 0
    qc, dc, ql, dl = out["query_codes"], out["db_codes"], out["query_labels"], out["db_labels"]
    if qc.shape[1] != dc.shape[1]:
        raise UsageError(f"{path}: query codes have {qc.shape[1]} bits but database codes {dc.shape[1]}")
    if len(qc) != len(ql):
        raise UsageError(f"{path}: {len(qc)} query codes but {len(ql)} query label rows")
    if len(dc) != len(dl):
        raise UsageError(f"{path}: {len(dc)} database codes but {len(dl)} database label rows")
    if ql.shape[1] != dl.shape[1]:
        raise UsageError(f"{path}: query labels have {ql.shape[1]} classes but database labels {dl.shape[1]}")
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cmimh.evaluate import evaluate_retrieval

    holder: dict[str, Any] = {}

    def check(cfg, run):
        holder.update(_check_codes_file(Path(args.codes)))

    from cmimh.schema import Config

    ctx = start_run(args, dist="cmimh", module="cmimh", version=__version__, schema=Config, torch=False,
                    precheck=lambda cfg, run: check(cfg, run))
    c = holder
    topk = int(args.topk)
    p_at = sorted({topk, *(int(k) for k in ctx.cfg["eval"]["p_at"])})
    r = evaluate_retrieval(c["query_codes"], c["db_codes"], c["query_labels"], c["db_labels"], topk=(topk,),
                           p_at=tuple(p_at))
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax.plot(r["pr_curve"]["recall"], r["pr_curve"]["precision"], marker=".")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"PR by Hamming radius ({r['bits']} bits)", fontsize=9)
    fig.tight_layout()
    fig_path = ctx.run.figures / "pr_curve.png"
    fig.savefig(fig_path, dpi=110)
    plt.close(fig)
    protocol = ("Hamming ranking of bit-packed codes, ties broken by database index; relevance = ≥ 1 shared label; "
                f"map = whole ranking; map@{topk}_deephash = DeepHash CalcTopMap; map@{topk}_dcmh = DCMH calc_map_k; "
                "map_tie_aware = expected AP over random orders of equal-distance items; queries without relevant "
                "items count as AP 0")
    metrics = {**{k: v for k, v in r.items() if k != "pr_curve"}, "pr_curve": r["pr_curve"], "protocol": protocol}
    finish_run(ctx, dataset=f"user codes ({Path(args.codes).name})", data_note=f"codes from {Path(args.codes).name}",
               metrics=metrics, claims=[], require_claims=False, title="cmimh evaluate", setting=protocol,
               figures=[fig_path])
    print(f"mAP {r['map']:.4f} | mAP@{topk} DeepHash {r[f'map@{topk}_deephash']:.4f} | mAP@{topk} DCMH "
          f"{r[f'map@{topk}_dcmh']:.4f} | tie-aware mAP {r['map_tie_aware']:.4f} | P@{topk} {r[f'p@{topk}']:.4f}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from cmimh.data import describe_datasets, load_dataset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':13} {'format':60} present  where")
        for r in describe_datasets(data_dir):
            print(f"{r['name']:13} {r['format']:60} {'yes' if r['present'] else 'no':7}  {r['where']}")
        return 0
    data = load_dataset(args.dataset or "openmoji", data_dir)
    print(f"ok: {data.note}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="cmimh", description="Cross-Modal Info-Max Hashing: unsupervised image–text hashing by "
                       "variational MI bounds, with an exact, fast Hamming-ranking evaluation.")
    p.add_argument("--version", action="version", version=f"cmimh {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="CMIMH vs CCA-ITQ vs DJSRH-style at 16/32/64 bits, claims, report"))
    t = add_run_args(sub.add_parser("train", help="train one method on a dataset; writes a checkpoint and its mAP"))
    t.add_argument("--method", choices=list(TRAINABLE), default="cmimh", help="method (default cmimh)")
    t.add_argument("--bits", type=positive_int, default=None, help="code length (default: the preset's tuning.bits)")
    e = add_run_args(sub.add_parser("encode", help="codes (.npz, evaluate's format) of a trained model"))
    e.add_argument("--checkpoint", required=True, type=existing_file(".pt"), help="checkpoint from `cmimh train`")
    v = add_run_args(sub.add_parser("evaluate", help="retrieval metrics of your codes (.npz)"), device=False)
    v.add_argument("--codes", required=True, type=existing_file(".npz"),
                   help="npz with query_codes, db_codes ({0,1} or {-1,+1}, (n, bits)), query_labels, db_labels")
    v.add_argument("--topk", type=positive_int, default=50, help="k of mAP@k and P@k (default 50)")
    data = sub.add_parser("data", help="datasets: list | check")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and report what was found")
    dc.add_argument("--dataset", default=None, help="dataset name (default openmoji)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "train": cmd_train, "encode": cmd_encode, "evaluate": cmd_evaluate,
            "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
