"""ResNet-18 and ResNet-34 (torchvision's architecture and parameter names; BasicBlock).

``conv1.weight``, ``bn1.running_mean``, ``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``,
``fc.weight`` … are torchvision's names, so ``torchvision.models.resnet34(weights=...)``'s
``state_dict`` saved as safetensors loads with ``--weights``. The default input is 224×224;
any size from 32×32 works (global average pooling), e.g. ``example_inputs(image_size=64)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paritykit.models.small import image_inputs, randomize_batchnorm
from paritykit.models.spec import ModelSpec, register_model

RESNET18_CONFIG: dict[str, Any] = {"block": "basic", "layers": [2, 2, 2, 2],
                                   "num_classes": 1000, "in_channels": 3, "image_size": 224}
RESNET34_CONFIG: dict[str, Any] = {"block": "basic", "layers": [3, 4, 6, 3],
                                   "num_classes": 1000, "in_channels": 3, "image_size": 224}


class BasicBlock(nn.Module):
    """Two 3×3 convs with BatchNorm; ``downsample`` (1×1 conv + BN) when the shape changes."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet(nn.Module):
    """``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``, as torchvision's ResNet."""

    def __init__(self, layers: list[int], num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [64, 128, 256, 512]
        inplanes = 64
        for index, (planes, count) in enumerate(zip(widths, layers, strict=True)):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(inplanes, planes, stride)]
            blocks += [BasicBlock(planes, planes) for _ in range(count - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _build(config: Mapping[str, Any]) -> nn.Module:
    model = ResNet([int(n) for n in config["layers"]], int(config["num_classes"]),
                   int(config["in_channels"]))
    randomize_batchnorm(model)
    return model


RESNET18_SPEC = register_model(ModelSpec(
    "resnet18", "vision", RESNET18_CONFIG, "ResNet-18, torchvision names, 1000 classes",
    builder=_build, input_maker=image_inputs))
RESNET34_SPEC = register_model(ModelSpec(
    "resnet34", "vision", RESNET34_CONFIG, "ResNet-34, torchvision names, 1000 classes",
    builder=_build, input_maker=image_inputs))
