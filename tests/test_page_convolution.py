"""AppTest runs of the Convolution page: every control is driven and the numbers, figures and checks it
shows are compared with the core and with PyTorch (not only the absence of errors).

The two tables (input grid, typed kernel) are st.data_editor widgets, whose cell edits AppTest cannot make;
here they are checked to hold the starting numbers, and the browser test edits a cell."""
from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from app_helpers import array, figure, open_app_page, texts, z

from cnnviz.filters import CLASSIC_KERNELS
from cnnviz_ui.convolution_view import default_grid


@pytest.fixture(autouse=True)
def mnist_env(data_root, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))


def open_page():
    return open_app_page("convolution")


def window(at, key: str = "conv_in") -> tuple:
    """The first (window) rectangle of a chart, as (r0, r1, c0, c1) cell indices."""
    shape = figure(at, key)["layout"]["shapes"][0]
    return shape["y0"] + 0.5, shape["y1"] + 0.5, shape["x0"] + 0.5, shape["x1"] + 0.5


def torch_conv(x, kernel, bias=0.0, stride=1, padding=0, dilation=1):
    import torch
    return F.conv2d(torch.as_tensor(x)[None, None], torch.as_tensor(kernel)[None, None],
                    torch.tensor([bias], dtype=torch.float64), stride, padding, dilation)[0, 0].numpy()


SOBEL_X = CLASSIC_KERNELS["Sobel X"]


# ---- the stepper ----------------------------------------------------------------------------------------------

def test_starts_on_the_editable_grid_with_sobel_x_at_window_one():
    at = open_page()
    np.testing.assert_array_equal(z(at, "conv_in"), default_grid(6))
    np.testing.assert_array_equal(z(at, "conv_kernel"), SOBEL_X)
    assert window(at) == (0, 3, 0, 3)
    assert "Step 1/16" in texts(at.markdown)
    assert "  0·(−1) + 0·0 + 5·1\n+ 0·(−2) + 0·0 + 6·2" in texts(at.code)
    assert "= 24  → cell (0, 0)\nReLU: max(0, 24) = 24" in texts(at.code)


def test_the_grid_is_an_editable_table_holding_the_input():
    at = open_page()
    (editor,) = at.data_editor
    np.testing.assert_array_equal(editor.value.to_numpy(dtype=float), default_grid(6))


def test_next_and_previous_move_the_window_and_the_output_cell_together():
    at = open_page()
    at.button[1].click().run()  # Next ▶
    assert window(at) == (0, 3, 1, 4) and window(at, "conv_out") == (0, 1, 1, 2)
    assert "Step 2/16" in texts(at.markdown)
    assert "→ cell (0, 1)" in texts(at.code)
    at.button[0].click().run()  # ◀ Previous
    assert window(at) == (0, 3, 0, 3) and "Step 1/16" in texts(at.markdown)


def test_output_fills_in_step_by_step_and_ends_as_pytorchs_result():
    at = open_page()
    assert figure(at, "conv_out")["data"][0]["text"][0][:2] == ["24", "?"]
    at.slider(key="conv_step").set_value(16).run()
    np.testing.assert_allclose(z(at, "conv_out"), torch_conv(default_grid(6), SOBEL_X))


def test_grid_size_changes_the_input_and_the_number_of_steps():
    at = open_page()
    at.number_input(key="conv_size").set_value(4).run()
    np.testing.assert_array_equal(z(at, "conv_in"), default_grid(4))
    assert "Step 1/4" in texts(at.markdown)
    assert at.data_editor[0].value.shape == (4, 4)


def test_stride_shows_in_the_live_size_formula():
    at = open_page()
    at.number_input(key="conv_stride").set_value(2).run()
    assert "⌊(6 + 2·0 − 1·2 − 1) / 2⌋ + 1 = ⌊3 / 2⌋ + 1 = **2**" in texts(at.markdown)
    at.button[1].click().run()
    assert window(at) == (0, 3, 2, 5)


def test_padding_adds_a_border_of_zeros_the_window_reaches_into():
    at = open_page()
    at.number_input(key="conv_padding").set_value(1).run()
    fig = figure(at, "conv_in")
    assert fig["data"][0]["text"][0][0] == "0" and np.isnan(z(at, "conv_in")[0, 0])
    assert window(at) == (-1, 2, -1, 2)
    assert "Step 1/36" in texts(at.markdown)


def test_dilation_spreads_the_taps_and_marks_each_one():
    at = open_page()
    at.number_input(key="conv_dilation").set_value(2).run()
    assert "2·2 − 1) / 1⌋ + 1 = ⌊1 / 1⌋ + 1 = **2**" in texts(at.markdown)
    shapes = figure(at, "conv_in")["layout"]["shapes"]
    assert window(at) == (0, 5, 0, 5) and len(shapes) == 1 + 9
    at.slider(key="conv_step").set_value(4).run()
    np.testing.assert_allclose(z(at, "conv_out"), torch_conv(default_grid(6), SOBEL_X, dilation=2))


def test_bias_is_added_after_the_sum_and_relu_follows():
    at = open_page()
    at.number_input(key="conv_bias").set_value(-30.0).run()
    assert "= 24  (sum)\n+ (−30)  (bias)\n= −6  → cell (0, 0)\nReLU: max(0, −6) = 0" in texts(at.code)


def test_classic_kernel_choice_changes_the_kernel():
    at = open_page()
    at.selectbox(key="conv_classic").set_value("Laplacian").run()
    np.testing.assert_array_equal(z(at, "conv_kernel"), CLASSIC_KERNELS["Laplacian"])
    assert "Laplacian, a hand-designed kernel." in texts(at.caption)


def test_model_filter_brings_its_own_weights_and_bias():
    from cnnviz_ui.models import shipped_model

    at = open_page()
    at.selectbox(key="conv_kernel_source").set_value("model").run()
    at.number_input(key="conv_filter").set_value(3).run()
    conv1 = shipped_model("fc").model.conv1
    np.testing.assert_allclose(z(at, "conv_kernel"), conv1.weight[3, 0].numpy(), rtol=1e-6)
    assert at.number_input(key="conv_bias").disabled
    assert f"learned bias {float(conv1.bias[3]):.3f}" in texts(at.caption)
    assert "`conv2d` equals PyTorch's" in texts(at.success)


def test_typed_kernel_takes_its_size_from_the_kernel_size_control():
    at = open_page()
    assert at.number_input(key="conv_k").disabled
    at.selectbox(key="conv_kernel_source").set_value("typed").run()
    np.testing.assert_array_equal(z(at, "conv_kernel"), SOBEL_X)
    at.number_input(key="conv_k").set_value(5).run()
    np.testing.assert_array_equal(z(at, "conv_kernel"), np.eye(5)[2:3].T @ np.eye(5)[2:3])
    assert at.data_editor[1].value.shape == (5, 5)
    assert "Step 1/4" in texts(at.markdown)


@pytest.mark.parametrize("control, value", [("conv_dilation", 4), ("conv_padding", 0)])
def test_window_larger_than_the_padded_input_is_explained_not_raised(control, value):
    at = open_page()
    at.selectbox(key="conv_kernel_source").set_value("typed").run()
    at.number_input(key="conv_k").set_value(7).run()
    at.number_input(key=control).set_value(value).run()
    assert not at.exception
    assert "does not work" in texts(at.error) and "smaller kernel or more padding" in texts(at.error)


@pytest.mark.parametrize("kernel_size, padding", [(3, 4), (1, 1), (2, 3)])
def test_a_window_that_reads_only_padding_is_explained_not_raised(kernel_size, padding):
    """The padding control allows borders wider than the kernel: the first windows then see only zeros."""
    at = open_page()
    at.selectbox(key="conv_kernel_source").set_value("typed").run()
    at.number_input(key="conv_k").set_value(kernel_size).run()
    at.number_input(key="conv_padding").set_value(padding).run()
    assert not at.exception
    assert "Step 1/" in texts(at.markdown) and "every tap lands in the padding" in texts(at.code)
    assert "**−∞**" in texts(at.markdown)


def test_play_advances_one_window_per_run_and_locks_the_buttons():
    at = open_page()
    at.toggle(key="conv_playing").set_value(True).run()
    assert at.button[0].disabled and at.button[1].disabled
    at.run()
    assert "Step 2/16" in texts(at.markdown)


def test_speed_sets_the_play_interval():
    at = open_page()
    at.toggle(key="conv_playing").set_value(True).run()
    assert "One window every 1 s" in texts(at.caption)
    at.select_slider(key="conv_speed").set_value("fast").run()
    assert "One window every 0.4 s" in texts(at.caption)


# ---- real digits ------------------------------------------------------------------------------------------------

def test_current_digit_shows_an_enlarged_neighbourhood_and_an_overview():
    at = open_page()
    at.selectbox(key="conv_input").set_value("current").run()
    assert z(at, "conv_in").shape == (7, 7) and z(at, "conv_overview").shape == (28, 28)
    assert "Step 1/676" not in texts(at.markdown)  # starts at the first window with ink
    r0, r1, c0, c1 = window(at)
    assert np.any(z(at, "conv_overview")[int(r0):int(r1), int(c0):int(c1)] > 0)
    assert "`conv2d` equals PyTorch's" in texts(at.success)


def test_the_built_in_example_can_be_picked_whatever_the_current_digit():
    from cnnviz_ui.current_digit import example_digit

    at = open_page()
    at.selectbox(key="conv_input").set_value("example").run()
    np.testing.assert_allclose(z(at, "conv_overview"), np.round(example_digit().image28, 2))
    assert "The built-in example 7." in texts(at.caption)


def test_mnist_digit_number_picks_the_test_digit():
    from cnnviz_ui.digits import test_digit

    at = open_page()
    at.selectbox(key="conv_input").set_value("mnist").run()
    at.number_input(key="conv_digit").set_value(1).run()
    _, raw, label = test_digit(1)
    np.testing.assert_allclose(z(at, "conv_overview"), np.round(raw / 255.0, 2))
    assert f"MNIST test digit #1 (label {label})" in texts(at.caption)


# ---- beside the stepper -------------------------------------------------------------------------------------------

def test_convolution_and_max_pooling_read_the_same_window():
    at = open_page()
    shown = texts(at.markdown)
    assert "→ **24**" in shown and "**10 parameters**" in shown and "**0 parameters**" in shown
    assert "max(0, 0, 5, 0, 0, 6, 0, 0, 7) = 7" in texts(at.code)


def test_from_scratch_output_is_checked_against_pytorch():
    at = open_page()
    at.number_input(key="conv_padding").set_value(2).run()
    assert "F.conv2d(stride=1, padding=2, dilation=1)` on this input: largest difference 0, output 8×8" in \
        texts(at.success)


def test_conv2_unit_is_the_sum_of_its_partial_sums_and_the_models_own_value():
    from cnnviz.trace import trace
    from cnnviz_ui.current_digit import default_digit
    from cnnviz_ui.models import shipped_model

    at = open_page()
    at.number_input(key="conv2_channel").set_value(5).run()
    at.number_input(key="conv2_row").set_value(4).run()
    at.number_input(key="conv2_col").set_value(9).run()
    bars = figure(at, "conv2_partials")["data"][0]
    y = array(bars["y"]).astype(float)
    assert len(y) == 16 + 2 and bars["measure"][-1] == "total"
    own = float(trace(shipped_model("fc").model, default_digit().x)["conv2"][0, 5, 4, 9])
    assert y[:17].sum() == pytest.approx(own, abs=1e-4) and y[-1] == pytest.approx(own, abs=1e-4)
    assert f"the model's own conv2 output at channel 5, row 4, column 9 = {own:.5f}" in texts(at.success)


def test_opening_one_input_map_writes_out_its_dot_product():
    at = open_page()
    at.number_input(key="conv2_map").set_value(7).run()
    y = array(figure(at, "conv2_partials")["data"][0]["y"]).astype(float)
    code = texts(at.code)
    assert f"= {y[7]:.4f}" in code
    assert "Map 7's share" in texts(at.markdown)


def test_without_mnist_the_mnist_input_says_so(tmp_path, monkeypatch):
    from cnnviz_ui import digits

    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path))
    digits.test_split.clear()
    try:
        at = open_page()
        at.selectbox(key="conv_input").set_value("mnist").run()
        assert not at.exception and "MNIST is not available" in texts(at.warning)
    finally:
        digits.test_split.clear()


def test_lecture_mode_folds_the_prose():
    at = open_app_page("convolution", lecture_mode=True)
    folded = [e for e in at.expander if e.label == "Explanation"]
    assert folded and "slides a small grid of weights" in texts(folded[0].markdown)
