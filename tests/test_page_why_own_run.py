"""The Why page's "Through training" replays the run that trained the session's model when that run was kept
(a run on the Training page or in the Design lab), and the recorded run of the shipped recipe otherwise."""
import copy
import re

import pytest
import torch

from cnnviz.snapshots import Keeper
from cnnviz_ui.models import ACTIVE_KEY, LoadedModel, frozen, shipped_model
from app_helpers import open_app_page, texts

pytestmark = pytest.mark.usefixtures("offline")  # tests/conftest.py: an empty data folder, no MNIST


def _own_run() -> LoadedModel:
    """A model with a kept run of 30 steps: from a fresh initialisation to the shipped weights."""
    trained = copy.deepcopy(shipped_model("fc").model)
    start = copy.deepcopy(trained)
    torch.manual_seed(0)
    for p in start.parameters():
        p.data.normal_(0, 0.01)
    keeper = Keeper(start, 30, count=5)
    moving = copy.deepcopy(start)
    for step in range(1, 31):
        t = step / 30
        with torch.no_grad():
            for p, a, b in zip(moving.parameters(), start.parameters(), trained.parameters()):
                p.copy_((1 - t) * a + t * b)
        keeper.offer(step, step / 30, moving)
    return LoadedModel(frozen(trained), "your training run (FC head, 30 steps)", {}, snapshots=keeper.snapshots())


def _snapshot_tag(at) -> dict:
    (tag,) = [m for h in at.html for m in re.findall(r"<div class='cnnviz-snapshot'([^>]*)>", h.value)]
    return dict(re.findall(r"data-([a-z-]+)='([^']*)'", tag))


def _through_training(at):
    at.session_state["why_tab"] = "Through training"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_model_trained_here_replays_its_own_run():
    loaded = _own_run()
    at = _through_training(open_app_page("why", **{ACTIVE_KEY: loaded}))
    assert at.select_slider(key="why_snapshot").options == [f"{s:,}" for s in loaded.snapshots.steps]
    assert _snapshot_tag(at)["step"] == "30" and _snapshot_tag(at)["answer"] == "7"   # the end: the trained model
    at.select_slider(key="why_snapshot").set_value(0).run()
    assert _snapshot_tag(at)["step"] == "0"
    assert "your own run" in texts(at.caption) and "recorded run" not in texts(at.caption)


def test_a_model_without_a_kept_run_says_the_replay_is_the_recorded_one():
    at = _through_training(open_app_page("why", **{ACTIVE_KEY: shipped_model("gap")}))
    assert "not of the shipped checkpoint, GAP head" in texts(at.caption)
