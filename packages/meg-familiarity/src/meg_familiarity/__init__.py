"""meg-familiarity: time-resolved MEG decoding of face familiarity, onset statistics and low-level controls.

Reimplementation of Ehrenberg, Tsourides, Nejati, Cheung & Sinha, "Neural Correlates of Face
Familiarity Perception" (arXiv 2208.00352). Public API::

    from meg_familiarity import BatchedLDA, decode_time, make_folds          # decoding (folds grouped by stimulus)
    from meg_familiarity import shared_gram_aucs, permuted_labels            # fast within-subject permutations
    from meg_familiarity import cluster_test_group, group_onset, onset_ci    # onset statistics
    from meg_familiarity import image_attributes, match_images, rsa_subject  # low-level control
    from meg_familiarity import load_bids, load_epochs_fif, load_raw_events  # data
    from meg_familiarity import ConditionMap                                 # codes and/or names → familiar/unfamiliar
    from meg_familiarity import SimConfig, simulate_dataset, write_bids      # simulation
"""

__version__ = "0.1.0"

from meg_familiarity.control import image_attributes, match_images, rsa_subject
from meg_familiarity.data import (
    WAKEMAN_HENSON,
    ConditionMap,
    Preproc,
    SubjectData,
    load_bids,
    load_epochs_fif,
    load_raw_events,
)
from meg_familiarity.decoding import (
    BatchedLDA,
    decode_time,
    make_folds,
    permutation_aucs,
    permuted_labels,
    shared_gram_aucs,
)
from meg_familiarity.simulate import SimConfig, simulate_dataset, write_bids
from meg_familiarity.stats import cluster_test_group, cluster_test_permutations, fdr_onset, group_onset, onset_ci

__all__ = ["WAKEMAN_HENSON", "BatchedLDA", "ConditionMap", "Preproc", "SimConfig", "SubjectData", "__version__",
           "cluster_test_group", "cluster_test_permutations", "decode_time", "fdr_onset", "group_onset",
           "image_attributes", "load_bids", "load_epochs_fif", "load_raw_events", "make_folds", "match_images",
           "onset_ci", "permutation_aucs", "permuted_labels", "rsa_subject", "shared_gram_aucs", "simulate_dataset",
           "write_bids"]
