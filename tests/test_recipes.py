"""cnnviz.recipes: the named recipes' loss floor, and the shipped recorded run of the chapter's recipe."""
import json

import pytest
import torch
import torch.nn.functional as F

from cnnviz.recipes import CHAPTER_TABLE, load_run, loss_floor, recipe, save_run, shipped_run
from cnnviz.train import TrainConfig, replay


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_loss_floor_is_the_cross_entropy_of_a_model_that_predicts_the_smoothed_targets(smoothing):
    target = torch.full((1, 10), smoothing / 10)
    target[0, 3] += 1 - smoothing
    logits = torch.log(target.clamp_min(1e-30))  # [1, 10]: softmax gives back exactly the smoothed targets
    oracle = F.cross_entropy(logits, torch.tensor([3]), label_smoothing=smoothing)
    assert loss_floor(smoothing) == pytest.approx(float(oracle), abs=1e-6)


def test_label_smoothing_01_cannot_go_below_half_while_the_chapters_loss_reaches_004():
    assert loss_floor(0.1) == pytest.approx(0.50, abs=0.005)
    assert loss_floor(0.0) == 0.0 and CHAPTER_TABLE[-1]["loss"] < loss_floor(0.1) / 10


def test_the_shipped_chapter_run_was_trained_with_the_chapters_recipe():
    run = shipped_run("chapter")
    config = TrainConfig.from_dict(run["config"])
    assert config.to_dict() | {"threads": None} == recipe("chapter").to_dict()
    assert [e["images"] for e in run["history"]] == [60000, 60000, 60000]


def test_the_shipped_chapter_run_replays_to_its_last_step_and_lands_near_the_chapters_table():
    run = shipped_run("chapter")
    records = replay(run)
    assert records[-1].step == run["history"][-1]["steps"] == 2814  # 3 x ceil(60000 / 64)
    assert [r.step for r in records if r.test_acc is not None] == [938, 1876, 2814]
    for ours, chapter in zip(run["history"], CHAPTER_TABLE):
        assert abs(ours["test_acc"] - chapter["test_acc"]) < 0.005


def test_the_shipped_chapter_run_records_a_relative_command_that_reproduces_it():
    command = shipped_run("chapter")["command"]
    assert command.startswith("python -m cnnviz.train ") and "--schedule constant" in command
    assert "/" not in command.replace("checkpoints/", "")  # no absolute path of the training machine


def test_a_saved_run_loads_back_without_weights(tmp_path):
    run = shipped_run("chapter")
    path = save_run(tmp_path / "run.json", {**run, "evaluation": {"confusion": [[1]]}})
    again = load_run(path)
    assert "evaluation" not in again and again["curve"] == run["curve"]


def test_a_file_that_is_not_a_recorded_run_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"curve": [{"step": "one"}], "history": []}))
    with pytest.raises(ValueError, match="invalid config or curve"):
        load_run(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the recorded run"):
        load_run(bad)


def test_the_shipped_fast_run_was_trained_with_the_fast_recipe_and_replays_to_its_end():
    run = shipped_run("fast")
    config = TrainConfig.from_dict(run["config"])
    assert config.to_dict() | {"threads": None} == recipe("fast").to_dict() | {"threads": None}
    records = replay(run)
    assert records[-1].step == run["history"][-1]["steps"]
    assert [r.step for r in records if r.test_acc is not None] == [e["steps"] for e in run["history"]]
    assert run["final"]["test_acc"] > 0.985


@pytest.mark.parametrize("name", ["chapter", "fast"])
def test_the_shipped_runs_record_no_absolute_path(name):
    text = json.dumps(shipped_run(name))
    assert "/work/" not in text and "/home/" not in text and "--data" not in shipped_run(name)["command"]
