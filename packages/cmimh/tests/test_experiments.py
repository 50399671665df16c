"""Claim logic on planted per-seed results: the verdicts follow DESIGN item 8 and can come out any way."""

from __future__ import annotations

import numpy as np

from cmimh.experiments import _aggregate, make_claims


def fake_res(effect_cca: float, effect_djsrh: float, effect_identical: float, noise: float = 0.002) -> dict:
    rng = np.random.default_rng(0)
    cells = []
    for b in (16, 32):
        for s in range(5):
            base = 0.4 + rng.normal(0, 0.02)

            def r(x):
                return {"map": float(x)}

            cm = base + rng.normal(0, noise)
            cell = {"bits": b, "seed": s}
            for v, eff in (("cmimh", 0.0), ("cca_itq", effect_cca), ("djsrh", effect_djsrh),
                           ("identical", effect_identical)):
                val = cm - eff + rng.normal(0, noise) if v != "cmimh" else cm
                cell[v] = {"i2t": r(val), "t2i": r(val), "gap_bits": 0.1}
            cells.append(cell)
    return {"main": cells, "bits": [16, 32], "seeds": list(range(5))}


def test_planted_effects_give_the_rule_s_verdicts():
    claims, _ = make_claims(fake_res(0.05, 0.05, 0.05), 0.01)
    assert [c.verdict for c in claims] == ["reproduced", "reproduced"]
    claims, _ = make_claims(fake_res(0.05, -0.05, 0.0), 0.01)  # one baseline better; no C2 effect
    assert [c.verdict for c in claims] == ["not reproduced", "not reproduced"]
    claims, metrics = make_claims(fake_res(0.05, 0.012, 0.012, noise=0.01), 0.01)
    assert claims[0].verdict in ("inconclusive", "reproduced")
    assert set(metrics["c1_comparisons"]) == {f"{b}b {d} vs {m}" for b in (16, 32) for d in ("i2t", "t2i")
                                              for m in ("cca_itq", "djsrh")}


def test_aggregate():
    assert _aggregate(["reproduced"] * 3) == "reproduced"
    assert _aggregate(["reproduced", "inconclusive"]) == "inconclusive"
    assert _aggregate(["reproduced", "not reproduced", "inconclusive"]) == "not reproduced"
