"""The paper's objectives, each a pure function of logits (and labels).

Notation: ``z`` logits (B, K), ``p = softmax(z)``, ``y`` integer labels, ``α`` label-smoothing factor,
``T`` KD temperature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def label_smoothing_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Label-smoothed cross-entropy (Szegedy et al. 2016; the paper's Sec. 3, eq. for the LS teacher):

        L_LS = (1 − α) · (−log p_y) + α · (1/K) Σ_k (−log p_k)

    i.e. cross-entropy against the smoothed target ``(1 − α)·onehot(y) + α/K``, batch mean.
    α = 0 gives the plain cross-entropy. Same value as ``F.cross_entropy(label_smoothing=α)``.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"label smoothing alpha must be in [0, 1), got {alpha}")
    logp = F.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, target.view(-1, 1)).squeeze(-1)
    uniform = -logp.mean(dim=-1)
    return ((1.0 - alpha) * nll + alpha * uniform).mean()


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Knowledge distillation (Hinton et al. 2015), the paper's student objective (no CE term):

        L_KD = T² · (1/B) Σ_b KL( softmax(t_b / T) ‖ softmax(s_b / T) )
             = T² · (1/B) Σ_b Σ_k q_k (log q_k − log p_k),   q = softmax(t/T), p = softmax(s/T)

    The T² factor keeps the gradient magnitude comparable across temperatures (∂L/∂s → (p − q)·T).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    log_p = F.log_softmax(student_logits / temperature, dim=-1)
    log_q = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    return F.kl_div(log_p, log_q, reduction="batchmean", log_target=True) * temperature**2


def ce_kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
               temperature: float, kd_weight: float) -> torch.Tensor:
    """The CE + KD mixture (Hinton et al. 2015; the variant the paper contrasts with pure KD):

        L = (1 − λ) · CE(s, y) + λ · L_KD(s, t; T)
    """
    if not 0.0 <= kd_weight <= 1.0:
        raise ValueError(f"kd_weight must be in [0, 1], got {kd_weight}")
    ce = F.cross_entropy(student_logits, target)
    return (1.0 - kd_weight) * ce + kd_weight * kd_loss(student_logits, teacher_logits, temperature)


def student_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
                 temperature: float, mode: str = "pure", kd_weight: float = 1.0) -> torch.Tensor:
    """``mode='pure'``: :func:`kd_loss` (the paper's main setting); ``'mixture'``: :func:`ce_kd_loss`."""
    if mode == "pure":
        return kd_loss(student_logits, teacher_logits, temperature)
    if mode == "mixture":
        return ce_kd_loss(student_logits, teacher_logits, target, temperature, kd_weight)
    raise ValueError(f"unknown KD mode {mode!r}; choose pure or mixture")
