"""Any unit, opened: every number equals the model's own forward pass (PyTorch is the oracle)."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.trace import trace
from cnnviz.checkpoint import load, shipped_path
from cnnviz.model import ConvBlock, DigitCNN, ModelConfig
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit
from cnnviz.unit import agrees, open_unit
from model_checks import trained_looking

TOL = 1e-5


@pytest.fixture(scope="module")
def digit() -> torch.Tensor:
    return preprocess(draw_digit(4))[1]  # [1, 1, 28, 28]


def _model(head: str) -> nn.Module:
    """The shipped, trained model of this head (real weights, as the draw page uses)."""
    return load(shipped_path(head))[0].eval()


def _units(shape: tuple, stride: int) -> list[tuple]:
    """Every `stride`-th unit of a layer in row-major order (stride 1: all of them)."""
    return [tuple(int(i) for i in np.unravel_index(n, shape)) for n in range(0, int(np.prod(shape)), stride)]


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_every_shown_unit_matches_the_forward_pass(head, digit):
    """Every layer that holds values: its units opened equal the trace to 1e-5 (relative past 1, as float32
    values are known). All units of the small layers, every 7th of the 28x28 maps."""
    model = _model(head)
    acts = trace(model, digit)
    skipped = {"input", "probabilities", "flatten", "dropout"}
    for layer, out in acts.items():
        if layer in skipped:
            continue
        shape = tuple(out[0].shape)
        for unit in _units(shape, 7 if np.prod(shape) > 4000 else 1):
            rec = open_unit(model, acts, layer, unit)
            assert agrees(rec.value, float(out[0][unit])), (layer, unit, rec.value, float(out[0][unit]))
            assert rec.traced == float(out[0][unit])


def test_agreement_is_absolute_near_zero_and_relative_for_large_values():
    assert agrees(0.0, 9e-6) and not agrees(0.0, 2e-5)
    assert agrees(460.0, 460.004) and not agrees(460.0, 460.01)


def test_conv1_unit_is_patch_times_filter_plus_bias(digit):
    model = _model("fc")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "relu1", (3, 14, 13))
    step = rec.conv
    assert rec.kind == "conv" and rec.computed_by == "conv1" and rec.source == "input"
    assert step.values.shape == (1, 3, 3)
    patch = acts["input"][0, 0, 13:16, 12:15].double().numpy()    # padding 1: rows 13..15, columns 12..14
    np.testing.assert_allclose(step.values[0], patch, atol=TOL)
    np.testing.assert_allclose(step.weights, model.conv1.weight[3].detach().double().numpy(), atol=0)
    assert step.bias == pytest.approx(float(model.conv1.bias[3].detach()))
    assert rec.pre_activation == pytest.approx(float(acts["conv1"][0, 3, 14, 13]), abs=TOL)
    assert rec.activation == "ReLU" and rec.value == pytest.approx(max(rec.pre_activation, 0.0))


def test_conv2_partial_sums_add_up_to_the_pre_activation(digit):
    """One conv2 unit is sixteen 3x3 dot products, one per pool1 map, plus one bias."""
    model = _model("fc")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "relu2", (7, 6, 8))
    sums = rec.conv.partial_sums
    assert rec.source == "pool1" and sums.shape == (16,)
    assert sums.sum() + rec.conv.bias == pytest.approx(float(acts["conv2"][0, 7, 6, 8]), abs=TOL)
    kernel = model.conv2.weight[7, 5].detach().double().numpy()    # [3, 3] the slice for pool1 map 5
    patch = acts["pool1"][0, 5, 5:8, 7:10].double().numpy()
    assert sums[5] == pytest.approx(float((kernel * patch).sum()), abs=TOL)


def test_max_pool_unit_names_the_winning_input(digit):
    model = _model("fc")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "pool1", (2, 6, 7))
    step = rec.pool
    assert rec.kind == "pool" and step.mode == "max" and step.rows == (12, 14) and step.cols == (14, 16)
    window = acts["relu1"][0, 2, 12:14, 14:16].double().numpy()
    np.testing.assert_allclose(step.values, window, atol=TOL)
    assert float(acts["relu1"][0, 2][step.argmax]) == pytest.approx(rec.value, abs=TOL)


def test_global_average_pool_is_the_mean_of_the_map(digit):
    model = _model("gap")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "gap", (5,))
    assert rec.pool.mode == "avg" and rec.pool.values.shape == (7, 7)
    assert rec.value == pytest.approx(float(acts["pool2"][0, 5].mean()), abs=TOL)


def test_fc1_contributions_are_ranked_and_add_up(digit):
    """The ranked inputs of an fc1 unit: largest |weight x activation| first; all of them plus bias is the sum."""
    model = _model("fc")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "relu3", (17,))
    ws = rec.weighted_sum
    assert rec.source == "pool2" and ws.input_shape == (32, 7, 7) and ws.inputs.shape == (1568,)
    top = ws.ranked(10)
    assert list(np.abs(ws.products[top])) == sorted(np.abs(ws.products[top]), reverse=True)
    assert np.abs(ws.products[top[-1]]) >= np.abs(np.delete(ws.products, top)).max()
    c, y, x = ws.position(top[0])
    assert ws.inputs[top[0]] == pytest.approx(float(acts["pool2"][0, c, y, x]))
    assert ws.products.sum() + ws.bias == pytest.approx(float(acts["fc1"][0, 17]), abs=TOL)


def test_logit_reads_the_hidden_layer(digit):
    model = _model("fc")
    acts = trace(model, digit)
    rec = open_unit(model, acts, "logits", (4,))
    assert rec.computed_by == "logits" and rec.source == "relu3" and rec.weighted_sum.inputs.shape == (128,)
    assert rec.activation is None


def test_other_architectures_open_too():
    """Strided, dilated, padded convolutions, average pooling and Tanh, in a plain nn.Sequential."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=2, dilation=2), nn.Tanh(),
                          nn.AvgPool2d(3, stride=1, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 5, 3)).eval()
    x = torch.randn(1, 2, 9, 9)
    acts = trace(model, x)
    for layer in ("0", "1", "2", "logits"):
        for unit in _units(tuple(acts[layer][0].shape), stride=1):
            rec = open_unit(model, acts, layer, unit)
            assert rec.value == pytest.approx(float(acts[layer][0][unit]), abs=TOL), (layer, unit)


def test_unit_outside_the_layer_is_a_clear_error(digit):
    model = _model("fc")
    acts = trace(model, digit)
    with pytest.raises(ValueError, match="not in pool1"):
        open_unit(model, acts, "pool1", (0, 14, 0))


def test_unknown_layer_is_a_clear_error(digit):
    model = _model("fc")
    acts = trace(model, digit)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        open_unit(model, acts, "conv9", (0, 0, 0))


def test_flatten_has_no_arithmetic_to_open(digit):
    model = _model("fc")
    acts = trace(model, digit)
    with pytest.raises(ValueError, match="only moves values"):
        open_unit(model, acts, "flatten", (0,))


def test_grouped_convolution_is_refused():
    model = nn.Sequential(nn.Conv2d(2, 2, 3, groups=2), nn.Flatten(), nn.Linear(2 * 3 * 3, 2)).eval()
    acts = trace(model, torch.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="groups=1"):
        open_unit(model, acts, "0", (0, 0, 0))


def test_every_unit_of_a_batch_norm_leaky_relu_avg_pool_design_matches_the_forward_pass():
    """Strided 5x5 conv with padding 1, batch norm, leaky ReLU, overlapping average pooling, a valid 3x3 conv."""
    config = ModelConfig(blocks=(ConvBlock(3, 5, 1, 2, "leaky_relu", True, "avg", 3, 1),
                                 ConvBlock(4, 3, "valid", 1, "sigmoid", True, "max", 2)), hidden=(6,), image_size=14)
    model = trained_looking(config, seed=4)
    acts = trace(model, torch.randn(1, 1, 14, 14))
    for layer, out in acts.items():
        if layer in {"input", "probabilities", "flatten", "dropout"}:
            continue
        for unit in _units(tuple(out[0].shape), stride=1):
            rec = open_unit(model, acts, layer, unit)
            assert agrees(rec.value, float(out[0][unit])), (layer, unit, rec.value, float(out[0][unit]))


def test_a_batch_norm_unit_shows_its_standardization(digit):
    model = trained_looking(ModelConfig.uniform(channels=(4, 8), batch_norm=True, activation="leaky_relu"), seed=4)
    acts = trace(model, digit)
    rec = open_unit(model, acts, "leaky_relu1", (2, 10, 11))
    norm = rec.normalization
    assert rec.computed_by == "conv1" and model.conv1.bias is None and rec.conv.bias == 0 and norm.layer == "bn1"
    assert norm.x == pytest.approx(float(acts["conv1"][0, 2, 10, 11]), abs=TOL)
    assert norm.mean == float(model.bn1.running_mean[2]) and norm.var == float(model.bn1.running_var[2])
    assert norm.weight == float(model.bn1.weight.detach()[2]) != 1.0
    assert rec.pre_activation == pytest.approx(float(acts["bn1"][0, 2, 10, 11]), abs=TOL)
    assert rec.activation == "LeakyReLU"
    assert rec.value == pytest.approx(max(norm.result, 0.01 * norm.result), abs=1e-12)


def test_a_batch_norm_unit_in_training_mode_is_refused(digit):
    model = DigitCNN(ModelConfig.uniform(channels=(4, 8), batch_norm=True))
    acts = trace(model, digit)
    with pytest.raises(ValueError, match="eval mode"):
        open_unit(model, acts, "bn1", (0, 0, 0))
