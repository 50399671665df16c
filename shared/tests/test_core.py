"""reprokit without torch: atomic writes, configs, run directories, reports."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from reprokit import UsageError, apply_overrides, atomic_write_json, atomic_write_text
from reprokit.cli import previous_runtime
from reprokit.index import build_index
from reprokit.io import atomic_write_bytes
from reprokit.report import Claim, Summary, render_report, validate_summary, verdict_from_test, write_summary
from reprokit.rundir import RunDir
from reprokit.seeding import seed_everything


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "a" / "x.json"
    atomic_write_json(p, {"a": np.float32(1.5), "b": np.arange(3)})
    assert json.loads(p.read_text()) == {"a": 1.5, "b": [0, 1, 2]}
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [f.name for f in p.parent.iterdir()] == ["x.json"]  # no temp file left
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask  # the mode a plain open() gives, not mkstemp's 0600


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.bin"
    atomic_write_bytes(p, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(p, b"new content")
    assert p.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["ckpt.bin"]


def test_overrides_parse_yaml_and_refuse_unknown_keys():
    cfg = {"train": {"epochs": 2, "lr": 0.1}, "name": "a"}
    out = apply_overrides(cfg, ["train.epochs=5", "train.lr=1e-3", "name=b c"])
    assert out == {"train": {"epochs": 5, "lr": 1e-3}, "name": "b c"}
    assert cfg["train"]["epochs"] == 2  # the input is not mutated
    with pytest.raises(UsageError, match=r"did you mean train\.epochs"):
        apply_overrides(cfg, ["train.epoch=5"])
    with pytest.raises(UsageError, match="key=value"):
        apply_overrides(cfg, ["train.epochs"])


def test_rundir_never_overwrites(tmp_path):
    run = RunDir.create("pkg", "smoke", root=tmp_path)
    assert run.path.parent == tmp_path / "pkg" and run.path.name.endswith("-smoke")
    run2 = RunDir.create("pkg", "smoke", root=tmp_path)  # same second: a new directory, not the same one
    assert run2.path != run.path
    (run.path / "summary.json").write_text("{}")
    with pytest.raises(UsageError, match="finished run"):
        RunDir.create("pkg", "smoke", out=run.path)
    with pytest.raises(UsageError, match="not empty"):
        RunDir.create("pkg", "smoke", out=run2.path)
    with pytest.raises(UsageError, match="already finished"):
        RunDir.resume(run.path)
    with pytest.raises(UsageError, match="not a run directory"):
        RunDir.resume(tmp_path / "nothing")


def test_metrics_jsonl_skips_a_line_cut_by_a_kill(tmp_path):
    run = RunDir.create("pkg", "smoke", root=tmp_path)
    run.log_metrics({"step": 0, "loss": 1.0})
    run.log_metrics({"step": 1, "loss": 0.5})
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"step": 2, "lo')
    assert [r["step"] for r in run.read_metrics()] == [0, 1]


def test_previous_runtime_counts_killed_sessions():
    rows = [{"event": "session_start", "time": 100.0}, {"time": 103.0}, {"time": 110.0},
            {"event": "session_start", "time": 500.0}, {"time": 504.5}]
    assert previous_runtime(rows) == pytest.approx(10.0 + 4.5)


def test_verdicts_and_summary_schema(tmp_path):
    assert [verdict_from_test(x) for x in (True, False, None)] == ["reproduced", "not reproduced", "inconclusive"]
    with pytest.raises(ValueError):
        Claim("C1", "s", "p", "probably", {"x": 1})
    s = Summary("pkg", "0.1", "smoke", "toy", "synthetic", 0, 1.5, {"acc": 0.9},
                [Claim("C1", "it works", "95%", "not reproduced", {"acc": 0.9}, ours="90%")])
    write_summary(tmp_path, s)
    d = json.loads((tmp_path / "summary.json").read_text())
    validate_summary(d)
    assert d["claims"][0]["verdict"] == "not reproduced"
    md = render_report(s)
    assert "| C1 | it works | 95% | 90% | **not reproduced** |" in md
    bad = dict(d, claims=[dict(d["claims"][0], evidence={})])
    with pytest.raises(ValueError, match="evidence"):
        validate_summary(bad)
    with pytest.raises(ValueError, match="lacks"):
        validate_summary({k: v for k, v in d.items() if k != "seed"})


def test_seed_everything_repeats_numpy_and_python():
    import random

    seed_everything(7)
    a = (random.random(), np.random.rand(3).tolist())
    seed_everything(7)
    assert (random.random(), np.random.rand(3).tolist()) == a
    seed_everything(8)
    assert np.random.rand(3).tolist() != a[1]
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_index_lists_unbuilt_packages_and_latest_runs(tmp_path):
    (tmp_path / "packages" / "a").mkdir(parents=True)
    (tmp_path / "packages" / "b").mkdir(parents=True)
    run = RunDir.create("a", "quick", root=tmp_path / "runs")
    s = Summary("a", "0.1", "quick", "toy", "real toy data", 0, 12.0, {},
                [Claim("C1", "claim one", "85 ms", "reproduced", {"onset_ms": 90}, ours="90 ms")])
    write_summary(run.path, s)
    train_run = RunDir.create("a", "quick", root=tmp_path / "runs")  # newer, but a claimless train run
    write_summary(train_run.path, Summary("a", "0.1", "quick", "toy", "x", 0, 1.0, {}, []), require_claims=False)
    rows = build_index([("a", "Paper A"), ("b", "Paper B"), ("c", "Paper C")], tmp_path / "packages",
                       tmp_path / "runs", tmp_path / "reports")
    assert [r["status"] for r in rows] == ["ok", "no finished run", "not built yet"]
    assert rows[0]["run_dir"] == run.path
    md = (tmp_path / "reports" / "index.md").read_text()
    assert "| a: Paper A | C1: claim one | 85 ms | 90 ms | **reproduced** | real toy data | 12 s |" in md
    assert "c: Paper C | not built yet" in md
    assert "<b>reproduced</b>" in Path(tmp_path / "reports" / "index.html").read_text()


def test_stages_compute_once_and_read_back(tmp_path):
    from reprokit import cached_arrays, cached_json

    calls = []

    def stage():
        calls.append(1)
        return {"acc": np.float64(0.5), "per_seed": np.array([0.25, 0.75])}

    first = cached_json(tmp_path, "s1", stage)
    again = cached_json(tmp_path, "s1", stage)
    assert first == again == {"acc": 0.5, "per_seed": [0.25, 0.75]} and len(calls) == 1
    assert cached_json(None, "s1", stage)["acc"] == 0.5 and len(calls) == 2  # no directory: no cache
    arrays = cached_arrays(tmp_path, "a1", lambda: {"x": np.arange(6.0).reshape(2, 3)})
    back = cached_arrays(tmp_path, "a1", lambda: {"x": np.zeros(1)})
    np.testing.assert_array_equal(back["x"], arrays["x"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a1.npz", "s1.json"]
