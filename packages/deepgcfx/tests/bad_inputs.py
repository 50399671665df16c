"""deepgcfx's rows of the cross-package bad-input table (tests/test_bad_input.py): each must exit 2,
print one line and write nothing."""

from pathlib import Path

import numpy as np


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    import torch

    text = tmp / "notyaml.txt"
    text.write_text("this is not an embeddings file\n")
    renamed = tmp / "text.npz"
    renamed.write_text("plain text under an .npz name\n")
    pickled = tmp / "pickled.npz"
    np.savez(pickled, y=np.array([0, 1]), common=np.array([{"a": 1}, {"b": 2}], dtype=object))
    no_labels = tmp / "nolabels.npz"
    np.savez(no_labels, common=np.zeros((4, 2)))
    short = tmp / "short.npz"
    np.savez(short, y=np.array([0, 1, 0, 1]), common=np.zeros((3, 2)))
    nan = tmp / "nan.npz"
    np.savez(nan, y=np.array([0, 1] * 10), common=np.full((20, 2), np.nan))
    tiny = tmp / "tiny.npz"
    np.savez(tiny, y=np.array([0, 1] * 3), common=np.random.default_rng(0).normal(size=(6, 2)))
    foreign = tmp / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    smoke = ["--preset", "smoke", "--quiet"]
    return [
        ("text file as embeddings (issue #8)", ["evaluate", "--embeddings", str(text)]),
        ("text under an .npz name", ["evaluate", "--embeddings", str(renamed)]),
        ("object arrays (never unpickled)", ["evaluate", "--embeddings", str(pickled)]),
        ("embeddings without labels", ["evaluate", "--embeddings", str(no_labels)]),
        ("labels and embeddings of different lengths", ["evaluate", "--embeddings", str(short)]),
        ("NaN embeddings", ["evaluate", "--embeddings", str(nan)]),
        ("more folds than graphs per class", ["evaluate", "--embeddings", str(tiny), "--folds", "10"]),
        ("one fold", ["evaluate", "--embeddings", str(tiny), "--folds", "1"]),
        ("missing embeddings", ["evaluate", "--embeddings", str(tmp / "missing.npz")]),
        ("unknown method", ["train", *smoke, "--method", "gae"]),
        ("zero epochs", ["train", *smoke, "--set", "train.epochs=0"]),
        ("one CV fold in the config", ["reproduce", *smoke, "--set", "eval.folds=1"]),
        ("negative smallest effect", ["reproduce", *smoke, "--set", "claims.min_effect_points=-1"]),
        ("unknown baseline", ["reproduce", *smoke, "--set", "baselines=[infograph, gae]"]),
        ("zero seeds", ["reproduce", *smoke, "--set", "n_seeds=0"]),
        ("TU dataset not in --data-dir", ["reproduce", *smoke, "--dataset", "MUTAG", "--data-dir", str(tmp)]),
        ("checkpoint of something else", ["embed", "--model", str(foreign), "--output", str(tmp / "e.npz")]),
        ("missing model", ["embed", "--model", str(tmp / "none.pt"), "--output", str(tmp / "e2.npz")]),
        ("existing output", ["embed", "--model", str(foreign), "--output", str(tiny)]),
        ("data check of an unknown dataset", ["data", "check", "--dataset", "no-such-set"]),
    ]
