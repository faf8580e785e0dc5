"""The Draw page's answer, driven through AppTest (canvas stubbed): honest about blanks, dots and scribbles,
and the door from the Evaluation page."""
import numpy as np
import pytest

from cnnviz.sketch import draw_digit
from cnnviz_ui.canvas import stub_key
from app_helpers import open_app_page
from test_confidence import scribble

CANVAS = stub_key("draw_canvas_0")
CAUTION = "Take this answer with care"

pytestmark = pytest.mark.usefixtures("online")  # tests/conftest.py


def _dot() -> np.ndarray:
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[138:144, 138:144, :3] = 255   # one small dab of the brush
    return rgba


def _html(at) -> str:
    return "\n".join(h.value for h in at.html)


def _no_answer_of_its_own(at) -> None:
    assert [m.label for m in at.metric] == []                 # no "Prediction", for the example or anything else
    assert "cnnviz-prediction" not in _html(at) and "cnnviz-probabilities" not in _html(at)
    assert "The built-in example 7, not your drawing" in _html(at)  # the example is below, labelled as such


def test_a_blank_canvas_shows_no_prediction_only_the_labelled_example():
    at = open_app_page("draw")
    _no_answer_of_its_own(at)
    assert any("Draw a digit on the black square" in i.value for i in at.info)


def test_a_dot_shows_no_prediction_of_its_own():
    at = open_app_page("draw", **{CANVAS: _dot()})
    _no_answer_of_its_own(at)
    assert any("nothing digit-like" in w.value for w in at.warning)
    assert "current_digit" not in at.session_state     # the other pages do not take the dot for a digit


def test_a_drawn_seven_is_answered_without_a_caution():
    at = open_app_page("draw", **{CANVAS: draw_digit(7)})
    assert [(m.label, m.value) for m in at.metric] == [("Prediction", "7")]
    assert not any(CAUTION in w.value for w in at.warning)
    assert "cnnviz-example" not in _html(at)


def test_a_random_scribble_gets_a_caution():
    at = open_app_page("draw", **{CANVAS: scribble()})
    assert [m.label for m in at.metric] == ["Prediction"]
    cautions = [w.value for w in at.warning if CAUTION in w.value]
    assert cautions and "loops" in cautions[0]
    assert any("Sure is not the same as right" in m.value for m in at.markdown)   # and the short lesson


def test_a_mistake_clicked_on_the_evaluation_page_opens_here_in_the_inspector():
    """The Evaluation page sets these three keys and switches here: that test digit, opened on its logits."""
    at = open_app_page("draw", draw_source="MNIST test digit", draw_mnist_index=247, draw_open_inspector=True)
    assert at.session_state["current_digit"].source.startswith("MNIST test digit #247")
    assert at.number_input(key="draw_mnist_index").value == 247
    assert "draw_open_inspector" not in at.session_state          # used once
    assert at.selectbox(key="rf_layer").value == "logits"
    predicted = int(at.metric[0].value)
    assert f"data-layer='logits' data-unit='{predicted}'" in _html(at)  # the digit the model chose, opened
    assert "scrollIntoView" in _html(at)
    at.run()                                                            # a later rerun does not scroll again
    assert "scrollIntoView" not in _html(at)
