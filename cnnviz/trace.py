"""Run a network layer by layer and keep every intermediate tensor by name."""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnviz.layers import layer_specs


@torch.no_grad()
def trace(model: nn.Module, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
    """Every intermediate tensor of `model` on `x`, keyed by layer name, in execution order.

    Works for any model whose leaf modules run in registration order (DigitCNN, nn.Sequential) and that
    cnnviz.layers describes.
    Adds "input", "logits" (the last layer's output) and "probabilities" (its softmax).
    Uses no hooks and leaves the model's train/eval mode as the caller set it.
    """
    if x.dim() == 3:
        x = x.unsqueeze(0)  # [1, C, H, W]
    if x.dim() != 4:
        raise ValueError(f"expected an image batch [B, C, H, W] or one image [C, H, W], got shape {tuple(x.shape)}")
    config = getattr(model, "config", None)
    if config is not None:
        expected = (config.in_channels, config.image_size, config.image_size)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"this model reads images of shape {list(expected)}, got {list(x.shape[1:])}: "
                             "resize the input first")
    out: OrderedDict[str, torch.Tensor] = OrderedDict(input=x)
    for spec in layer_specs(model, tuple(x.shape[1:])):  # checks every layer can read what it gets
        x = spec.module(x)
        out[spec.key] = x
    out["probabilities"] = torch.softmax(x, dim=1)
    return out
