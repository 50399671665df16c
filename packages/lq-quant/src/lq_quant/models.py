"""Networks (full precision; :func:`lq_quant.layers.quantize_model` turns them into quantized ones).

| name            | what                                                                    | for            |
|-----------------|-------------------------------------------------------------------------|----------------|
| cnn             | 5 conv (w, 2w, 2w, 4w, 4w; BN, ReLU) + GAP + linear; w = ``width``        | MNIST-size     |
| resnet20        | He et al. 2016 CIFAR ResNet-20 (16/32/64, 3×3 blocks, option-A shortcut) | CIFAR          |
| resnet18        | torchvision ResNet-18 (``cifar_stem``: 3×3 stride-1 stem, no max-pool)    | ImageNet/CIFAR |
| alexnet         | torchvision AlexNet (ImageNet) / a 5-conv 3-fc CIFAR AlexNet             | ImageNet/CIFAR |
| mobilenetv2     | torchvision MobileNetV2 (``cifar_stem``: stride-1 first conv)             | ImageNet/CIFAR |

Every model takes ``in_channels`` (1 for (Fashion-)MNIST) and ``num_classes``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

MODELS = ("cnn", "resnet20", "resnet18", "alexnet", "mobilenetv2")


def _cbr(i: int, o: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(*_cbr(in_channels, w), *_cbr(w, 2 * w, 2), *_cbr(2 * w, 2 * w),
                                      *_cbr(2 * w, 4 * w, 2), *_cbr(4 * w, 4 * w))
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


class _Block(nn.Module):
    def __init__(self, i: int, o: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.pad = (o - i) if (stride != 1 or i != o) else 0
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x
        if self.stride != 1 or self.pad:  # option A: subsample + zero-pad channels (no parameters)
            sc = x[:, :, :: self.stride, :: self.stride]
            sc = F.pad(sc, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + sc)


class ResNet20(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 16, blocks: int = 3):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        layers, i = [], w
        for stage, o in enumerate((w, 2 * w, 4 * w)):
            for b in range(blocks):
                layers.append(_Block(i, o, 2 if (stage > 0 and b == 0) else 1))
                i = o
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class CifarAlexNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, 1, 1), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 192, 3, 1, 1), nn.BatchNorm2d(192), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(192, 384, 3, 1, 1), nn.BatchNorm2d(384), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, 1, 1), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, 1, 1), nn.BatchNorm2d(256), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(1024, 512), nn.ReLU(inplace=True), nn.Linear(512, 512),
                                        nn.ReLU(inplace=True), nn.Linear(512, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def build_model(name: str, in_channels: int, num_classes: int, width: int = 16, cifar_stem: bool = True) -> nn.Module:
    """A full-precision network by name (see the table above)."""
    import torchvision.models as tvm

    if name == "cnn":
        return SmallCNN(in_channels, num_classes, width)
    if name == "resnet20":
        return ResNet20(in_channels, num_classes, width)
    if name == "resnet18":
        m = tvm.resnet18(weights=None, num_classes=num_classes)
        if cifar_stem:
            m.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
            m.maxpool = nn.Identity()
        elif in_channels != 3:
            m.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        return m
    if name == "alexnet":
        if cifar_stem:
            return CifarAlexNet(in_channels, num_classes)
        m = tvm.alexnet(weights=None, num_classes=num_classes)
        if in_channels != 3:
            m.features[0] = nn.Conv2d(in_channels, 64, 11, 4, 2)
        return m
    if name == "mobilenetv2":
        m = tvm.mobilenet_v2(weights=None, num_classes=num_classes)
        old = m.features[0][0]
        m.features[0][0] = nn.Conv2d(in_channels, old.out_channels, 3, 1 if cifar_stem else 2, 1, bias=False)
        return m
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
