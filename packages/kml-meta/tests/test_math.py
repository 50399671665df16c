"""The paper's math against hand derivations, direct loops and learn2learn."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kml_meta.losses import (
    film,
    kernel_modulate,
    maml_adapt,
    protonet_logits,
    prototypes,
    transductive_prototypes,
    transference,
)

torch.manual_seed(0)


def _linear_task():
    xs, ys = torch.tensor([1.0, 2.0, -1.0]), torch.tensor([2.0, 3.0, -1.0])
    xq, yq = torch.tensor([0.5, -2.0]), torch.tensor([1.0, -3.0])
    return xs, ys, xq, yq


@pytest.mark.parametrize("first_order", [False, True])
def test_maml_step_matches_hand_derived_gradient(first_order):
    """y = w·x, L(w) = mean((w x − y)²): w' = w − α L_s'(w); dL_q(w')/dw = L_q'(w') (1 − α L_s''(w)) (2nd order)."""
    xs, ys, xq, yq = _linear_task()
    w0, alpha = 0.3, 0.1
    w = torch.tensor(w0, requires_grad=True)
    fast = maml_adapt(lambda p: ((p["w"] * xs - ys) ** 2).mean(), {"w": w}, steps=1, lr=alpha,
                      first_order=first_order)
    lq = ((fast["w"] * xq - yq) ** 2).mean()
    lq.backward()
    xs_, ys_, xq_, yq_ = (t.numpy().astype(float) for t in (xs, ys, xq, yq))
    ds = 2 * np.mean(xs_ * (w0 * xs_ - ys_))
    dds = 2 * np.mean(xs_ ** 2)
    w1 = w0 - alpha * ds
    dq = 2 * np.mean(xq_ * (w1 * xq_ - yq_))
    assert float(fast["w"].detach()) == pytest.approx(w1, rel=1e-6)
    expected = dq if first_order else dq * (1 - alpha * dds)
    assert float(w.grad) == pytest.approx(expected, rel=1e-5)


def test_maml_two_steps_match_learn2learn():
    """Our inner loop and learn2learn's MAML give the same adapted weights and meta-gradient (2 steps)."""
    l2l = pytest.importorskip("learn2learn")
    torch.manual_seed(1)
    net = torch.nn.Linear(4, 3)
    xs, ys = torch.randn(6, 4), torch.randint(0, 3, (6,))
    xq, yq = torch.randn(5, 4), torch.randint(0, 3, (5,))
    params = dict(net.named_parameters())
    fast = maml_adapt(lambda p: F.cross_entropy(F.linear(xs, p["weight"], p["bias"]), ys), params, 2, 0.5)
    F.cross_entropy(F.linear(xq, fast["weight"], fast["bias"]), yq).backward()
    ours = [p.grad.clone() for p in net.parameters()]
    ref = torch.nn.Linear(4, 3)
    ref.load_state_dict(net.state_dict())
    maml = l2l.algorithms.MAML(ref, lr=0.5, first_order=False)
    learner = maml.clone()
    for _ in range(2):
        learner.adapt(F.cross_entropy(learner(xs), ys))
    F.cross_entropy(learner(xq), yq).backward()
    assert torch.allclose(fast["weight"], learner.weight, atol=1e-6)
    for a, b in zip(ours, [p.grad for p in maml.parameters()]):
        assert torch.allclose(a, b, atol=1e-6)


def test_protonet_logits_direct():
    f = torch.randn(6, 5)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    q = torch.randn(4, 5)
    protos = prototypes(f, y, 3)
    logits = protonet_logits(q, protos)
    for i in range(4):
        for k in range(3):
            c = f[y == k].mean(0)
            assert float(logits[i, k]) == pytest.approx(-float(((q[i] - c) ** 2).sum()), rel=1e-5)


def test_transductive_prototypes_direct():
    f = torch.randn(4, 3)
    y = torch.tensor([0, 0, 1, 1])
    q = torch.randn(5, 3)
    got = transductive_prototypes(f, y, q, 2)
    c = torch.stack([f[:2].mean(0), f[2:].mean(0)])
    d = torch.tensor([[float(((q[i] - c[k]) ** 2).sum()) for k in range(2)] for i in range(5)])
    p = torch.softmax(-d, dim=1)
    for k in range(2):
        num = f[y == k].sum(0) + (p[:, k:k + 1] * q).sum(0)
        assert torch.allclose(got[k], num / (2 + p[:, k].sum()), atol=1e-5)


def test_kernel_modulation_shapes_identity_and_rank_one():
    w, b = torch.randn(8, 3, 3, 3), torch.randn(8)
    zeros = (torch.zeros(8), torch.zeros(27), torch.zeros(8))
    w2, b2 = kernel_modulate(w, b, *zeros)
    assert w2.shape == w.shape and b2.shape == b.shape
    assert torch.equal(w2, w) and torch.equal(b2, b)
    dv, du, db = torch.randn(8), torch.randn(27), torch.randn(8)
    w3, b3 = kernel_modulate(w, b, dv, du, db)
    flat, ref = w3.reshape(8, 27), w.reshape(8, 27)
    for o in range(8):
        for j in range(27):
            want = float(ref[o, j] * (1 + dv[o]) * (1 + du[j]))
            assert float(flat[o, j]) == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert torch.allclose(b3, b + db)
    # Δu = 0: the modulated conv is the plain conv with each output channel scaled by (1 + Δv_o), bias aside
    x = torch.randn(2, 3, 6, 6)
    w4, _ = kernel_modulate(w, torch.zeros(8), dv, torch.zeros(27), torch.zeros(8))
    assert torch.allclose(F.conv2d(x, w4), F.conv2d(x, w) * (1 + dv).view(1, -1, 1, 1), atol=1e-5)
    with pytest.raises(ValueError):
        kernel_modulate(w, b, torch.zeros(7), torch.zeros(27), torch.zeros(8))


def test_film_identity_at_zero_and_affine():
    x = torch.randn(2, 4, 3, 3)
    assert torch.equal(film(x, torch.zeros(4), torch.zeros(4)), x)
    g, be = torch.randn(4), torch.randn(4)
    assert torch.allclose(film(x, g, be)[:, 1], x[:, 1] * (1 + g[1]) + be[1])


def test_transference_identical_positive_conflicting_negative():
    """L_A(w) = (w − 1)², L_B(w) = (w + 1)², w = 0, η = 0.1: a step on A moves w to 0.2.
    Z_A→A = 1 − 0.64/1 = 0.36 (identical task: positive); Z_A→B = 1 − 1.44/1 = −0.44 (conflict: negative)."""
    targets = [1.0, 1.0, -1.0]  # tasks 0 and 1 identical, task 2 conflicting

    def loss(p, j):
        return (p["w"] - targets[j]) ** 2

    Z = transference(loss, {"w": torch.tensor(0.0, requires_grad=True)}, 3, 0.1).numpy()
    assert Z[0, 0] == pytest.approx(0.36, abs=1e-6)
    assert Z[0, 1] == pytest.approx(0.36, abs=1e-6)
    assert Z[0, 2] == pytest.approx(-0.44, abs=1e-6)
    assert Z[2, 0] == pytest.approx(-0.44, abs=1e-6)
    assert math.isclose(Z[2, 2], 0.36, abs_tol=1e-6)


def test_transference_through_a_learner():
    """On a real learner: two identical tasks transfer exactly as a task to itself, and positively."""
    from kml_meta.models import build_learner
    from kml_meta.tasks import Task
    from kml_meta.train import transference_matrix

    g = torch.Generator().manual_seed(0)
    task = Task(torch.rand(3, 1, 16, 16, generator=g), torch.arange(3), torch.rand(6, 1, 16, 16, generator=g),
                torch.arange(3).repeat_interleave(2), 0, 3)
    cfg = {"model": {"channels": [8, 8], "encoder_channels": [4, 4], "encoder_hidden": 8},
           "inner": {"steps": 1, "lr": 0.4}, "proto": {"transductive": False}}
    for algo in ("protonet", "maml", "kml", "mmaml"):
        torch.manual_seed(0)
        learner = build_learner(algo, cfg, 1, 1, 16, 3)
        Z = transference_matrix(learner, [task, task], 0.01, "cpu")
        assert Z[0, 1] == pytest.approx(Z[0, 0], abs=1e-5) and Z[0, 0] > 0, algo
