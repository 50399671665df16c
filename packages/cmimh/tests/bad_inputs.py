"""cmimh's rows of the cross-package bad-input table (tests/test_bad_input.py): each must exit 2, print one
line and write nothing. Fixture files are written into ``tmp`` here, before the table runs."""

from __future__ import annotations

from pathlib import Path


def _codes(path: Path, **over) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {"query_codes": rng.integers(0, 2, (5, 16)), "db_codes": rng.integers(0, 2, (20, 16)),
              "query_labels": np.eye(3, dtype=int)[np.arange(5) % 3],
              "db_labels": np.eye(3, dtype=int)[np.arange(20) % 3]}
    arrays.update(over)
    np.savez(path, **arrays)
    return path


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    import numpy as np
    import scipy.io
    import torch

    rng = np.random.default_rng(0)
    lab = np.eye(3, dtype=int)[np.arange(20) % 3]
    bad_codes = _codes(tmp / "codes_values.npz", db_codes=rng.integers(0, 3, (20, 16)) * 2 - 1)
    lengths = _codes(tmp / "codes_lengths.npz", db_codes=rng.integers(0, 2, (20, 32)))
    empty_row = _codes(tmp / "codes_empty_label.npz", db_labels=np.vstack([lab[:-1], np.zeros((1, 3), int)]))
    count = _codes(tmp / "codes_count.npz", query_labels=np.eye(3, dtype=int)[np.arange(4) % 3])
    nan = _codes(tmp / "codes_nan.npz", query_codes=np.full((5, 16), np.nan))
    classes = _codes(tmp / "codes_classes.npz", db_labels=np.eye(4, dtype=int)[np.arange(20) % 4])
    missing_key = tmp / "codes_missing.npz"
    np.savez(missing_key, query_codes=np.zeros((2, 8)), db_codes=np.zeros((3, 8)))
    text_npz = tmp / "notes.npz"
    text_npz.write_text("not an archive\n")
    empty_npz = tmp / "empty.npz"
    empty_npz.write_bytes(b"")
    good = _codes(tmp / "codes_ok.npz")

    mism = tmp / "mat_mismatch"
    mism.mkdir()
    imgs = rng.integers(0, 255, (20, 8, 8, 3)).astype(np.uint8)
    scipy.io.savemat(mism / "FLICKR-25K.mat", {"images": imgs, "YAll": rng.integers(0, 2, (19, 6)), "LAll": lab})
    empty_lab = tmp / "mat_empty_labels"
    empty_lab.mkdir()
    scipy.io.savemat(empty_lab / "FLICKR-25K.mat", {"images": imgs, "YAll": rng.integers(0, 2, (20, 6)),
                                                    "LAll": np.vstack([lab[:-1], np.zeros((1, 3), int)])})
    no_mat = tmp / "no_mat"
    no_mat.mkdir()

    text_pt = tmp / "notes.pt"
    text_pt.write_text("not a checkpoint\n")
    foreign = tmp / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    wrong_shape = tmp / "other_images.pt"  # a cmimh checkpoint trained on 8×8 images
    torch.save({"kind": "cmimh-hasher", "method": "cmimh", "bits": 16, "img_in": 4, "txt_in": 6, "hidden": 8,
                "img": {}, "txt": {}, "dataset": "mirflickr25k", "n_items": 20,
                "transform": {"kind": "pixel-pca", "mean": np.zeros(192), "components": np.zeros((4, 192)),
                              "scale": np.ones(1), "image_shape": [8, 8, 3], "text_dim": 6}}, wrong_shape)

    smoke = ["--preset", "smoke", "--quiet"]
    return [
        ("epochs 0", ["reproduce", *smoke, "--set", "train.epochs=0"]),
        ("unknown MI bound", ["reproduce", *smoke, "--set", "cmimh.bound=mine"]),
        ("negative gamma in the tuning grid", ["reproduce", *smoke, "--set", "tuning.cmimh_gamma=[-1.0, 5.0]"]),
        ("unequal tuning budgets", ["reproduce", *smoke, "--set", "tuning.djsrh_beta=[0.3]"]),
        ("dropout 1", ["reproduce", *smoke, "--set", "train.input_dropout=1.0"]),
        ("more queries than items", ["reproduce", *smoke, "--set", "data.n_query=100000"]),
        ("code length 12", ["reproduce", *smoke, "--set", "bits=[12, 32]"]),
        ("MIRFlickr without --data-dir", ["reproduce", *smoke, "--dataset", "mirflickr25k"]),
        ("no .mat files in --data-dir", ["reproduce", *smoke, "--dataset", "mirflickr25k", "--data-dir", str(no_mat)]),
        ("mismatched images/texts", ["reproduce", *smoke, "--dataset", "mirflickr25k", "--data-dir", str(mism)]),
        ("empty label rows in .mat", ["train", *smoke, "--dataset", "nus-wide", "--data-dir", str(empty_lab)]),
        ("train --bits 12", ["train", *smoke, "--bits", "12"]),
        ("train --bits -3", ["train", *smoke, "--bits", "-3"]),
        ("train unknown method", ["train", *smoke, "--method", "dcmh"]),
        ("encode: missing checkpoint", ["encode", *smoke, "--checkpoint", str(tmp / "missing.pt")]),
        ("encode: text file as checkpoint", ["encode", *smoke, "--checkpoint", str(text_pt)]),
        ("encode: another kind of checkpoint", ["encode", *smoke, "--checkpoint", str(foreign)]),
        ("encode: model of other images", ["encode", *smoke, "--checkpoint", str(wrong_shape)]),
        ("evaluate: codes not in {0,1}/{-1,+1}", ["evaluate", *smoke, "--codes", str(bad_codes)]),
        ("evaluate: query/db code lengths differ", ["evaluate", *smoke, "--codes", str(lengths)]),
        ("evaluate: empty label row", ["evaluate", *smoke, "--codes", str(empty_row)]),
        ("evaluate: codes vs labels count", ["evaluate", *smoke, "--codes", str(count)]),
        ("evaluate: NaN codes", ["evaluate", *smoke, "--codes", str(nan)]),
        ("evaluate: label classes differ", ["evaluate", *smoke, "--codes", str(classes)]),
        ("evaluate: missing labels", ["evaluate", *smoke, "--codes", str(missing_key)]),
        ("evaluate: text file named .npz", ["evaluate", *smoke, "--codes", str(text_npz)]),
        ("evaluate: empty file", ["evaluate", *smoke, "--codes", str(empty_npz)]),
        ("evaluate: missing file", ["evaluate", *smoke, "--codes", str(tmp / "nope.npz")]),
        ("evaluate: --topk 0", ["evaluate", *smoke, "--codes", str(good), "--topk", "0"]),
        ("evaluate: --topk abc", ["evaluate", *smoke, "--codes", str(good), "--topk", "abc"]),
        ("evaluate: bad --set", ["evaluate", *smoke, "--codes", str(good), "--set", "eval.p_at=[0]"]),
        ("data check unknown dataset", ["data", "check", "--dataset", "no-such-set"]),
        ("data check features, nothing there", ["data", "check", "--dataset", "features", "--data-dir", str(no_mat)]),
    ]
