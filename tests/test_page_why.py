"""The "Why this answer?" page through AppTest, with the shipped model and without MNIST: the four maps for any
class, the honesty check, the attack (its answer checked by running the model on the attacked picture), fixing
the attacked digit on the canvas, and the digit drawn on the Draw page showing up here."""
import re

import numpy as np
import pytest
import torch

from cnnviz.evaluate import predict
from cnnviz.preprocess import normalize_image28
from cnnviz.sketch import draw_digit
from cnnviz_ui import why_sections
from cnnviz_ui.canvas import stub_key
from cnnviz_ui.explain_view import METHODS, canvas_picture
from app_helpers import open_app_page, texts

pytestmark = pytest.mark.usefixtures("offline")  # tests/conftest.py: an empty data folder, no MNIST


def _figures(at, kind: str) -> list[dict]:
    """The pictures of one kind the page drew ("attribution", "randomised"), as their data attributes."""
    found = []
    for h in at.html:
        for tag in re.findall(rf"<figure class='cnnviz-{kind}'([^>]*)>", h.value):
            found.append(dict(re.findall(r"data-([a-z-]+)='([^']*)'", tag)) | {"html": h.value})
    return found


def _flip(at) -> dict:
    (tag,) = [m for h in at.html for m in re.findall(r"<div class='cnnviz-flip'([^>]*)>", h.value)]
    return dict(re.findall(r"data-([a-z-]+)='([^']*)'", tag))


def _shipped_answer(image28) -> int:
    from cnnviz_ui.models import shipped_model
    return int(predict(shipped_model("fc").model, normalize_image28(np.asarray(image28, np.float32)))[0].argmax())


@pytest.fixture
def page():
    return open_app_page("why")


def test_without_mnist_the_page_explains_the_built_in_digit_with_the_shipped_model(page):
    shown = _figures(page, "attribution")
    assert [f["method"] for f in shown] == list(METHODS)             # the four maps, side by side
    assert {f["target"] for f in shown} == {"7"}                       # for the answer: the built-in drawn 7
    caption = texts(page.caption)
    assert "shipped checkpoint" in caption and "built-in drawn 7" in caption
    assert not page.error and not page.exception


def test_choosing_another_class_explains_that_class(page):
    page.selectbox(key="why_class").set_value("3").run()
    assert {f["target"] for f in _figures(page, "attribution")} == {"3"}
    assert all("for 3" in f["html"] for f in _figures(page, "attribution"))


def test_the_honesty_check_shows_the_maps_of_the_randomised_network_and_what_they_mean(page):
    assert _figures(page, "randomised") == []
    page.toggle(key="why_honesty").set_value(True).run()
    random = _figures(page, "randomised")
    assert [f["method"] for f in random] == list(METHODS)
    assert all("rank correlation" in f["html"] for f in random)
    verdict = texts(page.warning) + texts(page.success)
    assert "layers scrambled" in verdict
    page.slider(key="why_depth").set_value(1).run()
    assert "1 of 4 layers re-drawn (down to fc2)" in texts(page.markdown)


def test_attacking_the_digit_flips_the_answer_the_model_gives_on_the_attacked_picture(page):
    page.button(key="why_attack").click().run()
    assert not page.exception
    flip = _flip(page)
    found = page.session_state[why_sections.ATTACK_KEY][1]
    assert flip["before"] == "7" and flip["after"] != "7"
    assert _shipped_answer(found.image) == int(flip["after"])          # the model itself, on the shown picture
    assert np.abs(found.image - found.original).max() <= float(flip["epsilon"]) + 1e-4


def test_painting_the_original_digit_back_on_the_canvas_restores_the_answer(page):
    page.button(key="why_attack").click().run()
    found = page.session_state[why_sections.ATTACK_KEY][1]
    fixed = [h.value for h in page.html if "cnnviz-fixed" in h.value]
    assert f"data-answer='{found.label}'" in fixed[0]                  # before any stroke: the attacked digit
    repaired = np.asarray(canvas_picture(found.original).convert("RGBA"))  # the student paints the 7 back
    page.session_state[stub_key(f"why_fix_{why_sections.digest(found.image)}")] = repaired
    page.run()
    fixed = [h.value for h in page.html if "cnnviz-fixed" in h.value]
    assert "data-answer='7'" in fixed[0]


def test_a_targeted_attack_reaches_the_digit_asked_for(page):
    page.selectbox(key="why_attack_target").set_value("1").run()
    page.button(key="why_attack").click().run()
    found = page.session_state[why_sections.ATTACK_KEY][1]
    if found is None:
        assert "this digit is hard to flip" in texts(page.info)
    else:
        assert _flip(page)["after"] == "1" and _shipped_answer(found.image) == 1


def test_the_digit_drawn_on_the_draw_page_is_the_one_explained_here():
    torch.manual_seed(0)
    at = open_app_page("draw", **{stub_key("draw_canvas_0"): draw_digit(3)})
    assert [m.value for m in at.metric] == ["3"]
    at.switch_page("pages/why.py").run()
    assert not at.exception
    assert "Digit: your drawing" in texts(at.caption)
    assert {f["target"] for f in _figures(at, "attribution")} == {"3"}


def _tab(at, name: str):
    at.session_state["why_tab"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _tagged(at, kind: str) -> dict:
    (tag,) = [m for h in at.html for m in re.findall(rf"<div class='cnnviz-{kind}'([^>]*)>", h.value)]
    return dict(re.findall(r"data-([a-z-]+)='([^']*)'", tag))


def test_the_recorded_accuracy_curve_shows_without_mnist(page):
    from app_helpers import figure
    spec = figure(page, "why_accuracy_curve")
    assert len(spec["data"]) == 2 and "Recorded for the shipped FC model" in texts(page.caption)
    page.button(key="why_attack").click().run()
    marked = figure(page, "why_accuracy_curve")["layout"]["shapes"]
    assert float(marked[0]["x0"]) == pytest.approx(page.session_state[why_sections.ATTACK_KEY][1].epsilon)


def test_without_the_training_digits_the_nearest_mapped_test_digits_stand_in_and_the_page_says_so(page):
    from app_helpers import figure
    _tab(page, "Where my digit lands")
    spec = figure(page, "why_digit_map")
    star = [t for t in spec["data"] if t.get("name") == "your digit"]
    assert len(star) == 1
    near = _tagged(page, "neighbours")
    labels = near["labels"].split(",")
    assert near["source"] == "test" and len(labels) == 8 and labels.count("7") >= 5  # the drawn 7 lands among 7s
    assert "nearest test digits on the map" in texts(page.html)
    assert any("training digits are not on this server" in i.value for i in page.info)   # the fallback, said
    assert any("need the MNIST test digits" in i.value for i in page.info)
    assert "5,000 test digits" in texts(page.caption) and "nearest of these test digits" in texts(page.caption)


def test_the_training_slider_replays_the_digit_from_the_first_snapshot_to_the_last(page):
    _tab(page, "Through training")
    last = _tagged(page, "snapshot")
    assert last["answer"] == "7"                                      # the end of training reads the 7
    page.select_slider(key="why_snapshot").set_value(0).run()
    first = _tagged(page, "snapshot")
    assert first["step"] == "0" and int(last["step"]) > 0
    from app_helpers import figure
    assert figure(page, "why_training_curve")["layout"]["shapes"][0]["x0"] == 0


def test_the_receptive_field_tab_shows_each_conv_layer_at_initialisation_and_trained(page):
    _tab(page, "Receptive fields")
    captions = [i.caption for image in page.get("image") for i in image.proto.imgs]
    assert [c.split(":")[0] for c in captions] == ["conv1, at initialisation", "conv1, trained",
                                                   "conv2, at initialisation", "conv2, trained"]
    assert "of the gradient in its central" in captions[-1]


def test_with_the_gap_model_active_the_page_names_it_and_says_whose_recordings_it_shows():
    from cnnviz_ui.models import ACTIVE_KEY, shipped_model
    at = open_app_page("why", **{ACTIVE_KEY: shipped_model("gap")})
    assert "GAP head" in texts(at.caption)
    assert [f["method"] for f in _figures(at, "attribution")] == list(METHODS)
    _tab(at, "Where my digit lands")                                   # no MNIST to map this model's digits with
    assert any("recorded for the shipped model only" in i.value for i in at.info)
    _tab(at, "Through training")
    assert "not of the shipped checkpoint, GAP head" in texts(at.caption)


def test_the_curve_marks_only_the_epsilon_of_the_digit_on_screen():
    from app_helpers import figure
    at = open_app_page("why")
    at.button(key="why_attack").click().run()
    assert figure(at, "why_accuracy_curve")["layout"]["shapes"]
    at.selectbox(key="why_attack_target").set_value("1").run()        # another question: its answer is not known yet
    assert not figure(at, "why_accuracy_curve")["layout"].get("shapes")
