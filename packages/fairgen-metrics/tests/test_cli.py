"""The command line end to end: reproduce (smoke, resume, determinism, the paper preset on tiny CelebA),
benchmark, measure (labels, probabilities, counts, images), train-classifier, data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import class_images, real_fmnist, write_png

from fairgen_metrics.cli import main


def _summary(d: Path) -> dict:
    return json.loads((d / "summary.json").read_text())


@pytest.fixture(autouse=True)
def _runs(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("REPRO_THREADS", "1")


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert "fairgen-metrics" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("reproduce", "measure", "benchmark", "train-classifier", "data"):
        assert cmd in out


@real_fmnist
def test_reproduce_smoke_then_resume_gives_the_same_numbers(tmp_path):
    out = tmp_path / "smoke"
    assert main(["reproduce", "--preset", "smoke", "--quiet", "--out", str(out)]) == 0
    s = _summary(out)
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    assert all(c["verdict"] in ("reproduced", "not reproduced", "inconclusive") for c in s["claims"])
    for f in ("sweep_exact.png", "linearity_error.png", "measurement_error.png", "sweep_measured.png"):
        assert (out / "figures" / f).is_file()
    results = json.loads((out / "results.json").read_text())
    # a killed run: no summary/report, two stages lost; --resume recomputes them identically
    for f in ("summary.json", "report.md", "checkpoints/cleam_binary.json", "checkpoints/sweep_measured.json"):
        (out / f).unlink()
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["cleam"] == results["cleam"] and again["sweep"] == results["sweep"]
    assert _summary(out)["claims"][1]["evidence"] == s["claims"][1]["evidence"]
    assert main(["reproduce", "--preset", "smoke", "--out", str(out)]) == 2  # finished: never overwritten


def test_paper_preset_few_steps_on_tiny_celeba(tmp_path, celeba_dir):
    out = tmp_path / "paper"
    sets = ["data.attributes=[Male, Young]", "data.image_size=16", 'sweep.measured={"2": Male, "4": class}',
            "sweep.cardinalities=[2, 4]", "sweep.hamming=false", "sweep.measured_repeats=1",
            "classifier.train_size=30", "classifier.val_size=10", "classifier.pool_size=8", "classifier.epochs=1",
            "classifier.width=4", "classifier.hidden=8", "error_analysis.repeats=2",
            "error_analysis.sample_sizes=[50]", "cleam.trials=2", "cleam.batches=2", "cleam.batch_size=10",
            "cleam.alpha_draws=4", "cleam.test_pool_trials=1", "cleam.general_attribute=Male+Young",
            "cleam.general_trials=1", "gan.steps=2", "gan.train_size=20", "gan.hidden=8", "gan.measure_batches=2",
            "gan.measure_batch_size=4", "threads=1"]
    argv = ["reproduce", "--preset", "paper", "--dataset", "celeba", "--data-dir", str(celeba_dir), "--quiet",
            "--device", "cpu", "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    s = _summary(out)
    assert s["dataset"] == "celeba" and len(s["claims"]) == 2


def test_benchmark_command(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["benchmark", "--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    sweep = json.loads((out / "sweep.json").read_text())
    assert set(sweep) == {"2", "4", "8"}
    assert sweep["4"]["linearity"]["L1"]["linearity_error"] < 1e-12
    assert "| KL | classic |" in capsys.readouterr().out


def test_measure_labels_with_binary_correction(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.choice(2, size=3000, p=[0.69, 0.31])
    f = tmp_path / "labels.npy"
    np.save(f, labels)
    out = tmp_path / "m1"
    assert main(["measure", "--labels", str(f), "--num-classes", "2", "--classifier-accuracy", "0.9,0.8",
                 "--batches", "10", "--out", str(out), "--quiet"]) == 0
    m = _summary(out)["metrics"]
    p0 = np.mean(labels == 0)
    assert m["p_hat"][0] == pytest.approx(p0)
    assert m["corrected"][0] == pytest.approx((p0 - 0.2) / 0.7)
    assert m["corrected_low"][0] < m["corrected"][0] < m["corrected_high"][0]
    assert m["metrics"]["l2"] == pytest.approx(np.sqrt(2) * abs(p0 - 0.5))
    assert m["counts"] == np.bincount(labels, minlength=2).tolist()
    assert (out / "report.md").is_file() and (out / "config.yaml").is_file()
    assert (out / "figures" / "proportions.png").is_file()
    for name in ("kl", "l2", "wds_norm"):  # the bootstrap CI brackets the pooled value
        ci = m["metrics_ci"][name]
        assert ci["low"] <= m["metrics"][name] <= ci["high"]


def test_measure_probabilities_csv_and_txt_and_counts(tmp_path):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=300)
    for ext, sep in ((".csv", ","), (".txt", " ")):
        f = tmp_path / f"probs{ext}"
        np.savetxt(f, probs, delimiter=sep)
        out = tmp_path / f"m{ext}"
        assert main(["measure", "--labels", str(f), "--num-classes", "3", "--out", str(out), "--quiet"]) == 0
        m = _summary(out)["metrics"]
        np.testing.assert_allclose(m["p_hat"], np.bincount(probs.argmax(1), minlength=3) / 300, atol=1e-12)
        assert "corrected" not in m
    out = tmp_path / "counts"
    assert main(["measure", "--counts", "30,0,10", "--num-classes", "3", "--reference", "0.5,0.25,0.25",
                 "--batches", "4", "--out", str(out), "--quiet"]) == 0
    m = _summary(out)["metrics"]
    assert m["p_hat"] == [0.75, 0.0, 0.25]  # the empty class is kept
    assert m["metrics"]["l1"] == pytest.approx(0.25 + 0.25 + 0.0)


def test_measure_with_a_confusion_matrix_k3(tmp_path):
    c = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.05, 0.05, 0.9]])
    np.save(tmp_path / "conf.npy", c)
    labels = np.repeat([0, 1, 2], [500, 300, 200])
    np.save(tmp_path / "l.npy", labels)
    out = tmp_path / "m3"
    assert main(["measure", "--labels", str(tmp_path / "l.npy"), "--num-classes", "3", "--confusion",
                 str(tmp_path / "conf.npy"), "--out", str(out), "--quiet"]) == 0
    m = _summary(out)["metrics"]
    np.testing.assert_allclose(m["corrected"], np.linalg.solve(c.T, [0.5, 0.3, 0.2]))


def test_train_classifier_on_a_folder_then_measure_images(tmp_path, imagefolder_dir):
    out = tmp_path / "clf"
    assert main(["train-classifier", "--dataset", "imagefolder", "--data-dir", str(imagefolder_dir), "--quiet",
                 "--device", "cpu", "--set", "data.image_size=16", "--set", "data.channels=3",
                 "--set", "classifier.epochs=3", "--set", "classifier.batch_size=8", "--set", "classifier.val_size=10",
                 "--set", "classifier.train_size=10", "--out", str(out)]) == 0
    s = _summary(out)["metrics"]
    assert s["num_classes"] == 2 and len(s["per_class_accuracy"]) == 2
    assert (out / "figures" / "confusion.png").is_file()
    ckpt = out / "checkpoints" / "classifier.pt"
    gen = tmp_path / "generated"
    gen.mkdir()
    imgs = class_images(np.array([0] * 6 + [1] * 2), 16, 3, 9, 2)
    for i, im in enumerate(imgs):
        write_png(gen / f"{i:03d}.png", im)
    mo = tmp_path / "measure-images"
    assert main(["measure", "--images", str(gen), "--classifier", str(ckpt), "--batches", "2", "--device", "cpu",
                 "--out", str(mo), "--quiet"]) == 0
    m = _summary(mo)["metrics"]
    assert m["n"] == 8 and m["num_classes"] == 2 and sum(m["counts"]) == 8
    assert m["input"].startswith("8 images")
    # a classifier for 2 classes with --num-classes 3 is refused
    assert main(["measure", "--images", str(gen), "--classifier", str(ckpt), "--num-classes", "3",
                 "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()


def test_train_classifier_on_fashion_mnist_attribute(tmp_path, fmnist_dir):
    out = tmp_path / "fm"
    assert main(["train-classifier", "--data-dir", str(fmnist_dir), "--attribute", "footwear", "--quiet",
                 "--device", "cpu", "--set", "classifier.train_size=200", "--set", "classifier.val_size=100",
                 "--set", "classifier.epochs=1", "--out", str(out)]) == 0
    m = _summary(out)["metrics"]
    assert m["num_classes"] == 2 and m["classes"] == ["not footwear", "footwear"]
    assert len(m["per_class_accuracy"]) == 2


def test_train_classifier_on_celeba(tmp_path, celeba_dir):
    out = tmp_path / "cel"
    assert main(["train-classifier", "--dataset", "celeba", "--data-dir", str(celeba_dir), "--attribute", "Male",
                 "--quiet", "--device", "cpu", "--set", "data.image_size=16", "--set", "classifier.train_size=20",
                 "--set", "classifier.val_size=10", "--set", "classifier.epochs=1", "--out", str(out)]) == 0
    assert _summary(out)["metrics"]["num_classes"] == 2


def test_data_commands(capsys, fmnist_dir, celeba_dir, imagefolder_dir):
    assert main(["data", "list", "--data-dir", str(fmnist_dir)]) == 0
    assert "fashion-mnist" in capsys.readouterr().out
    assert main(["data", "check", "--data-dir", str(fmnist_dir)]) == 0
    assert "600 train" in capsys.readouterr().out
    assert main(["data", "check", "--dataset", "celeba", "--data-dir", str(celeba_dir)]) == 0
    assert main(["data", "check", "--dataset", "imagefolder", "--data-dir", str(imagefolder_dir)]) == 0
    assert main(["data", "check", "--dataset", "celeba", "--data-dir", str(fmnist_dir)]) == 2


def test_measure_is_deterministic_for_a_seed(tmp_path):
    np.save(tmp_path / "l.npy", np.random.default_rng(4).choice(3, size=900))
    outs = []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert main(["measure", "--labels", str(tmp_path / "l.npy"), "--num-classes", "3", "--seed", seed,
                     "--classifier-accuracy", "0.9,0.8,0.85", "--out", str(tmp_path / name), "--quiet"]) == 0
        outs.append(_summary(tmp_path / name)["metrics"])
    assert outs[0]["corrected_low"] == outs[1]["corrected_low"]
    assert outs[0]["metrics_ci"] == outs[1]["metrics_ci"]
    assert outs[0]["corrected_low"] != outs[2]["corrected_low"]  # another split of the batches
    assert outs[0]["p_hat"] == outs[2]["p_hat"]
