"""The faster implementations (issue #18, performance) against the straightforward ones they replaced."""

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool
from torch_geometric.utils import to_undirected

from deepgcfx.losses import (
    deepgcfx_loss,
    edge_logits,
    gather_rows,
    kl_std_normal,
    reparameterize,
    sample_negative_edges,
)
from deepgcfx.models import Accumulation, DeepGCFX, GatedFusion, matched_readout


def test_edge_logits_match_brute_force_and_autograd():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, dtype=torch.double, generator=g, requires_grad=True)
    ei = torch.randint(7, (2, 40), generator=g)  # repeated pairs and self pairs included
    ei[:, 0] = torch.tensor([3, 3])
    out = edge_logits(z, ei)
    full = z @ z.t()
    assert torch.allclose(out, full[ei[0], ei[1]])
    w = torch.randn(40, dtype=torch.double, generator=g)
    (grad,) = torch.autograd.grad((out * w).sum(), z)
    (expected,) = torch.autograd.grad(((z[ei[0]] * z[ei[1]]).sum(-1) * w).sum(), z)
    assert torch.allclose(grad, expected)
    assert torch.autograd.gradcheck(lambda t: edge_logits(t, ei), (z,))
    with torch.no_grad():
        assert torch.allclose(edge_logits(z, ei), full[ei[0], ei[1]])


def test_gather_rows_equals_indexing():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 3, dtype=torch.double, generator=g, requires_grad=True)
    idx = torch.tensor([4, 0, 0, 2, 4, 4, 1])
    out = gather_rows(x, idx)
    assert torch.equal(out, x[idx])
    w = torch.randn(7, 3, dtype=torch.double, generator=g)
    assert torch.allclose(torch.autograd.grad((out * w).sum(), x)[0], torch.autograd.grad((x[idx] * w).sum(), x)[0])
    assert torch.autograd.gradcheck(lambda t: gather_rows(t, idx), (x,))


def test_split_fusion_equals_fusion_of_the_concatenation():
    torch.manual_seed(0)
    f = GatedFusion(10, 4)
    common = torch.randn(3, 5, requires_grad=True)
    local = torch.randn(8, 5, requires_grad=True)
    batch = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2])
    new = f.forward_split(common, local, batch)
    old = f(torch.cat([common[batch], local], -1))
    assert torch.allclose(new, old, atol=1e-6)
    w = torch.randn_like(new)
    g_new = torch.autograd.grad((new * w).sum(), [common, local, *f.parameters()])
    g_old = torch.autograd.grad((old * w).sum(), [common, local, *f.parameters()])
    for a, b in zip(g_new, g_old):
        assert torch.allclose(a, b, atol=1e-5)


def _reference_accumulation(acc: Accumulation, h, batch, num_graphs):
    """The accumulation as first written: σ(k) and the local part (1 − m)⊙v recomputed in every round."""
    h = acc.norm_in(h)
    k, v = acc.to_k(h), acc.to_v(h)
    slot = acc.slot_mu.expand(num_graphs, -1)
    if acc.training or acc.official:
        slot = slot + torch.exp(acc.slot_log_sigma) * torch.randn_like(slot)
    for _ in range(acc.iters):
        m = acc.mask(k, acc.to_q(acc.norm_slot(slot)), batch)
        slot = acc.gru(global_add_pool(m * v, batch, size=num_graphs), slot)
        slot = slot + acc.mlp(acc.norm_mlp(slot))
    slot = acc.norm_slot(slot)
    m = acc.mask(k, acc.to_q(slot), batch)
    return slot, m * v, (1 - m) * v, m


def _reference_training_loss(model: DeepGCFX, data):
    """deepGCFX's training loss as first written (concatenated fusion input, autograd's gathers for the edges)."""
    h, _ = model.encoder(data.x, data.edge_index)
    slot, common, local, _ = _reference_accumulation(model.accumulate, h, data.batch, data.num_graphs)
    mu_l, ls_l = model.node_head(local)
    mu_g, ls_g = model.graph_head(slot)
    mu_c, ls_c = model.node_head(common)
    z_local, z_cnode, z_graph = (reparameterize(m, s, model.training) for m, s in ((mu_l, ls_l), (mu_c, ls_c),
                                                                                     (mu_g, ls_g)))
    fused = model.fusion(torch.cat([z_graph[data.batch], z_local], -1))
    neg = sample_negative_edges(data.edge_index, data.num_nodes, max(data.edge_index.size(1), 1))

    def recon(z):
        ei = data.edge_index
        pos = -F.logsigmoid((z[ei[0]] * z[ei[1]]).sum(-1)).mean()
        return pos - F.logsigmoid(-(z[neg[0]] * z[neg[1]]).sum(-1)).mean()

    return deepgcfx_loss(kl_std_normal(mu_l, ls_l), kl_std_normal(mu_g, ls_g), recon(fused), recon(z_cnode),
                         graph_kl_weight=model.graph_kl_weight)


def _batch(seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for n in (5, 7, 6, 9):
        ring = torch.tensor([list(range(n)), [(i + 1) % n for i in range(n)]])
        chord = torch.randint(n, (2, 2), generator=g)
        ei = to_undirected(torch.cat([ring, chord[:, chord[0] != chord[1]]], 1), num_nodes=n)
        graphs.append(Data(x=torch.randn(n, 4, generator=g), edge_index=ei, num_nodes=n))
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("official", [False, True])
def test_training_loss_and_gradients_equal_the_reference(official):
    torch.manual_seed(0)
    model = DeepGCFX(4, 16, 16, layers=2, official=official).double()  # float64: the math, not the rounding
    data = _batch(1)
    data.x = data.x.double()
    for seed in (0, 1):
        torch.manual_seed(seed)
        new = model.training_loss(data)
        g_new = torch.autograd.grad(new["loss"], list(model.parameters()), allow_unused=True)
        torch.manual_seed(seed)
        old = _reference_training_loss(model, data)
        g_old = torch.autograd.grad(old["loss"], list(model.parameters()), allow_unused=True)
        assert new.keys() == old.keys()
        for k in new:
            assert new[k].item() == pytest.approx(old[k].item(), rel=1e-10, abs=1e-12), k
        for (name, _), a, b in zip(model.named_parameters(), g_new, g_old):
            assert (a is None) == (b is None), name
            if a is not None:
                assert torch.allclose(a, b, rtol=1e-9, atol=1e-11), name


def test_accumulation_equals_the_reference():
    torch.manual_seed(0)
    acc = Accumulation(8, iters=3)
    h, batch = torch.randn(12, 8), torch.tensor([0] * 5 + [1] * 7)
    torch.manual_seed(3)
    new = acc(h, batch, 2)
    torch.manual_seed(3)
    old = _reference_accumulation(acc, h, batch, 2)
    for a, b in zip(new, old):
        assert torch.equal(a, b)


@pytest.mark.parametrize("official", [False, True])
def test_embed_matched_view_equals_a_separate_encoder_pass(official):
    torch.manual_seed(0)
    model = DeepGCFX(4, 16, 16, layers=2, official=official).eval()
    data = _batch(2)
    with torch.no_grad():
        assert torch.equal(model.embed(data)["matched"], matched_readout(model.encoder, data))
