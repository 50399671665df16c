"""The CLI end to end on the smoke preset (MNIST-format files written by the tests): reproduce, resume after
a kill, determinism, train → export → evaluate, bad input, torchrun DDP."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY

from lq_quant.cli import main
from reprokit.testing import run_torchrun


def _run(args: list[str]) -> int:
    return main(args)


@pytest.fixture(scope="module")
def smoke_run(mnist_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "smoke"
    rc = _run(["reproduce", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out",
               str(out), "--quiet", *TINY])
    assert rc == 0
    return out


def test_reproduce_writes_the_run_directory(smoke_run):
    s = json.loads((smoke_run / "summary.json").read_text())
    assert s["package"] == "lq-quant" and s["preset"] == "smoke" and s["dataset"] == "mnist"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    assert all(c["verdict"] in ("reproduced", "not reproduced", "inconclusive") for c in s["claims"])
    assert {"acc_fp", "acc_dq_w2a2", "acc_lsq_w2a2", "acc_dorefa_w2a2", "acc_lqnets_w2a2"} <= set(s["metrics"])
    assert len(s["extra"]["comparisons"]) == 3
    for f in ("config.yaml", "env.json", "metrics.jsonl", "report.md", "figures/accuracy_vs_bits.png",
              "figures/channel_errors.png"):
        assert (smoke_run / f).is_file(), f
    assert "first/last layer: fp" in (smoke_run / "report.md").read_text()
    stage = json.loads((smoke_run / "stages" / "dq_w2_s0.json").read_text())
    assert 0 <= stage["c2"]["frac_lower"] <= 1 and stage["c2"]["n_channels"] > 0


def test_resume_after_a_kill_gives_the_same_numbers(smoke_run, tmp_path):
    """A killed run (no summary, a cell missing) resumes: the missing cell is recomputed identically."""
    import shutil

    copy = tmp_path / "killed"
    shutil.copytree(smoke_run, copy)
    before = json.loads((copy / "summary.json").read_text())
    (copy / "summary.json").unlink()
    (copy / "stages" / "lsq_w2_s1.json").unlink()
    (copy / "stages" / "dq_w2_s1.json").unlink()
    assert _run(["reproduce", "--resume", str(copy), "--quiet"]) == 0
    after = json.loads((copy / "summary.json").read_text())
    assert after["metrics"]["acc_lsq_w2a2"] == before["metrics"]["acc_lsq_w2a2"]  # same seed → same numbers
    assert after["metrics"]["acc_dq_w2a2"] == before["metrics"]["acc_dq_w2a2"]
    assert [c["evidence"] for c in after["claims"]] == [c["evidence"] for c in before["claims"]]
    assert _run(["reproduce", "--resume", str(copy), "--quiet"]) == 2  # finished: refused


def test_finished_out_is_never_overwritten(smoke_run, mnist_dir, capsys):
    mtime = (smoke_run / "summary.json").stat().st_mtime
    rc = _run(["reproduce", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out",
               str(smoke_run), "--quiet"])
    assert rc == 2 and "finished run" in capsys.readouterr().err
    assert (smoke_run / "summary.json").stat().st_mtime == mtime


def test_train_export_evaluate(mnist_dir, tmp_path, capsys):
    run = tmp_path / "train"
    assert _run(["train", "--method", "dq", "--wbits", "2", "--abits", "2", "--preset", "smoke", "--dataset",
                 "mnist", "--data-dir", str(mnist_dir), "--out", str(run), "--quiet",
                 "--set", "data.downsample=2"]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert s["claims"] == [] and s["metrics"]["method"] == "dq" and 0 <= s["metrics"]["acc"] <= 100
    rec = torch.load(run / "checkpoints" / "model.pt", weights_only=False)
    assert rec["kind"] == "lq-quant-model" and rec["arch"]["wbits"] == 2
    exp_path = tmp_path / "model_w2.pt"
    assert _run(["export", "--run", str(run), "--out", str(exp_path)]) == 0
    assert "outputs identical" in capsys.readouterr().out
    exp = torch.load(exp_path, weights_only=True)
    assert set(exp["layers"]) and all(int(r["codes"].max()) < 4 for r in exp["layers"].values())
    assert _run(["export", "--run", str(run), "--out", str(exp_path)]) == 2  # never overwrites
    ev = tmp_path / "eval"
    assert _run(["evaluate", "--export", str(exp_path), "--preset", "smoke", "--dataset", "mnist", "--data-dir",
                 str(mnist_dir), "--out", str(ev), "--quiet"]) == 0
    m = json.loads((ev / "summary.json").read_text())["metrics"]
    assert m["acc"] == pytest.approx(s["metrics"]["acc"])  # the exported model scores what the trained one did
    assert m["size_ratio"] < 0.5


def test_data_list_and_check(mnist_dir, capsys):
    assert _run(["data", "list", "--data-dir", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "cifar100" in out and "imagenet" in out
    assert _run(["data", "check", "--dataset", "mnist", "--data-dir", str(mnist_dir)]) == 0
    assert _run(["--version"]) == 0


def test_torchrun_train_is_data_parallel(mnist_dir, tmp_path):
    """Two gloo processes: one run directory, rank 0 logs each epoch once, DQ weights stay on their levels."""
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        pytest.skip("torchrun not installed next to this Python")
    script = tmp_path / "entry.py"
    script.write_text("import sys; from lq_quant.cli import main; sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "ddp"
    r = run_torchrun([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script), "train", "--method", "dq",
                        "--wbits", "2", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir),
                      "--out", str(out), "--quiet", "--set", "data.downsample=2", "--set", "train.epochs=2"],
                     timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
                     before_retry=lambda: shutil.rmtree(out, ignore_errors=True))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims"] == [] and 0 <= summary["metrics"]["acc"] <= 100
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    epochs = [(row["tag"], row["epoch"]) for row in rows if "epoch" in row]
    assert sorted(epochs) == sorted(set(epochs)) and len(epochs) == 3  # fp pretrain 1 + dq 2, once each
    assert sum(row.get("event") == "session_start" for row in rows) == 1
    rec = torch.load(out / "checkpoints" / "model.pt", weights_only=False)
    sd = rec["state_dict"]
    for key in [k for k in sd if k.endswith("wq.levels")]:
        layer = key[: -len(".wq.levels")]
        w = sd[f"{layer}.weight"].reshape(sd[key].shape[0], -1)
        assert torch.equal(w, torch.gather(sd[key], 1, sd[f"{layer}.wq.codes"]))


def test_paper_preset_runs_a_few_steps_on_cifar100_pickles(tmp_path):
    """The paper preset (ResNet-20, CIFAR-100 python pickles) end to end, shrunk to a few steps."""
    from conftest import write_cifar100

    root = write_cifar100(tmp_path / "cifar-100-python", 48)
    out = tmp_path / "paper"
    rc = _run(["reproduce", "--preset", "paper", "--data-dir", str(tmp_path), "--out", str(out), "--quiet",
               "--device", "cpu", "--set", "train.epochs=1", "--set", "fp_pretrain.epochs=1", "--set",
               "grid.n_seeds=1", "--set", "grid.bits=[2]", "--set", "grid.methods=[dq]", "--set",
               "model.width=4", "--set", "train.batch_size=16"])
    assert rc == 0 and root.is_dir()
    s = json.loads((out / "summary.json").read_text())
    assert s["dataset"] == "cifar100" and "resnet20" in s["setting"]
    assert all(c["verdict"] == "inconclusive" for c in s["claims"])  # one seed: no CI, never a verdict
