"""deepGCFX: graph-wise common latent factor extraction (Cooray & Cheung, AAAI 2022) in PyTorch Geometric.

Public API (imported lazily, so ``deepgcfx --version`` stays fast)::

    from deepgcfx import DeepGCFX, InfoGraph, GraphCL, load_dataset, fit, embed, svm_cv
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "DeepGCFX": "models", "Accumulation": "models", "GINEncoder": "models", "GaussianHead": "models",
    "GatedFusion": "models",
    "InfoGraph": "baselines", "GraphCL": "baselines", "wl_features": "baselines",
    "kl_std_normal": "losses", "edge_recon_loss": "losses", "deepgcfx_loss": "losses", "nt_xent": "losses",
    "jsd_local_global": "losses",
    "GraphSet": "data", "load_dataset": "data", "load_tu": "data", "load_sdf": "data", "load_smiles_csv": "data",
    "load_solubility": "data", "make_synthetic": "data", "load_node_graph": "data", "list_datasets": "data",
    "build_model": "train", "fit": "train", "embed": "train",
    "svm_cv": "evaluate", "node_probe": "evaluate",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f"deepgcfx.{_API[name]}"), name)
    raise AttributeError(f"module 'deepgcfx' has no attribute {name!r}")
