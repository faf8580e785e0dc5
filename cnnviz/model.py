"""DigitCNN: the network built from a design (cnnviz/model_config.py: ModelConfig, its blocks and checks, whose
names this module re-exports), with count_parameters and leaf_layers.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnviz.model_config import (  # noqa: F401 - the design's names, used through this module too
    ACTIVATION_NAMES, CHAPTER_CONFIG, GAP_CONFIG, HEADS, MAX_BLOCKS, MAX_HIDDEN_LAYERS, MAX_KERNEL, MAX_PARAMETERS,
    PADDINGS, POOLS, ConvBlock, ModelConfig)

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
assert tuple(ACTIVATIONS) == ACTIVATION_NAMES
# Every activation offered is non-decreasing, so f(max(window)) = max(f(window)): it commutes with max pooling.
NON_DECREASING = tuple(ACTIVATIONS.values())


class DigitCNN(nn.Module):
    """Any valid design. Children are registered in execution order and forward runs them one after another:
    conv{i}, bn{i}, {activation}{n}, pool{i} per block, then flatten, fc1..fc{n} (dropout before the last),
    or gap, flatten, fc. Activations are numbered in order through the whole network (relu1, relu2, relu3)."""

    def __init__(self, config: ModelConfig = CHAPTER_CONFIG):
        super().__init__()
        self.config = config
        c_in, n_act = config.in_channels, 0
        for i, b in enumerate(config.blocks, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(c_in, b.channels, b.kernel_size, b.stride, b.pad,
                                                  bias=not b.batch_norm))
            if b.batch_norm:
                self.add_module(f"bn{i}", nn.BatchNorm2d(b.channels))
            n_act += 1
            self.add_module(f"{b.activation}{n_act}", ACTIVATIONS[b.activation]())
            if b.pool != "none":
                pool = nn.MaxPool2d if b.pool == "max" else nn.AvgPool2d
                self.add_module(f"pool{i}", pool(b.pool_size, b.pool_step))
            c_in = b.channels
        self.n_feature_layers = len(self._modules)
        if config.head == "gap":
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(c_in, config.num_classes)
            return
        self.flatten = nn.Flatten()
        widths = [config.flat_features, *config.hidden, config.num_classes]
        for j, (n_in, n_out) in enumerate(zip(widths, widths[1:]), start=1):
            if j == len(widths) - 1:
                self.dropout = nn.Dropout(config.dropout)
            self.add_module(f"fc{j}", nn.Linear(n_in, n_out))
            if j < len(widths) - 1:
                n_act += 1
                self.add_module(f"{config.activation}{n_act}", ACTIVATIONS[config.activation]())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv blocks: [B, C_in, H, W] -> [B, C, h, w] ([B, 32, 7, 7] for the chapter's design)."""
        for module in list(self.children())[:self.n_feature_layers]:
            x = module(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                                           # [B, C, h, w]
        for module in list(self.children())[self.n_feature_layers:]:
            x = module(x)                                              # ... -> [B, num_classes] logits
        return x

    def forward_pooling_first(self, x: torch.Tensor) -> torch.Tensor:
        """The logits of forward, with every max pooling run before the activation in front of it: the activation
        then touches a quarter of the values (2x2 windows), forward and backward. The gradients are forward's
        (for tanh and sigmoid up to which of several equal maxima gets a window's gradient). Training and test
        passes use it; forward keeps the design's order for hooks and traces. bench/NOTES.md §20."""
        for module in pooling_first(list(self.children())):
            x = module(x)
        return x


def pooling_first(modules: list[nn.Module]) -> list[nn.Module]:
    """`modules` in running order with each (activation, max pooling) pair swapped (see NON_DECREASING)."""
    order = list(modules)
    for i in range(len(order) - 1):
        if isinstance(order[i], NON_DECREASING) and isinstance(order[i + 1], nn.MaxPool2d):
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def leaf_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) for every leaf module in registration (= execution) order; nested Sequentials flattened."""
    leaves = []
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            leaves.append((name, module))
    return leaves
