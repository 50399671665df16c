"""The paper's math as small pure functions (each checked by the tests against a direct computation)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Params = dict[str, torch.Tensor]


def maml_adapt(loss_fn: Callable[[Params], torch.Tensor], params: Params, steps: int, lr: float,
               first_order: bool = False, create_graph: bool = True) -> Params:
    """MAML's inner loop (Finn et al. 2017, eq. 1): θ'_{k+1} = θ'_k − α ∇_θ' L_support(θ'_k), θ'_0 = θ.

    With ``first_order`` the inner gradients are treated as constants (FOMAML); otherwise the graph is
    kept (``create_graph``) so that the outer gradient ∇_θ L_query(θ'_K) includes the second-order terms.
    """
    fast = {k: (v if v.requires_grad else v.detach().requires_grad_()) for k, v in params.items()}
    keep = create_graph and not first_order and torch.is_grad_enabled()
    for _ in range(steps):
        loss = loss_fn(fast)
        grads = torch.autograd.grad(loss, list(fast.values()), create_graph=keep, allow_unused=True)
        fast = {k: (v if g is None else v - lr * (g if keep else g.detach()))
                for (k, v), g in zip(fast.items(), grads)}
    return fast


def prototypes(features: torch.Tensor, labels: torch.Tensor, n_way: int) -> torch.Tensor:
    """c_k = (1/|S_k|) Σ_{(x,y)∈S, y=k} f(x): the class means of the support embeddings (Snell et al. 2017)."""
    onehot = F.one_hot(labels, n_way).to(features.dtype)  # (n, K)
    return onehot.t() @ features / onehot.sum(0).clamp_min(1)[:, None]


def squared_euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """d(a_i, b_j) = ||a_i − b_j||², shape (len(a), len(b))."""
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)


def protonet_logits(query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """ProtoNet's logits: −||f(x) − c_k||² (softmax over k gives p(y = k | x))."""
    return -squared_euclidean(query, protos)


def transductive_prototypes(support: torch.Tensor, labels: torch.Tensor, query: torch.Tensor,
                            n_way: int) -> torch.Tensor:
    """One soft k-means refinement of the prototypes with the unlabelled queries (KML's ``_update_proto``):

    c_k ← (Σ_{S_k} f(x) + Σ_q p(k|q) f(q)) / (|S_k| + Σ_q p(k|q)),  p(k|q) = softmax_k(−||f(q) − c_k||²).
    """
    protos = prototypes(support, labels, n_way)
    p = torch.softmax(protonet_logits(query, protos), dim=1)  # (q, K)
    onehot = F.one_hot(labels, n_way).to(support.dtype)
    num = onehot.t() @ support + p.t() @ query
    den = onehot.sum(0) + p.sum(0)
    return num / den[:, None]


def kernel_modulate(weight: torch.Tensor, bias: torch.Tensor, dv: torch.Tensor, du: torch.Tensor,
                    db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """KML's kernel modulation of one layer: W' = W ⊙ reshape((1 + Δv) ⊗ (1 + Δu)), b' = b + Δb.

    ``Δv`` has one entry per output channel, ``Δu`` one per input weight of a channel (in·k·k); the rank-one
    matrix (1+Δv)(1+Δu)ᵀ is reshaped to W's shape. Zero modulation (Δv = Δu = Δb = 0) leaves the layer as is.
    """
    v = 1.0 + dv.reshape(-1)
    u = 1.0 + du.reshape(-1)
    if v.numel() != weight.shape[0] or u.numel() != weight[0].numel():
        raise ValueError(f"modulation sizes {v.numel()}×{u.numel()} do not fit a weight of shape {tuple(weight.shape)}")
    return weight * torch.outer(v, u).reshape(weight.shape), bias + db.reshape(bias.shape)


def film(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """MMAML's FiLM ("affine") modulation after a layer's batch norm: x ⊙ (1 + γ) + β, per channel."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x * (1.0 + gamma.reshape(shape)) + beta.reshape(shape)


def transference(loss_fn: Callable[[Params, int], torch.Tensor], params: Params, n_tasks: int,
                 lr: float) -> torch.Tensor:
    """Task transference (Fifty et al. 2021, as used by the paper): Z_{i→j} = 1 − L_j(θ_{t+1|i}) / L_j(θ_t),

    with the look-ahead θ_{t+1|i} = θ_t − η ∇_θ L_i(θ_t). ``loss_fn(params, j)`` is task j's (meta-)loss.
    Returns the (n_tasks, n_tasks) matrix Z[i, j]: positive when a step on task i lowers task j's loss.
    """
    names = [k for k, v in params.items() if v.requires_grad]
    base = torch.stack([loss_fn(params, j).detach() for j in range(n_tasks)])
    Z = torch.empty(n_tasks, n_tasks)
    for i in range(n_tasks):
        loss_i = loss_fn(params, i)
        grads = torch.autograd.grad(loss_i, [params[k] for k in names], allow_unused=True)
        ahead = dict(params)
        for k, g in zip(names, grads):
            if g is not None:
                ahead[k] = (params[k] - lr * g).detach().requires_grad_()
        for j in range(n_tasks):
            Z[i, j] = 1.0 - loss_fn(ahead, j).detach() / base[j]
    return Z
