"""FID: the Fréchet distance by hand, and the local-weights Inception path (no download)."""

import numpy as np
import torch

from spectral_forensics.evaluate import InceptionFeatures, embed, frechet_distance


def test_frechet_distance_of_diagonal_gaussians_by_hand():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    # Σ (μ1 − μ2)² + Σ (σ1 − σ2)² for diagonal covariances
    want = (4 + 4) + ((1 - 3) ** 2 + (2 - 1) ** 2)
    assert abs(frechet_distance(mu1, s1, mu2, s2) - want) < 1e-9
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-9


def test_inception_features_from_a_local_weights_file(tmp_path):
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    path = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), path)
    net = InceptionFeatures(path)
    imgs = np.random.default_rng(0).integers(0, 255, size=(2, 1, 32, 32)).astype(np.uint8)
    f = embed(net, imgs, torch.device("cpu"))
    assert f.shape == (2, 2048) and np.isfinite(f).all()
