"""The Design lab page under AppTest: presets fill the controls, the picture and numbers follow, an impossible
design is refused in words, a preset's recorded model becomes the session's model, designs can be kept,
deleted and trained."""
import time
import torch

from app_helpers import figure, open_app_page, open_from_link
from cnnviz.model import CHAPTER_CONFIG
from cnnviz.presets import PRESETS
from cnnviz_ui.design_controls import config_from_values, values_from_config
from cnnviz_ui.models import ACTIVE_KEY

# `online` / `offline` fixtures: tests/conftest.py


def design_of(at):
    """The design the page's controls describe now."""
    values = values_from_config(CHAPTER_CONFIG)
    return config_from_values({k: at.session_state[k] if k in at.session_state else v for k, v in values.items()})


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def compared(at) -> list[str]:
    """The designs in the comparison table ([] while it is not drawn)."""
    table = next((t.value for t in at.table if "Design" in t.value.columns), None)
    return [] if table is None else table["Design"].tolist()


def comparison(at):
    return next(t.value for t in at.table if "Design" in t.value.columns)


def keep_preset(at, preset: str) -> None:
    """Pick `preset` in the lab and keep it (it joins the comparison)."""
    at.selectbox(key="dl_preset").set_value(preset).run()
    at.button(key="dl_add_preset").click().run()


def test_the_page_opens_on_the_chapters_design(offline):
    at = open_app_page("design_lab")
    assert at.selectbox(key="dl_preset").value == "chapter"
    assert design_of(at) == CHAPTER_CONFIG
    assert metric(at, "Parameters") == "206,922" and metric(at, "Receptive field") == "10×10 pixels"
    assert figure(at, "dl_picture")["data"]
    assert any("the same parameters, receptive field and costs" in m.value for m in at.markdown)


def test_picking_a_preset_fills_every_control_and_redraws(offline):
    at = open_app_page("design_lab")
    at.selectbox(key="dl_preset").set_value("no_pooling").run()
    assert not at.exception
    assert design_of(at) == PRESETS["no_pooling"].config
    assert at.session_state["dl_blocks"] == 3 and at.session_state["dl_b2_pool"] == "none"
    assert metric(at, "Parameters") == "3,219,802" and metric(at, "Receptive field") == "7×7 pixels"
    assert any("receptive field 10 → 7" in m.value for m in at.markdown)
    at.selectbox(key="dl_preset").set_value("wide").run()
    assert design_of(at) == PRESETS["wide"].config and at.session_state["dl_blocks"] == 2


def test_an_edit_changes_the_design_and_what_it_is_compared_by(offline):
    at = open_app_page("design_lab")
    at.selectbox(key="dl_b0_kernel_size").set_value(5).run()
    assert design_of(at).blocks[0].kernel_size == 5
    assert any("receptive field 10 → 12" in m.value for m in at.markdown)


def test_an_impossible_design_shows_the_cores_message_and_no_traceback(offline):
    at = open_app_page("design_lab")
    at.segmented_control(key="dl_blocks").set_value(4).run()      # 28 -> 14 -> 7 -> 3 -> 1
    at.selectbox(key="dl_b3_padding").set_value("valid").run()
    at.selectbox(key="dl_b3_kernel_size").set_value(5).run()      # a 5x5 kernel on a 3x3 map
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "This configuration does not work" in message and "block 4" in message and "kernel" in message
    assert at.button(key="dl_train").disabled
    at.selectbox(key="dl_b3_padding").set_value("same").run()     # fixed: the picture is back
    assert not at.error and figure(at, "dl_picture")["data"]


def test_using_a_presets_recorded_model_makes_it_the_sessions_model(offline):
    at = open_app_page("design_lab")
    at.selectbox(key="dl_preset").set_value("tiny").run()
    at.button(key="dl_use_preset").click().run()
    active = at.session_state[ACTIVE_KEY]
    assert active.source == f"your design '{PRESETS['tiny'].title}'"
    assert active.model.config == PRESETS["tiny"].config and active.test_accuracy > 0.9


def test_a_preset_without_shipped_weights_says_so_and_offers_no_use_button(offline):
    at = open_app_page("design_lab")
    at.selectbox(key="dl_preset").set_value("no_pooling").run()
    assert any("weights are not shipped" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "dl_use_preset"]


def test_a_kept_design_joins_the_comparison_and_can_be_deleted(offline):
    at = open_app_page("design_lab")
    keep_preset(at, "gap")
    keep_preset(at, "tiny")
    table = comparison(at)
    assert table["Design"].tolist() == ["the chapter's design (recorded)", PRESETS["gap"].title, PRESETS["tiny"].title]
    assert table["Parameters"].tolist() == ["206,922", "5,130", "4,266"]
    assert len(figure(at, "dl_accuracy")["data"]) == 3
    at.selectbox(key="dl_pick").set_value(PRESETS["gap"].title).run()
    at.button(key="dl_delete").click().run()
    assert comparison(at)["Design"].tolist() == ["the chapter's design (recorded)", PRESETS["tiny"].title]


def test_a_kept_design_opens_in_the_editor(offline):
    at = open_app_page("design_lab")
    keep_preset(at, "kernel5")
    at.selectbox(key="dl_preset").set_value("chapter").run()
    at.button(key="dl_open").click().run()
    assert design_of(at) == PRESETS["kernel5"].config and at.selectbox(key="dl_preset").value == "kernel5"


def test_the_design_survives_a_visit_to_another_page(offline):
    at = open_app_page("design_lab")
    at.selectbox(key="dl_preset").set_value("one_block").run()
    at.switch_page("pages/pooling.py").run()
    at.switch_page("pages/design_lab.py").run()
    assert design_of(at) == PRESETS["one_block"].config and not at.exception


def test_a_design_trained_on_the_page_joins_the_comparison_and_can_be_used(online):
    """A student builds a small design, trains it within a 5-second budget, and uses it on the other pages."""
    at = open_app_page("design_lab")
    at.selectbox(key="dl_preset").set_value("tiny").run()
    at.selectbox(key="dl_b1_channels").set_value(12).run()
    at.text_input(key="dl_name").set_value("twelve").run()
    at.select_slider(key="dl_budget").set_value(5).run()
    at.button(key="dl_train").click().run()
    deadline = time.monotonic() + 180
    while "twelve" not in compared(at):
        assert time.monotonic() < deadline, [p.proto.text for p in at.get("progress")]
        time.sleep(0.5)
        at.run()
    row = comparison(at).set_index("Design").loc["twelve"]
    assert row["From"] == "trained here" and row["Test accuracy"].endswith("%")
    at.selectbox(key="dl_pick").set_value("twelve").run()
    at.button(key="dl_use").click().run()
    active = at.session_state[ACTIVE_KEY]
    assert active.source == "your design 'twelve'" and active.model.config.channels == (4, 12)
    run = active.snapshots                        # its run, kept as it trained, replays on the Why page
    assert run.steps[0] == 0 and len(run) >= 2 and run.model_config == active.model.config.to_dict()
    last = run.model(-1).state_dict()
    assert all(torch.allclose(last[k], v, rtol=1e-3, atol=1e-4) for k, v in active.model.state_dict().items())


def test_a_link_opens_the_lab_on_its_preset(offline):
    at = open_from_link("design_lab", dl_preset=PRESETS["wide"].title)
    assert at.selectbox(key="dl_preset").value == "wide" and design_of(at) == PRESETS["wide"].config
    assert metric(at, "Parameters") == "421,642"


def test_a_kept_design_downloads_as_a_checkpoint_that_uploads_back(offline, monkeypatch):
    """Download a kept design, upload the file: the same design and the same answers, read safely."""
    import streamlit as st
    import torch
    from streamlit.testing.v1 import AppTest

    from cnnviz.presets import recorded_model

    made = {}
    original = st.download_button

    def spy(label, data, file_name=None, *args, **kwargs):
        made[file_name] = data
        return original(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    at = open_app_page("design_lab")
    keep_preset(at, "tiny")
    name, data = next((n, d) for n, d in made.items() if n.endswith(".safetensors"))   # not the tables' CSVs
    data = data() if callable(data) else data
    assert name == "cnnviz-design-tiny-under-5-000-parameters.safetensors"

    def upload(data: bytes):
        import streamlit as st

        from cnnviz_ui.design_runs import keep_upload, model_of
        entry = keep_upload(data, "mine.safetensors")
        st.session_state["uploaded"] = (entry.name, entry.source, model_of(entry)[0])

    up = AppTest.from_function(upload, args=(data,)).run()
    assert not up.exception
    name, source, model = up.session_state["uploaded"]
    assert (name, source) == ("mine", "uploaded") and model.config == PRESETS["tiny"].config
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(model(x), recorded_model("tiny")[0](x))
