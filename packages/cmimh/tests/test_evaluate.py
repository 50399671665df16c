"""Retrieval metrics against brute-force float implementations written here, independently."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cmimh.evaluate import (
    evaluate_retrieval,
    hamming_distance,
    pack_codes,
    tie_aware_ap_from_counts,
    tie_aware_map,
    to_bits,
)


def brute(q, d, ql, dl, k):
    """Plain float loops: Hamming by (a != b).sum(), stable ranking, every metric by its definition."""
    D = np.array([[float((a != b).sum()) for b in d] for a in q])
    rel = np.array([[float(np.any(np.logical_and(a > 0, b > 0))) for b in dl] for a in ql])
    ap, dh, dc, pk = [], [], [], []
    for i in range(len(q)):
        order = sorted(range(len(d)), key=lambda j: (D[i, j], j))
        g = rel[i, order]
        hits = [p + 1 for p in range(len(g)) if g[p] == 1]
        ap.append(np.mean([(t + 1) / r for t, r in enumerate(hits)]) if hits else 0.0)
        top = [p for p in hits if p <= k]
        dh.append(np.mean([(t + 1) / r for t, r in enumerate(top)]) if top else 0.0)
        first = hits[: min(k, len(hits))]
        dc.append(np.mean([(t + 1) / r for t, r in enumerate(first)]) if first else 0.0)
        pk.append(sum(g[:k]) / min(k, len(g)))
    return {"map": np.mean(ap), "dh": np.mean(dh), "dc": np.mean(dc), "pk": np.mean(pk), "D": D, "rel": rel}


@pytest.mark.parametrize("bits,signed", [(4, False), (6, True), (16, False)])
def test_metrics_match_brute_force(bits, signed):
    rng = np.random.default_rng(bits)
    q = rng.integers(0, 2, (13, bits))
    d = rng.integers(0, 2, (57, bits))
    ql = (rng.random((13, 5)) < 0.3).astype(int)
    dl = (rng.random((57, 5)) < 0.3).astype(int)
    ref = brute(q, d, ql, dl, 10)
    qq, dd = (2 * q - 1, 2 * d - 1) if signed else (q, d)
    r = evaluate_retrieval(qq, dd, ql, dl, topk=(10,), p_at=(10,), block=4)
    assert r["map"] == pytest.approx(ref["map"], abs=1e-12)
    assert r["map@10_deephash"] == pytest.approx(ref["dh"], abs=1e-12)
    assert r["map@10_dcmh"] == pytest.approx(ref["dc"], abs=1e-12)
    assert r["p@10"] == pytest.approx(ref["pk"], abs=1e-12)
    # few bits ⇒ many ties: the two mAP@k variants really differ here, and differ from mAP
    if bits == 4:
        assert abs(r["map@10_deephash"] - r["map@10_dcmh"]) > 1e-3


def test_map_at_k_variants_equal_map_when_k_covers_database():
    rng = np.random.default_rng(3)
    q, d = rng.integers(0, 2, (9, 8)), rng.integers(0, 2, (30, 8))
    ql, dl = rng.random((9, 4)) < 0.4, rng.random((30, 4)) < 0.4
    r = evaluate_retrieval(q, d, ql, dl, topk=(30, 1000), p_at=(5,))
    for k in (30, 1000):
        assert r[f"map@{k}_deephash"] == pytest.approx(r["map"], abs=1e-12)
        assert r[f"map@{k}_dcmh"] == pytest.approx(r["map"], abs=1e-12)


@pytest.mark.parametrize("bits", [1, 7, 64, 100, 128])
def test_packed_hamming_equals_elementwise_count(bits):
    rng = np.random.default_rng(bits)
    a, b = rng.integers(0, 2, (11, bits)), rng.integers(0, 2, (17, bits))
    expected = (a[:, None, :] != b[None, :, :]).sum(2)
    assert np.array_equal(hamming_distance(a, b), expected)
    assert pack_codes(a).shape == (11, -(-bits // 64))


def test_to_bits_refuses_other_values():
    assert np.array_equal(to_bits(np.array([[-1, 1]])), [[0, 1]])
    assert np.array_equal(to_bits(np.array([[True, False]])), [[1, 0]])
    for bad in (np.array([[0, 2]]), np.array([[0.5, 1.0]]), np.array([[np.nan, 1.0]]), np.zeros(3)):
        with pytest.raises(ValueError):
            to_bits(bad)
    with pytest.raises(ValueError, match="bits"):
        hamming_distance(np.zeros((2, 8)), np.zeros((2, 16)))


def _ap_of_order(g):
    hits = np.flatnonzero(g) + 1
    return np.mean(np.arange(1, len(hits) + 1) / hits) if len(hits) else 0.0


def test_tie_aware_exact_enumeration():
    """All orders of every tie group, enumerated: the mean AP equals the closed form."""
    dist = np.array([0, 1, 1, 1, 2, 2, 1, 3])
    rel = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    groups = [np.flatnonzero(dist == v) for v in np.unique(dist)]
    aps = []
    for perms in itertools.product(*[list(itertools.permutations(g)) for g in groups]):
        order = np.concatenate([np.array(p) for p in perms])
        aps.append(_ap_of_order(rel[order]))
    n_all = np.bincount(dist, minlength=4)[None].astype(float)
    n_rel = np.bincount(dist, weights=rel, minlength=4)[None]
    assert tie_aware_ap_from_counts(n_all, n_rel)[0] == pytest.approx(np.mean(aps), abs=1e-12)


def test_tie_aware_matches_random_tie_orders():
    rng = np.random.default_rng(7)
    q, d = rng.integers(0, 2, (6, 4)), rng.integers(0, 2, (40, 4))
    ql, dl = rng.random((6, 3)) < 0.4, rng.random((40, 3)) < 0.4
    ql[:, 0] = True
    D = (q[:, None] != d[None]).sum(2)
    rel = (ql.astype(int) @ dl.T.astype(int)) > 0
    n_orders = 4000
    mc = []
    for i in range(len(q)):
        s = 0.0
        for _ in range(n_orders):
            perm = rng.permutation(len(d))
            order = perm[np.argsort(D[i, perm], kind="stable")]
            s += _ap_of_order(rel[i, order])
        mc.append(s / n_orders)
    exact = tie_aware_map(q, d, ql, dl)
    assert exact == pytest.approx(np.mean(mc), abs=3e-3)
    # and it is not simply the index-tie-broken mAP (4 bits ⇒ heavy ties)
    assert abs(exact - evaluate_retrieval(q, d, ql, dl, pr=False)["map"]) > 1e-3


def test_tie_aware_equals_map_without_ties():
    rng = np.random.default_rng(0)
    d = np.array([[int(c) for c in f"{i:06b}"] for i in rng.permutation(64)[:20]])  # distinct codes
    q = np.zeros((1, 6), int)
    D = d.sum(1)
    keep = np.unique(D, return_index=True)[1]  # one item per distance ⇒ no ties
    d = d[keep]
    dl = (rng.random((len(d), 3)) < 0.5).astype(int)
    dl[0, 0] = 1
    ql = np.array([[1, 1, 1]])
    assert tie_aware_map(q, d, ql, dl) == pytest.approx(evaluate_retrieval(q, d, ql, dl, pr=False)["map"], abs=1e-12)


def test_pr_curve_brute_force():
    rng = np.random.default_rng(5)
    q, d = rng.integers(0, 2, (5, 6)), rng.integers(0, 2, (25, 6))
    ql, dl = rng.random((5, 3)) < 0.5, rng.random((25, 3)) < 0.5
    ql[:, 0] = True
    r = evaluate_retrieval(q, d, ql, dl)["pr_curve"]
    D = (q[:, None] != d[None]).sum(2)
    rel = (ql.astype(int) @ dl.T.astype(int)) > 0
    for radius in range(7):
        ret = D <= radius
        got = ret.sum(1)
        prec = [(ret[i] & rel[i]).sum() / got[i] for i in range(5) if got[i] > 0]
        rec = [(ret[i] & rel[i]).sum() / rel[i].sum() for i in range(5) if rel[i].sum() > 0]
        assert r["precision"][radius] == pytest.approx(np.mean(prec) if prec else 0.0, abs=1e-12)
        assert r["recall"][radius] == pytest.approx(np.mean(rec), abs=1e-12)
    assert r["recall"][-1] == pytest.approx(1.0)


def test_query_without_relevant_items_counts_zero():
    q, d = np.array([[0, 0], [1, 1]]), np.array([[0, 0], [1, 0], [1, 1]])
    ql, dl = np.array([[1, 0], [0, 1]]), np.array([[1, 0], [1, 0], [1, 0]])  # query 2 has no relevant item
    r = evaluate_retrieval(q, d, ql, dl, topk=(2,), p_at=(2,))
    assert r["map"] == pytest.approx(0.5)  # query 1: AP 1 (ranks 1, 2, 3 all relevant); query 2: 0
    assert r["map_tie_aware"] == pytest.approx(0.5)


@pytest.mark.parametrize("n_labels", [1, 33, 70, 300])
def test_label_packing_widths_match_brute_force(n_labels):
    """1 word, 2–3 words of packed labels, and the dense fallback for very wide label sets."""
    rng = np.random.default_rng(n_labels)
    q, d = rng.integers(0, 2, (7, 12)), rng.integers(0, 2, (45, 12))
    p = min(0.5, 2.0 / n_labels)
    ql, dl = (rng.random((7, n_labels)) < p).astype(int), (rng.random((45, n_labels)) < p).astype(int)
    ql[:, -1] = 1  # the last word is used
    ref = brute(q, d, ql, dl, 5)
    r = evaluate_retrieval(q, d, ql, dl, topk=(5,), p_at=(5,))
    assert r["map"] == pytest.approx(ref["map"], abs=1e-12)
    assert r["p@5"] == pytest.approx(ref["pk"], abs=1e-12)
    assert tie_aware_map(q, d, ql, dl) == pytest.approx(r["map_tie_aware"], abs=1e-12)


def test_large_database_key_layout():
    """A database past 2^16 items still ranks by (distance, index) exactly (wider key)."""
    rng = np.random.default_rng(11)
    n = 70000
    q, d = rng.integers(0, 2, (2, 8)), rng.integers(0, 2, (n, 8))
    ql, dl = np.array([[1, 0], [0, 1]]), (rng.random((n, 2)) < 0.3).astype(int)
    D = (q[:, None] != d[None]).sum(2)
    rel = (ql @ dl.T) > 0
    aps = []
    for i in range(2):
        g = rel[i, np.argsort(D[i], kind="stable")]
        hits = np.flatnonzero(g) + 1
        aps.append(np.mean(np.arange(1, len(hits) + 1) / hits))
    assert evaluate_retrieval(q, d, ql, dl, pr=False)["map"] == pytest.approx(np.mean(aps), abs=1e-12)
