"""kml-meta: multimodal meta-learning (MAML, ProtoNet, Multi-MAML, MMAML, KML) and micro-level transference.

Reimplements Abdollahzadeh, Malekzadeh & Cheung, "Revisiting Multimodal Meta-Learning through the Lens of
Multi-Task Learning" (NeurIPS 2021).
"""

__version__ = "0.1.0"

from kml_meta.losses import (
    film,
    kernel_modulate,
    maml_adapt,
    protonet_logits,
    prototypes,
    transductive_prototypes,
    transference,
)
from kml_meta.models import ALGOS, MetaLearner, MultiMAML, build_learner

__all__ = ["ALGOS", "MetaLearner", "MultiMAML", "__version__", "build_learner", "film", "kernel_modulate",
           "maml_adapt", "protonet_logits", "prototypes", "transductive_prototypes", "transference"]
