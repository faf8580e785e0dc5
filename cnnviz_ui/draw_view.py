"""What the draw page shows for one input: the layers in execution order (their kinds read from cnnviz.layers,
so any design of the Design lab draws itself), each as one composite image; the network picture and the unit
inspector under it.

Work is cached per (model, input) in the session, so moving the unit picker or switching pages
does not run the network again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st
import torch
from PIL import Image
from torch import nn

from cnnviz import receptive_field
from cnnviz.layers import layer_specs
from cnnviz.receptive_field import unit_window
from cnnviz.trace import trace
from cnnviz.unit import open_unit
from cnnviz_ui import visual
from cnnviz_ui.current_digit import Digit
from cnnviz_ui.export import image_download, tile
from cnnviz_ui.images import digit_image, feature_grid, figure_html, vector_strip
from cnnviz_ui.network_view import clicked, network_figure
from cnnviz_ui.shell import lecture_mode, prose, show_chart
from cnnviz_ui.unit_view import map_picker_figure, partial_sums_figure, unit_html

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


# -- the page's state: which map or unit the student is looking at ----------------------------------------------

FROM_EVALUATION = "draw_open_inspector"   # set by the Evaluation page with draw_source and draw_mnist_index
SCROLL_KEY = "_draw_scroll_to_inspector"


def arrive_from_evaluation() -> bool:
    """A click on a mistake on the Evaluation page brought the student here: open the inspector on the logits
    (on the digit the model chose, so the student sees what pushed it there) and scroll to it. Once only."""
    if not st.session_state.pop(FROM_EVALUATION, False):
        return False
    st.session_state["rf_layer"] = "logits"
    st.session_state.pop("rf_i_logits", None)   # start on this digit's own prediction
    st.session_state[SCROLL_KEY] = True
    return True


def strongest_map(values: np.ndarray) -> int:
    """The map [C, h, w] this input excites most (the inspector starts there)."""
    return int(values.reshape(values.shape[0], -1).max(1).argmax())


def current_pick(views: list) -> tuple[str, int, tuple[int, int] | None]:
    """(layer, map or unit index, (row, column) in the map or None) the inspector shows now, read from its
    widgets' state, with the defaults they start on."""
    names = [v.name for v in views]
    layer = st.session_state.get("rf_layer")
    layer = layer if layer in names else names[0]
    values = views[names.index(layer)].values
    if values.ndim == 3:
        c, h, w = values.shape
        channel = min(int(st.session_state.get(f"rf_ch_{layer}", strongest_map(values))), c - 1)
        return layer, channel, (int(st.session_state.get(f"rf_y_{layer}", h // 2)),
                                int(st.session_state.get(f"rf_x_{layer}", w // 2)))
    return layer, min(int(st.session_state.get(f"rf_i_{layer}", int(values.argmax()))), values.size - 1), None


def open_pick(layer: str, index: int, views: list) -> None:
    """Point the inspector at map (or unit) `index` of `layer`: what a click on the network picture does."""
    values = next(v.values for v in views if v.name == layer)
    st.session_state["rf_layer"] = layer
    st.session_state[f"rf_ch_{layer}" if values.ndim == 3 else f"rf_i_{layer}"] = int(index)


SCROLL_JS = """<script>
(function find(tries) {
  const box = window.parent.document.querySelector('.st-key-inspector') || document.querySelector('.st-key-inspector');
  if (box) { box.scrollIntoView({behavior: 'instant', block: 'start'}); return; }
  if (tries > 0) setTimeout(() => find(tries - 1), 100);
})(50);
</script>"""



# -- the page's pieces: the digit read from an upload, the answer, the network and one unit opened ---------------

def _open_clicked(chart: str, views: list) -> None:
    """A click on the network picture: open that map (or unit) in the inspector."""
    hit = clicked(st.session_state.get(chart), views)
    if hit is not None:
        open_pick(*hit, views)


def _pick_from_map(chart: str, layer: str) -> None:
    """A click on the map picks that unit: move the row and column pickers there."""
    points = st.session_state[chart]["selection"]["points"]
    if points:
        st.session_state[f"rf_y_{layer}"] = int(points[0]["y"])
        st.session_state[f"rf_x_{layer}"] = int(points[0]["x"])


def example_html(best: int) -> str:
    return (f"<div class='cnnviz-example' data-prediction='{best}' style='padding:0.3em 0.6em;"
            f"border-left:4px solid {visual.MUTED}'><b>The built-in example 7, not your drawing.</b> Until you "
            f"draw a digit, the network below reads this example (it reads it as {best}).</div>")


@st.fragment  # picking a map or a unit reruns only this part: the canvas and the prediction are left alone
def inside_the_network(model: nn.Module, digit: Digit, result: Analysis, example: bool) -> None:
    st.subheader("Inside the network")
    if example:
        st.html(example_html(int(result.probabilities.argmax())))
    n_px = digit.image28.shape[0]
    prose(f"The whole network in one picture, left to right, in the order it computes: the {n_px}×{n_px} input, "
          "each layer's feature maps (numbered; each layer on its own colour scale, dark = 0, yellow = its largest "
          "value), the logits (red = positive, blue = negative) and the probabilities. **Click any map** to open "
          "it below; the magenta box on the input is the patch of pixels the unit you open can see.")
    layer, index, where = current_pick(result.layers)
    box = unit_window(model, layer, *where, n_px) if where is not None else None
    chart = f"network_{layer}_{index}"  # a new chart after each pick: a click on any map is a new selection
    with st.container(key="network"):
        show_chart(network_figure(digit.image28, result.layers, result.probabilities, (layer, index), box,
                                  input_hash(digit.image28), height=470 if lecture_mode() else 340),
                   key=chart, name="network", on_select=partial(_open_clicked, chart, result.layers),
                   selection_mode="points")
    image_download(lambda: layers_picture(result.layers), "every layer", key="draw_layers_png")
    with st.container(key="inspector"):
        _one_unit(model, digit, result)
    if st.session_state.pop(SCROLL_KEY, False):
        st.html(SCROLL_JS, unsafe_allow_javascript=True)


def _pick_unit(values: np.ndarray, layer: str, pick: list) -> tuple:
    """The unit pickers of one layer (map, row and column of a map layer; the unit of a vector) -> the unit."""
    if values.ndim != 3:
        return (int(pick[1].number_input("Unit", 0, values.size - 1, int(values.argmax()), key=f"rf_i_{layer}")),)
    c, h, w = values.shape
    channel = int(pick[1].number_input("Map", 0, c - 1, strongest_map(values), key=f"rf_ch_{layer}"))
    uy = pick[2].slider("Row", 0, h - 1, h // 2, key=f"rf_y_{layer}") if h > 1 else 0   # a 1×1 map has one unit
    ux = pick[3].slider("Column", 0, w - 1, w // 2, key=f"rf_x_{layer}") if w > 1 else 0
    return channel, uy, ux


def _one_unit(model: nn.Module, digit: Digit, result: Analysis) -> None:
    st.subheader("One unit, opened")
    n_px = digit.image28.shape[0]
    prose("Pick a unit in any layer (or click a square of the map) to see how its value was computed from this "
          "digit with the model's own weights. For a unit in a feature map, the magenta box on the input is the "
          f"patch of pixels that can change its value: {field_widths(model)}.")
    titles = {v.name: v.title for v in result.layers}
    pick = st.columns([1.3, 1, 1, 1])
    layer = pick[0].selectbox("Layer", list(titles), key="rf_layer", format_func=titles.get)
    values = next(v.values for v in result.layers if v.name == layer)
    unit = _pick_unit(values, layer, pick)
    try:
        rec = open_unit(model, result.acts, layer, unit)
    except ValueError as exc:
        st.info(f"This unit cannot be opened: {exc}")
        return
    left, right = st.columns([1, 2], gap="small")
    with left:
        if values.ndim == 3:
            channel, uy, ux = unit
            y0, y1, x0, x1 = unit_window(model, layer, uy, ux, n_px)
            st.html(figure_html(digit_image(digit.image28, size=140, box=(y0, y1, x0, x1)), 168,
                                f"Input pixels rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}: a {y1 - y0}×{x1 - x0} patch"))
            chart = f"unit_map_{layer}"
            show_chart(map_picker_figure(values[channel], (uy, ux), height=260), key=chart,
                       name=f"{layer} map {channel}", on_select=partial(_pick_from_map, chart, layer),
                       selection_mode="points")
            st.caption(f"{titles[layer]}, map {channel}: click a square to open that unit.")
        else:
            st.caption(f"{titles[layer]} is a vector: each of its units reads every value of the layer before it, "
                       f"so it can be changed by any pixel of the {n_px}×{n_px} input.")
    with right:
        inside = 0
        if rec.kind == "conv" and rec.conv.values.shape[0] > 1:
            show_chart(partial_sums_figure(rec), key="unit_partial_sums")
            sums = rec.conv.partial_sums
            inside = int(st.number_input(f"Look inside one {rec.source} map", 0, sums.size - 1,
                                         int(abs(sums).argmax()), key=f"unit_inside_{layer}_{'_'.join(map(str, unit))}",
                                         help="Starts on the map whose partial sum is largest"))
        st.html(unit_html(rec, inside))
