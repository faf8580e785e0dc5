"""cnnviz_ui/visual.py, the one visual language: its numbers, its scales, its helpers."""
import numpy as np
import pytest

from cnnviz_ui import visual


def test_number_never_writes_a_negative_zero_and_uses_a_true_minus():
    assert [visual.number(v) for v in (-0.001, -0.004, 0.0, -1.5, 2.0, 1234.5)] == [
        "0.00", "0.00", "0", "−1.50", "2", "1234.50"]
    assert visual.number(-0.04, 1) == "0.0" and visual.number(float("nan")) == ""


def test_scales_interpolate_their_anchors_end_to_end():
    for name, anchors in visual.ANCHORS.items():
        table = visual.lut(name)
        assert tuple(table[0]) == anchors[0] and tuple(table[-1]) == anchors[-1]
        assert visual.SCALES[name][0][1] == "rgb({},{},{})".format(*anchors[0])


def test_red_is_positive_and_blue_negative_on_every_diverging_output():
    assert visual.css_color(1.0, -1, 1, "diverging") == visual.POSITIVE_COLOR
    assert visual.css_color(-1.0, -1, 1, "diverging") == visual.NEGATIVE_COLOR
    assert visual.waterfall_colors()["increasing"]["marker_color"] == visual.POSITIVE_COLOR
    assert visual.SCALES["diverging"][-1][1] == visual.POSITIVE_COLOR


def test_scale_for_picks_diverging_for_signed_data_and_sequential_otherwise():
    assert visual.scale_for([[-1.0, 2.0]]) == ("diverging", -2.0, 2.0)
    assert visual.scale_for([[0.5, 2.0]]) == ("sequential", 0.0, 2.0)


def test_heatmap_colors_give_a_symmetric_diverging_range_and_a_colour_bar():
    kwargs = visual.heatmap_colors(np.array([[-0.5, 2.0]]), zrange=(-1.0, 3.0))
    assert kwargs["colorscale"] == visual.DIVERGING and (kwargs["zmin"], kwargs["zmax"]) == (-3.0, 3.0)
    assert kwargs["showscale"] and kwargs["colorbar"]["ticktext"] == ["−3", "0", "3"]
    assert "colorbar" not in visual.heatmap_colors([[1.0]], legend=False)
    with pytest.raises(ValueError, match="unknown colour scale"):
        visual.heatmap_colors([[1.0]], "Blues")


def test_legend_html_draws_the_scale_with_its_ends_written_by_number():
    html = visual.legend_html(-0.001, 2.5, "diverging")
    assert "0.00" in html and "2.50" in html and "−0.00" not in html
    assert "rgb(33,102,172)" in html and "rgb(178,24,43)" in html


def test_helpers_for_html_and_fills_stay_on_the_scale():
    assert visual.with_alpha(visual.HIGHLIGHT, 0.15) == "rgba(255,0,255,0.15)"
    assert visual.with_alpha(visual.POSITIVE_COLOR, 0.5) == "rgba(178,24,43,0.5)"
    assert visual.cell_css(1.0, 0, 1, "sequential") == "background:rgb(253,231,37);color:#000000"
    assert visual.cell_css(0.0, 0, 1, "sequential").endswith("color:#ffffff")


def test_picture_text_draws_every_character_of_a_signed_number_with_the_bundled_font():
    """Pictures are drawn with Pillow's bundled font, which has no true minus sign: it would draw a box."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=20)
    missing = np.asarray(font.getmask("\ue000"))  # a character no font here has: the box
    text = visual.picture_text(f"{visual.number(-0.42)} {visual.number(-117.83)} 28×28 – 3")
    assert text == "-0.42 -117.83 28x28 - 3"
    for ch in set(text) - {" "}:
        glyph = np.asarray(font.getmask(ch))
        assert glyph.shape != missing.shape or not np.array_equal(glyph, missing), f"{ch!r} draws as a box"
    assert not np.array_equal(np.asarray(font.getmask(visual.MINUS)), np.asarray(font.getmask("-")))
