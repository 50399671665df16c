"""Cross-modal hashing retrieval evaluation, written for this package (it imports no sibling package).

Conventions (the field's, made explicit):

* Codes are ``{-1, +1}`` (or ``{0, 1}``) matrices; a bit is "on" when the value is > 0.
* Hamming distances are computed on **bit-packed** codes (``np.packbits``: 8 bits per byte, XOR, then a
  256-entry popcount table), never on floats.
* A database item is *relevant* to a query when the two share at least one label
  (``query_labels @ db_labels.T > 0``), as in DCMH / DeepHash.
* The ranking sorts the database by Hamming distance with a **stable** sort, so ties are broken by the
  database index (smaller index first). Reference implementations use ``np.argsort``/``torch.sort``,
  whose order inside a tie is unspecified; ours is deterministic.

Metrics (``AP`` of one query, ``rel_j`` the relevance of the item at rank ``j`` (1-based), ``R`` the number
of relevant database items, ``N`` the number of queries):

* :func:`map_whole` -- mAP over the whole ranking: ``AP = (1/R) Σ_j P@j · rel_j`` and ``mAP = Σ AP / N``;
  a query with ``R = 0`` counts as AP 0 (both DCMH's ``calc_map_k(k=None)`` and DeepHash's ``CalcTopMap``
  with ``topk = n_db`` do this; the three coincide at ``k = n_db``).
* :func:`map_at_k` -- DeepHash's ``CalcTopMap``: AP over the **top k** only, normalised by the number of
  relevant items *among the top k* (``AP@k = (1/R_k) Σ_{j≤k} P@j · rel_j``), 0 when ``R_k = 0``; divided by N.
* :func:`map_at_k_dcmh` -- DCMH's ``calc_map_k`` variant (named apart because it differs): it takes the
  first ``min(k, R)`` relevant items **wherever they are in the ranking** (not only in the top k) and
  averages ``(their rank among relevant) / (their position)``; 0 when ``R = 0``; divided by N.
* :func:`precision_at_k` -- mean over queries of (relevant items in the top k) / k.
* :func:`pr_curve` -- precision and recall of "all items within Hamming radius ρ", ρ = 0..bits.
  Per radius, precision is averaged over the queries that retrieve at least one item and recall over
  the queries with R > 0 (this package's definition; implementations differ here).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def pack_codes(codes: np.ndarray) -> np.ndarray:
    """``(n, bits)`` codes in {-1,+1} or {0,1} → ``(n, ceil(bits/8))`` uint8, one bit per code bit."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be 2-D (n, bits), got shape {codes.shape}")
    return np.packbits(codes > 0, axis=1)


def hamming_packed(q_packed: np.ndarray, db_packed: np.ndarray) -> np.ndarray:
    """Hamming distances ``(n_q, n_db)`` (int32) between packed codes (XOR + popcount table)."""
    out = np.empty((q_packed.shape[0], db_packed.shape[0]), dtype=np.int32)
    step = max(1, int(2 ** 22 // max(1, db_packed.shape[0] * db_packed.shape[1])))
    for s in range(0, q_packed.shape[0], step):
        x = np.bitwise_xor(q_packed[s:s + step, None, :], db_packed[None, :, :])
        out[s:s + step] = _POPCOUNT[x].sum(axis=2, dtype=np.int32)
    return out


def hamming(query_codes: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
    """Hamming distances between two code matrices (bit-packed internally)."""
    _check_codes(query_codes, db_codes)
    return hamming_packed(pack_codes(query_codes), pack_codes(db_codes))


def _check_codes(q: np.ndarray, db: np.ndarray) -> None:
    if np.asarray(q).ndim != 2 or np.asarray(db).ndim != 2:
        raise ValueError("codes must be 2-D (n, bits)")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"query codes have {q.shape[1]} bits, database codes {db.shape[1]}")


def relevance(query_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """Boolean ``(n_q, n_db)``: query and item share at least one label."""
    ql = np.asarray(query_labels, dtype=np.float32)
    dl = np.asarray(db_labels, dtype=np.float32)
    if ql.ndim == 1:
        ql = ql[:, None]
    if dl.ndim == 1:
        dl = dl[:, None]
    return (ql @ dl.T) > 0


def rank(query_codes: np.ndarray, db_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, sorted distances): the database sorted by Hamming distance, ties by index (stable sort)."""
    d = hamming(query_codes, db_codes)
    order = np.argsort(d, axis=1, kind="stable")
    return order, np.take_along_axis(d, order, axis=1)


def _sorted_relevance(query_codes, db_codes, query_labels, db_labels) -> np.ndarray:
    order, _ = rank(query_codes, db_codes)
    rel = relevance(query_labels, db_labels)
    return np.take_along_axis(rel, order, axis=1)


def _ap_prefix(rel_sorted: np.ndarray, k: int) -> np.ndarray:
    """CalcTopMap's AP of each query over its first ``k`` ranks (0 when nothing relevant there)."""
    top = rel_sorted[:, :k].astype(np.float64)
    hits = np.cumsum(top, axis=1)
    pos = np.arange(1, top.shape[1] + 1, dtype=np.float64)
    n_rel = top.sum(axis=1)
    s = (hits / pos * top).sum(axis=1)
    return np.divide(s, n_rel, out=np.zeros_like(s), where=n_rel > 0)


def map_whole(query_codes, db_codes, query_labels, db_labels) -> float:
    """mAP over the whole ranking (queries without any relevant item count as 0)."""
    rel = _sorted_relevance(query_codes, db_codes, query_labels, db_labels)
    return float(_ap_prefix(rel, rel.shape[1]).mean())


def map_at_k(query_codes, db_codes, query_labels, db_labels, k: int = 50) -> float:
    """DeepHash ``CalcTopMap`` mAP@k: AP over the top k, normalised by the relevant items among them."""
    rel = _sorted_relevance(query_codes, db_codes, query_labels, db_labels)
    return float(_ap_prefix(rel, min(int(k), rel.shape[1])).mean())


def map_at_k_dcmh(query_codes, db_codes, query_labels, db_labels, k: int | None = None) -> float:
    """DCMH ``calc_map_k``: mean of ``i / rank_i`` over the first ``min(k, R)`` relevant items of the ranking."""
    rel = _sorted_relevance(query_codes, db_codes, query_labels, db_labels)
    k = rel.shape[1] if k is None else int(k)
    hits = np.cumsum(rel, axis=1)
    pos = np.arange(1, rel.shape[1] + 1, dtype=np.float64)
    n_all = hits[:, -1]
    total = np.minimum(k, n_all)
    use = rel & (hits <= total[:, None])
    s = (hits / pos * use).sum(axis=1)
    ap = np.divide(s, total, out=np.zeros(rel.shape[0]), where=total > 0)
    return float(ap.mean())


def precision_at_k(query_codes, db_codes, query_labels, db_labels,
                   ks: Sequence[int] = (1, 10, 50, 100)) -> dict[int, float]:
    """P@k for each k (k larger than the database is cut to its size)."""
    rel = _sorted_relevance(query_codes, db_codes, query_labels, db_labels)
    out = {}
    for k in ks:
        kk = min(int(k), rel.shape[1])
        out[int(k)] = float(rel[:, :kk].sum(axis=1).mean() / kk)
    return out


def pr_curve(query_codes, db_codes, query_labels, db_labels) -> dict[str, list[float]]:
    """Precision/recall of Hamming-ball retrieval for radius 0..bits (see the module docstring)."""
    _check_codes(query_codes, db_codes)
    d = hamming(query_codes, db_codes)
    rel = relevance(query_labels, db_labels)
    bits = query_codes.shape[1]
    n_rel = rel.sum(axis=1)
    precision, recall, radius = [], [], []
    for r in range(bits + 1):
        within = d <= r
        retrieved = within.sum(axis=1)
        tp = (within & rel).sum(axis=1)
        has = retrieved > 0
        p = float((tp[has] / retrieved[has]).mean()) if has.any() else float("nan")
        rr = float((tp[n_rel > 0] / n_rel[n_rel > 0]).mean()) if (n_rel > 0).any() else float("nan")
        precision.append(p)
        recall.append(rr)
        radius.append(r)
    return {"radius": radius, "precision": precision, "recall": recall}


def evaluate_codes(query_codes, db_codes, query_labels, db_labels, topk: int = 50,
                   ks: Sequence[int] = (1, 10, 50, 100), curve: bool = False) -> dict:
    """All the metrics at once, computed from one ranking."""
    _check_codes(query_codes, db_codes)
    order, _ = rank(query_codes, db_codes)
    rel = np.take_along_axis(relevance(query_labels, db_labels), order, axis=1)
    n = rel.shape[1]
    out = {
        "map": float(_ap_prefix(rel, n).mean()),
        f"map@{topk}": float(_ap_prefix(rel, min(topk, n)).mean()),
        "n_query": int(rel.shape[0]),
        "n_db": int(n),
        "bits": int(query_codes.shape[1]),
        "queries_without_relevant": int((rel.sum(axis=1) == 0).sum()),
    }
    hits = np.cumsum(rel, axis=1)
    total = np.minimum(topk, hits[:, -1])
    use = rel & (hits <= total[:, None])
    s = (hits / np.arange(1, n + 1) * use).sum(axis=1)
    out[f"map@{topk}_dcmh"] = float(np.divide(s, total, out=np.zeros(rel.shape[0]), where=total > 0).mean())
    for k in ks:
        kk = min(int(k), n)
        out[f"p@{k}"] = float(rel[:, :kk].sum(axis=1).mean() / kk)
    if curve:
        out["pr"] = pr_curve(query_codes, db_codes, query_labels, db_labels)
    return out
