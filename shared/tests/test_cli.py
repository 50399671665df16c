"""The CLI contract on a toy package: exit codes, config snapshot, determinism, resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import toy_pkg
import yaml


def _runs(root: Path) -> list[Path]:
    return sorted((root / "runs" / "toy").glob("*"))


def test_reproduce_writes_the_run_directory(toy):
    assert toy_pkg.main(["reproduce", "--preset", "smoke", "--quiet", "--set", "lr=0.25"]) == 0
    (run,) = _runs(toy)
    for name in ("config.yaml", "env.json", "metrics.jsonl", "summary.json", "report.md", "run.log"):
        assert (run / name).is_file(), name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["lr"] == 0.25 and cfg["steps"] == 6
    assert cfg["run"] == {"preset": "smoke", "seed": 3, "dataset": "toy", "data_dir": None, "device": None}
    env = json.loads((run / "env.json").read_text())
    assert env["seed"] == 3 and "numpy" in env["versions"]
    s = json.loads((run / "summary.json").read_text())
    # 6 steps of w <- w - 0.25 (w - t) shrink the error by 0.75^6: loss = 0.5 |w0 - t|^2 0.75^12
    import numpy as np

    rng = np.random.default_rng(3)
    w0, t = rng.normal(size=4), rng.normal(size=4)
    assert s["metrics"]["loss"] == __import__("pytest").approx(0.5 * np.sum((w0 - t) ** 2) * 0.75**12)


def test_figures_are_recorded_relative_to_the_run(toy, monkeypatch):
    monkeypatch.chdir(toy)
    monkeypatch.setenv("REPRO_RUNS", "runs")  # a relative runs root, as `make reproduce` uses
    assert toy_pkg.main(["reproduce", "--preset", "smoke", "--quiet"]) == 0
    (run,) = _runs(toy)
    assert json.loads((run / "summary.json").read_text())["figures"] == ["figures/loss.png"]
    assert "![loss](figures/loss.png)" in (run / "report.md").read_text()


def test_same_seed_same_numbers_other_seed_differs(toy):
    for seed in ("1", "1", "2"):
        assert toy_pkg.main(["reproduce", "--preset", "smoke", "--quiet", "--seed", seed]) == 0
    ws = [json.loads((r / "summary.json").read_text())["metrics"]["w"] for r in _runs(toy)]
    assert len(ws) == 3
    assert sorted(map(tuple, ws)).count(tuple(ws[0])) >= 1
    seeds = [json.loads((r / "summary.json").read_text())["seed"] for r in _runs(toy)]
    by_seed = {}
    for s, w in zip(seeds, ws):
        by_seed.setdefault(s, []).append(w)
    assert by_seed[1][0] == by_seed[1][1]
    assert by_seed[2][0] != by_seed[1][0]


def test_user_errors_exit_2_with_one_line(toy, capsys):
    assert toy_pkg.main(["reproduce", "--preset", "smoke", "--set", "nope=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --set nope") and "\n" not in err
    assert toy_pkg.main(["reproduce", "--dataset", "imagenet"]) == 2
    assert "choose one of: toy" in capsys.readouterr().err
    assert toy_pkg.main(["reproduce", "--set", "lr=-1"]) == 2
    assert "lr must be positive" in capsys.readouterr().err
    assert toy_pkg.main(["reproduce", "--preset", "huge"]) == 2  # argparse's own usage error
    assert toy_pkg.main(["reproduce", "--resume", str(toy / "missing")]) == 2
    assert _runs(toy) == []  # a user mistake leaves no run directory behind


def test_train_run_without_claims_finishes(toy):
    assert toy_pkg.main(["train", "--preset", "smoke", "--quiet"]) == 0
    (run,) = _runs(toy)
    s = json.loads((run / "summary.json").read_text())
    assert s["claims"] == [] and s["metrics"]["loss"] < 1.0
    assert "## Claims" not in (run / "report.md").read_text()


def test_out_refuses_a_finished_run_and_overwrites_nothing(toy, capsys):
    out = toy / "myrun"
    assert toy_pkg.main(["reproduce", "--preset", "smoke", "--quiet", "--out", str(out)]) == 0
    before = (out / "summary.json").read_bytes()
    assert toy_pkg.main(["reproduce", "--preset", "smoke", "--quiet", "--out", str(out)]) == 2
    assert "finished run" in capsys.readouterr().err
    assert (out / "summary.json").read_bytes() == before


def test_crash_exits_1_then_resume_finishes_identically(toy, monkeypatch, capsys):
    ref = toy / "ref"
    assert toy_pkg.main(["reproduce", "--preset", "quick", "--quiet", "--out", str(ref)]) == 0
    out = toy / "crashed"
    monkeypatch.setenv("TOY_FAIL_AT", "7")
    assert toy_pkg.main(["reproduce", "--preset", "quick", "--quiet", "--out", str(out)]) == 1
    assert "internal error" in capsys.readouterr().err
    assert not (out / "summary.json").exists()
    monkeypatch.delenv("TOY_FAIL_AT")
    assert toy_pkg.main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    a = json.loads((ref / "summary.json").read_text())
    b = json.loads((out / "summary.json").read_text())
    assert a["metrics"] == b["metrics"] and b["preset"] == "quick"
    steps = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "step" in r]
    assert steps == list(range(20))  # steps 0..7 before the crash, 8..19 after: none repeated, none lost


def test_sigkill_then_resume(toy):
    """A real kill -9 in the middle of a run; --resume continues from the last atomic checkpoint."""
    out = toy / "killed"
    env = {**os.environ, "TOY_STEP_DELAY": "0.2", "PYTHONPATH": str(Path(toy_pkg.__file__).parent)}
    cmd = [sys.executable, toy_pkg.__file__, "reproduce", "--preset", "quick", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env)
    ckpt = out / "checkpoints" / "last.json"
    deadline = time.time() + 30
    while time.time() < deadline and not (ckpt.exists() and json.loads(ckpt.read_text())["step"] >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    done = json.loads(ckpt.read_text())["step"]
    assert 3 <= done < 20
    env["TOY_STEP_DELAY"] = "0"
    subprocess.run([sys.executable, toy_pkg.__file__, "reproduce", "--resume", str(out), "--quiet"],
                   env=env, check=True)
    ref = toy / "ref"
    subprocess.run([sys.executable, toy_pkg.__file__, "reproduce", "--preset", "quick", "--quiet", "--out", str(ref)],
                   env=env, check=True)
    assert json.loads((out / "summary.json").read_text())["metrics"] == json.loads(
        (ref / "summary.json").read_text())["metrics"]
