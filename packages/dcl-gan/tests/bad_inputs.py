"""Bad-input cases for the cross-package test: each must exit 2, print one line, write nothing."""

from __future__ import annotations

import pathlib


def cases(tmp: pathlib.Path) -> list[tuple[str, list[str]]]:
    import numpy as np
    import torch
    from PIL import Image

    def folder(name: str, n: int, size: int = 16, mode: str = "L", odd: bool = False) -> pathlib.Path:
        d = tmp / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            s = size + (4 if odd and i == n - 1 else 0)
            shape = (s, s) if mode == "L" else (s, s, 3)
            Image.fromarray(np.full(shape, 100 + i, np.uint8), mode=mode).save(d / f"{i}.png")
        return d

    def layout(name: str, n_src: int, n_tgt: int, **kw) -> pathlib.Path:
        root = tmp / name
        folder(f"{name}/source", n_src)
        if n_tgt >= 0:
            folder(f"{name}/target", n_tgt, **kw)
        return root

    nine = layout("nine_shots", 40, 9)
    eleven = layout("eleven_shots", 40, 11)
    mixed = layout("mixed_sizes", 40, 10, odd=True)
    empty = layout("empty_target", 40, 0)
    (empty / "target").mkdir(exist_ok=True)
    modes = layout("mixed_modes", 40, 9)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8), mode="RGB").save(modes / "target" / "rgb.png")
    good = layout("good", 40, 10)
    wrong_kind = tmp / "wrong_kind.pt"
    torch.save({"kind": "lskd-teacher", "arch": {}, "G": {}}, wrong_kind)
    wrong_arch = tmp / "wrong_arch.pt"
    torch.save({"kind": "dcl-gan-source", "arch": {"name": "dcgan", "z_dim": 128, "width": 16, "channels": 1,
                                                   "size": 32}, "G": {}, "D": {}}, wrong_arch)
    not_ckpt = tmp / "text.pt"
    not_ckpt.write_text("not a checkpoint")
    empty_ckpt = tmp / "empty.pt"
    empty_ckpt.write_bytes(b"")
    bad_lin = tmp / "bad_lin.pth"  # LPIPS lin weights without the official `linN.model.1.weight` keys
    torch.save({f"lin{i}.weight": torch.ones(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))}, bad_lin)
    good_lin = tmp / "vgg_lin.pth"
    torch.save({f"lin{i}.model.1.weight": torch.ones(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))},
               good_lin)
    F = ["--preset", "smoke", "--dataset", "folders", "--quiet"]
    return [
        ("reproduce: 9 shots where 10 are asked", ["reproduce", *F, "--data-dir", str(nine)]),
        ("reproduce: 11 shots where 10 are asked", ["reproduce", *F, "--data-dir", str(eleven)]),
        ("reproduce: images of mixed sizes", ["reproduce", *F, "--data-dir", str(mixed)]),
        ("reproduce: images of mixed modes", ["reproduce", *F, "--data-dir", str(modes), "--set", "data.n_shots=10"]),
        ("reproduce: empty target folder", ["reproduce", *F, "--data-dir", str(empty)]),
        ("reproduce: folders without --data-dir", ["reproduce", *F]),
        ("reproduce: tau = 0", ["reproduce", "--preset", "smoke", "--set", "adapt.dcl.tau=0"]),
        ("reproduce: negative lambda1", ["reproduce", "--preset", "smoke", "--set", "adapt.dcl.lambda1=-1"]),
        ("reproduce: unknown method in list", ["reproduce", "--preset", "smoke", "--set",
                                               "experiment.methods=[tgan,gan]"]),
        ("reproduce: FreezeD freezes all of D", ["reproduce", "--preset", "smoke", "--set", "adapt.freezed.layers=9"]),
        ("reproduce: batch of one", ["reproduce", "--preset", "smoke", "--set", "adapt.batch_size=1"]),
        ("reproduce: missing inception weights", ["reproduce", "--preset", "smoke", "--set",
                                                  f"eval.inception_weights={tmp / 'no.pth'}"]),
        ("reproduce: LPIPS lin weights with wrong keys", ["reproduce", *F, "--data-dir", str(good), "--set",
                                                          f"eval.lpips_weights={bad_lin}", "--set",
                                                          f"eval.lpips_backbone={not_ckpt}"]),
        ("reproduce: LPIPS backbone not a state dict", ["reproduce", *F, "--data-dir", str(good), "--set",
                                                        f"eval.lpips_weights={good_lin}", "--set",
                                                        f"eval.lpips_backbone={not_ckpt}"]),
        ("reproduce: LPIPS lin weights without a backbone", ["reproduce", *F, "--data-dir", str(good), "--set",
                                                             f"eval.lpips_weights={good_lin}"]),
        ("evaluate: inception weights of the wrong layout", ["evaluate", *F, "--data-dir", str(good), "--ckpt",
                                                             str(wrong_arch), "--set",
                                                             f"eval.inception_weights={good_lin}"]),
        ("reproduce: paper preset without a source", ["reproduce", "--preset", "paper", "--data-dir", str(good),
                                                      "--set", "data.image_size=16", "--set", "data.channels=1"]),
        ("pretrain: negative iterations", ["pretrain", "--preset", "smoke", "--set", "source.iters=-5"]),
        ("pretrain: unknown dataset", ["pretrain", "--preset", "smoke", "--dataset", "ffhq"]),
        ("adapt: unknown method", ["adapt", *F, "--data-dir", str(good), "--method", "gan"]),
        ("adapt: checkpoint of another package", ["adapt", *F, "--data-dir", str(good), "--method", "dcl",
                                                  "--source-ckpt", str(wrong_kind)]),
        ("adapt: source checkpoint of the wrong architecture", ["adapt", *F, "--data-dir", str(good), "--method",
                                                                "tgan", "--source-ckpt", str(wrong_arch)]),
        ("adapt: text file as checkpoint", ["adapt", *F, "--data-dir", str(good), "--method", "cdc",
                                            "--source-ckpt", str(not_ckpt)]),
        ("adapt: empty checkpoint", ["adapt", *F, "--data-dir", str(good), "--method", "ewc", "--source-ckpt",
                                     str(empty_ckpt)]),
        ("adapt: missing checkpoint", ["adapt", *F, "--data-dir", str(good), "--method", "ewc", "--source-ckpt",
                                       str(tmp / "none.pt")]),
        ("evaluate: wrong-kind checkpoint", ["evaluate", *F, "--data-dir", str(good), "--ckpt", str(wrong_kind)]),
        ("evaluate: wrong-architecture checkpoint", ["evaluate", *F, "--data-dir", str(good), "--ckpt",
                                                     str(wrong_arch)]),
        ("sample: zero samples", ["sample", "--preset", "smoke", "--ckpt", str(wrong_arch), "--n", "0"]),
        ("sample: missing checkpoint", ["sample", "--preset", "smoke", "--ckpt", str(tmp / "none.pt")]),
        ("data check: unknown dataset", ["data", "check", "--dataset", "ffhq"]),
        ("data check: folders with 9 shots", ["data", "check", "--dataset", "folders", "--data-dir", str(nine)]),
    ]
