"""StarGAN: shapes for every last-upsampling setup, the switch, the losses by hand, a few training steps,
the domain-label sources (CelebA attribute list, subfolders) and `train-gan --gan stargan`."""

import json

import numpy as np
import pytest
import torch

from spectral_forensics.models import PAPER_SETUPS, ZeroInsert
from spectral_forensics.stargan import (
    StarDiscriminator,
    StarGenerator,
    build_stargan,
    cls_loss,
    gradient_penalty_2sided,
    train_stargan,
    translate_uint8,
)

SCFG = {"steps": 4, "batch_size": 4, "lr": 1e-4, "n_critic": 2, "lambda_cls": 1.0, "lambda_rec": 10.0,
        "lambda_gp": 10.0, "g_dim": 4, "d_dim": 4, "n_res": 1, "ckpt_every": 0}


@pytest.mark.parametrize("setup", PAPER_SETUPS)
def test_every_setup_translates_to_the_right_shape(setup):
    g = StarGenerator(setup, n_domains=3, channels=3, dim=4, n_res=1)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = g(x, torch.eye(3)[:2])
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1
    src, cls = StarDiscriminator(16, 3, 3, 4)(y)
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 3)


def test_the_last_stage_switch_really_changes_the_module():
    kinds = {}
    for setup in ("BASELINE", "N.1.5", "B.1.3", "Z.1.7", "Z.3.5"):
        last = StarGenerator(setup, 2, 3, 4, 1).last
        kinds[setup] = [type(m).__name__ for m in last]
    assert kinds["BASELINE"] == ["ConvTranspose2d"]
    assert kinds["N.1.5"] == ["Upsample", "Conv2d"] and kinds["Z.3.5"] == ["ZeroInsert", "Conv2d", "Conv2d", "Conv2d"]
    b, n = StarGenerator("B.1.3", 2, 3, 4, 1).last, StarGenerator("N.1.5", 2, 3, 4, 1).last
    assert b[0].mode == "bilinear" and n[0].mode == "nearest"
    assert b[1].kernel_size == (3, 3) and StarGenerator("Z.1.7", 2, 3, 4, 1).last[1].kernel_size == (7, 7)
    assert isinstance(StarGenerator("Z.1.7", 2, 3, 4, 1).last[0], ZeroInsert)
    # the last stage maps 2d → d channels; the rest of the network is StarGAN's own (7×7 head conv)
    g = StarGenerator("N.1.5", 2, 3, 4, 1)
    assert g.last[1].in_channels == 8 and g.last[1].out_channels == 4 and g.head[-1].kernel_size == (7, 7)
    # same seed: identical weights everywhere but in the last stage; different outputs
    g1, _ = build_stargan("BASELINE", 16, 3, 2, SCFG, 0)
    g2, _ = build_stargan("N.1.5", 16, 3, 2, SCFG, 0)
    for a, b_ in zip(list(g1.body.parameters()) + list(g1.head.parameters()),
                     list(g2.body.parameters()) + list(g2.head.parameters())):
        assert torch.equal(a, b_)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert not torch.allclose(g1(x, torch.eye(2)), g2(x, torch.eye(2)))


def test_official_generator_layout():
    g = StarGenerator("BASELINE", 5, 3, 64, 6)
    convs = [m for m in g.body if isinstance(m, torch.nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0]) for m in convs] == [(8, 64, 7), (64, 128, 4),
                                                                                  (128, 256, 4)]
    assert sum(isinstance(m, torch.nn.Module) and type(m).__name__ == "ResidualBlock" for m in g.body) == 6
    ups = [m for m in [*g.body, *g.last] if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride[0]) for m in ups] == [(256, 128, 2), (128, 64, 2)]
    # the official code's StarGAN counterexamples: the 2nd up-sampling → ×2 upsample + Conv(128, 64, 5)
    n = StarGenerator("N.1.5", 5, 3, 64, 6).last
    assert (n[1].in_channels, n[1].out_channels, n[1].kernel_size) == (128, 64, (5, 5))


def test_official_discriminator_layout_at_128():
    d = StarDiscriminator(128, 3, 5, 64)
    convs = [m for m in d.main if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [64, 128, 256, 512, 1024, 2048]
    assert d.cls.kernel_size == (2, 2) and d.src.kernel_size == (3, 3)


def test_domain_label_enters_as_input_channels():
    g = StarGenerator("BASELINE", 4, 3, 4, 1)
    assert g.body[0].in_channels == 3 + 4
    x = torch.zeros(1, 3, 16, 16)
    g.eval()
    assert not torch.allclose(g(x, torch.eye(4)[:1]), g(x, torch.eye(4)[1:2]))


def test_classification_losses_by_hand():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sig = torch.sigmoid(logits)
    bce = -(target * sig.log() + (1 - target) * (1 - sig).log()).sum() / 2
    assert torch.allclose(cls_loss(logits, target, "multi"), bce)
    ce = -(torch.log_softmax(logits, 1) * target).sum() / 2
    assert torch.allclose(cls_loss(logits, target, "single"), ce)


def test_two_sided_penalty_of_a_linear_critic():
    class Lin(torch.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.w = w

        def forward(self, x):
            return (x * self.w).flatten(1).sum(1, keepdim=True).view(-1, 1, 1, 1), None

    w = torch.full((1, 2, 2), 0.25)  # ‖∇‖ = 0.5 everywhere → (0.5 − 1)² = 0.25
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert torch.allclose(gradient_penalty_2sided(Lin(w), real, fake), torch.tensor(0.25))


def test_a_few_training_steps_run_and_change_the_weights(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, size=(8, 3, 16, 16), dtype=np.uint8)
    labels = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    g0, _ = build_stargan("Z.1.5", 16, 3, 2, SCFG, 1)
    logs = []
    g = train_stargan(imgs, labels, "single", "Z.1.5", SCFG, 1, torch.device("cpu"), tmp_path / "s.pt",
                      log_fn=logs.append)
    assert any(not torch.equal(a, b) for a, b in zip(g0.parameters(), g.parameters()))
    last = logs[-1]
    assert last["step"] == 4 and all(np.isfinite(last[k]) for k in ("d_cls", "d_gp", "g_rec", "g_adv"))
    out = translate_uint8(g, imgs, labels, 10, 0, torch.device("cpu"))
    assert out.shape == (10, 3, 16, 16) and out.dtype == np.uint8
    # a finished checkpoint reloads without training, to the same weights
    g2 = train_stargan(imgs, labels, "single", "Z.1.5", SCFG, 1, torch.device("cpu"), tmp_path / "s.pt")
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), g2.state_dict().values()))


def _attr_file(path, names, rows):
    attrs = ["5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    lines = [str(len(names)), " ".join(attrs)]
    lines += [f"{n} " + " ".join("1" if v else "-1" for v in r) for n, r in zip(names, rows)]
    path.write_text("\n".join(lines) + "\n")


def test_celeba_attribute_labels(tmp_path):
    from conftest import smooth_images, write_pngs

    from spectral_forensics.data import labelled_folder

    d = write_pngs(tmp_path / "img_align_celeba", smooth_images(4, 20, 0), rgb=True)
    rows = [[0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1], [1, 0, 0, 1, 1, 1], [0, 1, 0, 0, 0, 0]]
    _attr_file(tmp_path / "list_attr_celeba.txt", [f"img_{k:04d}.png" for k in range(3)], rows[:3])
    files, lab, domains, mode = labelled_folder(d, ["Black_Hair", "Male", "Young"])
    assert mode == "multi" and domains == ["Black_Hair", "Male", "Young"]
    assert [f.name for f in files] == ["img_0000.png", "img_0001.png", "img_0002.png"]  # img_0003: not listed
    assert lab.tolist() == [[1, 1, 0], [0, 0, 1], [0, 1, 1]]


def test_subfolder_domains(tmp_path):
    from conftest import smooth_images, write_pngs

    from spectral_forensics.data import labelled_folder

    write_pngs(tmp_path / "cats", smooth_images(2, 16, 0))
    write_pngs(tmp_path / "dogs", smooth_images(3, 16, 1))
    files, lab, domains, mode = labelled_folder(tmp_path, ["unused", "attrs"])
    assert mode == "single" and domains == ["cats", "dogs"]
    assert lab.sum(0).tolist() == [2, 3] and (lab.sum(1) == 1).all()
    assert [domains[int(i)] for i in lab.argmax(1)] == [f.parent.name for f in files]


def test_train_gan_stargan_command(tmp_path):
    from conftest import smooth_images, write_pngs

    from spectral_forensics.cli import main

    root = tmp_path / "domains"
    for k, dom in enumerate(("a", "b")):
        write_pngs(root / dom, smooth_images(16, 16, k), rgb=True)
    out = tmp_path / "s"
    assert main(["train-gan", "--gan", "stargan", "--upsample", "N.1.3", "--preset", "smoke", "--dataset", "folder",
                 "--data-dir", str(root), "--out", str(out), "--quiet", "--set", "data.size=16",
                 "--set", "data.channels=3", "--set", "data.n_train=20", "--set", "detector.n_real=10",
                 "--set", "detector.n_fake=10", "--set", "detector.n_train=5", "--set", "stargan.steps=2"]) == 0
    s = json.loads((out / "summary.json").read_text())["metrics"]
    assert s["gan"] == "stargan" and s["setup"] == "N.1.3"
    assert (out / "checkpoints" / "gan_stargan_N.1.3.pt").is_file()
    with np.load(out / "samples.npz") as z:
        assert z["images"].shape == (10, 3, 16, 16)


def test_stargan_without_domain_labels_is_refused(tmp_path, capsys):
    from conftest import smooth_images, write_pngs

    from spectral_forensics.cli import main

    flat = write_pngs(tmp_path / "flat", smooth_images(8, 16, 0))
    out = tmp_path / "x"
    assert main(["train-gan", "--gan", "stargan", "--preset", "smoke", "--dataset", "folder", "--data-dir", str(flat),
                 "--out", str(out)]) == 2
    assert "domain labels" in capsys.readouterr().err and not out.exists()
    assert main(["train-gan", "--gan", "stargan", "--preset", "smoke", "--out", str(out)]) == 2  # photos: no labels
    assert not out.exists()


def test_paper_preset_with_stargan_on_a_celeba_like_folder(tmp_path):
    from conftest import smooth_images, write_pngs

    from spectral_forensics.cli import main

    n = 30
    celeba = write_pngs(tmp_path / "img_align_celeba", smooth_images(n, 24, 5), rgb=True)
    rng = np.random.default_rng(0)
    _attr_file(tmp_path / "list_attr_celeba.txt", [f"img_{k:04d}.png" for k in range(n)],
               rng.integers(0, 2, size=(n, 6)).tolist())
    tiny = ["--set", "gan.gans=[stargan]", "--set", "gan.setups=[BASELINE,N.1.5,Z.1.5]", "--set", "stargan.steps=2",
            "--set", "stargan.g_dim=2", "--set", "stargan.d_dim=2", "--set", "stargan.n_res=1",
            "--set", "stargan.batch_size=4", "--set", "data.size=16", "--set", "data.centre_crop=20",
            "--set", "detector.n_real=12", "--set", "detector.n_fake=12", "--set", "detector.n_train=5",
            "--set", "detector.n_runs=2", "--set", "detector.classifiers=[knn]", "--set", "fid.enabled=false",
            "--set", "detector.durall_classifiers=[logreg]", "--set", "threads=1"]
    out = tmp_path / "p"
    assert main(["reproduce", "--preset", "paper", "--dataset", "folder", "--data-dir", str(celeba),
                 "--out", str(out), "--quiet", "--device", "cpu", *tiny]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [c["id"] for c in s["claims"]] == ["C1", "C2-N.1.5", "C3-Z.1.5"]
    assert (out / "checkpoints" / "gan_stargan_Z.1.5.pt").is_file()
    assert "stargan.hf_gap_db.N.1.5" in s["metrics"]
