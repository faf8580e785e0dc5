"""The training page's recipes: choosing one fills the controls, edits are kept, runs use what is shown,
and the chapter's published table and recorded run sit beside the run."""
import time


from app_helpers import open_app_page
from cnnviz.recipes import recipe
from cnnviz.train import TrainConfig


# `online` / `offline` fixtures: tests/conftest.py


def controls(at) -> dict:
    """The hyperparameters the form shows, by TrainConfig field."""
    from cnnviz_ui.training_view import CONTROLS
    return {name: at.session_state[key] for key, name in CONTROLS.items()}


def expected(config: TrainConfig) -> dict:
    from cnnviz_ui.training_view import CONTROLS
    return {name: getattr(config, name) for name in CONTROLS.values()}


def start_and_wait(at):
    next(b for b in at.button if b.label == "Start training").click().run()
    deadline = time.monotonic() + 120
    while not (at.get("progress") and at.get("progress")[0].proto.text.startswith("Finished")):
        assert time.monotonic() < deadline
        time.sleep(0.5)
        at.run()


def test_the_page_opens_on_the_chapters_recipe_with_every_setting_shown(offline):
    at = open_app_page("training")
    assert at.radio(key="tr_recipe").value == "chapter"
    assert controls(at) == expected(recipe("chapter"))
    assert controls(at)["schedule"] == "constant" and controls(at)["label_smoothing"] == 0.0


def test_choosing_the_fast_default_fills_the_controls_with_todays_config(offline):
    at = open_app_page("training")
    at.radio(key="tr_recipe").set_value("fast").run()
    assert controls(at) == expected(TrainConfig())


def test_switching_recipes_back_and_forth_refills_the_controls(offline):
    at = open_app_page("training")
    at.radio(key="tr_recipe").set_value("fast").run()
    at.radio(key="tr_recipe").set_value("chapter").run()
    assert controls(at) == expected(recipe("chapter"))


def test_a_control_edited_after_choosing_a_recipe_is_used_by_the_run_and_kept(online):
    from cnnviz_ui.training_view import job_manager
    at = open_app_page("training")
    at.radio(key="tr_recipe").set_value("fast").run()
    at.select_slider(key="tr_lr").set_value(1e-2)
    at.number_input(key="tr_max_steps").set_value(2)
    start_and_wait(at)
    job = job_manager().get(at.session_state["owner_id"])
    assert job.config.lr == 1e-2 and job.config.schedule == "onecycle"
    assert at.select_slider(key="tr_lr").value == 1e-2 and at.radio(key="tr_recipe").value == "fast"
    assert any("Your changes to this recipe: learning rate 0.01" in c.value for c in at.caption)


def test_a_run_started_from_the_chapters_recipe_trains_with_it(online):
    from cnnviz_ui.training_view import job_manager
    at = open_app_page("training")
    at.number_input(key="tr_max_steps").set_value(2)
    start_and_wait(at)
    job = job_manager().get(at.session_state["owner_id"])
    assert job.config == TrainConfig(**{**recipe("chapter").to_dict(), "device": "cpu", "max_steps": 2})


def test_a_smoothed_run_says_its_loss_cannot_reach_the_chapters(online):
    at = open_app_page("training")
    at.radio(key="tr_recipe").set_value("fast").run()
    at.number_input(key="tr_max_steps").set_value(2)
    start_and_wait(at)
    assert any("cannot go below 0.50" in c.value for c in at.caption)


def test_the_chapters_published_table_is_shown_beside_a_recorded_run(offline):
    at = open_app_page("training")
    table = next(d.value for d in at.table if "images" not in d.value.columns)  # the run's own has images
    assert table["training loss"].tolist() == ["0.1842", "0.0571", "0.0392"]
    assert table["test accuracy"].tolist() == ["98.2%", "98.8%", "99.0%"]


def test_the_chapters_recorded_run_replays_offline(offline):
    at = open_app_page("training")
    assert at.radio(key="tr_recorded").value == "chapter"
    at.button(key="tr_replay").click().run()
    text = at.get("progress")[0].proto.text
    assert text.startswith("Replaying: step") and text.endswith("of 2814")


def test_the_shipped_models_run_can_be_chosen_and_shows_its_own_recipe(offline):
    at = open_app_page("training")
    at.radio(key="tr_recorded").set_value("shipped").run()
    assert any("one-cycle" in c.value and "--epochs 4" in c.value for c in at.caption)
    assert [len(d.value) for d in at.table if "images" in d.value.columns] == [4]


def test_the_two_questions_students_ask_are_answered_under_the_run(offline):
    at = open_app_page("training")
    labels = [e.label for e in at.expander]
    assert "Why is the test accuracy higher than the train accuracy in epoch 1?" in labels
    assert "What does label smoothing do to the loss?" in labels


def test_a_finished_run_downloads_as_a_checkpoint_that_loads_back(online, monkeypatch):
    """The Download checkpoint button gives the run's weights and metadata as one safetensors file."""
    import torch

    from cnnviz.checkpoint import load_bytes
    from cnnviz_ui.training_view import job_manager

    import streamlit as st

    made = {}
    original = st.download_button

    def spy(label, data, file_name=None, *args, **kwargs):  # the page calls st.download_button in a column
        made[file_name] = data
        return original(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    at = open_app_page("training")
    at.number_input(key="tr_max_steps").set_value(2)
    start_and_wait(at)
    at.run()
    model, meta = load_bytes(made["cnnviz-run.safetensors"], "cnnviz-run.safetensors")
    trained = job_manager().get(at.session_state["owner_id"]).copy_model()
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(model(x), trained.eval()(x)) and meta["config"]["max_steps"] == 2


def test_the_epoch_tables_download_as_csvs_of_numbers(offline, monkeypatch):
    """The tables show "98.2%" and "60,000"; their CSVs hold 98.2 and 60000, numbers a spreadsheet can add."""
    import csv
    import io

    import streamlit as st

    made = {}
    original = st.download_button

    def spy(label, data, file_name=None, *args, **kwargs):  # table_download calls st.download_button
        made[file_name] = data() if callable(data) else data
        return original(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    at = open_app_page("training")
    at.radio(key="tr_recorded").set_value("fast").run()
    rows = list(csv.DictReader(io.StringIO(made["cnnviz-epochs-replay.csv"].decode())))
    assert len(rows) == 3 and float(rows[-1]["test accuracy (%)"]) > 99 and int(rows[1]["images"]) == 18000
    chapter = list(csv.DictReader(io.StringIO(made["cnnviz-chapter-epochs.csv"].decode())))
    assert [float(r["test accuracy (%)"]) for r in chapter] == [98.2, 98.8, 99.0]


def test_in_lecture_mode_the_curves_come_before_the_folded_form(offline):
    at = open_app_page("training", lecture_mode=True)
    assert at.radio(key="tr_recorded").value == "chapter"  # the replay and its curves are drawn
    folded = [e for e in at.expander if e.label == "A new run: recipe and settings"]
    assert len(folded) == 1 and any(b.label == "Start training" for b in folded[0].button)
    normal = open_app_page("training")
    assert not [e for e in normal.expander if e.label == "A new run: recipe and settings"]


def test_the_page_leaves_the_training_images_to_the_worker(online, monkeypatch):
    """The server never holds the 60,000 training images: a run's worker process reads them itself."""
    import cnnviz.data

    loaded = []
    original = cnnviz.data.load_split
    monkeypatch.setattr(cnnviz.data, "load_split", lambda split="train", *a, **k: loaded.append(split) or
                        original(split, *a, **k))
    at = open_app_page("training")
    start = next(b for b in at.button if b.label == "Start training")
    assert not start.disabled          # MNIST's files are there: a run can start
    assert "train" not in loaded


def test_opening_the_page_readies_a_standby_worker_that_the_next_start_uses(online, monkeypatch):
    """With MNIST on disk, the Training page keeps a worker with torch imported and the data loaded; Start hands
    the run to it (its process id), so the student does not wait for a new process."""
    from cnnviz_ui import training_view

    monkeypatch.setattr(training_view, "STANDBY_WORKER", True)
    at = open_app_page("training")
    manager = training_view.job_manager()
    try:
        standby = manager.standby_pid
        assert standby is not None, "no standby worker after the Training page opened"
        at.number_input(key="tr_max_steps").set_value(5)
        next(b for b in at.button if b.label == "Start training").click().run()
        job = manager.get(at.session_state[training_view.OWNER_KEY])
        assert job is not None and job.pid == standby
    finally:
        manager.shutdown()


def test_without_the_standby_switch_no_worker_waits(online, monkeypatch):
    from cnnviz_ui import training_view

    monkeypatch.setattr(training_view, "STANDBY_WORKER", False)
    open_app_page("training")
    manager = training_view.job_manager()
    try:
        assert manager.standby_pid is None
    finally:
        manager.shutdown()
