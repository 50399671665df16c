"""The paper's experiments as functions: config in → results dict (+ figures) out.

- :func:`graph_benchmark`: deepGCFX vs InfoGraph vs GraphCL vs WL on the same graphs, SVM protocol, seeds;
  deepGCFX's ablation (common only / local only / both) from the same trained models.
- :func:`synthetic_check`: graphs from a known global factor; does the common latent predict it better than
  the local latents?
- :func:`node_level`: node-level variant on networkx's real graphs with a logistic-regression probe.

Each unit of work (a method × seed) stores its result as JSON under ``checkpoints/results`` and its
training state under ``checkpoints/``, so ``--resume`` skips finished units and continues a cut one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepgcfx.baselines import wl_features
from deepgcfx.data import GraphSet, load_node_graph, make_synthetic
from deepgcfx.evaluate import mean_std, node_probe, plusplus_candidates, svm_cv, svm_cv_select
from deepgcfx.train import build_model, embed, fit
from reprokit import RunDir, cached_json

log = logging.getLogger("deepgcfx")

VIEWS = ("common", "local", "local_mean", "both")
# Each method's own view in its paper: deepGCFX evaluates z_c alone, InfoGraph/GraphCL the layer-concatenated
# sum readout; "matched" is that same readout applied to every method's GIN encoder (equal dimension).
PAPER_VIEW = {"deepgcfx": "deepgcfx:common", "infograph": "infograph", "graphcl": "graphcl"}


def random_init_model(method: str, in_dim: int, cfg: dict, seed: int):
    """The random-init control: the method's architecture with its seeded initial weights, never trained."""
    torch.manual_seed(seed)
    return build_model(method, in_dim, cfg["model"])


def _results_dir(run: RunDir | None) -> Path | None:
    """Where each finished (method, seed) result is kept, so that ``--resume`` skips it."""
    return None if run is None else run.checkpoints / "results"


def _svm(X: np.ndarray, y: np.ndarray, seed: int, ecfg: dict, kernel: str = "rbf") -> dict:
    return svm_cv(X, y, seed=seed, folds=int(ecfg["folds"]), inner_folds=int(ecfg["inner_folds"]),
                  Cs=tuple(float(c) for c in ecfg["C"]), kernel=kernel, n_jobs=int(ecfg.get("n_jobs", 1)))


def train_unit(method: str, graphs: list, in_dim: int, cfg: dict, seed: int, run: RunDir | None,
               device: torch.device | str, quiet: bool, key: str, epochs: int | None = None) -> tuple[Any, dict]:
    """Train one model (resumable through ``checkpoints/<key>.pt``); return it and its training record."""
    torch.manual_seed(seed)
    model = build_model(method, in_dim, cfg["model"])
    tcfg = cfg["train"]
    ckpt = run.checkpoints / f"{key}.pt" if run is not None else None

    def on_epoch(rec: dict) -> None:
        if run is not None:
            run.log_metrics({"unit": key, **rec})

    lr = float((tcfg.get("lr_by_method") or {}).get(method, tcfg["lr"]))
    t0 = time.perf_counter()
    history = fit(model, graphs, epochs=int(epochs if epochs is not None else tcfg["epochs"]),
                  batch_size=int(tcfg["batch_size"]), lr=lr, seed=seed, device=device,
                  checkpoint=ckpt, quiet=quiet, desc=key, on_epoch=on_epoch,
                  keep_best=method == "deepgcfx" and bool(cfg["model"].get("official", False)))
    return model, {"history": history, "train_s": time.perf_counter() - t0}


def _view_accuracies(method: str, views: dict[str, np.ndarray], y: np.ndarray, seed: int, ecfg: dict) -> dict:
    """SVM accuracy of every view a method gives (a view identical to one already scored is not re-scored);
    for deepGCFX also deepGCFX++ (α by inner CV). ``eval.views`` limits deepGCFX's views."""
    wanted = ecfg.get("views")
    if method == "deepgcfx" and wanted:
        views = {v: X for v, X in views.items() if v in wanted or v in ("common", "local", "matched")}
    acc: dict[str, float] = {}
    for v, X in views.items():
        same = next((w for w in acc if np.array_equal(views[w], X)), None)
        acc[v] = acc[same] if same is not None else _svm(X, y, seed, ecfg)["acc"]
    out = {"acc": acc, "dims": {v: int(X.shape[1]) for v, X in views.items()}}
    if method == "deepgcfx":
        pp = svm_cv_select(plusplus_candidates(views["common"], views["local"]), y, seed=seed,
                           folds=int(ecfg["folds"]), inner_folds=int(ecfg["inner_folds"]),
                           Cs=tuple(float(c) for c in ecfg["C"]), n_jobs=int(ecfg.get("n_jobs", 1)))
        acc["plusplus"] = pp["acc"]
        out["dims"]["plusplus"] = int(views["common"].shape[1])
        out["plusplus_alphas"] = pp["chosen"]
    return out


def graph_benchmark(gs: GraphSet, cfg: dict, seeds: list[int], run: RunDir | None = None,
                    device: torch.device | str = "cpu", quiet: bool = True) -> dict[str, Any]:
    """SVM accuracy of every method on ``gs`` for every seed (paired: the same folds per seed), each on its
    paper's view and on the matched readout, beside random-init controls of the same architectures;
    deepGCFX's ablation (common / local / both) and deepGCFX++ from the same trained models."""
    y, ecfg = gs.labels, cfg["eval"]
    per_seed: dict[str, list[float]] = {}
    histories: dict[str, list[float]] = {}
    timings: dict[str, list[float]] = {}
    dims: dict[str, int] = {}
    methods = ["deepgcfx", *[m for m in cfg["baselines"] if m != "wl"]]
    for seed in seeds:
        for method in methods:
            key = f"{method}-s{seed}"

            def unit(method=method, seed=seed, key=key) -> dict:
                model, rec = train_unit(method, gs.graphs, gs.num_features, cfg, seed, run, device, quiet, key)
                t0 = time.perf_counter()
                views = embed(model, gs.graphs, device=device)
                rec["embed_s"] = time.perf_counter() - t0
                return rec | _view_accuracies(method, views, y, seed, ecfg)

            res = cached_json(_results_dir(run), key, unit)
            for view, acc in res["acc"].items():
                name = method if view == "graph" else f"{method}:{view}"
                per_seed.setdefault(name, []).append(acc)
                dims[name] = res["dims"][view]
            histories[key] = res["history"]
            timings.setdefault(method, []).append(res["train_s"])
        for method in methods if cfg.get("random_control", True) else []:
            def control(method=method, seed=seed) -> dict:
                model = random_init_model(method, gs.num_features, cfg, seed)
                views = embed(model, gs.graphs, device=device)
                keep = {"deepgcfx": ("common", "matched")}.get(method, ("matched",))
                return _view_accuracies("control", {v: views[v] for v in keep}, y, seed, ecfg)

            res = cached_json(_results_dir(run), f"random-{method}-s{seed}", control)
            for view, acc in res["acc"].items():
                per_seed.setdefault(f"random-{method}:{view}", []).append(acc)
                dims[f"random-{method}:{view}"] = res["dims"][view]
        if "wl" in cfg["baselines"]:
            def wl_unit(seed=seed) -> dict:
                X = wl_features(gs.graphs, int(ecfg["wl_iterations"]))
                return {"acc": _svm(X @ X.T, y, seed, ecfg, kernel="precomputed")["acc"], "dim": int(X.shape[1])}

            wl = cached_json(_results_dir(run), f"wl-s{seed}", wl_unit)
            per_seed.setdefault("wl", []).append(wl["acc"])
            dims["wl"] = wl.get("dim", 0)
    summary = {k: dict(zip(("mean", "std"), mean_std(v))) | {"per_seed": v} for k, v in per_seed.items()}
    return {"accuracy": summary, "histories": histories, "dims": dims, "seeds": list(seeds),
            "train_s": {k: float(np.mean(v)) for k, v in timings.items()}}


def synthetic_check(cfg: dict, seeds: list[int], run: RunDir | None = None, device: torch.device | str = "cpu",
                    quiet: bool = True) -> dict[str, Any]:
    """Train deepGCFX on graphs generated from a known global factor; SVM accuracy of predicting the factor
    from the common latent vs from the (mean-pooled) local latents vs both."""
    scfg = cfg["synthetic"]
    per_seed: dict[str, list[float]] = {}
    for seed in seeds:
        def unit(seed=seed) -> dict:
            gs = make_synthetic(n_graphs=int(scfg["n_graphs"]), n_factors=int(scfg["n_factors"]),
                                signal=float(scfg["signal"]), seed=seed)
            model, rec = train_unit("deepgcfx", gs.graphs, gs.num_features, cfg, seed, run, device, quiet,
                                    f"synthetic-s{seed}", epochs=int(scfg["epochs"]))
            views = embed(model, gs.graphs, device=device)
            rec["acc"] = {v: _svm(X, gs.labels, seed, cfg["eval"])["acc"] for v, X in views.items()}
            return rec

        res = cached_json(_results_dir(run), f"synthetic-s{seed}", unit)
        for view, acc in res["acc"].items():
            per_seed.setdefault(view, []).append(acc)
    return {"accuracy": {k: dict(zip(("mean", "std"), mean_std(v))) | {"per_seed": v} for k, v in per_seed.items()},
            "chance": 1.0 / int(scfg["n_factors"])}


def node_level(cfg: dict, seeds: list[int], run: RunDir | None = None, device: torch.device | str = "cpu",
               quiet: bool = True) -> dict[str, Any]:
    """Node-level deepGCFX on each networkx graph: logistic probe on [z_common, z_local] vs raw degree features."""
    ncfg = cfg["node"]
    out: dict[str, Any] = {}
    for name in ncfg["graphs"]:
        data, note = load_node_graph(name)
        rows: dict[str, list[float]] = {}
        for seed in seeds:
            def unit(seed=seed, data=data, name=name) -> dict:
                torch.manual_seed(seed)
                model = build_model("deepgcfx", data.num_features, cfg["model"])
                d = data.clone()
                d.batch = torch.zeros(d.num_nodes, dtype=torch.long)
                fit(model, [d], epochs=int(ncfg["epochs"]), batch_size=1, lr=float(cfg["train"]["lr"]), seed=seed,
                    device=device, quiet=quiet, desc=f"node-{name}-s{seed}")
                model.eval()
                views = {k: v.cpu().numpy() for k, v in model.node_embed(d.to(device)).items()}
                views["degree features"] = data.x.numpy()
                y = data.y.numpy()
                return {v: node_probe(X, y, splits=int(ncfg["splits"]), train_frac=float(ncfg["train_frac"]),
                                      seed=seed)["acc"] for v, X in views.items()}

            for view, acc in cached_json(_results_dir(run), f"node-{name}-s{seed}", unit).items():
                rows.setdefault(view, []).append(acc)
        out[name] = {"note": note, "accuracy": {k: dict(zip(("mean", "std"), mean_std(v))) for k, v in rows.items()}}
    return out


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
def _bars(ax, names: list[str], acc: dict, title: str) -> None:
    means = [100 * acc[n]["mean"] for n in names]
    stds = [100 * acc[n]["std"] for n in names]
    ax.bar(range(len(names)), means, yerr=stds, capsize=4, color="#4c72b0")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("SVM accuracy (%)")
    lo = min(m - s for m, s in zip(means, stds))
    ax.set_ylim(max(0, lo - 10), min(100, max(m + s for m, s in zip(means, stds)) + 5))
    ax.set_title(title)


def plot_results(bench: dict, synth: dict | None, figdir: Path) -> list[Path]:
    """Accuracy bars (methods; ablation real + synthetic) and training-loss curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figdir.mkdir(parents=True, exist_ok=True)
    acc = bench["accuracy"]
    paths = []
    methods = [m for m in ("deepgcfx:common", "deepgcfx:plusplus", "infograph", "graphcl", "random-deepgcfx:common",
                           "random-infograph:matched", "wl") if m in acc]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    _bars(ax, methods, acc, "Graph classification (mean ± std over seeds)")
    fig.tight_layout()
    paths.append(figdir / "svm_accuracy.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2 if synth else 1, figsize=(8 if synth else 4.5, 3.4), squeeze=False)
    real = {k.split(":")[1]: v for k, v in acc.items() if k.startswith("deepgcfx:")}
    _bars(axes[0, 0], [v for v in VIEWS if v in real], real, "Ablation (real data)")
    if synth:
        _bars(axes[0, 1], [v for v in VIEWS if v in synth["accuracy"]], synth["accuracy"],
              "Synthetic: predict the global factor")
        axes[0, 1].axhline(100 * synth["chance"], color="grey", ls="--", lw=1)
    fig.tight_layout()
    paths.append(figdir / "ablation_common_local.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for key, hist in bench["histories"].items():
        ax.plot(range(1, len(hist) + 1), np.asarray(hist) / max(abs(hist[0]), 1e-12), label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss / first-epoch loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(figdir / "training_loss.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
