"""What the draw page shows for one input: the layers in execution order (their kinds read from cnnviz.layers,
so any design of the Design lab draws itself), each as one composite image. The network picture and the unit
inspector under it are in inspector_view.

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
from cnnviz.layers import layer_specs
from cnnviz.trace import trace
from cnnviz_ui import visual
from cnnviz_ui.export import tile
from cnnviz_ui.images import feature_grid, vector_strip

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
    acts: dict                  # the whole trace (cnnviz.trace.trace), for opening one unit


def input_hash(pixels: np.ndarray | None) -> str | None:
    if pixels is None:
        return None
    a = np.ascontiguousarray(pixels)
    return hashlib.blake2b(a.tobytes() + str(a.shape).encode(), digest_size=16).hexdigest()


SHOWN = ("activation", "max_pool", "avg_pool", "global_avg_pool")   # the layers the page draws (cnnviz.layers kinds)
FOLDED = ("conv", "batch_norm", "linear")   # computed, then shown with the activation after them: "conv1 + relu1"


def layer_views(model: nn.Module, acts) -> list[LayerView]:
    """The layers the page shows, in execution order: each activation (titled with the conv or linear layer and
    batch norm before it), each pooling, then the logits. Kinds come from cnnviz.layers."""
    views, folded = [], []
    for spec in layer_specs(model, tuple(acts["input"].shape[1:])):
        if spec.kind in FOLDED:
            folded.append(spec.name)
        if spec.kind not in SHOWN or spec.key not in acts:
            continue
        out = acts[spec.key][0]
        title = " + ".join([*folded, spec.name]) if spec.kind == "activation" else spec.name
        if spec.kind == "global_avg_pool":
            out = out.flatten()                                    # GAP output [C, 1, 1] -> [C]
        views.append(LayerView(spec.key, title, out.numpy()))
        folded = []
    views.append(LayerView("logits", "logits", acts["logits"][0].numpy()))
    return views


def analyse(model: nn.Module, x: torch.Tensor, key: str) -> Analysis:
    """Prediction and the shown activations of `model` on `x` (cached in the session under `key`)."""
    cache = st.session_state.get(CACHE_KEY)
    full_key = (id(model), key)
    if cache is not None and cache[0] == full_key:
        return cache[1]
    acts = trace(model, x)
    views = layer_views(model, acts)
    result = Analysis(acts["probabilities"][0].numpy(), views, acts)
    st.session_state[CACHE_KEY] = (full_key, result)
    return result


def layer_image(view: LayerView, big: bool = False):
    """One layer as a picture: maps as a grid (8 to a row) with their colour bar, a vector as a strip of cells,
    the logits with their numbers. `big`: large enough for a slide, maps numbered."""
    v = view.values
    if v.ndim == 3:
        return feature_grid(v, cols=min(8, v.shape[0]), cell=56 if big else v.shape[1], gap=2 if big else 1,
                            labels=big, colorbar=True)
    if view.name == "logits":
        return vector_strip(v, cols=v.size, cell=44, numbers=True)
    return vector_strip(v, cols=min(v.size, 32), cell=14 if big else 4, colorbar=True)


def layer_titles(views: list) -> list[str]:
    """What each layer's picture is called on a slide: "conv1 + relu1: 16 maps of 28×28", "logits: 10 scores"."""
    titles = []
    for v in views:
        shape = v.values.shape
        what = (f"{shape[0]} maps of {shape[1]}×{shape[2]}" if v.values.ndim == 3
                else f"{v.values.size} scores" if v.name == "logits" else f"{v.values.size} values")
        titles.append(f"{v.title}: {what}")
    return titles


def layers_picture(views: list, titles: list[str] | None = None) -> Image.Image:
    """Every layer as one picture for a slide, each under its name (`titles`, default `layer_titles`): maps
    numbered, 8 to a row, each layer on its own colour scale with its colour bar."""
    titles = layer_titles(views) if titles is None else titles
    return tile([layer_image(v, big=True) for v in views], cols=1, gap=16, captions=titles, font_size=18)


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


def example_html(best: int) -> str:
    return (f"<div class='cnnviz-example' data-prediction='{best}' style='padding:0.3em 0.6em;"
            f"border-left:4px solid {visual.MUTED}'><b>The built-in example 7, not your drawing.</b> Until you "
            f"draw a digit, the network below reads this example (it reads it as {best}).</div>")
