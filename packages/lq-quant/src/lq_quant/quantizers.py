"""The quantizers' math as small pure functions (each checked by the tests against hand examples).

Notation: ``b`` bits, ``K = 2^b`` levels, STE = straight-through estimator (the rounding's gradient
is taken as 1).

Paper's method, as this package interprets it (the paper's text is not available offline; only its
abstract is; every rule below is this package's design, named "ours"):

* **Direct quantization (DQ) of weights** — ours. The trainable state of a layer is its levels
  ``L`` (``K`` floats per layer, or ``C_out × K`` per output channel) and an integer code
  ``c_i ∈ [0, K)`` per weight; the weight *is* ``W_i = L[c_i]`` (:func:`level_lookup`), there is no
  full-precision shadow copy. With the loss ``ℓ`` and ``g_i = ∂ℓ/∂W_i``:

  - level gradient (exact, since ``W_i = L[c_i]``):  ``∂ℓ/∂L_k = Σ_{i: c_i = k} g_i``;
  - one step: the optimizer proposes ``L' = L − η·u_L`` and a per-weight move ``Δ_i = −η·u_i`` (``u``
    the optimizer's update direction: the gradient, or Adam's normalised moment); the new weight is
    the proposal ``p_i = L'[c_i] + Δ_i`` *rounded back onto the new levels*:
    ``c_i ← SR(p_i; L')`` (:func:`stochastic_round_to_levels`): with sorted levels
    ``l_j ≤ p_i ≤ l_{j+1}``, ``c_i = j + 1`` with probability ``(p_i − l_j)/(l_{j+1} − l_j)`` else ``j``
    (values outside ``[l_0, l_{K−1}]`` clip to the end level). Stochastic rounding makes the step
    unbiased, ``E[W_new] = p``, so small updates move weights in expectation without a hidden
    full-precision accumulator. ``rounding: nearest`` gives the deterministic variant.
  - levels are kept sorted after each step (codes are remapped through the sort permutation).
  - initialisation: ``L`` = Lloyd–Max (1-D k-means) levels of the initial full-precision weights,
    ``c`` = the nearest level (:func:`kmeans_levels`).

* **Channel-aware activation quantizer** — ours. A uniform quantizer with step ``s`` shared by the
  layer, ``q_s(x) = s · clamp(round(x/s), n_lo, n_hi)`` (``n_lo = 0, n_hi = K−1`` after a ReLU; signed
  ``[−K/2, K/2−1]`` otherwise). ``s`` minimises the *channel-averaged log error*

  ``J_ca(s) = (1/C) Σ_c log(mean_i (x_ci − q_s(x_ci))² + ε)``

  so every (non-dead) channel counts equally, whatever its variance; the channel-agnostic
  calibration minimises the plain error over all elements, ``J_ag(s) = mean_{c,i} (x_ci − q_s(x_ci))²``,
  which a few high-variance channels dominate. Both are minimised by a search over candidate steps
  (:func:`search_step`); see :func:`objective`.

Baselines (published formulas):

* DoReFa-Net (Zhou et al. 2016, eqs. 5, 9, 11): ``quantize_k(r) = round((2^k − 1)·r)/(2^k − 1)``;
  weights ``w_q = 2·quantize_k(tanh(w)/(2·max|tanh(w)|) + 1/2) − 1`` (k > 1),
  ``w_q = E(|w|)·sign(w)`` (k = 1); activations ``quantize_k(clip(x, 0, 1))``; STE.
* LQ-Nets (Zhang et al. 2018): ``Q(x, v) = vᵀ e_l`` with ``e_l ∈ {−1, 1}^K`` (weights) or
  ``{0, 1}^K`` (activations): the nearest of the ``2^K`` levels; the basis ``v`` is fitted by the
  quantization-error-minimisation step ``v* = (B Bᵀ)^{-1} B x`` (B = the K × N encodings) and kept as a
  moving average; STE.
* LSQ (Esser et al. 2020, eqs. 1–3): ``v̂ = round(clip(v/s, −Q_N, Q_P))·s``; ``∂v̂/∂s = −v/s + round(v/s)``
  inside the range, ``−Q_N`` / ``Q_P`` outside; the step's gradient is scaled by ``1/√(N·Q_P)``;
  init ``s = 2⟨|v|⟩/√Q_P``.
"""

from __future__ import annotations

import itertools
import math

import torch

# ------------------------------------------------------------------------------------ generic pieces


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` forward (exactly: ``round(x) + 0``), identity gradient (the straight-through estimator)."""
    return x.detach().round() + (x - x.detach())


def grad_scale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x`` forward, gradient multiplied by ``scale`` (LSQ's step-size gradient scaling)."""
    y = x * scale
    return (x - y).detach() + y


def uniform_levels(bits: int, signed: bool) -> tuple[int, int]:
    """Integer code range ``(n_lo, n_hi)`` of a b-bit uniform quantizer."""
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def uniform_quantize(x: torch.Tensor, step: torch.Tensor | float, bits: int, signed: bool) -> torch.Tensor:
    """``s · clamp(round(x/s), n_lo, n_hi)`` (no gradient trick; see :func:`uniform_quantize_ste`)."""
    lo, hi = uniform_levels(bits, signed)
    return torch.clamp(torch.round(x / step), lo, hi) * step


class _UniformSTE(torch.autograd.Function):
    """Fused ``round_ste(clamp(x/s, lo, hi))·s``: the same values and the same gradient, bit for bit, as the
    composed autograd graph (``where(lo < x/s < hi, g·s, 0)/s``, strict like torch.clamp), with fewer
    temporaries (only a 0/1 mask is kept for the backward pass). ``s`` is a constant here (no gradient)."""

    @staticmethod
    def forward(ctx, x, step, lo, hi):
        t = x / step
        mask = ((t > lo) & (t < hi)).to(t.dtype)  # a 0/1 float mask: multiplying by it is the fast path
        t.clamp_(lo, hi).round_().mul_(step)
        ctx.save_for_backward(mask, step if isinstance(step, torch.Tensor) else torch.tensor(step))
        return t

    @staticmethod
    def backward(ctx, g):
        mask, step = ctx.saved_tensors
        return (g * step).mul_(mask).div_(step), None, None, None


def uniform_quantize_ste(x: torch.Tensor, step: torch.Tensor | float, bits: int, signed: bool) -> torch.Tensor:
    """Uniform quantizer with the clipped STE: ``round_ste(clamp(x/s, n_lo, n_hi))·s``, so the gradient to
    ``x`` is 1 where ``n_lo < x/s < n_hi`` and 0 elsewhere (the step is not trained through this path)."""
    lo, hi = uniform_levels(bits, signed)
    if isinstance(step, torch.Tensor) and step.requires_grad:
        return round_ste(torch.clamp(x / step, lo, hi)) * step
    return _UniformSTE.apply(x, step.detach() if isinstance(step, torch.Tensor) else step, lo, hi)


# --------------------------------------------------------------------------- direct quantization (DQ)


def level_lookup(weight: torch.Tensor, levels: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """``W = L[c]`` with the gradients of direct quantization.

    ``levels``: ``(R, K)`` (R = 1 per layer, C_out per channel); ``codes``: integer, shape of
    ``weight``. Forward value: exactly ``levels[row, codes]``. Gradients: ``∂ℓ/∂L_k = Σ_{c_i=k} g_i``
    (gather's backward is a scatter-add) and ``g`` itself to ``weight`` (the state the optimizer moves,
    always equal to ``L[c]`` between steps).
    """
    rows = levels.shape[0]
    flat = codes.reshape(rows, -1).long()
    w = torch.gather(levels, 1, flat).reshape(weight.shape)
    return w + (weight - weight.detach())


def stochastic_round_to_levels(values: torch.Tensor, levels: torch.Tensor,
                               generator: torch.Generator | None = None, stochastic: bool = True) -> torch.Tensor:
    """Codes of ``values`` (``(R, M)``) on the sorted rows of ``levels`` (``(R, K)``).

    Stochastic: with ``l_j ≤ p ≤ l_{j+1}``, code ``j+1`` with probability ``(p − l_j)/(l_{j+1} − l_j)``,
    else ``j``; values beyond the end levels clip. Deterministic (``stochastic=False``): the nearest
    level (ties to the lower one).
    """
    K = levels.shape[1]
    v = values.contiguous()
    lv = levels.contiguous()
    v = torch.maximum(torch.minimum(v, lv[:, -1:]), lv[:, :1])
    j = torch.searchsorted(lv, v, right=True) - 1  # l_j ≤ v
    j = j.clamp(0, K - 2) if K > 1 else j.clamp(0, 0)
    if K == 1:
        return j
    lo = torch.gather(lv, 1, j)
    hi = torch.gather(lv, 1, j + 1)
    gap = hi - lo
    frac = torch.where(gap > 0, (v - lo) / torch.where(gap > 0, gap, torch.ones_like(gap)), torch.zeros_like(v))
    if stochastic:
        u = torch.rand(v.shape, generator=generator, device="cpu").to(v.device)
        up = u < frac
    else:
        up = frac > 0.5
    return j + up.long()


def kmeans_levels(x: torch.Tensor, k: int, iters: int = 15) -> torch.Tensor:
    """Lloyd–Max levels of each row of ``x`` (``(R, M)``): ``(R, k)`` sorted, initialised at quantiles."""
    x = x.detach().float()
    q = torch.linspace(0.5 / k, 1 - 0.5 / k, k, device=x.device)
    levels = torch.quantile(x, q, dim=1).T.contiguous()  # (R, k)
    for _ in range(iters):
        a = nearest_codes(x, levels)
        s = torch.zeros_like(levels).scatter_add_(1, a, x)
        n = torch.zeros_like(levels).scatter_add_(1, a, torch.ones_like(x))
        levels = torch.where(n > 0, s / n.clamp(min=1), levels).sort(dim=1).values
    return levels


def nearest_codes(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Index of the nearest level of each element of ``x`` (``(R, M)``) among the *sorted* rows of
    ``levels`` (``(R, K)``); a value half-way between two levels goes to the lower one.

    Computed with the midpoints ``(l_j + l_{j+1})/2`` and a binary search (O(M log K), not O(M·K)).
    """
    if levels.shape[1] == 1:
        return torch.zeros(x.shape, dtype=torch.long, device=x.device)
    mid = ((levels[:, 1:] + levels[:, :-1]) / 2).contiguous()
    return torch.searchsorted(mid, x.contiguous(), right=False)


# ---------------------------------------------------------------- channel-aware activation calibration


def channel_errors(x: torch.Tensor, step: float, bits: int, signed: bool) -> torch.Tensor:
    """Per-channel mean squared quantization error of ``x`` (``(C, M)``) at step ``step``."""
    return (x - uniform_quantize(x, step, bits, signed)).pow(2).mean(1)


def objective(x: torch.Tensor, steps: torch.Tensor, bits: int, signed: bool, mode: str) -> torch.Tensor:
    """``J(s)`` for each candidate step (``(G,)``) on channels ``x`` (``(C, M)``).

    * ``"channel-aware"`` (ours, the package's method): ``(1/C') Σ_c log(mse_c(s) + ε)`` over the C'
      channels that are not all zero, ``ε = 10⁻⁸ · mean_c mean_i x_ci²``. The log makes the objective
      invariant to each channel's scale: a channel whose error doubles costs ``log 2`` whatever its
      variance, so neither a few high-variance channels (as in the plain MSE) nor a few near-silent ones
      (as in the relative MSE below) can dominate the choice of the shared step.
    * ``"relative"``: ``(1/C') Σ_c mse_c(s)/(mean_i x_ci² + ε)`` (the first design tried; reported as a
      secondary number: on a pilot it was dominated by near-silent channels).
    * ``"agnostic"``: ``mean over all elements of (x − q_s(x))²`` (every element equal: the usual
      calibration, dominated by the high-variance channels).
    """
    lo, hi = uniform_levels(bits, signed)
    s = steps.view(-1, 1, 1)
    err = (x.unsqueeze(0) - torch.clamp(torch.round(x.unsqueeze(0) / s), lo, hi) * s).pow(2).mean(2)  # (G, C)
    if mode == "agnostic":
        return err.mean(1)
    if mode not in ("channel-aware", "relative"):
        raise ValueError(f"unknown calibration mode {mode!r}")
    msq = x.pow(2).mean(1)
    alive = msq > 0
    if not bool(alive.any()):
        return err.mean(1)
    eps = 1e-8 * float(msq[alive].mean())
    if mode == "relative":
        return (err[:, alive] / (msq[alive] + eps)).mean(1)
    return torch.log(err[:, alive] + eps).mean(1)


def candidate_steps(x: torch.Tensor, bits: int, signed: bool, n: int = 100) -> torch.Tensor:
    """``n`` candidate steps from ``max|x|/n_hi · r``, ``r`` log-spaced in [1/200, 1]."""
    _, hi = uniform_levels(bits, signed)
    top = float(x.abs().max()) / max(hi, 1)
    if top <= 0:
        top = 1.0
    return top * torch.logspace(math.log10(1 / 200), 0, n, dtype=x.dtype, device=x.device)


def search_step(x: torch.Tensor, bits: int, signed: bool, mode: str, n: int = 100) -> float:
    """The candidate step minimising :func:`objective` (``x``: ``(C, M)`` channels × samples)."""
    steps = candidate_steps(x, bits, signed, n)
    j = objective(x, steps, bits, signed, mode)
    return float(steps[int(torch.argmin(j))])


def channels_view(x: torch.Tensor, max_per_channel: int | None = 4096, generator: torch.Generator | None = None
                  ) -> torch.Tensor:
    """An activation ``(N, C, ...)`` as ``(C, M)``, optionally subsampled to ``max_per_channel`` columns."""
    c = x.shape[1] if x.dim() > 1 else 1
    flat = x.detach().transpose(0, 1).reshape(c, -1) if x.dim() > 1 else x.detach().reshape(1, -1)
    if max_per_channel is not None and flat.shape[1] > max_per_channel:
        idx = torch.randperm(flat.shape[1], generator=generator)[:max_per_channel].to(flat.device)
        flat = flat[:, idx]
    return flat.float()


# ------------------------------------------------------------------------------------------- DoReFa


def dorefa_quantize_k(r: torch.Tensor, k: int) -> torch.Tensor:
    """``round((2^k − 1)·r)/(2^k − 1)`` with STE (DoReFa eq. 5)."""
    n = 2**k - 1
    return round_ste(r * n) / n


def dorefa_weight(w: torch.Tensor, k: int) -> torch.Tensor:
    """DoReFa weights: ``2·quantize_k(tanh(w)/(2 max|tanh w|) + ½) − 1`` (k > 1); ``E|w|·sign(w)`` (k = 1)."""
    if k == 1:
        e = w.abs().mean().detach()
        return (torch.sign(w) * e).detach() + (w - w.detach())  # STE, value exact
    t = torch.tanh(w)
    r = t / (2 * t.abs().max()) + 0.5
    return 2 * dorefa_quantize_k(r, k) - 1


def dorefa_act(x: torch.Tensor, k: int) -> torch.Tensor:
    """DoReFa activations: ``quantize_k(clip(x, 0, 1))``."""
    return dorefa_quantize_k(torch.clamp(x, 0, 1), k)


# ------------------------------------------------------------------------------------------ LQ-Nets


def lq_encodings(k: int, signed: bool) -> torch.Tensor:
    """All ``2^k`` encodings as a ``(2^k, k)`` matrix of ±1 (weights) or 0/1 (activations)."""
    vals = (-1.0, 1.0) if signed else (0.0, 1.0)
    return torch.tensor(list(itertools.product(vals, repeat=k)), dtype=torch.float32)


def lq_levels(v: torch.Tensor, signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Levels ``vᵀ e_l`` of basis rows ``v`` (``(R, k)``): sorted ``(R, 2^k)`` and the encodings in that order."""
    enc = lq_encodings(v.shape[1], signed).to(v)  # (L, k)
    lv = v @ enc.T  # (R, L)
    lv, order = lv.sort(dim=1)
    return lv, enc[order]  # enc: (R, L, k)


def lq_quantize(x: torch.Tensor, v: torch.Tensor, signed: bool) -> torch.Tensor:
    """Nearest LQ-Nets level of each element (``x``: ``(R, M)``, ``v``: ``(R, k)``), STE gradient."""
    lv, _ = lq_levels(v, signed)
    idx = nearest_codes(x.detach(), lv)
    q = torch.gather(lv, 1, idx)
    return q.detach() + (x - x.detach())  # STE; the value is exactly a level


def lq_qem_step(x: torch.Tensor, v: torch.Tensor, signed: bool) -> torch.Tensor:
    """One quantization-error-minimisation step: encodings B of the nearest levels, then the least
    squares basis ``v* = (B Bᵀ)^{-1} B x`` per row (``x``: ``(R, M)``, ``v``: ``(R, k)``)."""
    x = x.detach().float()
    lv, enc = lq_levels(v, signed)
    idx = nearest_codes(x, lv)  # (R, M)
    B = torch.gather(enc, 1, idx.unsqueeze(-1).expand(-1, -1, v.shape[1]))  # (R, M, k)
    BtB = B.transpose(1, 2) @ B + 1e-6 * torch.eye(v.shape[1], device=x.device)
    Bx = B.transpose(1, 2) @ x.unsqueeze(-1)
    return torch.linalg.solve(BtB, Bx).squeeze(-1)


def lq_init_basis(x: torch.Tensor, k: int, signed: bool, iters: int = 5) -> torch.Tensor:
    """Ours: ``v_i = 2^i·a`` (a binary-like start scaled to the data), refined by ``iters`` QEM steps."""
    x = x.detach().float()
    scale = x.abs().mean(1, keepdim=True).clamp(min=1e-8)
    pw = 2.0 ** torch.arange(k, dtype=torch.float32, device=x.device)
    v = scale * pw / pw.sum() * (1.5 if signed else 3.0)
    for _ in range(iters):
        v = lq_qem_step(x, v, signed)
    return v


# ---------------------------------------------------------------------------------------------- LSQ


def lsq_range(bits: int, signed: bool) -> tuple[int, int]:
    """``(Q_N, Q_P)``: signed ``(2^{b−1}, 2^{b−1} − 1)``, unsigned ``(0, 2^b − 1)``; 1-bit signed ``(1, 1)``
    (levels ``±s``, ours: LSQ has no 1-bit weight rule)."""
    if signed:
        return (1, 1) if bits == 1 else (2 ** (bits - 1), 2 ** (bits - 1) - 1)
    return 0, 2**bits - 1


def lsq_quantize(v: torch.Tensor, s: torch.Tensor, bits: int, signed: bool, n_elems: int) -> torch.Tensor:
    """LSQ: ``round(clip(v/s, −Q_N, Q_P))·s`` with the step's gradient scaled by ``1/√(N·Q_P)``."""
    qn, qp = lsq_range(bits, signed)
    g = 1.0 / math.sqrt(max(n_elems, 1) * max(qp, 1))
    s = grad_scale(s, g)
    if signed and bits == 1:  # levels ±s; STE to v, ∂v̂/∂s = sign(v)
        sign = torch.where(v >= 0, 1.0, -1.0).to(v)
        return sign * s + (v - v.detach())
    return round_ste(torch.clamp(v / s, -qn, qp)) * s


def lsq_init_step(v: torch.Tensor, bits: int, signed: bool) -> float:
    """LSQ's initial step ``2⟨|v|⟩/√Q_P``."""
    _, qp = lsq_range(bits, signed)
    return float(2 * v.detach().abs().mean() / math.sqrt(max(qp, 1))) or 1e-3
