"""The paper's math against independent computations."""

import math

import networkx as nx
import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence
from torch_geometric.data import Batch, Data
from torch_geometric.utils import to_undirected

from deepgcfx.baselines import GraphCL, InfoGraph, wl_features
from deepgcfx.losses import deepgcfx_loss, edge_recon_loss, jsd_local_global, kl_std_normal, nt_xent, reparameterize
from deepgcfx.models import Accumulation, DeepGCFX, GatedFusion


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, log_sigma = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g) * 0.5
    ref = kl_divergence(Normal(mu, log_sigma.exp()), Normal(torch.zeros(5), torch.ones(5))).sum(-1)
    assert torch.allclose(kl_std_normal(mu, log_sigma), ref, atol=1e-5)


def test_kl_hand_value():
    # mu = 1, sigma = e: KL = 0.5 (sigma^2 + mu^2 - 1) - log sigma = 0.5 (e^2 + 1 - 1) - 1
    val = kl_std_normal(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert val.item() == pytest.approx(0.5 * math.e**2 - 1, rel=1e-6)


def test_reparameterize_uses_log_sigma():
    torch.manual_seed(0)
    mu, ls = torch.zeros(200000, 1), torch.full((200000, 1), math.log(3.0))
    z = reparameterize(mu, ls, training=True)
    assert z.std().item() == pytest.approx(3.0, rel=0.02)
    assert torch.equal(reparameterize(mu, ls, training=False), mu)


def test_edge_recon_loss_by_hand():
    z = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])
    pos = torch.tensor([[0, 1], [1, 0]])
    neg = torch.tensor([[0], [2]])
    s01, s02 = 2.0, 0.0
    expected = -math.log(1 / (1 + math.exp(-s01))) - math.log(1 - 1 / (1 + math.exp(-s02)))
    assert edge_recon_loss(z, pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_deepgcfx_loss_weights():
    parts = deepgcfx_loss(torch.tensor([2.0, 4.0]), torch.tensor([10.0]), torch.tensor(1.0), torch.tensor(0.5))
    assert parts["kl_node"].item() == pytest.approx(3.0 / 2)
    assert parts["kl_graph"].item() == pytest.approx(0.1 * 10.0)
    assert parts["loss"].item() == pytest.approx(1.5 + 1.0 + 1.0 + 0.5)


def test_nt_xent_brute_force():
    torch.manual_seed(1)
    z1, z2, tau = torch.randn(4, 3), torch.randn(4, 3), 0.5
    total = 0.0
    for n in range(4):
        sims = [float(torch.cosine_similarity(z1[n], z2[m], dim=0)) / tau for m in range(4)]
        total += -math.log(math.exp(sims[n]) / sum(math.exp(s) for m, s in enumerate(sims) if m != n))
    assert nt_xent(z1, z2, tau).item() == pytest.approx(total / 4, rel=1e-5)


def test_jsd_brute_force():
    torch.manual_seed(2)
    h, g, batch = torch.randn(5, 3), torch.randn(2, 3), torch.tensor([0, 0, 1, 1, 1])
    pos, neg = [], []
    for i in range(5):
        for j in range(2):
            s = float(h[i] @ g[j])
            sp = math.log1p(math.exp(-s))
            (pos if batch[i] == j else neg).append((math.log(2) - sp) if batch[i] == j else (sp + s - math.log(2)))
    expected = np.mean(neg) - np.mean(pos)
    assert jsd_local_global(h, g, batch).item() == pytest.approx(expected, rel=1e-5)


def test_gated_fusion_formula():
    torch.manual_seed(0)
    f = GatedFusion(4, 3)
    x = torch.randn(6, 4)
    expected = torch.tanh(x @ f.lin.weight.t() + f.lin.bias) * torch.sigmoid(x @ f.gate.weight.t() + f.gate.bias)
    assert torch.allclose(f(x), expected, atol=1e-6)


def test_accumulation_masks_partition_node_features():
    torch.manual_seed(0)
    acc = Accumulation(8, iters=2)
    h, batch = torch.randn(10, 8), torch.tensor([0] * 4 + [1] * 6)
    for train in (True, False):
        acc.train(train)
        slot, common, local, m = acc(h, batch, 2)
        v = acc.to_v(acc.norm_in(h))
        assert set(m.detach().unique().tolist()) <= {0.0, 1.0}
        assert torch.allclose(common + local, v, atol=1e-6)
        assert torch.all((common == 0) | (local == 0))
        assert 0 < m.mean() < 1 or m.numel() == 0
        assert slot.shape == (2, 8)
    # the split threshold layer equals one Linear on the concatenation [k, q_g(i)]
    k, q = torch.randn(10, 8), torch.randn(2, 8)
    lin = torch.nn.Linear(16, 8)  # W_thr on [k, q]
    with torch.no_grad():
        lin.weight.copy_(torch.cat([acc.thr_k.weight, acc.thr_q.weight], 1))
        lin.bias.copy_(acc.thr_k.bias)
        w_cat = torch.sigmoid(acc.thr_out(torch.relu(lin(torch.cat([k, q[batch]], -1)))))
        expected = (torch.sigmoid(k) >= w_cat).float()
        assert torch.equal(acc.mask(k, q, batch), expected)
    # the straight-through mask passes gradients to the threshold network
    acc.train()
    _, common, _, _ = acc(h, batch, 2)
    common.sum().backward()
    assert acc.thr_k.weight.grad is not None and acc.thr_k.weight.grad.abs().sum() > 0


def _random_graph(seed, n=9, f=5):
    g = nx.gnp_random_graph(n, 0.35, seed=seed)
    ei = to_undirected(torch.tensor(list(g.edges())).t(), num_nodes=n)
    return Data(x=torch.randn(n, f, generator=torch.Generator().manual_seed(seed)), edge_index=ei, y=torch.tensor(0))


def _permute(d, perm):
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    return Data(x=d.x[perm], edge_index=inv[d.edge_index], y=d.y)


@pytest.mark.parametrize("cls", [DeepGCFX, InfoGraph, GraphCL])
def test_graph_embeddings_are_permutation_invariant(cls):
    torch.manual_seed(0)
    model = cls(5, 16, layers=2) if cls is not DeepGCFX else cls(5, 16, 16, layers=2)
    graphs = [_random_graph(s) for s in range(3)]
    model.train()  # give BatchNorm non-trivial running statistics
    model.training_loss(Batch.from_data_list(graphs)) if cls is not GraphCL else None
    model.eval()
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(5))
    a = model.embed(Batch.from_data_list(graphs))
    b = model.embed(Batch.from_data_list([_permute(g, perm) for g in graphs]))
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-4), k
    # and a different graph gives a different embedding (the test can fail)
    c = model.embed(Batch.from_data_list([_random_graph(10 + s) for s in range(3)]))
    assert not torch.allclose(a[next(iter(a))], c[next(iter(c))], atol=1e-4)


def test_wl_features_invariant_and_kernel():
    g1 = _random_graph(0)
    g1.x = torch.ones(9, 1)
    g2 = _permute(g1, torch.randperm(9, generator=torch.Generator().manual_seed(1)))
    path = Data(x=torch.ones(4, 1), edge_index=to_undirected(torch.tensor([[0, 1, 2], [1, 2, 3]])), y=torch.tensor(0))
    X = wl_features([g1, g2, path], iterations=2)
    assert np.allclose(X[0], X[1])
    K = X @ X.T
    assert K[0, 1] == pytest.approx(1.0) and K[0, 2] < 1.0
    # round-h label counts agree with networkx's WL subgraph hashes (an independent implementation)
    G = nx.Graph(g1.edge_index.t().tolist())
    G.add_nodes_from(range(9))
    hashes = nx.weisfeiler_lehman_subgraph_hashes(G, iterations=2)
    n_distinct_nx = len({h[1] for h in hashes.values()})
    unnorm = wl_features([g1], iterations=2)[0]
    assert (unnorm > 0).sum() == 1 + len({h[0] for h in hashes.values()}) + n_distinct_nx


def test_negative_edges_are_non_edges():
    from deepgcfx.losses import sample_negative_edges

    torch.manual_seed(0)
    g = _random_graph(3, n=12)
    neg = sample_negative_edges(g.edge_index, 12, 3000)
    pos = set(map(tuple, g.edge_index.t().tolist()))
    pairs = list(map(tuple, neg.t().tolist()))
    assert pairs and all(p not in pos and p[0] != p[1] for p in pairs)
    n_non_edges = 12 * 11 - len(pos)
    assert len(set(pairs)) == n_non_edges  # 3000 uniform draws cover every non-edge of a small graph
