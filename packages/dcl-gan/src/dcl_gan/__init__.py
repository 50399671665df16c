"""dcl-gan: few-shot GAN adaptation — the analysis framework and Dual Contrastive Learning (CVPR 2022).

Public API: :func:`dcl_gan.losses.info_nce` (DCL's InfoNCE), :func:`dcl_gan.losses.cdc_kl` (CDC's
distance-consistency KL), :func:`dcl_gan.evaluate.frechet_distance`,
:func:`dcl_gan.evaluate.intra_cluster_diversity`, :func:`dcl_gan.train.adapt` (TGAN, FreezeD, EWC,
CDC and DCL in one harness).
"""

__version__ = "0.1.0"

METHODS = ("tgan", "freezed", "ewc", "cdc", "dcl")
