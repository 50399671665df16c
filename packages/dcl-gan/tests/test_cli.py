"""The command line end to end on the smoke preset (in-process): run directory, determinism, resume,
the user-data commands (pretrain → adapt → evaluate → sample on image folders) and the paper preset."""

import json
from pathlib import Path

import pytest

import dcl_gan.experiments as ex
from dcl_gan.cli import main
from reprokit.report import validate_summary


def smoke(out: Path, data_dir: Path, *extra: str) -> int:
    return main(["reproduce", "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def smoke_run(fmnist_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    assert smoke(out, fmnist_dir) == 0
    return out


def test_reproduce_smoke_writes_the_run_directory(smoke_run):
    s = json.loads((smoke_run / "summary.json").read_text())
    validate_summary(s)
    assert s["package"] == "dcl-gan" and s["dataset"] == "fmnist-sketch"
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    for m in ("tgan", "freezed", "ewc", "cdc", "dcl"):
        curves = s["extra"]["curves"][m]
        assert sorted(curves) == ["0", "1"] and [r["iter"] for r in curves["0"]] == s["extra"]["eval_at"]
        assert 0 <= s["metrics"][f"{m}_final_p_t"] <= 1 and s["metrics"][f"{m}_final_fid"] >= 0
    for f in ("curves.png", "grids.png"):
        assert (smoke_run / "figures" / f).stat().st_size > 1000
    report = (smoke_run / "report.md").read_text()
    assert "104.79" in report and "FID (in-package features)" in report
    # every method starts from the same source generator: identical metrics at iteration 0
    first = {m: s["extra"]["curves"][m]["0"][0] for m in s["extra"]["curves"]}
    assert len({json.dumps(v, sort_keys=True) for v in first.values()}) == 1


def test_same_seed_same_numbers(smoke_run, fmnist_dir, tmp_path):
    assert smoke(tmp_path / "b", fmnist_dir) == 0
    a = json.loads((smoke_run / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    strip = lambda m: {k: v for k, v in m.items() if not k.endswith("s_per_iter")}  # noqa: E731
    assert strip(a["metrics"]) == strip(b["metrics"])
    assert a["extra"]["curves"] == b["extra"]["curves"]


def test_resume_after_a_crash_skips_finished_stages(smoke_run, fmnist_dir, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = ex.run_one

    def crash_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(*a, **k)

    monkeypatch.setattr(ex, "run_one", crash_on_third)
    out = tmp_path / "c"
    assert smoke(out, fmnist_dir) == 1
    assert not (out / "summary.json").exists()
    done = sorted(p.name for p in (out / "checkpoints").glob("adapt_*.json"))
    assert len(done) == 2
    calls["n"] = -100  # no more crashes
    assert main(["reproduce", "--resume", str(out), "--quiet"]) == 0
    assert calls["n"] == -100 + 10 - 2  # only the 8 unfinished (method, seed) stages ran again
    a = json.loads((smoke_run / "summary.json").read_text())["extra"]["curves"]
    assert json.loads((out / "summary.json").read_text())["extra"]["curves"] == a


def test_user_data_commands_on_image_folders(folders_dir, tmp_path):
    common = ["--preset", "smoke", "--dataset", "folders", "--data-dir", str(folders_dir), "--quiet"]
    assert main(["pretrain", *common, "--out", str(tmp_path / "pre")]) == 0
    src = tmp_path / "pre" / "checkpoints" / "source.pt"
    assert src.is_file() and (tmp_path / "pre" / "figures" / "source_samples.png").is_file()
    assert main(["adapt", *common, "--method", "dcl", "--source-ckpt", str(src), "--out", str(tmp_path / "ad")]) == 0
    s = json.loads((tmp_path / "ad" / "summary.json").read_text())
    assert s["metrics"]["method"] == "dcl" and s["claims"] == []
    adapted = tmp_path / "ad" / "checkpoints" / "adapted.pt"
    assert main(["evaluate", *common, "--ckpt", str(adapted), "--out", str(tmp_path / "ev")]) == 0
    e = json.loads((tmp_path / "ev" / "summary.json").read_text())["metrics"]
    assert e["method"] == "dcl" and 0 <= e["p_t"] <= 1
    assert main(["sample", "--preset", "smoke", "--ckpt", str(adapted), "--n", "5", "--quiet",
                 "--out", str(tmp_path / "sa")]) == 0
    import numpy as np

    with np.load(tmp_path / "sa" / "samples.npz") as z:
        assert z["images"].shape == (5, 1, 32, 32) and z["images"].dtype == np.uint8


def test_paper_preset_runs_a_few_steps_of_stylegan2(folders_dir, tmp_path):
    tiny = ["--set", "data.image_size=16", "--set", "data.channels=1", "--set", "data.n_source=40",
            "--set", "model.z_dim=16", "--set", "model.n_mlp=1", "--set", "model.channel_multiplier=1",
            "--set", "model.max_channels=8", "--set", "source.iters=2", "--set", "source.batch_size=4",
            "--set", "adapt.iters=2", "--set", "adapt.n_evals=1", "--set", "adapt.freezed.layers=1",
            "--set", "eval.n_samples=20", "--set", "eval.feature_epochs=1", "--set", "eval.domain_epochs=1",
            "--set", "eval.feature_width=4", "--set", "experiment.n_seeds=1", "--set", "experiment.grid_samples=4",
            "--set", "experiment.methods=[tgan,dcl,cdc]", "--set", "adapt.ewc.fisher_batches=1"]
    out = tmp_path / "p"
    assert main(["reproduce", "--preset", "paper", "--data-dir", str(folders_dir), "--out", str(out), "--quiet",
                 *tiny]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["preset"] == "paper" and all(c["verdict"] == "inconclusive" for c in s["claims"])  # one seed
