"""From-scratch pooling against torch.nn.functional as the oracle, plus the chapter's hand-worked example."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.pooling import (
    CHAPTER_FEATURE_MAP,
    compare_with_torch,
    output_grid,
    output_size,
    padded,
    pool2d,
    pool_steps,
    pooled_shape,
    random_feature_map,
    shift,
    shift_invariance,
)

RNG = np.random.default_rng(0)


def torch_pool(x: np.ndarray, k, s, p, mode):
    t = torch.as_tensor(x, dtype=torch.float64)
    if mode == "max":
        return F.max_pool2d(t.unsqueeze(0), k, s, p).squeeze(0).numpy()
    return F.avg_pool2d(t.unsqueeze(0), k, s, p).squeeze(0).numpy()


def valid(h, w, k, s, p):
    return k <= min(h, w) + 2 * p and p <= k // 2


CONFIGS = [(h, w, k, s, p)
           for h, w in [(n, n) for n in range(1, 13)] + [(1, 5), (2, 3), (5, 7), (9, 6), (11, 3), (12, 8)]
           for k in range(1, 6) for s in range(1, 5) for p in range(0, k // 2 + 1)]


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_equals_torch_on_random_maps(mode):
    checked = 0
    for h, w, k, s, p in CONFIGS:
        x = RNG.normal(size=(h, w))
        if not valid(h, w, k, s, p):
            with pytest.raises(ValueError):
                pool2d(x, k, s, p, mode)
            continue
        np.testing.assert_allclose(pool2d(x, k, s, p, mode), torch_pool(x[None], k, s, p, mode)[0], atol=1e-12)
        checked += 1
    assert checked > 500


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_equals_torch_per_channel_for_3d_input(mode):
    for h, w, k, s, p in CONFIGS[::7]:
        if not valid(h, w, k, s, p):
            continue
        x = RNG.normal(size=(3, h, w))
        np.testing.assert_allclose(pool2d(x, k, s, p, mode), torch_pool(x, k, s, p, mode), atol=1e-12)


def test_pool2d_equals_torch_on_integer_maps_with_ties():
    for h, w, k, s, p in CONFIGS[::3]:
        if valid(h, w, k, s, p):
            x = RNG.integers(0, 3, size=(2, h, w)).astype(float)
            np.testing.assert_array_equal(pool2d(x, k, s, p), torch_pool(x, k, s, p, "max"))


def test_stride_defaults_to_kernel_size():
    x = RNG.normal(size=(9, 9))
    np.testing.assert_array_equal(pool2d(x, 3), pool2d(x, 3, 3))


def test_pool2d_accepts_a_torch_tensor():
    x = torch.randn(4, 6, 6)
    np.testing.assert_allclose(pool2d(x), F.max_pool2d(x, 2).numpy(), rtol=1e-6)


def test_chapter_feature_map_max_pools_to_6_4_8_6():
    np.testing.assert_array_equal(pool2d(CHAPTER_FEATURE_MAP, 2, 2), [[6, 4], [8, 6]])


def test_chapter_feature_map_average_pools_to_window_means():
    np.testing.assert_array_equal(pool2d(CHAPTER_FEATURE_MAP, 2, 2, mode="avg"), [[3.75, 2.25], [5.25, 3.75]])


def test_chapter_steps_walk_windows_in_row_major_order():
    steps = pool_steps(CHAPTER_FEATURE_MAP)
    assert [s.out_pos for s in steps] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [(s.rows, s.cols) for s in steps] == [((0, 2), (0, 2)), ((0, 2), (2, 4)), ((2, 4), (0, 2)), ((2, 4), (2, 4))]
    np.testing.assert_array_equal(steps[0].values, [[1, 3], [5, 6]])
    assert [s.argmax for s in steps] == [(1, 1), (0, 3), (3, 1), (3, 3)]
    assert all(s.channel is None for s in steps)


def test_step_formula_writes_the_arithmetic():
    assert pool_steps(CHAPTER_FEATURE_MAP)[0].formula == "max(1, 3, 5, 6) = 6"
    assert pool_steps(CHAPTER_FEATURE_MAP, mode="avg")[0].formula == "avg(1, 3, 5, 6) = 3.75"
    assert pool_steps(CHAPTER_FEATURE_MAP, 3, 2, 1, mode="avg")[0].formula == "avg(0, 0, 0, 0, 1, 3, 0, 5, 6) = 1.667"


def test_padding_cells_are_nan_and_marked_in_the_step():
    step = pool_steps(CHAPTER_FEATURE_MAP, 3, 2, 1)[0]
    assert step.rows == (-1, 2) and step.cols == (-1, 2)
    expected_pad = np.array([[1, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(step.padded, expected_pad)
    assert np.isnan(step.values[expected_pad]).all()
    np.testing.assert_array_equal(step.values[~expected_pad], [1, 3, 5, 6])
    assert step.formula == "max(-inf, -inf, -inf, -inf, 1, 3, -inf, 5, 6) = 6"


def test_max_pool_with_padding_never_picks_padding_for_negative_maps():
    x = -1.0 - RNG.random((5, 5))
    out = pool2d(x, 3, 2, 1)
    assert (out < -1).all()
    np.testing.assert_allclose(out, torch_pool(x[None], 3, 2, 1, "max")[0])


def test_steps_of_3d_input_carry_channel_and_agree_with_pool2d():
    x = RNG.normal(size=(2, 6, 6))
    steps = pool_steps(x, 3, 2, 1, mode="avg")
    out = pool2d(x, 3, 2, 1, mode="avg")
    assert len(steps) == out.size
    assert [s.channel for s in steps] == [0] * 9 + [1] * 9
    for s in steps:
        assert s.argmax is None
        assert s.result == out[s.channel][s.out_pos]


def test_argmax_positions_equal_torch_return_indices():
    for h, w, k, s, p in CONFIGS[::2]:
        if not valid(h, w, k, s, p):
            continue
        x = RNG.normal(size=(2, h, w))
        _, idx = F.max_pool2d(torch.as_tensor(x), k, s, p, return_indices=True)  # flat index into H*W
        ours = [st.argmax[0] * w + st.argmax[1] for st in pool_steps(x, k, s, p)]
        assert ours == idx.flatten().tolist()


def test_output_size_equals_torch_including_dilation_and_ceil_mode():
    checked = 0
    for i, k, s, d, ceil in itertools.product(range(1, 13), range(1, 5), range(1, 4), range(1, 3), (False, True)):
        for p in range(0, k // 2 + 1):
            if d * (k - 1) + 1 > i + 2 * p:
                with pytest.raises(ValueError):
                    output_size(i, k, s, p, d, ceil)
                continue
            x = torch.zeros(1, 1, i)
            expected = F.max_pool1d(x, k, s, p, dilation=d, ceil_mode=ceil).shape[-1]
            assert output_size(i, k, s, p, d, ceil) == expected, (i, k, s, p, d, ceil)
            checked += 1
    assert checked > 900


def test_pooled_shape_matches_the_chapter_shape_check():
    """MaxPool2d(2, 2) on [8, 32, 14, 14] keeps batch and channels and halves 14 to 7."""
    shape = pooled_shape((8, 32, 14, 14), 2, 2)
    assert shape == (8, 32, 7, 7)
    assert tuple(torch.nn.MaxPool2d(2, 2)(torch.zeros(8, 32, 14, 14)).shape) == shape


def test_pooled_shape_changes_height_and_width_separately():
    assert pooled_shape((1, 3, 9, 5), 3, 2, 1) == (1, 3, 5, 3)


def test_pooled_shape_refuses_a_window_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        pooled_shape((1, 1, 2, 2), 3, 1)


def test_output_size_of_the_chapter_network():
    assert output_size(28, 3, 1, 1) == 28
    assert output_size(28, 2, 2) == 14
    assert output_size(14, 2, 2) == 7


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=0), "kernel_size must be at least 1"),
    (dict(kernel_size=2, stride=0), "stride must be at least 1"),
    (dict(kernel_size=3, padding=-1), "padding must be 0 or more"),
    (dict(kernel_size=3, padding=2), "padding <= 1"),
    (dict(kernel_size=7), "kernel_size 7 is larger than the padded input"),
    (dict(kernel_size=2, mode="min"), "mode must be 'max' or 'avg'"),
    (dict(kernel_size=2.5), "kernel_size must be an integer"),
])
def test_invalid_configurations_raise_a_helpful_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool2d(CHAPTER_FEATURE_MAP, **kwargs)


def test_an_empty_feature_map_raises():
    with pytest.raises(ValueError, match="empty"):
        pool2d(np.zeros((0, 4, 4)))


@pytest.mark.parametrize("shape", [(4,), (1, 1, 4, 4)])
def test_wrong_dimensionality_raises(shape):
    with pytest.raises(ValueError, match=r"\[H, W\] or \[C, H, W\]"):
        pool2d(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_non_finite_input_raises(bad, mode):
    x = CHAPTER_FEATURE_MAP.copy()
    x[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        pool_steps(x, mode=mode)


def test_output_size_rejects_a_window_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        output_size(4, 3, 1, 0, dilation=2)


def test_pool_steps_are_frozen():
    step = pool_steps(CHAPTER_FEATURE_MAP)[0]
    with pytest.raises(AttributeError):
        step.result = 0.0


def test_output_grid_fills_the_first_steps_and_leaves_the_rest_nan():
    grid = output_grid(pool_steps(CHAPTER_FEATURE_MAP), upto=3)
    assert grid[0].tolist() == [6, 4] and grid[1, 0] == 8 and np.isnan(grid[1, 1])


def test_output_grid_of_all_steps_of_3d_input_is_pool2d():
    x = RNG.normal(size=(3, 5, 5))
    assert np.array_equal(output_grid(pool_steps(x, 2, 1, 1, "avg")), pool2d(x, 2, 1, 1, "avg"))


def test_padded_puts_a_nan_border_around_the_map():
    x = padded(CHAPTER_FEATURE_MAP, 1)
    assert x.shape == (6, 6)
    assert np.isnan(x[0]).all() and np.isnan(x[:, -1]).all()
    assert np.array_equal(x[1:-1, 1:-1], CHAPTER_FEATURE_MAP)


def test_random_feature_map_is_small_integers_fixed_by_the_seed():
    x = random_feature_map(6, 3)
    assert x.shape == (6, 6) and set(np.unique(x)) <= set(range(10))
    assert np.array_equal(x, random_feature_map(6, 3))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_compare_with_torch_returns_torchs_output_and_no_difference(mode):
    theirs, diff = compare_with_torch(CHAPTER_FEATURE_MAP, 3, 1, 1, mode)
    assert np.array_equal(theirs, torch_pool(CHAPTER_FEATURE_MAP[None], 3, 1, 1, mode)[0])
    assert diff < 1e-12


# ---- translation invariance: shift the input, compare the pooled outputs -------------------------------------

def test_shift_moves_the_map_and_fills_with_zeros():
    x = np.arange(1, 10, dtype=float).reshape(3, 3)
    np.testing.assert_array_equal(shift(x, 0, 1), [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    np.testing.assert_array_equal(shift(x, -1, 0), [[4, 5, 6], [7, 8, 9], [0, 0, 0]])
    np.testing.assert_array_equal(shift(x, 0, 0), x)


def test_shift_matches_torch_roll_away_from_the_border():
    x = np.zeros((8, 8))
    x[2:5, 3:6] = np.arange(9).reshape(3, 3) + 1
    for dy, dx in ((1, 0), (0, -1), (2, 1), (-1, -2)):
        rolled = torch.roll(torch.as_tensor(x), (dy, dx), (0, 1)).numpy()
        np.testing.assert_array_equal(shift(x, dy, dx), rolled)


def test_shift_out_of_view_is_refused():
    with pytest.raises(ValueError, match="out of view"):
        shift(np.ones((4, 4)), 0, 4)


def test_chapter_map_shifted_one_pixel_left_keeps_every_maximum():
    """Each window's maximum (6, 4, 8, 6) sits in its right column or stays inside after the move."""
    before, after, same = shift_invariance(CHAPTER_FEATURE_MAP, 0, -1)
    np.testing.assert_array_equal(before, [[6, 4], [8, 6]])
    np.testing.assert_array_equal(after, [[6, 4], [8, 6]])
    assert same.all()


def test_chapter_map_shifted_one_pixel_up_changes_the_top_row_only():
    _, after, same = shift_invariance(CHAPTER_FEATURE_MAP, -1, 0)
    np.testing.assert_array_equal(after, [[7, 3], [8, 6]])
    np.testing.assert_array_equal(same, [[False, False], [True, True]])


def test_a_feature_moving_inside_its_window_does_not_change_the_max():
    x = np.zeros((4, 4))
    x[0, 0] = 9
    _, after, same = shift_invariance(x, 1, 1)
    assert same.all() and after[0, 0] == 9
