"""Presentation helpers for the receptive-field page: the editable layer stack, its presets, the drawn boxes."""
from __future__ import annotations

import itertools
import re

from cnnviz.layers import SPATIAL, layer_specs
from cnnviz.receptive_field import SPATIAL_END, Layer, RFRow

KINDS = ("conv", "pool")
_ids = itertools.count()  # widget keys: every layer row ever made gets a fresh id


def spec(kind: str, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
         name: str | None = None) -> dict:
    """One row of the editable stack (plain dict: it lives in the user's session). `name`: the model's own name
    for the layer, kept while the row stays of its kind."""
    return {"id": next(_ids), "kind": kind, "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "dilation": dilation, "name": name, "named_kind": kind}


def stack_from_model(model) -> list[dict]:
    """The conv and pooling layers of a model (read from cnnviz.layers) as editable rows, up to its head."""
    rows = []
    for layer in layer_specs(model):
        if layer.kind in SPATIAL_END:
            break
        if layer.kind in SPATIAL:
            rows.append(spec("conv" if layer.kind == "conv" else "pool", layer.kernel_size, layer.stride,
                             layer.padding, layer.dilation, layer.name))
    if not rows:
        raise ValueError("the model has no convolution or pooling layer before its head")
    return rows


def preset(name: str, model=None) -> list[dict]:
    if name == "loaded model":
        return stack_from_model(model)
    if name == "three 3×3 convolutions":
        return [spec("conv", 3, 1, 1) for _ in range(3)]
    if name == "VGG-style (3 blocks)":
        block = lambda n: [spec("conv", 3, 1, 1) for _ in range(n)] + [spec("pool", 2, 2)]  # noqa: E731
        return block(2) + block(2) + block(3)
    raise ValueError(f"unknown preset {name!r}")


PRESETS = ("loaded model", "three 3×3 convolutions", "VGG-style (3 blocks)")


def to_layers(stack: list[dict]) -> list[Layer]:
    """Named Layer objects for the core: a model's layers keep their own names, other rows are counted (conv1,
    conv2, pool1, ...); raises ValueError for impossible values."""
    counts = {kind: 0 for kind in KINDS}
    layers = []
    for row in stack:
        counts[row["kind"]] += 1
        dilation = row["dilation"] if row["kind"] == "conv" else 1
        own = row.get("name") if row.get("named_kind") == row["kind"] else None
        layers.append(Layer(own or f"{row['kind']}{counts[row['kind']]}", int(row["kernel_size"]),
                            int(row["stride"]), int(row["padding"]), int(dilation)))
    names = [layer.name for layer in layers]
    if len(set(names)) < len(names):  # a counted name met a model's own: count them all instead
        return to_layers([{**row, "name": None} for row in stack])
    return layers


def table_records(rows: list[RFRow]) -> list[dict]:
    """The recurrence table, one record per layer, with r = r_prev + (k_eff − 1) · jump_prev written out."""
    records, size, jump = [], 1, 1  # the input: one pixel sees itself, neighbours 1 apart
    for row in rows:
        k_eff = row.layers[-1].effective_kernel
        records.append({"Layer": row.name, "k": row.kernel_size, "s": row.stride, "p": row.padding,
                        "d": row.dilation, "Output": _side(row.output_size),
                        "r = r_prev + (k_eff − 1) · jump_prev": f"{size} + {k_eff - 1} · {jump} = {row.size}",
                        "Receptive field": row.size, "Jump": row.jump, "Start": f"{row.start:g}"})
        size, jump = row.size, row.jump
    return records


def _side(n: int | None) -> str:
    return "" if n is None else f"{n}×{n}"


# ---- the stack in a link: "c3s1p1d1-p2s2p0" (kind letter, then kernel, stride, padding, dilation) ---------------
_LETTERS = {"conv": "c", "pool": "p"}
_STACK_LIMIT = 32  # layers a link may ask for


def stack_text(stack: list[dict]) -> str:
    """The stack as short URL text, one group per layer."""
    def one(row: dict) -> str:
        text = f"{_LETTERS[row['kind']]}{row['kernel_size']}s{row['stride']}p{row['padding']}"
        return text + (f"d{row['dilation']}" if row["kind"] == "conv" and row["dilation"] != 1 else "")
    return "-".join(one(row) for row in stack)


def stack_from_text(text: str) -> list[dict]:
    """The stack a link describes (`stack_text`'s format); ValueError for anything else."""
    groups = text.split("-")
    if not text or len(groups) > _STACK_LIMIT:
        raise ValueError("a stack needs 1 to 32 layers")
    kinds = {v: k for k, v in _LETTERS.items()}
    stack = []
    for group in groups:
        match = re.fullmatch(r"([cp])(\d{1,2})s(\d{1,2})p(\d{1,2})(?:d(\d{1,2}))?", group)
        if match is None:
            raise ValueError(f"not a layer: {group!r}")
        letter, k, s, p, d = match.groups()
        if int(k) < 1 or int(s) < 1 or (d is not None and int(d) < 1):
            raise ValueError(f"not a layer: {group!r}")
        stack.append(spec(kinds[letter], int(k), int(s), int(p), int(d or 1)))
    return stack


def unit_text(layer: str, y: int, x: int) -> str:
    """The chosen unit as URL text: `layer.row.column`."""
    return f"{layer}.{y}.{x}"


def unit_from_text(text: str, sides: dict[str, int | None]) -> tuple[str, int, int]:
    """(layer, row, column) from `unit_text`, checked against each layer's output side; ValueError otherwise."""
    layer, y, x = text.rsplit(".", 2)
    if layer not in sides:
        raise ValueError(f"no layer {layer!r} in this stack")
    side = sides[layer] or 1
    if not (0 <= int(y) < side and 0 <= int(x) < side):
        raise ValueError(f"unit ({y}, {x}) is outside {layer}'s {side}×{side} output")
    return layer, int(y), int(x)
