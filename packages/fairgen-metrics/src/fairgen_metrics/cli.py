"""The ``fairgen-metrics`` command: reproduce, measure, benchmark, train-classifier, data list|check, --version."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairgen_metrics import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    existing_dir,
    existing_file,
    finish_run,
    positive_int,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

DIST, MODULE = "fairgen-metrics", "fairgen_metrics"
TITLE = "Measuring Fairness in Generative Models (Teo & Cheung 2021) + CLEAM correction (Teo et al. 2023)"


# ------------------------------------------------------------------------------------------ checks
def _check_dataset(name: str, data_dir: Path | None, cfg: dict[str, Any]) -> None:
    from fairgen_metrics import data as D

    if name not in D.DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(D.DATASETS)} (see `data list`)")
    if name == "fashion-mnist":
        D.fmnist_root(data_dir)
    elif name == "celeba":
        D.check_celeba(data_dir, list(cfg["data"]["attributes"]))
    else:
        if data_dir is None:
            raise UsageError("imagefolder needs --data-dir DIR with one subfolder of images per class")
        D.imagefolder_classes(data_dir)


def _n_base(name: str, data_dir: Path | None, cfg: dict[str, Any]) -> int:
    from fairgen_metrics import data as D

    if name == "fashion-mnist":
        return 10
    if name == "celeba":
        return 2 ** len(cfg["data"]["attributes"])
    return len(D.imagefolder_classes(data_dir))


def _precheck_reproduce(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    from fairgen_metrics.experiments import resolve_attribute

    name = run.get("dataset") or cfg["dataset"]
    data_dir = Path(run["data_dir"]) if run.get("data_dir") else None
    _check_dataset(name, data_dir, cfg)
    nb = _n_base(name, data_dir, cfg)
    for k, a in cfg["sweep"]["measured"].items():
        attr = resolve_attribute(name, a, cfg, nb)
        if attr.k != int(k):
            raise UsageError(f"sweep.measured.{k}: attribute {a!r} has {attr.k} classes, not {k}")
    attr = resolve_attribute(name, cfg["cleam"]["attribute"], cfg, nb)
    if attr.k != 2:
        raise UsageError(f"cleam.attribute {attr.name!r} has {attr.k} classes; the binary closed form needs 2")
    c = cfg["cleam"]
    if c.get("general_attribute"):
        ga = resolve_attribute(name, c["general_attribute"], cfg, nb)
        if c.get("general_p_star") is None or len(c["general_p_star"]) != ga.k:
            raise UsageError(f"cleam.general_p_star needs {ga.k} shares for attribute {ga.name!r}")
    resolve_attribute(name, cfg["gan"]["attribute"], cfg, nb)
    if cfg["classifier"]["train_size"] + cfg["classifier"]["val_size"] < 20:
        raise UsageError("classifier.train_size + classifier.val_size is too small")


def _start(args: argparse.Namespace, precheck=None, torch: bool = True):
    from fairgen_metrics.schema import Config
    from reprokit.device import configure_threads

    def check(cfg: dict[str, Any], run: dict[str, Any]) -> None:
        if int(run.get("seed", 0)) < 0:
            raise UsageError(f"--seed must be ≥ 0, got {run['seed']}")
        if precheck is not None:
            precheck(cfg, run)

    ctx = start_run(args, dist=DIST, module=MODULE, version=__version__, schema=Config, precheck=check,
                    torch=torch)
    if torch:
        configure_threads(ctx.cfg.get("threads"))
    return ctx


# -------------------------------------------------------------------------------------- reproduce
def cmd_reproduce(args: argparse.Namespace) -> int:
    from fairgen_metrics import experiments as ex
    from fairgen_metrics import figures as F
    from fairgen_metrics import report as R

    ctx = _start(args, _precheck_reproduce)
    data = ex.load_data(ctx.dataset, ctx.data_dir, ctx.cfg, ctx.seed)
    res = ex.run_all(ctx.cfg, data, ctx.run, ctx.device, ctx.seed, ctx.quiet, ctx.run.log_metrics)
    claims, metrics = ex.claims(res, ctx.cfg)
    fig = ctx.run.figures
    figures = [F.sweep_figure(res["sweep"]["exact"], fig / "sweep_exact.png"),
               F.linearity_figure(res["sweep"]["exact"], fig / "linearity_error.png"),
               F.error_figure(res["error_analysis"], fig / "measurement_error.png")]
    if "error" not in res["cleam"]["binary"]:
        figures.append(F.cleam_figure(res["cleam"]["binary"], fig / "cleam_trials.png"))
    if res["sweep"]["measured"]:
        figures.append(F.sweep_figure(res["sweep"]["measured"], fig / "sweep_measured.png", "measured"))
    if res["gan_preview"] is not None:
        figures.append(F.samples_figure(res["gan_preview"], fig / "gan_samples.png"))
    from reprokit import atomic_write_json

    atomic_write_json(ctx.run.path / "results.json", {k: v for k, v in res.items() if k != "gan_preview"})
    finish_run(ctx, dataset=data.name, data_note=data.note + "; pseudo-generators with known p* sample held-out "
               "real images (and, as a shift check, the test split); a small GAN trained in-package is the real "
               "generator", metrics=metrics, claims=claims,
               title=TITLE, setting=R.setting(ctx.cfg, res), figures=figures, sections=R.sections(res, ctx.cfg))
    return 0


# -------------------------------------------------------------------------------------- benchmark
def cmd_benchmark(args: argparse.Namespace) -> int:
    from fairgen_metrics import figures as F
    from fairgen_metrics import report as R
    from fairgen_metrics.sweep import cardinality_spread, classic_vs_proposed, run_sweep

    ctx = _start(args, torch=False)
    s = ctx.cfg["sweep"]
    sw = run_sweep(tuple(int(k) for k in s["cardinalities"]), hamming=bool(s.get("hamming", True)))
    figs = [F.sweep_figure(sw, ctx.run.figures / "sweep_exact.png"),
            F.linearity_figure(sw, ctx.run.figures / "linearity_error.png")]
    res = {"exact": sw, "classic_vs_proposed": classic_vs_proposed(sw), "cardinality_spread": cardinality_spread(sw)}
    table = R.linearity_table(sw)
    from reprokit import atomic_write_json

    atomic_write_json(ctx.run.path / "sweep.json", sw)
    finish_run(ctx, dataset="none (exact distributions)", data_note="the paper's sweep, one-hot → uniform",
               metrics={"classic_vs_proposed": res["classic_vs_proposed"], "sweep": "sweep.json"}, claims=[],
               require_claims=False, title=TITLE, figures=figs,
               sections=[("Linearity of each normalised metric along the sweep", table)])
    print(table)
    return 0


# ---------------------------------------------------------------------------------------- measure
def _precheck_measure(args: argparse.Namespace, stash: dict[str, Any]):
    def check(cfg: dict[str, Any], run: dict[str, Any]) -> None:
        import numpy as np

        from fairgen_metrics import measure as M
        from reprokit import load_array

        sources = [s for s in ("labels", "images", "counts") if getattr(args, s) is not None]
        if len(sources) != 1:
            raise UsageError("give exactly one of --labels FILE, --images DIR (with --classifier) or --counts c0,c1,…")
        if args.batches is not None:
            cfg["measure"]["batches"] = int(args.batches)
        stored = None
        k = args.num_classes
        if args.images is not None:
            if args.classifier is None:
                raise UsageError("--images needs --classifier CKPT (a checkpoint from "
                                 "`fairgen-metrics train-classifier`)")
            from fairgen_metrics.train import read_classifier_record

            rec = read_classifier_record(args.classifier)
            if k is not None and k != rec["num_classes"]:
                raise UsageError(f"{args.classifier}: the classifier has {rec['num_classes']} classes, but "
                                 f"--num-classes is {k}")
            k = int(rec["num_classes"])
            stored = rec.get("confusion")
            from fairgen_metrics import data as D

            x = D.load_image_dir(args.images, rec["image_size"], rec["in_channels"])
            from fairgen_metrics.train import load_classifier, predict_logits
            from reprokit.device import resolve_device

            model = load_classifier(rec, resolve_device(run.get("device") or "auto"))
            logits = predict_logits(model, x, next(model.parameters()).device, int(cfg["measure"]["image_batch"]))
            labels, kind = logits.argmax(1).astype(np.int64), f"{len(x)} images classified by {args.classifier.name}"
            stash["class_names"] = rec.get("class_names")
        else:
            if args.classifier is not None:
                raise UsageError("--classifier goes with --images DIR")
            if k is None:
                raise UsageError("--num-classes K is required with --labels / --counts")
            if k < 2:
                raise UsageError(f"--num-classes must be at least 2, got {k}")
            if args.labels is not None:
                labels, kind = M.labels_from_array(load_array(args.labels), k, str(args.labels))
            else:
                labels, kind = M.labels_from_counts(args.counts, k), "class counts"
        ref = M.parse_reference(args.reference, k)
        conf, conf_src = M.resolve_confusion(k, args.classifier_accuracy, args.confusion, stored)
        s = int(cfg["measure"]["batches"])
        if cfg["measure"]["batching"] == "split" and labels.size < s:
            raise UsageError(f"{labels.size} samples cannot fill {s} disjoint batches; lower --batches")
        if cfg["measure"]["ground"] == "hamming" and (k & (k - 1)):
            raise UsageError(f"measure.ground=hamming needs 2^m classes, got K = {k}")
        stash.update(labels=labels, k=k, ref=ref, conf=conf, conf_src=conf_src, kind=kind)

    return check


def cmd_measure(args: argparse.Namespace) -> int:
    from fairgen_metrics import measure as M

    stash: dict[str, Any] = {}
    ctx = _start(args, _precheck_measure(args, stash), torch=args.images is not None)
    m = ctx.cfg["measure"]
    res = M.measure(stash["labels"], stash["k"], stash["ref"], stash["conf"], int(m["batches"]), m["batching"],
                    m.get("batch_size"), m["ground"], ctx.seed, int(m["bootstrap"]))
    res["input"] = stash["kind"]
    res["correction_from"] = stash["conf_src"]
    table = M.table(res)
    from fairgen_metrics.figures import proportions_figure

    fig = proportions_figure(res, ctx.run.figures / "proportions.png")
    src = args.labels or args.images or "counts"
    finish_run(ctx, dataset=str(Path(src).name if src != "counts" else "counts"), data_note=stash["kind"],
               metrics=res, claims=[], require_claims=False, title="fairgen-metrics measure",
               setting=f"K = {stash['k']}, n = {res['n']}, S = {res['batches']} {res['batching']} batches, "
                       f"correction: {stash['conf_src']}",
               sections=[("Proportions and metrics (95% CIs over the S batches)", table)], figures=[fig])
    print(table)
    print(f"result: {ctx.run.path / 'summary.json'}")
    return 0


# ------------------------------------------------------------------------------- train-classifier
def _precheck_train(args: argparse.Namespace):
    def check(cfg: dict[str, Any], run: dict[str, Any]) -> None:
        from fairgen_metrics.experiments import resolve_attribute

        name = run.get("dataset") or cfg["dataset"]
        if args.attribute:
            cfg["train"]["attribute"] = args.attribute
        attr = cfg["train"]["attribute"]
        if name == "celeba":
            cfg["data"]["attributes"] = attr.split("+")
            cfg["train"]["attribute"] = "class"
        elif name == "imagefolder":
            cfg["train"]["attribute"] = "class"
        data_dir = Path(run["data_dir"]) if run.get("data_dir") else None
        _check_dataset(name, data_dir, cfg)
        resolve_attribute(name, cfg["train"]["attribute"], cfg, _n_base(name, data_dir, cfg))

    return check


def cmd_train_classifier(args: argparse.Namespace) -> int:
    import numpy as np

    from fairgen_metrics import correction as cc
    from fairgen_metrics import experiments as ex
    from fairgen_metrics import train as T

    ctx = _start(args, _precheck_train(args))
    data = ex.load_data(ctx.dataset, ctx.data_dir, ctx.cfg, ctx.seed)
    attr = ex.resolve_attribute(data.name, ctx.cfg["train"]["attribute"], ctx.cfg, data.num_classes)
    y_all = attr.labels(data.y_train, data.num_classes)
    keep = np.flatnonzero(y_all >= 0)
    x, y = data.x_train[keep], y_all[keep]
    c = ctx.cfg["classifier"]
    tr, va, _ = ex.split_train(y, c["train_size"], c["val_size"], ctx.seed)
    model = T.train_classifier(x[tr], y[tr], attr.k, c, ctx.seed, ctx.device, ctx.quiet, ctx.run.log_metrics)
    pred = T.predict_logits(model, x[va], ctx.device).argmax(1)
    conf, counts = cc.confusion_matrix(y[va], pred, attr.k)
    yt = attr.labels(data.y_test, data.num_classes)
    tk = yt >= 0
    test_acc = float((T.predict_logits(model, data.x_test[tk], ctx.device).argmax(1) == yt[tk]).mean())
    path = ctx.run.checkpoints / "classifier.pt"
    T.save_classifier(path, model, num_classes=attr.k, in_channels=x.shape[1], image_size=x.shape[-1],
                      class_names=attr.names, cfg=c, confusion=conf, val_counts=counts, dataset=data.name,
                      attribute=attr.name if data.name != "celeba" else "+".join(ctx.cfg["data"]["attributes"]))
    result = {"classifier": str(path), "attribute": attr.name, "classes": attr.names, "num_classes": attr.k,
              "train_images": len(tr), "val_images": len(va),
              "val_accuracy": float((pred == y[va]).mean()), "test_accuracy": test_acc,
              "per_class_accuracy": np.diag(conf).tolist(), "confusion": conf.tolist()}
    from fairgen_metrics.figures import confusion_figure

    fig = confusion_figure(conf, attr.names, ctx.run.figures / "confusion.png")
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=result, claims=[], require_claims=False,
               title="fairgen-metrics train-classifier", figures=[fig])
    per = ", ".join(f"{a:.3f}" for a in result["per_class_accuracy"])
    print(f"val accuracy {result['val_accuracy']:.4f}, per class {per}")
    print(f"classifier: {path}")
    return 0


# ------------------------------------------------------------------------------------------- data
def cmd_data(args: argparse.Namespace) -> int:
    from fairgen_metrics import data as D

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':14} {'format':42} present  where")
        for r in D.describe_datasets(data_dir):
            print(f"{r['name']:14} {r['format']:42} {'yes' if r['present'] else 'no':7}  {r['where']}")
        print("fashion-mnist attributes: " + ", ".join(f"{k} ({len(v['groups'])} classes)"
                                                       for k, v in D.FMNIST_ATTRIBUTES.items()))
        return 0
    name = args.dataset or "fashion-mnist"
    if name == "fashion-mnist":
        d = D.load_fashion_mnist(data_dir)
    elif name == "celeba":
        attrs = (args.attribute or "Male").split("+")
        D.check_celeba(data_dir, attrs)
        files, names, _ = D.read_celeba_attrs(D.celeba_paths(data_dir)[0])
        print(f"ok: CelebA attribute list with {len(files)} images and {len(names)} attributes")
        return 0
    elif name == "imagefolder":
        if data_dir is None:
            raise UsageError("imagefolder needs --data-dir")
        cls = D.imagefolder_classes(data_dir)
        print(f"ok: {len(cls)} classes: {', '.join(cls)}")
        return 0
    else:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(D.DATASETS)}")
    print(f"ok: {d.note}; {d.num_classes} classes, images {tuple(d.x_train.shape[1:])}")
    return 0


# ----------------------------------------------------------------------------------------- parser
def _measure_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=["smoke", "quick", "paper"], default="quick",
                   help="preset holding the measure settings (default: quick)")
    p.add_argument("--out", type=Path, default=None,
                   help="run directory (default: runs/fairgen-metrics/<time>-<preset>)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda (for --images)")
    p.add_argument("--seed", type=int, default=None, help="seed of the batch split")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set measure.batching=resample")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(dataset=None, data_dir=None, resume=None)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=DIST, description="Fairness metrics for generative models (Teo & Cheung 2021), the "
                       "metric benchmark, and CLEAM-style correction of classifier error (Teo et al. 2023).")
    p.add_argument("--version", action="version", version=f"{DIST} {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="the paper's sweep, measurement error, CLEAM coverage, GAN; claims"))
    add_run_args(sub.add_parser("benchmark", help="the metric benchmark sweep (exact distributions) and its plots"),
                 device=False)
    m = sub.add_parser("measure", help="every metric (with CIs) of a user's labels, probabilities or images")
    m.add_argument("--labels", type=existing_file(".npy", ".txt", ".csv", ".tsv"), default=None,
                   help="predicted class ids (n,) or probabilities (n, K): .npy/.txt/.csv")
    m.add_argument("--counts", default=None, help="class counts c0,c1,… instead of labels")
    m.add_argument("--images", type=existing_dir, default=None, help="folder of generated images (with --classifier)")
    m.add_argument("--classifier", type=existing_file(".pt"), default=None, help="checkpoint from train-classifier")
    m.add_argument("--num-classes", type=positive_int, default=None, help="K (default with --classifier: its K)")
    m.add_argument("--reference", default=None, help="uniform (default) or p1,…,pK")
    m.add_argument("--classifier-accuracy", default=None, help="per-class accuracies a0,a1,… for the correction")
    m.add_argument("--confusion", type=existing_file(".npy", ".txt", ".csv"), default=None,
                   help="K×K confusion matrix P(pred j | true i) for the correction")
    m.add_argument("--batches", type=positive_int, default=None, help="S batches for the CIs (default: preset's, 30)")
    _measure_run_args(m)
    t = add_run_args(sub.add_parser("train-classifier", help="train a sensitive-attribute classifier"))
    t.add_argument("--attribute", default=None,
                   help="fashion-mnist: a derived attribute (see `data list`); celeba: Male or Male+Young…")
    d = sub.add_parser("data", help="datasets: list | check")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, formats and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="read a dataset and report what was found")
    dc.add_argument("--dataset", default=None)
    dc.add_argument("--data-dir", type=Path, default=None)
    dc.add_argument("--attribute", default=None, help="celeba: attribute(s) to check")
    return p


COMMANDS = {"reproduce": cmd_reproduce, "benchmark": cmd_benchmark, "measure": cmd_measure,
            "train-classifier": cmd_train_classifier, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
