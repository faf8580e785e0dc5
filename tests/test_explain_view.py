"""The builders of the "Why this answer?" page, with small data: maps on the right scale with the digit's
outline, the attack's difference, the curves, and the canvas that starts from the attacked digit."""
import numpy as np
import pytest

from cnnviz.preprocess import resize_nearest, to_gray
from cnnviz_ui import explain_view as view
from cnnviz_ui import visual
from cnnviz_ui import why_map_view as view_map
from visual_samples_explain_view import digit, signed_map
from visual_samples_why_map_view import digit_cloud, field


def _rgb(img, x, y):
    return tuple(int(c) for c in img.convert("RGB").getpixel((x, y)))


def _colour(value, lo, hi, scale):
    return tuple(int(c) for c in visual.colorize(np.array(value), lo, hi, scale))


def test_the_outline_is_the_border_of_the_ink_and_nothing_inside_it():
    d = np.zeros((28, 28))
    d[10:14, 10:16] = 1.0                          # a 4x6 block of ink
    edge = view.outline_mask(d, zoom=1)
    assert edge.sum() == 2 * 4 + 2 * 6 - 4         # its perimeter
    assert not edge[11:13, 11:15].any()            # the inside stays the map's colour
    assert view.outline_mask(d, zoom=3).shape == (84, 84)


def test_a_signed_map_is_diverging_about_zero_with_red_for_positive():
    img = view.attribution_image(signed_map(), size=56)
    assert _rgb(img, 2, 2) == _colour(1.0, -1, 1, "diverging")      # +1: the red end
    assert _rgb(img, 54, 54) == _colour(-0.5, -1, 1, "diverging")   # -0.5: halfway to blue, same range
    assert img.width > 56                                            # its colour bar on the right


def test_a_non_negative_map_is_sequential_from_zero():
    heat = np.zeros((28, 28), dtype=np.float32)
    heat[:14] = 2.0
    img = view.attribution_image(heat, size=56)
    assert _rgb(img, 2, 2) == _colour(1.0, 0, 1, "sequential")      # the largest value: yellow
    assert _rgb(img, 2, 54) == _colour(0.0, 0, 1, "sequential")     # zero: the dark end


def test_the_digit_outline_is_drawn_in_grey_over_the_map():
    img = view.attribution_image(signed_map(), digit(), size=56)    # zoom 2; the bar covers columns 12-15
    assert _rgb(img, 24, 30) == view.OUTLINE_RGB                    # the bar's left edge, row 15
    assert _rgb(img, 27, 30) != view.OUTLINE_RGB                    # inside the bar: the map's colour
    assert max(view.OUTLINE_RGB) - min(view.OUTLINE_RGB) == 0       # a neutral grey


def test_a_map_that_is_not_two_dimensional_is_refused():
    with pytest.raises(ValueError, match=r"\[H, W\]"):
        view.attribution_image(np.zeros((1, 28, 28)))


@pytest.mark.parametrize("ends, digits", [((-1.2, 1.2), 2), ((0.0, 0.1), 2), ((0.0, 0.05), 3),
                                          ((-0.003, 0.003), 4), ((0.0, 0.0), 2)])
def test_a_colour_bar_writes_enough_decimals_that_its_ends_are_not_zero(ends, digits):
    assert view.bar_digits(*ends) == digits
    if ends[1] > 0:
        assert visual.number(ends[1], view.bar_digits(*ends)).strip("0.") != ""


def test_the_difference_is_stretched_to_its_own_largest_change():
    diff = np.zeros((28, 28), dtype=np.float32)
    diff[0, 0], diff[27, 27] = 0.05, -0.05
    img = view.difference_image(diff, size=28)
    assert _rgb(img, 0, 0) == _colour(1, -1, 1, "diverging")        # +0.05 is full red
    assert _rgb(img, 27, 27) == _colour(-1, -1, 1, "diverging")     # -0.05 full blue
    assert _rgb(img, 14, 14) == _colour(0, -1, 1, "diverging")      # unchanged: white


def test_the_canvas_picture_reads_back_as_the_same_28x28_pixels():
    rng = np.random.default_rng(0)
    image28 = np.zeros((28, 28), dtype=np.float32)
    image28[4:24, 4:24] = rng.random((20, 20))      # every grey level inside, a dark border as in MNIST
    canvas = np.asarray(view.canvas_picture(image28, size=280).convert("RGBA"))   # what the canvas sends back
    back = resize_nearest(to_gray(canvas), 28)
    assert np.abs(back - image28).max() <= 1 / 255 + 1e-6


def test_the_canvas_drawing_holds_the_picture_filling_the_canvas():
    drawing = view.canvas_drawing("data:image/png;base64,AAAA", size=280)
    (obj,) = drawing["objects"]
    assert obj["type"] == "Image" and obj["src"] == "data:image/png;base64,AAAA"
    assert (obj["left"], obj["top"], obj["width"], obj["height"]) == (0, 0, 280, 280)
    assert obj["selectable"] is False                                # the student draws over it, cannot drag it


def test_the_accuracy_curve_is_in_percent_and_marks_the_epsilon_the_digit_needed():
    curves = {"fgsm": {"epsilons": [0, 0.1, 0.2], "accuracy": [0.99, 0.5, 0.02]},
              "pgd": {"epsilons": [0, 0.1], "accuracy": [0.99, 0.1]}}
    fig = view.accuracy_curve_figure(curves, needed=0.07)
    assert [list(t.y) for t in fig.data] == [pytest.approx([99, 50, 2]), pytest.approx([99, 10])]
    assert [t.name for t in fig.data] == [view.ATTACKS["fgsm"], view.ATTACKS["pgd"]]
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 0.07 and line.line.color == visual.HIGHLIGHT
    assert not view.accuracy_curve_figure(curves).layout.shapes


def test_the_correlation_chart_has_one_line_per_method_and_marks_the_chosen_step():
    fig = view.correlation_figure(["fc2", "fc1"], {"saliency": [0.9, 0.2], "occlusion": [0.7, 0.6]}, chosen=2)
    assert [t.name for t in fig.data] == ["Saliency", "Occlusion"]
    assert [list(t.y) for t in fig.data] == [[0.9, 0.2], [0.7, 0.6]]
    assert any(s.x0 == 2 and s.line.color == visual.HIGHLIGHT for s in fig.layout.shapes)


def test_a_figure_block_carries_its_data_attributes_escaped():
    text = view.figure_block_html("data:image/png;base64,", 100, "Saliency <for> 7", "attribution",
                                  method="saliency", target=7)
    assert "class='cnnviz-attribution'" in text and "data-method='saliency'" in text and "data-target='7'" in text
    assert "Saliency &lt;for&gt; 7" in text


# ---- the second half of the page: the map of digits, training, effective fields (cnnviz_ui/why_map_view.py) ----
def test_ten_digits_get_ten_different_looks_from_seven_colours():
    looks = [view_map.label_style(d) for d in range(10)]
    assert len(set(looks)) == 10
    assert {colour for colour, _ in looks} <= set(visual.CATEGORICAL)


def test_the_map_draws_each_label_its_own_points_the_digit_as_a_star_and_rings_its_neighbours():
    coords, labels = digit_cloud()
    fig = view_map.digit_map_figure(coords, labels, placed=(0.5, -0.25), neighbours=np.array([3, 13]))
    by_name = {t.name: t for t in fig.data}
    for d in range(10):
        assert list(by_name[str(d)].x) == pytest.approx(list(coords[labels == d, 0]))
    assert (by_name["your digit"].x[0], by_name["your digit"].y[0]) == (0.5, -0.25)
    assert by_name["your digit"].marker.color == visual.HIGHLIGHT
    assert list(by_name["nearest digits"].x) == pytest.approx([coords[3, 0], coords[13, 0]])
    assert "your digit" not in {t.name for t in view_map.digit_map_figure(coords, labels).data}


def test_the_training_chart_labels_snapshots_by_their_step_and_marks_the_chosen_one():
    fig = view_map.training_figure([0, 1, 10, 100], [0.1, 0.12, 0.6, 0.97], [0.1, 0.2, 0.7, 0.98], 2, 7)
    assert list(fig.data[0].y) == pytest.approx([10, 12, 60, 97]) and "probability of 7" in fig.data[0].name
    assert list(fig.layout.xaxis.ticktext) == ["0", "1", "10", "100"]
    assert fig.layout.shapes[0].x0 == 2
    assert len(view_map.training_figure([0, 5], [0.1, 0.9], [None, None], 1, 3).data) == 1  # no accuracy recorded


@pytest.mark.parametrize("box", [(12, 20, 12, 20), (13, 16, 13, 16), (0, 10, 0, 10), (10, 28, 10, 28), (0, 28, 0, 28)])
def test_the_field_window_holds_the_box_inside_the_image(box):
    y0, y1, x0, x1 = view_map.field_window(box)
    assert 0 <= y0 <= box[0] and box[1] <= y1 <= 28 and 0 <= x0 <= box[2] and box[3] <= x1 <= 28
    assert y1 - y0 == x1 - x0 >= 12


def test_an_effective_field_is_shown_enlarged_around_its_box_outlined_in_magenta():
    gradient, box = field()                     # an 8x8 box at 12..20; the window is 9..23 (14 px), zoom 8
    img = view_map.effective_field_image(gradient, box, size=112)
    assert _rgb(img, (12 - 9) * 8, (15 - 9) * 8) == visual.HIGHLIGHT_RGB          # the box's left edge
    assert _rgb(img, 1, 1) == _colour(0.0, 0, 1, "sequential")                    # outside the box: 0, dark
    assert _rgb(img, (15 - 9) * 8 + 4, (15 - 9) * 8 + 4) == _colour(gradient[15, 15], 0, 1, "sequential")
