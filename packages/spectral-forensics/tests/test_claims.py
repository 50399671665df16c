"""The claims' verdicts come from the per-run rates and can come out either way."""

import numpy as np

from spectral_forensics.experiments import claims_from

CFG = {"claims": {"min_detection": 0.4, "min_drop": 0.5}, "detector": {"primary": "knn"}}


def results(rates: dict[str, np.ndarray]) -> dict:
    setups = ["BASELINE", "N.1.5", "B.1.5", "Z.1.5"]
    return {"setups": setups, "gans": {"dcgan": {
        "detect": {"dzanic+knn": {k: v.tolist() for k, v in rates.items()}},
        "setups": {s: {"hf_gap": {"mean_db": 0.0, "low_db": 0.0, "high_db": 0.0}} for s in setups}}}}


def test_the_paper_pattern_is_reproduced_and_a_null_pattern_is_not():
    rng = np.random.default_rng(0)
    noise = lambda: rng.normal(0, 0.03, 10)  # noqa: E731  (the quick run's per-run SD is ≈ 0.02–0.04)
    paper = {"real": 0.1 + noise(), "BASELINE": 0.9 + noise(), "N.1.5": 0.02 + noise(), "B.1.5": 0.02 + noise(),
             "Z.1.5": 0.9 + noise()}
    claims, metrics = claims_from(results(paper), CFG)
    assert [c.verdict for c in claims] == ["reproduced"] * 4
    assert abs(metrics["dcgan.dzanic+knn.rate.N.1.5"] - np.mean(paper["N.1.5"])) < 1e-4
    null = {k: 0.5 + noise() for k in paper}  # the detector sees no difference anywhere
    assert [c.verdict for c in claims_from(results(null), CFG)[0]] == ["not reproduced"] * 4
    weak = {**paper, "N.1.5": 0.6 + noise()}  # N only partly bypasses: drop ≈ 0.3 < 0.5
    v = {c.id: c.verdict for c in claims_from(results(weak), CFG)[0]}
    assert v["C2-N.1.5"] == "not reproduced" and v["C2-B.1.5"] == "reproduced"
    noisy = {**paper, "N.1.5": 0.4 + rng.normal(0, 0.4, 10)}  # drop ≈ 0.5 with a wide CI
    assert {c.id: c.verdict for c in claims_from(results(noisy), CFG)[0]}["C2-N.1.5"] == "inconclusive"
