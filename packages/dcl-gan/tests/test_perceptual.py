"""LPIPS and Inception-FID from local weight files: random torchvision weights saved to tmp, no downloads."""

import time

import numpy as np
import pytest
import torch

from dcl_gan.evaluate import fid_from_features, frechet_distance, intra_cluster_diversity
from dcl_gan.perceptual import CHANNELS, LPIPS, InceptionFeatures
from reprokit import UsageError


def _lin_file(path, net, seed):
    g = torch.Generator().manual_seed(seed)
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for i, c in enumerate(CHANNELS[net])},
               path)
    return path


@pytest.fixture(scope="module")
def vgg_files(tmp_path_factory):
    from torchvision.models import vgg16

    tmp = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    net = vgg16(weights=None)
    # the features part of a torchvision vgg16 state dict (the classifier's 120 M weights are not needed)
    torch.save({k: v for k, v in net.state_dict().items() if k.startswith("features.")}, tmp / "vgg16.pth")
    return net.features.eval(), tmp / "vgg16.pth", _lin_file(tmp / "vgg.pth", "vgg", 1), tmp


def _images(n, size, seed, channels=3):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=g) * 2 - 1


def _hand_lpips(features, lin, x, y, taps=(3, 8, 15, 22, 29)):
    """The LPIPS formula written out in numpy on the torchvision module's activations at relu1_2..relu5_3."""
    shift = np.array([-0.030, -0.088, -0.188]).reshape(1, 3, 1, 1)
    scale = np.array([0.458, 0.448, 0.450]).reshape(1, 3, 1, 1)

    def acts(im):
        h, out = torch.as_tensor(((im.numpy() - shift) / scale).astype(np.float32)), []
        with torch.no_grad():
            for i, layer in enumerate(features):
                h = layer(h)
                if i in taps:
                    out.append(h.numpy().astype(np.float64))
        return out

    total = np.zeros(len(x))
    for l, (a, b) in enumerate(zip(acts(x), acts(y))):
        a = a / (np.sqrt((a ** 2).sum(1, keepdims=True)) + 1e-10)
        b = b / (np.sqrt((b ** 2).sum(1, keepdims=True)) + 1e-10)
        w = lin[f"lin{l}.model.1.weight"].numpy().reshape(1, -1, 1, 1).astype(np.float64)
        total += (w * (a - b) ** 2).sum(1).mean((1, 2))
    return total


def test_lpips_vgg_matches_the_formula_is_zero_on_itself_and_symmetric(vgg_files):
    features, bb, lin, _ = vgg_files
    lp = LPIPS("vgg", bb, lin)
    x, y = _images(2, 32, 0), _images(2, 32, 1)
    d_xy, d_yx = lp(x, y).numpy(), lp(y, x).numpy()
    assert np.allclose(lp(x, x).numpy(), 0.0, atol=1e-7)
    assert np.allclose(d_xy, d_yx, rtol=1e-6)
    hand = _hand_lpips(features, torch.load(lin, weights_only=True), x, y)
    assert d_xy.min() > 1e-3
    np.testing.assert_allclose(d_xy, hand, rtol=1e-4)
    # the embedding form used for pairwise distances agrees with the direct formula
    pw = lp.pairwise(torch.cat([x, y]), torch.cat([x, y]))
    np.testing.assert_allclose(np.diag(pw[:2, 2:]), d_xy, rtol=1e-4)
    np.testing.assert_allclose(pw, pw.T, rtol=1e-5, atol=1e-7)
    assert np.allclose(np.diag(pw), 0.0, atol=1e-5)
    # grey images are repeated to three channels
    g = _images(1, 32, 2, channels=1)
    assert lp(g, y[:1]).item() == pytest.approx(lp(g.repeat(1, 3, 1, 1), y[:1]).item(), rel=1e-6)


def test_lpips_alexnet_from_a_full_state_dict_and_intra_lpips(tmp_path):
    from torchvision.models import alexnet

    torch.manual_seed(0)
    net = alexnet(weights=None)
    torch.save(net.state_dict(), tmp_path / "alexnet.pth")  # the full layout, classifier keys included
    lin = _lin_file(tmp_path / "alex.pth", "alex", 2)
    lp = LPIPS("alex", tmp_path / "alexnet.pth", lin)
    x, y = _images(2, 64, 3), _images(2, 64, 4)
    hand = _hand_lpips(net.features.eval(), torch.load(lin, weights_only=True), x, y, taps=(1, 4, 7, 9, 11))
    np.testing.assert_allclose(lp(x, y).numpy(), hand, rtol=1e-4)
    # intra-cluster diversity with LPIPS: two copies of each shot → every cluster's mean pair distance 0
    shots = _images(3, 64, 5)
    assert intra_cluster_diversity(torch.cat([shots, shots]).numpy(), shots.numpy(),
                                   dist=lp.pairwise)["diversity"] == pytest.approx(0.0, abs=1e-5)


def test_lpips_files_with_wrong_keys_or_shapes_are_refused(vgg_files, tmp_path):
    _, bb, lin, _ = vgg_files
    bad_lin = tmp_path / "bad_lin.pth"
    torch.save({f"lin{i}.weight": torch.ones(1, c, 1, 1) for i, c in enumerate(CHANNELS["vgg"])}, bad_lin)
    with pytest.raises(UsageError, match="expected keys"):
        LPIPS("vgg", bb, bad_lin)
    with pytest.raises(UsageError, match="shape"):  # AlexNet lin weights with a VGG backbone
        LPIPS("vgg", bb, _lin_file(tmp_path / "alex.pth", "alex", 0))
    with pytest.raises(UsageError, match="expected keys"):  # the lin file given as the backbone
        LPIPS("vgg", lin, lin)
    neg = tmp_path / "neg.pth"
    torch.save({f"lin{i}.model.1.weight": -torch.ones(1, c, 1, 1) for i, c in enumerate(CHANNELS["vgg"])}, neg)
    with pytest.raises(UsageError, match="negative"):
        LPIPS("vgg", bb, neg)
    text = tmp_path / "text.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(UsageError, match="not a readable"):
        LPIPS("vgg", bb, text)


def test_cli_refuses_bad_lpips_files_with_exit_2_and_writes_nothing(vgg_files, fmnist_dir, tmp_path, monkeypatch,
                                                                    capsys):
    from dcl_gan.cli import main

    _, bb, lin, _ = vgg_files
    bad = tmp_path / "bad_lin.pth"
    torch.save({"lin0.weight": torch.ones(1, 64, 1, 1)}, bad)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    before = set(tmp_path.rglob("*"))
    for extra in (["--set", f"eval.lpips_backbone={bb}", "--set", f"eval.lpips_weights={bad}"],
                  ["--set", f"eval.lpips_weights={lin}"],  # the backbone is missing
                  ["--set", f"eval.lpips_backbone={bb}", "--set", f"eval.lpips_weights={lin}",
                   "--set", "eval.lpips_net=alex"]):  # VGG files declared as AlexNet
        assert main(["reproduce", "--preset", "smoke", "--data-dir", str(fmnist_dir), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0], err
    assert set(tmp_path.rglob("*")) == before


def test_evaluator_uses_lpips_for_intra_cluster_diversity(vgg_files):
    from dcl_gan.data import to_float
    from dcl_gan.evaluate import Evaluator
    from dcl_gan.models import FeatureNet

    _, bb, lin, _ = vgg_files
    lp = LPIPS("vgg", bb, lin)
    rng = np.random.default_rng(0)
    shots = rng.integers(0, 256, (4, 1, 32, 32), dtype=np.uint8)
    ev = Evaluator(FeatureNet(1, 10, 4).eval(), FeatureNet(1, 2, 4).eval(), shots,
                   rng.integers(0, 256, (8, 1, 32, 32), dtype=np.uint8), n_samples=8, max_per_cluster=50, lpips=lp)
    assert ev.div_name == "intra-LPIPS (VGG-16, local weights)"
    assert ev.images_metrics(to_float(np.concatenate([shots, shots])))["intra_div"] == pytest.approx(0.0, abs=1e-5)
    x = to_float(rng.integers(0, 256, (8, 1, 32, 32), dtype=np.uint8))
    m = ev.images_metrics(x)
    ref = intra_cluster_diversity(x.numpy(), to_float(shots).numpy(), dist=lp.pairwise)
    assert m["intra_div"] == pytest.approx(ref["diversity"], rel=1e-9) and m["intra_div"] > 0
    assert m["nn_shot_dist"] == pytest.approx(float(lp.pairwise(x, to_float(shots)).min(1).mean()), rel=1e-9)


def test_low_rank_fid_equals_the_matrix_square_root_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(12, 30)), rng.normal(size=(9, 30)) * 1.5 + 0.3  # fewer samples than dimensions
    full = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert fid_from_features(a, b) == pytest.approx(full, rel=1e-6)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-8)


def test_inception_fid_path_from_a_local_state_dict(tmp_path):
    from torchvision.models import inception_v3

    from dcl_gan.perceptual import check_inception_file

    torch.manual_seed(0)
    t0 = time.perf_counter()
    net = inception_v3(weights=None, aux_logits=False, init_weights=False)
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    feats = InceptionFeatures(tmp_path / "inception.pth")
    x = _images(4, 75, 6, channels=1)
    with torch.no_grad():
        f = feats(x).numpy()
    assert f.shape == (4, 2048) and np.isfinite(f).all()
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6 * max(1.0, float((f ** 2).sum())))
    f2 = feats(_images(4, 75, 7, channels=1)).detach().numpy()
    assert fid_from_features(f, f2) > 0
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.ones(3, 3)}, bad)
    with pytest.raises(UsageError, match="expected keys"):
        check_inception_file(bad)
    assert time.perf_counter() - t0 < 60
