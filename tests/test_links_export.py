"""Links that restore a view (query parameters) and figures/tables out of the app (PNG, CSV)."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_helpers import APP
from cnnviz_ui import export, links, streamlit_internals


def test_chart_config_saves_a_png_named_after_the_chart():
    config = export.chart_config("pool_output")
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "cnnviz-pool-output", "scale": 2}
    assert "toImage" not in config["modeBarButtonsToRemove"]


def test_file_name_is_lowercase_words_joined_by_dashes():
    assert export.file_name("Layer table (DigitCNN)") == "cnnviz-layer-table-digitcnn"
    assert export.file_name("***") == "cnnviz-figure"


def test_csv_bytes_round_trip():
    rows = [{"layer": "conv1", "params": 160}, {"layer": "fc1", "params": 200832}]
    back = list(csv.DictReader(io.StringIO(export.csv_bytes(rows).decode())))
    assert back == [{"layer": "conv1", "params": "160"}, {"layer": "fc1", "params": "200832"}]


def test_png_bytes_is_a_png_of_the_same_image():
    image = Image.new("L", (5, 3), color=200)
    back = Image.open(io.BytesIO(export.png_bytes(image)))
    assert back.format == "PNG" and back.size == (5, 3) and back.getpixel((0, 0)) == 200


def _app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _link_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "link could not be used" in i.value]


def test_lecture_mode_link_opens_in_lecture_mode():
    at = _app(lecture_mode="true")
    assert not at.exception
    assert at.toggle(key="lecture_mode").value is True  # in the lecture bar: the sidebar is folded
    assert _link_notes(at) == []


def test_link_with_a_bad_value_opens_with_defaults_and_a_note():
    at = _app(lecture_mode="maybe")
    assert not at.exception
    assert at.toggle(key="lecture_mode").value is False
    assert len(_link_notes(at)) == 1 and "lecture_mode=maybe" in _link_notes(at)[0]


def test_link_with_an_unknown_setting_gets_a_note_and_loses_it():
    at = _app(zoom="11")
    assert not at.exception
    assert "zoom=11" in _link_notes(at)[0]
    assert "zoom" not in at.query_params


def test_plain_link_has_no_note():
    assert _link_notes(_app()) == []


# ---- a link for students beside the lecture link ------------------------------------------------------------------

def test_student_url_keeps_the_view_and_drops_lecture_mode():
    url = links.student_url("http://host:8501", "pooling",
                            {"lecture_mode": "true", "pool_kernel": "3", "pool_shift": "0,-1"})
    assert url == "http://host:8501/pooling?pool_kernel=3&pool_shift=0%2C-1"
    assert links.student_url("http://host:8501/", "", {"lecture_mode": "true"}) == "http://host:8501/"


def _student_link(at: AppTest) -> str:
    (popover,) = [p for p in at.get("popover") if p.proto.popover.label == "Link for students"]
    (code,) = [c for c in at.get("code") if "://" in c.value or c.value.startswith("/")]
    return code.value


def test_lecture_mode_offers_a_link_for_students_with_the_same_view():
    at = _app(lecture_mode="true")  # the instructor's session, in lecture mode from its first run
    for key, value in dict(conv_kernel_source="A classic kernel", conv_classic="Sobel X", conv_stride="2",
                           conv_step="3").items():
        at.query_params[key] = value
    at.switch_page("pages/convolution.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="lecture_mode").value is True
    query = parse_qs(urlsplit(_student_link(at)).query)
    assert urlsplit(_student_link(at)).path.endswith("/convolution")
    assert "lecture_mode" not in query
    shared = {k: [v] for k, v in at.query_params.items() if k != "lecture_mode"}
    assert query == shared
    assert query["conv_stride"] == ["2"] and query["conv_step"] == ["3"]  # (a default value leaves the URL)


def test_normal_mode_needs_no_link_for_students():
    at = _page("pooling")
    assert [p for p in at.get("popover") if p.proto.popover.label == "Link for students"] == []


# ---- each page's main state in the URL ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _app_py_runs_on_every_page():
    """Run app.py (where the link check lives) on every page, as the server does (AppTest alone would run a
    switched-to page by itself: see streamlit_internals.apptest_runs_app_py)."""
    with streamlit_internals.apptest_runs_app_py():
        yield


def _page(page: str, **params) -> AppTest:
    """Open pages/<page>.py from a link carrying `params`, as a fresh browser tab would."""
    at = AppTest.from_file(APP, default_timeout=120).run()  # a first run registers the app's pages
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pooling_link_restores_input_window_and_step():
    at = _page("pooling", pool_input="A random map", pool_size="8", pool_seed="5", pool_kernel="3",
               pool_stride="1", pool_padding="1", pool_step="4")
    assert at.selectbox(key="pool_input").value == "random"
    assert [at.number_input(key=k).value for k in ("pool_size", "pool_kernel", "pool_stride", "pool_padding")] \
        == [8, 3, 1, 1]
    assert at.session_state["pool_seed"] == 5 and at.slider(key="pool_step").value == 4
    assert _link_notes(at) == []


def test_pooling_link_with_bad_values_opens_with_defaults_and_names_them():
    at = _page("pooling", pool_kernel="99", pool_step="abc", pool_input="nonsense")
    assert at.selectbox(key="pool_input").value == "chapter"
    assert at.number_input(key="pool_kernel").value == 2 and at.session_state["pool_step"] == 1
    note = _link_notes(at)[0]
    assert "pool_kernel=99" in note and "pool_step=abc" in note and "pool_input=nonsense" in note


def test_pooling_link_with_a_step_past_the_end_keeps_the_first_window():
    at = _page("pooling", pool_step="5")  # the chapter's 4×4 map pooled 2×2 has 4 windows
    assert at.session_state["pool_step"] == 1
    assert "pool_step=5" in _link_notes(at)[0]


def test_convolution_link_restores_kernel_geometry_and_step():
    at = _page("convolution", conv_kernel_source="A classic kernel", conv_classic="Sobel X", conv_stride="2",
               conv_padding="1", conv_bias="1.5", conv_step="3")
    assert at.selectbox(key="conv_kernel_source").value == "classic"
    assert at.selectbox(key="conv_classic").value == "Sobel X"
    assert [at.number_input(key=k).value for k in ("conv_stride", "conv_padding", "conv_bias")] == [2, 1, 1.5]
    assert at.slider(key="conv_step").value == 3
    assert _link_notes(at) == []


def test_receptive_field_link_restores_the_stack_and_the_unit():
    at = _page("receptive_field", rf_stack="c3s1p1-p2s2p0-c5s1p0d2", rf_unit="conv2.3.4")
    table = at.table[0].value
    assert list(table["Layer"]) == ["conv1", "pool1", "conv2"]
    assert list(table["k"]) == [3, 2, 5] and list(table["d"]) == [1, 1, 2]
    assert at.selectbox(key="rf_layer_loaded model").value == "conv2"
    side = int(table["Output"].iloc[-1].split("×")[0])
    assert at.slider(key=f"rf_y_{side}").value == 3 and at.slider(key=f"rf_x_{side}").value == 4
    assert _link_notes(at) == []


def test_receptive_field_link_with_a_broken_stack_gets_the_preset_and_a_note():
    at = _page("receptive_field", rf_stack="c3s1p1-x9", rf_unit="conv9.1.1")
    assert list(at.table[0].value["Layer"]) == ["conv1", "pool1", "conv2", "pool2"]
    note = _link_notes(at)[0]
    assert "rf_stack=c3s1p1-x9" in note and "rf_unit=conv9.1.1" in note


def test_architecture_link_selects_the_layer():
    at = _page("architecture", arch_layer="fc1")
    assert at.button_group(key="arch_layer").value == "fc1"
    assert any("fc1" in m.value for m in at.markdown)


def test_draw_link_opens_the_chosen_test_digit():
    at = _page("draw", draw_source="MNIST test digit", draw_mnist_index="42")
    assert at.radio(key="draw_source").value == "MNIST test digit"
    assert at.number_input(key="draw_mnist_index").value == 42
    assert _link_notes(at) == []


def test_evaluation_link_opens_the_chosen_cell():
    at = _page("evaluation", ev_true="4", ev_pred="9")
    assert at.selectbox(key="ev_true").value == 4 and at.selectbox(key="ev_pred").value == 9
    assert any("True 4, answered 9" in m.value for m in at.markdown)
