"""What a design costs and sees, before any training: per layer its shape, parameters, receptive field,
multiply-adds and activations; and how a design compares with another (the chapter's by default).

Counting conventions:
- multiply-adds (MACs) are those of the weighted layers: a conv output value costs C_in * k * k, a linear
  output value costs its in_features; biases, pooling, activations and batch norm are not counted (they do a
  comparison or one operation per value, against C_in * k * k multiply-adds per conv value).
- activation memory is the float32 values of the input and of every layer's output, as cnnviz.trace keeps
  them, for one image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cnnviz.architecture import describe
from cnnviz.layers import layer_specs
from cnnviz.model import CHAPTER_CONFIG, DigitCNN, ModelConfig
from cnnviz.receptive_field import field_rows

BYTES_PER_VALUE = 4  # float32


@dataclass(frozen=True)
class DesignRow:
    name: str                   # "conv1"
    kind: str                   # the cnnviz.layers kind: "conv", "activation", "max_pool", ...
    op: str                     # "Conv2d(1, 16, 3, pad=1)"
    output_shape: tuple         # without the batch, e.g. (16, 28, 28)
    params: int
    share: float                # params / all parameters
    rf_size: int | None         # receptive field side in input pixels (None from the global pool / flatten on)
    jump: int | None            # input pixels between neighbouring units (None where rf_size is)
    macs: int                   # multiply-adds per image
    activation_values: int      # values this layer outputs per image


@dataclass(frozen=True)
class DesignSummary:
    config: ModelConfig
    input_shape: tuple          # [C, H, W] of one image
    rows: tuple                 # DesignRow per leaf layer, in execution order
    params: int
    macs: int                   # multiply-adds per image
    activation_bytes: int       # float32 activations per image (the input and every layer's output)
    rf_size: int                # receptive field of the last spatial layer (what the head reads)


def _macs(spec) -> int:
    if spec.kind == "conv":
        k = spec.kernel_size
        return math.prod(spec.out_shape) * spec.module.in_channels * k * k
    if spec.kind == "linear":
        return math.prod(spec.out_shape) * spec.module.in_features
    return 0


def summarize(config: ModelConfig) -> DesignSummary:
    """The layer table, receptive fields and costs of `config` (built on the meta device: no memory, no time)."""
    with torch.device("meta"):
        model = DigitCNN(config)
    specs = layer_specs(model)
    fields = field_rows(model, config.image_size)
    total = sum(spec.params for spec in specs)
    rows = []
    for spec in specs:
        field = fields.get(spec.name)
        rows.append(DesignRow(spec.name, spec.kind, describe(spec), spec.out_shape, spec.params,
                              spec.params / total if total else 0.0, field.size if field else None,
                              field.jump if field else None, _macs(spec), math.prod(spec.out_shape)))
    input_shape = specs[0].in_shape
    values = math.prod(input_shape) + sum(row.activation_values for row in rows)
    last_field = [row.rf_size for row in rows if row.rf_size is not None][-1]
    return DesignSummary(config, input_shape, tuple(rows), total, sum(row.macs for row in rows),
                         BYTES_PER_VALUE * values, last_field)


def _times(ratio: float) -> str:
    return f"×{ratio:.0f}" if ratio >= 10 else f"×{ratio:.2g}"


def _percent(new: int, old: int) -> str:
    change = (new - old) / old * 100
    if change > 200:
        return _times(new / old)
    text = f"{change:+.0f}%" if abs(change) >= 1 else f"{change:+.1f}%"
    return text.replace("-", "−")


def compare(config: ModelConfig, baseline: ModelConfig = CHAPTER_CONFIG) -> list[str]:
    """Short phrases for what differs from `baseline`: "+41% parameters", "receptive field 10 → 14",
    "multiply-adds ×1.8", "activation memory ×0.5". One phrase saying so when nothing differs."""
    new, old = summarize(config), summarize(baseline)
    phrases = []
    if new.params != old.params:
        phrases.append(f"{_percent(new.params, old.params)} parameters")
    if new.rf_size != old.rf_size:
        phrases.append(f"receptive field {old.rf_size} → {new.rf_size}")
    if new.macs != old.macs:
        phrases.append(f"multiply-adds {_times(new.macs / old.macs)}")
    if new.activation_bytes != old.activation_bytes:
        phrases.append(f"activation memory {_times(new.activation_bytes / old.activation_bytes)}")
    return phrases or ["the same parameters, receptive field and costs"]
