"""Retrieval metrics against brute-force, loop-by-loop implementations of their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from dcsh import evaluate as E


def brute_rank(q, db):
    """Per query: database indices sorted by (Hamming distance, index), distances from explicit loops."""
    out = []
    for i in range(q.shape[0]):
        d = [sum(int(a != b) for a, b in zip(q[i], db[j])) for j in range(db.shape[0])]
        out.append((sorted(range(db.shape[0]), key=lambda j: (d[j], j)), d))
    return out


def brute_metrics(q, db, ql, dl, k):
    rel = [[bool(np.any(ql[i] & dl[j])) for j in range(db.shape[0])] for i in range(q.shape[0])]
    ap_all, ap_k, ap_dcmh, pk = [], [], [], []
    for i, (order, _) in enumerate(brute_rank(q, db)):
        r = [rel[i][j] for j in order]
        R = sum(r)
        # whole ranking
        hits, s = 0, 0.0
        for pos, x in enumerate(r, 1):
            if x:
                hits += 1
                s += hits / pos
        ap_all.append(s / R if R else 0.0)
        # CalcTopMap: top k, normalised by relevant among the top k
        hits, s = 0, 0.0
        for pos, x in enumerate(r[:k], 1):
            if x:
                hits += 1
                s += hits / pos
        ap_k.append(s / hits if hits else 0.0)
        # DCMH calc_map_k: first min(k, R) relevant anywhere
        total = min(k, R)
        hits, s = 0, 0.0
        for pos, x in enumerate(r, 1):
            if x and hits < total:
                hits += 1
                s += hits / pos
        ap_dcmh.append(s / total if total else 0.0)
        pk.append(sum(r[:k]) / k)
    return np.mean(ap_all), np.mean(ap_k), np.mean(ap_dcmh), np.mean(pk)


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(3)
    q = np.where(rng.random((15, 6)) > 0.5, 1, -1).astype(np.int8)  # 6 bits: many ties
    db = np.where(rng.random((40, 6)) > 0.5, 1, -1).astype(np.int8)
    ql = (rng.random((15, 5)) > 0.7).astype(np.uint8)
    dl = (rng.random((40, 5)) > 0.7).astype(np.uint8)
    ql[0] = 0  # a query without any relevant item
    return q, db, ql, dl


def test_packed_hamming_matches_loops(codes):
    q, db, _, _ = codes
    rng = np.random.default_rng(0)
    q13 = np.where(rng.random((7, 13)) > 0.5, 1, -1)  # not a multiple of 8 bits
    db13 = np.where(rng.random((9, 13)) > 0.5, 1, -1)
    for a, b in ((q, db), (q13, db13)):
        want = np.array([[int((a[i] != b[j]).sum()) for j in range(len(b))] for i in range(len(a))])
        np.testing.assert_array_equal(E.hamming(a, b), want)
    np.testing.assert_array_equal(E.hamming(q > 0, db > 0), E.hamming(q, db))  # {0,1} == {-1,+1}
    assert E.pack_codes(q).shape == (15, 1) and E.pack_codes(q13).dtype == np.uint8


def test_ties_broken_by_database_index(codes):
    q, db, _, _ = codes
    order, dist = E.rank(q, db)
    for i, (want, _) in enumerate(brute_rank(q, db)):
        assert list(order[i]) == want
    assert (np.diff(dist, axis=1) >= 0).all()


@pytest.mark.parametrize("k", [1, 5, 12, 40])
def test_maps_and_precision_match_brute_force(codes, k):
    q, db, ql, dl = codes
    whole, topk, dcmh, pk = brute_metrics(q, db, ql, dl, k)
    assert E.map_whole(q, db, ql, dl) == pytest.approx(whole, abs=1e-12)
    assert E.map_at_k(q, db, ql, dl, k) == pytest.approx(topk, abs=1e-12)
    assert E.map_at_k_dcmh(q, db, ql, dl, k) == pytest.approx(dcmh, abs=1e-12)
    assert E.precision_at_k(q, db, ql, dl, ks=(k,))[k] == pytest.approx(pk, abs=1e-12)
    m = E.evaluate_codes(q, db, ql, dl, topk=k, ks=(k,))
    assert m["map"] == pytest.approx(whole) and m[f"map@{k}"] == pytest.approx(topk)
    assert m[f"map@{k}_dcmh"] == pytest.approx(dcmh) and m[f"p@{k}"] == pytest.approx(pk)
    assert m["queries_without_relevant"] >= 1


def test_the_three_maps_coincide_on_the_whole_ranking_and_differ_at_k(codes):
    q, db, ql, dl = codes
    n = db.shape[0]
    w = E.map_whole(q, db, ql, dl)
    assert E.map_at_k(q, db, ql, dl, n) == pytest.approx(w)
    assert E.map_at_k_dcmh(q, db, ql, dl, n) == pytest.approx(w)
    assert E.map_at_k(q, db, ql, dl, 5) != pytest.approx(E.map_at_k_dcmh(q, db, ql, dl, 5))


def test_hand_computed_example():
    # one query, db distances 0,1,1,2 (ties 1,2 by index), relevance 1,0,1,0 → AP = (1/1 + 2/3)/2
    q = np.array([[1, 1, 1]])
    db = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, -1, 1]])
    ql = np.array([[1, 0]])
    dl = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])
    assert E.map_whole(q, db, ql, dl) == pytest.approx((1 + 2 / 3) / 2)
    assert E.map_at_k(q, db, ql, dl, 2) == pytest.approx(1.0)  # one relevant in the top 2, at rank 1
    assert E.map_at_k_dcmh(q, db, ql, dl, 2) == pytest.approx((1 + 2 / 3) / 2)  # first 2 relevant anywhere
    pr = E.pr_curve(q, db, ql, dl)
    assert pr["precision"][0] == 1.0 and pr["recall"][0] == 0.5
    assert pr["precision"][1] == pytest.approx(2 / 3) and pr["recall"][1] == 1.0
    assert pr["recall"][-1] == 1.0 and pr["precision"][-1] == pytest.approx(0.5)


def test_perfect_codes_give_map_one():
    lab = np.eye(4, dtype=np.uint8)[np.arange(20) % 4]
    codes = np.where(np.eye(4)[np.arange(20) % 4] > 0, 1, -1)
    assert E.map_whole(codes, codes, lab, lab) == pytest.approx(1.0)


def test_bit_mismatch_raises():
    with pytest.raises(ValueError):
        E.hamming(np.ones((2, 8)), np.ones((3, 16)))
