"""This package's bad-input table for the cross-package test (tests/test_bad_input.py): every case must
exit 2 with one line on stderr and leave nothing behind."""

from __future__ import annotations

import pathlib

import numpy as np


def cases(tmp: pathlib.Path) -> list[tuple[str, list[str]]]:
    ok = tmp / "labels.npy"
    np.save(ok, np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1]))
    outside = tmp / "outside.npy"
    np.save(outside, np.array([0, 1, 2, 1]))
    negative = tmp / "negative.txt"
    negative.write_text("0\n1\n-1\n")
    nan = tmp / "nan.csv"
    nan.write_text("0.5,0.5\nnan,0.5\n")
    probs_bad = tmp / "probs_bad.csv"
    probs_bad.write_text("0.7,0.7\n0.2,0.8\n")
    probs_k3 = tmp / "probs_k3.npy"
    np.save(probs_k3, np.full((4, 3), 1 / 3))
    empty = tmp / "empty.npy"
    empty.write_bytes(b"")
    fake = tmp / "fake.npy"
    fake.write_text("not an array")
    conf3 = tmp / "conf3.npy"
    np.save(conf3, np.eye(3))
    conf_rows = tmp / "conf_rows.npy"
    np.save(conf_rows, np.array([[0.9, 0.3], [0.1, 0.9]]))
    frac = tmp / "frac.txt"
    frac.write_text("0\n1.5\n1\n")
    noimg = tmp / "noimages"
    noimg.mkdir(exist_ok=True)
    (noimg / "readme.txt").write_text("no images here")
    wrong_ckpt = tmp / "other.pt"
    import torch

    torch.save({"kind": "someone-else", "state_dict": {}}, wrong_ckpt)
    not_ckpt = tmp / "garbage.pt"
    not_ckpt.write_text("not a checkpoint")
    no_fmnist = tmp / "nofmnist"
    no_fmnist.mkdir(exist_ok=True)
    out = tmp / "out-never-created"
    lab = ["measure", "--labels", str(ok), "--num-classes", "2", "--out", str(out)]
    return [
        ("measure: labels outside [0, K)", ["measure", "--labels", str(outside), "--num-classes", "2",
                                            "--out", str(out)]),
        ("measure: negative class id", ["measure", "--labels", str(negative), "--num-classes", "2", "--out", str(out)]),
        ("measure: NaN in probabilities", ["measure", "--labels", str(nan), "--num-classes", "2", "--out", str(out)]),
        ("measure: probabilities not summing to 1", ["measure", "--labels", str(probs_bad), "--num-classes", "2",
                                                     "--out", str(out)]),
        ("measure: probability matrix for another K", ["measure", "--labels", str(probs_k3), "--num-classes", "2",
                                                       "--out", str(out)]),
        ("measure: fractional class ids", ["measure", "--labels", str(frac), "--num-classes", "2", "--out", str(out)]),
        ("measure: empty labels file", ["measure", "--labels", str(empty), "--num-classes", "2", "--out", str(out)]),
        ("measure: not a .npy", ["measure", "--labels", str(fake), "--num-classes", "2", "--out", str(out)]),
        ("measure: missing labels file", ["measure", "--labels", str(tmp / "nope.npy"), "--num-classes", "2"]),
        ("measure: negative counts", ["measure", "--counts", "5,-1", "--num-classes", "2", "--out", str(out)]),
        ("measure: counts for another K", ["measure", "--counts", "5,1,2", "--num-classes", "2", "--out", str(out)]),
        ("measure: α0 + α1 ≤ 1", [*lab, "--classifier-accuracy", "0.4,0.5"]),
        ("measure: accuracies for another K", [*lab, "--classifier-accuracy", "0.9,0.9,0.9"]),
        ("measure: accuracy above 1", [*lab, "--classifier-accuracy", "1.2,0.9"]),
        ("measure: accuracies not numbers", [*lab, "--classifier-accuracy", "high,low"]),
        ("measure: confusion for another K", [*lab, "--confusion", str(conf3)]),
        ("measure: confusion rows not summing to 1", [*lab, "--confusion", str(conf_rows)]),
        ("measure: both accuracy and confusion", [*lab, "--classifier-accuracy", "0.9,0.9", "--confusion", str(conf3)]),
        ("measure: reference for another K", [*lab, "--reference", "0.2,0.3,0.5"]),
        ("measure: reference not summing to 1", [*lab, "--reference", "0.2,0.3"]),
        ("measure: more batches than samples", [*lab, "--batches", "50"]),
        ("measure: no input", ["measure", "--num-classes", "2", "--out", str(out)]),
        ("measure: labels without K", ["measure", "--labels", str(ok), "--out", str(out)]),
        ("measure: K = 1", ["measure", "--labels", str(ok), "--num-classes", "1", "--out", str(out)]),
        ("measure: --set measure.batching=sometimes", [*lab, "--set", "measure.batching=sometimes"]),
        ("measure: images without classifier", ["measure", "--images", str(noimg), "--out", str(out)]),
        ("measure: folder with no images", ["measure", "--images", str(noimg), "--classifier", str(wrong_ckpt),
                                            "--out", str(out)]),
        ("measure: checkpoint of another kind", ["measure", "--images", str(tmp), "--classifier", str(wrong_ckpt),
                                                 "--out", str(out)]),
        ("measure: unreadable checkpoint", ["measure", "--images", str(tmp), "--classifier", str(not_ckpt),
                                            "--out", str(out)]),
        ("reproduce: --seed -1", ["reproduce", "--preset", "smoke", "--seed", "-1", "--out", str(out)]),
        ("reproduce: cleam.p_star outside (0, 1)", ["reproduce", "--preset", "smoke", "--set",
                                                    "cleam.p_star=[0.5, 1.5]", "--out", str(out)]),
        ("reproduce: cardinality the paper has no step for", ["reproduce", "--preset", "smoke", "--set",
                                                             "sweep.cardinalities=[2, 3]", "--out", str(out)]),
        ("reproduce: non-binary attribute for the closed form", ["reproduce", "--preset", "smoke", "--set",
                                                                 "cleam.attribute=garment-4", "--out", str(out)]),
        ("reproduce: unknown attribute", ["reproduce", "--preset", "smoke", "--set", "gan.attribute=colour",
                                          "--out", str(out)]),
        ("reproduce: coverage target 1.5", ["reproduce", "--preset", "smoke", "--set", "claims.c2_coverage=1.5",
                                            "--out", str(out)]),
        ("reproduce: zero epochs", ["reproduce", "--preset", "smoke", "--set", "classifier.epochs=0",
                                    "--out", str(out)]),
        ("reproduce: data dir without Fashion-MNIST", ["reproduce", "--preset", "smoke", "--data-dir", str(no_fmnist),
                                                       "--out", str(out)]),
        ("benchmark: bad cardinalities", ["benchmark", "--preset", "smoke", "--set", "sweep.cardinalities=[5]",
                                          "--out", str(out)]),
        ("train-classifier: unknown attribute", ["train-classifier", "--preset", "smoke", "--attribute", "colour",
                                                 "--out", str(out)]),
        ("train-classifier: celeba without its files", ["train-classifier", "--preset", "smoke", "--dataset", "celeba",
                                                        "--data-dir", str(no_fmnist), "--out", str(out)]),
        ("train-classifier: imagefolder without classes", ["train-classifier", "--preset", "smoke", "--dataset",
                                                           "imagefolder", "--data-dir", str(noimg), "--out", str(out)]),
        ("train-classifier: negative lr", ["train-classifier", "--preset", "smoke", "--set", "classifier.lr=-0.1",
                                           "--out", str(out)]),
        ("data check: unknown dataset", ["data", "check", "--dataset", "no-such"]),
        ("data check: missing Fashion-MNIST", ["data", "check", "--data-dir", str(no_fmnist)]),
    ]
