"""Receptive fields: the chapter's numbers, published tables, and a gradient check in PyTorch."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.model import GAP_CONFIG, DigitCNN
from cnnviz.receptive_field import (
    Layer,
    field_rows,
    input_window,
    layers_from_model,
    nested_boxes,
    receptive_fields,
    unit_window,
)


def conv(name, k, s=1, p=0, d=1):
    return Layer(name, k, s, p, d)


# AlexNet (TF-Slim alexnet_v2) and VGG16 as conv/pool stacks. Expected RF / effective stride / effective
# padding are from the table of google-research/receptive_field (RECEPTIVE_FIELD_TABLE.md, computed with
# the method of Araujo, Norris & Sim, "Computing Receptive Fields of CNNs", Distill 2019), and agree with
# the recurrence worked by hand: e.g. AlexNet pool1 = 11 + (3-1)*4 = 19, conv2 = 19 + (5-1)*8 = 51.
ALEXNET = [conv("conv1", 11, 4), conv("pool1", 3, 2), conv("conv2", 5, 1, 2), conv("pool2", 3, 2),
           conv("conv3", 3, 1, 1), conv("conv4", 3, 1, 1), conv("conv5", 3, 1, 1), conv("pool5", 3, 2)]
ALEXNET_RF = [11, 19, 51, 67, 99, 131, 163, 195]
ALEXNET_JUMP = [4, 8, 8, 16, 16, 16, 16, 32]


def vgg16():
    layers = []
    for block, convs in enumerate([2, 2, 3, 3, 3], start=1):
        layers += [conv(f"conv{block}_{i}", 3, 1, 1) for i in range(1, convs + 1)]
        layers.append(conv(f"pool{block}", 2, 2))
    return layers


def test_digitcnn_receptive_fields_are_3_4_8_10():
    rows = receptive_fields(layers_from_model(DigitCNN()))
    assert [r.name for r in rows] == ["conv1", "pool1", "conv2", "pool2"]
    assert [r.size for r in rows] == [3, 4, 8, 10]


def test_digitcnn_jumps_are_1_2_2_4():
    assert [r.jump for r in receptive_fields(layers_from_model(DigitCNN()))] == [1, 2, 2, 4]


def test_digitcnn_starts_and_output_sizes_with_a_28_pixel_input():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    assert [r.start for r in rows] == [0.0, 0.5, 0.5, 1.5]
    assert [r.effective_padding for r in rows] == [1, 1, 3, 3]
    assert [r.output_size for r in rows] == [28, 14, 14, 7]


def test_output_size_is_none_without_an_input_size():
    assert all(r.output_size is None for r in receptive_fields(layers_from_model(DigitCNN())))


def test_three_3x3_convs_grow_the_field_1_3_5_7():
    rows = receptive_fields([conv(f"conv{i}", 3) for i in (1, 2, 3)])
    assert [r.size for r in rows] == [3, 5, 7]


def test_alexnet_matches_the_published_table():
    rows = receptive_fields(ALEXNET)
    assert [r.size for r in rows] == ALEXNET_RF
    assert [r.jump for r in rows] == ALEXNET_JUMP
    assert [r.effective_padding for r in rows if r.name in ("conv1", "pool1", "conv2", "conv3", "conv4",
                                                            "conv5", "pool5")] == [0, 0, 16, 32, 48, 64, 64]


def test_vgg16_matches_the_published_table():
    rows = {r.name: r for r in receptive_fields(vgg16())}
    assert [rows[n].size for n in ("conv1_1", "pool1", "conv2_1", "pool2", "pool3", "pool4", "conv5_3", "pool5")] \
        == [3, 6, 10, 16, 44, 100, 196, 212]
    assert (rows["pool5"].jump, rows["pool5"].effective_padding) == (32, 90)
    assert (rows["pool4"].jump, rows["pool4"].effective_padding) == (16, 42)


def test_dilation_widens_the_effective_kernel():
    assert Layer("c", 3, dilation=2).effective_kernel == 5
    assert [r.size for r in receptive_fields([conv("a", 3), conv("b", 3, d=2), conv("c", 3, d=4)])] == [3, 7, 15]


def test_layer_accepts_numpy_integers():
    layer = Layer("c", np.int64(3), np.int32(2))
    assert (layer.kernel_size, layer.stride) == (3, 2) and type(layer.kernel_size) is int


def test_empty_layer_list_raises():
    with pytest.raises(ValueError, match="at least one Layer"):
        receptive_fields([])


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=0), "kernel_size must be at least 1"),
    (dict(kernel_size=3, stride=0), "stride must be at least 1"),
    (dict(kernel_size=3, padding=-1), "padding must be at least 0"),
    (dict(kernel_size=3, dilation=0), "dilation must be at least 1"),
    (dict(kernel_size=2.0), "kernel_size must be an integer"),
])
def test_bad_layer_numbers_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Layer("bad", **kwargs)


def test_an_input_too_small_for_the_stack_raises():
    with pytest.raises(ValueError, match="larger than the padded input"):
        receptive_fields(layers_from_model(DigitCNN()), input_size=3)


def test_layers_from_model_stops_at_the_gap_head():
    assert [layer.name for layer in layers_from_model(DigitCNN(GAP_CONFIG))] == ["conv1", "pool1", "conv2", "pool2"]


def test_layers_from_model_reads_nested_sequentials_and_skips_pointwise_layers():
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 5, stride=2, padding="valid"), nn.BatchNorm2d(4), nn.ReLU()),
        nn.Dropout2d(0.1),
        nn.Sequential(nn.Conv2d(4, 4, 3, padding="same", dilation=2), nn.Tanh(), nn.AvgPool2d(3, 2, 1)),
        nn.Flatten(), nn.Linear(4, 2), nn.Conv2d(1, 1, 3),  # nothing after Flatten counts
    )
    assert layers_from_model(model) == [Layer("0.0", 5, 2, 0, 1), Layer("2.0", 3, 1, 2, 2), Layer("2.2", 3, 2, 1, 1)]


def test_layers_from_model_rejects_a_geometry_changing_module_it_does_not_know():
    with pytest.raises(ValueError, match="Upsample is not supported"):
        layers_from_model(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)))


def test_layers_from_model_rejects_non_square_kernels():
    with pytest.raises(ValueError, match="non-square kernel_size"):
        layers_from_model(nn.Sequential(nn.Conv2d(1, 1, (3, 5))))


def test_layers_from_model_rejects_a_model_without_conv_or_pool():
    with pytest.raises(ValueError, match="no Conv2d or pooling layer"):
        layers_from_model(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_input_window_of_digitcnn_corner_and_interior_units():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    assert input_window(rows[0], 5, 9, 28) == (4, 7, 8, 11)       # 3x3 around pixel (5, 9)
    assert input_window(rows[0], 0, 0, 28) == (0, 2, 0, 2)        # clipped at the corner
    assert input_window(rows[3], 3, 3, 28) == (9, 19, 9, 19)      # a full 10x10 patch
    assert input_window(rows[3], 0, 6, 28) == (0, 7, 21, 28)


def test_input_window_rejects_a_unit_outside_the_layer():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    with pytest.raises(ValueError, match="outside pool2"):
        input_window(rows[3], 7, 0, 28)


def test_field_rows_give_an_activation_the_field_of_the_layer_before_it():
    rows = field_rows(DigitCNN())
    assert [(name, rows[name].size) for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")] == [
        ("conv1", 3), ("relu1", 3), ("pool1", 4), ("conv2", 8), ("relu2", 8), ("pool2", 10)]


def test_field_rows_stop_where_the_maps_end():
    assert "flatten" not in field_rows(DigitCNN()) and "gap" not in field_rows(DigitCNN(GAP_CONFIG))


def test_unit_window_of_a_model_layer_is_its_input_window():
    assert unit_window(DigitCNN(), "relu2", 7, 7) == (11, 19, 11, 19)  # conv2's 8x8 field, centre 0.5 + 7 * 2


def test_unit_window_rejects_a_layer_without_a_spatial_field():
    with pytest.raises(ValueError, match="fc1 has no spatial receptive field"):
        unit_window(DigitCNN(), "fc1", 0, 0)


def test_nested_boxes_start_with_the_chosen_units_field_and_go_back_to_conv1():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    boxes = nested_boxes(rows, 3, 3, 3, 28)
    assert [b[0] for b in boxes] == ["pool2: 10×10", "conv2: 8×8", "pool1: 4×4", "conv1: 3×3"]
    assert boxes[0][1:] == input_window(rows[3], 3, 3, 28)


def test_nested_boxes_pick_the_earlier_unit_nearest_the_fields_centre():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    # pool2 unit 3 is centred on pixel 13.5, halfway between conv2 units 6 and 7 (0.5 + 2u); round() picks 6
    assert nested_boxes(rows, 3, 3, 3, 28)[1][1:] == input_window(rows[2], 6, 6, 28)


def test_nested_boxes_stay_inside_each_layer_at_the_border():
    rows = receptive_fields(layers_from_model(DigitCNN()), input_size=28)
    assert nested_boxes(rows, 1, 0, 0, 28) == [("pool1: 4×4", 0, 3, 0, 3), ("conv1: 3×3", 0, 2, 0, 2)]


# --- gradient check: the pixels that can change a unit are exactly its input window -------------------

def linear_model(layers: list[Layer]) -> nn.Sequential:
    """A one-channel model with every weight positive and no bias, so no gradient path cancels or dies.

    Pools become average pools of the same geometry (a max pool routes the gradient to one pixel only).
    """
    modules = []
    for layer in layers:
        if layer.name.startswith("pool"):
            modules.append(nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding))
            continue
        c = nn.Conv2d(1, 1, layer.kernel_size, layer.stride, layer.padding, layer.dilation, bias=False)
        nn.init.constant_(c.weight, 1.0)
        modules.append(c)
    return nn.Sequential(*modules).double()


def gradient_support(model: nn.Module, depth: int, size: int, y: int, x: int) -> torch.Tensor:
    image = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = model[:depth](image)  # [1, 1, H_out, W_out]
    out[0, 0, y, x].backward()
    return image.grad[0, 0] != 0  # [size, size] bool


def box_mask(window, size) -> torch.Tensor:
    y0, y1, x0, x1 = window
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[y0:y1, x0:x1] = True
    return mask


def assert_windows_match_gradients(layers, size, units_per_side=None):
    model = linear_model(layers)
    for depth, row in enumerate(receptive_fields(layers, input_size=size), start=1):
        n = row.output_size
        picks = range(n) if units_per_side is None else sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n)))
        for y in picks:
            for x in picks:
                expected = gradient_support(model, depth, size, y, x)
                got = box_mask(input_window(row, y, x, size), size)
                assert torch.equal(got, expected), (row.name, y, x)


def test_input_window_equals_gradient_support_for_digitcnn():
    assert_windows_match_gradients(layers_from_model(DigitCNN()), 28, units_per_side=5)


def test_input_window_equals_gradient_support_for_a_strided_dilated_stack():
    layers = [conv("conv1", 3, 1, 1), conv("conv2", 3, 2, 0), conv("conv3", 3, 1, 2, d=2),
              conv("pool1", 2, 2), conv("conv4", 2, 1, 1)]
    assert_windows_match_gradients(layers, 23)


def test_input_window_skips_pixels_a_strided_layer_drops():
    """Stride 2 over 5 pixels never reaches the last one, so no later unit sees it either."""
    layers = [conv("conv1", 2, 2), conv("conv2", 3, 1, 1)]
    rows = receptive_fields(layers, input_size=5)
    assert input_window(rows[1], 1, 1, 5) == (0, 4, 0, 4)
    assert_windows_match_gradients(layers, 5)


def test_input_window_is_the_bounding_box_when_dilation_leaves_holes():
    layers = [conv("conv1", 3, d=3)]
    row = receptive_fields(layers, input_size=9)[0]
    support = gradient_support(linear_model(layers), 1, 9, 1, 1)
    box = box_mask(input_window(row, 1, 1, 9), 9)
    assert (support & ~box).sum() == 0 and (box & ~support).sum() > 0
    ys, xs = support.nonzero(as_tuple=True)
    assert input_window(row, 1, 1, 9) == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)


def test_input_window_is_the_bounding_box_of_the_gradient_for_random_stacks():
    rng = torch.Generator().manual_seed(0)

    def pick(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=rng))

    checked = 0
    while checked < 25:
        layers = []
        for i in range(pick(1, 4)):
            if pick(0, 2) == 0:
                k = pick(1, 3)
                layers.append(Layer(f"pool{i}", k, pick(1, 3), pick(0, k // 2)))
            else:
                k, d = pick(1, 4), pick(1, 3)
                layers.append(Layer(f"conv{i}", k, pick(1, 3), pick(0, d * (k - 1)), d))
        size = pick(6, 16)
        try:
            rows = receptive_fields(layers, input_size=size)
        except ValueError:
            continue  # the stack does not fit this input
        model, row = linear_model(layers), rows[-1]
        for y in range(row.output_size):
            support = gradient_support(model, len(layers), size, y, y)
            window = input_window(row, y, y, size)
            if support.any():
                ys, xs = support.nonzero(as_tuple=True)
                assert window == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1), (layers, size, y)
            else:
                assert window[0] == window[1] and window[2] == window[3]
        checked += 1


def test_field_rows_of_a_design_give_batch_norm_and_activation_the_conv_field():
    from cnnviz.model import ModelConfig

    model = DigitCNN(ModelConfig.uniform(channels=(4, 8, 8), kernel_size=5, batch_norm=True, pool="none",
                                         activation="leaky_relu", hidden=(4,)))
    rows = field_rows(model)
    assert [(name, rows[name].size) for name in rows] == [
        ("conv1", 5), ("bn1", 5), ("leaky_relu1", 5), ("conv2", 9), ("bn2", 9), ("leaky_relu2", 9),
        ("conv3", 13), ("bn3", 13), ("leaky_relu3", 13)]
