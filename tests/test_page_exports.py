"""Figures and tables out of the app: each page's download buttons exist, with sensible file names, and give a
real PNG or CSV; charts drawn outside show_chart get Plotly's camera with a file name too."""
import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from PIL import Image

from app_helpers import open_app_page

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def downloads(monkeypatch, data_root):
    """Every st.download_button a page makes: key -> (file name, the bytes it would download)."""
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))
    made = {}
    original = st.download_button

    def spy(label, data, file_name=None, mime=None, *args, key=None, **kwargs):
        made[key] = (file_name, data)
        return original(label, data, file_name, mime, *args, key=key, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    return made


def _body(data) -> bytes:
    return data() if callable(data) else data


def _is_png(data) -> bool:
    body = _body(data)
    return body.startswith(PNG_MAGIC) and Image.open(io.BytesIO(body)).size[0] > 20


def _camera_files(at) -> dict[str, str]:
    """Chart key -> the file name its camera button saves (charts without a mode bar are left out)."""
    found = {}
    for chart in at.get("plotly_chart"):
        config = json.loads(chart.proto.config or "{}")
        if config.get("displayModeBar") is not False and "toImageButtonOptions" in config:
            found[chart.proto.id.rsplit("-", 1)[-1]] = config["toImageButtonOptions"]["filename"]
    return found


def _frame(data) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(_body(data)))


def test_architecture_table_downloads_as_csv(downloads):
    open_app_page("architecture")
    name, data = downloads["arch_csv"]
    assert name == "cnnviz-digitcnn-layers.csv"
    rows = list(csv.DictReader(io.StringIO(_body(data).decode())))
    assert rows and rows[0]


def test_architecture_csv_holds_numbers_a_spreadsheet_can_add_up(downloads):
    """An instructor sums the parameter column in a spreadsheet: it must be numbers, not "200,832" text."""
    open_app_page("architecture")
    table = _frame(downloads["arch_csv"][1])
    assert pd.api.types.is_integer_dtype(table["Parameters"])
    assert table["Parameters"].sum() == 206_922  # the chapter's count
    share = next(c for c in table.columns if c.startswith("Share"))
    assert "%" in share and pd.api.types.is_float_dtype(table[share])  # "97.1%" -> 97.1 in "Share (%)"
    assert table[share].sum() == pytest.approx(100, abs=0.5)


def test_receptive_field_table_downloads_as_csv(downloads):
    open_app_page("receptive_field")
    name, data = downloads["rf_csv"]
    assert name == "cnnviz-receptive-field-table.csv"
    assert [r["Layer"] for r in csv.DictReader(io.StringIO(_body(data).decode()))][:2] == ["conv1", "pool1"]


def test_receptive_field_csv_columns_of_numbers_are_numeric(downloads):
    open_app_page("receptive_field")
    table = _frame(downloads["rf_csv"][1])
    for column in ("k", "s", "p", "d", "Receptive field", "Jump", "Start"):
        assert pd.api.types.is_numeric_dtype(table[column]), column
    assert table["Receptive field"].tolist()[:4] == [3, 4, 8, 10]  # the chapter's receptive fields


def test_filters_page_offers_the_gallery_the_edge_pairs_and_the_responses_as_png(downloads):
    at = open_app_page("filters")
    assert downloads["filters_gallery_png"][0] == "cnnviz-conv1-filters.png"
    assert downloads["filters_responses_png"][0].startswith("cnnviz-filter-")
    assert {"filters_vertical_png", "filters_horizontal_png"} <= set(downloads)
    assert all(_is_png(data) for key, (_, data) in downloads.items() if key.startswith("filters_"))
    cameras = _camera_files(at)
    assert cameras["filters_conv2_norms"] == "cnnviz-conv2-filter-strength"


def test_gap_page_tables_are_csv_and_the_cam_pictures_png(downloads):
    at = open_app_page("gap_cam")
    assert downloads["gap_csv_FC head"][0] == "cnnviz-fc-head-parameters.csv"
    assert downloads["gap_csv_GAP head"][0] == "cnnviz-gap-head-parameters.csv"
    for head in ("FC head", "GAP head"):
        table = _frame(downloads[f"gap_csv_{head}"][1])
        assert pd.api.types.is_integer_dtype(table["parameters"]) and table["parameters"].sum() > 1000
    assert _is_png(downloads["gap_cam_png"][1])
    assert "gap_param_split" in _camera_files(at)
    assert not any("−  bias -" in c or "bias -" in c for img in at.image for c in img.captions)


def test_evaluation_charts_have_a_camera_and_the_cells_digits_a_png(downloads):
    at = open_app_page("evaluation")
    assert {"ev_confusion", "ev_per_class"} <= set(_camera_files(at))
    name, data = downloads["ev_digits_png"]
    assert name.startswith("cnnviz-true-") and _is_png(data)


def test_draw_page_offers_the_input_and_every_layer_as_png(downloads):
    from cnnviz.sketch import draw_digit
    from cnnviz_ui.canvas import stub_key

    open_app_page("draw", **{stub_key("draw_canvas_0"): draw_digit(7)})  # a drawing: the page answers it
    assert downloads["draw_input_png"][0] == "cnnviz-the-input-as-the-model-sees-it.png"
    assert downloads["draw_layers_png"][0] == "cnnviz-every-layer.png"
    assert _is_png(downloads["draw_input_png"][1]) and _is_png(downloads["draw_layers_png"][1])


def test_csv_bytes_writes_numbers_unformatted_and_reads_formatted_ones_back_as_numbers():
    from cnnviz_ui.export import csv_bytes

    rows = [{"layer": "conv1", "params": "200,832", "share": "97.1%", "loss": 0.123456789, "n": np.int64(3),
             "shape": "1 × 28 × 28", "w": "−0.25"},
            {"layer": "fc1", "params": 6_090, "share": "2.9%", "loss": float("nan"), "n": 4, "shape": "7×7",
             "w": ""}]
    table = pd.read_csv(io.BytesIO(csv_bytes(rows)))
    assert list(table.columns) == ["layer", "params", "share (%)", "loss", "n", "shape", "w"]
    assert table["params"].tolist() == [200_832, 6_090] and pd.api.types.is_integer_dtype(table["params"])
    assert table["share (%)"].tolist() == [97.1, 2.9]
    assert table["loss"][0] == 0.123456789 and np.isnan(table["loss"][1])  # full precision; NaN an empty cell
    assert table["n"].tolist() == [3, 4] and table["w"][0] == -0.25
    assert table["shape"].tolist() == ["1 × 28 × 28", "7×7"]  # text stays text


def test_tile_can_write_a_caption_above_each_picture():
    from cnnviz_ui.export import tile

    pictures = [Image.new("RGB", (40, 20), (0, 0, 0)), Image.new("RGB", (40, 30), (0, 0, 0))]
    plain = tile(pictures, cols=1, gap=4)
    captioned = tile(pictures, cols=1, gap=4, captions=["conv1 + relu1", "pool1"], font_size=14)
    assert captioned.height > plain.height and captioned.width >= plain.width
    top = np.asarray(captioned.crop((0, 0, captioned.width, 14)))
    assert (top < 128).any()  # dark caption text on white above the first picture
    with pytest.raises(ValueError, match="one caption per picture"):
        tile(pictures, cols=1, captions=["only one"])
