"""The command line end to end on the smoke preset (in process): report, determinism, resume, user commands."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import write_image_folder

import kml_meta.experiments as ex
from kml_meta.cli import main
from reprokit.report import validate_summary
from reprokit.testing import run_torchrun

SMOKE = ["--preset", "smoke", "--quiet"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    assert main(["reproduce", *SMOKE, "--out", str(out)]) == 0
    return out


def test_reproduce_smoke_writes_the_run_directory(smoke_run):
    s = json.loads((smoke_run / "summary.json").read_text())
    validate_summary(s)
    assert s["package"] == "kml-meta" and s["preset"] == "smoke" and s["dataset"] == "offline"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    c1 = s["claims"][0]["evidence"]
    assert c1["n_seeds"] == 2 and c1["n_pairs"] == 2 * 4 * 3  # seeds × modes × test tasks per mode
    for f in ("accuracy_by_mode.png", "training_curves.png", "transference_maml.png", "transference_kml.png"):
        assert (smoke_run / "figures" / f).stat().st_size > 1000
    report = (smoke_run / "report.md").read_text()
    assert "69.93" in report and "kanjivg" in report  # the paper's rows beside ours
    stages = sorted(p.name for p in (smoke_run / "stages").glob("*.json"))
    assert len(stages) == 10
    assert sorted(p.name for p in (smoke_run / "checkpoints").glob("*.pt")) == sorted(
        f"{a}_s{s}.pt" for a in ("maml", "protonet", "multi-maml", "mmaml", "kml") for s in (0, 1))
    r = json.loads((smoke_run / "stages" / "kml_s0.json").read_text())
    assert len(r["transference"]) == 2 and len(r["transference"][0]["Z"]) == 4  # probes × (tasks × tasks)


def test_same_seed_same_numbers(smoke_run, tmp_path):
    out = tmp_path / "b"
    assert main(["reproduce", *SMOKE, "--out", str(out), "--set", "methods=[maml,kml]",
                 "--set", "transference.algos=[kml]"]) == 0
    a = json.loads((smoke_run / "stages" / "kml_s1.json").read_text())
    b = json.loads((out / "stages" / "kml_s1.json").read_text())
    assert a["acc"] == b["acc"] and a["transference"] == b["transference"]
    a = json.loads((smoke_run / "stages" / "maml_s0.json").read_text())
    b = json.loads((out / "stages" / "maml_s0.json").read_text())
    assert a["acc"] == b["acc"] and a["curve"] == b["curve"]


def test_resume_after_a_kill_skips_finished_stages(tmp_path, monkeypatch):
    calls = []
    real = ex.run_method

    def crash_on_third(*a, **k):
        calls.append(a[0])
        if len(calls) == 3:
            raise RuntimeError("simulated kill")
        return real(*a, **k)

    monkeypatch.setattr(ex, "run_method", crash_on_third)
    out = tmp_path / "c"
    args = ["--set", "methods=[protonet,kml]", "--set", "transference.algos=[kml]"]
    assert main(["reproduce", *SMOKE, "--out", str(out), *args]) == 1
    assert not (out / "summary.json").exists()
    assert sorted(p.name for p in (out / "stages").glob("*.json")) == ["kml_s0.json", "protonet_s0.json"]
    calls.clear()
    monkeypatch.setattr(ex, "run_method", lambda *a, **k: (calls.append(a[0]), real(*a, **k))[1])
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    assert calls == ["protonet", "kml"]  # only seed 1's stages ran again
    assert json.loads((out / "summary.json").read_text())["claims"]


def test_train_evaluate_transference_on_your_own_folders(tmp_path, smoke_run):
    data = tmp_path / "mine"
    write_image_folder(data / "letters", classes=10, per_class=7)
    write_image_folder(data / "shapes", classes=10, per_class=7)
    base = [*SMOKE, "--dataset", "folders", "--data-dir", str(data)]
    assert main(["train", *base, "--algo", "kml", "--out", str(tmp_path / "t")]) == 0
    s = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert s["metrics"]["algo"] == "kml" and 0 <= s["metrics"]["acc"] <= 100
    ckpt = tmp_path / "t" / "checkpoints" / "learner.pt"
    assert main(["evaluate", *base, "--checkpoint", str(ckpt), "--out", str(tmp_path / "e")]) == 0
    e = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert set(e["metrics"]) >= {"acc", "ci95", "acc_folder:letters", "acc_folder:shapes"}
    assert main(["transference", *base, "--checkpoint", str(ckpt), "--out", str(tmp_path / "z")]) == 0
    z = json.loads((tmp_path / "z" / "summary.json").read_text())
    assert len(z["metrics"]["pair_mean"]) == 2 and (tmp_path / "z" / "figures" / "transference_kml.png").is_file()
    # a smoke-run checkpoint (offline, 4 modes) evaluates on the offline benchmark
    assert main(["evaluate", *SMOKE, "--checkpoint", str(smoke_run / "checkpoints" / "mmaml_s0.pt"),
                 "--out", str(tmp_path / "e2")]) == 0


def test_regression_modes_train(tmp_path):
    assert main(["train", *SMOKE, "--algo", "kml-maml", "--dataset", "regression-3",
                 "--set", "task.n_shot=5", "--set", "inner.lr=0.01", "--out", str(tmp_path / "r")]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["metrics"]["acc"] < 0  # −MSE


def test_data_list_and_check(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "kanjivg" in out and "omniglot" in out and "mmaml-5" in out
    assert main(["data", "check", "--preset", "smoke", "--dataset", "digits"]) == 0
    assert "digits" in capsys.readouterr().out


def test_bad_inputs_table_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from bad_inputs import cases

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    table = cases(tmp_path)
    before = {str(p) for p in tmp_path.rglob("*")}
    for cid, argv in table:
        rc = main(argv)
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert rc == 2 and len(err) == 1 and "Traceback" not in err[0], (cid, rc, err)
    assert {str(p) for p in tmp_path.rglob("*")} == before
    assert len(table) >= 8


def test_paper_preset_runs_a_few_steps_on_omniglot(omniglot_dir, tmp_path):
    """The paper preset (84×84 RGB, 32-64-128-256 backbone) on the real Omniglot layout, for two iterations."""
    tiny = ["--set", "methods=[maml,kml]", "--set", "transference.algos=[kml]",
            "--set", "train.iterations=2", "--set", "train.meta_batch=2", "--set", "task.n_query=3",
            "--set", "eval.tasks_per_mode=2", "--set", "seeds=1", "--set", "transference.probes=1",
            "--set", "transference.tasks_per_mode=1", "--set", "inner.steps=1", "--set", "inner.eval_steps=1"]
    out = tmp_path / "p"
    assert main(["reproduce", "--preset", "paper", "--dataset", "omniglot", "--data-dir", str(omniglot_dir),
                 "--quiet", "--out", str(out), *tiny]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["preset"] == "paper" and s["dataset"] == "omniglot"
    assert "84px×3ch" in s["setting"] and "[32, 64, 128, 256]" in s["setting"]


def test_torchrun_two_ranks_train_like_one_process(tmp_path):
    """Under torchrun (gloo, 2 CPU ranks) the meta-batch is split across ranks and the gradients summed:
    the trained learners give the same test accuracies as one process, and only rank 0 writes."""
    import os
    import sys

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    args = ["reproduce", *SMOKE, "--set", "methods=[maml,multi-maml]", "--set", "transference.algos=[maml]",
            "--set", "seeds=1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "import sys; from kml_meta.cli import main; raise SystemExit(main(sys.argv[1:]))"
    script = tmp_path / "entry.py"
    script.write_text(code)
    r = run_torchrun([torchrun, "--standalone", "--nproc_per_node", "2", str(script), *args,
                      "--out", str(tmp_path / "ddp")], env=env, timeout=300,
                     before_retry=lambda: shutil.rmtree(tmp_path / "ddp", ignore_errors=True))
    assert r.returncode == 0, r.stderr[-2000:]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    for name in ("maml_s0", "multi-maml_s0"):
        a = json.loads((tmp_path / "ddp" / "stages" / f"{name}.json").read_text())
        b = json.loads((tmp_path / "one" / "stages" / f"{name}.json").read_text())
        assert a["acc"] == pytest.approx(b["acc"], abs=1e-6)
        assert a["curve"] == pytest.approx(b["curve"], rel=1e-4)  # rank-averaged meta-batch loss
    assert json.loads((tmp_path / "ddp" / "summary.json").read_text())["claims"]
