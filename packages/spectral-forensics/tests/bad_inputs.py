"""Bad-input cases for the cross-package test (tests/test_bad_input.py): each argv must exit 2 with one
line on stderr and leave nothing behind."""

from __future__ import annotations

import pathlib

import numpy as np


def _png_folder(folder: pathlib.Path, n: int, size: int) -> pathlib.Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 255, size=(size, size), dtype=np.uint8)).save(folder / f"{k}.png")
    return folder


def cases(tmp: pathlib.Path) -> list[tuple[str, list[str]]]:
    import torch

    real = _png_folder(tmp / "real", 12, 32)
    few = _png_folder(tmp / "few", 3, 32)
    empty = tmp / "empty"
    empty.mkdir()
    junk = tmp / "junk"
    junk.mkdir()
    (junk / "a.png").write_text("not really a png")
    (junk / "b.txt").write_text("text")
    (tmp / "text.npz").write_text("this is not an npz archive")
    np.savez(tmp / "foreign.npz", weights=np.zeros(3))
    torch.save({"kind": "spectral-forensics-gan"}, tmp / "gan.npz")
    np.savez(tmp / "nan.npz", meta=np.array('{"format": "spectral-forensics-detector/1", "features": "dzanic", '
                                            '"classifier": "knn", "size": [32, 32]}'),
             x_train=np.full((12, 3), np.nan), y_train=np.r_[np.zeros(6), np.ones(6)])
    celeba = _png_folder(tmp / "celeba" / "img_align_celeba", 4, 32)
    (tmp / "celeba" / "list_attr_celeba.txt").write_text("4\nBlack_Hair Male Young\n"
                                                         + "".join(f"{k}.png 1 -1 1\n" for k in range(4)))
    out = str(tmp / "out")
    return [
        ("detect-missing-detector", ["detect", "--detector", str(tmp / "nope.npz"), "--images", str(real),
                                     "--out", out]),
        ("detect-text-as-npz", ["detect", "--detector", str(tmp / "text.npz"), "--images", str(real), "--out", out]),
        ("detect-foreign-npz", ["detect", "--detector", str(tmp / "foreign.npz"), "--images", str(real),
                                "--out", out]),
        ("detect-gan-checkpoint", ["detect", "--detector", str(tmp / "gan.npz"), "--images", str(real),
                                   "--out", out]),
        ("detect-nan-detector", ["detect", "--detector", str(tmp / "nan.npz"), "--images", str(real), "--out", out]),
        ("detect-no-folder", ["detect", "--detector", str(tmp / "foreign.npz"), "--images", str(tmp / "nodir"),
                              "--out", out]),
        ("spectrum-empty-folder", ["spectrum", "--images", str(empty), "--out", out]),
        ("spectrum-no-images", ["spectrum", "--images", str(junk), "--out", out]),
        ("spectrum-bad-batch", ["spectrum", "--images", str(real), "--out", out, "--set", "user.batch_size=0"]),
        ("fit-too-few", ["fit-detector", "--real", str(real), "--fake", str(few), "--out", str(tmp / "d.npz")]),
        ("fit-empty", ["fit-detector", "--real", str(real), "--fake", str(empty), "--out", str(tmp / "d.npz")]),
        ("fit-same-folder", ["fit-detector", "--real", str(real), "--fake", str(real), "--out", str(tmp / "d.npz")]),
        ("fit-not-npz", ["fit-detector", "--real", str(real), "--fake", str(few), "--out", str(tmp / "d.pt")]),
        ("fit-existing-out", ["fit-detector", "--real", str(real), "--fake", str(few), "--out",
                              str(tmp / "text.npz")]),
        ("fit-bad-classifier", ["fit-detector", "--real", str(real), "--fake", str(few), "--classifier", "tree",
                                "--out", str(tmp / "d.npz")]),
        ("reproduce-bad-setup", ["reproduce", "--preset", "smoke", "--set", "gan.setups=[N.1.5,Q.2.2]", "--out", out]),
        ("reproduce-no-baseline", ["reproduce", "--preset", "smoke", "--set", "gan.setups=[N.1.5,B.1.5]",
                                   "--out", out]),
        ("reproduce-size-not-pow2", ["reproduce", "--preset", "smoke", "--set", "data.size=48", "--out", out]),
        ("reproduce-negative-steps", ["reproduce", "--preset", "smoke", "--set", "gan.steps=-3", "--out", out]),
        ("reproduce-train-too-big", ["reproduce", "--preset", "smoke", "--set", "detector.n_train=500", "--out", out]),
        ("reproduce-fit-order", ["reproduce", "--preset", "smoke", "--set", "dzanic.fit_from=0.4", "--out", out]),
        ("reproduce-folder-no-dir", ["reproduce", "--preset", "smoke", "--dataset", "folder", "--out", out]),
        ("reproduce-missing-inception", ["reproduce", "--preset", "smoke", "--set",
                                         f"fid.inception_weights={tmp / 'none.pth'}", "--out", out]),
        ("train-gan-bad-setup", ["train-gan", "--preset", "smoke", "--upsample", "N.3.3", "--out", out]),
        ("train-gan-bad-gan", ["train-gan", "--preset", "smoke", "--gan", "stylegan", "--out", out]),
        ("stargan-photos-no-labels", ["train-gan", "--preset", "smoke", "--gan", "stargan", "--out", out]),
        ("stargan-flat-folder", ["train-gan", "--preset", "smoke", "--gan", "stargan", "--dataset", "folder",
                                 "--data-dir", str(real), "--out", out]),
        ("stargan-unknown-attr", ["train-gan", "--preset", "smoke", "--gan", "stargan", "--dataset", "folder",
                                  "--data-dir", str(celeba), "--set", "stargan.attrs=[Male,Green_Hair]",
                                  "--out", out]),
        ("stargan-negative-steps", ["reproduce", "--preset", "smoke", "--set", "gan.gans=[stargan]",
                                    "--set", "stargan.steps=-1", "--out", out]),
    ]
