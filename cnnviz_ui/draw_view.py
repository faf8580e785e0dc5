"""What the draw page shows for one input: the layers in execution order, each as one composite image.

Work is cached per (model, input) in the session, so moving the unit picker or switching pages
does not run the network again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image
from torch import nn

from cnnviz import receptive_field
from cnnviz.trace import trace
from cnnviz.model import leaf_layers
from cnnviz_ui.export import tile
from cnnviz_ui.images import feature_grid, legend_html, png_data_url, value_range, vector_strip

_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
CACHE_KEY = "_draw_analysis"


@dataclass(frozen=True)
class LayerView:
    name: str            # key in the trace, e.g. "relu1"
    title: str           # e.g. "conv1 + relu1"
    values: np.ndarray   # [C, h, w] maps or [n] vector


@dataclass(frozen=True)
class Analysis:
    probabilities: np.ndarray   # [num_classes]
    layers: list                # [LayerView] in execution order, ending with the logits
    layers_html: str            # all of them drawn as one HTML block (see layers_html)
    acts: dict                  # the whole trace (cnnviz.trace.trace), for opening one unit


def input_hash(pixels: np.ndarray | None) -> str | None:
    if pixels is None:
        return None
    a = np.ascontiguousarray(pixels)
    return hashlib.blake2b(a.tobytes() + str(a.shape).encode(), digest_size=16).hexdigest()


def _views(model: nn.Module, acts) -> list[LayerView]:
    views, previous = [], None
    for name, module in leaf_layers(model):
        if name not in acts:
            continue
        out = acts[name][0]
        if isinstance(module, _ACTIVATIONS):
            title = f"{previous} + {name}" if previous else name
        elif isinstance(module, _POOLS):
            title = name
        else:
            previous = name
            continue
        if out.dim() == 3 and out.shape[-1] == 1 and out.shape[-2] == 1:
            out = out.flatten()                                    # GAP output [C, 1, 1] -> [C]
        views.append(LayerView(name, title, out.numpy()))
        previous = name
    views.append(LayerView("logits", "logits", acts["logits"][0].numpy()))
    return views


def analyse(model: nn.Module, x: torch.Tensor, key: str) -> Analysis:
    """Prediction and the shown activations of `model` on `x` (cached in the session under `key`)."""
    cache = st.session_state.get(CACHE_KEY)
    full_key = (id(model), key)
    if cache is not None and cache[0] == full_key:
        return cache[1]
    acts = trace(model, x)
    views = _views(model, acts)
    result = Analysis(acts["probabilities"][0].numpy(), views, layers_html(views, key), acts)
    st.session_state[CACHE_KEY] = (full_key, result)
    return result


def layer_image(view: LayerView):
    """One picture per layer: maps as a tiny grid (the browser scales it up), the logits with their numbers."""
    v = view.values
    if v.ndim == 3:
        return feature_grid(v, cols=min(8, v.shape[0]), cell=v.shape[1], gap=1, labels=False,
                            colorbar=False)
    if view.name == "logits":
        return vector_strip(v, cols=v.size, cell=44, numbers=True)
    return vector_strip(v, cols=min(v.size, 32), cell=1, colorbar=False)


def layers_picture(views: list) -> Image.Image:
    """Every feature-map layer as one labelled picture, large enough for a slide (maps numbered, one row of
    8 per line, each layer's own colour scale)."""
    grids = [feature_grid(v.values, cols=min(8, v.values.shape[0]), cell=56, gap=2, labels=True)
             for v in views if v.values.ndim == 3]
    return tile(grids, cols=1, gap=16)


def _block(view: LayerView) -> str:
    v = view.values
    if v.ndim == 3:
        what = f"{v.shape[0]} maps of {v.shape[1]}×{v.shape[2]}"
    elif view.name == "logits":
        what = f"{v.size} scores, the largest wins"
    else:
        what = f"{v.size} values"
    legend = "" if view.name == "logits" else legend_html(*value_range(v))
    pixelated = "" if view.name == "logits" else "image-rendering:pixelated;"
    width = "max-width:100%" if view.name == "logits" else "width:100%"
    return (f"<div class='cnnviz-layer' data-layer='{view.name}'><div style='margin:0.4em 0 0.2em'>"
            f"<b>{view.title}</b> · {what} &nbsp; {legend}</div>"
            f"<img alt='{view.title}' src='{png_data_url(layer_image(view))}' style='{width};{pixelated}'></div>")


def layers_html(views: list, digest: str) -> str:
    """Every layer, in execution order, as one HTML block with inline pictures (one element, no extra requests):
    the feature maps two to a row, then the vectors full width."""
    maps = "".join(_block(v) for v in views if v.values.ndim == 3)
    vectors = "".join(_block(v) for v in views if v.values.ndim != 3)
    return (f"<div class='cnnviz-layers' data-digest='{digest}'>"
            f"<div style='display:grid;grid-template-columns:1fr 1fr;gap:0.3em 1.5em'>{maps}</div>{vectors}</div>")


def prediction_html(image_url: str, probabilities: np.ndarray, digest: str) -> str:
    """The 28x28 input as the model sees it (tagged with the input's digest and the predicted digit)."""
    best = int(np.argmax(probabilities))
    return (f"<div class='cnnviz-prediction' data-digest='{digest}' data-prediction='{best}'>"
            "<div style='font-weight:600'>What the model sees (28×28)</div>"
            f"<img alt='the 28×28 input' src='{image_url}' style='width:168px;max-width:100%;"
            "image-rendering:pixelated;border-radius:4px'></div>")


def field_widths(model) -> str:
    """The receptive-field width after each conv and pool layer, in words: "3 pixels wide after conv1, 4 after
    pool1, ..." (read from the model, so the GAP variant or another stack reads right)."""
    rows = {row.name: row.size for row in receptive_field.field_rows(model).values()}
    parts = [f"{size} after {name}" for name, size in rows.items()]
    if not parts:
        return "the whole image for every unit"
    first, *rest = parts
    return ", ".join([first.replace(" after", " pixels wide after", 1), *rest])
