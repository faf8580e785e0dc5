"""Designs of the design lab: every preset-like design and 50 random valid ones build, count, trace, open their
units and compute their receptive fields and costs correctly (PyTorch as the oracle); impossible designs are
refused with a message that names the fix."""
import math
import random

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.design import compare, summarize
from cnnviz.layers import layer_specs
from cnnviz.model import (ACTIVATIONS, CHAPTER_CONFIG, GAP_CONFIG, MAX_PARAMETERS, POOLS, ConvBlock, DigitCNN,
                          ModelConfig, count_parameters, pooling_first)
from cnnviz.receptive_field import layers_from_model, receptive_fields
from cnnviz.trace import trace
from cnnviz.unit import agrees, open_unit
from model_checks import trained_looking

PRESET_LIKE = {
    "chapter": CHAPTER_CONFIG,
    "no_pooling": ModelConfig.uniform(channels=(16, 16, 32), pool="none"),
    "kernel5": ModelConfig.uniform(kernel_size=5),
    "one_block": ModelConfig.uniform(channels=(16,)),
    "gap": GAP_CONFIG,
    "wide": ModelConfig.uniform(channels=(32, 64)),
    "tiny": ModelConfig.uniform(channels=(4, 8), hidden=(), dropout=0.0),
    "avg_pool": ModelConfig.uniform(pool="avg"),
}


def random_designs(count: int, seed: int = 19) -> list[ModelConfig]:
    """`count` valid designs drawn at random (small images and few channels, so each checks in milliseconds)."""
    rng, designs, tries = random.Random(seed), [], 0
    while len(designs) < count:
        tries += 1
        assert tries < 50 * count, "the random designs are almost all invalid: widen the draw"
        blocks = []
        for _ in range(rng.randint(1, 4)):
            k = rng.randint(1, 7)
            padding = rng.choice(["valid", rng.randint(0, k // 2)] + (["same"] if k % 2 else []))
            blocks.append(ConvBlock(rng.randint(1, 6), k, padding, rng.choice([1, 1, 2, 3]),
                                    rng.choice(list(ACTIVATIONS)), rng.random() < 0.4, rng.choice(POOLS),
                                    rng.randint(1, 3), rng.choice([None, 1, 2, 3])))
        head = rng.choice(["fc", "gap"])
        hidden = tuple(rng.randint(1, 9) for _ in range(rng.randint(0, 2))) if head == "fc" else ()
        try:
            designs.append(ModelConfig(blocks=tuple(blocks), head=head, hidden=hidden, dropout=rng.random() / 2,
                                       in_channels=rng.randint(1, 2), image_size=rng.randint(8, 20),
                                       num_classes=rng.randint(2, 10)))
        except ValueError:
            continue  # an impossible design: draw again
    return designs


RANDOM = random_designs(50)
ALL = list(PRESET_LIKE.items()) + [(f"random{i}", c) for i, c in enumerate(RANDOM)]


def image(config: ModelConfig) -> torch.Tensor:
    return torch.randn(1, config.in_channels, config.image_size, config.image_size)  # [1, C, H, W]


# --- the preset-like designs: their own numbers --------------------------------------------------------------

def test_the_chapters_design_has_206922_parameters_in_its_summary():
    assert summarize(CHAPTER_CONFIG).params == 206_922 == count_parameters(DigitCNN(CHAPTER_CONFIG))


def test_the_chapters_multiply_adds_equal_the_hand_count():
    """conv: out_channels × out_h × out_w × (in_channels × 3 × 3); linear: in × out. Biases are not counted."""
    conv1 = 16 * 28 * 28 * (1 * 3 * 3)     # 112,896
    conv2 = 32 * 14 * 14 * (16 * 3 * 3)    # 903,168
    fc1 = 1568 * 128                       # 200,704
    fc2 = 128 * 10                         # 1,280
    summary = summarize(CHAPTER_CONFIG)
    assert {r.name: r.macs for r in summary.rows if r.macs} == {"conv1": conv1, "conv2": conv2, "fc1": fc1,
                                                                 "fc2": fc2}
    assert summary.macs == conv1 + conv2 + fc1 + fc2 == 1_218_048


def test_the_chapters_activation_memory_equals_the_hand_count():
    values = (28 * 28                          # input
              + 2 * 16 * 28 * 28 + 16 * 14 * 14  # conv1, relu1, pool1
              + 2 * 32 * 14 * 14 + 32 * 7 * 7    # conv2, relu2, pool2
              + 1568 + 3 * 128 + 10)             # flatten, fc1, relu3, dropout, fc2
    assert summarize(CHAPTER_CONFIG).activation_bytes == 4 * values == 180_328


def test_receptive_fields_of_the_chapter_and_the_no_pooling_stack():
    def fields(config):
        return [r.rf_size for r in summarize(config).rows if r.kind in ("conv", "max_pool", "avg_pool")]

    assert fields(CHAPTER_CONFIG) == [3, 4, 8, 10]
    assert fields(PRESET_LIKE["no_pooling"]) == [3, 5, 7]
    assert summarize(PRESET_LIKE["kernel5"]).rf_size == 16 and summarize(PRESET_LIKE["one_block"]).rf_size == 4


def test_the_tiny_design_has_under_5000_parameters():
    assert summarize(PRESET_LIKE["tiny"]).params == (4 * 9 + 4) + (8 * 4 * 9 + 8) + (8 * 7 * 7 * 10 + 10) < 5_000


def test_average_pooling_changes_no_shape_and_no_parameter():
    avg, chapter = summarize(PRESET_LIKE["avg_pool"]), summarize(CHAPTER_CONFIG)
    assert [(r.output_shape, r.params) for r in avg.rows] == [(r.output_shape, r.params) for r in chapter.rows]
    assert [r.kind for r in avg.rows if "pool" in r.kind] == ["avg_pool", "avg_pool"]


def test_compare_says_what_changed_against_the_chapter():
    wide = (1 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 49 * 128 + 128) + (128 * 10 + 10)  # 421,642
    assert f"+{round((wide - 206_922) / 206_922 * 100)}% parameters" in compare(PRESET_LIKE["wide"])
    assert compare(PRESET_LIKE["no_pooling"])[1] == "receptive field 10 → 7"
    assert compare(GAP_CONFIG)[0] == "−98% parameters"
    assert "multiply-adds ×2.5" in compare(PRESET_LIKE["kernel5"])
    assert compare(CHAPTER_CONFIG) == ["the same parameters, receptive field and costs"]
    assert compare(CHAPTER_CONFIG, baseline=GAP_CONFIG)[0] == "×40 parameters"


# --- every design: build, count, trace, open units, receptive fields, multiply-adds -----------------------------

def one_channel_stack(model: nn.Module) -> nn.Sequential:
    """The conv / pool geometry of a design with one channel, weights 1, no bias, pools as average pools:
    every input pixel in a unit's field reaches it with a positive gradient, and no other pixel does."""
    modules = []
    for spec in layer_specs(model):
        if spec.kind in ("flatten", "linear", "global_avg_pool"):
            break
        if spec.kind == "conv":
            conv = nn.Conv2d(1, 1, spec.kernel_size, spec.stride, spec.padding, spec.dilation, bias=False)
            nn.init.constant_(conv.weight, 1.0)
            modules.append(conv)
        elif spec.kind in ("max_pool", "avg_pool"):
            modules.append(nn.AvgPool2d(spec.kernel_size, spec.stride, spec.padding))
        else:
            modules.append(nn.Identity())  # activations, batch norm, dropout keep the field
    return nn.Sequential(*modules).double()


def gradient_box(stack: nn.Sequential, depth: int, size: int, y: int, x: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1), half-open: the input pixels with a non-zero gradient for unit (y, x) after `depth` layers."""
    pixels = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    stack[:depth](pixels)[0, 0, y, x].backward()
    rows, cols = torch.nonzero(pixels.grad[0, 0], as_tuple=True)
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_a_design_counts_its_parameters_as_pytorch_does(name, config):
    model = DigitCNN(config)
    summary = summarize(config)
    modules = dict(model.named_modules())
    assert summary.params == count_parameters(model) == sum(config.parameter_counts().values())
    for row in summary.rows:
        assert row.params == sum(p.numel() for p in modules[row.name].parameters()), row.name
    assert sum(r.share for r in summary.rows) == pytest.approx(1.0)


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_a_design_traces_with_the_shapes_of_its_summary(name, config):
    model, x = trained_looking(config), image(config)
    acts = trace(model, x)
    summary = summarize(config)
    assert list(acts) == ["input", *[r.name for r in summary.rows[:-1]], "logits", "probabilities"]
    assert [tuple(t.shape[1:]) for t in list(acts.values())[1:-1]] == [r.output_shape for r in summary.rows]
    torch.testing.assert_close(acts["logits"], model(x))
    assert summary.activation_bytes == 4 * sum(t.numel() for k, t in acts.items() if k != "probabilities")


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_a_design_pooling_first_gives_the_logits_and_gradients_of_its_own_order(name, config):
    """forward_pooling_first (training and test passes) against forward (the design's order) as the oracle, in
    training mode (batch norm on the batch, the same dropout mask), float64."""
    model = trained_looking(config).double().train()
    x = torch.randn(3, config.in_channels, config.image_size, config.image_size, dtype=torch.float64)
    results = []
    for forward in (model.forward, model.forward_pooling_first):
        model.zero_grad()
        torch.manual_seed(0)
        logits = forward(x)
        (logits * torch.arange(1.0, logits.shape[1] + 1, dtype=torch.float64)).sum().backward()
        results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    (ordered, ordered_grads), (quick, quick_grads) = results
    torch.testing.assert_close(quick, ordered)
    for g, h in zip(quick_grads, ordered_grads):
        torch.testing.assert_close(g, h)


def test_pooling_first_swaps_each_activation_with_the_max_pooling_after_it_only():
    def order(config):
        return [type(m).__name__ for m in pooling_first(list(DigitCNN(config).children()))]

    assert order(CHAPTER_CONFIG) == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU", "Flatten",
                                     "Linear", "ReLU", "Dropout", "Linear"]
    assert order(PRESET_LIKE["avg_pool"])[:3] == ["Conv2d", "ReLU", "AvgPool2d"]     # a mean does not commute
    assert order(ModelConfig.uniform(batch_norm=True))[:4] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"]
    no_pooling = PRESET_LIKE["no_pooling"]
    assert order(no_pooling) == [type(m).__name__ for m in DigitCNN(no_pooling).children()]


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_a_design_counts_multiply_adds_as_pytorchs_flop_counter(name, config):
    """PyTorch's FlopCounterMode counts 2 FLOPs per multiply-add of every convolution and matrix product."""
    with FlopCounterMode(display=False) as counter:
        trained_looking(config)(image(config))
    assert 2 * summarize(config).macs == counter.get_total_flops()


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_every_layer_of_a_design_opens_units_equal_to_the_forward_pass(name, config):
    """The corners, the centre and a random unit of every layer that holds values, opened to their arithmetic."""
    model, rng = trained_looking(config), random.Random(name)
    acts = trace(model, image(config))
    for layer, out in acts.items():
        if layer in ("input", "probabilities") or layer.startswith(("flatten", "dropout")):
            continue
        shape = tuple(out[0].shape)
        picks = {tuple(0 for _ in shape), tuple(s - 1 for s in shape), tuple(s // 2 for s in shape),
                 tuple(rng.randrange(s) for s in shape)}
        for unit in picks:
            rec = open_unit(model, acts, layer, unit)
            assert agrees(rec.value, float(out[0][unit])), (layer, unit, rec.value, float(out[0][unit]))


@pytest.mark.parametrize("name, config", ALL, ids=[name for name, _ in ALL])
def test_receptive_fields_of_a_design_match_the_recurrence_and_a_gradient_check(name, config):
    """Each spatial layer's field: the Distill recurrence's size and jump, and on a large enough input the pixels
    whose gradient reaches a central unit span exactly rf_size, and the next unit's span starts jump further."""
    model = DigitCNN(config)
    summary = summarize(config)
    recurrence = {r.name: r for r in receptive_fields(layers_from_model(model))}
    stack = one_channel_stack(model)
    size = 2 * summary.rf_size + 4 * max(r.jump for r in summary.rows if r.jump) + 8
    for depth, row in enumerate(summary.rows[:len(stack)], start=1):
        if row.kind not in ("conv", "max_pool", "avg_pool"):
            continue
        assert (row.rf_size, row.jump) == (recurrence[row.name].size, recurrence[row.name].jump), row.name
        n = stack[:depth](torch.zeros(1, 1, size, size, dtype=torch.float64)).shape[-1]
        u = n // 2
        y0, y1, x0, x1 = gradient_box(stack, depth, size, u, u)
        assert 0 < y0 and y1 < size, f"{row.name}: the check's input is too small"
        assert y1 - y0 == x1 - x0 == row.rf_size, row.name
        assert gradient_box(stack, depth, size, u, u + 1)[2] - x0 == row.jump, row.name


def test_fifty_random_designs_cover_every_choice():
    blocks = [b for c in RANDOM for b in c.blocks]
    assert len(RANDOM) >= 50
    assert {b.activation for b in blocks} == set(ACTIVATIONS) and {b.pool for b in blocks} == set(POOLS)
    assert {b.batch_norm for b in blocks} == {True, False} and {c.head for c in RANDOM} == {"fc", "gap"}
    assert {len(c.blocks) for c in RANDOM} == {1, 2, 3, 4} and {b.kernel_size for b in blocks} == set(range(1, 8))
    assert {type(b.padding) for b in blocks} == {str, int} and max(b.stride for b in blocks) > 1


# --- impossible designs: one rule per test, each message names the fix -------------------------------------------

def test_a_map_shrunk_below_1x1_is_refused_naming_the_block():
    with pytest.raises(ValueError, match=r"block 4's 2×2 pooling would shrink its 1×1 map below 1×1: use pool "
                                         r"'none' or a smaller pool_size there, or fewer blocks"):
        ModelConfig.uniform(channels=(4, 4, 4, 4), image_size=12)


def test_a_kernel_larger_than_its_input_is_refused():
    with pytest.raises(ValueError, match=r"block 3's 7×7 kernel is larger than its 3×3 input \(padding 0\): use a "
                                         r"smaller kernel, more padding, or less downsampling"):
        ModelConfig.uniform(channels=(4, 4, 4), kernel_size=7, padding="valid", pool="none", stride=2)


def test_padding_larger_than_half_the_kernel_is_refused():
    with pytest.raises(ValueError, match=r"padding 3 is larger than half the 5×5 kernel: use padding at most 2"):
        ConvBlock(8, kernel_size=5, padding=3)


def test_too_many_parameters_are_refused_saying_how_many_and_where():
    fc1 = 64 * 28 * 28 * 128 + 128
    with pytest.raises(ValueError, match=rf"has [\d,]+ parameters, over the {MAX_PARAMETERS:,} limit; fc1 holds "
                                         rf"{fc1:,} of them: add pooling or a block before the head"):
        ModelConfig.uniform(channels=(32, 64), pool="none")


def test_same_padding_with_an_even_kernel_is_refused():
    with pytest.raises(ValueError, match=r"padding 'same' needs an odd kernel, got kernel_size 4: choose 3 or 5"):
        ConvBlock(8, kernel_size=4)


def test_a_kernel_over_7_is_refused():
    with pytest.raises(ValueError, match="kernel_size must be 1 to 7, got 9"):
        ConvBlock(8, kernel_size=9)


def test_more_than_four_blocks_are_refused():
    with pytest.raises(ValueError, match="a design has 1 to 4 conv blocks, got 5"):
        ModelConfig.uniform(channels=(4,) * 5, pool="none")


def test_hidden_layers_with_the_gap_head_are_refused():
    with pytest.raises(ValueError, match=r"the GAP head has no hidden layers: set hidden to \(\)"):
        ModelConfig(head="gap", hidden=(64,))


def test_more_than_two_hidden_layers_are_refused():
    with pytest.raises(ValueError, match="the FC head has 0 to 2 hidden layers, got 3"):
        ModelConfig(hidden=(8, 8, 8))


@pytest.mark.parametrize("block, message", [
    (dict(channels=0), "channels must be at least 1"),
    (dict(channels=8, stride=0), "stride must be at least 1"),
    (dict(channels=8, padding=-1), "padding must be at least 0"),
    (dict(channels=8, padding="full"), "padding must be 'same', 'valid' or a number"),
    (dict(channels=8, activation="gelu"), "activation must be one of"),
    (dict(channels=8, pool="min"), "pool must be one of"),
    (dict(channels=2.5), "channels must be a whole number"),
    (dict(channels=8, batch_norm="yes"), "batch_norm must be True or False"),
])
def test_a_block_setting_out_of_range_is_refused(block, message):
    with pytest.raises(ValueError, match=message):
        ConvBlock(**block)


def test_a_bad_block_in_a_saved_config_names_its_block():
    d = CHAPTER_CONFIG.to_dict()
    d["blocks"][1]["kernel_size"] = 8
    with pytest.raises(ValueError, match="block 2: kernel_size must be 1 to 7"):
        ModelConfig.from_dict(d)


def test_every_valid_design_summarizes_without_memory():
    """summarize builds on the meta device: a design near the parameter limit costs nothing to describe."""
    config = ModelConfig.uniform(channels=(16, 32, 64), pool="none", kernel_size=3, hidden=(2,))
    summary = summarize(config)
    assert summary.params == sum(config.parameter_counts().values()) and math.prod(summary.input_shape) == 784
