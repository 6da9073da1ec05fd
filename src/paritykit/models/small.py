"""Two small models for fast tests: ``mlp`` (tabular) and ``small_cnn`` (vision)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paritykit.models.spec import ModelSpec, register_model

MLP_CONFIG: dict[str, Any] = {"in_features": 32, "hidden": [64, 64], "num_classes": 10}
SMALL_CNN_CONFIG: dict[str, Any] = {"in_channels": 3, "channels": [16, 32], "num_classes": 10,
                                    "image_size": 32}


class MLP(nn.Module):
    """Linear → ReLU blocks, then a linear head: ``layers.0``, ``layers.2``, …, ``head``."""

    def __init__(self, in_features: int, hidden: list[int], num_classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_features
        for size in hidden:
            blocks += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.layers = nn.Sequential(*blocks)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(x))


class SmallCNN(nn.Module):
    """Conv → BatchNorm → ReLU → MaxPool stages, global average pool, linear ``classifier``."""

    def __init__(self, in_channels: int, channels: list[int], num_classes: int) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        width = in_channels
        for size in channels:
            stages += [nn.Conv2d(width, size, 3, padding=1, bias=False), nn.BatchNorm2d(size),
                       nn.ReLU(), nn.MaxPool2d(2)]
            width = size
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def randomize_batchnorm(module: nn.Module) -> None:
    """Give every BatchNorm non-trivial statistics and affine terms.

    Fresh BatchNorms (mean 0, var 1, weight 1, bias 0) are the identity in eval mode, which
    would hide a backend that folds or drops them wrongly.
    """
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.running_mean is not None:
            with torch.no_grad():
                layer.running_mean.uniform_(-0.1, 0.1)
                layer.running_var.uniform_(0.5, 1.5)  # type: ignore[union-attr]
                if layer.affine:
                    layer.weight.uniform_(0.5, 1.5)
                    layer.bias.uniform_(-0.1, 0.1)


def _build_mlp(config: Mapping[str, Any]) -> nn.Module:
    return MLP(int(config["in_features"]), [int(h) for h in config["hidden"]],
               int(config["num_classes"]))


def _mlp_inputs(config: Mapping[str, Any], *, batch: int, **_: Any) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch, int(config["in_features"])),)


def _build_small_cnn(config: Mapping[str, Any]) -> nn.Module:
    model = SmallCNN(int(config["in_channels"]), [int(c) for c in config["channels"]],
                     int(config["num_classes"]))
    randomize_batchnorm(model)
    return model


def image_inputs(config: Mapping[str, Any], *, batch: int, image_size: int | None = None,
                 **_: Any) -> tuple[torch.Tensor, ...]:
    """One NCHW float image batch of the config's size (or ``image_size``)."""
    size = int(image_size or config["image_size"])
    return (torch.randn(batch, int(config.get("in_channels", 3)), size, size),)


MLP_SPEC = register_model(ModelSpec(
    "mlp", "tabular", MLP_CONFIG, "3-layer perceptron, 32 features → 10 classes",
    builder=_build_mlp, input_maker=_mlp_inputs))
SMALL_CNN_SPEC = register_model(ModelSpec(
    "small_cnn", "vision", SMALL_CNN_CONFIG, "2-stage conv/BN/ReLU/pool CNN, 32×32 → 10 classes",
    builder=_build_small_cnn, input_maker=image_inputs))
