"""Networks, all exposing the same two parts: ``features(x)`` (the penultimate, global-pool output that the
paper projects) and ``fc`` (the final linear layer whose rows span the projection basis).

Names: ``cnn-small``, ``cnn``, ``cnn-large`` (small CNNs for CPU presets), ``resnet20``, ``resnet56``
(CIFAR ResNets, He et al. 2016), ``resnet18-cifar`` (ResNet-18 with a 3×3 stem for 32×32 inputs),
``resnet18``, ``resnet50``, ``mobilenetv2`` (torchvision, randomly initialised: no downloads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from reprokit import UsageError


class Classifier(nn.Module):
    """``logits = fc(dropout(backbone(x)))``; ``features(x) = backbone(x)`` is the penultimate layer."""

    def __init__(self, backbone: nn.Module, fc: nn.Linear, dropout: float = 0.0):
        super().__init__()
        self.backbone, self.fc = backbone, fc
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.backbone(x)))


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def small_cnn(num_classes: int, in_channels: int, width: int) -> Classifier:
    """Three conv stages (width, 2·width, 4·width), each conv-BN-ReLU then 2× down-sampling, global pool."""
    w = width
    backbone = nn.Sequential(
        _conv_bn(in_channels, w), nn.MaxPool2d(2),
        _conv_bn(w, 2 * w), nn.MaxPool2d(2),
        _conv_bn(2 * w, 4 * w), _conv_bn(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Classifier(backbone, nn.Linear(4 * w, num_classes))


class BasicBlock(nn.Module):
    """3×3-3×3 residual block; a 1×1 conv + BN shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def cifar_resnet(depth: int, num_classes: int, in_channels: int) -> Classifier:
    """ResNet-(6n+2) for CIFAR: a 16-channel stem, three stages of n blocks at 16/32/64 channels."""
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
    n = (depth - 2) // 6
    layers: list[nn.Module] = [_conv_bn(in_channels, 16)]
    cin = 16
    for i, cout in enumerate((16, 32, 64)):
        for j in range(n):
            layers.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Classifier(nn.Sequential(*layers), nn.Linear(64, num_classes))


def _torchvision_resnet(arch: str, num_classes: int, in_channels: int, cifar_stem: bool = False) -> Classifier:
    from torchvision import models

    net = getattr(models, arch)(weights=None, num_classes=num_classes)
    if cifar_stem:
        net.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    fc = net.fc
    net.fc = nn.Identity()
    return Classifier(net, fc)


def mobilenet_v2(num_classes: int, in_channels: int) -> Classifier:
    from torchvision import models

    net = models.mobilenet_v2(weights=None, num_classes=num_classes)
    if in_channels != 3:
        old = net.features[0][0]
        net.features[0][0] = nn.Conv2d(in_channels, old.out_channels, 3, 2, 1, bias=False)
    backbone = nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Classifier(backbone, net.classifier[1], dropout=0.2)


def mlp(num_classes: int, in_channels: int, hidden: int, input_hw: int = 28) -> Classifier:
    """``Flatten → Linear(C·H·W, hidden) → ReLU`` (the penultimate features) ``→ Linear(hidden, K)``.

    The issue #13 pilot's quick design: teacher 784-256-10, student 784-32-10 on Fashion-MNIST.
    """
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_hw * input_hw, hidden), nn.ReLU())
    return Classifier(backbone, nn.Linear(hidden, num_classes))


# Hidden widths of the one-hidden-layer MLPs (they need the input size, see build_model).
MLP_WIDTHS = {"mlp-256": 256, "mlp-32": 32}

MODELS: dict[str, Callable[[int, int], Classifier]] = {
    **{name: (lambda k, c, w=w: mlp(k, c, w)) for name, w in MLP_WIDTHS.items()},
    "cnn-small": lambda k, c: small_cnn(k, c, 8),
    "cnn": lambda k, c: small_cnn(k, c, 16),
    "cnn-large": lambda k, c: small_cnn(k, c, 32),
    "resnet20": lambda k, c: cifar_resnet(20, k, c),
    "resnet56": lambda k, c: cifar_resnet(56, k, c),
    "resnet18-cifar": lambda k, c: _torchvision_resnet("resnet18", k, c, cifar_stem=True),
    "resnet18": lambda k, c: _torchvision_resnet("resnet18", k, c),
    "resnet50": lambda k, c: _torchvision_resnet("resnet50", k, c),
    "mobilenetv2": mobilenet_v2,
}


def build_model(name: str, num_classes: int, in_channels: int = 3, input_hw: int = 28) -> Classifier:
    """A randomly initialised network by name (see :data:`MODELS`); ``input_hw`` (square image side)
    matters only to the MLPs, whose first layer sees every pixel."""
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    if name in MLP_WIDTHS:
        return mlp(num_classes, in_channels, MLP_WIDTHS[name], input_hw)
    return MODELS[name](num_classes, in_channels)


def load_backbone_weights(model: Classifier, path: str | Path) -> int:
    """Initialise ``model`` from a local torchvision ImageNet state dict (e.g. ``resnet50-*.pth``), as the
    official CUB recipe starts from ImageNet weights. Every tensor whose name and shape match is loaded;
    the 1000-class ``fc`` is kept only when the class count matches. Returns the number loaded."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a foreign or truncated file is the user's to fix
        raise UsageError(f"{path}: not a readable torch state dict ({type(e).__name__})") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise UsageError(f"{path}: expected a state dict of tensors")
    own = model.state_dict()
    renamed = {}
    for k, v in state.items():
        k = k.removeprefix("module.")
        for cand in (f"backbone.{k}", k, f"backbone.0.{k.removeprefix('features.')}" if k.startswith("features.")
                     else None, k.replace("classifier.1.", "fc.")):
            if cand in own and own[cand].shape == v.shape:
                renamed[cand] = v
                break
    if not any(k.startswith("backbone.") for k in renamed):
        raise UsageError(f"{path}: none of its tensors fit the {type(model.backbone).__name__} backbone; "
                         "give torchvision weights of the same architecture")
    model.load_state_dict(renamed, strict=False)
    return len(renamed)
