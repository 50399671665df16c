"""Bad-input cases for the cross-package test (tests/test_bad_input.py): each must exit 2 with one line on
stderr and write nothing. ``cases(tmp)`` may write fixtures into ``tmp`` (they exist before the check)."""

from __future__ import annotations

import gzip
import pathlib
import pickle
import struct


def _idx(path: pathlib.Path, data: bytes, dims: tuple[int, ...]) -> None:
    path.write_bytes(gzip.compress(bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}i", *dims) + data))


def cases(tmp: pathlib.Path) -> list[tuple[str, list[str]]]:
    import torch

    fx = tmp / "fixtures"
    fx.mkdir(exist_ok=True)
    # an MNIST folder whose train images are truncated (header says 4 images of 28×28, body holds 10 bytes)
    mn = fx / "mnist_bad"
    mn.mkdir(exist_ok=True)
    _idx(mn / "train-images-idx3-ubyte.gz", b"\x00" * 10, (4, 28, 28))
    _idx(mn / "train-labels-idx1-ubyte.gz", b"\x00" * 4, (4,))
    _idx(mn / "t10k-images-idx3-ubyte.gz", b"\x00" * (2 * 28 * 28), (2, 28, 28))
    _idx(mn / "t10k-labels-idx1-ubyte.gz", b"\x00" * 2, (2,))
    # a CIFAR-100 folder with corrupt pickles
    cf = fx / "cifar_bad"
    cf.mkdir(exist_ok=True)
    (cf / "train").write_bytes(b"\x80\x04\x95garbage, not a pickle")
    with open(cf / "test", "wb") as f:
        pickle.dump({b"data": [[1, 2, 3]], b"fine_labels": [0]}, f)
    # a run directory whose model is not an lq-quant one, and one without a model
    foreign = fx / "foreign_run"
    (foreign / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save({"kind": "lskd-teacher", "state_dict": {}}, foreign / "checkpoints" / "model.pt")
    empty_run = fx / "empty_run"
    empty_run.mkdir(exist_ok=True)
    # export files: text named .pt, a torch file of another kind
    (fx / "text.pt").write_text("this is not a torch file\n")
    torch.save({"kind": "lskd-teacher", "layers": {}}, fx / "other.pt")
    empty_dir = fx / "nothing_here"
    empty_dir.mkdir(exist_ok=True)
    out = str(tmp / "never")
    r = ["reproduce", "--preset", "smoke", "--out", out]
    t = ["train", "--preset", "smoke", "--out", out]
    return [
        ("reproduce: bits outside 1..8", [*r, "--set", "grid.bits=[2, 9]"]),
        ("reproduce: zero bits", [*r, "--set", "grid.bits=[0]"]),
        ("reproduce: unknown method in the grid", [*r, "--set", "grid.methods=[dq, xnor]"]),
        ("reproduce: unknown model", [*r, "--set", "model.name=vgg16"]),
        ("reproduce: downsample 0", [*r, "--set", "data.downsample=0"]),
        ("reproduce: negative learning rate", [*r, "--set", "train.lr=-0.1"]),
        ("reproduce: negative seeds", [*r, "--set", "grid.n_seeds=-2"]),
        ("reproduce: C2 minimum effect ≥ 0.5", [*r, "--set", "claims.c2_min_effect=0.7"]),
        ("reproduce: unknown activation calibration", [*r, "--set", "dq.act_mode=minmax"]),
        ("reproduce: CIFAR folder with corrupt pickles", [*r, "--dataset", "cifar100", "--data-dir", str(cf)]),
        ("train: unknown method", [*t, "--method", "xnor"]),
        ("train: weight bits 0", [*t, "--method", "dq", "--wbits", "0"]),
        ("train: activation bits 9", [*t, "--method", "dq", "--wbits", "2", "--abits", "9"]),
        ("train: bits not a number", [*t, "--wbits", "two"]),
        ("train: unknown model", [*t, "--model", "vgg16"]),
        ("train: negative epochs", [*t, "--epochs", "-3"]),
        ("train: truncated IDX images", [*t, "--dataset", "mnist", "--data-dir", str(mn)]),
        ("train: CIFAR folder with corrupt pickles", [*t, "--dataset", "cifar100", "--data-dir", str(cf)]),
        ("train: dataset folder without files", [*t, "--dataset", "mnist", "--data-dir", str(empty_dir)]),
        ("export: run not trained with lq-quant", ["export", "--run", str(foreign), "--out", str(tmp / "x.pt")]),
        ("export: run without a model", ["export", "--run", str(empty_run), "--out", str(tmp / "x.pt")]),
        ("export: no such run", ["export", "--run", str(tmp / "missing_run"), "--out", str(tmp / "x.pt")]),
        ("export: output not .pt", ["export", "--run", str(empty_run), "--out", str(tmp / "x.txt")]),
        ("export: output folder missing", ["export", "--run", str(empty_run), "--out", str(tmp / "no" / "x.pt")]),
        ("evaluate: text file named .pt", ["evaluate", "--export", str(fx / "text.pt"), "--preset", "smoke",
                                          "--out", out]),
        ("evaluate: export of another kind", ["evaluate", "--export", str(fx / "other.pt"), "--preset", "smoke",
                                             "--out", out]),
        ("evaluate: missing export", ["evaluate", "--export", str(tmp / "missing.pt"), "--preset", "smoke"]),
        ("evaluate: export without .pt suffix", ["evaluate", "--export", str(cf / "train"), "--preset", "smoke"]),
        ("data check: unknown dataset", ["data", "check", "--dataset", "svhn"]),
        ("data check: empty folder", ["data", "check", "--dataset", "mnist", "--data-dir", str(empty_dir)]),
        ("data check: corrupt CIFAR", ["data", "check", "--dataset", "cifar100", "--data-dir", str(cf)]),
    ]
