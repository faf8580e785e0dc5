"""One unit of a traced network, opened: the arithmetic behind its value, with the model's own weights.

The layer kinds come from cnnviz.layers (the one description of a model's layers), so every design of the
design lab, the chapter's DigitCNN and any small nn.Sequential of the same building blocks open the same way:
- conv: a window of the previous layer's maps times the kernel, one partial sum per input channel, + bias
  (cnnviz.convolution.conv_step), at any kernel size, stride, padding and dilation;
- max_pool / avg_pool / global_avg_pool: the window and its maximum or mean (cnnviz.pooling.pool_steps);
- linear: every input times its weight, + bias, with the largest contributions ranked;
- batch_norm: the conv unit before it, then (x - running mean) / sqrt(running var + eps) * weight + bias;
- activation (ReLU, leaky ReLU, tanh, sigmoid, ...): the unit of the layer before it, then the activation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from cnnviz.convolution import ConvStep, conv_step
from cnnviz.layers import LayerSpec, layer_specs
from cnnviz.pooling import PoolStep, pool_steps

TOLERANCE = 1e-5  # float64 arithmetic against the model's float32 forward pass, relative past magnitude 1
PASS_THROUGH = ("flatten", "dropout")  # kinds that move or keep values (dropout in eval mode)


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
class Normalization:
    """A batch-norm unit in eval mode: the conv's value standardized with the running statistics, then scaled."""
    layer: str              # "bn1"
    x: float                # the value it reads (the conv unit's result)
    mean: float             # running mean of this channel
    var: float              # running variance of this channel
    eps: float
    weight: float           # gamma
    bias: float             # beta
    result: float           # (x - mean) / sqrt(var + eps) * weight + bias


@dataclass(frozen=True, eq=False)
class UnitComputation:
    """How one unit got its value. Exactly one of conv / pool / weighted_sum is set."""
    layer: str                  # the unit's layer, as named in the trace ("relu1", "pool2", "logits")
    unit: tuple                 # (channel, y, x) in a map, or (index,) in a vector
    computed_by: str            # the layer doing the arithmetic ("conv1" for relu1; the layer itself otherwise)
    kind: str                   # "conv", "pool" or "linear"
    source: str                 # the layer whose output it reads ("input", "pool1", "relu3", ...)
    pre_activation: float       # the arithmetic's result (after the batch norm, when there is one)
    activation: str | None      # "ReLU", "LeakyReLU", "Tanh" or "Sigmoid" when the unit is an activation's output
    value: float                # the unit's value: activation(pre_activation), or pre_activation
    traced: float               # the same unit in the model's own forward pass (the trace)
    conv: ConvStep | None = None
    pool: PoolStep | None = None
    weighted_sum: WeightedSum | None = None
    normalization: Normalization | None = None   # set when a batch norm sits between the arithmetic and the unit


def agrees(ours: float, traced: float, tolerance: float = TOLERANCE) -> bool:
    """Whether a value we computed equals the forward pass's: within `tolerance`, relative for values past 1
    (float32 keeps about 7 significant digits, so a conv2 value of 460 is only known to ~5e-5)."""
    return abs(ours - traced) <= tolerance * max(1.0, abs(traced))


def _check_unit(unit: tuple, shape: tuple, layer: str) -> tuple:
    unit = tuple(int(u) for u in unit)
    if len(unit) != len(shape) or any(not 0 <= u < s for u, s in zip(unit, shape)):
        where = "(channel, y, x)" if len(shape) == 3 else "(index,)"
        raise ValueError(f"unit {unit} is not in {layer}, whose output has shape {list(shape)}; give {where} "
                         "inside it")
    return unit


def _conv(spec: LayerSpec, x: torch.Tensor, unit: tuple) -> ConvStep:
    module = spec.module
    if module.groups != 1 or module.padding_mode != "zeros":
        raise ValueError(f"{spec.name}: only ordinary convolutions (groups=1, zero padding) can be opened")
    c, y, xx = unit
    bias = None if module.bias is None else module.bias.detach()
    return conv_step(x, module.weight.detach(), bias, (y, xx), c, spec.stride, spec.padding, spec.dilation)


def _pool(spec: LayerSpec, x: torch.Tensor, unit: tuple) -> PoolStep:
    c, y, xx = unit
    fmap = x[c]  # [H, W]
    if spec.kind == "global_avg_pool":
        if fmap.shape[0] != fmap.shape[1]:
            raise ValueError(f"{spec.name}: only a global average pool of a square map can be opened")
        k, s, p, mode = fmap.shape[0], fmap.shape[0], 0, "avg"
    else:
        k, s, p, mode = spec.kernel_size, spec.stride, spec.padding, spec.kind.removesuffix("_pool")
        if spec.dilation != 1:
            raise ValueError(f"{spec.name}: pooling with dilation cannot be opened")
        if mode == "avg" and (spec.module.divisor_override or (p and not spec.module.count_include_pad)):
            raise ValueError(f"{spec.name}: average pooling that does not divide by the window's size cannot "
                             "be opened")
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


def _normalization(spec: LayerSpec, before: "UnitComputation", channel: int) -> Normalization:
    module = spec.module
    if module.training or module.running_mean is None:
        raise ValueError(f"{spec.name}: a batch norm unit opens with its running statistics; put the model in "
                         "eval mode (model.eval()) first")
    mean, var = float(module.running_mean[channel]), float(module.running_var[channel])
    weight = float(module.weight.detach()[channel]) if module.affine else 1.0
    bias = float(module.bias.detach()[channel]) if module.affine else 0.0
    result = (before.value - mean) / np.sqrt(var + module.eps) * weight + bias
    return Normalization(spec.name, before.value, mean, var, module.eps, weight, bias, float(result))


def open_unit(model: nn.Module, acts: dict, layer: str, unit: tuple) -> UnitComputation:
    """The computation of `unit` of `layer` on the traced input (acts = cnnviz.trace.trace(model, x)).

    `unit` is (channel, y, x) for a feature map, (index,) for a vector; one image (batch item 0).
    """
    specs = layer_specs(model, tuple(acts["input"].shape[1:]))
    keys = [spec.key for spec in specs]
    if layer not in keys:
        raise ValueError(f"the model has no layer {layer!r}; pick one of {keys}")
    i = keys.index(layer)
    spec = specs[i]
    out = acts[layer][0]
    if out.dim() == 3 and spec.kind == "global_avg_pool" and len(unit) == 1:
        unit = (unit[0], 0, 0)  # a global average pool's output [C, 1, 1] is picked by channel alone
    unit = _check_unit(unit, tuple(out.shape), layer)
    traced = float(out[unit])
    source = keys[i - 1] if i > 0 else "input"
    x = acts[source][0]                                             # the layer's input, one image

    if spec.kind in ("activation", "batch_norm"):
        if i == 0:
            raise ValueError(f"{layer} acts on the raw input: there is no arithmetic to open")
        before = open_unit(model, acts, source, unit)
        if before.activation is not None or (spec.kind == "batch_norm" and before.normalization is not None):
            raise ValueError(f"{layer} follows another {spec.kind.replace('_', ' ')}; open {source} instead")
        if spec.kind == "batch_norm":
            norm = _normalization(spec, before, unit[0])
            return replace(before, layer=layer, pre_activation=norm.result, value=norm.result, traced=traced,
                           normalization=norm)
        value = float(spec.module(torch.tensor(before.value, dtype=torch.float64)))
        return replace(before, layer=layer, activation=type(spec.module).__name__, value=value, traced=traced)
    if spec.kind == "conv":
        step = _conv(spec, x, unit)
        return UnitComputation(layer, unit, layer, "conv", source, step.result, None, step.result, traced, conv=step)
    if spec.kind in ("max_pool", "avg_pool", "global_avg_pool"):
        step = _pool(spec, x, unit)
        return UnitComputation(layer, unit, layer, "pool", source, step.result, None, step.result, traced, pool=step)
    if spec.kind == "linear":
        j = i - 1  # name the input after the last layer that changed values (not a flatten or a dropout)
        while j >= 0 and specs[j].kind in PASS_THROUGH:
            j -= 1
        named = keys[j] if j >= 0 else "input"
        ws = _weighted_sum(spec.module, x, tuple(acts[named][0].shape), unit[0])
        return UnitComputation(layer, unit, layer, "linear", named, ws.result, None, ws.result, traced,
                               weighted_sum=ws)
    raise ValueError(f"{layer} is a {type(spec.module).__name__}, which only moves values around; "
                     "open a unit of a convolution, pooling, linear, batch norm or activation layer")
