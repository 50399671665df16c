"""Markdown tables for the report: linearity per metric and |u|, CLEAM trials, measurement error, GAN."""

from __future__ import annotations

from typing import Any

from fairgen_metrics.metrics import CLASSIC, PROPOSED

ORDER = ("L1", "L2", "KL", "Spec", "IS", "WD", "WD (official)", "WDS", "WD (hamming)")


def linearity_table(sweep: dict[str, Any]) -> str:
    ks = list(sweep)
    metrics = [m for m in ORDER if any(m in sweep[k]["linearity"] for k in ks)]
    head = "| metric | kind | " + " | ".join(f"LE \\|u\\|={k}" for k in ks) + " | " + \
        " | ".join(f"sd(Δf)/Δf \\|u\\|={k}" for k in ks) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(ks))]
    for m in metrics:
        kind = "classic" if m in CLASSIC else ("proposed" if m in PROPOSED else "other")
        le = [sweep[k]["linearity"].get(m, {}).get("linearity_error") for k in ks]
        sd = [sweep[k]["linearity"].get(m, {}).get("step_rel_sd") for k in ks]
        lines.append(f"| {m} | {kind} | " + " | ".join("–" if v is None else f"{v:.4f}" for v in le) + " | "
                     + " | ".join("–" if v is None else f"{v:.3f}" for v in sd) + " |")
    n = ", ".join(f"|u|={k}: {sweep[k]['n']} distributions" for k in ks)
    lines.append("")
    lines.append(f"LE = mean |f − ideal line| of the normalised metric; sd(Δf)/Δf = relative spread of the step "
                 f"changes (0 = linear). {n}.")
    return "\n".join(lines)


def measured_table(measured: dict[str, Any]) -> str:
    ks = list(measured)
    metrics = [m for m in ORDER if all(m in measured[k]["linearity"] for k in ks)]
    lines = ["| metric | " + " | ".join(f"LE \\|u\\|={k} ({measured[k]['attribute']})" for k in ks) + " | "
             + " | ".join(f"mean \\|measured − exact\\| \\|u\\|={k}" for k in ks) + " |",
             "|" + "---|" * (1 + 2 * len(ks))]
    for m in metrics:
        lines.append(f"| {m} | " + " | ".join(f"{measured[k]['linearity'][m]['linearity_error']:.4f}" for k in ks)
                     + " | " + " | ".join(f"{measured[k]['abs_error_vs_exact'][m]:.4f}" for k in ks) + " |")
    return "\n".join(lines)


def cleam_table(block: dict[str, Any]) -> str:
    k = block["k"]
    pool = {"gen": "held-out train images (same distribution as the α images)",
            "test": "the Fashion-MNIST test split"}.get(block.get("pool"), block.get("pool"))
    names = ", ".join(block["class_names"])
    lines = [f"Pseudo-generators sample {pool}. Attribute `{block['attribute']}` ({names}); α held-out "
             f"{[round(a, 4) for a in block['accuracy_heldout']]} on {block['val_counts']} images, α on the "
             f"pseudo-generator's pool {[round(a, 4) for a in block['accuracy_pool']]}.", "",
             "| p* | trials × S × N | uncorrected p̂ (mean) | rel. error unc. % | corrected (α held-out) | "
             "rel. error corr. % | CI coverage unc. | CI coverage corr. (held-out α) | CI coverage corr. (pool α) | "
             "α-aware CI coverage |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in block["cases"]:
        def f(v):
            return "[" + ", ".join(f"{x:.4f}" for x in v) + "]" if k > 2 else f"{v[0]:.4f}"

        def pct(v):
            return "[" + ", ".join(f"{x:.2f}" for x in v) + "]" if k > 2 else f"{v[0]:.2f}"

        def cov(rec):
            return f"{rec['joint_coverage']:.3f}" if k == 2 else pct([100 * x for x in rec["coverage"]]) + " %"

        cov_h = cov(c["heldout"])
        lines.append(f"| {f(c['p_star'])} | {c['trials_run']} × {c['batches']} × {c['batch_size']} | "
                     f"{f(c['uncorrected_mean'])} | {pct(c['uncorrected_rel_error_pct'])} | "
                     f"{f(c['heldout']['mean'])} | "
                     f"{pct(c['heldout']['rel_error_pct'])} | "
                     f"{c['uncorrected_joint_coverage']:.3f} | {cov_h} | {cov(c['oracle'])} | "
                     + (f"{cov(c['heldout_alpha_aware'])} |" if "heldout_alpha_aware" in c else "– |"))
    if k > 2:
        lines.append("")
        lines.append("K > 2: the general (Cᵀ)⁻¹ form; corrected coverages are per class (% of trials whose CI "
                     "covers that class's p*); the uncorrected column is joint (every class covered).")
    return "\n".join(lines)


def error_table(err: dict[str, Any], metrics=("L2", "KL", "Spec", "IS", "WDS")) -> str:
    lines = ["| K | p* | α | n | " + " | ".join(f"bias {m}" for m in metrics) + " | "
             + " | ".join(f"bias {m} (corrected)" for m in metrics[:2]) + " |",
             "|" + "---|" * (4 + len(metrics) + 2)]
    for r in err["rows"]:
        bc = r["bias_corrected"]
        lines.append(f"| {r['k']} | {r['p_star']} | {r['accuracy']} | {r['n']} | "
                     + " | ".join(f"{r['bias'][m]:+.4f}" for m in metrics) + " | "
                     + " | ".join("–" if bc is None else f"{bc[m]:+.4f}" for m in metrics[:2]) + " |")
    return "\n".join(lines)


def gan_table(g: dict[str, Any]) -> str:
    k = len(g["p_hat"])
    lines = [f"GAN trained on {g['train_size']} real images for {g['steps']} steps; attribute `{g['attribute']}`; "
             f"training-data share {[round(x, 4) for x in g['train_share']]}.", "",
             "| class | p̂ (95% CI) | corrected (95% CI) |", "|---|---|---|"]
    for i in range(k):
        lines.append(f"| {i} | {g['p_hat'][i]:.4f} ({g['p_hat_low'][i]:.4f}…{g['p_hat_high'][i]:.4f}) | "
                     f"{g['corrected'][i]:.4f} ({g['corrected_low'][i]:.4f}…{g['corrected_high'][i]:.4f}) |")
    mu, mc = g["metrics_uncorrected"], g["metrics_corrected"]
    lines += ["", "| metric | uncorrected | corrected |", "|---|---|---|"]
    for m in ("l2", "l1", "kl", "specificity", "information_specificity", "wasserstein", "wds"):
        lines.append(f"| {m} | {mu[m]:.4f} | {mc[m]:.4f} |")
    return "\n".join(lines)


def sections(res: dict[str, Any], cfg: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("C1: linearity along the exact sweep (normalised metrics)", linearity_table(res["sweep"]["exact"]))]
    if res["sweep"]["measured"]:
        out.append(("The sweep measured through the classifier on real images",
                    measured_table(res["sweep"]["measured"])))
    for key, title in (("binary", "C2: CLEAM correction on pseudo-generators (binary closed form)"),
                       ("binary_test_pool",
                        "CLEAM on pseudo-generators drawing the test split (a shift from the α images)"),
                       ("general", "CLEAM correction, general confusion-matrix form")):
        block = res["cleam"].get(key)
        if block and "error" in block:
            out.append((title, f"not computed: {block['error']}"))
        elif block:
            out.append((title, cleam_table(block)))
    out.append(("Measurement error: bias of each metric vs classifier accuracy and sample size (simulated)",
                error_table(res["error_analysis"])))
    if res.get("gan"):
        out.append(("A real generator: the in-package GAN, measured", gan_table(res["gan"])))
    return out


def setting(cfg: dict[str, Any], res: dict[str, Any]) -> str:
    c, k = cfg["classifier"], cfg["cleam"]
    g = cfg["gan"]
    return (f"classifier CNN {c['epochs']} ep on {c['train_size']} images (base accuracy held-out "
            f"{res['classifier']['val_acc']:.3f}); sweep |u| ∈ {cfg['sweep']['cardinalities']}; CLEAM {k['trials']} "
            f"trials × {len(k['p_star'])} p*, S = {k['batches']}, N = {k['batch_size']}; GAN "
            f"{'off' if not g['enabled'] else str(g['steps']) + ' steps'}")
