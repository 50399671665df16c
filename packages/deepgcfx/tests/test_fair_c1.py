"""Issue #18: a C1 that compares methods, not readouts — views, the random-init control, deepGCFX++,
and GraphCL's augmentations against its reference definitions."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import to_undirected

from deepgcfx.baselines import (
    GraphCL,
    augment_batch,
    drop_nodes,
    mask_features,
    perturb_edges,
    subgraph_aug,
    with_self_loops,
)
from deepgcfx.evaluate import plusplus_candidates, svm_cv_select
from deepgcfx.experiments import random_init_model
from deepgcfx.models import DeepGCFX
from deepgcfx.train import build_model, embed, fit

MODEL = {"hidden": 8, "latent": 8, "layers": 2, "iters": 2}


def ring(n: int, feat: int = 3, seed: int = 0) -> Data:
    ei = to_undirected(torch.tensor([list(range(n)), [(i + 1) % n for i in range(n)]]))
    return Data(x=torch.randn(n, feat, generator=torch.Generator().manual_seed(seed)), edge_index=ei, num_nodes=n)


def test_random_control_is_the_seeded_untrained_init():
    ref = random_init_model("deepgcfx", 3, {"model": MODEL}, seed=4)
    torch.manual_seed(4)
    fresh = build_model("deepgcfx", 3, MODEL)
    for (k, a), (_, b) in zip(ref.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    trained = random_init_model("deepgcfx", 3, {"model": MODEL}, seed=4)
    fit(trained, [ring(6, seed=i) for i in range(8)], epochs=1, batch_size=4, seed=4)
    assert any(not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), ref.state_dict().values()))


def test_views_have_the_stated_shapes_and_the_matched_readout_is_shared():
    graphs = [ring(5 + i, seed=i) for i in range(4)]
    dg = DeepGCFX(3, 8, 6, layers=2)
    views = embed(dg, graphs)
    assert views["common"].shape == (4, 6) and views["local"].shape == (4, 6) and views["both"].shape == (4, 12)
    assert views["matched"].shape == (4, 16)  # layers · hidden, as InfoGraph's readout
    gcl = build_model("graphcl", 3, MODEL)
    ig = build_model("infograph", 3, MODEL)
    assert embed(gcl, graphs)["matched"].shape == embed(ig, graphs)["matched"].shape == (4, 16)


def test_plusplus_is_the_alpha_weighted_sum():
    c, loc = np.arange(6.0).reshape(3, 2), np.ones((3, 2))
    cands = plusplus_candidates(c, loc, alphas=(0.0, 0.25, 1.0))
    np.testing.assert_allclose(cands["alpha=0.25"], 0.25 * c + 0.75 * loc)
    np.testing.assert_allclose(cands["alpha=1"], c)
    np.testing.assert_allclose(cands["alpha=0"], loc)


def test_inner_cv_picks_the_informative_candidate():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    informative = y[:, None] * 3.0 + rng.normal(size=(80, 2))
    noise = rng.normal(size=(80, 2))
    res = svm_cv_select({"noise": noise, "signal": informative}, y, folds=4, inner_folds=3, Cs=(1.0,))
    assert res["chosen"] == ["signal"] * 4 and res["acc"] > 0.9


def test_drop_nodes_and_edges_change_exactly_the_reference_fraction():
    g = ring(20)
    gen = torch.Generator().manual_seed(0)
    assert drop_nodes(g, 0.1, gen).num_nodes == 18  # ⌊0.1·20⌋ dropped
    out = perturb_edges(g, 0.1, gen)
    assert out.edge_index.size(1) == 2 * 18  # 20 undirected edges, ⌊0.1·20⌋ = 2 removed, both directions kept
    assert set(map(tuple, out.edge_index.t().tolist())) <= set(map(tuple, g.edge_index.t().tolist()))


def test_subgraph_keeps_a_connected_part_of_the_stated_size():
    g = ring(20)
    out = subgraph_aug(g, 0.1, torch.Generator().manual_seed(1))
    assert out.num_nodes == 18
    assert out.edge_index.size(1) == 2 * 17  # 18 consecutive nodes of a ring: a path with 17 edges


def test_masking_replaces_rows_with_gaussian_noise():
    g = Data(x=torch.zeros(4000, 2), edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=4000)
    out = mask_features(g, 0.1, torch.Generator().manual_seed(2))
    changed = (out.x != 0).any(1)
    assert int(changed.sum()) == 400
    assert out.x[changed].mean().item() == pytest.approx(0.5, abs=0.05)
    assert out.x[changed].std().item() == pytest.approx(0.5, abs=0.05)


def test_augmentations_are_drawn_per_graph_and_encoder_sees_self_loops():
    batch = Batch.from_data_list([ring(10, seed=i) for i in range(40)])
    aug = augment_batch(batch, 0.1, torch.Generator().manual_seed(3))
    sizes = torch.bincount(aug.batch).tolist()
    assert set(sizes) == {9, 10}  # node dropping / subgraph (9 nodes) and the others (10) within one batch
    looped = with_self_loops(ring(5))
    assert looped.edge_index.size(1) == 10 + 5 and (looped.edge_index[0] == looped.edge_index[1]).sum() == 5
    gcl = GraphCL(3, 8, 2)
    assert gcl.proj[0].in_features == gcl.proj[0].out_features == gcl.proj[2].out_features == 16


def test_official_mode_switches_change_what_they_claim():
    from deepgcfx.models import GaussianHead, OfficialGaussianHead

    torch.manual_seed(0)
    ours, off = DeepGCFX(3, 8, 8, layers=2), DeepGCFX(3, 8, 8, layers=2, official=True)
    assert isinstance(ours.node_head, GaussianHead) and isinstance(off.node_head, OfficialGaussianHead)
    assert isinstance(off.node_head.mu[-1], torch.nn.BatchNorm1d)  # BN(ReLU(Linear))
    assert off.accumulate.mlp[0].out_features == 128 and ours.accumulate.mlp[0].out_features == 8
    assert torch.all(off.accumulate.slot_log_sigma == 0) and torch.all(ours.accumulate.slot_log_sigma == -2)
    assert torch.all(off.encoder.convs[0].nn[0].bias == 0)  # Xavier init with zero biases
    batch = Batch.from_data_list([ring(6, seed=i) for i in range(3)])
    ours.eval()
    off.eval()
    # slot noise at evaluation: two embeddings of the same batch differ in official mode only
    assert torch.equal(ours.embed(batch)["common"], ours.embed(batch)["common"])
    assert not torch.equal(off.embed(batch)["common"], off.embed(batch)["common"])
    # the official mask has no gradient path to the threshold network; ours (straight-through) has
    for model, expect in ((ours, True), (off, False)):
        model.train()
        model.zero_grad()
        model.training_loss(batch)["loss"].backward()
        g = model.accumulate.thr_out.weight.grad
        assert (g is not None and g.abs().sum() > 0) == expect


def test_keep_best_restores_the_lowest_reconstruction_epoch():
    torch.manual_seed(0)
    graphs = [ring(6, seed=i) for i in range(8)]
    model = build_model("deepgcfx", 3, {**MODEL, "official": True})
    states, recon = [], []

    def log(rec):
        recon.append(rec["recon"])
        states.append({k: v.clone() for k, v in model.state_dict().items()})

    fit(model, graphs, epochs=5, batch_size=4, lr=0.05, seed=0, keep_best=True, on_epoch=log)
    best = int(np.argmin(recon))
    final = model.state_dict()
    assert all(torch.equal(final[k], states[best][k]) for k in final)
    if best != len(states) - 1:  # the last epoch was not the best: the weights really were rolled back
        assert any(not torch.equal(final[k], states[-1][k]) for k in final)
