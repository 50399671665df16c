"""Every network exposes features() and fc with matching sizes; unknown names list the valid ones."""

import pytest
import torch

from lskd.models import MODELS, build_model
from reprokit import UsageError


@pytest.mark.parametrize(("name", "channels", "size"), [("cnn-small", 1, 28), ("cnn", 1, 28), ("cnn-large", 3, 32),
                                                        ("resnet20", 3, 32), ("resnet56", 1, 28),
                                                        ("resnet18-cifar", 3, 32), ("resnet18", 1, 64),
                                                        ("resnet50", 3, 64), ("mobilenetv2", 3, 64)])
def test_models_forward_and_features(name, channels, size):
    torch.manual_seed(0)
    model = build_model(name, 7, channels).eval()
    x = torch.randn(2, channels, size, size)
    with torch.no_grad():
        logits, feats = model(x), model.features(x)
    assert logits.shape == (2, 7)
    assert feats.shape == (2, model.fc.in_features)
    torch.testing.assert_close(model.fc(feats), logits)  # eval: logits = fc(features)


def test_cifar_resnet_depths():
    n20 = sum(p.numel() for p in build_model("resnet20", 10, 3).parameters())
    n56 = sum(p.numel() for p in build_model("resnet56", 10, 3).parameters())
    assert 0.26e6 < n20 < 0.30e6 and 0.84e6 < n56 < 0.90e6  # ≈ 0.27M and 0.85M (He et al. 2016)


def test_unknown_model_lists_valid_names():
    with pytest.raises(UsageError) as e:
        build_model("vgg16", 10)
    assert all(n in str(e.value) for n in MODELS)


@pytest.mark.parametrize(("name", "hidden"), [("mlp-256", 256), ("mlp-32", 32)])
def test_mlps_are_one_hidden_layer_of_the_stated_width(name, hidden):
    model = build_model(name, 10, 1, input_hw=28)
    x = torch.randn(3, 1, 28, 28)
    assert model.features(x).shape == (3, hidden) and model(x).shape == (3, 10)
    assert (model.features(x) >= 0).all()  # ReLU features
    assert sum(p.numel() for p in model.parameters()) == 784 * hidden + hidden + hidden * 10 + 10
    assert build_model(name, 10, 3, input_hw=32)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_backbone_weights_load_from_a_torchvision_state_dict(tmp_path):
    """The official CUB recipe starts from ImageNet weights: a local torchvision file fills the backbone;
    the 1000-class fc is left alone for 200 classes; a file of another architecture is refused."""
    from torchvision import models

    from lskd.models import load_backbone_weights

    ref = models.resnet18(weights=None, num_classes=1000)
    torch.save(ref.state_dict(), tmp_path / "r18.pth")
    model = build_model("resnet18", 200, 3)
    fc_before = model.fc.weight.clone()
    n = load_backbone_weights(model, tmp_path / "r18.pth")
    assert n == len(ref.state_dict()) - 2  # all but fc.weight / fc.bias
    assert torch.equal(model.backbone.conv1.weight, ref.conv1.weight)
    assert torch.equal(model.fc.weight, fc_before)
    torch.save(models.mobilenet_v2(weights=None).state_dict(), tmp_path / "mnv2.pth")
    with pytest.raises(UsageError, match="none of its tensors fit"):
        load_backbone_weights(build_model("cnn", 10, 1), tmp_path / "mnv2.pth")
