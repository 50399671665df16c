"""Loaders on small files written by the tests in the real on-disk formats."""

import logging

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from deepgcfx.data import (
    load_dataset,
    load_node_graph,
    load_sdf,
    load_smiles_csv,
    load_solubility,
    load_tu,
    make_synthetic,
    subsample,
    write_tu,
)
from reprokit import UsageError


def _write(folder, name, files):
    d = folder / name
    d.mkdir(parents=True, exist_ok=True)
    for suffix, text in files.items():
        (d / f"{name}_{suffix}.txt").write_text(text)
    return d


# a triangle (graph 1, label -1) and a path of two nodes (graph 2, label 1), node labels 0/2
TOY = {"A": "1, 2\n2, 1\n2, 3\n3, 2\n1, 3\n3, 1\n4, 5\n5, 4\n",
       "graph_indicator": "1\n1\n1\n2\n2\n",
       "graph_labels": "-1\n1\n",
       "node_labels": "0\n2\n2\n0\n0\n"}


def test_tu_loader_matches_hand_built_graphs(tmp_path):
    _write(tmp_path, "TOY", TOY)
    gs = load_tu(tmp_path, "TOY")
    assert len(gs) == 2 and gs.num_classes == 2 and gs.class_names == ["-1", "1"]
    tri = Data(x=torch.tensor([[1.0, 0], [0, 1], [0, 1]]),
               edge_index=torch.tensor([[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]), y=torch.tensor(0))
    pair = Data(x=torch.tensor([[1.0, 0], [1, 0]]), edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor(1))
    for got, want in zip(gs.graphs, [tri, pair]):
        assert torch.equal(got.x, want.x)
        assert torch.equal(got.edge_index, want.edge_index)
        assert int(got.y) == int(want.y)


def test_tu_roundtrip_and_pyg_raw_layout(tmp_path):
    graphs = make_synthetic(n_graphs=5, seed=3).graphs
    labels = [np.arange(g.num_nodes) % 3 for g in graphs]
    staged = write_tu(graphs, tmp_path / "stage", "RT", labels)
    (tmp_path / "RT").mkdir()
    staged.rename(tmp_path / "RT" / "raw")  # PyG's TUDataset layout: DIR/RT/raw/RT_A.txt
    gs = load_tu(tmp_path, "RT")
    for a, b in zip(gs.graphs, graphs):
        assert a.num_nodes == b.num_nodes
        assert torch.equal(a.edge_index, b.edge_index)
        assert int(a.y) == int(b.y)


def test_tu_missing_files_named(tmp_path):
    _write(tmp_path, "TOY", {"A": TOY["A"]})
    with pytest.raises(UsageError) as e:
        load_tu(tmp_path, "TOY")
    assert "TOY_graph_indicator.txt" in str(e.value) and "TOY_graph_labels.txt" in str(e.value)
    assert "TOY_A.txt" not in str(e.value).split("missing")[1].split(" in ")[0]
    with pytest.raises(UsageError, match=r"MUTAG_A\.txt"):
        load_dataset("MUTAG", tmp_path)


def test_tu_empty_graph_refused(tmp_path):
    _write(tmp_path, "EMP", {**TOY, "graph_labels": "-1\n1\n1\n"})  # graph 3 has no nodes
    with pytest.raises(UsageError, match="no nodes"):
        load_tu(tmp_path, "EMP")


def test_tu_without_features_gets_degrees_with_notice(tmp_path, caplog):
    _write(tmp_path, "NF", {k: v for k, v in TOY.items() if k != "node_labels"})
    with caplog.at_level(logging.WARNING, logger="deepgcfx"):
        gs = load_tu(tmp_path, "NF")
    assert "degree features" in caplog.text
    assert gs.graphs[0].x.argmax(1).tolist() == [2, 2, 2]   # triangle: degree 2
    assert gs.graphs[1].x.argmax(1).tolist() == [1, 1]
    assert "one-hot degrees" in gs.note


def test_tu_bad_lengths(tmp_path):
    _write(tmp_path, "BAD", {**TOY, "node_labels": "0\n1\n"})
    with pytest.raises(UsageError, match=r"BAD_node_labels\.txt has 2 lines"):
        load_tu(tmp_path, "BAD")


def test_solubility_default():
    gs = load_solubility()
    assert len(gs) == 1282 and gs.num_classes == 3
    assert np.bincount(gs.labels).tolist() == [519, 517, 246]
    pentane = gs.graphs[0]  # n-pentane: 5 carbons in a chain
    assert pentane.num_nodes == 5 and pentane.edge_index.size(1) == 8
    assert pentane.x[:, 0].sum() == 5  # all carbon


def test_sdf_and_smiles_loaders(tmp_path):
    from rdkit import Chem

    w = Chem.SDWriter(str(tmp_path / "m.sdf"))
    for smi, lab in [("CCO", "a"), ("c1ccccc1", "b"), ("CC(=O)O", "a")]:
        m = Chem.MolFromSmiles(smi)
        m.SetProp("label", lab)
        w.write(m)
    w.close()
    gs = load_sdf([tmp_path / "m.sdf"], "label")
    assert [g.num_nodes for g in gs.graphs] == [3, 6, 4]
    assert gs.labels.tolist() == [0, 1, 0]
    assert gs.graphs[1].x[:, 9 + 1 + 6].sum() == 6  # benzene: six aromatic atoms
    (tmp_path / "m.csv").write_text("smiles,label\nCCO,x\nnot_a_smiles,y\nCCN,y\n")
    gs2 = load_smiles_csv(tmp_path / "m.csv")
    assert len(gs2) == 2 and gs2.labels.tolist() == [0, 1]
    with pytest.raises(UsageError, match="lacks the property"):
        load_sdf([tmp_path / "m.sdf"], "nope")
    assert len(load_dataset("molecules", tmp_path)) == 3


def test_synthetic_is_seeded_and_carries_the_factor():
    a, b = make_synthetic(n_graphs=30, seed=1), make_synthetic(n_graphs=30, seed=1)
    assert all(torch.equal(x.x, y.x) and torch.equal(x.edge_index, y.edge_index) for x, y in zip(a.graphs, b.graphs))
    gs = make_synthetic(n_graphs=300, seed=0)
    dens = np.array([g.edge_index.size(1) / g.num_nodes for g in gs.graphs])
    means = [dens[gs.labels == k].mean() for k in range(3)]
    assert means[0] < means[1] < means[2]  # the factor sets the radius, hence the density


def test_node_graphs_and_subsample():
    d, _ = load_node_graph("davis")
    assert d.num_nodes == 32 and d.y.sum() == 14
    src, dst = d.edge_index
    assert bool((d.y[src] != d.y[dst]).all())  # bipartite: every edge joins the two classes
    with pytest.raises(UsageError):
        load_node_graph("cora")
    gs = subsample(make_synthetic(n_graphs=60, seed=0), 30, seed=0)
    assert len(gs) == 30
