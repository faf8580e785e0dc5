"""Draw a digit and watch it flow through the network, layer by layer."""
import streamlit as st

from cnnviz.preprocess import is_blank, preprocess, read_upload
from cnnviz_ui import model_charts
from cnnviz_ui.canvas import draw_canvas
from cnnviz_ui.current_digit import Digit, mnist_digit, set_current_digit
from cnnviz_ui.digits import missing_reason
from cnnviz_ui.draw_view import analyse, input_hash, prediction_html, unit_window
from cnnviz_ui.images import digit_image, feature_grid, figure_html, png_data_url
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import prose

st.title("Draw a digit")
prose("Draw a digit with the mouse (or a finger). Before the network sees it, the drawing is prepared the way "
      "the MNIST digits were: cropped to the ink, shrunk into a 20×20 box without changing its proportions, "
      "and placed in a 28×28 field so that its centre of mass is in the middle. So it does not matter where "
      "or how large you draw. Below the prediction you can follow your digit through every layer.")

loaded = active_model()
model = loaded.model
st.caption(f"Model: {loaded.source}")
SOURCES = ["Draw", "MNIST test digit", "Upload an image"]


@st.fragment  # drawing reruns only this part of the page: the answer comes back sooner
def draw_and_look() -> None:
    digit: Digit | None = None
    left, middle, right = st.columns([1.25, 0.7, 1.05], gap="medium")
    with left:
        source = st.radio("Input", SOURCES, horizontal=True, key="draw_source", label_visibility="collapsed")
        if source == "Draw":
            brush = st.slider("Brush size", 8, 32, 18, key="draw_brush")
            version = st.session_state.setdefault("draw_canvas_version", 0)
            pixels = draw_canvas(f"draw_canvas_{version}", stroke_width=brush)
            if st.button("Clear", key="draw_clear", help="Empty the canvas (undo is on the canvas toolbar)"):
                st.session_state["draw_canvas_version"] = version + 1
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
        elif source == "MNIST test digit":
            reason = missing_reason()
            if reason:
                st.warning("MNIST is not on this machine, so there are no test digits to pick. "
                           "Run `python -m cnnviz.data --download` (or set CNNVIZ_DATA to a folder holding "
                           f"MNIST/raw). Details: {reason}")
            else:
                index = st.number_input("Test digit number", 0, 9999, 0, key="draw_mnist_index")
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

    if digit is None:
        if source == "Draw":
            set_current_digit(None)
            with middle:
                st.info("Draw a digit on the black square: the prediction appears when you lift the mouse.")
        st.stop()

    set_current_digit(digit)
    digest = input_hash(digit.image28)
    result = analyse(model, digit.x, digest)
    with middle:
        st.html(prediction_html(png_data_url(digit_image(digit.image28, size=28)), result.probabilities, digest))
        best = int(result.probabilities.argmax())
        st.metric("Prediction", str(best), f"{result.probabilities[best]:.1%} sure", delta_color="off",
                  delta_arrow="off")
    with right:
        st.html(model_charts.probability_bars_html(result.probabilities, digest))

    st.subheader("Inside the network")
    prose("Each picture is one layer's output, in the order the network computes them. Every small square is one "
          "feature map (numbered from 0, left to right, then down); one colour scale per layer, so bright maps are "
          "the ones this digit switches on. Filters that find nothing to match stay dark.")
    st.html(result.layers_html)
    maps = [v for v in result.layers if v.values.ndim == 3]

    st.subheader("Receptive field of one unit")
    prose("Pick a unit in one of the feature maps: the magenta box on the input is the patch of pixels that can "
          "change its value. It grows layer by layer: 3 pixels after conv1, 4 after pool1, 8 after conv2, 10 after "
          "pool2.")
    names = [v.name for v in maps]
    pick = st.columns([1, 1, 1, 1])
    titles = {v.name: v.title for v in maps}
    layer = pick[0].selectbox("Layer", names, key="rf_layer", format_func=titles.get)
    values = next(v.values for v in maps if v.name == layer)
    c, h, w = values.shape
    strongest = int(values.reshape(c, -1).max(1).argmax())  # start on the map this digit excites most
    channel = int(pick[1].number_input("Map", 0, c - 1, strongest, key=f"rf_ch_{layer}"))
    uy = pick[2].slider("Row", 0, h - 1, h // 2, key=f"rf_y_{layer}")
    ux = pick[3].slider("Column", 0, w - 1, w // 2, key=f"rf_x_{layer}")
    y0, y1, x0, x1 = unit_window(model, layer, uy, ux, digit.image28.shape[0])
    shown = st.columns([1, 1, 2])
    with shown[0]:
        st.html(figure_html(digit_image(digit.image28, size=140, box=(y0, y1, x0, x1)), 196,
                            f"Input pixels rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}: a {y1 - y0}×{x1 - x0} patch"))
    with shown[1]:
        single = values[channel][None]
        st.html(figure_html(feature_grid(single, cols=1, cell=140, labels=False, highlight=(0, uy, ux)), 260,
                            f"{layer}, map {channel}: unit ({uy}, {ux}) = {values[channel, uy, ux]:.3f}"))


draw_and_look()
