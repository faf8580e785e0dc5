"""Draw a digit and watch it flow through the network, layer by layer."""
from functools import partial

import streamlit as st

from cnnviz.confidence import judge
from cnnviz.preprocess import is_blank, preprocess, read_upload
from cnnviz.receptive_field import unit_window
from cnnviz.unit import open_unit
from cnnviz_ui import draw_view, links, model_charts, visual
from cnnviz_ui.canvas import draw_canvas, drawing_key
from cnnviz_ui.current_digit import Digit, example_digit, mnist_digit, set_current_digit
from cnnviz_ui.digits import missing_reason
from cnnviz_ui.draw_view import Analysis, analyse, field_widths, input_hash, layers_picture, prediction_html
from cnnviz_ui.export import image_download
from cnnviz_ui.images import digit_image, figure_html, png_data_url
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import active_model
from cnnviz_ui.network_view import clicked, network_figure
from cnnviz_ui.shell import lecture_mode, prose, show_chart
from cnnviz_ui.unit_view import map_picker_figure, partial_sums_figure, unit_html

st.title("Draw a digit")
prose("Draw a digit with the mouse (or a finger). Before the network sees it, the drawing is prepared the way "
      "the MNIST digits were: cropped to the ink, shrunk into a 20×20 box without changing its proportions, "
      "and placed in a 28×28 field so that its centre of mass is in the middle. So it does not matter where "
      "or how large you draw. Below the prediction you can follow your digit through every layer.")

loaded = active_model()
model = loaded.model
SOURCES = ["Draw", "MNIST test digit", "Upload an image"]
INITIAL = "_draw_initial"  # the drawing the canvas was mounted with; kept while the canvas stays on screen
PROMPT = "Draw a digit on the black square."
st.session_state.pop(INITIAL, None)  # this page was just opened: the canvas mounts again, with the last drawing
draw_view.arrive_from_evaluation()   # a mistake clicked on the Evaluation page: that digit, in the inspector


@st.fragment  # drawing reruns only this part of the page: the answer comes back sooner
def draw_and_look() -> None:
    digit: Digit | None = None
    lesson = st.container(key="lesson")  # the canvas, its controls and the answer: one screen in lecture mode
    source = lesson.radio("Input", SOURCES, horizontal=True, key="draw_source", label_visibility="collapsed",
                          bind=links.BIND)
    left, middle, right = lesson.columns([1.1, 0.75, 1.15], gap="medium")
    dot = False
    with left:
        if source != "Draw":
            st.session_state.pop(INITIAL, None)  # the canvas is off screen: it remounts with the last drawing
        if source == "Draw":
            canvas_box = st.container()          # the canvas above, its two controls side by side below it
            clear_column, brush_column = st.columns([1, 2.2], vertical_alignment="bottom")
            brush = brush_column.slider("Brush size", 8, 32, 18, key="draw_brush")
            version = st.session_state.setdefault("draw_canvas_version", 0)
            canvas = f"draw_canvas_{version}"
            initial = st.session_state.setdefault(INITIAL, st.session_state.get(drawing_key(canvas)))
            with canvas_box:
                pixels = draw_canvas(canvas, stroke_width=brush, initial_drawing=initial)
            if clear_column.button("Clear", key="draw_clear", help="Empty the canvas (undo is on the canvas toolbar)"):
                st.session_state["draw_canvas_version"] = version + 1
                for key in (INITIAL, "_draw_input"):
                    st.session_state.pop(key, None)
                set_current_digit(None)
                st.rerun(scope="fragment")
            if not is_blank(pixels):
                key = input_hash(pixels)
                cached = st.session_state.get("_draw_input")
                if cached is None or cached[0] != key:
                    image28, x = preprocess(pixels)
                    cached = (key, Digit(image28, x, "your drawing"))
                    st.session_state["_draw_input"] = cached
                digit = cached[1]
            elif pixels is None and (st.session_state.get(drawing_key(canvas)) or {}).get("objects"):
                cached = st.session_state.get("_draw_input")  # the canvas came back with the last drawing on it
                digit = cached[1] if cached is not None else None
            elif pixels is not None:  # strokes on the canvas, but nothing a digit could be made of
                dot = True
                middle.warning("There is nothing digit-like to read yet: a dot, a few stray pixels, or ink over "
                               "the whole square. Press Clear and draw one digit with a few strokes.")
        elif source == "MNIST test digit":
            reason = missing_reason()
            if reason:
                require_mnist("draw", "Until then there are no test digits to pick: draw one or upload an image.")
            else:
                index = st.number_input("Test digit number", 0, 9999, 0, key="draw_mnist_index", bind=links.BIND)
                digit = mnist_digit(int(index))
        else:
            upload = st.file_uploader("A PNG or JPEG of one digit (under 2 MB)", type=["png", "jpg", "jpeg"],
                                      key="draw_upload")
            if upload is not None:
                try:
                    pixels = read_upload(upload.getvalue())
                    if is_blank(pixels):
                        st.warning("No digit found in that image: it looks empty.")
                    else:
                        image28, x = preprocess(pixels)
                        digit = Digit(image28, x, f"uploaded {upload.name}")
                except ValueError as exc:
                    st.error(f"Cannot use this file: {exc}")

    example = digit is None and source == "Draw"
    if digit is None and not example:
        st.stop()
    if example:  # nothing (digit-like) drawn yet: no answer beside the canvas; the example flows below, apart
        set_current_digit(None)  # the other pages show their default digit
        if not dot:
            middle.info(f"{PROMPT} The answer will appear here.")
        digit = example_digit()
        result = analyse(model, digit.x, input_hash(digit.image28))
    else:
        set_current_digit(digit)
        digest = input_hash(digit.image28)
        result = analyse(model, digit.x, digest)
        show_answer(digit, result, digest, middle, right)
    st.caption(f"Model: {loaded.source}")
    open_one_unit(digit, result, example)


def show_answer(digit: Digit, result: Analysis, digest: str, middle, right) -> None:
    """The student's digit as the model sees it, its prediction and the ten probabilities, with a caution when
    the answer deserves less trust (cnnviz.confidence)."""
    judged = judge(result.probabilities, digit.image28)
    with middle:
        st.html(prediction_html(png_data_url(digit_image(digit.image28, size=28)), result.probabilities, digest))
        if digit.source != "your drawing":
            st.caption(digit.source)
        image_download(lambda: digit_image(digit.image28, size=280), "the input as the model sees it",
                       key="draw_input_png")
        st.metric("Prediction", str(judged.predicted), f"{visual.percent(judged.probability)} probability",
                  delta_color="off", delta_arrow="off")
    with right:
        st.html(model_charts.probability_bars_html(result.probabilities, digest))
        if judged.caution:
            st.warning(draw_view.caution_markdown(judged, most=1 if lecture_mode() else None))
    if judged.caution:
        prose(draw_view.CONFIDENCE_LESSON)


def _open_clicked(chart: str, views: list) -> None:
    """A click on the network picture: open that map (or unit) in the inspector."""
    hit = clicked(st.session_state.get(chart), views)
    if hit is not None:
        draw_view.open_pick(*hit, views)


def _pick_from_map(chart: str, layer: str) -> None:
    """A click on the map picks that unit: move the row and column pickers there."""
    points = st.session_state[chart]["selection"]["points"]
    if points:
        st.session_state[f"rf_y_{layer}"] = int(points[0]["y"])
        st.session_state[f"rf_x_{layer}"] = int(points[0]["x"])


@st.fragment  # picking a map or a unit reruns only this part: the canvas and the prediction are left alone
def open_one_unit(digit: Digit, result: Analysis, example: bool) -> None:
    st.subheader("Inside the network")
    if example:
        best = int(result.probabilities.argmax())
        st.html(f"<div class='cnnviz-example' data-prediction='{best}' style='padding:0.3em 0.6em;"
                f"border-left:4px solid {visual.MUTED}'><b>The built-in example 7, not your drawing.</b> Until you "
                f"draw a digit, the network below reads this example (it reads it as {best}).</div>")
    prose("The whole network in one picture, left to right, in the order it computes: the 28×28 input, each "
          "layer's feature maps (numbered; each layer on its own colour scale, dark = 0, yellow = its largest "
          "value), the logits (red = positive, blue = negative) and the probabilities. **Click any map** to open "
          "it below; the magenta box on the input is the patch of pixels the unit you open can see.")
    layer, index, where = draw_view.current_pick(result.layers)
    box = unit_window(model, layer, *where, digit.image28.shape[0]) if where is not None else None
    chart = f"network_{layer}_{index}"  # a new chart after each pick: a click on any map is a new selection
    with st.container(key="network"):
        show_chart(network_figure(digit.image28, result.layers, result.probabilities, (layer, index), box,
                                  input_hash(digit.image28), height=470 if lecture_mode() else 340),
                   key=chart, name="network", on_select=partial(_open_clicked, chart, result.layers),
                   selection_mode="points")
    image_download(lambda: layers_picture(result.layers), "every layer", key="draw_layers_png")
    with st.container(key="inspector"):
        one_unit(digit, result)
    if st.session_state.pop(draw_view.SCROLL_KEY, False):
        st.html(draw_view.SCROLL_JS, unsafe_allow_javascript=True)


def one_unit(digit: Digit, result: Analysis) -> None:
    st.subheader("One unit, opened")
    prose("Pick a unit in any layer (or click a square of the map) to see how its value was computed from this "
          "digit with the model's own weights. For a unit in a feature map, the magenta box on the input is the "
          f"patch of pixels that can change its value: {field_widths(model)}.")
    titles = {v.name: v.title for v in result.layers}
    pick = st.columns([1.3, 1, 1, 1])
    layer = pick[0].selectbox("Layer", list(titles), key="rf_layer", format_func=titles.get)
    values = next(v.values for v in result.layers if v.name == layer)
    if values.ndim == 3:
        c, h, w = values.shape
        strongest = draw_view.strongest_map(values)  # start on the map this digit excites most
        channel = int(pick[1].number_input("Map", 0, c - 1, strongest, key=f"rf_ch_{layer}"))
        uy = pick[2].slider("Row", 0, h - 1, h // 2, key=f"rf_y_{layer}")
        ux = pick[3].slider("Column", 0, w - 1, w // 2, key=f"rf_x_{layer}")
        unit = (channel, uy, ux)
    else:
        unit = (int(pick[1].number_input("Unit", 0, values.size - 1, int(values.argmax()), key=f"rf_i_{layer}")),)
    try:
        rec = open_unit(model, result.acts, layer, unit)
    except ValueError as exc:
        st.info(f"This unit cannot be opened: {exc}")
        return
    left, right = st.columns([1, 2], gap="small")
    with left:
        if values.ndim == 3:
            y0, y1, x0, x1 = unit_window(model, layer, uy, ux, digit.image28.shape[0])
            st.html(figure_html(digit_image(digit.image28, size=140, box=(y0, y1, x0, x1)), 168,
                                f"Input pixels rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}: a {y1 - y0}×{x1 - x0} patch"))
            chart = f"unit_map_{layer}"
            show_chart(map_picker_figure(values[channel], (uy, ux), height=260), key=chart,
                       name=f"{layer} map {channel}", on_select=lambda: _pick_from_map(chart, layer),
                       selection_mode="points")
            st.caption(f"{titles[layer]}, map {channel}: click a square to open that unit.")
        else:
            st.caption(f"{titles[layer]} is a vector: each of its units reads every value of the layer before it, "
                       "so it can be changed by any pixel of the 28×28 input.")
    with right:
        inside = 0
        if rec.kind == "conv" and rec.conv.values.shape[0] > 1:
            show_chart(partial_sums_figure(rec), key="unit_partial_sums")
            sums = rec.conv.partial_sums
            inside = int(st.number_input(f"Look inside one {rec.source} map", 0, sums.size - 1,
                                         int(abs(sums).argmax()), key=f"unit_inside_{layer}_{'_'.join(map(str, unit))}",
                                         help="Starts on the map whose partial sum is largest"))
        st.html(unit_html(rec, inside))


draw_and_look()
