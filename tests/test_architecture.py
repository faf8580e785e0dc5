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
