"""The command line end to end on the smoke preset: report, determinism, resume, bad input."""

import json

import numpy as np
import pytest

from meg_familiarity import experiments
from meg_familiarity.cli import main
from reprokit.report import VERDICTS, validate_summary

FAST = ["--set", "ground_truth.enabled=false", "--set", "control.enabled=false", "--set", "stats.n_boot=5",
        "--set", "decoding.generalization=false"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "smoke"
    assert main(["reproduce", "--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    return out


def test_smoke_reproduce_writes_a_complete_report(smoke_run):
    summary = json.loads((smoke_run / "summary.json").read_text())
    validate_summary(summary)
    assert [c["id"] for c in summary["claims"]] == ["C1", "C2", "C3"]
    assert all(c["verdict"] in VERDICTS for c in summary["claims"])
    for name in ("decoding_auc", "temporal_generalization", "low_level_control", "ground_truth"):
        assert (smoke_run / "figures" / f"{name}.png").stat().st_size > 1000
    report = (smoke_run / "report.md").read_text()
    assert "as early as 85 ms" in report and "SIMULATED MEG" in report and "Verdict rules" in report
    assert all(c["statement"].startswith("pipeline check") for c in summary["claims"][:2])
    # the verdict follows the rule of the README from the evidence (recomputed here)
    c1 = summary["claims"][0]["evidence"]
    if c1["onset_s"] is None:
        expected = "not reproduced"
    elif c1["ci_high_s"] < c1["early_bound_s"]:
        expected = "reproduced"
    elif c1["ci_low_s"] > c1["early_bound_s"]:
        expected = "not reproduced"
    else:
        expected = "inconclusive"
    assert summary["claims"][0]["verdict"] == expected
    assert summary["metrics"]["folds_by"] == "stimulus" and "onset_trial_folds_s" in summary["metrics"]
    scores = json.loads((smoke_run / "scores.json").read_text())
    assert np.array(scores["auc"]).shape[0] == summary["metrics"]["n_subjects"] == 6
    assert (smoke_run / "data" / "bids" / "dataset_description.json").exists()
    # onset recovery on the planted simulation (deterministic for the preset's seed)
    c3 = summary["claims"][2]["evidence"]
    assert all(e is not None and abs(e) <= 0.02 for e in c3["onset_errors_s"])


def test_same_seed_same_numbers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["reproduce", "--preset", "smoke", "--out", str(out), "--quiet", *FAST]) == 0
    sa, sb = (json.loads((p / "scores.json").read_text()) for p in (a, b))
    assert sa["auc"] == sb["auc"]
    ma, mb = (json.loads((p / "summary.json").read_text())["metrics"] for p in (a, b))
    assert ma["onset_s"] == mb["onset_s"] and ma["onset_ci_s"] == mb["onset_ci_s"]


def test_resume_after_a_crash_skips_finished_stages(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = ["reproduce", "--preset", "smoke", "--out", str(out), "--quiet", "--set", "control.enabled=false",
            "--set", "stats.n_boot=5"]

    def crash(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(experiments, "ground_truth", crash)
    assert main(args) == 1
    assert (out / "checkpoints" / "decode_all.npz").exists() and not (out / "summary.json").exists()
    before = (out / "checkpoints" / "decode_all.npz").read_bytes()
    monkeypatch.undo()
    monkeypatch.setattr(experiments, "decode_group", crash)  # must not run again
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    assert (out / "checkpoints" / "decode_all.npz").read_bytes() == before
    summary = json.loads((out / "summary.json").read_text())
    assert [c["id"] for c in summary["claims"]] == ["C1", "C3"]


def test_bad_usage_exits_2_and_overwrites_nothing(smoke_run, tmp_path, capsys):
    before = (smoke_run / "summary.json").read_bytes()
    assert main(["reproduce", "--preset", "smoke", "--out", str(smoke_run)]) == 2
    assert (smoke_run / "summary.json").read_bytes() == before
    assert main(["reproduce", "--preset", "smoke", "--dataset", "imagenet", "--out", str(tmp_path / "x")]) == 2
    assert main(["reproduce", "--preset", "smoke", "--device", "cuda", "--out", str(tmp_path / "v")]) == 2
    assert not (tmp_path / "v").exists()
    assert main(["reproduce", "--preset", "smoke", "--set", "decoding.folds=1", "--out", str(tmp_path / "y")]) == 2
    assert main(["reproduce", "--preset", "smoke", "--set", "decoding.nope=1", "--out", str(tmp_path / "z")]) == 2
    assert main(["reproduce", "--preset", "smoke", "--dataset", "ds000117", "--out", str(tmp_path / "w")]) == 2
    assert main(["data", "check", "--dataset", "ds000117", "--data-dir", str(tmp_path / "missing")]) == 2
    assert main(["decode", "--epochs", str(tmp_path / "none-epo.fif"), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_simulate_decode_control_commands(tmp_path, capsys):
    root = tmp_path / "bids"
    assert main(["simulate", "--out", str(root), "--subjects", "2", "--repeats", "1", "--channels", "mag",
                 "--sfreq", "125", "--effect", "3e-8"]) == 0
    assert main(["simulate", "--out", str(root)]) == 2  # not empty: refused
    assert main(["data", "check", "--dataset", "bids", "--data-dir", str(root)]) == 0
    assert "trigger delay" in capsys.readouterr().out
    out = tmp_path / "dec"
    assert main(["decode", "--bids-root", str(root), "--out", str(out), "--folds", "3", "--repeats", "1",
                 "--n-boot", "5", "--generalization", "--subject-perms", "9", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    validate_summary(summary, require_claims=False)
    for f in ("config.yaml", "env.json", "report.md", "scores.json", "figures/decoding_auc.png",
              "figures/temporal_generalization.png"):
        assert (out / f).exists(), f
    m = summary["metrics"]
    assert m["trials"] == {"01": {"familiar": 50, "unfamiliar": 50}, "02": {"familiar": 50, "unfamiliar": 50}}
    assert m["test"].startswith("within subject") and len(m["per_subject"]) == 2  # 2 < min_group_subjects
    assert 0 <= m["peak_time_s"] <= 0.5 and "cluster_p" in m
    assert main(["decode", "--bids-root", str(root), "--out", str(out)]) == 2  # finished: refused
    assert main(["decode", "--bids-root", str(root), "--out", str(tmp_path / "few"), "--folds", "200"]) == 2
    assert "too few" in capsys.readouterr().err and not (tmp_path / "few").exists()
    assert main(["control", "--bids-root", str(root), "--out", str(tmp_path / "ctl"), "--folds", "3",
                 "--repeats", "1", "--n-perm", "64", "--attr-perm", "5", "--caliper", "1.0", "--quiet"]) == 0
    ctl = json.loads((tmp_path / "ctl" / "control.json").read_text())
    assert ctl["n_images"] == 100 and 0 <= ctl["attribute_auc"] <= 1 and "colour" in ctl["matched_on"]
    validate_summary(json.loads((tmp_path / "ctl" / "summary.json").read_text()), require_claims=False)
    assert main(["data", "list"]) == 0 and "simulated" in capsys.readouterr().out


def test_decode_resumes_a_killed_run(tmp_path, monkeypatch, tiny_bids):
    root, _ = tiny_bids
    out = tmp_path / "dec"
    args = ["decode", "--bids-root", str(root), "--out", str(out), "--folds", "3", "--subject-perms", "9",
            "--n-boot", "0", "--quiet"]

    def crash(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(experiments, "subject_test", crash)
    assert main(args) == 1
    assert (out / "checkpoints" / "decode_all.npz").exists() and not (out / "summary.json").exists()
    monkeypatch.undo()
    monkeypatch.setattr(experiments, "decode_group", crash)  # finished stage: must not run again
    assert main(["decode", "--resume", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["metrics"]["n_subjects"] == 2


def test_paper_preset_runs_a_few_steps_on_real_format_bids(tiny_bids, tmp_path):
    root, _ = tiny_bids
    out = tmp_path / "paper"
    rc = main(["reproduce", "--preset", "paper", "--dataset", "ds000117", "--data-dir", str(root), "--out", str(out),
               "--quiet", "--set", "ground_truth.enabled=false", "--set", "stats.n_perm=64", "--set", "stats.n_boot=3",
               "--set", "stats.ci_perm=32", "--set", "decoding.repeats=1", "--set", "decoding.folds=3",
               "--set", "control.attr_perm=5", "--set", "control.caliper=1.0", "--set", "data.preproc.decim=1",
               "--set", "data.preproc.reject={mag: 1.0}"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["preset"] == "paper" and summary["dataset"] == "ds000117"
    assert summary["metrics"]["n_subjects"] == 2 and "real MEG" in summary["data_note"]
