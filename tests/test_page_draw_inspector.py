"""The draw page's unit inspector and its digit plumbing, driven through AppTest (canvas stubbed)."""
import re

import pytest
import torch

from cnnviz.trace import trace
from cnnviz.sketch import draw_digit
from cnnviz_ui.canvas import drawing_key, stub_key
from cnnviz_ui.models import ACTIVE_KEY, shipped_model
from app_helpers import open_app_page

CANVAS = stub_key("draw_canvas_0")


pytestmark = pytest.mark.usefixtures("online")  # tests/conftest.py


def _unit(at) -> dict:
    """The opened unit's tag (layer, unit, value) and its whole HTML."""
    block = next(h.value for h in at.html if "cnnviz-unit" in h.value)
    found = re.search(r"data-layer='(\w+)' data-unit='([\d,]+)' data-value='(-?[\d.]+)'", block)
    return {"layer": found.group(1), "unit": tuple(int(u) for u in found.group(2).split(",")),
            "value": float(found.group(3)), "html": block}


def _traced(at, layer: str, unit: tuple) -> float:
    digit = at.session_state["current_digit"]
    model = (at.session_state[ACTIVE_KEY] if ACTIVE_KEY in at.session_state else shipped_model("fc")).model
    with torch.no_grad():
        return float(trace(model, digit.x)[layer][0][unit])


def _pick(at, layer: str, channel: int, y: int, x: int):
    at.selectbox(key="rf_layer").set_value(layer).run()
    at.number_input(key=f"rf_ch_{layer}").set_value(channel).run()
    at.slider(key=f"rf_y_{layer}").set_value(y).run()
    at.slider(key=f"rf_x_{layer}").set_value(x).run()
    return at


def test_a_conv1_unit_shows_patch_times_filter_plus_bias_and_relu():
    at = _pick(open_app_page("draw", **{CANVAS: draw_digit(7)}), "relu1", 4, 12, 15)
    unit = _unit(at)
    assert unit["layer"] == "relu1" and unit["unit"] == (4, 12, 15)
    assert unit["value"] == pytest.approx(_traced(at, "relu1", (4, 12, 15)), abs=1e-5)
    assert "conv1 kernel 4" in unit["html"] and "+ bias:" in unit["html"] and "max(0, " in unit["html"]


def test_a_conv2_unit_charts_its_sixteen_partial_sums():
    at = _pick(open_app_page("draw", **{CANVAS: draw_digit(7)}), "relu2", 9, 7, 6)
    unit = _unit(at)
    assert unit["value"] == pytest.approx(_traced(at, "relu2", (9, 7, 6)), abs=1e-5)
    assert "Sum of all 16 partial sums" in unit["html"]
    assert any("16 partial sums" in str(chart.proto.spec) for chart in at.get("plotly_chart"))


def test_looking_inside_another_input_map_of_a_conv2_unit():
    at = _pick(open_app_page("draw", **{CANVAS: draw_digit(7)}), "relu2", 9, 7, 6)
    at.number_input(key="unit_inside_relu2_9_7_6").set_value(3).run()
    assert "pool1 map 3, rows 6–8, columns 5–7" in _unit(at)["html"]


def test_a_pool1_unit_names_the_winner_of_its_window():
    at = _pick(open_app_page("draw", **{CANVAS: draw_digit(7)}), "pool1", 2, 7, 7)
    unit = _unit(at)
    assert unit["value"] == pytest.approx(_traced(at, "pool1", (2, 7, 7)), abs=1e-5)
    assert "The largest of the 4 values wins" in unit["html"] and "relu1 map 2, rows 14–15" in unit["html"]


def test_an_fc1_unit_ranks_its_ten_largest_contributions():
    at = open_app_page("draw", **{CANVAS: draw_digit(7)})
    at.selectbox(key="rf_layer").set_value("relu3").run()
    at.number_input(key="rf_i_relu3").set_value(21).run()
    unit = _unit(at)
    assert unit["unit"] == (21,) and unit["value"] == pytest.approx(_traced(at, "relu3", (21,)), abs=1e-5)
    assert unit["html"].count("pool2 map ") == 10 and "The other 1558 inputs together" in unit["html"]


def test_the_logits_open_on_the_predicted_digit():
    at = open_app_page("draw", **{CANVAS: draw_digit(7)})
    at.selectbox(key="rf_layer").set_value("logits").run()
    unit = _unit(at)
    assert unit["unit"] == (7,) and unit["value"] == pytest.approx(_traced(at, "logits", (7,)), abs=1e-5)
    assert "relu3 unit " in unit["html"]


def test_the_gap_model_opens_its_global_average_pool():
    at = open_app_page("draw", **{CANVAS: draw_digit(7), ACTIVE_KEY: shipped_model("gap")})
    at.selectbox(key="rf_layer").set_value("gap").run()
    at.number_input(key="rf_i_gap").set_value(5).run()
    unit = _unit(at)
    assert unit["value"] == pytest.approx(_traced(at, "gap", (5, 0, 0)), abs=1e-5)
    assert "The mean of the 49 values" in unit["html"]


def test_a_drawing_survives_a_trip_to_another_page():
    """A student draws a 1, looks at Learned filters and comes back: the drawing is still theirs everywhere."""
    at = open_app_page("draw", **{CANVAS: draw_digit(1)})
    drawn = at.session_state["current_digit"]
    at.switch_page("pages/filters.py").run()
    assert at.session_state["current_digit"] is drawn
    # Back on the draw page the canvas remounts with the drawing it left (initial_drawing) and reports no
    # pixels until the next stroke; the page keeps the drawn digit meanwhile.
    at.session_state[CANVAS] = None
    at.session_state[drawing_key("draw_canvas_0")] = {"objects": [{"type": "path"}], "background": "#000000"}
    at.switch_page("pages/draw.py").run()
    assert not at.exception
    assert at.session_state["current_digit"] is drawn
    assert re.search(r"data-prediction='1'", " ".join(h.value for h in at.html))


def test_the_inspector_states_the_receptive_field_widths_of_the_loaded_model():
    at = open_app_page("draw")
    prose = "\n".join(m.value for m in at.markdown)
    assert "3 pixels wide after conv1, 4 after pool1, 8 after conv2, 10 after pool2" in prose


def test_the_widths_are_read_from_the_model_not_written_in():
    from torch import nn

    from cnnviz_ui.draw_view import field_widths

    model = nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 14 * 14, 10))
    assert field_widths(model).startswith("5 pixels wide after 0, 6 after 2")
