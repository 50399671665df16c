"""fairgen_metrics: fairness metrics for generative models (Teo & Cheung 2021), the metric benchmark
sweep, and CLEAM-style correction of the sensitive-attribute classifier's error (Teo et al. 2023).

    >>> import numpy as np, fairgen_metrics as fm
    >>> p = fm.proportions(np.array([0, 0, 1, 3]), 4)      # zero-filled: class 2 keeps its 0
    >>> fm.all_metrics(p)["l2"]
"""

from fairgen_metrics.correction import (
    check_confusion,
    cleam,
    confusion_from_accuracies,
    confusion_matrix,
    correct,
    correct_binary,
)
from fairgen_metrics.metrics import (
    all_metrics,
    ground_matrix,
    information_specificity,
    kl,
    l1,
    l2,
    normalise,
    proportions,
    specificity,
    sweep_metrics,
    wasserstein,
    wasserstein_official,
    wds,
)
from fairgen_metrics.sweep import linearity, run_sweep, sweep_distributions

__version__ = "0.1.0"

__all__ = [
    "all_metrics", "check_confusion", "cleam", "confusion_from_accuracies", "confusion_matrix", "correct",
    "correct_binary", "ground_matrix", "information_specificity", "kl", "l1", "l2", "linearity", "normalise",
    "proportions", "run_sweep", "specificity", "sweep_distributions", "sweep_metrics", "wasserstein",
    "wasserstein_official", "wds",
]
