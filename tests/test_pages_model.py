"""AppTest runs of the model pages: training, draw, filters, GAP/CAM, evaluation (canvas stubbed)."""
import io
import re
import time

import numpy as np
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.model import DigitCNN, ModelConfig
from cnnviz.sketch import draw_digit
from cnnviz_ui.canvas import stub_key
from app_helpers import open_app_page

CANVAS = stub_key("draw_canvas_0")


# `online` / `offline` fixtures: tests/conftest.py


def _app(page: str, **state) -> AppTest:
    return open_app_page(page, **state)


def _prediction(at) -> str | None:
    """The digit the draw page shows as its prediction (None when it shows none)."""
    for h in at.html:
        found = re.search(r"data-prediction='(\d)'", h.value)
        if found:
            return found.group(1)
    return None


def _markdown(at) -> list[str]:
    return [m.value for m in at.markdown]


def _captions(at) -> list[str]:
    figures = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", " ".join(h.value for h in at.html))
    return [c.value for c in at.caption] + [c for img in at.image for c in img.captions] + figures


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


# -- draw ----------------------------------------------------------------------------------------
# (A blank canvas, a cleared one and the network picture: the draw page's own tests, tests/test_page_draw.py and
# tests/test_network_view.py; issue 18 changed them: a blank canvas shows no prediction of its own.)

def test_draw_page_predicts_a_drawn_seven(online):
    at = _app("draw", **{CANVAS: draw_digit(7)})
    assert _prediction(at) == "7"


def test_draw_page_reads_a_small_four_in_a_corner(online):
    at = _app("draw", **{CANVAS: draw_digit(4, height=70, top=200, left=10)})
    assert _prediction(at) == "4"


def test_draw_page_shows_all_ten_probabilities(online):
    at = _app("draw", **{CANVAS: draw_digit(7)})
    bars = next(h.value for h in at.html if "cnnviz-probabilities" in h.value)
    assert len(re.findall(r"\d+\.\d%</span></div>", bars)) == 10


def test_a_pool2_unit_sees_a_10_by_10_patch(online):
    at = _app("draw", **{CANVAS: draw_digit(7)})
    at.selectbox(key="rf_layer").set_value("pool2").run()
    assert any("a 10×10 patch" in c for c in _captions(at))


def test_draw_page_predicts_the_picked_mnist_test_digit(online):
    at = _app("draw")
    at.radio(key="draw_source").set_value("MNIST test digit").run()
    assert _prediction(at) == "7"  # test digit #0 is a 7
    at.number_input(key="draw_mnist_index").set_value(1).run()
    assert _prediction(at) == "2"  # #1 is a 2


def test_an_uploaded_png_digit_is_predicted(online):
    at = _app("draw")
    at.radio(key="draw_source").set_value("Upload an image").run()
    paper = 255 - draw_digit(3)[..., :3]  # dark ink on white, as a photo of paper
    at.file_uploader(key="draw_upload").set_value(("three.png", _png(paper), "image/png")).run()
    assert not at.error and _prediction(at) == "3"


def test_an_upload_that_is_not_an_image_gives_a_clear_error(online):
    at = _app("draw")
    at.radio(key="draw_source").set_value("Upload an image").run()
    at.file_uploader(key="draw_upload").set_value(("digit.png", b"not an image at all", "image/png")).run()
    assert "not an image" in at.error[0].value and _prediction(at) is None


def test_draw_page_without_mnist_explains_how_to_get_it(offline):
    at = _app("draw")
    at.radio(key="draw_source").set_value("MNIST test digit").run()
    assert any("python -m cnnviz.data --download" in m.value for e in at.expander for m in e.markdown)


# -- filters and GAP/CAM ------------------------------------------------------------------------

def test_filters_page_shows_sixteen_filters_and_their_matches(online):
    at = _app("filters")
    gallery = [c for c in _captions(at) if c.startswith("**#")]
    assert len(gallery) == 16
    for what in ("vertical", "horizontal"):  # a best filter, or a plain statement that none is close
        assert any(f"Best {what}-edge filter" in m or f"No {what}-edge filter" in m for m in _markdown(at))
    assert not any("−0.00" in c for c in gallery)


def test_filter_labels_come_from_one_score_and_weak_matches_name_no_kernel(online):
    """The shipped model's filter #5 (mixed signs) was once called "Box blur", #3 (centre-surround) "Identity"."""
    from cnnviz.filters import CLOSE, NO_MATCH
    at = _app("filters")
    gallery = {c.split("**")[1]: c for c in _captions(at) if c.startswith("**#")}
    assert "Box blur" not in gallery["#5"].split("(")[0] and NO_MATCH in gallery["#5"]
    assert "Identity" not in gallery["#3"]
    for caption in gallery.values():
        score = float(caption.rsplit(" ", 1)[-1].rstrip(")").replace("−", "-"))
        assert (NO_MATCH in caption) == (score < CLOSE), caption
    assert any("cosine similarity" in m for m in _markdown(at))


def test_the_sobel_kernel_is_never_called_learned(online):
    at = _app("filters")
    for c in _captions(at):
        if "Sobel" in c and "learned" in c:
            assert "not learned" in c, c


def test_the_best_edge_filters_are_ones_the_gallery_calls_edges_and_a_flipped_sign_is_said(online):
    at = _app("filters")
    text = " ".join(_markdown(at))
    vertical = re.search(r"Best vertical-edge filter: #(\d+)\*\* ≈ (\S+)", text) or re.search(
        r"No vertical-edge filter is close.*?The nearest: \*\*#(\d+)\*\*, (.+?) at ", text)
    horizontal = re.search(r"Best horizontal-edge filter: #(\d+)\*\* ≈ (\S+)", text)
    assert vertical and horizontal  # the shipped model's #11 is −Sobel Y at 0.91; no vertical one is close
    gallery = {c.split("**")[1]: c for c in _captions(at) if c.startswith("**#")}
    assert "Y" in gallery[f"#{horizontal[1]}"]
    if "Best vertical" in vertical[0]:
        assert "Prewitt X" in gallery[f"#{vertical[1]}"] or "Sobel X" in gallery[f"#{vertical[1]}"]
    else:
        named = gallery[f"#{vertical[1]}"].split("(")[0]  # what the gallery calls it: not a close vertical edge
        assert "X" in vertical[2] and "Sobel X" not in named and "Prewitt X" not in named
    flipped = [c for c in _captions(at) if "sign flipped" in c]
    assert len(flipped) == sum(m[2].startswith("−") for m in (vertical, horizontal))


def test_filters_page_uses_the_drawn_digit(online):
    at = _app("draw", **{CANVAS: draw_digit(7)})
    at.switch_page("pages/filters.py").run()
    assert any(c == "input: your drawing" for c in _captions(at))
    at.selectbox(key="filters_pick").set_value(5).run()
    assert any("learned filter #5" in c for c in _captions(at))


def test_filters_page_without_mnist_uses_a_built_in_digit(offline):
    at = _app("filters")
    assert any("built-in drawn 7" in c for c in _captions(at))


def test_gap_page_compares_the_parameter_counts_of_both_heads(online):
    at = _app("gap_cam")
    values = [m.value for m in at.metric if m.label == "Parameters"]
    assert values == ["206,922", "5,130"]


def test_gap_page_explains_the_selected_class(online):
    at = _app("gap_cam")
    at.selectbox(key="gap_class").set_value(3).run()
    assert any(c.startswith("CAM for 3") for c in _captions(at))


# -- evaluation ----------------------------------------------------------------------------------

def test_evaluation_page_shows_test_accuracy_and_a_cells_digits(online):
    at = _app("evaluation")
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value.endswith("%")
    at.selectbox(key="ev_true").set_value(4).run()
    at.selectbox(key="ev_pred").set_value(4).run()
    assert any(m.startswith("**True 4, answered 4:**") for m in _markdown(at))
    assert any(c.startswith("#") and "4:" in c for c in _captions(at))  # correct 4s with their top-3


def test_evaluation_page_offline_shows_the_recorded_evaluation_and_how_to_get_the_data(offline):
    from cnnviz.checkpoint import load, shipped_path
    recorded = load(shipped_path("fc"))[1]["evaluation"]
    at = _app("evaluation")
    assert any("python -m cnnviz.data --download" in m.value for e in at.expander for m in e.markdown)
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{recorded['accuracy']:.2%}"


def test_evaluation_page_offline_shows_the_recorded_mistakes_themselves(offline):
    from cnnviz.checkpoint import load, shipped_path
    recorded = load(shipped_path("fc"))[1]["evaluation"]
    at = _app("evaluation")
    t, p = (int(at.selectbox(key=k).value) for k in ("ev_true", "ev_pred"))
    count = recorded["confusion"][t][p]
    assert 0 < count and len(at.image) == min(count, 12)  # every mistake of the cell, as a picture
    assert any(f"{count:,} mistakes" in m for m in _markdown(at))


# -- training ------------------------------------------------------------------------------------

def _progress(at) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def test_a_short_real_training_run_from_the_controls_becomes_the_active_model(online):
    at = _app("training")
    at.number_input(key="tr_max_steps").set_value(3)
    at.selectbox(key="tr_batch").set_value(32)
    at.button[0].click().run()  # "Start training" (the form's submit button)
    deadline = time.monotonic() + 120
    while not _progress(at).startswith("Finished"):
        assert time.monotonic() < deadline, _progress(at)
        time.sleep(0.5)
        at.run()
    assert "step 3/3" in _progress(at)
    at.button(key="tr_make_active").click().run()
    assert any("your training run" in m for m in _markdown(at))
    at.switch_page("pages/draw.py").run()
    assert any("your training run" in c for c in _captions(at))
    at.switch_page("pages/why.py").run()                       # its run replays on the Why page, step 0 to 3
    at.session_state["why_tab"] = "Through training"
    at.run()
    assert at.select_slider(key="why_snapshot").options == ["0", "1", "2", "3"]
    assert any("Replaying your own run" in c for c in _captions(at))


def test_training_page_offline_says_why_and_keeps_the_rest(offline):
    at = _app("training")
    assert "MNIST is not available here" in at.warning[0].value
    assert next(b for b in at.button if b.label == "Start training").disabled  # nothing to train on


def test_with_nothing_training_the_shipped_run_can_be_replayed(offline):
    at = _app("training")
    at.button(key="tr_replay").click().run()
    assert _progress(at).startswith("Replaying: step")


def test_the_fast_recipes_recorded_run_replays_offline(offline):
    at = _app("training")
    at.radio(key="tr_recorded").set_value("fast").run()
    assert any("--threads 2" in c.value or "python -m cnnviz.train" in c.value for c in at.caption)
    at.button(key="tr_replay").click().run()
    assert _progress(at).startswith("Replaying: step")


def test_a_full_server_gives_a_clear_message(online, monkeypatch):
    import cnnviz_ui.training_view as tv
    monkeypatch.setattr(tv, "MAX_JOBS", 0)
    st.cache_resource.clear()
    at = _app("training")
    at.button[0].click().run()
    assert "Training is busy" in at.error[0].value and "limit is 0" in at.error[0].value


def test_a_bad_checkpoint_upload_keeps_the_previous_model(online):
    at = _app("training")
    before = at.session_state["active_model"] if "active_model" in at.session_state else None
    at.file_uploader(key="tr_upload").set_value(("evil.safetensors", b"garbage" * 10, "application/octet-stream"))
    at.run()
    assert "Cannot use evil.safetensors" in at.error[0].value
    after = at.session_state["active_model"] if "active_model" in at.session_state else None
    assert after is before


def test_a_valid_checkpoint_upload_becomes_the_active_model(online, tmp_path):
    from cnnviz.checkpoint import save
    torch.manual_seed(3)
    path = save(tmp_path / "mine.safetensors", DigitCNN(ModelConfig()), {"note": "trained elsewhere"})
    at = _app("training")
    at.file_uploader(key="tr_upload").set_value(("mine.safetensors", path.read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.error
    assert at.session_state["active_model"].source == "uploaded mine.safetensors"
