"""python -m cnnviz.train with the design flags: every flag reaches the design, an impossible design stops at once
with its message, and a design trained for a few steps round-trips through its checkpoint."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnviz.checkpoint import load
from cnnviz.data import load_split
from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, ConvBlock, ModelConfig, count_parameters
from cnnviz.train import Trainer
from cnnviz.train.__main__ import build_parser, config_from_args, main

REPO = Path(__file__).resolve().parents[1]
DESIGN_FLAGS = ["--channels", "4", "8", "--kernel-size", "5", "--padding", "1", "--stride", "1", "--batch-norm",
                "--activation", "leaky_relu", "--pool", "avg", "--pool-size", "3", "--pool-stride", "2",
                "--hidden", "16", "8", "--dropout", "0.1"]
DESIGN = ModelConfig(blocks=(ConvBlock(4, 5, 1, 1, "leaky_relu", True, "avg", 3, 2),
                             ConvBlock(8, 5, 1, 1, "leaky_relu", True, "avg", 3, 2)), hidden=(16, 8), dropout=0.1)


def config(*argv):
    return config_from_args(build_parser().parse_args(list(argv)))


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_design_flag_reaches_the_design():
    train_config = config(*DESIGN_FLAGS)
    assert train_config.model == DESIGN and train_config.model_config() == DESIGN
    assert (train_config.dropout, train_config.activation, train_config.head) == (0.1, "leaky_relu", "fc")


def test_the_chapters_flags_are_the_chapters_design():
    train_config = config("--channels", "16", "32", "--kernel-size", "3", "--padding", "1", "--pool", "max",
                          "--hidden", "128")
    assert train_config.model is None and train_config.model_config() == CHAPTER_CONFIG
    assert count_parameters(Trainer(train_config, load_split("test").subset(8)).model) == 206_922


def test_no_flags_and_the_gap_head_keep_todays_configs():
    assert config().model is None and config().model_config() == CHAPTER_CONFIG
    assert config("--head", "gap").model_config() == GAP_CONFIG


def test_hidden_with_no_sizes_is_a_head_without_hidden_layers():
    assert config("--hidden").model_config().hidden == ()
    assert config("--channels", "8", "--hidden").model.channels == (8,)


@pytest.mark.parametrize("flags, message", [
    (["--channels", "8", "8", "8", "8", "8"], "a design has 1 to 4 conv blocks, got 5"),
    (["--channels", "4", "4", "4", "4", "--pool-size", "3"], "would shrink its 1×1 map below 1×1: use pool 'none'"),
    (["--kernel-size", "3", "--padding", "2"], "padding 2 is larger than half the 3×3 kernel: use padding at most 1"),
    (["--channels", "64", "--pool", "none"], "over the 5,000,000 limit; fc1 holds"),
    (["--head", "gap", "--hidden", "64"], r"the GAP head has no hidden layers: set hidden to \(\)"),
])
def test_an_impossible_design_stops_before_any_data_with_status_2(flags, message, tmp_path, capsys):
    """The data folder is empty: the design's message comes first, not the missing-data one."""
    assert main(["--data", str(tmp_path), *flags]) == 2
    printed = capsys.readouterr().out
    assert printed.startswith("error: ") and len(printed.splitlines()) == 1
    assert re.search(message, printed)


def test_an_impossible_design_exits_with_status_2_and_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cnnviz.train", "--data", str(tmp_path), "--kernel-size", "4"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout.strip() == ("error: padding 'same' needs an odd kernel, got kernel_size 4: choose 3 or 5, "
                                   "or padding 'valid' or a number")
    assert "Traceback" not in done.stdout + done.stderr


def test_a_design_trained_through_the_cli_round_trips_through_its_checkpoint(data_root, tmp_path):
    """Three steps on 256 images; the checkpoint rebuilds the design with the weights (and batch-norm statistics)
    of the same training run repeated in this process (CPU, same seed), so it gives the same logits."""
    out = tmp_path / "mine.safetensors"
    argv = ["--data", str(data_root), "--train-size", "256", "--batch-size", "64", "--max-steps", "3",
            "--device", "cpu", "--seed", "5", "--out", str(out), *DESIGN_FLAGS]
    assert main(argv) == 0
    loaded, meta = load(out)
    assert loaded.config == DESIGN and meta["model_config"] == DESIGN.to_dict()
    assert meta["config"]["model"] == DESIGN.to_dict() and meta["final"]["steps"] == 3
    assert int(loaded.bn1.num_batches_tracked) == 3
    again = Trainer(config(*argv), load_split("train", data_root).subset(256))
    again.run()
    trained = {k: v.cpu() for k, v in again.model.state_dict().items()}
    assert all(torch.equal(v, trained[k].to(v.dtype)) for k, v in loaded.state_dict().items())
    x = load_split("test", data_root).images[:16]  # [16, 1, 28, 28]
    with torch.no_grad():  # the trainer keeps its weights channels-last: the same numbers, summed in another order
        torch.testing.assert_close(loaded(x), again.model.eval()(x), rtol=1e-5, atol=1e-5)
