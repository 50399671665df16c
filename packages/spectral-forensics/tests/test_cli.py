"""The command line end to end: reproduce on the smoke preset, determinism, resume after a kill,
the user's commands (fit-detector → detect, spectrum) on folders of PNG files, bad input."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import spectral_forensics.experiments as ex
from reprokit.report import validate_summary
from spectral_forensics.cli import main

FAST = ["--set", "fid.n=40", "--set", "detector.n_real=80", "--set", "detector.n_fake=80",
        "--set", "data.n_train=128", "--set", "gan.steps=4"]


def smoke(out: Path, *extra: str) -> int:
    return main(["reproduce", "--preset", "smoke", "--out", str(out), "--quiet", *FAST, *extra])


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    assert smoke(out) == 0
    return out


def test_reproduce_smoke_writes_the_run_directory(smoke_run):
    s = json.loads((smoke_run / "summary.json").read_text())
    validate_summary(s)
    assert s["package"] == "spectral-forensics" and s["dataset"] == "photos"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2-N.1.5", "C2-B.1.5", "C3-Z.1.5"]
    for c in s["claims"]:
        ev = c["evidence"]
        assert ev["n_runs"] == 2 and len(ev["ci95"]) == 2 and "min_effect" in ev
    for f in ("spectra_dcgan.png", "detection_dcgan.png", "samples_dcgan.png"):
        assert (smoke_run / "figures" / f).stat().st_size > 1000
    res = json.loads((smoke_run / "results.json").read_text())
    rates = res["gans"]["dcgan"]["detect"]["dzanic+knn"]
    assert set(rates) == {"real", "BASELINE", "N.1.5", "B.1.5", "Z.1.5"}
    # C1's effect is recomputed from the per-run rates it claims to come from
    eff = np.mean(np.array(rates["BASELINE"]) - np.array(rates["real"]))
    assert abs(s["claims"][0]["evidence"]["effect"] - eff) < 1e-12
    assert "fid" in res["gans"]["dcgan"]["setups"]["N.1.5"]
    report = (smoke_run / "report.md").read_text()
    assert "Verdict rule" in report and "88.6" in report  # the paper's FID beside ours


def test_same_seed_same_numbers(smoke_run, tmp_path):
    assert smoke(tmp_path / "b") == 0
    a = json.loads((smoke_run / "summary.json").read_text())["metrics"]
    b = json.loads((tmp_path / "b" / "summary.json").read_text())["metrics"]
    assert a == b


def test_resume_after_a_kill_skips_finished_setups(smoke_run, tmp_path, monkeypatch):
    calls = []
    real_train = ex.train_gan

    def crash_on_third(images, setup, *a, **k):
        calls.append(setup)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed mid-run
        return real_train(images, setup, *a, **k)

    monkeypatch.setattr(ex, "train_gan", crash_on_third)
    out = tmp_path / "c"
    assert smoke(out) == 130 and not (out / "summary.json").exists()
    calls.clear()
    monkeypatch.setattr(ex, "train_gan", lambda *a, **k: calls.append(a[1]) or real_train(*a, **k))
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    assert calls == ["B.1.5", "Z.1.5"]  # BASELINE and N.1.5 came from the stage cache
    a = json.loads((smoke_run / "summary.json").read_text())["metrics"]
    assert json.loads((out / "summary.json").read_text())["metrics"] == a


def test_fit_detector_then_detect_on_folders(folders, tmp_path):
    det = tmp_path / "det.npz"
    assert main(["fit-detector", "--real", str(folders["real"]), "--fake", str(folders["fake"]), "--out", str(det),
                 "--run-dir", str(tmp_path / "fit"), "--quiet"]) == 0
    fit = json.loads((tmp_path / "fit" / "summary.json").read_text())["metrics"]
    assert fit["n_real"] == 40 and fit["n_fake"] == 40 and fit["size"] == [32, 32]
    rates = {}
    for name in ("real_test", "fake_test"):
        out = tmp_path / name
        assert main(["detect", "--detector", str(det), "--images", str(folders[name]), "--out", str(out),
                     "--quiet"]) == 0
        s = json.loads((out / "summary.json").read_text())
        validate_summary(s, require_claims=False)
        rows = list(csv.DictReader((out / "scores.csv").open()))
        assert len(rows) == s["metrics"]["n_read"]
        assert abs(np.mean([int(r["called_fake"]) for r in rows]) - s["metrics"]["detection_rate"]) < 1e-12
        rates[name] = s["metrics"]["detection_rate"]
        assert (out / "report.md").is_file() and (out / "config.yaml").is_file()
    assert rates["fake_test"] >= 0.9 and rates["real_test"] <= 0.1  # the checkerboard is what it catches
    s = json.loads((tmp_path / "fake_test" / "summary.json").read_text())["metrics"]
    assert s["n_read"] == 21 and s["n_skipped"] == 2  # big.png centre-cropped; notes.txt and small.png skipped
    skipped = (tmp_path / "fake_test" / "skipped.csv").read_text()
    assert "notes.txt" in skipped and "small.png" in skipped


def test_spectrum_command(folders, tmp_path):
    from spectral_forensics.spectrum import reduced_spectrum_reference

    out = tmp_path / "spec"
    assert main(["spectrum", "--images", str(folders["fake_test"]), "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())["metrics"]
    assert s["n_read"] == 21 and s["n_skipped"] == 2
    with np.load(out / "spectra.npz") as z:
        files, red = list(z["files"]), z["reduced_db"]
    from PIL import Image

    k = files.index(str(folders["fake_test"] / "img_0000.png"))
    gray = np.asarray(Image.open(folders["fake_test"] / "img_0000.png"), dtype=np.float64)  # an 'L' PNG: as is
    np.testing.assert_allclose(red[k], reduced_spectrum_reference(gray), atol=1e-9)
    assert (out / "figures" / "mean_spectrum.png").stat().st_size > 1000


def test_bad_input_exits_2_and_writes_nothing(folders, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ["detect", "--detector", str(tmp_path / "none.npz"), "--images", str(folders["real"]), "--out",
         str(tmp_path / "o1")],
        ["spectrum", "--images", str(empty), "--out", str(tmp_path / "o2")],
        ["fit-detector", "--real", str(folders["real"]), "--fake", str(empty), "--out", str(tmp_path / "d.npz")],
        ["reproduce", "--preset", "smoke", "--set", "detector.n_train=500", "--out", str(tmp_path / "o3")],
        ["train-gan", "--upsample", "Q.1.5", "--preset", "smoke", "--out", str(tmp_path / "o4")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "photos" in out and "fashion-mnist" in out and "folder" in out


def test_train_gan_command(tmp_path):
    out = tmp_path / "g"
    assert main(["train-gan", "--preset", "smoke", "--upsample", "Z.3.5", "--out", str(out), "--quiet",
                 *FAST]) == 0
    s = json.loads((out / "summary.json").read_text())["metrics"]
    assert s["setup"] == "Z.3.5" and (out / "checkpoints" / "gan_dcgan_Z.3.5.pt").is_file()
    with np.load(out / "samples.npz") as z:
        assert z["images"].shape == (80, 1, 32, 32)


def test_paper_preset_runs_a_few_steps_on_an_image_folder(tmp_path):
    from conftest import smooth_images, write_pngs

    celeba = write_pngs(tmp_path / "img_align_celeba", smooth_images(30, 48, 4), rgb=True)
    tiny = ["--set", "gan.steps=2", "--set", "gan.gans=[dcgan]", "--set", "gan.setups=[BASELINE,N.1.5,Z.1.5]",
            "--set", "gan.g_dim=2", "--set", "gan.d_dim=2", "--set", "gan.batch_size=4", "--set", "data.size=32",
            "--set", "detector.n_real=12", "--set", "detector.n_fake=12", "--set", "detector.n_train=5",
            "--set", "detector.n_runs=2", "--set", "detector.classifiers=[knn]", "--set", "fid.n=10",
            "--set", "fid.rotation_steps=2", "--set", "detector.durall_classifiers=[logreg]",
            "--set", "data.centre_crop=40", "--set", "threads=1"]
    out = tmp_path / "p"
    assert main(["reproduce", "--preset", "paper", "--dataset", "folder", "--data-dir", str(celeba),
                 "--out", str(out), "--quiet", "--device", "cpu", *tiny]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["preset"] == "paper" and s["dataset"] == "folder"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2-N.1.5", "C3-Z.1.5"]
