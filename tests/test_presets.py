"""The design lab's presets: each builds, has the parameter count its arithmetic gives, runs a forward pass,
and its recorded run (checkpoints/designs/) loads without MNIST and matches its design."""
import json
import math

import pytest
import torch

from cnnviz import presets
from cnnviz.model import CHAPTER_CONFIG, DigitCNN, count_parameters
from cnnviz.presets import DECISIONS, PRESETS, WEIGHTS_LIMIT

# Parameter counts by hand: conv = out * in * k * k + out; linear = in * out + out.
HAND_COUNTS = {
    "chapter": (16 * 1 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 7 * 7 * 128 + 128) + (128 * 10 + 10),      # 206,922
    "no_pooling": (16 * 9 + 16) + (16 * 16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 28 * 28 * 128 + 128) + 1290,
    "kernel5": (16 * 25 + 16) + (32 * 16 * 25 + 32) + (32 * 7 * 7 * 128 + 128) + 1290,
    "one_block": (16 * 9 + 16) + (16 * 14 * 14 * 128 + 128) + 1290,
    "gap": (16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 10 + 10),
    "wide": (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 7 * 7 * 128 + 128) + 1290,
    "tiny": (4 * 9 + 4) + (8 * 4 * 9 + 8) + (8 * 7 * 7 * 10 + 10),
    "avg_pool": (16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 7 * 7 * 128 + 128) + 1290,
}


def test_the_eight_presets_of_the_issue_are_there():
    assert list(PRESETS) == ["chapter", "no_pooling", "kernel5", "one_block", "gap", "wide", "tiny", "avg_pool"]
    assert len({p.lesson for p in PRESETS.values()}) == 8 and all(p.lesson.endswith(".") for p in PRESETS.values())


def test_the_chapters_preset_is_exactly_the_chapters_design():
    assert PRESETS["chapter"].config == CHAPTER_CONFIG
    assert HAND_COUNTS["chapter"] == 206_922


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_has_the_parameter_count_its_arithmetic_gives(key):
    config = PRESETS[key].config
    model = DigitCNN(config)
    assert count_parameters(model) == HAND_COUNTS[key] == presets.parameter_count(config)


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_answers_ten_scores_per_image(key):
    model = DigitCNN(PRESETS[key].config).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_the_tiny_preset_is_under_five_thousand_parameters():
    assert presets.parameter_count(PRESETS["tiny"].config) < 5_000


def test_each_preset_changes_what_its_name_says():
    blocks = {k: p.config.blocks for k, p in PRESETS.items()}
    assert all(b.pool == "none" for b in blocks["no_pooling"]) and len(blocks["no_pooling"]) == 3
    assert all(b.kernel_size == 5 for b in blocks["kernel5"])
    assert len(blocks["one_block"]) == 1
    assert PRESETS["gap"].config.head == "gap"
    assert PRESETS["wide"].config.channels == (32, 64)
    assert all(b.pool == "avg" for b in blocks["avg_pool"])


def test_every_decision_has_the_chapters_choice_and_a_reason():
    for key in ("channels", "kernel_size", "padding", "pool", "hidden", "dropout", "output"):
        assert DECISIONS[key].choice and len(DECISIONS[key].reason) > 30


def test_an_unknown_preset_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="tiny"):
        presets.preset("huge")


def test_matching_preset_finds_a_design_by_value():
    assert presets.matching_preset(CHAPTER_CONFIG) == "chapter"
    assert presets.matching_preset(DigitCNN(PRESETS["tiny"].config).config) == "tiny"


def test_run_numbers_read_accuracy_time_and_speed_from_a_runs_curve():
    curve = [{"step": 1, "epoch": 1, "elapsed": 0.1, "images_per_sec": 100.0, "test_acc": None},
             {"step": 2, "epoch": 1, "elapsed": 1.0, "images_per_sec": 300.0, "test_acc": 0.9},
             {"step": 3, "epoch": 2, "elapsed": 2.0, "images_per_sec": 500.0, "test_acc": 0.95}]
    numbers = presets.run_numbers({"final": {"test_acc": 0.95, "elapsed": 2.0, "steps": 3}, "curve": curve})
    assert numbers["test_curve"] == [(1.0, 0.9), (2.0, 0.95)]
    assert numbers["images_per_sec"] == 400.0 and numbers["test_acc"] == 0.95 and numbers["seconds"] == 2.0


# ---- the recorded runs, shipped in checkpoints/designs/ ------------------------------------------------------

@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_has_a_recorded_run_that_loads_without_mnist(key, offline):
    run = presets.recorded_run(key)
    numbers = presets.run_numbers(run)
    assert 0.5 < numbers["test_acc"] <= 1 and numbers["seconds"] > 0 and numbers["images_per_sec"] > 0
    assert numbers["test_curve"] and run["params"] == HAND_COUNTS[key]
    assert run["config"]["epochs"] >= 1 and run["preset"] == key


@pytest.mark.parametrize("key", [k for k, p in PRESETS.items() if presets.ships_weights(p.config)])
def test_a_preset_under_the_limit_ships_weights_that_load_and_score_as_recorded(key, offline):
    model, metadata = presets.recorded_model(key)
    assert model.config == PRESETS[key].config and not model.training
    assert metadata["final"]["test_acc"] == presets.recorded_run(key)["final"]["test_acc"]
    assert presets.recorded_run(key)["weights"] == f"{key}.safetensors"


def test_a_preset_over_the_limit_ships_no_weights_and_says_so(offline):
    big = [k for k, p in PRESETS.items() if not presets.ships_weights(p.config)]
    assert big == ["no_pooling"]
    assert not presets.has_weights("no_pooling") and presets.recorded_run("no_pooling")["weights"] is None
    with pytest.raises(ValueError, match="not shipped"):
        presets.recorded_model("no_pooling")
    assert presets.parameter_count(PRESETS["no_pooling"].config) > WEIGHTS_LIMIT


def test_the_recorded_runs_stay_small_and_hold_no_absolute_paths():
    files = sorted(presets.DESIGNS_DIR.iterdir())
    assert sum(f.stat().st_size for f in files) < 6.2 * 2**20
    for f in files:
        if f.suffix == ".json":
            text = f.read_text()
            json.loads(text)
            assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text


def test_a_recorded_run_of_another_design_is_refused(tmp_path, monkeypatch):
    run = json.loads(presets.run_path("tiny").read_text())
    monkeypatch.setattr(presets, "DESIGNS_DIR", tmp_path)
    presets.write_run("chapter", run)  # the tiny design's run under the chapter's name
    with pytest.raises(ValueError, match="another design"):
        presets.recorded_run("chapter")


def test_no_pooling_receptive_fields_grow_three_five_seven():
    from cnnviz.design import summarize
    rows = [r for r in summarize(PRESETS["no_pooling"].config).rows if r.kind == "conv"]
    assert [r.rf_size for r in rows] == [3, 5, 7]
    assert math.isclose(summarize(CHAPTER_CONFIG).rf_size, 10)
