"""lskd: label smoothing × knowledge distillation compatibility and systematic diffusion.

Reimplementation of Chandrasegaran, Tran, Zhao, Cheung, "Revisiting Label Smoothing and Knowledge
Distillation Compatibility: What was Missing?", ICML 2022.
"""

__version__ = "0.1.0"

from lskd.losses import ce_kd_loss, kd_loss, label_smoothing_loss, student_loss

__all__ = ["__version__", "ce_kd_loss", "kd_loss", "label_smoothing_loss", "student_loss"]
