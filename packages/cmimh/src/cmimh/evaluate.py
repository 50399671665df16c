"""Hamming-ranking retrieval metrics on bit-packed codes.

Protocol (stated once, used by every number this package reports):

* **Codes** are ``{0,1}`` or ``{-1,+1}`` arrays of shape ``(n, bits)``; they are packed 8 bits a
  byte (``np.packbits``), padded to whole 64-bit words, and the Hamming distance of two codes is
  ``popcount(a XOR b)`` (``np.bitwise_count``).
* **Relevance**: a database item is relevant to a query when their multi-hot label rows share at
  least one label.
* **Ranking**: database items sorted by Hamming distance, **ties broken by database index** (a
  stable sort), exactly what ``np.argsort(dist, kind="stable")`` gives.
* **mAP (whole ranking)**: ``AP = (1/R) Σ_i P@rank(i)`` over the ``R`` relevant items of the query;
  a query with no relevant item counts as AP 0 and still enters the mean (DeepHash and DCMH both
  divide by the number of queries).
* **mAP@k, DeepHash variant** (``CalcTopMap``): AP over the top ``k`` only, normalised by the number
  of relevant items *among the top k* (a query with none scores 0).
* **mAP@k, DCMH variant** (DCMH/DJSRH ``calc_map_k``): the mean precision at the ranks of the first
  ``min(k, R)`` relevant items, wherever in the ranking they fall. Both variants equal the
  whole-ranking mAP when ``k ≥ n_db``.
* **Tie-aware mAP**: the expected AP when the items at equal Hamming distance are put in a uniformly
  random order (McSherry & Najork, ECIR 2008 give the idea for ties in general). For a group of
  ``n`` tied items holding ``r`` relevant ones, with ``c`` items and ``ρ`` relevant items ranked before
  the group, a relevant item at position ``p`` of the group has, in expectation,
  ``(p−1)(r−1)/(n−1)`` relevant items before it inside the group, so the group adds
  ``(r/n) Σ_{p=1..n} [ρ + 1 + (p−1)(r−1)/(n−1)] / (c + p)``
  to ``R·AP``; with harmonic numbers ``H`` this is closed form, so the whole metric needs only the
  per-distance counts of all and of relevant items (no sort).
* **P@k**: relevant fraction of the top ``k`` (stable order). **PR curve**: precision and recall of
  the set within Hamming radius ``r`` for ``r = 0..bits``; precision averages over queries that
  retrieve something at that radius, recall over queries with at least one relevant item.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


# ----------------------------------------------------------------------------------- codes, packing
def to_bits(codes: Any) -> np.ndarray:
    """``{0,1}`` or ``{-1,+1}`` codes (any numeric/bool dtype) as a uint8 ``{0,1}`` array.

    Raises ``ValueError`` for anything else (other values, NaN, not 2-D).
    """
    a = np.asarray(codes)
    if a.ndim != 2:
        raise ValueError(f"codes must be a 2-D (n, bits) array, got shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.uint8)
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"codes must be numbers, got dtype {a.dtype}")
    if a.size == 0:
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError("codes hold NaN or infinite values")
    lo, hi = a.min(), a.max()
    integral = not np.issubdtype(a.dtype, np.floating) or bool((a == np.round(a)).all())
    if integral and lo >= 0 and hi <= 1:
        return (a == 1).astype(np.uint8)
    if integral and lo >= -1 and hi <= 1 and not ((a == 0).any()):
        return (a == 1).astype(np.uint8)
    values = np.unique(a)
    shown = ", ".join(str(v) for v in values[:5])
    raise ValueError(f"codes must be in {{0,1}} or {{-1,+1}}; found values {shown}{'…' if len(values) > 5 else ''}")


def pack_codes(codes: Any) -> np.ndarray:
    """Codes packed into ``uint64`` words, shape ``(n, ceil(bits/64))`` (zero padding in the last word)."""
    bits = codes if isinstance(codes, np.ndarray) and codes.dtype == np.uint8 and codes.ndim == 2 \
        and codes.max(initial=0) <= 1 else to_bits(codes)
    n, k = bits.shape
    words = max(1, -(-k // 64))
    padded = np.zeros((n, words * 64), dtype=np.uint8)
    padded[:, :k] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1)).view(np.uint64).reshape(n, words)


def hamming_packed(qp: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """Hamming distances ``(len(qp), len(dp))`` of packed codes: popcount of XOR, summed over words.

    uint8 output when ≤ 255 bits (uint16 otherwise) keeps 1M-item rows small.
    """
    words = qp.shape[1]
    dtype = np.uint8 if words * 64 <= 255 else np.uint16
    out = np.bitwise_count(qp[:, None, 0] ^ dp[None, :, 0]).astype(dtype, copy=False)
    for w in range(1, words):
        out += np.bitwise_count(qp[:, None, w] ^ dp[None, :, w]).astype(dtype)
    return out


def hamming_distance(q_codes: Any, d_codes: Any) -> np.ndarray:
    """Hamming distance matrix of two code sets (any accepted format); checks equal code lengths."""
    qb, db = to_bits(q_codes), to_bits(d_codes)
    if qb.shape[1] != db.shape[1]:
        raise ValueError(f"query codes have {qb.shape[1]} bits but database codes {db.shape[1]}")
    return hamming_packed(pack_codes(qb), pack_codes(db))


def _label_matrix(labels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.asarray(labels) > 0).astype(np.float32))


class _Labels:
    """Multi-hot label rows packed into uint32 words: "shares a label" is then ``(a & b) != 0`` per
    word, far cheaper than a float product; very wide label sets fall back to the product."""

    def __init__(self, labels: np.ndarray, max_words: int = 8):
        m = np.asarray(labels) > 0
        self.words = -(-m.shape[1] // 32)
        if self.words <= max_words:
            pad = np.zeros((m.shape[0], self.words * 32), dtype=bool)
            pad[:, : m.shape[1]] = m
            self.bits = np.packbits(pad, axis=1, bitorder="little").view(np.uint32)  # (n, words)
            self.dense = None
        else:
            self.bits, self.dense = None, _label_matrix(m)

    def relevance(self, q: _Labels, rows: slice) -> np.ndarray:
        """``rel[i, j]`` for query rows ``rows`` of ``q`` against every item of ``self``."""
        if self.bits is None:
            return (q.dense[rows] @ self.dense.T) > 0
        qb = q.bits[rows]
        rel = (qb[:, None, 0] & self.bits[None, :, 0]) != 0
        for w in range(1, self.words):
            rel |= (qb[:, None, w] & self.bits[None, :, w]) != 0
        return rel


def relevance(q_labels: np.ndarray, d_labels: np.ndarray) -> np.ndarray:
    """``rel[i, j]``: query ``i`` and item ``j`` share at least one label (multi-hot rows)."""
    return (_label_matrix(q_labels) @ _label_matrix(d_labels).T) > 0


# ------------------------------------------------------------------------------------ per-block core
def _blocks(n: int, size: int) -> Iterator[slice]:
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))


def _block_size(n_db: int, budget: int = 1 << 18) -> int:
    """Queries per block: ~256K (query, item) pairs keep the block's arrays in cache."""
    return max(1, min(4096, budget // max(1, n_db)))


def _harmonic(n: int) -> np.ndarray:
    """``H[m] = Σ_{t=1..m} 1/t`` for m = 0..n (float64)."""
    h = np.zeros(n + 1)
    h[1:] = np.cumsum(1.0 / np.arange(1, n + 1))
    return h


def _sort_key_layout(n_db: int, bits: int) -> tuple[type, int]:
    """dtype and shift of the combined key ``dist << shift | index << 1 | relevant``.

    The key is unique per item, so an ordinary (SIMD) value sort of it gives the stable
    (distance, index) order, with each item's relevance bit riding along in bit 0.
    """
    shift = max(1, int(n_db - 1).bit_length()) + 1
    need = shift + int(bits).bit_length()
    return (np.uint32 if need <= 32 else np.uint64), shift


def _ranked_relevance(dist: np.ndarray, rel: np.ndarray, base: np.ndarray, shift: int) -> np.ndarray:
    """Relevance (bool) of each query's items in the stable (distance, database index) order."""
    key = np.left_shift(dist, base.dtype.type(shift), dtype=base.dtype)
    key |= base
    key |= rel
    key.sort(axis=1)
    key &= base.dtype.type(1)
    return key.astype(bool)


def _stable_metrics(ranked: np.ndarray, ks: tuple[int, ...], topk_map: tuple[int, ...]) -> dict:
    """Per-query metrics of one block from the relevance in ranked order (rows = queries).

    Works on the relevant ranks only: for the t-th relevant item of a query (ordinal t) at rank p
    the precision there is t/p. Every metric sums those precisions over a *prefix* of the query's
    relevant items (all of them; those in the top k; the first min(k, R)): one ``reduceat`` each.
    """
    nq, n_db = ranked.shape
    flat = np.flatnonzero(ranked)
    bounds = np.searchsorted(flat, np.arange(nq + 1) * n_db)
    starts, R = bounds[:-1], np.diff(bounds)
    terms = np.arange(1, len(flat) + 2, dtype=np.float64)  # ordinal t (+1 spare slot, 0 below)
    terms[:-1] -= np.repeat(starts, R)
    pos = flat.astype(np.float64)
    pos -= np.repeat(np.arange(nq, dtype=np.float64) * n_db - 1.0, R)  # 1-based rank p
    np.divide(terms[:-1], pos, out=terms[:-1])
    terms[-1] = 0.0

    def prefix(length: np.ndarray) -> np.ndarray:
        """Sum of each row's first ``length`` terms (reduceat over [start, start + length))."""
        idx = np.empty(2 * nq, dtype=np.intp)
        idx[0::2], idx[1::2] = starts, starts + length
        sums = np.add.reduceat(terms, idx)[0::2] if len(terms) > 1 else np.zeros(nq)
        return np.where(length > 0, sums, 0.0)

    def ratio(num, den):
        return np.where(den > 0, num / np.maximum(den, 1), 0.0)

    out: dict[str, np.ndarray] = {"ap": ratio(prefix(R), R)}
    top: dict[int, np.ndarray] = {}
    for k in {*topk_map, *ks}:
        top[k] = np.count_nonzero(ranked[:, :k], axis=1)  # relevant items among the top k
    for k in topk_map:
        out[f"ap_deephash@{k}"] = ratio(prefix(top[k]), top[k])
        m = np.minimum(R, k)  # DCMH: the first min(k, R) relevant items, wherever they rank
        out[f"ap_dcmh@{k}"] = ratio(prefix(m), m)
    for k in ks:
        out[f"p@{k}"] = top[k] / float(min(k, n_db))
    return out


def _count_tables(dist: np.ndarray, rel: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query histograms over distances 0..bits: all items, relevant items (shape (q, bits+1)).

    One ``bincount`` of ``row·2(bits+1) + 2·dist + relevant`` gives both.
    """
    nq = dist.shape[0]
    nb = 2 * (bits + 1)
    code = np.left_shift(dist, 1, dtype=dist.dtype if bits < 127 else np.uint16)  # 2·dist, still narrow
    code |= rel
    idx = np.add(code, (np.arange(nq, dtype=np.intp) * nb)[:, None], dtype=np.intp)
    counts = np.bincount(idx.ravel(), minlength=nq * nb).reshape(nq, bits + 1, 2).astype(np.float64)
    return counts.sum(2), counts[:, :, 1]


def tie_aware_ap_from_counts(n_all: np.ndarray, n_rel: np.ndarray, H: np.ndarray | None = None) -> np.ndarray:
    """Expected AP over random orders of tied items, from per-distance counts (rows = queries).

    ``n_all[q, d]`` items and ``n_rel[q, d]`` relevant items at distance ``d``. See the module
    docstring for the formula; per group: with ``S1 = H[c+n] − H[c]`` and
    ``S2 = Σ_p (p−1)/(c+p) = n − (c+1)·S1``, the group adds ``(r/n)·[(ρ+1)·S1 + (r−1)/(n−1)·S2]``.
    """
    n_all = np.asarray(n_all, dtype=np.float64)
    n_rel = np.asarray(n_rel, dtype=np.float64)
    total = int(n_all.sum(1).max()) if n_all.size else 0
    if H is None:
        H = _harmonic(total)
    c = np.cumsum(n_all, axis=1) - n_all  # items before the group
    rho = np.cumsum(n_rel, axis=1) - n_rel  # relevant items before the group
    ci = c.astype(np.int64)
    ni = n_all.astype(np.int64)
    S1 = H[ci + ni] - H[ci]
    S2 = n_all - (c + 1.0) * S1
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = np.where(n_all > 1, (n_rel - 1.0) / np.maximum(n_all - 1.0, 1.0), 0.0)
        contrib = np.where(n_all > 0, n_rel / np.maximum(n_all, 1.0) * ((rho + 1.0) * S1 + inner * S2), 0.0)
    R = n_rel.sum(1)
    return np.where(R > 0, contrib.sum(1) / np.maximum(R, 1.0), 0.0)


def tie_aware_map(q_codes: Any, d_codes: Any, q_labels: np.ndarray, d_labels: np.ndarray) -> float:
    """Tie-aware mAP (expected AP over random tie orders), computed without sorting."""
    qp, dp = pack_codes(q_codes), pack_codes(d_codes)
    bits = to_bits(q_codes).shape[1]
    H = _harmonic(len(dp))
    ql, dl = _Labels(q_labels), _Labels(d_labels)
    aps = []
    for sl in _blocks(len(qp), _block_size(len(dp))):
        dist = hamming_packed(qp[sl], dp)
        n_all, n_rel = _count_tables(dist, dl.relevance(ql, sl), bits)
        aps.append(tie_aware_ap_from_counts(n_all, n_rel, H))
    return float(np.concatenate(aps).mean())


def mean_average_precision(q_codes: Any, d_codes: Any, q_labels: np.ndarray, d_labels: np.ndarray) -> float:
    """mAP over the whole ranking (ties broken by database index)."""
    return evaluate_retrieval(q_codes, d_codes, q_labels, d_labels, topk=(), p_at=(), pr=False,
                              tie_aware=False)["map"]


def evaluate_retrieval(q_codes: Any, d_codes: Any, q_labels: np.ndarray, d_labels: np.ndarray, *,
                       topk: tuple[int, ...] | int = (50,), p_at: tuple[int, ...] = (50, 100),
                       pr: bool = True, tie_aware: bool = True, block: int | None = None) -> dict[str, Any]:
    """All metrics of the module docstring in one pass over query blocks.

    Returns ``map``, ``map@k_deephash``, ``map@k_dcmh`` for each ``k`` in ``topk``, ``p@k`` for each
    ``k`` in ``p_at``, ``map_tie_aware`` and (``pr=True``) ``pr_curve`` = {radius, precision, recall}.
    """
    topk = (topk,) if isinstance(topk, int) else tuple(topk)
    qb, db = to_bits(q_codes), to_bits(d_codes)
    if qb.shape[1] != db.shape[1]:
        raise ValueError(f"query codes have {qb.shape[1]} bits but database codes {db.shape[1]}")
    bits = qb.shape[1]
    qp, dp = pack_codes(qb), pack_codes(db)
    H = _harmonic(len(dp))
    key_dtype, shift = _sort_key_layout(len(dp), bits)
    base = np.arange(len(dp), dtype=key_dtype) << key_dtype(1)
    ql, dl = _Labels(q_labels), _Labels(d_labels)
    acc: dict[str, list[np.ndarray]] = {}
    prec_sum = np.zeros(bits + 1)
    prec_n = np.zeros(bits + 1)
    rec_sum = np.zeros(bits + 1)
    rec_n = 0
    for sl in _blocks(len(qp), block or _block_size(len(dp))):
        dist = hamming_packed(qp[sl], dp)
        rel = dl.relevance(ql, sl)
        ranked = _ranked_relevance(dist, rel, base, shift)
        for k, v in _stable_metrics(ranked, tuple(p_at), topk).items():
            acc.setdefault(k, []).append(v)
        if tie_aware or pr:
            n_all, n_rel = _count_tables(dist, rel, bits)
            if tie_aware:
                acc.setdefault("tie", []).append(tie_aware_ap_from_counts(n_all, n_rel, H))
            if pr:
                ca, cr = np.cumsum(n_all, 1), np.cumsum(n_rel, 1)
                R = cr[:, -1]
                prec_sum += np.where(ca > 0, cr / np.maximum(ca, 1), 0).sum(0)
                prec_n += (ca > 0).sum(0)
                rec_sum += (cr[R > 0] / R[R > 0, None]).sum(0)
                rec_n += int((R > 0).sum())
    mean = {k: float(np.concatenate(v).mean()) for k, v in acc.items()}
    out: dict[str, Any] = {"map": mean["ap"]}
    for k in topk:
        out[f"map@{k}_deephash"] = mean[f"ap_deephash@{k}"]
        out[f"map@{k}_dcmh"] = mean[f"ap_dcmh@{k}"]
    for k in p_at:
        out[f"p@{k}"] = mean[f"p@{k}"]
    if tie_aware:
        out["map_tie_aware"] = mean["tie"]
    if pr:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pr_curve"] = {"radius": list(range(bits + 1)),
                               "precision": (prec_sum / np.maximum(prec_n, 1)).tolist(),
                               "recall": (rec_sum / max(rec_n, 1)).tolist()}
    out["n_query"], out["n_db"], out["bits"] = len(qp), len(dp), int(bits)
    return out
