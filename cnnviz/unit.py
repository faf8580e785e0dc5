"""One unit of a traced network, opened: the arithmetic behind its value, with the model's own weights.

The layer kinds are read from the model's modules (cnnviz.model.leaf_layers), so DigitCNN, its GAP variant
and any small nn.Sequential of the same building blocks open the same way:
- Conv2d: a window of the previous layer's maps times the kernel, one partial sum per input channel, + bias
  (cnnviz.convolution.conv_step);
- MaxPool2d / AvgPool2d / AdaptiveAvgPool2d(1): the window and its maximum or mean (cnnviz.pooling.pool_steps);
- Linear: every input times its weight, + bias, with the largest contributions ranked;
- an activation (ReLU, Tanh, Sigmoid): the unit of the layer before it, then the activation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from cnnviz.convolution import ConvStep, conv_step
from cnnviz.model import leaf_layers
from cnnviz.pooling import PoolStep, pool_steps

TOLERANCE = 1e-5  # float64 arithmetic against the model's float32 forward pass, relative past magnitude 1
ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid)
PASS_THROUGH = (nn.Flatten, nn.Dropout, nn.Identity)  # they move or keep values (dropout in eval mode)


@dataclass(frozen=True, eq=False)
class WeightedSum:
    """A Linear unit: inputs . weights + bias."""
    inputs: np.ndarray      # [n] the layer's input, flattened
    weights: np.ndarray     # [n] this unit's row of the weight matrix
    products: np.ndarray    # [n] inputs * weights
    bias: float
    result: float           # products.sum() + bias
    input_shape: tuple      # shape of the input before any flatten, e.g. (32, 7, 7), to name an input

    def ranked(self, k: int | None = None) -> np.ndarray:
        """Indices of the inputs by how much they moved the sum (largest |input * weight| first)."""
        order = np.argsort(-np.abs(self.products), kind="stable")  # [n]
        return order if k is None else order[:k]

    def position(self, index: int) -> tuple:
        """Where flat input `index` sits in the input before flattening, e.g. (channel, y, x)."""
        return tuple(int(i) for i in np.unravel_index(int(index), self.input_shape))


@dataclass(frozen=True, eq=False)
class UnitComputation:
    """How one unit got its value. Exactly one of conv / pool / weighted_sum is set."""
    layer: str                  # the unit's layer, as named in the trace ("relu1", "pool2", "logits")
    unit: tuple                 # (channel, y, x) in a map, or (index,) in a vector
    computed_by: str            # the layer doing the arithmetic ("conv1" for relu1; the layer itself otherwise)
    kind: str                   # "conv", "pool" or "linear"
    source: str                 # the layer whose output it reads ("input", "pool1", "relu3", ...)
    pre_activation: float       # the arithmetic's result
    activation: str | None      # "ReLU", "Tanh" or "Sigmoid" when the unit is an activation's output
    value: float                # the unit's value: activation(pre_activation), or pre_activation
    traced: float               # the same unit in the model's own forward pass (the trace)
    conv: ConvStep | None = None
    pool: PoolStep | None = None
    weighted_sum: WeightedSum | None = None


def agrees(ours: float, traced: float, tolerance: float = TOLERANCE) -> bool:
    """Whether a value we computed equals the forward pass's: within `tolerance`, relative for values past 1
    (float32 keeps about 7 significant digits, so a conv2 value of 460 is only known to ~5e-5)."""
    return abs(ours - traced) <= tolerance * max(1.0, abs(traced))


def _names(model: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """(trace key, module name, module) per leaf layer; the last layer's output is "logits" in the trace."""
    layers = leaf_layers(model)
    return [("logits" if i == len(layers) - 1 else name, name, module) for i, (name, module) in enumerate(layers)]


def _one(value, what: str, layer: str) -> int:
    """A symmetric int setting of a layer (3 or (3, 3)); anything else is not supported."""
    if isinstance(value, str):
        raise ValueError(f"{layer}: {what}={value!r} is not supported; give it as a number")
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(pair)) != 1:
        raise ValueError(f"{layer}: only square settings are supported, got {what}={value}")
    return int(pair[0])


def _check_unit(unit: tuple, shape: tuple, layer: str) -> tuple:
    unit = tuple(int(u) for u in unit)
    if len(unit) != len(shape) or any(not 0 <= u < s for u, s in zip(unit, shape)):
        where = "(channel, y, x)" if len(shape) == 3 else "(index,)"
        raise ValueError(f"unit {unit} is not in {layer}, whose output has shape {list(shape)}; give {where} "
                         "inside it")
    return unit


def _conv(module: nn.Conv2d, x: torch.Tensor, unit: tuple, name: str) -> ConvStep:
    if module.groups != 1 or module.padding_mode != "zeros":
        raise ValueError(f"{name}: only ordinary convolutions (groups=1, zero padding) can be opened")
    c, y, xx = unit
    bias = None if module.bias is None else module.bias.detach()
    return conv_step(x, module.weight.detach(), bias, (y, xx), c, _one(module.stride, "stride", name),
                     _one(module.padding, "padding", name), _one(module.dilation, "dilation", name))


def _pool(module: nn.Module, x: torch.Tensor, unit: tuple, name: str) -> PoolStep:
    c, y, xx = unit
    fmap = x[c]  # [H, W]
    if isinstance(module, nn.AdaptiveAvgPool2d):
        if _one(module.output_size, "output_size", name) != 1 or fmap.shape[0] != fmap.shape[1]:
            raise ValueError(f"{name}: only a global average pool (output size 1) of a square map can be opened")
        k, s, p, mode = fmap.shape[0], fmap.shape[0], 0, "avg"
    else:
        if module.ceil_mode or _one(getattr(module, "dilation", 1), "dilation", name) != 1:
            raise ValueError(f"{name}: pooling with ceil_mode or dilation cannot be opened")
        k, p = _one(module.kernel_size, "kernel_size", name), _one(module.padding, "padding", name)
        s = _one(module.stride if module.stride is not None else k, "stride", name)
        mode = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        if mode == "avg" and p and not module.count_include_pad:
            raise ValueError(f"{name}: average pooling that leaves padding out of the count cannot be opened")
    if p == 0:  # step only the unit's own window (pooling the whole map costs ~100x more)
        r0, c0 = y * s, xx * s
        (step,) = pool_steps(fmap[r0:r0 + k, c0:c0 + k], k, k, 0, mode)
        argmax = None if step.argmax is None else (step.argmax[0] + r0, step.argmax[1] + c0)
        return replace(step, out_pos=(y, xx), rows=(r0, r0 + k), cols=(c0, c0 + k), argmax=argmax, channel=c)
    steps = pool_steps(fmap, k, s, p, mode)
    w_out = steps[-1].out_pos[1] + 1
    return replace(steps[y * w_out + xx], channel=c)


def _weighted_sum(module: nn.Linear, x: torch.Tensor, shape: tuple, index: int) -> WeightedSum:
    inputs = x.detach().double().reshape(-1).numpy()               # [n]
    weights = module.weight.detach()[index].double().numpy()        # [n]
    products = inputs * weights                                     # [n]
    bias = 0.0 if module.bias is None else float(module.bias.detach()[index])
    return WeightedSum(inputs, weights, products, bias, float(products.sum() + bias), tuple(shape))


def open_unit(model: nn.Module, acts: dict, layer: str, unit: tuple) -> UnitComputation:
    """The computation of `unit` of `layer` on the traced input (acts = cnnviz.trace.trace(model, x)).

    `unit` is (channel, y, x) for a feature map, (index,) for a vector; one image (batch item 0).
    """
    layers = _names(model)
    keys = [k for k, _, _ in layers]
    if layer not in keys:
        raise ValueError(f"the model has no layer {layer!r}; pick one of {keys}")
    i = keys.index(layer)
    module = layers[i][2]
    out = acts[layer][0]
    if out.dim() == 3 and isinstance(module, nn.AdaptiveAvgPool2d) and len(unit) == 1:
        unit = (unit[0], 0, 0)  # a global average pool's output [C, 1, 1] is picked by channel alone
    unit = _check_unit(unit, tuple(out.shape), layer)
    traced = float(out[unit])
    source = keys[i - 1] if i > 0 else "input"
    x = acts[source][0]                                             # the layer's input, one image

    if isinstance(module, ACTIVATIONS):
        if i == 0:
            raise ValueError(f"{layer} is an activation of the raw input: there is no arithmetic to open")
        before = open_unit(model, acts, source, unit)
        if before.activation is not None:
            raise ValueError(f"{layer} follows another activation; open {source} instead")
        value = float(module(torch.tensor(before.value, dtype=torch.float64)))
        return replace(before, layer=layer, activation=type(module).__name__, value=value, traced=traced)
    if isinstance(module, nn.Conv2d):
        step = _conv(module, x, unit, layer)
        return UnitComputation(layer, unit, layer, "conv", source, step.result, None, step.result, traced, conv=step)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        step = _pool(module, x, unit, layer)
        return UnitComputation(layer, unit, layer, "pool", source, step.result, None, step.result, traced, pool=step)
    if isinstance(module, nn.Linear):
        j = i - 1  # name the input after the last layer that changed values (not a flatten or a dropout)
        while j >= 0 and isinstance(layers[j][2], PASS_THROUGH):
            j -= 1
        named = keys[j] if j >= 0 else "input"
        ws = _weighted_sum(module, x, tuple(acts[named][0].shape), unit[0])
        return UnitComputation(layer, unit, layer, "linear", named, ws.result, None, ws.result, traced,
                               weighted_sum=ws)
    raise ValueError(f"{layer} is a {type(module).__name__}, which only moves values around; "
                     "open a unit of a convolution, pooling, linear or activation layer")
