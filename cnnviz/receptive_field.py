"""Receptive field of every layer in a stack of convolutions and pools.

The recurrence of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019 (doi:10.23915/distill.00021), applied layer by layer with the
effective kernel k_eff = dilation * (kernel_size - 1) + 1:

    size_L  = size_{L-1} + (k_eff - 1) * jump_{L-1}        (size_0 = 1)
    jump_L  = jump_{L-1} * stride                          (jump_0 = 1)
    start_L = start_{L-1} + ((k_eff - 1) / 2 - padding) * jump_{L-1}   (start_0 = 0)

Coordinates are pixel indices: input pixel n has its centre at n, so `start` is the centre
of the first output unit's field (it may be fractional, e.g. 0.5 between two pixels, or
negative when padding is involved). On an unbounded input, unit u of a layer sees the pixels
start + u*jump ± (size-1)/2; `input_window` cuts that down to a real image. Fields are squares.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field

from torch import nn

from cnnviz.layers import SPATIAL, layer_specs
from cnnviz.pooling import output_size

SPATIAL_END = ("flatten", "linear", "global_avg_pool")  # kinds that end the spatial part of a network


@dataclass(frozen=True)
class Layer:
    """One conv or pool layer's geometry (square kernels)."""
    name: str
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    def __post_init__(self):
        for attr, least in (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            value = getattr(self, attr)
            try:
                value = operator.index(value)  # ints, including NumPy ints; not floats
            except TypeError:
                raise ValueError(f"layer {self.name!r}: {attr} must be an integer, got {value!r}") from None
            if isinstance(value, bool) or value < least:
                raise ValueError(f"layer {self.name!r}: {attr} must be at least {least}, got {value!r}")
            object.__setattr__(self, attr, int(value))

    @property
    def effective_kernel(self) -> int:
        """Span of the (dilated) kernel in input cells: dilation * (kernel_size - 1) + 1."""
        return self.dilation * (self.kernel_size - 1) + 1


@dataclass(frozen=True)
class RFRow:
    """A layer's receptive field in input pixels."""
    name: str
    kernel_size: int
    stride: int
    padding: int
    dilation: int
    size: int                    # r: side of the input patch one unit sees
    jump: int                    # product of the strides up to and including this layer
    start: float                 # centre of unit 0's field, in input pixel indices
    effective_padding: int       # how far unit 0's field reaches left of pixel 0
    output_size: int | None = None   # side of this layer's output, when the input size is known
    layers: tuple = field(default=(), repr=False)  # the Layers from the input up to and including this one


def receptive_fields(layers: list[Layer], input_size: int | None = None) -> list[RFRow]:
    """Receptive field size, jump and start for every layer, in order."""
    if not layers:
        raise ValueError("no layers given: pass at least one Layer (conv or pool)")
    size, jump, start, eff_pad = 1, 1, 0.0, 0
    n = input_size
    if input_size is not None and (isinstance(input_size, bool) or not isinstance(input_size, int)
                                   or input_size < 1):
        raise ValueError(f"input_size must be a positive integer, got {input_size!r}")
    rows = []
    for depth, layer in enumerate(layers, start=1):
        if not isinstance(layer, Layer):
            raise ValueError(f"expected Layer objects, got {type(layer).__name__}")
        k_eff = layer.effective_kernel
        start = start + ((k_eff - 1) / 2 - layer.padding) * jump
        eff_pad = eff_pad + layer.padding * jump
        size = size + (k_eff - 1) * jump
        jump = jump * layer.stride
        if n is not None:
            n = output_size(n, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
        rows.append(RFRow(layer.name, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                          size, jump, start, eff_pad, n, tuple(layers[:depth])))
    return rows


def _spatial_specs(model: nn.Module) -> list:
    """The layer specs before the first flatten / linear / global pool (the part with feature maps)."""
    specs = []
    for spec in layer_specs(model):
        if spec.kind in SPATIAL_END:
            break
        specs.append(spec)
    return specs


def layers_from_model(model: nn.Module) -> list[Layer]:
    """The conv and pool layers of a model, in execution order, up to its first Flatten/Linear/global pool.

    Activations, batch norm and dropout are skipped (they do not change the field).
    """
    layers = [Layer(s.name, s.kernel_size, s.stride, s.padding, s.dilation)
              for s in _spatial_specs(model) if s.kind in SPATIAL]
    if not layers:
        raise ValueError("the model has no Conv2d or pooling layer before its first Flatten/Linear")
    return layers


def _reach(layers: tuple, sizes: list, depth: int, u: int, memo: dict) -> tuple[int, int] | None:
    """(first, last) input pixel that unit u of layer `depth` depends on; None if it sees only padding."""
    if depth == 0:
        return u, u
    if (depth, u) not in memo:
        layer, reached = layers[depth - 1], []
        for t in range(layer.kernel_size):  # every tap that lands on a real unit of the layer below
            v = u * layer.stride - layer.padding + t * layer.dilation
            if 0 <= v < sizes[depth - 1]:
                reached.append(_reach(layers, sizes, depth - 1, v, memo))
        reached = [r for r in reached if r is not None]
        memo[depth, u] = (min(r[0] for r in reached), max(r[1] for r in reached)) if reached else None
    return memo[depth, u]


def input_window(row: RFRow, y: int, x: int, image_size) -> tuple[int, int, int, int]:
    """Input box (y0, y1, x0, x1), half-open, of the pixels that can change unit (y, x) of `row`'s layer.

    This is the field start + u*jump ± (size-1)/2 cut down to what actually reaches the unit: clipped to
    the image, without the border pixels a strided layer drops or that only padding stands in for.
    With dilation it is the bounding box (a dilated kernel whose gaps no earlier layer fills skips pixels).
    An empty range (y0 == y1) means the unit sees only padding. `image_size` is an int or (height, width).
    """
    height, width = image_size if isinstance(image_size, tuple) else (image_size, image_size)
    depth = len(row.layers)
    if depth == 0:
        raise ValueError("this row has no layer stack; build it with receptive_fields()")

    def span(u: int, n: int) -> tuple[int, int]:
        sizes = [n]
        for layer in row.layers:
            sizes.append(output_size(sizes[-1], layer.kernel_size, layer.stride, layer.padding, layer.dilation))
        if not 0 <= u < sizes[-1]:
            raise ValueError(f"unit {u} is outside {row.name}'s output (0..{sizes[-1] - 1}) for a {n}-pixel input")
        reach = _reach(row.layers, sizes, depth, u, {})
        return (0, 0) if reach is None else (reach[0], reach[1] + 1)

    y0, y1 = span(y, height)
    x0, x1 = span(x, width)
    return y0, y1, x0, x1


def field_rows(model: nn.Module, image_size: int = 28) -> dict[str, RFRow]:
    """Receptive-field row of every leaf layer before the first Flatten/Linear/adaptive pool, by name.

    A layer that does not change the field (an activation, dropout) shares the row of the layer before it.
    """
    rows = {r.name: r for r in receptive_fields(layers_from_model(model), input_size=image_size)}
    out, current = {}, None
    for spec in _spatial_specs(model):
        current = rows.get(spec.name, current)
        if current is not None:
            out[spec.name] = current
    return out


def unit_window(model: nn.Module, layer: str, y: int, x: int, image_size: int = 28) -> tuple[int, int, int, int]:
    """Input box (y0, y1, x0, x1) seen by unit (y, x) of the model's layer named `layer`."""
    rows = field_rows(model, image_size)
    if layer not in rows:
        raise ValueError(f"{layer} has no spatial receptive field; pick a conv or pooling layer")
    return input_window(rows[layer], y, x, image_size)


def nested_boxes(rows: list[RFRow], upto: int, y: int, x: int, image_size) -> list[tuple]:
    """The field of unit (y, x) of layer `rows[upto]`, and inside it the field of the nearest unit of each
    earlier layer: (label, y0, y1, x0, x1) boxes, the largest first."""
    target = rows[upto]
    cy, cx = target.start + y * target.jump, target.start + x * target.jump  # centre of the chosen field
    boxes = []
    for row in rows[upto::-1]:
        last = (row.output_size or 1) - 1
        uy = min(max(round((cy - row.start) / row.jump), 0), last)
        ux = min(max(round((cx - row.start) / row.jump), 0), last)
        y0, y1, x0, x1 = input_window(row, uy, ux, image_size)
        boxes.append((f"{row.name}: {row.size}×{row.size}", y0, y1, x0, x1))
    return boxes
