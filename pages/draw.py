"""Draw a digit and watch it flow through the network, layer by layer."""
import streamlit as st

from cnnviz.confidence import judge
from cnnviz.data import TEST_SIZE
from cnnviz_ui import inspector_view, links, model_charts, visual
from cnnviz_ui.current_digit import INITIAL, Digit, drawn_digit, example_digit, mnist_digit, set_current_digit, \
    uploaded_digit
from cnnviz_ui.digits import missing_reason
from cnnviz_ui.draw_view import Analysis, analyse, input_hash, prediction_html
from cnnviz_ui.export import image_download
from cnnviz_ui.images import digit_image, png_data_url
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import active_model, show_which_model
from cnnviz_ui.shell import lecture_mode, prose

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
inspector_view.arrive_from_evaluation()   # a mistake clicked on the Evaluation page: that digit, in the inspector


def caution_markdown(judged, most: int | None = None) -> str:
    """The caution for a prediction that deserves less trust (cnnviz.confidence.Confidence), in our words; at
    most `most` reasons (lecture mode keeps the lesson box on one screen)."""
    reasons = judged.reasons[:most] if most else judged.reasons
    return f"**Take this answer with care:** {'; '.join(reasons)}."


CONFIDENCE_LESSON = (
    "**Sure is not the same as right.** The ten probabilities always add up to 100%, whatever the network is "
    "shown: it has no way to answer \"this is not a digit\". A scribble, a letter or a digit written unlike "
    "anything in MNIST can still push one score far above the others, and the softmax turns that gap into a "
    "number close to 100%. So the caution above looks for trouble in two other places as well: how spread out "
    "the network's own belief is, and how far the drawing's ink is from the digits the network learned from. "
    "Neither can prove an answer right; a missing caution is not a promise either.")


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
            st.warning(caution_markdown(judged, most=1 if lecture_mode() else None))
    if judged.caution:
        prose(CONFIDENCE_LESSON)


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
        show_answer(digit, result, digest, middle, right)
    show_which_model(loaded, "draw")
    inspector_view.inside_the_network(model, digit, result, example)


draw_and_look()
