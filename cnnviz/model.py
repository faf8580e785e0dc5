"""The chapter's DigitCNN, built from a small frozen config (FC head or Global-Average-Pooling head)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
HEADS = ("fc", "gap")


@dataclass(frozen=True)
class ModelConfig:
    in_channels: int = 1          # grayscale digits
    image_size: int = 28          # MNIST is 28x28
    channels: tuple = (16, 32)    # conv1 and conv2 output channels
    kernel_size: int = 3          # 3x3 kernels, "same" padding
    pool_size: int = 2            # 2x2 max pooling, stride 2
    hidden: int = 128             # FC1 width (FC head only)
    dropout: float = 0.25         # dropout before the last layer (FC head only)
    activation: str = "relu"      # relu | tanh | sigmoid
    head: str = "fc"              # "fc": flatten -> FC1 -> FC2; "gap": global average pool -> linear
    num_classes: int = 10         # digits 0-9

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        for name in ("in_channels", "image_size", "kernel_size", "pool_size", "hidden", "num_classes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if any(c < 1 for c in self.channels):
            raise ValueError(f"every conv layer needs at least 1 channel, got {self.channels}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.head not in HEADS:
            raise ValueError(f"head must be 'fc' or 'gap', got {self.head!r}")
        if len(self.channels) != 2:
            raise ValueError(f"channels must name two conv layers, e.g. (16, 32); got {self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd so padding keeps the size, got {self.kernel_size}")
        if self.feature_size < 1:
            raise ValueError(f"image_size {self.image_size} is too small for two {self.pool_size}x pools")

    @property
    def feature_size(self) -> int:
        """Spatial side after the two pooling layers (28 -> 14 -> 7)."""
        return self.image_size // self.pool_size // self.pool_size

    @property
    def flat_features(self) -> int:
        """Length of the flattened conv output feeding FC1 (32 * 7 * 7 = 1568)."""
        return self.channels[1] * self.feature_size ** 2

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


GAP_CONFIG = ModelConfig(head="gap")


class DigitCNN(nn.Module):
    """Two conv blocks and a classifier head. Children are registered in execution order."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        k, p = config.kernel_size, config.pool_size
        act = ACTIVATIONS[config.activation]
        name = config.activation
        self.conv1 = nn.Conv2d(config.in_channels, c1, k, padding=k // 2)
        self.add_module(f"{name}1", act())
        self.pool1 = nn.MaxPool2d(p, p)
        self.conv2 = nn.Conv2d(c1, c2, k, padding=k // 2)
        self.add_module(f"{name}2", act())
        self.pool2 = nn.MaxPool2d(p, p)
        if config.head == "fc":
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(config.flat_features, config.hidden)
            self.add_module(f"{name}3", act())
            self.dropout = nn.Dropout(config.dropout)
            self.fc2 = nn.Linear(config.hidden, config.num_classes)
        else:
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(c2, config.num_classes)

    def act(self, i: int) -> nn.Module:
        return getattr(self, f"{self.config.activation}{i}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv stack: [B, 1, 28, 28] -> [B, 32, 7, 7]."""
        x = self.act(1)(self.conv1(x))  # [B, 16, 28, 28]
        x = self.pool1(x)               # [B, 16, 14, 14]
        x = self.act(2)(self.conv2(x))  # [B, 32, 14, 14]
        x = self.pool2(x)               # [B, 32, 7, 7]
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                      # [B, 32, 7, 7]
        if self.config.head == "gap":
            x = self.flatten(self.gap(x))         # [B, 32]
            return self.fc(x)                     # [B, 10] logits
        x = self.flatten(x)                       # [B, 1568]
        x = self.act(3)(self.fc1(x))              # [B, 128]
        x = self.dropout(x)                       # [B, 128]
        return self.fc2(x)                        # [B, 10] logits


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def leaf_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) for every leaf module in registration (= execution) order; nested Sequentials flattened."""
    leaves = []
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            leaves.append((name, module))
    return leaves
