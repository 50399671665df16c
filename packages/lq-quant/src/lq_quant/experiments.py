"""The reproduce experiment: paired seeds × methods × bit widths, per-channel activation errors, claims.

For each seed ``s``: one full-precision network is trained (``fp_pretrain``) from the seed's
initialisation; every quantized cell (method × bits, W/A at the same bit width) starts from that
network, is quantized, calibrated on the same batch and fine-tuned with the same optimizer, schedule,
batches and number of steps. So the methods of a seed differ only in their quantizers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lq_quant import quantizers as Q
from lq_quant.export import MODEL_KIND
from lq_quant.layers import CAAct, calibrate, q_layers, quantize_model
from lq_quant.models import build_model
from lq_quant.train import evaluate, train
from reprokit import Claim, cached_json, paired_t_ci, progress, verdict_from_ci
from reprokit.checkpoint import load_checkpoint, save_checkpoint
from reprokit.distributed import is_main_process
from reprokit.report import ci_outcome

BASELINES = ("dorefa", "lqnets", "lsq")


def arch_of(cfg: dict[str, Any], data, method: str, wbits: int | None, abits: int | None) -> dict[str, Any]:
    m = cfg["model"]
    return {"model": m["name"], "width": int(m.get("width", 16)), "cifar_stem": bool(m.get("cifar_stem", True)),
            "in_channels": data.in_channels, "num_classes": data.num_classes, "image_size": data.image_size,
            "dataset": data.name, "downsample": int(cfg["data"].get("downsample", 1)), "method": method,
            "wbits": wbits, "abits": abits, "first_last": cfg["first_last"], "dq": dict(cfg["dq"])}


def fresh_model(cfg: dict[str, Any], data, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    m = cfg["model"]
    return build_model(m["name"], data.in_channels, data.num_classes, int(m.get("width", 16)),
                       bool(m.get("cifar_stem", True)))


def calib_batch(data, n: int) -> torch.Tensor:
    if data.x_train is not None:
        return data.x_train[:n]
    from torch.utils.data import DataLoader

    return next(iter(DataLoader(data.train_ds, batch_size=min(n, 256), shuffle=False)))[0]


def pretrain_fp(cfg, data, seed, device, ckpt_dir: Path, log_fn=None, quiet=True) -> Path:
    """The seed's full-precision network (trained once, cached as ``fp_s{seed}.pt``)."""
    path = Path(ckpt_dir) / f"fp_s{seed}.pt"
    done = Path(ckpt_dir) / f"fp_s{seed}.done.pt"
    if done.is_file():
        return done
    model = fresh_model(cfg, data, seed)
    tcfg = {**cfg["train"], **cfg["fp_pretrain"]}
    train(model, data, tcfg, seed, device, log_fn, quiet, checkpoint=path, tag=f"fp s{seed}")
    if is_main_process():
        save_checkpoint(done, {"kind": "lq-quant-fp", "state_dict": model.state_dict()})
        path.unlink(missing_ok=True)
    from reprokit.distributed import barrier

    barrier()
    return done


def build_quantized(cfg, data, method: str, bits: int, seed: int, fp_ckpt: Path | None) -> torch.nn.Module:
    model = fresh_model(cfg, data, seed)
    if fp_ckpt is not None:
        model.load_state_dict(load_checkpoint(fp_ckpt)["state_dict"])
    quantize_model(model, method, bits, bits, cfg["first_last"], cfg["dq"])
    calibrate(model, calib_batch(data, int(cfg["c2"]["calib_images"])))
    return model


def channel_error_stats(model: torch.nn.Module, x: torch.Tensor, bits: int, max_per_channel: int,
                        seed: int) -> dict[str, Any]:
    """For the input of every quantized layer: the step chosen by channel-aware and by channel-agnostic
    calibration on ``x``, and each channel's MSE under both (dead all-zero channels left out)."""
    acts: dict[str, torch.Tensor] = {}
    hooks = []
    for name, m in q_layers(model):
        if m.aq is not None:
            hooks.append(m.register_forward_pre_hook(lambda mod, inp, n=name: acts.__setitem__(n, inp[0].detach())))
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    g = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {"layers": {}}
    lower = lower_rel = total = 0
    for name, a in acts.items():
        aq = dict(q_layers(model))[name].aq
        signed = bool(aq.signed) if isinstance(aq, CAAct) else bool(a.min() < 0)
        X = Q.channels_view(a, max_per_channel, g)
        alive = X.pow(2).mean(1) > 0
        X = X[alive]
        if len(X) == 0:
            continue
        s_ca = Q.search_step(X, bits, signed, "channel-aware")
        s_ag = Q.search_step(X, bits, signed, "agnostic")
        s_rel = Q.search_step(X, bits, signed, "relative")
        e_ca, e_ag = Q.channel_errors(X, s_ca, bits, signed), Q.channel_errors(X, s_ag, bits, signed)
        e_rel = Q.channel_errors(X, s_rel, bits, signed)
        lower += int((e_ca < e_ag).sum())
        lower_rel += int((e_rel < e_ag).sum())
        total += len(X)
        v = X.var(1)
        out["layers"][name] = {"step_ca": s_ca, "step_ag": s_ag, "step_rel": s_rel, "err_ca": e_ca.tolist(),
                               "err_ag": e_ag.tolist(), "var": v.tolist(),
                               "var_max_over_median": float(v.max() / v.median().clamp(min=1e-12))}
    out["frac_lower"] = lower / max(total, 1)
    out["frac_lower_relative"] = lower_rel / max(total, 1)
    out["n_channels"] = total
    return out


def run_cell(cfg, data, method: str, bits: int, seed: int, device, fp_ckpt: Path | None, log_fn=None,
             quiet=True) -> dict[str, Any]:
    t0 = time.time()
    model = build_quantized(cfg, data, method, bits, seed, fp_ckpt)
    hist = train(model, data, cfg["train"], seed, device, log_fn, quiet, tag=f"{method} w{bits}a{bits} s{seed}")
    rec = {"method": method, "bits": bits, "seed": seed, "acc": evaluate(model, data, device),
           "train_loss": hist["loss"], "steps": hist["steps"], "seconds": round(time.time() - t0, 2)}
    if method == "dq":
        rec["c2"] = channel_error_stats(model, calib_batch(data, int(cfg["c2"]["calib_images"])), bits,
                                        int(cfg["c2"]["max_per_channel"]), seed)
    return rec


def run_grid(cfg, data, run_dir: Path, device, seed0: int, quiet=True, log_fn=None) -> dict[str, Any]:
    g = cfg["grid"]
    seeds = [seed0 + i for i in range(int(g["n_seeds"]))]
    stages = Path(run_dir) / "stages"
    stages.mkdir(exist_ok=True)
    ckpt_dir = Path(run_dir) / "checkpoints"
    cells = [(s, m, b) for s in seeds for m in g["methods"] for b in g["bits"]]
    fp_rows, rows = [], []
    bar = progress(total=len(seeds) + len(cells), desc="cells", quiet=quiet)
    for s in seeds:
        fp_ckpt = pretrain_fp(cfg, data, s, device, ckpt_dir, log_fn, quiet)

        def fp_eval(s=s, fp_ckpt=fp_ckpt):
            model = fresh_model(cfg, data, s)
            model.load_state_dict(load_checkpoint(fp_ckpt)["state_dict"])
            return {"method": "fp", "bits": 32, "seed": s, "acc": evaluate(model, data, device)}

        fp_rows.append(cached_json(stages, f"fp_s{s}", fp_eval))
        bar.update(1)
        start_from = fp_ckpt if cfg["init"] == "pretrained_fp" else None
        for m in g["methods"]:
            for b in g["bits"]:
                rec = cached_json(stages, f"{m}_w{b}_s{s}", lambda m=m, b=b, s=s, f=start_from: run_cell(
                    cfg, data, m, b, s, device, f, log_fn, quiet))
                rows.append(rec)
                if log_fn is not None and is_main_process():
                    log_fn({"cell": f"{m}_w{b}_s{s}", "acc": rec["acc"], "seconds": rec.get("seconds")})
                bar.update(1)
    bar.close()
    return {"seeds": seeds, "fp": fp_rows, "cells": rows, "methods": list(g["methods"]), "bits": list(g["bits"])}


# ------------------------------------------------------------------------------------------- claims
def _acc(res, method, bits) -> dict[int, float]:
    return {r["seed"]: r["acc"] for r in res["cells"] if r["method"] == method and r["bits"] == bits}


def c1_comparisons(res: dict[str, Any], margin: float) -> list[dict[str, Any]]:
    """Per (bits, baseline): effect e = acc_DQ − acc_baseline + margin per seed, its CI and verdict."""
    out = []
    for b in res["bits"]:
        dq = _acc(res, "dq", b)
        for base in BASELINES:
            if base not in res["methods"] or "dq" not in res["methods"]:
                continue
            other = _acc(res, base, b)
            seeds = sorted(set(dq) & set(other))
            d = [dq[s] - other[s] for s in seeds]
            ci = paired_t_ci(d)
            v = verdict_from_ci(ci["low"] + margin, ci["high"] + margin, ci["mean"] + margin, 0.0)
            out.append({"bits": b, "baseline": base, "diff_mean": ci["mean"], "diff_low": ci["low"],
                        "diff_high": ci["high"], "sd": ci["sd"], "n": ci["n"], "verdict": v,
                        "outcome": ci_outcome(ci["low"] + margin, ci["high"] + margin, 0.0)})
    return out


def c2_effects(res: dict[str, Any]) -> list[float]:
    """Per seed: fraction of channels (pooled over layers and bit widths) whose error is lower under
    channel-aware than under channel-agnostic calibration, minus 1/2."""
    by_seed: dict[int, list[int]] = {}
    for r in res["cells"]:
        if r["method"] == "dq" and "c2" in r:
            c = r["c2"]
            lo = round(c["frac_lower"] * c["n_channels"])
            acc = by_seed.setdefault(r["seed"], [0, 0])
            acc[0] += lo
            acc[1] += c["n_channels"]
    return [lo / max(n, 1) - 0.5 for _, (lo, n) in sorted(by_seed.items())]


def claims(res: dict[str, Any], cfg: dict[str, Any]) -> tuple[list[Claim], dict[str, Any], list[dict]]:
    cc = cfg["claims"]
    margin, c2_min = float(cc["margin"]), float(cc["c2_min_effect"])
    comps = c1_comparisons(res, margin)
    vs = [c["verdict"] for c in comps]
    if not vs:
        v1 = "inconclusive"
    elif all(v == "reproduced" for v in vs):
        v1 = "reproduced"
    elif any(v == "not reproduced" for v in vs):
        v1 = "not reproduced"
    else:
        v1 = "inconclusive"
    worst = min(comps, key=lambda c: c["diff_low"] if not np.isnan(c["diff_low"]) else -1e9) if comps else {}
    ev1 = {"margin_points": margin, "n_comparisons": len(comps),
           "n_reproduced": sum(v == "reproduced" for v in vs),
           "n_not_reproduced": sum(v == "not reproduced" for v in vs),
           "worst_case": f"{worst.get('bits')} bits vs {worst.get('baseline')}" if comps else "none",
           "worst_diff_mean": worst.get("diff_mean", float("nan")), "worst_diff_ci": [worst.get("diff_low"),
                                                                                         worst.get("diff_high")]}
    c1 = Claim("C1", "At 2/3/4 bits (W/A), direct quantization matches (within the margin) or beats DoReFa, "
               "LQ-Nets-style and LSQ top-1 accuracy",
               "abstract: 'achieves state-of-the-art performance' (AlexNet/ResNet/MobileNetV2, CIFAR-100, ImageNet)",
               v1, ev1, ours=f"{ev1['n_reproduced']}/{len(comps)} comparisons non-inferior at margin {margin} pt; "
               f"worst {ev1['worst_case']}: {ev1['worst_diff_mean']:+.2f} pt",
               note="per comparison: effect = acc_DQ − acc_baseline + margin; reproduced when its paired-t 95% CI "
                    "lies above 0 (non-inferiority); not reproduced when the whole CI is below 0 (DQ worse by more "
                    "than the margin); C1 = reproduced only if all comparisons are, not reproduced if any is")
    eff = c2_effects(res)
    ci = paired_t_ci(eff)
    v2 = verdict_from_ci(ci["low"], ci["high"], ci["mean"], c2_min)
    rel = [r["c2"].get("frac_lower_relative", float("nan")) for r in res["cells"] if r["method"] == "dq" and "c2" in r]
    spread = [lay["var_max_over_median"] for r in res["cells"] if r["method"] == "dq" and "c2" in r
              for lay in r["c2"]["layers"].values() if "var_max_over_median" in lay]
    ev2 = {"frac_channels_lower_mean": ci["mean"] + 0.5,
           "frac_lower_relative_mse_variant": float(np.mean(rel)) if rel else float("nan"),
           "channel_var_max_over_median_median": float(np.median(spread)) if spread else float("nan"),
           "effect_mean": ci["mean"], "effect_ci": [ci["low"], ci["high"]],
           "min_effect": c2_min, "n_seeds": ci["n"], "outcome": ci_outcome(ci["low"], ci["high"], c2_min)}
    c2 = Claim("C2", "Channel-aware activation calibration lowers the quantization error of the majority of channels "
               "vs channel-agnostic calibration", "abstract: 'minimize the quantization errors in the majority of "
               "channels'", v2, ev2, ours=f"{100 * (ci['mean'] + 0.5):.1f}% of channels lower (CI of the fraction "
               f"[{100 * (ci['low'] + 0.5):.1f}, {100 * (ci['high'] + 0.5):.1f}]%)",
               note=f"effect = fraction of channels with lower MSE − 0.5 per seed; reproduced when the CI > 0 and "
                    f"the mean ≥ {c2_min}")
    metrics: dict[str, Any] = {}
    for m in ["fp", *res["methods"]]:
        for b in ([32] if m == "fp" else res["bits"]):
            accs = [r["acc"] for r in (res["fp"] if m == "fp" else res["cells"]) if r["method"] == m and r["bits"] == b]
            if accs:
                metrics[f"acc_{m}_w{b}a{b}" if m != "fp" else "acc_fp"] = round(float(np.mean(accs)), 3)
    return [c1, c2], metrics, comps


# ------------------------------------------------------------------------------------- report parts
def accuracy_table_md(res: dict[str, Any]) -> str:
    lines = ["| method | " + " | ".join(f"W{b}/A{b}" for b in res["bits"]) + " |",
             "|---|" + "---|" * len(res["bits"])]
    fp = [r["acc"] for r in res["fp"]]
    lines.append(f"| full precision | {np.mean(fp):.2f} ± {np.std(fp, ddof=1) if len(fp) > 1 else 0:.2f} (32 bit)"
                 + " |" * len(res["bits"]))
    for m in res["methods"]:
        cells = []
        for b in res["bits"]:
            a = list(_acc(res, m, b).values())
            cells.append(f"{np.mean(a):.2f} ± {np.std(a, ddof=1) if len(a) > 1 else 0:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\nmean ± sd over {len(res['seeds'])} paired seeds, top-1 % on the test set."


def comparisons_md(comps: list[dict]) -> str:
    lines = ["| bits | baseline | acc_DQ − acc_baseline (mean) | 95% CI | verdict |", "|---|---|---|---|---|"]
    for c in comps:
        lines.append(f"| {c['bits']} | {c['baseline']} | {c['diff_mean']:+.2f} | [{c['diff_low']:+.2f}, "
                     f"{c['diff_high']:+.2f}] | {c['verdict']} |")
    return "\n".join(lines)


def draw_figures(res: dict[str, Any], fig_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = Path(fig_dir)
    paths = []
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for m in res["methods"]:
        mu = [np.mean(list(_acc(res, m, b).values())) for b in res["bits"]]
        sd = [np.std(list(_acc(res, m, b).values())) for b in res["bits"]]
        ax.errorbar(res["bits"], mu, yerr=sd, marker="o", capsize=3, label=m)
    ax.axhline(np.mean([r["acc"] for r in res["fp"]]), color="k", ls="--", lw=1, label="fp")
    ax.set_xlabel("bits (weights = activations)")
    ax.set_ylabel("top-1 (%)")
    ax.set_xticks(res["bits"])
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = fig_dir / "accuracy_vs_bits.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    ratios, ea, ec = [], [], []
    for r in res["cells"]:
        if r["method"] == "dq" and "c2" in r:
            for lay in r["c2"]["layers"].values():
                a, c = np.asarray(lay["err_ag"]), np.asarray(lay["err_ca"])
                ok = (a > 0) & (c > 0)
                ratios += list(np.log10(c[ok] / a[ok]))
                ea += list(a[ok])
                ec += list(c[ok])
    if ratios:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        axes[0].hist(ratios, bins=50, color="tab:blue")
        axes[0].axvline(0, color="k", lw=1)
        axes[0].set_xlabel("log10(MSE channel-aware / MSE channel-agnostic) per channel")
        axes[0].set_ylabel("channels")
        axes[0].set_title(f"{100 * np.mean(np.asarray(ratios) < 0):.1f}% of channels below 0", fontsize=9)
        axes[1].loglog(ea, ec, ".", ms=2, alpha=0.5)
        lim = [min(min(ea), min(ec)), max(max(ea), max(ec))]
        axes[1].plot(lim, lim, "k-", lw=1)
        axes[1].set_xlabel("per-channel MSE, channel-agnostic step")
        axes[1].set_ylabel("per-channel MSE, channel-aware step")
        fig.tight_layout()
        p = fig_dir / "channel_errors.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def model_record(model, arch: dict[str, Any]) -> dict[str, Any]:
    """What ``train`` saves as ``checkpoints/model.pt`` (and ``export`` reads)."""
    return {"kind": MODEL_KIND, "format": 1, "arch": arch, "state_dict": model.state_dict()}
