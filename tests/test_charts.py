"""Chart builders: data in, Plotly figure out, checked without a browser."""
from __future__ import annotations

import numpy as np
import pytest

from cnnviz_ui import charts


def test_grid_writes_each_value_into_its_cell():
    fig = charts.grid(np.array([[1.0, 2.5], [3.0, 4.0]]))
    assert fig.data[0].text.tolist() == [["1", "2.50"], ["3", "4"]]
    assert fig.data[0].texttemplate == "%{text}"


def test_grid_highlight_covers_the_half_open_cell_range():
    fig = charts.grid(np.zeros((4, 4)), highlight=(0, 2, 2, 4))
    (shape,) = fig.layout.shapes
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (1.5, 3.5, -0.5, 1.5)


def test_grid_origin_puts_padding_at_negative_indices():
    values = np.pad(np.ones((2, 2)), 1, constant_values=np.nan)
    fig = charts.grid(values, origin=(-1, -1), highlight=(-1, 1, -1, 1))
    assert list(fig.data[0].x) == [-1, 0, 1, 2] and list(fig.data[0].y) == [-1, 0, 1, 2]
    assert fig.layout.shapes[0].x0 == -1.5


def test_grid_leaves_blank_cells_empty_and_skips_numbers_on_big_maps():
    small = charts.grid(np.array([[np.nan, 1.0]]))
    assert small.data[0].text.tolist() == [["", "1"]]
    big = charts.grid(np.zeros((28, 28)))
    assert big.data[0].texttemplate is None


def test_grid_shows_first_row_at_the_top():
    fig = charts.grid(np.zeros((3, 3)))
    assert fig.layout.yaxis.autorange == "reversed"


def test_activation_curves_draw_function_and_derivative_per_activation():
    x = np.linspace(-1, 1, 5)
    fig = charts.activation_curves(x, {"relu": (np.maximum(x, 0), (x > 0) * 1.0)}, at_x=0.5,
                                   labels={"relu": "ReLU"})
    assert [t.name for t in fig.data] == ["ReLU(x)", "ReLU′(x)"]
    assert fig.data[1].line.dash == "dash"
    assert fig.layout.shapes[0].x0 == 0.5  # the marker at the chosen x


def test_gradient_decay_uses_a_log_axis_and_drops_exact_zeros():
    fig = charts.gradient_decay({"relu": [1.0, 0.0, 0.0], "tanh": [1.0, 0.1, 0.01]})
    assert fig.layout.yaxis.type == "log"
    assert np.isnan(fig.data[0].y[1]) and fig.data[1].y[2] == 0.01
    assert list(fig.data[1].x) == [0, 1, 2]


def test_parameter_share_lists_only_layers_with_parameters():
    fig = charts.parameter_share(["conv1", "relu1", "fc1"], [160, 0, 840])
    assert list(fig.data[0].y) == ["conv1", "fc1"]
    assert list(fig.data[0].text) == ["160 (16.0%)", "840 (84.0%)"]
    assert fig.layout.title.text == "1,000 parameters"


def test_shape_flow_draws_one_block_per_layer_and_marks_the_chosen_one():
    names, kinds = ["input", "conv1", "flatten"], ["Input", "Conv2d", "Flatten"]
    shapes = [(1, 28, 28), (16, 28, 28), (12544,)]
    fig = charts.shape_flow(names, kinds, shapes, selected="conv1")
    blocks = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(blocks) == 3
    assert [b.line.width for b in blocks] == [1, 4, 1]
    assert list(fig.data[1].text) == ["1×28×28", "16×28×28", "12544"]


def test_shape_flow_makes_bigger_maps_taller():
    fig = charts.shape_flow(["a", "b"], ["Conv2d", "MaxPool2d"], [(16, 28, 28), (16, 14, 14)])
    a, b = fig.layout.shapes[:2]
    assert (a.y1 - a.y0) > (b.y1 - b.y0)


def test_image_with_boxes_outlines_each_box_in_pixel_edges():
    fig = charts.image_with_boxes(np.zeros((28, 28)), [("pool2: 10×10", 9, 19, 9, 19), ("conv1: 3×3", 13, 16, 13, 16)])
    names = [t.name for t in fig.data[1:]]
    assert names == ["pool2: 10×10", "conv1: 3×3"]
    box = fig.data[1]
    assert (min(box.x), max(box.x), min(box.y), max(box.y)) == (8.5, 18.5, 8.5, 18.5)
    assert box.x[0] == box.x[-1] and box.y[0] == box.y[-1]  # closed outline


def test_relu_and_leaky_draws_leaky_dashed_over_relu_and_a_zoom_where_its_slope_shows():
    x = np.linspace(-3, 1, 41)
    relu, leaky = np.maximum(x, 0), np.where(x > 0, x, 0.01 * x)
    fig = charts.relu_and_leaky(x, relu, leaky, 0.01)
    full = [t for t in fig.data if t.xaxis == "x"]
    zoom = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.line.dash for t in full] == [None, "dash"]  # the dashed Leaky line lets ReLU show through
    assert all(max(t.x) <= 0 for t in zoom)
    low, high = fig.layout.yaxis2.range
    assert low < 0.01 * x.min() < 0 < high < 0.05  # the zoom's y-axis spans Leaky's -0.03, not 0..1
    np.testing.assert_allclose(zoom[1].y, 0.01 * zoom[1].x)  # the true 0.01 slope, not an illustrative one


def test_lecture_mode_moves_a_legend_below_the_plot_clear_of_the_larger_axis_title():
    from cnnviz_ui.shell import CHART_FONT, _enlarge

    x = np.linspace(-6, 6, 61)
    fig = charts.activation_curves(x, {"relu": (np.maximum(x, 0), (x > 0).astype(float))})
    before = fig.layout.legend.y
    _enlarge(fig, CHART_FONT[True] / CHART_FONT[False])
    assert fig.layout.xaxis.title.font.size == CHART_FONT[True]
    assert fig.layout.legend.y == pytest.approx(before * CHART_FONT[True] / CHART_FONT[False])


def test_lecture_mode_can_leave_the_numbers_in_cells_at_their_size():
    from cnnviz_ui.model_charts import confusion
    from cnnviz_ui.shell import CHART_FONT, _enlarge

    fig = confusion(np.full((10, 10), 1000))
    before = fig.data[0].textfont.size
    _enlarge(fig, CHART_FONT[True] / CHART_FONT[False], scale_text=False)
    assert fig.data[0].textfont.size == before and fig.layout.xaxis.tickfont.size == CHART_FONT[True]


# ---- the one visual language (issue 18) -------------------------------------------------------------------
def test_grid_colours_signed_values_on_the_diverging_scale_centred_on_zero():
    from cnnviz_ui import visual

    heat = charts.grid(np.array([[-0.5, 2.0], [0.0, 1.0]])).data[0]
    assert [list(s) for s in heat.colorscale] == visual.DIVERGING
    assert (heat.zmin, heat.zmax) == (-2.0, 2.0)  # white is 0, and red is positive


def test_grid_colours_non_negative_values_on_the_sequential_scale_from_zero():
    from cnnviz_ui import visual

    heat = charts.grid(np.array([[0.5, 2.0], [0.25, 1.0]])).data[0]
    assert [list(s) for s in heat.colorscale] == visual.SEQUENTIAL and heat.zmin == 0.0


def test_grid_carries_a_slim_colour_bar_as_its_legend_unless_told_not_to():
    heat = charts.grid(np.array([[-1.0, 3.0]])).data[0]
    assert heat.showscale is True and heat.colorbar.thickness <= 12
    assert list(heat.colorbar.ticktext) == ["−3", "0", "3"]  # the ends and white's 0, as visual.number writes
    assert charts.grid(np.array([[1.0]]), legend=False).data[0].showscale is False


def test_grid_writes_cell_numbers_without_a_negative_zero_and_with_a_true_minus():
    fig = charts.grid(np.array([[-0.001, -1.5], [0.004, 2.0]]))
    assert fig.data[0].text.tolist() == [["0.00", "−1.50"], ["0.00", "2"]]


def test_grid_takes_a_named_scale_of_visual_and_keeps_a_diverging_range_symmetric():
    from cnnviz_ui import visual

    heat = charts.grid(np.array([[0.2, 0.9]]), colorscale="pixels").data[0]
    assert [list(s) for s in heat.colorscale] == visual.PIXELS and (heat.zmin, heat.zmax) == (0.0, 1.0)
    heat = charts.grid(np.array([[0.0, 1.0]]), colorscale="diverging", zrange=(-1.0, 3.0)).data[0]
    assert (heat.zmin, heat.zmax) == (-3.0, 3.0)


def test_a_long_grid_title_is_broken_into_lines_that_read_the_same_without_tags():
    import re

    fig = charts.grid(np.zeros((2, 2)), title="Max pooled, moved (✓ unchanged)")
    text = fig.layout.title.text
    assert "<br>" in text and all(len(line.strip()) <= charts.TITLE_WRAP for line in text.split("<br>"))
    assert re.sub(r"<[^>]*>", "", text) == "Max pooled, moved (✓ unchanged)"  # what a browser test reads
    assert fig.layout.title.automargin and fig.layout.title.yanchor == "bottom"  # pushes the margin, never cut
    assert charts.wrap_title("Input") == "Input"


def test_relu_and_leaky_panel_titles_are_short_lines_that_fit_half_a_lecture_chart():
    x = np.linspace(-3, 1, 41)
    fig = charts.relu_and_leaky(x, np.maximum(x, 0), np.where(x > 0, x, 0.01 * x), 0.01)
    titles = [a.text for a in fig.layout.annotations if a.yref == "paper"]
    assert "Full view" in titles
    # 1280x720 lecture mode: the chart's column is ~0.6 of ~1230 px, each panel ~0.44 of that (~320 px);
    # at 20 px type a character is ~11 px wide, so a line of at most 20 characters (~220 px) fits
    assert all(len(line.strip()) <= 20 for t in titles for line in t.split("<br>")), titles


def test_image_with_boxes_takes_its_grey_and_its_box_colours_from_visual():
    from cnnviz_ui import visual

    fig = charts.image_with_boxes(np.zeros((28, 28)), [("a", 0, 3, 0, 3), ("b", 1, 4, 1, 4)])
    assert [list(s) for s in fig.data[0].colorscale] == visual.PIXELS
    assert [t.line.color for t in fig.data[1:]] == visual.CATEGORICAL[:2]


@pytest.fixture
def drawn(monkeypatch) -> list:
    """Every text a PIL picture draws, as (text, font), recorded while it is drawn as usual."""
    from PIL import ImageDraw

    record = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: record.append((text, k["font"])) or original(
                            self, xy, text, *a, **k))
    return record


def test_kernel_image_numbers_grow_with_font_size_and_never_read_minus_zero(drawn):
    from cnnviz_ui import images

    kernel = np.array([[1.0, -0.001], [-1.5, 0.25]])
    images.kernel_image(kernel)
    small = {text: font.size for text, font in drawn}
    drawn.clear()
    images.kernel_image(kernel, cell=64, font_size=24)
    large = {text: font.size for text, font in drawn}
    assert set(small) == {"1", "0.00", "-1.50", "0.25"}  # drawn with an ASCII minus: the bundled font has no U+2212
    assert all(large[t] == 24 > small[t] for t in large)


def test_kernel_image_shrinks_a_number_that_would_overflow_its_cell(drawn):
    from cnnviz_ui import images

    images.kernel_image(np.array([[-12.345]]), cell=30, font_size=30)
    assert drawn and drawn[0][1].getlength(drawn[0][0]) <= 26


def test_vector_strip_numbers_take_a_font_size_and_digits(drawn):
    from cnnviz_ui import images

    images.vector_strip(np.array([2.0, -0.04, 0.5]), cols=3, cell=40, numbers=True, font_size=20, digits=2,
                        colorbar=False)
    assert [(text, font.size) for text, font in drawn] == [("2", 20), ("-0.04", 20), ("0.50", 20)]  # ASCII minus


def test_feature_grid_highlight_is_visuals_highlight_colour():
    from cnnviz_ui import images, visual

    img = images.feature_grid(np.zeros((1, 4, 4)), cols=1, cell=40, labels=False, colorbar=False,
                              highlight=(0, 1, 1))
    assert img.getpixel((9, 9)) == visual.HIGHLIGHT_RGB


def test_the_colour_bar_stands_on_the_right_and_can_be_put_under_the_grid():
    right, under = charts.grid(np.ones((3, 3))).data[0], charts.grid(np.ones((3, 3)), legend="h").data[0]
    assert right.colorbar.orientation in (None, "v")  # takes width, not the height lecture mode lacks
    assert under.colorbar.orientation == "h" and under.colorbar.y < 0
