"""The command line end to end: smoke reproduce (+ resume), train → encode → evaluate on a DCMH .mat
dataset written here, evaluate on user codes against brute force, data commands, the bad-input table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_evaluate import brute

from cmimh.cli import main
from reprokit.report import VERDICTS, validate_summary

SMALL = ["--set", "data.n_query=20", "--set", "data.n_train=60", "--set", "train.epochs=2", "--set",
         "train.hidden=32", "--set", "train.batch_size=16", "--set", "data.pca_dims=16", "--set",
         "tuning.n_val_query=10"]


def _summary(d: Path) -> dict:
    return json.loads((d / "summary.json").read_text())


def test_smoke_reproduce_and_resume(tmp_path, runs):
    out = tmp_path / "smoke"
    assert main(["reproduce", "--preset", "smoke", "--quiet", "--out", str(out)]) == 0
    s = _summary(out)
    validate_summary(s)
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    assert all(c["verdict"] in VERDICTS for c in s["claims"])
    assert (out / "figures" / "map_vs_bits.png").is_file() and (out / "figures" / "pr_curves.png").is_file()
    report = (out / "report.md").read_text()
    assert "map@20_deephash" in report and "map@20_dcmh" in report and "map_tie_aware" in report
    # resume: a run killed after some stages continues from them and ends with the same numbers
    part = tmp_path / "partial"
    part.mkdir()
    for f in ("config.yaml", "env.json", "metrics.jsonl"):
        shutil.copy(out / f, part / f)
    (part / "checkpoints").mkdir()
    kept = ["tuning.json", "main-b16-s0.json", "main-b16-s1.json"]
    for f in kept:
        shutil.copy(out / "checkpoints" / f, part / "checkpoints" / f)
    before = {f: (part / "checkpoints" / f).stat().st_mtime_ns for f in kept}
    assert main(["reproduce", "--quiet", "--resume", str(part)]) == 0
    assert {f: (part / "checkpoints" / f).stat().st_mtime_ns for f in kept} == before
    r = _summary(part)
    def numbers(cells):  # wall-clock training time is the one field allowed to differ
        return [{k: ({kk: vv for kk, vv in v.items() if kk != "train_s"} if isinstance(v, dict) else v)
                 for k, v in c.items()} for c in cells]

    cells_a = json.loads((out / "cells.json").read_text())["main_cells"]
    cells_b = json.loads((part / "cells.json").read_text())["main_cells"]
    assert numbers(cells_b) == numbers(cells_a) and r["metrics"] == s["metrics"]
    assert [c["verdict"] for c in r["claims"]] == [c["verdict"] for c in s["claims"]]


def test_train_encode_evaluate_on_dcmh_mat(tmp_path, runs, mat_dir):
    common = ["--preset", "paper", "--quiet", "--dataset", "mirflickr25k", "--data-dir", str(mat_dir.parent), *SMALL]
    a, b = tmp_path / "train_a", tmp_path / "train_b"
    assert main(["train", *common, "--bits", "16", "--out", str(a)]) == 0
    assert main(["train", *common, "--bits", "16", "--out", str(b)]) == 0
    sa, sb = _summary(a), _summary(b)
    assert sa["metrics"]["i2t"] == sb["metrics"]["i2t"]  # same seed → same numbers
    enc = tmp_path / "enc"
    assert main(["encode", *common, "--checkpoint", str(a / "checkpoints" / "model.pt"), "--out", str(enc)]) == 0
    ev = tmp_path / "ev"
    assert main(["evaluate", "--quiet", "--codes", str(enc / "codes_i2t.npz"), "--topk", "50", "--out", str(ev)]) == 0
    se = _summary(ev)
    assert se["metrics"]["map"] == pytest.approx(sa["metrics"]["i2t"]["map"], abs=1e-12)
    for k in ("map@50_deephash", "map@50_dcmh", "map_tie_aware", "p@50"):
        assert k in se["metrics"]
    assert "resized to 32×32" in sa["data_note"]  # the 16×16 .mat images meet the preset's image_size
    with np.load(enc / "codes_t2i.npz") as z:
        assert z["query_codes"].shape == (20, 16) and z["db_codes"].shape == (100, 16)


def test_evaluate_user_codes_against_brute_force(tmp_path, runs, capsys):
    rng = np.random.default_rng(0)
    q, d = rng.integers(0, 2, (12, 8)), rng.integers(0, 2, (40, 8))
    ql = np.eye(4, dtype=int)[rng.integers(0, 4, 12)]
    dl = np.eye(4, dtype=int)[rng.integers(0, 4, 40)]
    np.savez(tmp_path / "c.npz", query_codes=2 * q - 1, db_codes=2 * d - 1, query_labels=ql, db_labels=dl)
    out = tmp_path / "ev"
    assert main(["evaluate", "--codes", str(tmp_path / "c.npz"), "--topk", "10", "--out", str(out), "--quiet"]) == 0
    m = _summary(out)["metrics"]
    ref = brute(q, d, ql, dl, 10)
    assert m["map"] == pytest.approx(ref["map"], abs=1e-12)
    assert m["map@10_deephash"] == pytest.approx(ref["dh"], abs=1e-12)
    assert m["map@10_dcmh"] == pytest.approx(ref["dc"], abs=1e-12)
    assert m["p@10"] == pytest.approx(ref["pk"], abs=1e-12)
    assert (out / "config.yaml").is_file() and (out / "env.json").is_file() and (out / "report.md").is_file()
    assert (out / "figures" / "pr_curve.png").is_file()
    # a finished --out is refused and left alone
    before = (out / "summary.json").read_bytes()
    assert main(["evaluate", "--codes", str(tmp_path / "c.npz"), "--out", str(out), "--quiet"]) == 2
    assert (out / "summary.json").read_bytes() == before


def test_data_commands(capsys, mat_dir):
    assert main(["data", "list", "--data-dir", str(mat_dir.parent)]) == 0
    out = capsys.readouterr().out
    assert "openmoji" in out and "mirflickr25k" in out
    assert main(["data", "check", "--dataset", "mirflickr25k", "--data-dir", str(mat_dir.parent)]) == 0
    assert "120 items" in capsys.readouterr().out
    assert main(["--version"]) == 0


def test_bad_input_table(tmp_path, monkeypatch, capsys):
    from bad_inputs import cases

    fixtures = tmp_path / "fx"
    fixtures.mkdir()
    table = cases(fixtures)
    assert len(table) >= 8
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    snapshot = sorted(p for p in tmp_path.rglob("*"))
    for case_id, argv in table:
        rc = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2, (case_id, rc, err)
        assert len(err) == 1 and "Traceback" not in err[0], (case_id, err)
        assert sorted(p for p in tmp_path.rglob("*")) == snapshot, case_id


def test_paper_preset_reproduce_a_few_steps_on_mat(tmp_path, runs, mat_dir):
    """The paper preset end to end on a DCMH-layout .mat written here (tiny sizes, two seeds)."""
    out = tmp_path / "paper"
    argv = ["reproduce", "--preset", "paper", "--quiet", "--dataset", "mirflickr25k", "--data-dir",
            str(mat_dir.parent), "--out", str(out), *SMALL, "--set", "bits=[16]", "--set", "n_seeds=2",
            "--set", "tuning.enabled=false", "--set", "ablation.enabled=false", "--set", "train.epochs=1"]
    assert main(argv) == 0
    s = _summary(out)
    assert s["dataset"] == "mirflickr25k" and len(json.loads((out / "cells.json").read_text())["main_cells"]) == 2
    assert all(c["verdict"] in VERDICTS for c in s["claims"])
