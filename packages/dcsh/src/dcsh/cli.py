"""The ``dcsh`` command: reproduce, codes (step 1), fit (step 2), encode, evaluate, data list|check."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dcsh import __version__
from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    atomic_write_bytes,
    existing_file,
    finish_run,
    load_array,
    load_npz,
    positive_int,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from

TITLE = "Unsupervised Deep Cross-modality Spectral Hashing (IEEE TIP 2020)"


# ------------------------------------------------------------------------------------------ helpers
def _schema():
    from dcsh.schema import Config

    return Config


def _threads(ctx) -> None:
    from reprokit.device import configure_threads

    configure_threads(ctx.cfg.get("threads"))


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _save_npy(path: Path, arr: np.ndarray) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write_bytes(path, buf.getvalue())


def _embeddings_path(args, cfg) -> Path | None:
    p = getattr(args, "embeddings", None) or cfg["text"].get("embeddings")
    return Path(p) if p else None


def _load_checked(args, cfg: dict, run: dict[str, Any], holder: dict) -> None:
    """Precheck shared by reproduce and fit: dataset present and loadable, sizes and files consistent."""
    from dcsh.data import check_dataset, check_embeddings_file, load_dataset

    name = run.get("dataset") or cfg["dataset"]
    data_dir = Path(run["data_dir"]) if run.get("data_dir") else None
    check_dataset(name, data_dir, cfg["data"].get("file"))
    emb = _embeddings_path(args, cfg)
    if emb is not None:
        check_embeddings_file(emb, int(cfg["text"]["embed_dim"]))
    data = load_dataset(name, data_dir, cfg)
    holder["data"] = data
    holder["name"] = name
    return data


def _read_embeddings(path: Path | None, data, cfg):
    if path is None:
        return None, "learned in-package (nn.Embedding trained with the text CNN)"
    from dcsh.data import read_embeddings

    E, hits = read_embeddings(path, data.vocab, int(cfg["text"]["embed_dim"]))
    return E, f"initialised from {path.name} ({hits} of {len(data.vocab) - 1} words found), fine-tuned"


# ---------------------------------------------------------------------------------------- reproduce
def cmd_reproduce(args: argparse.Namespace) -> int:
    from dcsh import experiments as ex

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        data = _load_checked(args, cfg, run, holder)
        nq = int(cfg["split"]["query"])
        if nq >= data.n - 2:
            raise UsageError(f"split.query={nq} leaves no database: the dataset has {data.n} items")
        n_train = min(cfg["split"].get("train") or data.n, data.n - nq)
        if max(cfg["bits"]) >= n_train:
            raise UsageError(f"more bits ({max(cfg['bits'])}) than training items ({n_train}); lower bits")
        if "cca-itq" in cfg["methods"]:
            dims = min(data.text_bow.shape[1], data.image_features.shape[1] if data.image_features is not None
                       else 10 ** 9)
            if max(cfg["bits"]) > dims:
                raise UsageError(f"CCA-ITQ needs bits ≤ feature dimensions ({dims}); lower bits or drop cca-itq")

    ctx = start_run(args, dist="dcsh", module="dcsh", version=__version__, schema=_schema(), precheck=precheck)
    _threads(ctx)
    data = holder["data"]
    emb, emb_note = _read_embeddings(_embeddings_path(args, ctx.cfg), data, ctx.cfg)
    res = ex.run(ctx.cfg, data, ctx.device, ctx.run.checkpoints, ctx.seed, ctx.run.log_metrics, ctx.quiet, emb)
    claims, metrics = ex.claims(res, ctx.cfg)
    claim_rows = metrics.pop("_rows", {})
    figures = ex.draw_figures(res, ctx.run.figures)
    cfg = ctx.cfg
    setting = (f"{data.name}: {data.n} items ({res['per_seed'][0]['split']['query']} queries, "
               f"{res['per_seed'][0]['split']['db']} database = training), {cfg['bits']} bits, "
               f"{cfg['n_seeds']} paired seeds; step 1: {cfg['step1']['anchors']} anchors, s={cfg['step1']['s']}, "
               f"α={cfg['step1']['alpha']}, β={cfg['step1']['beta']}, ρ={cfg['step1']['rho']}, "
               f"{cfg['step1']['iters']} iterations; step 2: {cfg['step2']['epochs']} epochs; word embeddings "
               f"{emb_note}")
    topk = int(cfg["eval"]["topk"])
    sections = [
        ("mAP (whole ranking) per method and code length", ex.results_table_md(res)),
        (f"mAP@{topk} (CalcTopMap), DCMH's calc_map_k@{topk} and P@{topk}", ex.topk_table_md(res, topk)),
        ("Ablations (each step-1 term switched off)", ex.ablation_table_md(res, cfg)),
        ("Step 1 diagnostics", ex.step1_table_md(res)),
        ("The paper's numbers", "The paper reports mAP on MIRFlickr-25K, NUS-WIDE and MS-COCO; only the abstract "
         "is available here, so its table cannot be printed beside ours (unknown). The comparison is of the "
         "pattern (DCSH above the baselines at every length), not the values."),
    ]
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=claims, title=TITLE,
               setting=setting, figures=figures, sections=sections,
               extra={"claim_rows": claim_rows, "per_seed": res["per_seed"]})
    for c in claims:
        print(f"{c.id}: {c.verdict} -- {c.ours}")
    return 0


# ------------------------------------------------------------------------------------------- codes
def cmd_codes(args: argparse.Namespace) -> int:
    from dcsh import step1
    from dcsh.data import check_pair

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        a = load_array(args.features_a, ndim=(2,))
        b = load_array(args.features_b, ndim=(2,))
        check_pair(a, b, f"{args.features_a} / {args.features_b}")
        n = a.shape[0]
        if args.bits >= n:
            raise UsageError(f"--bits {args.bits}: more bits than samples ({n} rows); use at most {n - 1} bits")
        if n < 3:
            raise UsageError(f"{args.features_a}: {n} rows are too few for a graph")
        holder["a"], holder["b"] = a, b

    ctx = start_run(args, dist="dcsh", module="dcsh", version=__version__, torch=False, schema=_schema(),
                    precheck=precheck)
    a, b = holder["a"], holder["b"]
    s1 = dict(ctx.cfg["step1"])
    s1["anchors"] = min(int(s1["anchors"]), a.shape[0] - 1)
    s1["s"] = min(int(s1["s"]), s1["anchors"])
    res = step1.dcsh_codes([a, b], int(args.bits), s1, ctx.seed,
                           callback=lambda row: ctx.run.log_metrics({"stage": "step1", **row}))
    _save_npy(ctx.run.path / "codes.npy", res.codes)
    fig = _objective_figure(res.history, ctx.run.figures / "step1_objective.png")
    h = res.history
    metrics = {"codes": "codes.npy", "n": int(a.shape[0]), "bits": int(args.bits), "iterations": len(h) - 1,
               "objective_start": h[0]["objective"], "objective_end": h[-1]["objective"],
               "objective_non_increasing": bool(all(y <= x + 1e-9 * max(1, abs(x))
                                                    for x, y in zip([r["objective"] for r in h],
                                                                    [r["objective"] for r in h][1:]))),
               "max_abs_bit_mean": h[-1]["bit_balance"], "max_abs_bit_corr": h[-1]["bit_corr"],
               "seconds": round(res.seconds, 3), "features_a": str(args.features_a),
               "features_b": str(args.features_b)}
    finish_run(ctx, dataset="user features", data_note=f"{args.features_a} ({a.shape[1]}-d) + {args.features_b} "
               f"({b.shape[1]}-d), {a.shape[0]} aligned items", metrics=metrics, claims=[], require_claims=False,
               title="dcsh codes (step 1)", figures=[fig])
    print(f"codes: {ctx.run.path / 'codes.npy'} ({a.shape[0]} × {args.bits}, exactly ±1)")
    return 0


def _objective_figure(history: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot([r["objective"] for r in history], marker=".")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective J = -Q/n")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------- fit
def cmd_fit(args: argparse.Namespace) -> int:
    from dcsh import step1, train
    from dcsh.experiments import step1_features

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        data = _load_checked(args, cfg, run, holder)
        if args.codes is not None:
            c = load_array(args.codes, ndim=(2,))
            if c.shape[0] != data.n:
                raise UsageError(f"{args.codes}: {c.shape[0]} rows of codes, but dataset {holder['name']!r} has "
                                 f"{data.n} items")
            if not np.isin(c, (-1, 1)).all():
                raise UsageError(f"{args.codes}: codes must be exactly ±1 (as `dcsh codes` writes them)")
            holder["codes"] = {int(c.shape[1]): c.astype(np.int8)}
        elif max(cfg["bits"]) >= data.n:
            raise UsageError(f"more bits ({max(cfg['bits'])}) than samples ({data.n}); lower --set bits=[...]")

    ctx = start_run(args, dist="dcsh", module="dcsh", version=__version__, schema=_schema(), precheck=precheck)
    _threads(ctx)
    data = holder["data"]
    emb, emb_note = _read_embeddings(_embeddings_path(args, ctx.cfg), data, ctx.cfg)
    codes = holder.get("codes")
    if codes is None:
        fa, fb = step1_features(data)
        codes = {}
        for b in ctx.cfg["bits"]:
            def cb(r, b=b):
                ctx.run.log_metrics({"stage": f"step1:{b}", **r})

            codes[int(b)] = step1.dcsh_codes([fa, fb], int(b), ctx.cfg["step1"], ctx.seed, callback=cb).codes
    hf = train.fit(data, codes, ctx.cfg, ctx.seed, ctx.device, embeddings=emb, log_fn=ctx.run.log_metrics,
                   quiet=ctx.quiet)
    ck = ctx.run.checkpoints / "hash_functions.pt"
    train.save_hash_functions(ck, hf, data, ctx.cfg)
    ci, ctt = train.encode_data(hf, data, ctx.device)
    arrays = {}
    for b in hf.bits:
        arrays[f"step1_codes_{b}"], arrays[f"image_codes_{b}"], arrays[f"text_codes_{b}"] = codes[b], ci[b], ctt[b]
    arrays["labels"] = data.labels
    _save_npz(ctx.run.path / "codes.npz", arrays)
    agree = {f"agreement_{m}_{b}": float((c[b] == codes[b]).mean()) for b in hf.bits for m, c in
             (("image", ci), ("text", ctt))}
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics={"checkpoint": str(ck.relative_to(ctx.run.path)),
               "codes": "codes.npz", "bits": hf.bits, "embeddings": emb_note, **agree,
               "final_loss": hf.history[-1] if hf.history else {}}, claims=[], require_claims=False,
               title="dcsh fit (step 2)")
    print(f"hash functions: {ck}")
    return 0


# ------------------------------------------------------------------------------------------ encode
def _read_texts(path: Path, vocab: list[str], max_len: int) -> np.ndarray:
    import re

    from dcsh.data import _token_arrays

    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        raise UsageError(f"{path}: no lines (expected one text per line)")
    toks = [[w for w in re.split(r"[\s\-]+", ln.lower()) if w] for ln in lines]
    ids, _ = _token_arrays(toks, vocab, max_len)
    return ids


def cmd_encode(args: argparse.Namespace) -> int:
    import torch

    from dcsh import train
    from dcsh.models import FeatureMLP, ImageCNN, TextCNN
    from reprokit import load_checkpoint

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        if args.images is None and args.texts is None:
            raise UsageError("give --images FILE.npy and/or --texts FILE.txt to encode")
        rec = load_checkpoint(args.checkpoint)
        if not isinstance(rec, dict) or rec.get("kind") != train.CHECKPOINT_KIND:
            raise UsageError(f"{args.checkpoint} is not a dcsh hash-function checkpoint (from `dcsh fit`)")
        holder["rec"] = rec
        if args.images is not None:
            x = load_array(args.images, ndim=(2, 4))
            if not np.isfinite(x).all():
                raise UsageError(f"{args.images}: holds NaN or infinite values")
            shape = list(rec["image_shape"])
            if rec["image_input"] == "pixels":
                if x.ndim != 4:
                    raise UsageError(f"{args.images}: this checkpoint encodes images (n×3×H×W), got shape {x.shape}")
                if x.shape[-1] == 3 and x.shape[1] != 3:
                    x = x.transpose(0, 3, 1, 2)
                if list(x.shape[1:]) != shape:
                    raise UsageError(f"{args.images}: images of shape {tuple(x.shape[1:])}, the networks expect "
                                     f"{tuple(shape)} (uint8 pixels)")
            elif x.ndim != 2 or x.shape[1] != shape[0]:
                raise UsageError(f"{args.images}: expected an n×{shape[0]} feature matrix, got shape {x.shape}")
            holder["x"] = x
        if args.texts is not None:
            if rec.get("text_input") == "features":
                if args.texts.suffix.lower() != ".npy":
                    raise UsageError(f"{args.texts}: this checkpoint encodes text feature vectors: give an "
                                     f"n×{rec['text_dim']} .npy")
                t = load_array(args.texts, ndim=(2,))
                if t.shape[1] != rec["text_dim"] or not np.isfinite(t).all():
                    raise UsageError(f"{args.texts}: expected a finite n×{rec['text_dim']} matrix, got {t.shape}")
                holder["t"] = t.astype(np.float32)
            else:
                holder["t"] = _read_texts(args.texts, rec["vocab"], int(rec["max_len"]))

    ctx = start_run(args, dist="dcsh", module="dcsh", version=__version__, schema=_schema(), precheck=precheck)
    rec = holder["rec"]
    cfg, bits = rec["config"], rec["bits"]
    arrays = {}
    if "x" in holder:
        x = holder["x"]
        if rec["image_input"] == "pixels":
            model = ImageCNN(bits, width=int(cfg["step2"]["image_width"]))
            inp = (torch.from_numpy(np.ascontiguousarray(x)).float() / 255.0 - 0.5) / 0.25
        else:
            model = FeatureMLP(rec["image_shape"][0], bits, hidden=int(cfg["step2"]["mlp_hidden"]))
            inp = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        model.load_state_dict(rec["image"])
        arrays.update({f"image_codes_{b}": c for b, c in train.encode(model, inp).items()})
    if "t" in holder:
        if rec.get("text_input") == "features":
            model = FeatureMLP(rec["text_dim"], bits, hidden=int(cfg["step2"]["mlp_hidden"]))
        else:
            model = TextCNN(len(rec["vocab"]), bits, embed_dim=int(cfg["text"]["embed_dim"]),
                            filters=int(cfg["step2"]["text_filters"]))
        model.load_state_dict(rec["text"])
        arrays.update({f"text_codes_{b}": c for b, c in train.encode(model, torch.from_numpy(holder["t"])).items()})
    _save_npz(ctx.run.path / "codes.npz", arrays)
    finish_run(ctx, dataset="user inputs", data_note=f"encoded with {args.checkpoint}",
               metrics={"codes": "codes.npz", **{k: list(v.shape) for k, v in arrays.items()}}, claims=[],
               require_claims=False, title="dcsh encode")
    print(f"codes: {ctx.run.path / 'codes.npz'}")
    return 0


# ---------------------------------------------------------------------------------------- evaluate
EVAL_KEYS = ("query_codes", "db_codes", "query_labels", "db_labels")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dcsh.evaluate import evaluate_codes

    holder: dict[str, Any] = {}

    def precheck(cfg, run):
        z = load_npz(args.codes, required=EVAL_KEYS)
        qc, dc, ql, dl = (np.asarray(z[k]) for k in EVAL_KEYS)
        for k, v in zip(EVAL_KEYS, (qc, dc, ql, dl)):
            if v.ndim not in (1, 2) or v.size == 0:
                raise UsageError(f"{args.codes}: {k} must be a non-empty 1-D or 2-D array, got shape {v.shape}")
            if not np.issubdtype(v.dtype, np.number) and v.dtype != bool:
                raise UsageError(f"{args.codes}: {k} must be numeric, got dtype {v.dtype}")
            if np.issubdtype(v.dtype, np.floating) and not np.isfinite(v).all():
                raise UsageError(f"{args.codes}: {k} holds NaN or infinite values")
        if qc.ndim != 2 or dc.ndim != 2:
            raise UsageError(f"{args.codes}: query_codes and db_codes must be 2-D (n × bits)")
        if qc.shape[1] != dc.shape[1]:
            raise UsageError(f"{args.codes}: query_codes have {qc.shape[1]} bits but db_codes {dc.shape[1]}")
        for k, v in (("query_codes", qc), ("db_codes", dc)):
            if not (np.isin(v, (-1, 1)).all() or np.isin(v, (0, 1)).all()):
                raise UsageError(f"{args.codes}: {k} must be binary (all ±1 or all 0/1)")
        ql = ql[:, None] if ql.ndim == 1 else ql
        dl = dl[:, None] if dl.ndim == 1 else dl
        if ql.shape[0] != qc.shape[0] or dl.shape[0] != dc.shape[0]:
            raise UsageError(f"{args.codes}: {ql.shape[0]} query labels for {qc.shape[0]} query codes and "
                             f"{dl.shape[0]} db labels for {dc.shape[0]} db codes; the rows must match")
        if ql.shape[1] != dl.shape[1]:
            raise UsageError(f"{args.codes}: query_labels have {ql.shape[1]} columns, db_labels {dl.shape[1]}")
        if ql.shape[1] == 1 and (ql.max() > 1 or dl.max() > 1):  # class ids → one-hot
            k = int(max(ql.max(), dl.max())) + 1
            ql, dl = np.eye(k)[ql[:, 0].astype(int)], np.eye(k)[dl[:, 0].astype(int)]
        holder.update(qc=qc, dc=dc, ql=ql, dl=dl)

    ctx = start_run(args, dist="dcsh", module="dcsh", version=__version__, torch=False, schema=_schema(),
                    precheck=precheck)
    h = holder
    ks = sorted({*[int(k) for k in ctx.cfg["eval"]["ks"]], int(args.topk)})
    m = evaluate_codes(h["qc"], h["dc"], h["ql"], h["dl"], topk=int(args.topk), ks=ks, curve=True)
    pr = m.pop("pr")
    fig = _pr_figure(pr, ctx.run.figures / "pr_curve.png")
    finish_run(ctx, dataset="user codes", data_note=f"{args.codes}", metrics={**m, "pr_curve": pr}, claims=[],
               require_claims=False, title="dcsh evaluate", figures=[fig])
    print(f"mAP {m['map']:.4f}  mAP@{args.topk} {m[f'map@{args.topk}']:.4f}  "
          f"(DCMH calc_map_k@{args.topk} {m[f'map@{args.topk}_dcmh']:.4f})  -> {ctx.run.path / 'summary.json'}")
    return 0


def _pr_figure(pr: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    ax.plot(pr["recall"], pr["precision"], marker=".")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("PR over Hamming radius")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -------------------------------------------------------------------------------------------- data
def cmd_data(args: argparse.Namespace) -> int:
    from dcsh.data import check_dataset, describe_datasets, load_dataset
    from reprokit import load_preset

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':13} {'format':44} present  where")
        for r in describe_datasets(data_dir):
            print(f"{r['name']:13} {r['format']:44} {'yes' if r['present'] else 'no':7}  {r['where']}")
        return 0
    name = args.dataset or "openmoji"
    check_dataset(name, data_dir)
    data = load_dataset(name, data_dir, load_preset("dcsh", "quick"))
    print(f"ok: {data.note}; labels {data.labels.shape[1]}, vocabulary {len(data.vocab) - 1}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def _user_run_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of a user command that writes a run directory (no dataset, no resume)."""
    p.add_argument("--preset", choices=["smoke", "quick", "paper"], default="quick",
                   help="preset whose settings are used (default: quick)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default: runs/dcsh/<time>-<preset>)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set step1.alpha=0.5")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(resume=None, dataset=None, data_dir=None)
    return p


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="dcsh", description="Deep cross-modality spectral hashing: anchor-graph spectral "
                       "binary codes (step 1), then image/text CNN hash functions (step 2).")
    p.add_argument("--version", action="version", version=f"dcsh {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = add_run_args(sub.add_parser("reproduce", help="DCSH vs baselines over seeds and code lengths; claims"))
    r.add_argument("--embeddings", type=existing_file(".txt", ".vec"), default=None,
                   help="GloVe/word2vec text file to initialise the text CNN's word embeddings")
    c = _user_run_args(sub.add_parser("codes", help="step 1 on two aligned feature matrices → codes.npy"))
    c.add_argument("--features-a", type=Path, required=True, help="n × d_a features (.npy/.txt/.csv)")
    c.add_argument("--features-b", type=Path, required=True, help="n × d_b features, same rows")
    c.add_argument("--bits", type=positive_int, required=True, help="code length")
    f = add_run_args(sub.add_parser("fit", help="step 2: train the image and text hash functions"))
    f.add_argument("--codes", type=existing_file(".npy", ".txt", ".csv"), default=None,
                   help="n × bits step-1 codes for the dataset's items (default: run step 1 here)")
    f.add_argument("--embeddings", type=existing_file(".txt", ".vec"), default=None,
                   help="GloVe/word2vec text file for the text CNN's word embeddings")
    e = _user_run_args(sub.add_parser("encode", help="out-of-sample codes with a `dcsh fit` checkpoint"))
    e.add_argument("--checkpoint", type=existing_file(".pt"), required=True, help="hash_functions.pt")
    e.add_argument("--images", type=Path, default=None, help="n×3×H×W or n×H×W×3 uint8 .npy (or n×d features)")
    e.add_argument("--texts", type=existing_file(".txt", ".npy"), default=None,
                   help="one text per line (.txt), or n×d text features (.npy) for a `features` checkpoint")
    ev = _user_run_args(sub.add_parser("evaluate", help="mAP, mAP@k, P@k, PR of a codes .npz"))
    ev.add_argument("--codes", type=existing_file(".npz"), required=True,
                    help="npz with query_codes, db_codes, query_labels, db_labels")
    ev.add_argument("--topk", type=positive_int, default=50, help="k of mAP@k (default 50)")
    d = sub.add_parser("data", help="datasets: list | check")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and report what was found")
    dc.add_argument("--dataset", default=None, help="dataset name (default openmoji)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "codes": cmd_codes, "fit": cmd_fit, "encode": cmd_encode,
            "evaluate": cmd_evaluate, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
