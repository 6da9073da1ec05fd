"""MobileNetV2 (torchvision's architecture and parameter names).

``features.0.0.weight`` (stem conv), ``features.1.conv.0.0.weight`` (depthwise),
``features.18.1.running_var``, ``classifier.1.weight`` … are torchvision's names. Default input
224×224; smaller inputs work (e.g. ``example_inputs(image_size=64)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paritykit.models.small import image_inputs, randomize_batchnorm
from paritykit.models.spec import ModelSpec, register_model

MOBILENET_V2_CONFIG: dict[str, Any] = {
    "width_mult": 1.0, "round_nearest": 8, "num_classes": 1000, "dropout": 0.2,
    "in_channels": 3, "image_size": 224,
    # expansion t, output channels c, repeats n, first stride s
    "inverted_residual_setting": [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                                  [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]],
}


def make_divisible(value: float, divisor: int) -> int:
    """Round channels to a multiple of ``divisor`` without going below 90% (torchvision's rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def conv_bn_relu6(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1
                  ) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation``: indices ``0`` conv, ``1`` BN, ``2`` ReLU6."""
    return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6())


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise 3×3 → project (1×1, linear); residual when shapes agree."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_relu6(inp, hidden, kernel=1))
        layers += [conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """``features`` (stem, 17 inverted residuals, 1×1 conv to 1280) → pool → ``classifier``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        width, divisor = float(config["width_mult"]), int(config["round_nearest"])
        channels = make_divisible(32 * width, divisor)
        last = make_divisible(1280 * max(1.0, width), divisor)
        layers: list[nn.Module] = [conv_bn_relu6(int(config["in_channels"]), channels,
                                                 stride=2)]
        for t, c, n, s in config["inverted_residual_setting"]:
            out = make_divisible(c * width, divisor)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(conv_bn_relu6(channels, last, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(float(config["dropout"])),
                                        nn.Linear(last, int(config["num_classes"])))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def _build(config: Mapping[str, Any]) -> nn.Module:
    model = MobileNetV2(config)
    randomize_batchnorm(model)
    return model


MOBILENET_V2_SPEC = register_model(ModelSpec(
    "mobilenet_v2", "vision", MOBILENET_V2_CONFIG, "MobileNetV2, torchvision names, 1000 classes",
    builder=_build, input_maker=image_inputs))
