"""The command line end to end on the smoke preset: reproduce, resume, codes, evaluate, fit, encode, data."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
from conftest import clustered_pair

from dcsh.cli import main
from dcsh.evaluate import map_at_k, map_at_k_dcmh, map_whole
from reprokit import VERDICTS


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "smoke"
    assert main(["reproduce", "--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    return out


def test_reproduce_writes_the_run_directory(smoke_run):
    for f in ("config.yaml", "env.json", "metrics.jsonl", "summary.json", "report.md"):
        assert (smoke_run / f).is_file(), f
    s = json.loads((smoke_run / "summary.json").read_text())
    assert [c["id"] for c in s["claims"]] == ["C1", "C2"]
    assert all(c["verdict"] in VERDICTS for c in s["claims"])
    assert {"effect_8", "ci_16", "min_effect"} <= set(s["claims"][0]["evidence"])
    for f in s["figures"]:
        assert (smoke_run / f).is_file()
    assert "map_dcsh_16" in s["metrics"] and 0 <= s["metrics"]["map_dcsh_16"] <= 1
    report = (smoke_run / "report.md").read_text()
    assert "CCA-ITQ" in report and "Ablations" in report
    rows = [json.loads(x) for x in (smoke_run / "metrics.jsonl").read_text().splitlines()]
    obj = [r["objective"] for r in rows if str(r.get("stage", "")).startswith("step1:dcsh:8:seed0")]
    assert len(obj) >= 2 and all(b <= a + 1e-9 * abs(a) for a, b in itertools.pairwise(obj))


def test_resume_after_a_kill_gives_the_same_numbers(smoke_run, tmp_path):
    run = tmp_path / "killed"
    shutil.copytree(smoke_run, run)
    before = json.loads((run / "summary.json").read_text())
    for f in ("summary.json", "report.md", "checkpoints/seed1-dcsh.json"):  # killed before these were written
        (run / f).unlink()
    assert main(["reproduce", "--resume", str(run), "--quiet"]) == 0
    after = json.loads((run / "summary.json").read_text())
    assert after["metrics"] == before["metrics"]  # recomputed stage: same seed → same numbers
    assert main(["reproduce", "--resume", str(run), "--quiet"]) == 2  # finished: refused


def test_codes_command(tmp_path):
    A, B, L = clustered_pair(n=200)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    out = tmp_path / "codes"
    assert main(["codes", "--features-a", str(tmp_path / "A.npy"), "--features-b", str(tmp_path / "B.npy"),
                 "--bits", "12", "--out", str(out), "--preset", "smoke", "--quiet"]) == 0
    c = np.load(out / "codes.npy")
    assert c.shape == (200, 12) and set(np.unique(c)) == {-1, 1} and (c.sum(0) == 0).all()
    s = json.loads((out / "summary.json").read_text())
    assert s["metrics"]["objective_non_increasing"] is True and s["metrics"]["bits"] == 12
    assert map_whole(c, c, L, L) > 0.5
    assert (out / "config.yaml").is_file() and (out / "env.json").is_file() and (out / "report.md").is_file()


def test_evaluate_command(tmp_path):
    rng = np.random.default_rng(0)
    qc, dc = np.where(rng.random((20, 16)) > 0.5, 1, -1), np.where(rng.random((50, 16)) > 0.5, 1, -1)
    ql, dl = (rng.random((20, 3)) > 0.5).astype(int), (rng.random((50, 3)) > 0.5).astype(int)
    np.savez(tmp_path / "c.npz", query_codes=qc, db_codes=dc, query_labels=ql, db_labels=dl)
    out = tmp_path / "ev"
    assert main(["evaluate", "--codes", str(tmp_path / "c.npz"), "--topk", "10", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["map"] == pytest.approx(map_whole(qc, dc, ql, dl))
    assert m["map@10"] == pytest.approx(map_at_k(qc, dc, ql, dl, 10))
    assert m["map@10_dcmh"] == pytest.approx(map_at_k_dcmh(qc, dc, ql, dl, 10))
    assert len(m["pr_curve"]["precision"]) == 17 and (out / "figures" / "pr_curve.png").is_file()


def test_fit_then_encode(tmp_path):
    from dcsh.data import load_openmoji

    out = tmp_path / "fit"
    assert main(["fit", "--preset", "smoke", "--out", str(out), "--quiet"]) == 0
    ck = out / "checkpoints" / "hash_functions.pt"
    z = np.load(out / "codes.npz")
    assert z["image_codes_16"].shape == (360, 16)
    d = load_openmoji(16, 12, 12, 360)
    np.save(tmp_path / "imgs.npy", d.images[:5].transpose(0, 2, 3, 1))  # N×H×W×3 is accepted
    (tmp_path / "t.txt").write_text("\n".join(" ".join(d.vocab[i] for i in row if i) for row in d.text_ids[:5]))
    enc = tmp_path / "enc"
    assert main(["encode", "--checkpoint", str(ck), "--images", str(tmp_path / "imgs.npy"), "--texts",
                 str(tmp_path / "t.txt"), "--out", str(enc), "--preset", "smoke", "--quiet"]) == 0
    e = np.load(enc / "codes.npz")
    np.testing.assert_array_equal(e["image_codes_16"], z["image_codes_16"][:5])
    np.testing.assert_array_equal(e["text_codes_8"], z["text_codes_8"][:5])


def test_data_list_and_check(capsys):
    assert main(["data", "list"]) == 0
    assert "openmoji" in capsys.readouterr().out
    assert main(["data", "check"]) == 0
    assert main(["--version"]) == 0


def test_fit_and_encode_on_precomputed_features(tmp_path):
    A, B, L = clustered_pair(n=120)
    np.savez(tmp_path / "features.npz", image_features=A, text_features=B, labels=L)
    out = tmp_path / "fitf"
    assert main(["fit", "--preset", "smoke", "--dataset", "features", "--data-dir", str(tmp_path),
                 "--set", "step2.epochs=80", "--set", "step2.mlp_hidden=128", "--out", str(out), "--quiet"]) == 0
    z = np.load(out / "codes.npz")
    s = json.loads((out / "summary.json").read_text())["metrics"]
    assert s["agreement_text_16"] > 0.75 and s["agreement_image_16"] > 0.75
    np.save(tmp_path / "a.npy", A[:7])
    np.save(tmp_path / "b.npy", B[:7])
    enc = tmp_path / "encf"
    assert main(["encode", "--checkpoint", str(out / "checkpoints" / "hash_functions.pt"), "--images",
                 str(tmp_path / "a.npy"), "--texts", str(tmp_path / "b.npy"), "--out", str(enc), "--quiet"]) == 0
    e = np.load(enc / "codes.npz")
    np.testing.assert_array_equal(e["text_codes_16"], z["text_codes_16"][:7])
    np.testing.assert_array_equal(e["image_codes_8"], z["image_codes_8"][:7])


def test_paper_preset_runs_a_few_steps_on_a_dcmh_mat(tmp_path):
    """The paper preset's pipeline (separate networks per code length) on a small FLICKR-25K.mat."""
    import scipy.io

    rng = np.random.default_rng(0)
    n = 150
    c = rng.integers(0, 5, n)
    scipy.io.savemat(tmp_path / "FLICKR-25K.mat", {
        "images": rng.integers(0, 255, (n, 20, 20, 3)).astype(np.uint8),
        "YAll": ((rng.random((n, 30)) > 0.8) | (np.eye(30)[c * 6] > 0)).astype(np.float64),
        "LAll": np.eye(5, dtype=np.uint8)[c]})
    out = tmp_path / "paper"
    sets = ["split.query=30", "split.train=100", "n_seeds=1", "bits=[8,16]", "ablations.bits=8",
            "ablations.seeds=0", "step1.anchors=20", "step1.iters=2", "step1.pca_dim=16", "step2.epochs=1",
            "step2.image_width=4", "step2.text_filters=8", "text.embed_dim=8", "data.image_size=16"]
    argv = ["reproduce", "--preset", "paper", "--data-dir", str(tmp_path), "--out", str(out), "--quiet"]
    for kv in sets:
        argv += ["--set", kv]
    assert main(argv) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["dataset"] == "mirflickr25k" and s["preset"] == "paper"
    assert all(c["verdict"] in VERDICTS for c in s["claims"])
