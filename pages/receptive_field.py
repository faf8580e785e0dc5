"""Receptive field: how much of the input one unit sees, layer by layer, for the loaded model or your own stack."""
import streamlit as st

from cnnviz.architecture import model_input_shape
from cnnviz.data import TEST_SIZE, scale_pixels
from cnnviz.preprocess import resize_nearest
from cnnviz.receptive_field import nested_boxes, receptive_fields
from cnnviz_ui import charts, links, rf_view as view
from cnnviz_ui.current_digit import default_digit
from cnnviz_ui.digits import test_digit
from cnnviz_ui.models import active_model, show_which_model
from cnnviz_ui.export import table_download
from cnnviz_ui.shell import error_box, lecture_mode, prose, show_chart

st.title("Receptive field")
loaded = active_model()
show_which_model(loaded, "rf")
prose(
    "The receptive field of a unit is the patch of input pixels that can change its value. A 3×3 convolution "
    "widens it by 2 pixels; after a stride-2 pool every further step counts double, because neighbouring "
    "units are now 2 pixels apart in the input (the *jump*). The recurrence, from Araujo, Norris & Sim "
    "(Distill, 2019): **r = r_prev + (k − 1) · jump_prev**, with jump the product of all strides so far."
)

# Lecture mode puts the picture of one unit's field right under the controls, the table after it.
lecture = lecture_mode()
top, first, rest, last = st.container(), st.container(), st.container(), st.container()

# ---- the stack: a preset, then edits ------------------------------------------------------------------------
c_preset, c_size = top.columns([3, 1])
chosen = c_preset.segmented_control("Preset", view.PRESETS, default=view.PRESETS[0], required=True, key="rf_preset",
                                    bind=links.BIND)
input_size = c_size.number_input("Input size", 1, 512, model_input_shape(loaded.model)[-1], key="rf_input_size",
                                 bind=links.BIND)
loaded_as = (chosen, id(loaded.model) if chosen == view.PRESETS[0] else None)  # the shown model's own stack
if st.session_state.get("rf_loaded_preset") != loaded_as or "rf_stack" not in st.session_state:
    try:
        st.session_state.rf_stack = view.preset(chosen, loaded.model)
    except ValueError as exc:  # a loaded model the calculator cannot read
        st.session_state.rf_stack = []
        error_box(exc)
    st.session_state.rf_loaded_preset = loaded_as
if (linked_stack := links.restore("rf_stack", view.stack_from_text)) is not None:  # a link's own stack
    st.session_state.rf_stack = linked_stack
stack = st.session_state.rf_stack


def _remove(layer_id: int) -> None:
    st.session_state.rf_stack = [r for r in st.session_state.rf_stack if r["id"] != layer_id]


def _add(kind: str) -> None:
    st.session_state.rf_stack.append(view.spec(kind, 3 if kind == "conv" else 2, 1 if kind == "conv" else 2,
                                               1 if kind == "conv" else 0))


with rest.expander(f"Edit the layer stack ({len(stack)} layers)", expanded=not lecture):
    widths = [1.3, 1, 1, 1, 1, 0.8]
    for col, head in zip(st.columns(widths), ("kind", "kernel k", "stride s", "padding p", "dilation d", "")):
        col.caption(head)
    for row in stack:
        cols = st.columns(widths, vertical_alignment="center")
        key = f"rf_{row['id']}"
        row["kind"] = cols[0].selectbox("kind", view.KINDS, index=view.KINDS.index(row["kind"]), key=f"{key}_kind",
                                        label_visibility="collapsed")
        for col, field, low in zip(cols[1:5], ("kernel_size", "stride", "padding", "dilation"), (1, 1, 0, 1)):
            row[field] = col.number_input(field, low, 64, row[field], key=f"{key}_{field}",
                                          label_visibility="collapsed",
                                          disabled=field == "dilation" and row["kind"] == "pool")
        cols[5].button("", key=f"{key}_remove", on_click=_remove, args=(row["id"],), help="Remove this layer",
                       icon=":material/delete:")
    c_conv, c_pool, _ = st.columns([1, 1, 3])
    c_conv.button("Add a conv layer", on_click=_add, args=("conv",), key="rf_add_conv", icon=":material/add:")
    c_pool.button("Add a pool layer", on_click=_add, args=("pool",), key="rf_add_pool", icon=":material/add:")

if not stack:
    st.warning("The stack is empty: add a conv or pool layer above, or pick a preset.")
    st.stop()
try:
    rows = receptive_fields(view.to_layers(stack), input_size)
except ValueError as exc:
    error_box(exc)
    st.info("Each layer needs a window that fits its input: make the input larger, the kernel smaller, "
            "add padding, or remove a layer. Pools ignore dilation.")
    st.stop()

links.write("rf_stack", view.stack_text(stack))
records = view.table_records(rows)
with rest:
    st.table(records, hide_index=True)
    table_download(records, "receptive field table", key="rf_csv")
    final = rows[-1]
    st.markdown(f"After **{final.name}** each unit sees a **{final.size}×{final.size}** patch of the "
                f"{input_size}×{input_size} input, and neighbouring units are {final.jump} pixels apart. "
                "*Start* is the centre of the first unit's field, in input pixels.")

# ---- one unit's field, drawn on a digit -------------------------------------------------------------------------
lesson = (first if lecture else last).container(key="lesson")  # on the first screen in lecture mode
if not lecture:
    lesson.subheader("Where one unit looks")
c_controls, c_image = lesson.columns([2, 3])
names = [r.name for r in rows]
linked_unit = links.restore("rf_unit", lambda text: view.unit_from_text(text, {r.name: r.output_size for r in rows}))
if linked_unit is not None:
    linked_side = rows[names.index(linked_unit[0])].output_size
    st.session_state[f"rf_layer_{chosen}"] = linked_unit[0]
    st.session_state[f"rf_y_{linked_side}"], st.session_state[f"rf_x_{linked_side}"] = linked_unit[1:]
with c_controls:
    # keyed by preset: a new preset starts at its last layer
    if st.session_state.get(f"rf_layer_{chosen}") not in names:
        st.session_state[f"rf_layer_{chosen}"] = names[-1]
    # lecture mode: two controls a row, so the picture and every control fit the first screen
    c_layer, c_digit = st.columns(2) if lecture else (st.container(), None)
    layer_name = c_layer.selectbox("Layer", names, key=f"rf_layer_{chosen}")
    upto = names.index(layer_name)
    side = rows[upto].output_size
    for axis in "yx":  # the middle unit, unless a link or an earlier visit chose another
        st.session_state.setdefault(f"rf_{axis}_{side}", side // 2)
    c_y, c_x = st.columns(2) if lecture else (st.container(), st.container())
    y = c_y.slider("Unit row", 0, side - 1, key=f"rf_y_{side}") if side > 1 else 0
    x = c_x.slider("Unit column", 0, side - 1, key=f"rf_x_{side}") if side > 1 else 0
    digit_index = (c_digit or st).number_input("Test digit #", 0, TEST_SIZE - 1, 0, key="rf_digit", bind=links.BIND)
    digit = test_digit(digit_index)
    if digit is None:
        st.caption("MNIST is not available on this server, so a drawn 7 stands in for a test digit.")
    else:
        st.caption(f"MNIST test digit #{digit_index} (a {digit[2]}). Boxes stop at the image border.")
image = scale_pixels(digit[1]) if digit is not None else default_digit().image28
links.write("rf_unit", view.unit_text(layer_name, y, x))
boxes = nested_boxes(rows, upto, y, x, input_size)
title = f"Where {layer_name} unit ({y}, {x}) looks"
with c_image:
    fig = charts.image_with_boxes(resize_nearest(image, input_size), boxes, title=title)
    if lecture:  # the legend beside the picture, clear of the enlarged axis numbers
        fig.update_layout(legend=dict(orientation="v", x=1.02, y=1.0, yanchor="top"))
    show_chart(fig, key="rf_boxes", height=370 if lecture else 420)
(c_controls if lecture else c_image).caption("Each box is the field of the nearest unit of one layer, up to the "
                                             "chosen one.")
