"""The layer / shape / parameter table, built by introspecting a model."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.data import IMAGE_SIZE
from cnnviz.model import HEADS, DigitCNN, ModelConfig, leaf_layers


@dataclass(frozen=True)
class LayerRow:
    name: str            # module name, e.g. "conv1"
    kind: str            # class name, e.g. "Conv2d"
    op: str              # e.g. "Conv2d(1, 16, 3, pad=1)"
    output_shape: tuple  # without the batch dimension, e.g. (16, 28, 28)
    params: int
    arithmetic: str      # e.g. "16×1×3×3 + 16 = 160"
    share: float         # params / total, in [0, 1]


def _pair(v) -> int | tuple:
    if isinstance(v, tuple) and len(set(v)) == 1:
        return v[0]
    return v


def describe(layer: nn.Module) -> str:
    """A short op description in PyTorch's argument order."""
    if isinstance(layer, nn.Conv2d):
        text = f"Conv2d({layer.in_channels}, {layer.out_channels}, {_pair(layer.kernel_size)}"
        if _pair(layer.stride) != 1:
            text += f", stride={_pair(layer.stride)}"
        if _pair(layer.padding) not in (0, "valid"):
            text += f", pad={_pair(layer.padding)}"
        if _pair(layer.dilation) != 1:
            text += f", dilation={_pair(layer.dilation)}"
        return text + ")"
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        text = f"{type(layer).__name__}({_pair(layer.kernel_size)}, {_pair(layer.stride)}"
        if _pair(layer.padding) != 0:
            text += f", pad={_pair(layer.padding)}"
        return text + ")"
    if isinstance(layer, nn.AdaptiveAvgPool2d):
        return f"GlobalAvgPool → {_pair(layer.output_size)}×{_pair(layer.output_size)}"
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, nn.Dropout):
        return f"Dropout({layer.p:g})"
    if isinstance(layer, nn.ReLU):
        return "ReLU: max(0, x)"
    if isinstance(layer, nn.Tanh):
        return "tanh(x)"
    if isinstance(layer, nn.Sigmoid):
        return "sigmoid: 1/(1+e^-x)"
    if isinstance(layer, nn.Flatten):
        return "Flatten"
    return type(layer).__name__


def arithmetic(layer: nn.Module) -> str:
    """How the layer's parameter count comes about, as text."""
    own = list(layer.parameters(recurse=False))
    total = sum(p.numel() for p in own)
    if total == 0:
        return "0"
    shapes = [tuple(p.shape) for p in own]
    if isinstance(layer, nn.Linear):  # read as in × out, the way the chapter writes it
        shapes[0] = shapes[0][::-1]
    terms = ["×".join(str(d) for d in s) for s in shapes]
    if len(terms) == 1 and "×" not in terms[0]:
        return f"{total:,}"
    return f"{' + '.join(terms)} = {total:,}"


def model_input_shape(model: nn.Module) -> tuple[int, int, int]:
    """[C, H, W] of one input the model reads: from its config, else an MNIST digit's [1, 28, 28]."""
    config = getattr(model, "config", None)
    if config is None:
        return (1, IMAGE_SIZE, IMAGE_SIZE)
    return (config.in_channels, config.image_size, config.image_size)


def layer_table(model: nn.Module, input_shape: tuple | None = None) -> list[LayerRow]:
    """One row per leaf layer in execution order, with output shape, parameters and share of the total.

    `input_shape` is [B, C, H, W]; by default one input of `model_input_shape(model)`.
    """
    if input_shape is None:
        input_shape = (1, *model_input_shape(model))
    layers = leaf_layers(model)
    total = sum(p.numel() for p in model.parameters())
    rows = []
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        x = torch.zeros(input_shape, device=param.device if param is not None else "cpu")
        with torch.no_grad():
            for name, layer in layers:
                x = layer(x)
                params = sum(p.numel() for p in layer.parameters(recurse=False))
                rows.append(LayerRow(name, type(layer).__name__, describe(layer), tuple(x.shape[1:]),
                                     params, arithmetic(layer), params / total if total else 0.0))
    finally:
        model.train(was_training)
    return rows


def head_tables(config: ModelConfig) -> dict[str, list[LayerRow]]:
    """The layer table of the same network with each head ("fc", "gap"): where the parameters live."""
    hidden = {"fc": config.hidden if config.head == "fc" else (128,), "gap": ()}
    return {head: layer_table(DigitCNN(dataclasses.replace(config, head=head, hidden=hidden[head])))
            for head in HEADS}
