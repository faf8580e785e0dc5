"""The one description of a model's layers: what kind each leaf layer is, its square settings, its shapes.

The trace, the unit inspector, the receptive-field calculator, the architecture table, the design summary
and the views all read `layer_specs(model)`; none of them asks a module what it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from cnnviz.model import leaf_layers

KINDS = ("conv", "batch_norm", "activation", "max_pool", "avg_pool", "global_avg_pool", "flatten", "linear",
         "dropout")
SPATIAL = ("conv", "max_pool", "avg_pool")                  # layers with a window: they grow the receptive field
POINTWISE = ("batch_norm", "activation", "dropout")          # one value in, one value out, the shape kept
# element-wise modules of torch.nn.modules.activation that are not activations in our sense
_NOT_ELEMENTWISE = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.GLU, nn.MultiheadAttention)


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """One leaf layer. Square settings are ints (None where the kind has none); shapes exclude the batch and
    are None when the model's input size is unknown."""
    name: str                     # module name, e.g. "conv1"
    kind: str                     # one of KINDS
    module: nn.Module
    kernel_size: int | None       # conv and pools
    stride: int | None
    padding: int | None           # zeros added on each side
    dilation: int | None
    in_shape: tuple | None        # e.g. (1, 28, 28)
    out_shape: tuple | None       # e.g. (16, 28, 28)
    key: str = ""                 # the name in cnnviz.trace.trace(): "logits" for the last layer
    params: int = 0               # the module's own parameters

    @property
    def effective_kernel(self) -> int:
        """Span of the (dilated) kernel in input cells."""
        return self.dilation * (self.kernel_size - 1) + 1


def _square(module: nn.Module, attr: str, name: str) -> int:
    value = getattr(module, attr)
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(f"{name}: {type(module).__name__} has a non-square {attr} {tuple(value)}; only "
                             "square ones are supported")
        value = value[0]
    return int(value)


def _kind(name: str, module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, nn.BatchNorm2d):
        return "batch_norm"
    if isinstance(module, nn.MaxPool2d):
        return "max_pool"
    if isinstance(module, nn.AvgPool2d):
        return "avg_pool"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        if _square(module, "output_size", name) != 1:
            raise ValueError(f"{name}: only a global average pool (output size 1) is supported, got "
                             f"output_size {module.output_size}")
        return "global_avg_pool"
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise ValueError(f"{name}: only Flatten() over everything after the batch is supported")
        return "flatten"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.Dropout, nn.Dropout2d)):
        return "dropout"
    if type(module).__module__ == "torch.nn.modules.activation" and not isinstance(module, _NOT_ELEMENTWISE):
        return "activation"
    raise ValueError(f"{name}: {type(module).__name__} is not supported; build the model from Conv2d, "
                     "BatchNorm2d, element-wise activations, MaxPool2d / AvgPool2d, AdaptiveAvgPool2d(1), "
                     "Flatten, Linear and Dropout")


def _window(name: str, kind: str, module: nn.Module) -> tuple[int, int, int, int]:
    """(kernel_size, stride, padding, dilation) of a conv or pooling layer, square ints."""
    k = _square(module, "kernel_size", name)
    if kind == "conv":
        d = _square(module, "dilation", name)
        if module.padding == "valid":
            p = 0
        elif module.padding == "same":
            if (d * (k - 1)) % 2:
                raise ValueError(f"{name}: padding='same' with an even kernel pads unevenly; use an odd kernel")
            p = d * (k - 1) // 2
        else:
            p = _square(module, "padding", name)
        return k, _square(module, "stride", name), p, d
    if module.ceil_mode:
        raise ValueError(f"{name}: ceil_mode=True is not supported; use ceil_mode=False")
    stride = k if module.stride is None else _square(module, "stride", name)
    d = _square(module, "dilation", name) if kind == "max_pool" else 1
    return k, stride, _square(module, "padding", name), d


def _out_shape(spec_name: str, kind: str, module: nn.Module, shape: tuple, window: tuple) -> tuple:
    """The output shape (no batch) of one layer given its input shape; a ValueError if it cannot read it."""
    def wrong(what: str):
        return ValueError(f"{spec_name} reads {what} but gets shape {list(shape)}: resize the input or fix "
                          "the layer before it")

    if kind in ("conv", "max_pool", "avg_pool", "global_avg_pool", "batch_norm") and len(shape) != 3:
        raise wrong("feature maps [C, H, W]")
    if kind == "conv":
        if shape[0] != module.in_channels:
            raise wrong(f"{module.in_channels} channels")
        k, s, p, d = window
        h, w = ((n + 2 * p - d * (k - 1) - 1) // s + 1 for n in shape[1:])
        if h < 1 or w < 1:
            raise ValueError(f"{spec_name}'s {k}×{k} kernel is larger than its padded {shape[1]}×{shape[2]} "
                             "input: use a smaller kernel or a larger input")
        return (module.out_channels, h, w)
    if kind in ("max_pool", "avg_pool"):
        k, s, p, d = window
        h, w = ((n + 2 * p - d * (k - 1) - 1) // s + 1 for n in shape[1:])
        if h < 1 or w < 1:
            raise ValueError(f"{spec_name}'s {k}×{k} window is larger than its {shape[1]}×{shape[2]} input")
        return (shape[0], h, w)
    if kind == "global_avg_pool":
        return (shape[0], 1, 1)
    if kind == "batch_norm" and shape[0] != module.num_features:
        raise wrong(f"{module.num_features} channels")
    if kind == "flatten":
        return (math.prod(shape),)
    if kind == "linear":
        if shape[-1] != module.in_features:
            raise wrong(f"{module.in_features} features")
        return (*shape[:-1], module.out_features)
    return tuple(shape)


def _config_input_shape(model: nn.Module) -> tuple | None:
    """[C, H, W] of one input, from the model's config; None when the model has no config."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    return (config.in_channels, config.image_size, config.image_size)


def layer_specs(model: nn.Module, input_shape: tuple | None = None) -> list[LayerSpec]:
    """Every leaf layer of `model` in execution order, described. `input_shape` [C, H, W] (default: the
    model's config's) gives the shapes; without either they are None. Unsupported layers raise ValueError."""
    shape = tuple(input_shape) if input_shape is not None else _config_input_shape(model)
    leaves = leaf_layers(model)
    specs = []
    for i, (name, module) in enumerate(leaves):
        kind = _kind(name, module)
        window = _window(name, kind, module) if kind in SPATIAL else (None, None, None, None)
        out = None if shape is None else _out_shape(name, kind, module, shape, window)
        params = sum(p.numel() for p in module.parameters(recurse=False))
        key = "logits" if i == len(leaves) - 1 else name
        specs.append(LayerSpec(name, kind, module, *window, shape, out, key, params))
        shape = out
    return specs
