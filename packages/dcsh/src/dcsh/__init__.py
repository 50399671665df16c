"""dcsh: Unsupervised Deep Cross-modality Spectral Hashing (Hoang et al., IEEE TIP 2020).

Step 1 (:mod:`dcsh.step1`, on anchor graphs from :mod:`dcsh.graph`) learns exactly binary, balanced codes
from two aligned modalities; step 2 (:mod:`dcsh.train`, torch) trains image/text networks to reproduce them;
:mod:`dcsh.evaluate` holds the retrieval metrics. The formulation is this package's interpretation of the
paper's abstract (see the README).
"""

__version__ = "0.1.0"

from dcsh.evaluate import (
    evaluate_codes,
    hamming,
    map_at_k,
    map_at_k_dcmh,
    map_whole,
    pr_curve,
    precision_at_k,
)
from dcsh.graph import anchor_graph, fuse
from dcsh.step1 import CCAITQ, dcsh_codes, solve

__all__ = ["CCAITQ", "__version__", "anchor_graph", "dcsh_codes", "evaluate_codes", "fuse", "hamming",
           "map_at_k", "map_at_k_dcmh", "map_whole", "pr_curve", "precision_at_k", "solve"]
