"""Presentation helpers for the receptive-field page: the editable layer stack, its presets, the drawn boxes."""
from __future__ import annotations

import itertools

from cnnviz.receptive_field import Layer, RFRow, layers_from_model

KINDS = ("conv", "pool")
_ids = itertools.count()  # widget keys: every layer row ever made gets a fresh id


def spec(kind: str, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> dict:
    """One row of the editable stack (plain dict: it lives in the user's session)."""
    return {"id": next(_ids), "kind": kind, "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "dilation": dilation}


def stack_from_model(model) -> list[dict]:
    """The conv/pool stack of a PyTorch model as editable rows."""
    modules = dict(model.named_modules())
    rows = []
    for layer in layers_from_model(model):
        kind = "conv" if type(modules[layer.name]).__name__.startswith("Conv") else "pool"
        rows.append(spec(kind, layer.kernel_size, layer.stride, layer.padding, layer.dilation))
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
    """Named Layer objects (conv1, conv2, pool1, ...) for the core; raises ValueError for impossible values."""
    counts = {kind: 0 for kind in KINDS}
    layers = []
    for row in stack:
        counts[row["kind"]] += 1
        dilation = row["dilation"] if row["kind"] == "conv" else 1
        layers.append(Layer(f"{row['kind']}{counts[row['kind']]}", int(row["kernel_size"]), int(row["stride"]),
                            int(row["padding"]), int(dilation)))
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
