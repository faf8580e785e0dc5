"""From-scratch convolution against torch.nn.functional.conv2d as the oracle, plus hand-worked examples."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.convolution import (
    compare_with_torch,
    conv2d,
    conv_step,
    conv_steps,
    first_step_with_input,
    output_grid,
    parameter_count,
    torch_conv2d,
)
from cnnviz.pooling import output_size

RNG = np.random.default_rng(0)


def torch_conv(x, w, b, s, p, d):
    return F.conv2d(torch.as_tensor(x)[None], torch.as_tensor(w), torch.as_tensor(b), s, p, d)[0].numpy()


def random_configs(n: int, seed: int = 1):
    """n valid random configurations (c_in, c_out, h, w, k, s, p, d), odd and even sizes mixed."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < n:
        c_in, c_out = rng.integers(1, 5), rng.integers(1, 4)
        h, w, k = rng.integers(1, 12), rng.integers(1, 12), rng.integers(1, 6)
        s, p, d = rng.integers(1, 4), rng.integers(0, 4), rng.integers(1, 4)
        if d * (k - 1) + 1 <= min(h, w) + 2 * p:
            found.append(tuple(int(v) for v in (c_in, c_out, h, w, k, s, p, d)))
    return found


CONFIGS = random_configs(300)


def test_conv2d_equals_torch_on_hundreds_of_random_configurations():
    for c_in, c_out, h, w, k, s, p, d in CONFIGS:
        x, wt, b = RNG.normal(size=(c_in, h, w)), RNG.normal(size=(c_out, c_in, k, k)), RNG.normal(size=c_out)
        np.testing.assert_allclose(conv2d(x, wt, b, s, p, d), torch_conv(x, wt, b, s, p, d), atol=1e-10,
                                   err_msg=str((c_in, c_out, h, w, k, s, p, d)))


def test_random_configurations_cover_every_knob():
    assert {c[0] for c in CONFIGS} >= {1, 2, 3, 4}
    assert {c[5] for c in CONFIGS} >= {1, 2, 3} and {c[6] for c in CONFIGS} >= {0, 1, 2, 3}
    assert {c[7] for c in CONFIGS} >= {1, 2, 3} and any(c[2] % 2 for c in CONFIGS)


def test_single_map_with_one_kernel_equals_torch():
    for _, _, h, w, k, s, p, d in CONFIGS[::5]:
        x, wt = RNG.normal(size=(h, w)), RNG.normal(size=(k, k))
        ours = conv2d(x, wt, 0.5, s, p, d)
        assert ours.shape == (output_size(h, k, s, p, d), output_size(w, k, s, p, d))
        np.testing.assert_allclose(ours, torch_conv(x[None], wt[None, None], np.array([0.5]), s, p, d)[0],
                                   atol=1e-10)


def test_every_step_result_equals_the_output_cell_it_describes():
    for c_in, c_out, h, w, k, s, p, d in CONFIGS[::10]:
        x, wt, b = RNG.normal(size=(c_in, h, w)), RNG.normal(size=(c_out, c_in, k, k)), RNG.normal(size=c_out)
        expected = torch_conv(x, wt, b, s, p, d)
        for step in conv_steps(x, wt, b, s, p, d):
            assert step.result == pytest.approx(expected[(step.out_channel, *step.out_pos)], abs=1e-10)


def test_steps_are_row_major_channel_by_channel():
    steps = conv_steps(RNG.normal(size=(1, 3, 4)), RNG.normal(size=(2, 1, 2, 2)))
    assert [(s.out_channel, *s.out_pos) for s in steps] == [(o, i, j) for o in range(2) for i in range(2)
                                                            for j in range(3)]


def test_products_and_partial_sums_add_up_to_the_result():
    x, wt, b = RNG.normal(size=(3, 6, 6)), RNG.normal(size=(2, 3, 3, 3)), RNG.normal(size=2)
    for step in conv_steps(x, wt, b, 1, 1, 2):
        np.testing.assert_allclose(step.products, step.values * step.weights)
        np.testing.assert_allclose(step.partial_sums, step.products.sum(axis=(1, 2)))
        assert step.result == pytest.approx(step.partial_sums.sum() + step.bias)
        assert step.bias == b[step.out_channel]


def test_window_reaches_into_padding_with_zeros():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    first = conv_steps(x, np.ones((3, 3)), padding=1)[0]
    assert first.rows == (-1, 2) and first.cols == (-1, 2)
    np.testing.assert_array_equal(first.values[0], [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    np.testing.assert_array_equal(first.padded, [[True] * 3, [True, False, False], [True, False, False]])


def test_dilated_window_spans_more_cells_than_it_reads():
    x = np.arange(25.0).reshape(5, 5)
    (step,) = conv_steps(x, np.ones((3, 3)), dilation=2)
    assert step.rows == (0, 5) and step.taps == ([0, 2, 4], [0, 2, 4])
    np.testing.assert_array_equal(step.values[0], x[::2, ::2])


def test_hand_worked_vertical_edge():
    """A dark-to-bright step under Sobel X: 0 on the flat parts, 4 * 9 = 36 on the edge."""
    x = np.array([[0, 0, 9, 9]] * 3, dtype=float)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    np.testing.assert_array_equal(conv2d(x, sobel_x), [[36, 36]])
    step = conv_steps(x, sobel_x, bias=-30)[0]
    np.testing.assert_array_equal(step.products[0], [[0, 0, 9], [0, 0, 18], [0, 0, 9]])
    assert step.result == 6


def test_hand_worked_two_channels_add_their_dot_products():
    x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])        # [2, 2, 2]
    w = np.stack([np.ones((2, 2)), -np.ones((2, 2))])[None]    # [1, 2, 2, 2]
    (step,) = conv_steps(x, w, bias=[1.0])
    np.testing.assert_array_equal(step.partial_sums, [4, -8])
    assert step.result == -3


def test_window_max_equals_torch_max_pool_of_the_same_window():
    for _, _, h, w, k, s, p, d in CONFIGS[::3]:
        if p > k // 2:
            continue  # PyTorch's max pool refuses windows that could hold only padding
        x = RNG.normal(size=(h, w))
        steps = conv_steps(x, np.ones((k, k)), stride=s, padding=p, dilation=d)
        pooled = F.max_pool2d(torch.as_tensor(x)[None], k, s, p, d)[0].numpy()
        for step in steps:
            assert step.window_max == pooled[step.out_pos]


def test_a_window_wholly_in_the_padding_pools_to_minus_infinity():
    steps = conv_steps(np.ones((3, 3)), np.ones((1, 1)), padding=1)  # a 1x1 kernel on the zero border
    assert steps[0].padded.all() and steps[0].window_max == float("-inf")
    assert steps[6].out_pos == (1, 1) and steps[6].window_max == 1.0  # 5x5 output: (1, 1) is inside


def test_compare_with_torch_reports_the_largest_difference():
    x, wt = RNG.normal(size=(2, 9, 8)), RNG.normal(size=(3, 2, 3, 3))
    theirs, diff = compare_with_torch(x, wt, RNG.normal(size=3), stride=2, padding=2, dilation=2)
    assert theirs.shape == conv2d(x, wt, None, 2, 2, 2).shape and diff < 1e-12


def test_conv_step_computes_one_cell_of_the_full_output():
    x, wt, b = RNG.normal(size=(4, 7, 7)), RNG.normal(size=(5, 4, 3, 3)), RNG.normal(size=5)
    full = conv2d(x, wt, b, 2, 1)
    assert conv_step(x, wt, b, (2, 3), 4, 2, 1).result == pytest.approx(full[4, 2, 3])


def test_conv_step_outside_the_output_is_refused():
    with pytest.raises(ValueError, match="outside the output"):
        conv_step(np.ones((4, 4)), np.ones((3, 3)), out_pos=(2, 0))


def test_output_grid_leaves_cells_after_upto_unknown():
    steps = conv_steps(np.ones((3, 3)), np.ones((2, 2)))
    grid = output_grid(steps, upto=1)[0]
    assert grid[0, 0] == 4 and np.isnan(grid[0, 1]) and np.isnan(grid[1, 1])


def test_accepts_torch_tensors_and_matches_torch_conv2d_helper():
    x, w, b = torch.randn(2, 5, 5), torch.randn(3, 2, 3, 3), torch.randn(3)
    np.testing.assert_allclose(conv2d(x, w, b, padding=1), torch_conv2d(x, w, b, padding=1), atol=1e-5)


def test_parameter_count_is_weights_plus_one_bias_per_output_channel():
    assert parameter_count(np.zeros((3, 3))) == 10
    assert parameter_count(np.zeros((32, 16, 3, 3))) == 4640   # the chapter's conv2


@pytest.mark.parametrize("kwargs, message", [
    ({"stride": 0}, "stride must be at least 1"),
    ({"dilation": 0}, "dilation must be at least 1"),
    ({"padding": -1}, "padding must be 0 or more"),
    ({"stride": 1.5}, "stride must be an integer"),
    ({"dilation": 3}, "larger than the padded input"),
])
def test_invalid_settings_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d(np.ones((4, 4)), np.ones((3, 3)), **kwargs)


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(ValueError, match="use a smaller kernel or more padding"):
        conv2d(np.ones((3, 3)), np.ones((5, 5)))
    assert conv2d(np.ones((3, 3)), np.ones((5, 5)), padding=1).shape == (1, 1)


@pytest.mark.parametrize("x, w, message", [
    (np.ones((2, 4, 4)), np.ones((1, 3, 3, 3)), "expect 3 input channel"),
    (np.ones((4, 4)), np.ones((1, 1, 3, 3)), "takes one kernel"),
    (np.ones((1, 4, 4)), np.ones((3, 3)), "takes weights"),
    (np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), "drop the batch dimension"),
    (np.ones((4, 4)), np.ones((2, 3)), "square kernels"),
])
def test_shape_mismatches_are_refused(x, w, message):
    with pytest.raises(ValueError, match=message):
        conv2d(x, w)


def test_bias_must_match_output_channels():
    with pytest.raises(ValueError, match="one value per output channel"):
        conv2d(np.ones((1, 4, 4)), np.ones((2, 1, 3, 3)), bias=[1.0, 2.0, 3.0])


def test_non_finite_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        conv2d(np.array([[np.nan, 0], [0, 0]]), np.ones((1, 1)))


def test_the_first_step_with_input_is_the_first_window_touching_a_non_zero_value():
    x = np.zeros((5, 5))
    x[3, 4] = 1.0
    steps = conv_steps(x, np.ones((2, 2)))          # 4x4 output; window (2, 3) is the first to reach (3, 4)
    assert first_step_with_input(steps) == 2 * 4 + 3 + 1
    assert first_step_with_input(conv_steps(np.zeros((3, 3)), np.ones((2, 2)))) == 1
