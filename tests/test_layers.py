"""cnnviz.layers: the one description of a model's layers, against the modules and PyTorch's own forward pass."""
import pytest
import torch
from torch import nn

from cnnviz.layers import layer_specs
from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, ConvBlock, DigitCNN, ModelConfig

BN_DESIGN = ModelConfig(blocks=(ConvBlock(4, 5, 1, 2, "leaky_relu", True, "avg", 3, 1),
                                ConvBlock(6, 3, "valid", 1, "tanh", False, "none")), hidden=(12, 8))


def test_the_chapters_layers_have_the_chapters_kinds_and_shapes():
    specs = layer_specs(DigitCNN(CHAPTER_CONFIG))
    assert [(s.name, s.kind, s.out_shape) for s in specs] == [
        ("conv1", "conv", (16, 28, 28)), ("relu1", "activation", (16, 28, 28)), ("pool1", "max_pool", (16, 14, 14)),
        ("conv2", "conv", (32, 14, 14)), ("relu2", "activation", (32, 14, 14)), ("pool2", "max_pool", (32, 7, 7)),
        ("flatten", "flatten", (1568,)), ("fc1", "linear", (128,)), ("relu3", "activation", (128,)),
        ("dropout", "dropout", (128,)), ("fc2", "linear", (10,))]
    assert specs[0].in_shape == (1, 28, 28) and specs[-1].key == "logits" and specs[0].key == "conv1"
    assert [(s.kernel_size, s.stride, s.padding, s.dilation) for s in specs[:3]] == [(3, 1, 1, 1), (None,) * 4,
                                                                                     (2, 2, 0, 1)]


def test_the_gap_head_is_a_global_average_pool():
    kinds = [s.kind for s in layer_specs(DigitCNN(GAP_CONFIG))]
    assert kinds[-3:] == ["global_avg_pool", "flatten", "linear"]


@pytest.mark.parametrize("config", [CHAPTER_CONFIG, GAP_CONFIG, BN_DESIGN], ids=["chapter", "gap", "bn"])
def test_shapes_and_parameters_equal_the_forward_pass(config):
    model = DigitCNN(config).eval()
    x = torch.randn(2, 1, 28, 28)
    for spec in layer_specs(model):
        assert tuple(x.shape[1:]) == spec.in_shape, spec.name
        x = spec.module(x)
        assert tuple(x.shape[1:]) == spec.out_shape, spec.name
        assert spec.params == sum(p.numel() for p in spec.module.parameters()), spec.name


def test_a_design_with_batch_norm_reads_its_settings():
    specs = {s.name: s for s in layer_specs(DigitCNN(BN_DESIGN))}
    assert (specs["conv1"].kernel_size, specs["conv1"].stride, specs["conv1"].padding) == (5, 2, 1)
    assert specs["bn1"].kind == "batch_norm" and specs["leaky_relu1"].kind == "activation"
    assert (specs["pool1"].kind, specs["pool1"].kernel_size, specs["pool1"].stride) == ("avg_pool", 3, 1)
    assert specs["conv2"].padding == 0 and "pool2" not in specs


def test_a_plain_sequential_has_no_shapes_without_an_input_shape():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding="same"), nn.GELU(), nn.Flatten(), nn.Linear(2 * 25, 3))
    assert [s.out_shape for s in layer_specs(model)] == [None] * 4
    assert [s.out_shape for s in layer_specs(model, (1, 5, 5))] == [(2, 5, 5), (2, 5, 5), (50,), (3,)]
    assert [s.kind for s in layer_specs(model)] == ["conv", "activation", "flatten", "linear"]


@pytest.mark.parametrize("module, message", [
    (nn.Upsample(scale_factor=2), "Upsample is not supported"),
    (nn.Softmax(dim=1), "Softmax is not supported"),
    (nn.AdaptiveAvgPool2d(2), "global average pool"),
    (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=True is not supported"),
    (nn.Conv2d(1, 1, (3, 5)), "non-square kernel_size"),
])
def test_unsupported_layers_are_refused_by_name(module, message):
    with pytest.raises(ValueError, match=message):
        layer_specs(nn.Sequential(module))


def test_an_input_the_layers_cannot_read_is_refused():
    with pytest.raises(ValueError, match="fc1 reads 1568 features"):
        layer_specs(DigitCNN(), (1, 32, 32))
