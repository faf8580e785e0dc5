"""Matching learned 3x3 filters against classic image-processing kernels."""
import numpy as np
import pytest
import torch

from cnnviz.filters import (CLASSIC_KERNELS, CLOSE, NO_MATCH, FilterMatch, best_edge_filter, learned_response,
                            edge_direction, label, match_filters, nearest_edge_filter, oriented_kernel, similarity)

SOBEL_X = CLASSIC_KERNELS["Sobel X"]
RNG = np.random.default_rng(0)


def test_classic_kernels_are_3x3_and_sobel_x_is_the_textbook_one():
    assert all(k.shape == (3, 3) for k in CLASSIC_KERNELS.values())
    np.testing.assert_array_equal(SOBEL_X, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(CLASSIC_KERNELS["Sobel Y"], SOBEL_X.T)


@pytest.mark.parametrize("name", list(CLASSIC_KERNELS))
def test_every_classic_kernel_matches_itself(name):
    [m] = match_filters(CLASSIC_KERNELS[name][None])
    assert (m.kernel_name, m.rotation, m.sign) == (name, 0, 1)
    assert m.score == pytest.approx(1.0)


def test_similarity_ignores_scale_and_flips_with_sign():
    a, b = RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3))
    assert similarity(3.7 * a, b) == pytest.approx(similarity(a, b))
    assert similarity(-a, b) == pytest.approx(-similarity(a, b))
    assert similarity(a, a) == pytest.approx(1.0)


def test_similarity_keeps_the_average_so_an_offset_lowers_the_score():
    """An offset makes the filter answer to brightness too: it is less of a pure edge detector."""
    assert 0.9 < similarity(SOBEL_X + 0.3, SOBEL_X) < 0.99
    assert similarity(SOBEL_X + 3, SOBEL_X) < 0.5


def test_similarity_of_blurs_is_the_same_cosine():
    box = CLASSIC_KERNELS["Box blur"]
    assert similarity(2 * box, box) == pytest.approx(1.0)
    assert similarity(-box, box) == pytest.approx(-1.0)
    assert similarity(np.zeros((3, 3)), box) == 0.0
    assert similarity(SOBEL_X, box) == pytest.approx(0.0)  # an edge detector sums to 0: nothing of a blur


# The shipped FC model's conv1 filters #3 and #5 (rounded), which the page once called "Identity 0.91" and
# "Box blur 0.55".
CENTRE_SURROUND_LEARNED = np.array([[-0.37, -0.29, -0.17], [-0.24, 0.17, -0.32], [-0.24, -0.31, -0.41]])
MIXED_SIGN_LEARNED = np.array([[-0.18, 0.26, 0.22], [-0.12, 0.04, 0.23], [0.32, 0.14, 0.05]])


def test_a_mixed_sign_kernel_is_not_called_box_blur():
    [learned, half] = match_filters(np.stack([MIXED_SIGN_LEARNED, [[1, 1, 1], [1, 1, 1], [-1, -1, -1]]]))
    assert "Box blur" not in label(learned) and label(learned) == NO_MATCH
    assert learned.score < CLOSE
    assert half.kernel_name == "Prewitt Y" and half.sign == -1 and label(half) == "−Prewitt Y"


def test_a_centre_surround_kernel_is_not_called_identity():
    textbook, learned = match_filters(np.stack([CLASSIC_KERNELS["Centre-surround"], CENTRE_SURROUND_LEARNED]))
    assert textbook.kernel_name == "Centre-surround" and textbook.score == pytest.approx(1.0)
    assert "Identity" not in label(learned) and learned.kernel_name != "Identity"
    [dot] = match_filters(CLASSIC_KERNELS["Identity"][None] + 0.01 * RNG.normal(size=(1, 3, 3)))
    assert label(dot) == "Identity"  # a lone bright centre still is one


def test_sobel_x_matches_itself_and_minus_sobel_matches_with_its_sign():
    plus, minus = match_filters(np.stack([SOBEL_X, -0.2 * SOBEL_X]))
    assert (plus.kernel_name, plus.sign, plus.rotation, label(plus)) == ("Sobel X", 1, 0, "Sobel X")
    assert (minus.kernel_name, minus.sign, minus.rotation, label(minus)) == ("Sobel X", -1, 0, "−Sobel X")
    assert plus.score == pytest.approx(1.0) and minus.score == pytest.approx(1.0)


def test_a_turned_match_says_so_and_a_weak_one_names_no_kernel():
    turned = FilterMatch(0, "Prewitt X", 0.8, -1, 90, -0.8)
    assert label(turned) == "−Prewitt X, turned 90°"
    assert label(FilterMatch(0, "Prewitt X", CLOSE - 0.01, 1, 0, CLOSE - 0.01)) == NO_MATCH
    assert all(label(m) == NO_MATCH for m in match_filters(RNG.normal(size=(50, 3, 3))) if m.score < CLOSE)


def test_random_filters_score_between_0_and_1():
    for m in match_filters(RNG.normal(size=(50, 1, 3, 3))):
        assert 0.0 <= m.score <= 1.0
        assert m.score == pytest.approx(abs(m.signed_similarity))
        assert m.sign == (1 if m.signed_similarity >= 0 else -1)


def test_scaled_negated_slightly_offset_sobel_matches_sobel_x():
    [m] = match_filters((-0.05 * SOBEL_X + 0.01)[None, None])
    assert (m.kernel_name, m.sign, m.rotation) == ("Sobel X", -1, 0)
    assert m.score > 0.98


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_rotated_sobel_matches_a_sobel_with_score_1(quarter_turns):
    [m] = match_filters(np.rot90(3 * SOBEL_X, quarter_turns)[None])
    assert m.kernel_name in ("Sobel X", "Sobel Y")
    assert m.score == pytest.approx(1.0)


def test_reported_sign_and_rotation_reproduce_the_similarity():
    filters = RNG.normal(size=(20, 3, 3))
    for f, m in zip(filters, match_filters(filters)):
        kernel = np.rot90(CLASSIC_KERNELS[m.kernel_name], m.rotation // 90)
        assert similarity(f, kernel) == pytest.approx(m.signed_similarity)


def test_a_matchs_kernel_is_the_classic_kernel_as_matched_sign_and_turn_included():
    """The filters page convolves the digit with m.kernel: it must be the kernel as matched, sign included."""
    filters = RNG.normal(size=(20, 3, 3))
    for f, m in zip(filters, match_filters(filters)):
        assert similarity(f, m.kernel) == pytest.approx(m.score)


def test_oriented_kernel_turns_counter_clockwise_and_flips_the_sign():
    turned = oriented_kernel("Sobel X", 90, -1)
    assert np.array_equal(turned, -np.rot90(SOBEL_X))
    assert turned[0].tolist() == [-1, -2, -1]  # Sobel X turned a quarter, negated: Sobel Y


@pytest.mark.parametrize("name, rotation, message", [("Sobel Z", 0, "unknown kernel"), ("Sobel X", 45, "rotation")])
def test_oriented_kernel_rejects_an_unknown_name_or_angle(name, rotation, message):
    with pytest.raises(ValueError, match=message):
        oriented_kernel(name, rotation)


def test_allowing_rotation_never_lowers_the_score():
    filters = RNG.normal(size=(20, 3, 3))
    for rotated, plain in zip(match_filters(filters), match_filters(filters, allow_rotation=False)):
        assert plain.rotation == 0
        assert rotated.score >= plain.score - 1e-12


def test_match_is_invariant_to_scale_and_sign():
    f = RNG.normal(size=(3, 3))
    [a], [b], [c] = match_filters(f[None]), match_filters(5 * f[None]), match_filters(-f[None])
    assert (a.kernel_name, a.rotation) == (b.kernel_name, b.rotation) == (c.kernel_name, c.rotation)
    assert a.score == pytest.approx(b.score) == pytest.approx(c.score)
    assert a.sign == b.sign == -c.sign


def test_a_noisy_laplacian_matches_laplacian():
    learned = 0.3 * CLASSIC_KERNELS["Laplacian"] + 0.02 * RNG.normal(size=(3, 3))
    [m] = match_filters(learned[None])
    assert m.kernel_name == "Laplacian" and m.sign == 1 and m.score > 0.95


def test_without_rotation_a_horizontal_edge_does_not_match_sobel_x():
    [m] = match_filters(CLASSIC_KERNELS["Sobel Y"][None], allow_rotation=False)
    assert m.kernel_name == "Sobel Y"
    assert similarity(CLASSIC_KERNELS["Sobel Y"], SOBEL_X) == pytest.approx(0.0)


def test_match_filters_accepts_conv_weights_as_a_tensor():
    weights = torch.nn.Conv2d(1, 16, 3).weight  # [16, 1, 3, 3], requires grad
    matches = match_filters(weights)
    assert [m.index for m in matches] == list(range(16))


def test_nearest_edge_filter_finds_the_vertical_edge_filter_unturned():
    weights = RNG.normal(scale=0.1, size=(8, 1, 3, 3))
    weights[5, 0] = -0.2 * SOBEL_X + 0.02 * RNG.normal(size=(3, 3))
    m = nearest_edge_filter(weights, "vertical")
    assert (m.index, m.kernel_name, m.sign, m.rotation) == (5, "Sobel X", -1, 0)
    assert m.score > 0.95


@pytest.mark.parametrize("kernel_size, stride, padding", [(3, 1, 1), (5, 1, "same"), (4, 2, 0), (1, 1, 0)])
def test_a_learned_response_is_the_layers_own_output_without_its_bias(kernel_size, stride, padding):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 6, kernel_size, stride=stride, padding=padding)
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        expected = conv(x)[0, 4] - conv.bias[4]                       # PyTorch's own forward pass is the oracle
    assert torch.allclose(learned_response(conv, x, 4), expected, atol=1e-5)


def test_a_learned_response_of_a_filter_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="filter index must be in 0..5"):
        learned_response(torch.nn.Conv2d(1, 6, 3), torch.zeros(1, 1, 28, 28), 6)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2, 3, 3), (4, 1, 5, 5), (4, 3, 2)])
def test_wrong_filter_shapes_raise(shape):
    with pytest.raises(ValueError, match=r"\[N, 1, 3, 3\]"):
        match_filters(np.zeros(shape))


def test_similarity_rejects_kernels_of_different_sizes():
    with pytest.raises(ValueError, match="same number of weights"):
        similarity(np.zeros((3, 3)), np.zeros((5, 5)))


def test_a_quarter_turned_sobel_x_is_a_horizontal_edge_and_a_diagonal_is_neither():
    weights = np.stack([np.rot90(CLASSIC_KERNELS["Sobel X"]), CLASSIC_KERNELS["Diagonal edge ↗"],
                        -CLASSIC_KERNELS["Prewitt X"]])
    assert [edge_direction(m) for m in match_filters(weights)] == ["horizontal", None, "vertical"]


def test_best_edge_filter_picks_only_what_the_gallery_calls_that_direction():
    """A diagonal filter that happens to score well against Sobel X is not offered as the vertical one."""
    diagonal = CLASSIC_KERNELS["Diagonal edge ↗"] + 0.01
    weak_vertical = CLASSIC_KERNELS["Sobel X"] + np.array([[0.5, 0, 0], [0, 0, 0], [0, 0, -0.4]])
    matches = match_filters(np.stack([diagonal, weak_vertical]))
    assert nearest_edge_filter(np.stack([diagonal, weak_vertical]), "vertical").index in (0, 1)
    assert best_edge_filter(matches, "vertical").index == 1
    assert best_edge_filter(matches, "horizontal") is None


def test_best_edge_filter_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        best_edge_filter([], "sideways")


def test_the_nearest_edge_filter_is_offered_even_when_none_is_close():
    weak = np.stack([CLASSIC_KERNELS["Box blur"], 0.3 * SOBEL_X + 0.4, CLASSIC_KERNELS["Sobel Y"]])
    matches = match_filters(weak)
    assert best_edge_filter(matches, "vertical") is None  # #1 is too offset to be called Sobel X
    m = nearest_edge_filter(weak, "vertical")
    assert (m.index, m.kernel_name, m.rotation) == (1, "Sobel X", 0) and not m.close
    with pytest.raises(ValueError, match="direction"):
        nearest_edge_filter(weak, "sideways")
