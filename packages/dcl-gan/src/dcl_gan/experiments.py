"""The paper's experiment as functions: evaluation nets → source GAN → every method × seed → claims, figures.

Each expensive piece is a reprokit stage in the run's ``checkpoints/`` folder (evaluation networks,
source G/D, one stage per method × seed), so ``--resume`` continues a killed run where it stopped.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dcl_gan import __version__
from dcl_gan.data import DomainData, to_float, to_uint8
from dcl_gan.evaluate import (
    LPIPS,
    Evaluator,
    InceptionFeatures,
    accuracy,
    arrays_to_state,
    rotation_task,
    state_to_arrays,
    train_classifier,
)
from dcl_gan.models import FeatureNet, arch_of, build_gan
from dcl_gan.train import adapt, fisher_information, pretrain
from reprokit import Claim, UsageError, cached_arrays, cached_json, paired_t_ci, progress, verdict_from_ci
from reprokit.report import ci_outcome

log = logging.getLogger("dcl_gan")

SOURCE_KIND, ADAPTED_KIND = "dcl-gan-source", "dcl-gan-adapted"
METHOD_NAMES = {"tgan": "TGAN", "freezed": "FreezeD", "ewc": "EWC", "cdc": "CDC", "dcl": "DCL"}
PAPER_TABLE = {  # 10-shot FID / intra-LPIPS (the paper's table, as the paper file quotes it)
    "FFHQ→Babies": {"tgan": (104.79, 0.517), "ewc": (87.41, 0.523), "cdc": (74.39, 0.573), "dcl": (52.56, 0.582)},
    "FFHQ→Sketches": {"tgan": (53.42, 0.394), "ewc": (71.25, 0.421), "cdc": (45.67, 0.453), "dcl": (37.90, 0.486)},
}


# --------------------------------------------------------------------------------- checkpoints
def read_checkpoint(path: Path, kinds: tuple[str, ...] = (SOURCE_KIND, ADAPTED_KIND)) -> dict:
    """A dcl-gan checkpoint (tensors and plain values only), or a UsageError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: the checkpoint file is empty")
    try:
        rec = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UsageError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__})") from None
    if not isinstance(rec, dict) or rec.get("kind") not in kinds:
        kind = rec.get("kind") if isinstance(rec, dict) else type(rec).__name__
        raise UsageError(f"{path}: not a {' or '.join(kinds)} checkpoint (kind {kind!r}); make one with "
                         "`dcl-gan pretrain` or `dcl-gan adapt`")
    if not isinstance(rec.get("arch"), dict) or "G" not in rec:
        raise UsageError(f"{path}: a {rec['kind']} checkpoint without 'arch'/'G'")
    return rec


def check_arch(path: Path, rec: dict, arch: dict) -> None:
    """Refuse a checkpoint whose architecture differs from the one the config and data ask for."""
    diff = {k: (rec["arch"].get(k), v) for k, v in arch.items() if rec["arch"].get(k) != v}
    if diff:
        parts = ", ".join(f"{k}: checkpoint {a!r} vs config/data {b!r}" for k, (a, b) in diff.items())
        raise UsageError(f"{path}: the checkpoint's architecture does not match ({parts}); set model.* / "
                         "data.* to the checkpoint's or pretrain a new source")


def load_gan(rec: dict, path: Path) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    G, D = build_gan(rec["arch"])
    try:
        G.load_state_dict(rec["G"])
        if "D" in rec:
            D.load_state_dict(rec["D"])
    except (RuntimeError, KeyError, TypeError) as e:
        first = str(e).splitlines()[0][:120]
        raise UsageError(f"{path}: weights do not fit architecture {rec['arch']} ({first})") from None
    return G, (D if "D" in rec else None)


def save_gan(path: Path, kind: str, arch: dict, G, D=None, **extra) -> Path:
    from reprokit import save_checkpoint

    rec = {"kind": kind, "version": __version__, "arch": arch, "G": G.state_dict(), **extra}
    if D is not None:
        rec["D"] = D.state_dict()
    return save_checkpoint(path, rec)


# ------------------------------------------------------------------------------ building blocks
def evaluation_nets(cfg: dict, data: DomainData, stage_dir: Path | None, seed: int, quiet: bool) -> dict:
    """The in-package feature net (FID / perceptual distance) and the source-vs-target classifier (p_t)."""
    e = cfg["eval"]

    def feat():
        if data.feat_labels is not None:
            x, y = data.feat_images, data.feat_labels
        else:
            x, y = rotation_task(data.feat_images, seed)
        n_out = int(y.max()) + 1 if data.feat_labels is not None else 4
        net = train_classifier(x, y, n_out, epochs=int(e["feature_epochs"]), seed=seed, width=int(e["feature_width"]))
        return {**state_to_arrays(net), "_n_out": np.array(n_out), "_train_acc": np.array(accuracy(net, x, y))}

    def dom():
        x = np.concatenate([data.domain_source, data.domain_target])
        y = np.concatenate([np.zeros(len(data.domain_source)), np.ones(len(data.domain_target))]).astype(np.int64)
        net = train_classifier(x, y, 2, epochs=int(e["domain_epochs"]), seed=seed + 1,
                               width=int(e["feature_width"]) // 2)
        return {**state_to_arrays(net), "_train_acc": np.array(accuracy(net, x, y))}

    fa = cached_arrays(stage_dir, "feature_net", feat)
    da = cached_arrays(stage_dir, "domain_net", dom)
    fnet = arrays_to_state(FeatureNet(data.channels, int(fa["_n_out"]), int(e["feature_width"])),
                           {k: v for k, v in fa.items() if not k.startswith("_")})
    dnet = arrays_to_state(FeatureNet(data.channels, 2, int(e["feature_width"]) // 2),
                           {k: v for k, v in da.items() if not k.startswith("_")})
    return {"feature_net": fnet.eval(), "domain_net": dnet.eval(), "feature_train_acc": float(fa["_train_acc"]),
            "domain_train_acc": float(da["_train_acc"])}


def make_evaluator(cfg: dict, data: DomainData, nets: dict, device) -> Evaluator:
    e = cfg["eval"]
    w = e.get("inception_weights")
    inception = InceptionFeatures(Path(w)) if w else None
    lp = LPIPS(e.get("lpips_net") or "vgg", Path(e["lpips_backbone"]), Path(e["lpips_weights"])) \
        if e.get("lpips_weights") else None
    return Evaluator(nets["feature_net"], nets["domain_net"], data.shots, data.target_full,
                     n_samples=int(e["n_samples"]), max_per_cluster=int(e["max_per_cluster"]),
                     inception=inception, lpips=lp, device=device)


def source_gan(cfg: dict, data: DomainData, stage_dir: Path | None, seed: int, device, quiet: bool,
               log_fn=None) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    """The source (G_s, D_s): loaded from ``source.checkpoint`` or pretrained (a cached stage)."""
    arch = arch_of(cfg, data.channels, data.size)
    ck = cfg["source"].get("checkpoint")
    if ck:
        path = Path(ck)
        rec = read_checkpoint(path, (SOURCE_KIND,))
        check_arch(path, rec, arch)
        G, D = load_gan(rec, path)
        if D is None:
            raise UsageError(f"{path}: the source checkpoint has no discriminator ('D'); adaptation needs one")
        return G, D, {"source": str(path), "pretrain_iters": rec.get("pretrain_iters", "unknown")}

    def train():
        G, D = build_gan(arch)
        torch.manual_seed(seed)
        G, D = build_gan(arch)
        last = pretrain(G, D, to_float(data.source), cfg["source"], seed, device,
                        progress=functools.partial(progress, quiet=quiet), log_fn=log_fn)
        out = {f"G.{k}": v for k, v in state_to_arrays(G).items()}
        out.update({f"D.{k}": v for k, v in state_to_arrays(D).items()})
        out["_d_loss"], out["_g_loss"] = np.array(last.get("d_loss", np.nan)), np.array(last.get("g_loss", np.nan))
        return out

    arr = cached_arrays(stage_dir, "source_gan", train)
    G, D = build_gan(arch)
    arrays_to_state(G, {k[2:]: v for k, v in arr.items() if k.startswith("G.")})
    arrays_to_state(D, {k[2:]: v for k, v in arr.items() if k.startswith("D.")})
    return G.to(device), D.to(device), {"source": "pretrained in this run",
                                        "pretrain_iters": int(cfg["source"]["iters"]),
                                        "pretrain_final_d_loss": float(arr["_d_loss"]),
                                        "pretrain_final_g_loss": float(arr["_g_loss"])}


def eval_points(iters: int, n_evals: int) -> list[int]:
    return sorted(set(round(float(v)) for v in np.linspace(0, iters, n_evals + 1)))


def eval_latents(n: int, z_dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(100_003 + seed))


def run_one(method: str, seed: int, cfg: dict, data: DomainData, G_s, D_s, ev: Evaluator, device, quiet: bool,
            log_fn=None, fisher=None, grid_n: int = 0) -> tuple[dict, torch.nn.Module]:
    z_ev = eval_latents(ev.n_samples, G_s.z_dim, seed)
    timing: dict = {}
    G_t, curve = adapt(method, G_s, D_s, to_float(data.shots), cfg["adapt"], seed, device,
                       evaluate=lambda G, it: ev(G, z_ev, seed), fisher=fisher,
                       eval_at=eval_points(int(cfg["adapt"]["iters"]), int(cfg["adapt"]["n_evals"])),
                       progress=functools.partial(progress, quiet=quiet), log_fn=log_fn, timing=timing)
    return {"method": method, "seed": seed, "curve": curve, "train_s": timing["train_s"],
            "s_per_iter": timing["train_s"] / max(1, timing["iters"])}, G_t


def run_all(cfg: dict, data: DomainData, stage_dir: Path | None, seed: int, device, quiet: bool,
            log_fn=None) -> dict:
    """Everything ``reproduce`` computes: the nets, the source, every (method, seed) curve, sample grids."""
    nets = evaluation_nets(cfg, data, stage_dir, seed, quiet)
    G_s, D_s, src_info = source_gan(cfg, data, stage_dir, seed, device, quiet, log_fn)
    ev = make_evaluator(cfg, data, nets, device)
    methods = list(cfg["experiment"]["methods"])
    seeds = [seed + i for i in range(int(cfg["experiment"]["n_seeds"]))]
    grid_n = int(cfg["experiment"]["grid_samples"])
    z_grid = eval_latents(grid_n, G_s.z_dim, seed)[:grid_n]
    fisher = None
    if "ewc" in methods:
        fisher = fisher_information(G_s, D_s, int(cfg["adapt"]["ewc"]["fisher_batches"]),
                                    int(cfg["adapt"]["batch_size"]),
                                    seed, device)
    runs: dict[str, dict[int, dict]] = {m: {} for m in methods}
    grids: dict[str, np.ndarray] = {}
    jobs = [(m, s) for s in seeds for m in methods]
    for m, s in progress(jobs, quiet=quiet, desc="methods x seeds"):
        def one(m=m, s=s):
            rec, G_t = run_one(m, s, cfg, data, G_s, D_s, ev, device, True, log_fn, fisher)
            if s == seeds[0]:
                rec["grid"] = to_uint8(ev.generate(G_t, z_grid)).tolist()
            return rec
        rec = cached_json(stage_dir, f"adapt_{m}_seed{s}", one)
        if "grid" in rec:
            grids[m] = np.asarray(rec.pop("grid"), dtype=np.uint8)
        runs[m][s] = rec
    src_grid = to_uint8(ev.generate(G_s, z_grid))
    return {"runs": runs, "methods": methods, "seeds": seeds, "grids": grids, "source_grid": src_grid,
            "shots": data.shots, "source_info": src_info, "nets": {k: v for k, v in nets.items() if "acc" in k},
            "fid_name": ev.fid_name, "div_name": ev.div_name,
            "eval_at": eval_points(int(cfg["adapt"]["iters"]), int(cfg["adapt"]["n_evals"]))}


# ------------------------------------------------------------------------------------ analysis
def series(res: dict, method: str, key: str) -> np.ndarray:
    """(n_seeds, n_evals) of one metric over the adaptation iterations."""
    return np.array([[r[key] for r in res["runs"][method][s]["curve"]] for s in res["seeds"]], dtype=float)


def final(res: dict, method: str, key: str) -> np.ndarray:
    return series(res, method, key)[:, -1]


def retained(res: dict, method: str) -> np.ndarray:
    """Mean over the evaluations after iteration 0 of intra-cluster diversity / its value at iteration 0."""
    d = series(res, method, "intra_div")
    return (d[:, 1:] / d[:, :1]).mean(1)


def _ci(effects) -> dict:
    ci = paired_t_ci(effects)
    return {k: (round(v, 5) if isinstance(v, float) and not math.isnan(v) else v) for k, v in ci.items()}


def _combine(verdicts: list[str]) -> str:
    if any(v == "not reproduced" for v in verdicts):
        return "not reproduced"
    if verdicts and all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "inconclusive"


def claims(res: dict, cfg: dict) -> tuple[list[Claim], dict, list[tuple[str, str]]]:
    cc = cfg["claims"]
    methods, q_margin = res["methods"], float(cc["quality_margin"])
    need = {"tgan", "cdc", "dcl"}
    metrics: dict[str, Any] = {}
    for m in methods:
        metrics[f"{m}_final_p_t"] = round(float(final(res, m, "p_t").mean()), 4)
        metrics[f"{m}_final_fid"] = round(float(final(res, m, "fid").mean()), 3)
        metrics[f"{m}_final_intra_div"] = round(float(final(res, m, "intra_div").mean()), 5)
        metrics[f"{m}_retained_div"] = round(float(retained(res, m).mean()), 4)
        metrics[f"{m}_s_per_iter"] = round(float(np.mean([res["runs"][m][s]["s_per_iter"] for s in res["seeds"]])), 4)
    metrics["source_p_t"] = round(float(series(res, methods[0], "p_t")[:, 0].mean()), 4)
    metrics["source_intra_div"] = round(float(series(res, methods[0], "intra_div")[:, 0].mean()), 5)
    metrics["source_fid"] = round(float(series(res, methods[0], "fid")[:, 0].mean()), 3)
    sections = []
    if not need <= set(methods):
        c = Claim("C1", "all methods reach similar quality; they differ in how fast diversity degrades", "Fig. 2-3",
                  "inconclusive", {"missing_methods": sorted(need - set(methods))})
        return [c, Claim("C2", "DCL keeps more diversity than TGAN and CDC and ends with a better FID", "Table 1",
                         "inconclusive", {"missing_methods": sorted(need - set(methods))})], metrics, sections
    # C1a: quality equivalence (final p_t of every method within ±margin of TGAN's, CI over paired seeds)
    p_tgan = final(res, "tgan", "p_t")
    q_cis, q_states = {}, []
    for m in methods:
        if m == "tgan":
            continue
        ci = _ci(final(res, m, "p_t") - p_tgan)
        q_cis[m] = ci
        if math.isnan(ci["low"]):
            q_states.append("inconclusive")
        elif -q_margin <= ci["low"] and ci["high"] <= q_margin:
            q_states.append("reproduced")
        elif ci["low"] > q_margin or ci["high"] < -q_margin:
            q_states.append("not reproduced")
        else:
            q_states.append("inconclusive")
    q_verdict = _combine(q_states)
    # C1b: diversity degrades at different speeds: retained diversity CDC − TGAN
    div_ci = _ci(retained(res, "cdc") - retained(res, "tgan"))
    min_ret = float(cc["min_retained_effect"])
    d_verdict = verdict_from_ci(div_ci["low"], div_ci["high"], div_ci["mean"], min_ret)
    c1v = _combine([q_verdict, d_verdict])
    ev1 = {"quality_rule": q_verdict, "quality_margin": q_margin,
           **{f"dp_t_{m}_minus_tgan": f"{v['mean']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}]"
              for m, v in q_cis.items()},
           "retained_div_cdc_minus_tgan": div_ci["mean"], "ci_low": div_ci["low"], "ci_high": div_ci["high"],
           "min_effect": min_ret, "diversity_rule": d_verdict, "n_seeds": div_ci["n"],
           "p_t_source": metrics["source_p_t"], **{f"p_t_final_{m}": metrics[f"{m}_final_p_t"] for m in methods}}
    c1 = Claim("C1", "all methods reach similar quality (final p_t within ±margin of TGAN's); they differ in how "
               "fast diversity degrades (retained intra-cluster diversity, CDC − TGAN)",
               "Sec. 3: similar quality after convergence; diversity degrades at different rates (Fig. 2-3)", c1v, ev1,
               ours=("final p_t " + ", ".join(f"{METHOD_NAMES[m]} {metrics[m + '_final_p_t']:.2f}" for m in methods)
                     + "; "
                     f"retained div CDC−TGAN {div_ci['mean']:+.3f} [{div_ci['low']:+.3f}, {div_ci['high']:+.3f}]"),
               note=(f"quality: {q_verdict}; diversity: {d_verdict} "
                     f"({ci_outcome(div_ci['low'], div_ci['high'], min_ret)})"))
    # C2: DCL vs TGAN and CDC on final diversity (relative) and FID (relative), four paired effects
    min_div, min_fid = float(cc["min_div_effect"]), float(cc["min_fid_effect"])
    sub, ev2, ours = [], {}, []
    for other in ("tgan", "cdc"):
        dv = _ci(final(res, "dcl", "intra_div") / final(res, other, "intra_div") - 1)
        fd = _ci(1 - final(res, "dcl", "fid") / final(res, other, "fid"))
        vd = verdict_from_ci(dv["low"], dv["high"], dv["mean"], min_div)
        vf = verdict_from_ci(fd["low"], fd["high"], fd["mean"], min_fid)
        sub += [vd, vf]
        ev2[f"div_gain_vs_{other}"] = f"{dv['mean']:+.3f} [{dv['low']:+.3f}, {dv['high']:+.3f}] → {vd}"
        ev2[f"fid_gain_vs_{other}"] = f"{fd['mean']:+.3f} [{fd['low']:+.3f}, {fd['high']:+.3f}] → {vf}"
        ret = _ci(retained(res, "dcl") - retained(res, other))
        ev2[f"retained_div_dcl_minus_{other}"] = f"{ret['mean']:+.3f} [{ret['low']:+.3f}, {ret['high']:+.3f}]"
        ours.append(f"vs {METHOD_NAMES[other]}: div {dv['mean']:+.1%}, FID {fd['mean']:+.1%}")
    ev2.update({"min_div_effect": min_div, "min_fid_effect": min_fid, "n_seeds": len(res["seeds"])})
    c2 = Claim("C2", "DCL keeps more diversity than TGAN and CDC and ends with a better FID (relative gains, "
               "paired seeds)", "Table 1: DCL best FID and intra-LPIPS (e.g. Babies FID 52.56 vs CDC 74.39, "
               "TGAN 104.79)", _combine(sub), ev2, ours="; ".join(ours),
               note="reproduced only if all four effects are; gains are DCL/other − 1 (diversity) and "
                    "1 − FID_DCL/FID_other")
    sections.append(("Final numbers per method (mean ± sd over seeds)", final_table_md(res)))
    sections.append(("The paper's 10-shot numbers (FFHQ StyleGAN2, 256x256)", paper_table_md()))
    return [c1, c2], metrics, sections


def final_table_md(res: dict) -> str:
    div = res.get("div_name", "intra-cluster distance")
    rows = [f"| method | p_t | {res['fid_name']} | {div} | retained diversity | s/iter |",
            "|---|---|---|---|---|---|"]
    for m in res["methods"]:
        def ms(a, f="{:.3f}"):
            return f"{f.format(np.mean(a))} ± {f.format(np.std(a, ddof=1) if len(a) > 1 else 0.0)}"
        t = np.mean([res["runs"][m][s]["s_per_iter"] for s in res["seeds"]])
        rows.append(f"| {METHOD_NAMES[m]} | {ms(final(res, m, 'p_t'))} | {ms(final(res, m, 'fid'), '{:.2f}')} | "
                    f"{ms(final(res, m, 'intra_div'), '{:.4f}')} | {ms(retained(res, m))} | {t:.3f} |")
    s = series(res, res["methods"][0], "intra_div")[:, 0]
    rows.append(f"| source G (iteration 0) | {series(res, res['methods'][0], 'p_t')[:, 0].mean():.3f} | "
                f"{series(res, res['methods'][0], 'fid')[:, 0].mean():.2f} | {s.mean():.4f} | 1 | |")
    return "\n".join(rows)


def paper_table_md() -> str:
    rows = ["| method | FFHQ→Babies FID | intra-LPIPS | FFHQ→Sketches FID | intra-LPIPS |", "|---|---|---|---|---|"]
    for m in ("tgan", "ewc", "cdc", "dcl"):
        b, s = PAPER_TABLE["FFHQ→Babies"][m], PAPER_TABLE["FFHQ→Sketches"][m]
        rows.append(f"| {METHOD_NAMES[m]} | {b[0]} | {b[1]} | {s[0]} | {s[1]} |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------- figures
def _grid(images: np.ndarray, nrow: int) -> np.ndarray:
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    out = np.full((c, rows * (h + 2) + 2, nrow * (w + 2) + 2), 255, dtype=np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, nrow)
        out[:, 2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + k * (w + 2): 2 + k * (w + 2) + w] = im
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def draw_curves(res: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("p_t", "quality: p_t (source-vs-target classifier)"), ("fid", res["fid_name"]),
            ("intra_div", "diversity: " + res.get("div_name", "intra-cluster distance (in-package features)"))]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    it = np.array(res["eval_at"])
    for ax, (k, title) in zip(axes, keys):
        for m in res["methods"]:
            s = series(res, m, k)
            mu, sd = s.mean(0), s.std(0)
            ax.plot(it[: len(mu)], mu, marker="o", ms=3, label=METHOD_NAMES[m])
            ax.fill_between(it[: len(mu)], mu - sd, mu + sd, alpha=0.15)
        ax.set_xlabel("adaptation iteration")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"analysis framework: mean ± sd over {len(res['seeds'])} paired seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_grids(res: dict, path: Path, n_show: int = 16) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("10 target shots", res["shots"]), ("source G", res["source_grid"][:n_show])]
    panels += [(METHOD_NAMES[m], res["grids"][m][:n_show]) for m in res["methods"] if m in res["grids"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.6))
    for ax, (title, ims) in zip(np.atleast_1d(axes), panels):
        g = _grid(np.asarray(ims), 4 if len(ims) > 10 else 5)
        ax.imshow(g, cmap="gray" if g.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle("samples after adaptation (same latents for every method, first seed)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_grid_png(images: np.ndarray, path: Path, nrow: int = 8) -> Path:
    import io

    from PIL import Image

    from reprokit import atomic_write_bytes

    g = _grid(images, nrow)
    buf = io.BytesIO()
    Image.fromarray(g).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())
