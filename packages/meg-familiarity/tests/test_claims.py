"""The verdict rules of the README (DESIGN item 8), on hand-made numbers: each outcome reachable."""

import pytest

from meg_familiarity.cli import make_claims

CFG = {"claims": {"early_bound": 0.15, "early_window": [0.08, 0.15], "min_auc_effect": 0.01, "min_rho_effect": 0.01},
       "stats": {"alpha": 0.05}, "ground_truth": {"tolerance": 0.02}}


def _group(onset, low, high):
    return {"onset": onset, "onset_ci": {"low": low, "high": high, "method": "bootstrap"}, "test": "t",
            "fdr_onset": None, "peak_auc": 0.8, "peak_time": 0.1, "cluster_p": [0.01]}


@pytest.mark.parametrize("onset,low,high,verdict", [
    (0.09, 0.08, 0.12, "reproduced"),        # CI entirely before 150 ms
    (0.14, 0.10, 0.18, "inconclusive"),      # CI straddles the bound
    (0.17, 0.16, 0.20, "not reproduced"),    # an M170-like onset: CI entirely after the bound
    (None, None, None, "not reproduced"),    # no significant cluster
])
def test_c1_rule(onset, low, high, verdict):
    c1 = make_claims(_group(onset, low, high), None, None, CFG, 0.085)[0]
    assert c1.verdict == verdict
    assert c1.statement.startswith("pipeline check")
    assert make_claims(_group(onset, low, high), None, None, CFG, None, simulated=False)[0].statement.startswith(
        "familiarity")


def _ctrl(auc, rho, p_matched=0.5):
    def ci(m, lo, hi):
        return {"mean": m, "low": lo, "high": hi, "n": 10}

    return {"attribute_auc": 0.7, "attribute_p": 0.01, "n_matched_images": 60, "matched_on": ["luminance"],
            "attribute_auc_matched": 0.5, "attribute_p_matched": p_matched, "matched_early": ci(*auc),
            "rsa": {"early": ci(*rho), "onset_partial": 0.1}, "matched": {"onset": 0.09}}


@pytest.mark.parametrize("auc,rho,p,verdict", [
    ((0.05, 0.02, 0.08), (0.03, 0.015, 0.05), 0.5, "reproduced"),
    ((0.05, 0.02, 0.08), (0.03, 0.015, 0.05), 0.01, "inconclusive"),  # matched set still predicts familiarity
    ((0.05, 0.02, 0.08), (0.005, -0.01, 0.02), 0.5, "inconclusive"),  # RSA CI includes 0
    ((0.0, -0.01, 0.005), (0.03, 0.015, 0.05), 0.5, "not reproduced"),  # decoding CI below 0.01
])
def test_c2_rule(auc, rho, p, verdict):
    c2 = make_claims(_group(0.09, 0.08, 0.1), _ctrl(auc, rho, p), None, CFG, 0.085)[1]
    assert c2.verdict == verdict


@pytest.mark.parametrize("errors,k,verdict", [
    ([0.007, 0.007, 0.011], 0, "reproduced"),
    ([0.007, None, 0.011], 0, "not reproduced"),   # a planted onset missed
    ([0.05, 0.06, 0.055], 0, "not reproduced"),    # late by more than the tolerance
    ([0.007, 0.007, 0.011], 6, "not reproduced"),  # 6/20 false onsets: rate CI above 5 %
])
def test_c3_rule(errors, k, verdict):
    gt = {"planted_onset": 0.085, "onset_errors": errors, "n_null": 20, "n_false_onsets": k,
          "false_onset_rate": k / 20}
    assert make_claims(_group(0.09, 0.08, 0.1), None, gt, CFG, 0.085)[1].verdict == verdict
