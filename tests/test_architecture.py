"""cnnviz.architecture: the input shape a model reads, and the layer tables of both heads."""
from torch import nn

from cnnviz.architecture import head_tables, layer_table, model_input_shape
from cnnviz.model import DigitCNN, ModelConfig


def test_model_input_shape_comes_from_the_config():
    assert model_input_shape(DigitCNN(ModelConfig(image_size=32))) == (1, 32, 32)


def test_a_model_without_a_config_reads_an_mnist_digit():
    assert model_input_shape(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten())) == (1, 28, 28)


def test_layer_table_defaults_to_the_models_own_input():
    rows = layer_table(DigitCNN(ModelConfig(image_size=32)))
    assert rows[0].output_shape == (16, 32, 32)


def test_head_tables_hold_the_chapters_206922_and_the_gap_models_5130_parameters():
    tables = head_tables(ModelConfig())
    assert {head: sum(r.params for r in rows) for head, rows in tables.items()} == {"fc": 206922, "gap": 5130}


def test_layer_table_of_a_design_names_batch_norm_leaky_relu_and_the_conv_without_bias():
    from cnnviz.model import ConvBlock

    config = ModelConfig(blocks=(ConvBlock(4, 5, "valid", 2, "leaky_relu", True, "avg", 3, 1),), hidden=())
    rows = layer_table(DigitCNN(config))
    assert [(r.name, r.op, r.output_shape, r.layer_kind) for r in rows] == [
        ("conv1", "Conv2d(1, 4, 5, stride=2, no bias)", (4, 12, 12), "conv"),
        ("bn1", "BatchNorm2d(4)", (4, 12, 12), "batch_norm"),
        ("leaky_relu1", "LeakyReLU: max(0.01x, x)", (4, 12, 12), "activation"),
        ("pool1", "AvgPool2d(3, 1)", (4, 10, 10), "avg_pool"),
        ("flatten", "Flatten", (400,), "flatten"),
        ("dropout", "Dropout(0.25)", (400,), "dropout"),
        ("fc1", "Linear(400, 10)", (10,), "linear")]
    assert [r.params for r in rows if r.params] == [4 * 25, 2 * 4, 400 * 10 + 10]


def test_head_tables_of_a_gap_design_give_the_fc_head_a_hidden_layer_of_128():
    tables = head_tables(ModelConfig(head="gap", hidden=()))
    assert [r.name for r in tables["fc"]][-4:] == ["fc1", "relu3", "dropout", "fc2"]
