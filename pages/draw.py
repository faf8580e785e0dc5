"""Draw a digit and watch it flow through the network, layer by layer."""
import streamlit as st

from cnnviz.data import TEST_SIZE
from cnnviz_ui import draw_view, links
from cnnviz_ui.current_digit import INITIAL, Digit, drawn_digit, example_digit, mnist_digit, set_current_digit, \
    uploaded_digit
from cnnviz_ui.digits import missing_reason
from cnnviz_ui.draw_view import analyse, input_hash
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import active_model, show_which_model
from cnnviz_ui.shell import prose

st.title("Draw a digit")
prose("Draw a digit with the mouse (or a finger). Before the network sees it, the drawing is prepared the way "
      "the MNIST digits were: cropped to the ink, shrunk into a 20×20 box without changing its proportions, "
      "and placed in a 28×28 field so that its centre of mass is in the middle. So it does not matter where "
      "or how large you draw. Below the prediction you can follow your digit through every layer.")

loaded = active_model()
model = loaded.model
SOURCES = ["Draw", "MNIST test digit", "Upload an image"]
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
            digit, dot = drawn_digit(middle)
        elif source == "MNIST test digit":
            reason = missing_reason()
            if reason:
                require_mnist("draw", "Until then there are no test digits to pick: draw one or upload an image.")
            else:
                index = st.number_input("Test digit number", 0, TEST_SIZE - 1, 0, key="draw_mnist_index",
                                        bind=links.BIND)
                digit = mnist_digit(int(index))
        else:
            digit = uploaded_digit(st.file_uploader("A PNG or JPEG of one digit (under 2 MB)",
                                                    type=["png", "jpg", "jpeg"], key="draw_upload"))

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
        draw_view.show_answer(digit, result, digest, middle, right)
    show_which_model(loaded, "draw")
    draw_view.inside_the_network(model, digit, result, example)


draw_and_look()
