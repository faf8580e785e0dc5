"""Every model page works on any design a student builds in the Design lab, and says which model it shows.

For each design (the lab's eight presets, and designs with batch norm, leaky ReLU, stride 2 and valid padding;
random weights) one AppTest session makes the design the active model, as the lab does, and opens the six model
pages in turn: each renders without an exception and names the design. On the Draw page the inspector opens a
conv unit of the last block: its value is the model's own forward pass, and its sums add up as written.
"""
import html as html_text
import re

import pytest
import torch

from cnnviz.model import ConvBlock, DigitCNN, ModelConfig, count_parameters
from cnnviz.preprocess import preprocess
from cnnviz.presets import PRESETS
from cnnviz.sketch import draw_digit
from cnnviz.trace import trace
from cnnviz_ui import visual
from cnnviz_ui.canvas import stub_key
from cnnviz_ui.models import ACTIVE_KEY, LoadedModel, frozen
from app_helpers import open_app_page

pytestmark = pytest.mark.usefixtures("online")  # tests/conftest.py

PAGES = ("architecture", "receptive_field", "draw", "filters", "gap_cam", "evaluation")
CANVAS = stub_key("draw_canvas_0")
DESIGNS = {key: p.config for key, p in PRESETS.items()} | {
    "batch_norm_leaky": ModelConfig.uniform(channels=(8, 16), batch_norm=True, activation="leaky_relu", hidden=(32,)),
    "stride2_valid": ModelConfig(blocks=(ConvBlock(8, 5, "valid", 2, pool="none"),
                                         ConvBlock(16, 3, "valid", 1, "tanh", pool="max", pool_size=3, pool_stride=2)),
                                 hidden=(24, 16)),
    "gap_batch_norm_avg": ModelConfig(blocks=(ConvBlock(6, 3, 1, 1, "sigmoid", True, "avg"),
                                              ConvBlock(12, 4, "valid", 1, "leaky_relu", True, "none")),
                                      head="gap", hidden=()),
    "four_blocks_to_1x1": ModelConfig.uniform(channels=(4, 8, 8, 8), hidden=(16,)),   # 28 -> 14 -> 7 -> 3 -> 1
}
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?")


def _design(key: str) -> LoadedModel:
    torch.manual_seed(0)
    model = DigitCNN(DESIGNS[key])
    for m in model.modules():  # batch norm with running statistics of its own, not the identity it starts as
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return LoadedModel(frozen(model), f"your design '{key}'", {})


def _texts(at) -> str:
    parts = [e.value for kind in ("caption", "markdown", "info", "html") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def _unit(at) -> dict:
    block = next(h.value for h in at.html if "cnnviz-unit" in h.value)
    found = re.search(r"data-layer='(\w+)' data-unit='([\d,]+)' data-value='(-?[\d.]+)'", block)
    return {"layer": found.group(1), "unit": tuple(int(u) for u in found.group(2).split(",")),
            "value": float(found.group(3)), "html": block}


def _lines(block: str) -> dict[str, list[float]]:
    """label -> the numbers written after it, for each written line of the arithmetic."""
    found = {}
    for label, expression in re.findall(r"<span style='opacity:0.75'>([^<]*)</span> (.*?)</div>", block):
        numbers = NUMBER.findall(re.sub(r"<[^>]+>", "", expression))
        if numbers:
            found[html_text.unescape(label)] = [float(n.replace(visual.MINUS, "-")) for n in numbers]
    return found


def _open_last_block_unit(at, loaded: LoadedModel, config: ModelConfig) -> None:
    """On the Draw page: open a conv unit of the last block; its value is the forward pass, its sums add up."""
    layer = f"{config.blocks[-1].activation}{len(config.blocks)}"      # conv{n}'s activation: the last block's unit
    at.selectbox(key="rf_layer").set_value(layer).run()
    assert not at.exception, [e.value for e in at.exception]
    unit = _unit(at)
    assert unit["layer"] == layer and len(unit["unit"]) == 3
    _, x = preprocess(draw_digit(7))
    with torch.no_grad():
        forward = float(trace(loaded.model, x)[layer][0][unit["unit"]])
    assert unit["value"] == pytest.approx(forward, abs=1e-5)
    lines = _lines(unit["html"])
    c_in = config.blocks[-2].channels if len(config.blocks) > 1 else config.in_channels
    total = lines[f"Sum of all {c_in} partial sums:"] if c_in > 1 else next(
        v for k, v in lines.items() if k.startswith("Sum of the"))
    bias = lines.get("+ bias:", [0.0])
    pre = lines["= pre-activation:"][0]
    n = len(config.blocks)
    if not config.blocks[-1].batch_norm:
        assert abs(total[0] + bias[0] - pre) < 5e-9
        return
    conv = lines[f"= conv{n} output:"][0]                                 # the conv's sum, then its batch norm
    assert abs(total[0] + bias[0] - conv) < 5e-9
    x, mean, var, eps, scale, shift, result = next(v for k, v in lines.items() if k.startswith(f"bn{n}:"))
    assert x == conv and result == pre == round((x - mean) / (var + eps) ** 0.5 * scale + shift, 4)


@pytest.mark.parametrize("key", list(DESIGNS))
def test_every_model_page_renders_the_design_and_names_it_and_a_last_block_unit_opens(key):
    """One session per design (the app starts once): the six pages in turn, the inspector on the Draw page."""
    loaded = _design(key)
    at = open_app_page("architecture", **{ACTIVE_KEY: loaded, CANVAS: draw_digit(7)})
    for page in PAGES:
        if page != "architecture":
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        text = _texts(at)
        shown = f"Showing: your design '{key}'" in text
        if page == "gap_cam" and DESIGNS[key].head != "gap":   # no CAM of its own: the page says so, by name
            shown = f"({loaded.source})" in text and "has no class activation map" in text
        assert shown, (page, text[:400])
        if page == "architecture":
            assert f"{count_parameters(loaded.model):,} parameters" in text
        if page == "draw":
            _open_last_block_unit(at, loaded, DESIGNS[key])


def test_the_shipped_model_is_named_as_such_and_a_design_can_go_back_to_it():
    at = open_app_page("evaluation", **{ACTIVE_KEY: _design("tiny")})
    assert "Showing: your design 'tiny' (2 conv blocks, FC head, " in _texts(at)
    at.button(key="ev_shipped").click().run()
    assert ACTIVE_KEY not in at.session_state
    assert "Showing: the shipped checkpoint (2 conv blocks, FC head, 206,922 parameters)" in _texts(at)
    assert not [b for b in at.button if b.key == "ev_shipped"]   # nothing to go back to any more


def test_switching_to_another_design_mid_session_follows_it_on_draw_and_receptive_field():
    """A layer picked for one model (pool2 of the chapter's) is not offered by the next (no pooling at all)."""
    at = open_app_page("draw", **{CANVAS: draw_digit(7)})
    at.selectbox(key="rf_layer").set_value("pool2").run()
    at.switch_page("pages/receptive_field.py").run()
    assert [r["Layer"] for r in at.table[0].value.to_dict("records")][-1] == "pool2"
    at.session_state[ACTIVE_KEY] = _design("no_pooling")
    at.switch_page("pages/draw.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "pool2" not in at.selectbox(key="rf_layer").options
    at.switch_page("pages/receptive_field.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [r["Layer"] for r in at.table[0].value.to_dict("records")] == ["conv1", "conv2", "conv3"]


# -- the texts and the stack read from the design, without a page ----------------------------------------------

def _story(key: str) -> str:
    from cnnviz.architecture import layer_table, model_input_shape
    from cnnviz_ui.architecture_view import story
    model = DigitCNN(DESIGNS[key])
    return story(layer_table(model), model_input_shape(model))


def test_the_architecture_story_is_read_from_the_design():
    assert "While the maps shrink (28 → 14 → 7), the number of channels grows (1 → 16 → 32)" in _story("chapter")
    assert "2 fully connected layers" in _story("chapter")
    assert "3 convolution blocks" in _story("no_pooling") and "keep their size (28×28)" in _story("no_pooling")
    assert "(28 → 14)" in _story("one_block") and "One convolution block" in _story("one_block")
    assert "global average pooling" in _story("gap")
    assert "one fully connected layer turns" in _story("tiny")
    assert "Conv2d(1, 8, 5, stride=2)" in _story("stride2_valid") and "(28 → 12 → 10 → 4)" in _story("stride2_valid")


def test_the_gap_texts_carry_the_designs_own_numbers():
    from cnnviz_ui.gap_view import cam_text, heads_text
    assert "32×7×7 = 1,568 numbers" in heads_text(DigitCNN()) and "to 128 outputs" in heads_text(DigitCNN())
    assert "16×14×14 = 3,136 numbers" in heads_text(DigitCNN(DESIGNS["one_block"]))
    text = cam_text(DigitCNN(DESIGNS["gap_batch_norm_avg"]))
    assert "the 12 last feature maps (leaky_relu2)" in text and "a 11×11 map" in text


def test_the_receptive_field_stack_keeps_the_models_own_layer_names():
    from cnnviz_ui.rf_view import spec, stack_from_model, to_layers
    stack = stack_from_model(DigitCNN(DESIGNS["stride2_valid"]))
    assert [(r["kind"], r["kernel_size"], r["stride"], r["padding"]) for r in stack] == [
        ("conv", 5, 2, 0), ("conv", 3, 1, 0), ("pool", 3, 2, 0)]
    assert [layer.name for layer in to_layers(stack)] == ["conv1", "conv2", "pool2"]
    stack[2]["kind"] = "conv"                                      # edited: no longer the model's pool2
    assert [layer.name for layer in to_layers(stack)] == ["conv1", "conv2", "conv3"]
    clash = stack_from_model(DigitCNN(DESIGNS["stride2_valid"]))[:2] + [spec("conv", 3, 1, 1)]
    assert [layer.name for layer in to_layers(clash)] == ["conv1", "conv2", "conv3"]


def test_the_model_line_counts_blocks_head_and_parameters():
    from cnnviz_ui.models import showing
    assert showing(_design("gap")) == "Showing: your design 'gap' (2 conv blocks, GAP head, 5,130 parameters)"
    one = _design("one_block")
    params = count_parameters(one.model)
    assert showing(one) == f"Showing: your design 'one_block' (1 conv block, FC head, {params:,} parameters)"
