"""cmimh: Cross-Modal Info-Max Hashing (Hoang et al., IEEE TNNLS 2023) with an exact, fast retrieval evaluation.

The evaluation is NumPy-only and imported eagerly; the torch parts load on first use::

    from cmimh import evaluate_retrieval            # mAP, mAP@k (DeepHash / DCMH), tie-aware mAP, P@k, PR
    from cmimh import train_cmimh, cmimh_loss       # the method (torch)
"""

from cmimh.evaluate import (
    evaluate_retrieval,
    hamming_distance,
    mean_average_precision,
    pack_codes,
    tie_aware_map,
    to_bits,
)

__version__ = "0.1.0"

_LAZY = {
    "train_cmimh": "cmimh.train", "train_djsrh": "cmimh.train", "CrossModalHasher": "cmimh.train",
    "cmimh_loss": "cmimh.losses", "infonce_bound": "cmimh.losses", "nwj_bound": "cmimh.losses",
    "jsd_estimate": "cmimh.losses", "sample_codes": "cmimh.losses", "fit_cca_itq": "cmimh.baselines",
    "load_dataset": "cmimh.data", "make_split": "cmimh.data", "prepare_features": "cmimh.data",
}

__all__ = ["evaluate_retrieval", "hamming_distance", "mean_average_precision", "pack_codes", "tie_aware_map",
           "to_bits", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cmimh' has no attribute {name!r}")
