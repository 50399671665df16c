"""Bad-input cases for the cross-package test: each must exit 2, print one line and write nothing."""

from __future__ import annotations

import pathlib

import numpy as np


def cases(tmp: pathlib.Path) -> list[tuple[str, list[str]]]:
    rng = np.random.default_rng(0)
    fx = tmp / "fixtures"
    fx.mkdir(exist_ok=True)
    a = rng.standard_normal((40, 5))
    np.save(fx / "a.npy", a)
    np.save(fx / "b.npy", rng.standard_normal((40, 7)))
    np.save(fx / "b_short.npy", rng.standard_normal((39, 7)))
    nan = a.copy()
    nan[3, 2] = np.nan
    np.save(fx / "a_nan.npy", nan)
    np.save(fx / "a_3d.npy", rng.standard_normal((40, 2, 2)))
    (fx / "glove50.txt").write_text("face " + " ".join(["0.1"] * 50) + "\n")
    (fx / "notglove.txt").write_text("face one two three\n")
    (fx / "empty.npz").write_bytes(b"")
    (fx / "text.npz").write_text("not an archive")
    np.savez(fx / "nokeys.npz", query_codes=np.ones((3, 8)))
    ok = dict(query_codes=np.ones((4, 8)), db_codes=-np.ones((6, 8)), query_labels=np.ones((4, 2)),
              db_labels=np.ones((6, 2)))
    np.savez(fx / "bits.npz", **{**ok, "db_codes": np.ones((6, 16))})
    np.savez(fx / "rows.npz", **{**ok, "db_labels": np.ones((5, 2))})
    np.savez(fx / "float.npz", **{**ok, "query_codes": np.full((4, 8), 0.3)})
    np.savez(fx / "nan.npz", **{**ok, "query_labels": np.full((4, 2), np.nan)})
    (fx / "fake.pt").write_bytes(b"not a checkpoint")
    try:
        import torch

        torch.save({"kind": "lskd-model", "num_classes": 10}, fx / "other.pt")
    except ImportError:  # pragma: no cover
        (fx / "other.pt").write_bytes(b"x")
    np.save(fx / "codes_rows.npy", np.ones((7, 8)))
    (fx / "texts.txt").write_text("grinning face\n")
    A, B = str(fx / "a.npy"), str(fx / "b.npy")
    codes = ["codes", "--features-a", A, "--features-b", B]
    return [
        # codes (step 1 on the user's features)
        ("codes-different-lengths", ["codes", "--features-a", A, "--features-b", str(fx / "b_short.npy"),
                                     "--bits", "8"]),
        ("codes-nan-features", ["codes", "--features-a", str(fx / "a_nan.npy"), "--features-b", B, "--bits", "8"]),
        ("codes-more-bits-than-samples", [*codes, "--bits", "64"]),
        ("codes-zero-bits", [*codes, "--bits", "0"]),
        ("codes-negative-bits", [*codes, "--bits", "-4"]),
        ("codes-missing-file", ["codes", "--features-a", str(fx / "nope.npy"), "--features-b", B, "--bits", "8"]),
        ("codes-3d-array", ["codes", "--features-a", str(fx / "a_3d.npy"), "--features-b", B, "--bits", "8"]),
        ("codes-negative-alpha", [*codes, "--bits", "8", "--set", "step1.alpha=-1"]),
        ("codes-s-above-anchors", [*codes, "--bits", "8", "--set", "step1.s=500"]),
        ("codes-bad-balance", [*codes, "--bits", "8", "--set", "step1.balance=maybe"]),
        ("codes-missing-bits", [*codes]),
        # reproduce
        ("reproduce-embeddings-wrong-dim", ["reproduce", "--preset", "smoke", "--embeddings", str(fx / "glove50.txt")]),
        ("reproduce-embeddings-not-glove", ["reproduce", "--preset", "smoke", "--embeddings",
                                            str(fx / "notglove.txt")]),
        ("reproduce-more-bits-than-samples", ["reproduce", "--preset", "smoke", "--set", "bits=[8,400]",
                                              "--set", "ablations.bits=8"]),
        ("reproduce-zero-bits", ["reproduce", "--preset", "smoke", "--set", "bits=[0,16]"]),
        ("reproduce-unknown-method", ["reproduce", "--preset", "smoke", "--set", "methods=[dcsh,magic]"]),
        ("reproduce-query-too-large", ["reproduce", "--preset", "smoke", "--set", "split.query=5000"]),
        ("reproduce-zero-seeds", ["reproduce", "--preset", "smoke", "--set", "n_seeds=0"]),
        ("reproduce-negative-lr", ["reproduce", "--preset", "smoke", "--set", "step2.lr=-0.1"]),
        ("reproduce-mat-missing", ["reproduce", "--preset", "smoke", "--dataset", "mirflickr25k",
                                   "--data-dir", str(fx)]),
        # fit / encode / evaluate
        ("fit-codes-wrong-rows", ["fit", "--preset", "smoke", "--codes", str(fx / "codes_rows.npy")]),
        ("fit-embeddings-wrong-dim", ["fit", "--preset", "smoke", "--embeddings", str(fx / "glove50.txt")]),
        ("encode-not-a-checkpoint", ["encode", "--checkpoint", str(fx / "fake.pt"), "--texts", str(fx / "texts.txt")]),
        ("encode-other-package-checkpoint", ["encode", "--checkpoint", str(fx / "other.pt"), "--texts",
                                             str(fx / "texts.txt")]),
        ("encode-nothing-to-encode", ["encode", "--checkpoint", str(fx / "other.pt")]),
        ("evaluate-empty-npz", ["evaluate", "--codes", str(fx / "empty.npz")]),
        ("evaluate-text-named-npz", ["evaluate", "--codes", str(fx / "text.npz")]),
        ("evaluate-missing-keys", ["evaluate", "--codes", str(fx / "nokeys.npz")]),
        ("evaluate-bit-mismatch", ["evaluate", "--codes", str(fx / "bits.npz")]),
        ("evaluate-label-rows", ["evaluate", "--codes", str(fx / "rows.npz")]),
        ("evaluate-non-binary", ["evaluate", "--codes", str(fx / "float.npz")]),
        ("evaluate-nan-labels", ["evaluate", "--codes", str(fx / "nan.npz")]),
        ("evaluate-negative-topk", ["evaluate", "--codes", str(fx / "bits.npz"), "--topk", "-5"]),
        ("evaluate-bad-ks", ["evaluate", "--codes", str(fx / "bits.npz"), "--set", "eval.ks=[0]"]),
        ("data-check-unknown", ["data", "check", "--dataset", "no-such-dataset"]),
        ("no-subcommand", []),
    ]
