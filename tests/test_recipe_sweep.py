"""bench/recipe_sweep: the config specs it reads and the images it counts to a target accuracy."""
import pytest
import torch

from bench.recipe_sweep import first_to_target, parse_config
from cnnviz.data import load_split
from cnnviz.train import TrainConfig


def test_a_spec_changes_the_named_fields_with_their_own_types():
    label, config = parse_config("short=lr=8e-3,max_steps=350,cycle_steps=None,channels_last=false", TrainConfig())
    assert label == "short"
    assert config == TrainConfig(lr=8e-3, max_steps=350, channels_last=False)
    assert isinstance(config.max_steps, int)


def test_a_spec_naming_no_field_is_refused():
    with pytest.raises(ValueError, match="'peak' is not a TrainConfig field"):
        parse_config("x=peak=1e-2", TrainConfig())


def test_images_are_counted_to_the_first_test_at_the_target(data_root):
    """Tests run every 640 images from 640 on; the first pass at the target ends the count."""
    torch.set_num_threads(1)
    train, test = load_split("train", data_root).subset(2000), load_split("test", data_root).subset(300)
    config = TrainConfig(max_steps=30, batch_size=64, lr=3e-3)
    result = first_to_target(config, train, test, target=0.5, test_from=640, test_every=640)
    assert result["images"] is not None and result["images"] % 640 == 0
    assert result["passes"] == result["images"] // 640 and result["hit_acc"] >= 0.5
    assert result["steps"] == 30 and 0 <= result["final"] <= 1
    never = first_to_target(config, train, test, target=1.01, test_from=640, test_every=640)
    assert never["images"] is None and never["hit_acc"] is None and never["passes"] == 3  # 640, 1,280, 1,920 (end)
