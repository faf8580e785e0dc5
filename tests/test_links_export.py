"""Links that restore a view (query parameters) and figures/tables out of the app (PNG, CSV)."""
from __future__ import annotations

import csv
import io

from PIL import Image
from streamlit.testing.v1 import AppTest

from app_helpers import APP
from cnnviz_ui import export


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
    assert at.sidebar.toggle(key="lecture_mode").value is True
    assert _link_notes(at) == []


def test_link_with_a_bad_value_opens_with_defaults_and_a_note():
    at = _app(lecture_mode="maybe")
    assert not at.exception
    assert at.sidebar.toggle(key="lecture_mode").value is False
    assert len(_link_notes(at)) == 1 and "lecture_mode=maybe" in _link_notes(at)[0]


def test_link_with_an_unknown_setting_gets_a_note_and_loses_it():
    at = _app(zoom="11")
    assert not at.exception
    assert "zoom=11" in _link_notes(at)[0]
    assert "zoom" not in at.query_params


def test_plain_link_has_no_note():
    assert _link_notes(_app()) == []
