"""AppTest runs of the home page and the four mechanics pages: each is driven through its main controls
and the figures, numbers and formulas it shows are checked (not only the absence of errors)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import array, figure, texts, z

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def mnist_env(data_root, monkeypatch):
    """Pages that show MNIST digits find them where tests/conftest.py did."""
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


# ---- shell and home ---------------------------------------------------------------------------------------

def test_home_links_each_pipeline_stage_to_its_page():
    at = open_page()
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    assert links["Conv"] == "convolution"
    assert links["ReLU"] == "activation_functions"
    assert links["Pool"] == "pooling"
    assert links["Repeat"] == "receptive_field"
    assert links["FC"] == "architecture"


def test_home_says_which_model_is_loaded():
    at = open_page()
    assert "Model in use:" in texts(at.info)
    assert "test accuracy" in texts(at.info)


def test_lecture_mode_toggle_is_in_the_sidebar():
    at = open_page()
    assert at.sidebar.toggle(key="lecture_mode").label == "Lecture mode"


def test_lecture_mode_moves_its_switch_to_the_top_bar_and_folds_the_sidebar():
    """The sidebar folds in lecture mode, so the switch (the same widget) sits in the lecture bar instead."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lecture_mode"] = "true"
    at.run()
    assert not at.exception
    assert [t.key for t in at.sidebar.toggle] == []
    assert at.toggle(key="lecture_mode").value is True
    assert at.main.toggle(key="lecture_mode").value is True


def test_lecture_mode_folds_prose_and_enlarges_type():
    """(AppTest drops the entry script's sidebar after a rerun, so the mode is set through session state;
    that it survives page changes is checked in a real browser.)"""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lecture_mode"] = True
    at.run()
    assert any("font-size: clamp(20px" in h.proto.body for h in at.get("html"))
    at.switch_page("pages/pooling.py").run()
    folded = [e for e in at.expander if e.label == "Explanation"]
    assert folded and "slides a small window" in texts(folded[0].markdown)


# ---- pooling -------------------------------------------------------------------------------------------------

def _box(rows, cols):
    return (cols[0] - 0.5, cols[1] - 0.5, rows[0] - 0.5, rows[1] - 0.5)


def _highlight(fig: dict) -> tuple:
    (shape,) = fig["layout"]["shapes"]
    return shape["x0"], shape["x1"], shape["y0"], shape["y1"]


def test_pooling_starts_on_the_chapter_map_at_window_one():
    at = open_page("pages/pooling.py")
    assert z(at, "pool_in").tolist() == [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 1], [4, 8, 5, 6]]
    assert _highlight(figure(at, "pool_in")) == _box((0, 2), (0, 2))
    assert "max(1, 3, 5, 6) = 6" in texts(at.code)
    assert "avg(1, 3, 5, 6) = 3.75" in texts(at.code)
    assert "Step 1/4" in texts(at.markdown)


def test_pooling_next_moves_the_window_and_its_output_cell_together():
    at = open_page("pages/pooling.py")
    at.button[1].click().run()  # Next ▶
    assert _highlight(figure(at, "pool_in")) == _box((0, 2), (2, 4))
    assert _highlight(figure(at, "pool_out_max")) == _box((0, 1), (1, 2))
    assert "max(2, 4, 1, 2) = 4" in texts(at.code)
    at.button[0].click().run()  # ◀ Previous
    assert "max(1, 3, 5, 6) = 6" in texts(at.code)


def test_pooling_last_step_shows_the_chapter_output():
    at = open_page("pages/pooling.py")
    at.slider(key="pool_step").set_value(4).run()
    assert z(at, "pool_out_max").tolist() == [[6, 4], [8, 6]]
    assert z(at, "pool_out_avg").tolist() == [[3.75, 2.25], [5.25, 3.75]]
    assert "max(3, 1, 5, 6) = 6" in texts(at.code)


def test_pooling_unfinished_output_cells_show_question_marks():
    at = open_page("pages/pooling.py")
    assert figure(at, "pool_out_max")["data"][0]["text"] == [["6", "?"], ["?", "?"]]


def test_changing_the_stride_changes_output_size_and_formulas():
    at = open_page("pages/pooling.py")
    at.number_input(key="pool_stride").set_value(1).run()
    assert "⌊(4 + 2·0 − 2) / 1⌋ + 1 = ⌊2 / 1⌋ + 1 = **3**" in texts(at.markdown)
    assert "Step 1/9" in texts(at.markdown)
    at.button[1].click().run()
    assert "max(3, 2, 6, 1) = 6" in texts(at.code)
    at.slider(key="pool_step").set_value(9).run()
    assert z(at, "pool_out_max").tolist() == [[6, 6, 4], [7, 6, 3], [8, 8, 6]]


def test_padding_shows_the_border_as_minus_infinity():
    at = open_page("pages/pooling.py")
    at.number_input(key="pool_padding").set_value(1).run()
    fig = figure(at, "pool_in")
    assert fig["data"][0]["text"][0][0] == "-inf"
    assert _highlight(fig) == _box((-1, 1), (-1, 1))
    assert "max(-inf, -inf, -inf, 1) = 1" in texts(at.code)


@pytest.mark.parametrize("control, value", [("pool_kernel", 5), ("pool_padding", 2)])
def test_invalid_pooling_configuration_is_explained_not_raised(control, value):
    at = open_page("pages/pooling.py")
    at.number_input(key=control).set_value(value).run()
    assert not at.exception
    assert "does not work" in texts(at.error)


def test_pooling_agrees_with_pytorch_on_the_current_input():
    at = open_page("pages/pooling.py")
    at.number_input(key="pool_stride").set_value(1).run()
    checks = texts(at.success)
    assert "nn.MaxPool2d(2, 1, 0)" in checks and "nn.AvgPool2d(2, 1, 0)" in checks
    assert checks.count("largest difference 0,") == 2


def test_pooling_shows_the_real_source_of_the_core():
    at = open_page("pages/pooling.py")
    assert "def pool_steps(" in texts(at.code)


def test_shape_calculator_pools_a_batch():
    at = open_page("pages/pooling.py")
    assert "`[8, 32, 14, 14]` → `[8, 32, 7, 7]`" in texts(at.markdown)
    at.number_input(key="pool_shape_H").set_value(28).run()
    assert "`[8, 32, 28, 14]` → `[8, 32, 14, 7]`" in texts(at.markdown)


def test_random_map_has_the_chosen_size():
    at = open_page("pages/pooling.py")
    at.selectbox(key="pool_input").set_value("random").run()
    at.number_input(key="pool_size").set_value(6).run()
    assert np.array(z(at, "pool_in")).shape == (6, 6)
    assert "Step 1/9" in texts(at.markdown)


def test_real_feature_map_is_a_conv1_channel_of_an_mnist_digit():
    from cnnviz_ui import digits

    digits.test_split.clear()  # the cached split may come from a run without MNIST
    at = open_page("pages/pooling.py")
    at.selectbox(key="pool_input").set_value("real").run()
    assert not at.exception
    assert np.array(z(at, "pool_in")).shape == (28, 28)
    assert "Step 1/196" in texts(at.markdown)
    assert "test digit #0, a 7" in texts(at.caption)
    assert texts(at.success).count("largest difference 0,") == 2


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """A server without MNIST: the data folder is empty (and the cached split is forgotten before and after)."""
    from cnnviz_ui import digits, pooling_view

    def forget():
        digits.test_split.clear()
        pooling_view.real_feature_map.clear()

    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path))
    forget()
    yield
    forget()


def test_real_feature_map_without_mnist_says_so_and_stops(no_mnist):
    at = open_page("pages/pooling.py")
    at.selectbox(key="pool_input").set_value("real").run()
    assert not at.exception
    assert "MNIST is not available" in texts(at.warning)
    assert not at.get("plotly_chart")


# ---- activation functions ----------------------------------------------------------------------------------

def test_derivatives_at_five_match_the_chapter():
    at = open_page("pages/activation_functions.py")
    shown = metrics(at)
    assert shown["Sigmoid′(5)"] == "0.0066"
    assert shown["tanh′(5)"] == "0.00018"
    assert shown["ReLU′(5)"] == "1"


def test_moving_x_updates_the_derivatives_and_the_marker():
    at = open_page("pages/activation_functions.py")
    at.slider(key="act_x").set_value(0.0).run()
    shown = metrics(at)
    assert shown["Sigmoid′(0)"] == "0.25" and shown["tanh′(0)"] == "1" and shown["ReLU′(0)"] == "0"
    assert figure(at, "act_curves")["layout"]["shapes"][0]["x0"] == 0.0


def test_vanishing_gradient_after_n_layers_on_a_log_scale():
    at = open_page("pages/activation_functions.py")
    at.slider(key="act_layers").set_value(10).run()
    shown = metrics(at)
    assert shown["Sigmoid: gradient after 10 layers"] == "1.6e-10"
    assert shown["tanh: gradient after 10 layers"] == "3.1e-12"
    assert shown["ReLU: gradient after 10 layers"] == "1"
    fig = figure(at, "act_decay")
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert [len(array(trace["y"])) for trace in fig["data"]] == [11, 11, 11]
    at.slider(key="act_layers").set_value(3).run()
    assert [len(array(trace["y"])) for trace in figure(at, "act_decay")["data"]] == [4, 4, 4]


def test_leaky_relu_keeps_a_slope_below_zero():
    at = open_page("pages/activation_functions.py")
    shown = metrics(at)
    assert shown["ReLU′(−2)"] == "0" and shown["Leaky ReLU′(−2)"] == "0.01"


# ---- architecture ----------------------------------------------------------------------------------------------

def test_architecture_table_reproduces_the_chapter():
    at = open_page("pages/architecture.py")
    table = at.table[0].value.set_index("Layer")
    assert table.loc["conv1", "Parameters"] == "160"
    assert table.loc["conv2", "Parameters"] == "4,640"
    assert table.loc["fc1", "Parameters"] == "200,832"
    assert table.loc["fc2", "Parameters"] == "1,290"
    assert table.loc["pool2", "Output shape"] == "32 × 7 × 7"
    assert table.loc["fc1", "Share"] == "97.1%"
    assert "206,922" in texts(at.subheader)


def test_selecting_a_layer_shows_its_shapes_and_arithmetic():
    at = open_page("pages/architecture.py")
    at.button_group(key="arch_layer").set_value("fc1").run()
    assert "1568×128 + 128 = 200,832" in texts(at.markdown)
    assert metrics(at)["Shape"] == "128"
    shapes = figure(at, "arch_flow")["layout"]["shapes"]
    chosen = [s for s in shapes if s["line"]["width"] == 4]
    assert len(chosen) == 1 and chosen[0]["x0"] < 8 < chosen[0]["x1"]  # fc1 is block 8 (block 0 is the input)


def test_parameter_charts_compare_fc_and_gap_heads():
    at = open_page("pages/architecture.py")
    fc, gap = figure(at, "arch_share_fc"), figure(at, "arch_share_gap")
    assert "206,922" in fc["layout"]["title"]["text"] and "5,130" in gap["layout"]["title"]["text"]
    assert dict(zip(fc["data"][0]["y"], array(fc["data"][0]["x"]).tolist()))["fc1"] == 200832


def test_architecture_shows_the_model_source():
    at = open_page("pages/architecture.py")
    assert "class DigitCNN(nn.Module)" in texts(at.code)


def test_quick_check_gives_a_hint_not_the_answer_on_a_wrong_try():
    """A student who picks a wrong shape can try again: the page hints, and keeps the answer to itself."""
    at = open_page("pages/architecture.py")
    at.radio(key="arch_q_pool").set_value("[8, 32, 14, 14]").run()
    assert "Not quite" in texts(at.error) and "Try another answer" in texts(at.error)
    assert "[8, 32, 7, 7]" not in texts(at.error) + texts(at.success) + texts(at.info)
    at.radio(key="arch_q_pool").set_value("[4, 16, 7, 7]").run()  # a second wrong try: still no answer
    assert "[8, 32, 7, 7]" not in texts(at.error) + texts(at.success) + texts(at.info)
    at.radio(key="arch_q_pool").set_value("[8, 32, 7, 7]").run()
    assert "Right" in texts(at.success) and "[8, 32, 7, 7]" in texts(at.success) and not at.error


def test_quick_check_reveals_the_answer_only_when_asked():
    at = open_page("pages/architecture.py")
    at.radio(key="arch_q_pool").set_value("[8, 16, 7, 7]").run()
    assert "[8, 32, 7, 7]" not in texts(at.error) + texts(at.info)
    at.button(key="arch_q_pool_reveal").click().run()
    assert "The answer: [8, 32, 7, 7]" in texts(at.info) and not at.error


def test_quick_check_on_softmax_explains_the_answer():
    at = open_page("pages/architecture.py")
    at.radio(key="arch_q_softmax").set_value("Softmax only works on the GPU").run()
    assert "Not quite" in texts(at.error) and "CrossEntropyLoss" not in texts(at.error)
    at.radio(key="arch_q_softmax").set_value(
        "CrossEntropyLoss applies (log-)softmax itself, in a numerically stable way").run()
    assert "Right" in texts(at.success) and "logits" in texts(at.success)


# ---- receptive field -------------------------------------------------------------------------------------------

def _fields(at: AppTest) -> list[int]:
    return [int(v) for v in at.table[0].value["Receptive field"]]


def _rows(at: AppTest, field: str):
    return [n for n in at.number_input if n.key and n.key.endswith(f"_{field}")]


def test_receptive_fields_of_the_loaded_model_are_3_4_8_10():
    at = open_page("pages/receptive_field.py")
    table = at.table[0].value
    assert list(table["Layer"]) == ["conv1", "pool1", "conv2", "pool2"]
    assert _fields(at) == [3, 4, 8, 10]
    assert [int(v) for v in table["Jump"]] == [1, 2, 2, 4]


def test_editing_a_kernel_updates_the_table():
    at = open_page("pages/receptive_field.py")
    _rows(at, "kernel_size")[2].set_value(5).run()  # conv2: 3x3 -> 5x5
    assert _fields(at) == [3, 4, 12, 14]


def test_adding_and_removing_layers_updates_the_table():
    at = open_page("pages/receptive_field.py")
    at.button(key="rf_add_conv").click().run()
    assert _fields(at) == [3, 4, 8, 10, 18]
    removes = [b for b in at.button if b.key and b.key.endswith("_remove")]
    removes[1].click().run()  # drop pool1; the model's layers keep their own names, the added one is counted
    assert list(at.table[0].value["Layer"]) == ["conv1", "conv2", "pool2", "conv3"]
    assert _fields(at) == [3, 5, 6, 10]


def test_changing_a_layers_kind_renames_it():
    at = open_page("pages/receptive_field.py")
    kinds = [s for s in at.selectbox if (s.key or "").endswith("_kind")]
    kinds[1].set_value("conv").run()
    assert list(at.table[0].value["Layer"]) == ["conv1", "conv2", "conv3", "pool1"]


@pytest.mark.parametrize("preset, fields", [
    ("three 3×3 convolutions", [3, 5, 7]),
    ("VGG-style (3 blocks)", [3, 5, 6, 10, 14, 16, 24, 32, 40, 44]),  # VGG-16 conv1_1 .. pool3
])
def test_presets_give_their_published_fields(preset, fields):
    at = open_page("pages/receptive_field.py")
    at.button_group(key="rf_preset").set_value(preset).run()
    assert _fields(at) == fields
    last = at.table[0].value["Layer"].iloc[-1]
    assert f"{last} unit" in figure(at, "rf_boxes")["layout"]["title"]["text"]


def test_a_stack_too_deep_for_its_input_is_explained():
    at = open_page("pages/receptive_field.py")
    at.number_input(key="rf_input_size").set_value(2).run()
    assert not at.exception
    assert "does not work" in texts(at.error) and "larger than the padded input" in texts(at.error)


def test_an_empty_stack_is_explained():
    at = open_page("pages/receptive_field.py")
    for _ in range(4):
        [b for b in at.button if b.key and b.key.endswith("_remove")][0].click().run()
    assert not at.exception
    assert "The stack is empty" in texts(at.warning)


def test_without_mnist_the_field_is_drawn_on_a_stand_in_digit(no_mnist):
    at = open_page("pages/receptive_field.py")
    assert "a drawn 7 stands in" in texts(at.caption)
    assert array(figure(at, "rf_boxes")["data"][0]["z"]).max() == 1.0


def test_the_chosen_units_field_is_drawn_on_the_digit():
    at = open_page("pages/receptive_field.py")
    fig = figure(at, "rf_boxes")
    boxes = {t["name"]: t for t in fig["data"][1:]}
    assert list(boxes) == ["pool2: 10×10", "conv2: 8×8", "pool1: 4×4", "conv1: 3×3"]
    pool2 = boxes["pool2: 10×10"]
    assert (min(array(pool2["x"])), max(array(pool2["x"]))) == (8.5, 18.5)  # unit 3 of pool2 sees pixels 9..18
    at.selectbox(key="rf_layer_loaded model").set_value("conv1").run()
    assert [t["name"] for t in figure(at, "rf_boxes")["data"][1:]] == ["conv1: 3×3"]
