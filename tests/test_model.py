"""DigitCNN, its config, the layer table and the activation trace against the chapter's numbers."""
import pytest
import torch
from torch import nn

from cnnviz.trace import trace
from cnnviz.architecture import layer_table
from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, ConvBlock, DigitCNN, ModelConfig, count_parameters, leaf_layers

FC_NAMES = ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "dropout",
            "logits", "probabilities"]
FC_SHAPES = [(1, 28, 28), (16, 28, 28), (16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 14, 14), (32, 7, 7),
             (1568,), (128,), (128,), (128,), (10,), (10,)]


def nested_sequential() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(),                                    # [4, 26, 26]
        nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1)),   # [8, 13, 13]
        nn.Flatten(), nn.Linear(8 * 13 * 13, 10),
    )


# --- the model and its config ------------------------------------------------------------------------

def test_digitcnn_has_206922_parameters():
    assert count_parameters(DigitCNN()) == 206_922


def test_gap_variant_has_5130_parameters_far_fewer_than_the_fc_head():
    assert count_parameters(DigitCNN(GAP_CONFIG)) == 5_130
    assert count_parameters(DigitCNN(GAP_CONFIG)) < count_parameters(DigitCNN()) / 40


def test_flat_features_is_derived_from_the_config():
    assert ModelConfig().flat_features == 32 * 7 * 7
    assert ModelConfig.uniform(channels=(8, 16), image_size=32).flat_features == 16 * 8 * 8
    assert GAP_CONFIG.flat_features == 32


@pytest.mark.parametrize("config", [
    ModelConfig.uniform(channels=(8, 16)),
    ModelConfig.uniform(image_size=32, kernel_size=5, hidden=(64,)),
    ModelConfig.uniform(in_channels=3, num_classes=4, activation="sigmoid"),
    ModelConfig.uniform(channels=(4, 12), head="gap", activation="tanh"),
    ModelConfig.uniform(channels=(4, 8, 8), kernel_size=5, padding=1, batch_norm=True, activation="leaky_relu",
                        pool="avg", hidden=(32, 16)),
    ModelConfig(blocks=(ConvBlock(6, 7, "valid", 2, pool="none"), ConvBlock(8, 1, pool_size=3, pool_stride=2)),
                hidden=()),
])
def test_smaller_or_different_configs_build_and_run(config):
    model = DigitCNN(config).eval()
    x = torch.randn(2, config.in_channels, config.image_size, config.image_size)
    assert model(x).shape == (2, config.num_classes)


def test_parameter_count_follows_the_channels():
    c1, c2 = 8, 16
    expected = (c1 * 9 + c1) + (c2 * c1 * 9 + c2) + (c2 * 49 * 128 + 128) + (128 * 10 + 10)
    assert count_parameters(DigitCNN(ModelConfig.uniform(channels=(c1, c2)))) == expected


@pytest.mark.parametrize("bad, message", [
    (dict(channels=(8,) * 5), "1 to 4 conv blocks"),
    (dict(activation="gelu"), "activation must be one of"),
    (dict(head="attention"), "head must be 'fc' or 'gap'"),
    (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
    (dict(dropout=-0.1), r"dropout must be in \[0, 1\)"),
    (dict(kernel_size=4), "'same' needs an odd kernel"),
    (dict(image_size=3), "would shrink its 1×1 map below 1×1"),
    (dict(channels=(0, 16)), "channels must be at least 1"),
    (dict(hidden=(0,)), "hidden layer's width must be at least 1"),
    (dict(num_classes=0), "num_classes must be at least 1"),
    (dict(in_channels=0), "in_channels must be at least 1"),
    (dict(kernel_size=-1), "kernel_size must be at least 1"),
    (dict(pool_size=0), "pool_size must be at least 1"),
])
def test_invalid_config_values_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig.uniform(**bad)


def test_trace_rejects_an_image_of_the_wrong_size():
    with pytest.raises(ValueError, match="resize the input"):
        trace(DigitCNN(), torch.zeros(1, 1, 32, 32))


def test_config_round_trips_through_a_dict():
    config = ModelConfig.uniform(channels=(8, 24), head="gap", activation="tanh", batch_norm=True, padding=0)
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict({**config.to_dict(), "unknown": 1}) == config


OLD_CHAPTER = {"in_channels": 1, "image_size": 28, "channels": [16, 32], "kernel_size": 3, "pool_size": 2,
               "hidden": 128, "dropout": 0.25, "activation": "relu", "head": "fc", "num_classes": 10}


def test_from_dict_reads_the_old_flat_format():
    """Checkpoints saved before the design lab wrote one flat dict; they still describe the same networks."""
    assert ModelConfig.from_dict(OLD_CHAPTER) == CHAPTER_CONFIG
    assert ModelConfig.from_dict({**OLD_CHAPTER, "head": "gap"}) == GAP_CONFIG
    old = ModelConfig.from_dict({**OLD_CHAPTER, "channels": [8, 12], "kernel_size": 5, "activation": "tanh"})
    assert old == ModelConfig.uniform(channels=(8, 12), kernel_size=5, activation="tanh")


def test_old_properties_read_the_blocks():
    config = ModelConfig.uniform(channels=(8, 16, 24), activation="tanh")
    assert config.channels == (8, 16, 24) and config.activation == "tanh"
    assert CHAPTER_CONFIG.channels == (16, 32) and CHAPTER_CONFIG.sizes == (14, 7)


def test_leaf_layers_are_in_execution_order():
    assert [name for name, _ in leaf_layers(DigitCNN())] == \
        ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "dropout", "fc2"]
    assert [name for name, _ in leaf_layers(nested_sequential())] == ["0", "1", "2.0", "2.1", "3", "4"]


# --- the layer table ----------------------------------------------------------------------------------

def test_layer_table_reproduces_the_chapters_table():
    rows = layer_table(DigitCNN())
    assert [(r.name, r.op, r.output_shape, r.params) for r in rows] == [
        ("conv1", "Conv2d(1, 16, 3, pad=1)", (16, 28, 28), 160),
        ("relu1", "ReLU: max(0, x)", (16, 28, 28), 0),
        ("pool1", "MaxPool2d(2, 2)", (16, 14, 14), 0),
        ("conv2", "Conv2d(16, 32, 3, pad=1)", (32, 14, 14), 4_640),
        ("relu2", "ReLU: max(0, x)", (32, 14, 14), 0),
        ("pool2", "MaxPool2d(2, 2)", (32, 7, 7), 0),
        ("flatten", "Flatten", (1568,), 0),
        ("fc1", "Linear(1568, 128)", (128,), 200_832),
        ("relu3", "ReLU: max(0, x)", (128,), 0),
        ("dropout", "Dropout(0.25)", (128,), 0),
        ("fc2", "Linear(128, 10)", (10,), 1_290),
    ]


def test_layer_table_writes_the_parameter_arithmetic():
    arithmetic = {r.name: r.arithmetic for r in layer_table(DigitCNN())}
    assert arithmetic["conv1"] == "16×1×3×3 + 16 = 160"
    assert arithmetic["conv2"] == "32×16×3×3 + 32 = 4,640"
    assert arithmetic["fc1"] == "1568×128 + 128 = 200,832"
    assert arithmetic["fc2"] == "128×10 + 10 = 1,290"
    assert arithmetic["pool1"] == "0"


def test_fc1_holds_97_percent_of_the_parameters():
    rows = {r.name: r for r in layer_table(DigitCNN())}
    assert round(rows["fc1"].share * 100) == 97
    assert sum(r.share for r in rows.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("make", [
    lambda: DigitCNN(),
    lambda: DigitCNN(GAP_CONFIG),
    lambda: DigitCNN(ModelConfig.uniform(activation="tanh")),
    lambda: DigitCNN(ModelConfig.uniform(activation="sigmoid", channels=(8, 16))),
    nested_sequential,
], ids=["fc", "gap", "tanh", "sigmoid", "nested-sequential"])
def test_layer_table_params_sum_to_the_parameter_count(make):
    model = make()
    assert sum(r.params for r in layer_table(model)) == count_parameters(model)


def test_layer_table_follows_a_plain_sequential():
    rows = layer_table(nested_sequential())
    assert [(r.name, r.output_shape) for r in rows] == [
        ("0", (4, 26, 26)), ("1", (4, 26, 26)), ("2.0", (4, 13, 13)), ("2.1", (8, 13, 13)),
        ("3", (1352,)), ("4", (10,))]


def test_layer_table_of_the_gap_model_shows_the_global_pool():
    rows = {r.name: r for r in layer_table(DigitCNN(GAP_CONFIG))}
    assert rows["gap"].output_shape == (32, 1, 1)
    assert (rows["fc"].params, rows["fc"].output_shape) == (330, (10,))


def test_layer_table_leaves_training_mode_as_it_was():
    model = DigitCNN().train()
    layer_table(model)
    assert model.training and model.dropout.training


# --- the activation trace -----------------------------------------------------------------------------

def test_trace_names_and_shapes_follow_the_chapter():
    out = trace(DigitCNN().eval(), torch.randn(3, 1, 28, 28))
    assert list(out) == FC_NAMES
    assert [tuple(t.shape) for t in out.values()] == [(3,) + s for s in FC_SHAPES]


def test_trace_of_the_gap_model_names_the_global_pool():
    out = trace(DigitCNN(GAP_CONFIG).eval(), torch.randn(2, 1, 28, 28))
    assert list(out) == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "gap", "flatten",
                         "logits", "probabilities"]
    assert out["gap"].shape == (2, 32, 1, 1)


def test_trace_accepts_a_single_image_without_batch_dimension():
    out = trace(DigitCNN().eval(), torch.randn(1, 28, 28))
    assert [tuple(t.shape) for t in out.values()] == [(1,) + s for s in FC_SHAPES]


def test_trace_logits_equal_the_models_output_in_eval_mode():
    torch.manual_seed(0)
    model, x = DigitCNN().eval(), torch.randn(4, 1, 28, 28)
    out = trace(model, x)
    torch.testing.assert_close(out["logits"], model(x))
    torch.testing.assert_close(out["probabilities"], torch.softmax(model(x), dim=1))
    torch.testing.assert_close(out["probabilities"].sum(dim=1), torch.ones(4))


def test_trace_logits_equal_the_models_output_for_a_nested_sequential():
    model, x = nested_sequential().eval(), torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(trace(model, x)["logits"], model(x))


@pytest.mark.parametrize("training", [True, False])
def test_trace_leaves_the_training_mode_alone(training):
    model = DigitCNN().train(training)
    trace(model, torch.randn(1, 1, 28, 28))
    assert all(m.training == training for m in model.modules())


def test_trace_registers_no_hooks(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trace registered a hook")

    for name in ("register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
                 "register_full_backward_pre_hook", "register_backward_hook"):
        monkeypatch.setattr(nn.Module, name, refuse)
    for name in ("register_module_forward_hook", "register_module_forward_pre_hook",
                 "register_module_full_backward_hook"):
        monkeypatch.setattr(nn.modules.module, name, refuse)
    model = DigitCNN()
    trace(model, torch.randn(2, 1, 28, 28))
    for module in model.modules():
        assert not (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                    or module._backward_pre_hooks)
    assert not (nn.modules.module._global_forward_hooks or nn.modules.module._global_forward_pre_hooks)


def test_trace_does_not_track_gradients():
    out = trace(DigitCNN(), torch.randn(1, 1, 28, 28, requires_grad=True))
    assert not any(t.requires_grad for name, t in out.items() if name != "input")


def test_trace_rejects_a_bare_2d_image():
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        trace(DigitCNN(), torch.randn(28, 28))


def test_blocks_that_build_the_same_layers_are_equal():
    assert ConvBlock(16, padding=1) == ConvBlock(16) and hash(ConvBlock(16, padding=1)) == hash(ConvBlock(16))
    assert ConvBlock(16, pool_stride=2) == ConvBlock(16)
    assert ConvBlock(16, pool="none", pool_size=3) == ConvBlock(16, pool="none")
    assert ConvBlock(16, padding=0) != ConvBlock(16) and ConvBlock(16, pool="avg") != ConvBlock(16)
    assert ModelConfig.uniform(padding=1) == CHAPTER_CONFIG
