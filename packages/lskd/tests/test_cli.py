"""The command line end to end on the smoke preset (in-process), determinism, resume, bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_mnist_like

import lskd.experiments as ex
from lskd.cli import main
from lskd.models import build_model
from reprokit import save_checkpoint
from reprokit.report import validate_summary
from reprokit.testing import run_torchrun

TINY = ["--set", "data.train_subset=160", "--set", "data.test_subset=80", "--set", "diffusion.max_per_class=10",
        "--set", "teacher.epochs=2", "--set", "student.epochs=2", "--set", "data.batch_size=16"]


def smoke(out: Path, data_dir: Path, *extra: str) -> int:
    return main(["reproduce", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(data_dir),
                 "--out", str(out), "--quiet", *TINY, *extra])


@pytest.fixture(scope="module")
def smoke_run(mnist_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    assert smoke(out, mnist_dir) == 0
    return out


def test_reproduce_smoke_writes_the_run_directory(smoke_run):
    s = json.loads((smoke_run / "summary.json").read_text())
    validate_summary(s)
    assert s["package"] == "lskd" and s["preset"] == "smoke" and s["dataset"] == "mnist"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2", "C3"]
    assert all(c["verdict"] == "inconclusive" for c in s["claims"])  # one seed cannot decide
    for f in ("projection.png", "accuracy_vs_T.png", "diffusion_vs_T.png"):
        assert (smoke_run / "figures" / f).stat().st_size > 1000
    report = (smoke_run / "report.md").read_text()
    assert "71.67" in report and "80.95" in report  # the paper's rows printed beside ours
    assert s["metrics"]["teacher_acc_a0"] > 30  # the synthetic classes are learnable in two short epochs
    ckpts = sorted(p.name for p in (smoke_run / "checkpoints").glob("*.pt"))
    assert len(ckpts) == 6 and not any("partial" in c for c in ckpts)


def test_same_seed_same_numbers(smoke_run, mnist_dir, tmp_path):
    assert smoke(tmp_path / "b", mnist_dir) == 0
    a = json.loads((smoke_run / "summary.json").read_text())["metrics"]
    b = json.loads((tmp_path / "b" / "summary.json").read_text())["metrics"]
    assert a == b


def test_resume_after_crash_skips_finished_cells(smoke_run, mnist_dir, tmp_path, monkeypatch):
    calls = {"teacher": 0, "student": 0}
    real_t, real_s = ex.train_teacher, ex.train_student

    def crash_on_second_student(*a, **k):
        calls["student"] += 1
        if calls["student"] == 2:
            raise RuntimeError("simulated kill")
        return real_s(*a, **k)

    monkeypatch.setattr(ex, "train_student", crash_on_second_student)
    out = tmp_path / "c"
    assert smoke(out, mnist_dir) == 1
    assert not (out / "summary.json").exists()
    assert {p.name for p in (out / "checkpoints").glob("*.pt")} == {"teacher_a0_s0.pt", "student_a0_T1_s0.pt"}

    def count(kind, real):
        def f(*a, **k):
            calls[kind] += 1
            return real(*a, **k)
        return f

    calls.update(teacher=0, student=0)
    monkeypatch.setattr(ex, "train_teacher", count("teacher", real_t))
    monkeypatch.setattr(ex, "train_student", count("student", real_s))
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    assert calls == {"teacher": 1, "student": 3}  # α=0 teacher and its T=1 student were not retrained
    a = json.loads((smoke_run / "summary.json").read_text())["metrics"]
    c = json.loads((out / "summary.json").read_text())["metrics"]
    assert a == c  # the resumed run computes what the uninterrupted one did


def test_fit_resumes_mid_training(mnist_dir, tmp_path, monkeypatch):
    import lskd.train as tr
    from lskd.data import load_dataset

    data = load_dataset("mnist", mnist_dir, train_subset=64)
    cfg = {"epochs": 2, "batch_size": 32, "optim": {"name": "sgd", "lr": 0.05, "schedule": "cosine"}}
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    straight = build_model("cnn-small", 10, 1)
    tr.train_teacher(straight, data.train, 0.1, cfg, cpu, seed=0)

    real = tr.make_loader

    def killed_in_epoch_2(ds, bs, **k):
        if k["epoch"] == 1:
            raise KeyboardInterrupt("killed")
        return real(ds, bs, **k)

    monkeypatch.setattr(tr, "make_loader", killed_in_epoch_2)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        tr.train_teacher(build_model("cnn-small", 10, 1), data.train, 0.1, cfg, cpu, seed=0,
                         ckpt_path=tmp_path / "p.pt")
    monkeypatch.setattr(tr, "make_loader", real)
    torch.manual_seed(123)  # a new process builds a differently initialised model: the checkpoint must win
    resumed = build_model("cnn-small", 10, 1)
    res = tr.train_teacher(resumed, data.train, 0.1, cfg, cpu, seed=0, ckpt_path=tmp_path / "p.pt")
    assert res["epochs"] == 2 and len(res["loss_history"]) == 2
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(p, q)


def test_train_teacher_student_and_diffusion_commands(mnist_dir, tmp_path):
    common = ["--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--quiet", *TINY]
    assert main(["train-teacher", "--alpha", "0.1", "--out", str(tmp_path / "t"), *common]) == 0
    teacher = tmp_path / "t" / "checkpoints" / "teacher_a0.1_s0.pt"
    r = json.loads((tmp_path / "t" / "summary.json").read_text())["metrics"]
    assert r["alpha"] == 0.1 and teacher.is_file()
    assert main(["train-student", "--teacher", str(teacher), "-T", "4", "--kd", "mixture", "--kd-weight", "0.5",
                 "--out", str(tmp_path / "s"), *common]) == 0
    r = json.loads((tmp_path / "s" / "summary.json").read_text())["metrics"]
    assert r["temperature"] == 4.0 and r["kd"] == "mixture" and 0 <= r["acc"] <= 100
    student = tmp_path / "s" / "checkpoints" / "student_a0.1_T4_s0.pt"
    assert main(["diffusion", "--teacher", str(teacher), "--student", str(student), "--classes", "4,9,0",
                 "--out", str(tmp_path / "d"), *common]) == 0
    r = json.loads((tmp_path / "d" / "summary.json").read_text())["metrics"]
    assert r["classes"] == [4, 9, 0] and len(r["rows"]) == 2 \
        and all(np.isfinite(x["diffusion"]) and "toward_similar" in x for x in r["rows"])
    assert (tmp_path / "d" / "figures" / "projection.png").is_file()


# ------------------------------------------------------------------------------------------ bad input
def test_unknown_dataset_and_model_exit_2(tmp_path, capsys):
    assert main(["reproduce", "--preset", "smoke", "--dataset", "svhn", "--out", str(tmp_path / "x")]) == 2
    assert "fashion-mnist, mnist, cifar10" in capsys.readouterr().err
    assert main(["reproduce", "--preset", "smoke", "--set", "teacher.model=vgg", "--out", str(tmp_path / "y")]) == 2
    assert "resnet18" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()  # nothing created


def test_missing_data_exit_2(tmp_path, capsys):
    assert main(["reproduce", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "run")]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_finished_run_is_not_overwritten(smoke_run, mnist_dir, capsys):
    before = (smoke_run / "summary.json").read_bytes()
    assert smoke(smoke_run, mnist_dir) == 2
    assert "finished run" in capsys.readouterr().err
    assert (smoke_run / "summary.json").read_bytes() == before


def test_teacher_with_wrong_classes_is_refused(mnist_dir, tmp_path, capsys):
    bad = tmp_path / "teacher5.pt"
    model = build_model("cnn-small", 5, 1)
    save_checkpoint(bad, {"kind": "teacher", "model": "cnn-small", "num_classes": 5, "in_channels": 1,
                          "dataset": "other", "alpha": 0.1, "state_dict": model.state_dict()})
    out = tmp_path / "s"
    assert main(["train-student", "--teacher", str(bad), "--preset", "smoke", "--dataset", "mnist",
                 "--data-dir", str(mnist_dir), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "5 classes" in err and "10 classes" in err
    assert not out.exists()


def test_corrupt_file_is_named_by_data_check(tmp_path, capsys):
    root = write_mnist_like(tmp_path, n_train=10, n_test=10, gz=False)
    (root / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08")
    assert main(["data", "check", "--dataset", "mnist", "--data-dir", str(tmp_path)]) == 2
    assert "t10k-labels-idx1-ubyte" in capsys.readouterr().err


def test_data_list_and_version(mnist_dir, capsys):
    assert main(["data", "list", "--data-dir", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert "cub200" in out and "mnist" in out and "yes" in out
    assert main(["data", "check", "--dataset", "mnist", "--data-dir", str(mnist_dir)]) == 0
    assert "ok: mnist" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert "0.1.0" in capsys.readouterr().out


def test_paper_preset_runs_a_few_steps_on_imagenet_folders(tmp_path):
    from test_data import _write_png

    for split in ("train", "val"):
        for k, wnid in enumerate(("n01440764", "n01443537", "n01484850")):
            for j in range(2):
                _write_png(tmp_path / "imagenet" / split / wnid / f"{j}.JPEG", 10 * k + j)
    out = tmp_path / "run"
    assert main(["reproduce", "--preset", "paper", "--data-dir", str(tmp_path), "--out", str(out), "--quiet",
                 "--device", "cpu", "--set", "data.image_size=32", "--set", "data.num_workers=0",
                 "--set", "teacher.epochs=1", "--set", "student.epochs=1", "--set", "student.optim.warmup_epochs=0",
                 "--set", "grid.temperatures=[1,64]", "--set", "diffusion.classes=[0,1,2]"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["dataset"] == "imagenet" and "online KD" in s["data_note"]  # augmentation on → no logit cache
    assert "resnet50" in s["setting"] and "resnet18" in s["setting"]


def test_grid_command_tabulates(mnist_dir, tmp_path):
    out = tmp_path / "g"
    assert main(["grid", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out", str(out),
                 "--quiet", *TINY, "--set", "grid.alphas=[0.1]", "--set", "grid.temperatures=[1,2]"]) == 0
    g = json.loads((out / "grid.json").read_text())
    assert len(g["teachers"]) == 1 and len(g["students"]) == 2  # one teacher reused by both temperatures
    assert {s["temperature"] for s in g["students"]} == {1.0, 2.0}
    assert "T=2" in (out / "report.md").read_text() and json.loads((out / "summary.json").read_text())["claims"] == []


def test_torchrun_train_teacher_is_data_parallel(mnist_dir, tmp_path):
    """Two gloo processes under torchrun: one run directory, rank 0 writes each epoch once, the run finishes."""
    import os
    import sys

    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        pytest.skip("torchrun not installed next to this Python")
    script = tmp_path / "entry.py"
    script.write_text("import sys; from lskd.cli import main; sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "ddp"
    r = run_torchrun([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script), "train-teacher",
                        "--alpha", "0.1", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir),
                      "--out", str(out), "--quiet", *TINY], timeout=300,
                     env={**os.environ, "OMP_NUM_THREADS": "1"},
                     before_retry=lambda: shutil.rmtree(out, ignore_errors=True))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims"] == [] and 0 <= summary["metrics"]["acc"] <= 100
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    epochs = [row["epoch"] for row in rows if "epoch" in row]
    assert sorted(epochs) == sorted(set(epochs)) and len(epochs) == 2  # each epoch logged once, by rank 0
    assert sum(row.get("event") == "session_start" for row in rows) == 1


def test_seeds_in_two_processes_give_the_serial_grid(mnist_dir, tmp_path):
    """grid.workers = 2 trains the seeds in two spawned processes; every cell equals the serial run's."""
    runs = {}
    for w in (1, 2):
        out = tmp_path / f"w{w}"
        assert main(["grid", "--preset", "smoke", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out",
                     str(out), "--quiet", *TINY, "--set", "grid.alphas=[0.0]", "--set", "grid.temperatures=[2]",
                     "--set", "grid.n_seeds=2", "--set", f"grid.workers={w}"]) == 0
        g = json.loads((out / "grid.json").read_text())
        runs[w] = sorted((r["kind"], r["seed"], r["acc"], r["diffusion"]) for r in g["teachers"] + g["students"])
    assert len(runs[1]) == 4 and runs[1] == runs[2]
