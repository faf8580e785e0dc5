"""The Draw page's network picture and unit inspector: which map or unit the student is looking at, the
connected network picture that opens one with a click, and that unit opened to its arithmetic."""
from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st
from torch import nn

from cnnviz.receptive_field import unit_window
from cnnviz.unit import open_unit
from cnnviz_ui.current_digit import Digit
from cnnviz_ui.draw_view import Analysis, example_html, field_widths, input_hash, layers_picture
from cnnviz_ui.export import image_download
from cnnviz_ui.images import digit_image, figure_html
from cnnviz_ui.clickable import clickable_picture
from cnnviz_ui.network_view import clicked, network_svg
from cnnviz_ui.shell import lecture_mode, prose, show_chart
from cnnviz_ui.unit_view import map_picker_svg, partial_sums_figure, unit_html

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

def _open_clicked(views: list, spot: str) -> None:
    """A click on the network picture: open that map (or unit) in the inspector."""
    hit = clicked(spot, views)
    if hit is not None:
        open_pick(*hit, views)


def _pick_from_map(layer: str, spot: str) -> None:
    """A click on the map picks that unit (its `data-spot` is "<row> <column>"): move the pickers there."""
    row, _, column = spot.partition(" ")
    if row.isdigit() and column.isdigit():
        st.session_state[f"rf_y_{layer}"] = int(row)
        st.session_state[f"rf_x_{layer}"] = int(column)


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
    with st.container(key="network"):
        clickable_picture(network_svg(digit.image28, result.layers, result.probabilities, (layer, index), box,
                                      input_hash(digit.image28), height=517 if lecture_mode() else 340),
                          key="network_picture", on_click=partial(_open_clicked, result.layers))
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
            big = lecture_mode()
            clickable_picture(map_picker_svg(values[channel], (uy, ux), height=300 if big else 260,
                                             type_px=15 if big else 11),
                              key=f"unit_map_{layer}", on_click=partial(_pick_from_map, layer))
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
