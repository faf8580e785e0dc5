"""The layer / shape / parameter table, built by introspecting a model."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from cnnviz.data import IMAGE_SIZE
from cnnviz.layers import LayerSpec, layer_specs
from cnnviz.model import HEADS, DigitCNN, ModelConfig


@dataclass(frozen=True)
class LayerRow:
    name: str            # module name, e.g. "conv1"
    kind: str            # the module's class name, e.g. "Conv2d"
    op: str              # e.g. "Conv2d(1, 16, 3, pad=1)"
    output_shape: tuple  # without the batch dimension, e.g. (16, 28, 28)
    params: int
    arithmetic: str      # e.g. "16×1×3×3 + 16 = 160"
    share: float         # params / total, in [0, 1]
    layer_kind: str = ""  # the kind cnnviz.layers gives it: "conv", "batch_norm", "activation", "max_pool", ...


_ACTIVATION_TEXT = {"ReLU": "ReLU: max(0, x)", "Tanh": "tanh(x)", "Sigmoid": "sigmoid: 1/(1+e^-x)"}


def describe(spec: LayerSpec) -> str:
    """A short op description of one layer (a cnnviz.layers.LayerSpec) in PyTorch's argument order."""
    layer = spec.module
    if spec.kind == "conv":
        text = f"Conv2d({layer.in_channels}, {layer.out_channels}, {spec.kernel_size}"
        if spec.stride != 1:
            text += f", stride={spec.stride}"
        if spec.padding:
            text += f", pad={spec.padding}"
        if spec.dilation != 1:
            text += f", dilation={spec.dilation}"
        return text + (", no bias)" if layer.bias is None else ")")
    if spec.kind in ("max_pool", "avg_pool"):
        text = f"{type(layer).__name__}({spec.kernel_size}, {spec.stride}"
        return text + (f", pad={spec.padding})" if spec.padding else ")")
    if spec.kind == "global_avg_pool":
        return "GlobalAvgPool → 1×1"
    if spec.kind == "batch_norm":
        return f"BatchNorm2d({layer.num_features})"
    if spec.kind == "linear":
        return f"Linear({layer.in_features}, {layer.out_features})"
    if spec.kind == "dropout":
        return f"Dropout({layer.p:g})"
    if spec.kind == "flatten":
        return "Flatten"
    if isinstance(layer, nn.LeakyReLU):
        return f"LeakyReLU: max({layer.negative_slope:g}x, x)"
    return _ACTIVATION_TEXT.get(type(layer).__name__, type(layer).__name__)


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

    `input_shape` is [B, C, H, W]; by default one input of `model_input_shape(model)`. Runs nothing: the shapes
    come from cnnviz.layers.
    """
    if input_shape is None:
        input_shape = (1, *model_input_shape(model))
    specs = layer_specs(model, tuple(input_shape[1:]))
    total = sum(p.numel() for p in model.parameters())
    return [LayerRow(s.name, type(s.module).__name__, describe(s), s.out_shape, s.params, arithmetic(s.module),
                     s.params / total if total else 0.0, s.kind) for s in specs]


def head_tables(config: ModelConfig) -> dict[str, list[LayerRow]]:
    """The layer table of the same network with each head ("fc", "gap"): where the parameters live."""
    hidden = {"fc": config.hidden if config.head == "fc" else (128,), "gap": ()}
    return {head: layer_table(DigitCNN(dataclasses.replace(config, head=head, hidden=hidden[head])))
            for head in HEADS}
